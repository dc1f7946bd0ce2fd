//! CSV and Parquet files (feature `files`) under a root directory: column projection,
//! a row limit and a batch size, read batch by batch on a blocking thread.
//!
//! Paths are relative to the root. `..`, absolute paths and symbolic links that lead
//! outside the root are refused with `PermissionDenied` and never opened.
//!
//! ```no_run
//! use fastflight::prelude::*;
//! use fastflight::sources::files::{FileRoot, ReadOptions};
//!
//! #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
//! pub struct Table { pub path: String, pub columns: Option<Vec<String>> }
//!
//! #[data_service]
//! async fn table(req: Table, root: State<FileRoot>) -> fastflight::Result<BatchStream> {
//!     Ok(root.parquet(&req.path, ReadOptions { columns: req.columns, ..ReadOptions::default() }))
//! }
//! # async fn run() -> fastflight::Result<()> {
//! fastflight::Server::builder().state(FileRoot::new("data")?).serve().await
//! # }
//! ```

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use tonic::Code;

use super::DEFAULT_BATCH_SIZE;
use crate::service::{produce_blocking, BatchStream, Emitter};
use crate::{Error, Result};

/// What to read of a file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The columns to read, in this order; all when `None`.
    pub columns: Option<Vec<String>>,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// Rows per batch.
    pub batch_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            columns: None,
            limit: None,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// The directory files are read from; nothing outside it is ever opened.
#[derive(Debug, Clone)]
pub struct FileRoot {
    root: PathBuf,
}

impl FileRoot {
    /// A root at `dir`, which must exist.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let root = dir
            .canonicalize()
            .map_err(|e| Error::Config(format!("data directory {}: {e}", dir.display())))?;
        if !root.is_dir() {
            return Err(Error::Config(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        Ok(Self { root })
    }

    /// The root, canonical.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The file a relative path names, after refusing `..`, absolute paths, and
    /// symbolic links that lead outside the root.
    pub fn resolve(&self, relative: &str) -> Result<PathBuf> {
        let denied = |why: &str| {
            Error::status(
                Code::PermissionDenied,
                format!(
                    "path `{relative}` is refused: {why}; paths are relative to the data directory"
                ),
            )
        };
        let path = Path::new(relative);
        if relative.is_empty() {
            return Err(Error::status(
                Code::InvalidArgument,
                "field `path` is empty",
            ));
        }
        for component in path.components() {
            match component {
                Component::Normal(_) | Component::CurDir => {}
                Component::ParentDir => return Err(denied("it contains `..`")),
                Component::RootDir | Component::Prefix(_) => return Err(denied("it is absolute")),
            }
        }
        let joined = self.root.join(path);
        let real = joined.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::status(
                Code::NotFound,
                format!("no file `{relative}` in the data directory"),
            ),
            _ => Error::status(Code::PermissionDenied, format!("path `{relative}`: {e}")),
        })?;
        if !real.starts_with(&self.root) {
            return Err(denied("it leads outside the data directory"));
        }
        if !real.is_file() {
            return Err(Error::status(
                Code::InvalidArgument,
                format!("`{relative}` is not a file"),
            ));
        }
        Ok(real)
    }

    /// Streams a CSV file with a header line; column types are inferred from its first 1,000 rows.
    pub fn csv(&self, relative: &str, options: ReadOptions) -> BatchStream {
        let root = self.clone();
        let relative = relative.to_owned();
        produce_blocking(move |emitter| {
            let path = root.resolve(&relative)?;
            read_csv(&path, &relative, &options, emitter)
        })
    }

    /// Streams a Parquet file.
    pub fn parquet(&self, relative: &str, options: ReadOptions) -> BatchStream {
        let root = self.clone();
        let relative = relative.to_owned();
        produce_blocking(move |emitter| {
            let path = root.resolve(&relative)?;
            read_parquet(&path, &relative, &options, emitter)
        })
    }
}

fn open(path: &Path, relative: &str) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::status(
            Code::PermissionDenied,
            format!("cannot open `{relative}`: {e}"),
        )
    })
}

/// Indices of the requested columns in `schema`, or an error naming the unknown one.
fn projection(schema: &SchemaRef, columns: &[String], relative: &str) -> Result<Vec<usize>> {
    columns
        .iter()
        .map(|name| {
            schema.index_of(name).map_err(|_| {
                let known: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                Error::status(
                    Code::InvalidArgument,
                    format!(
                        "field `columns`: no column `{name}` in `{relative}`; its columns: {}",
                        known.join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// Sends batches until `limit` rows; an empty result is one empty batch with `schema`.
fn send_limited(
    batches: impl Iterator<Item = Result<RecordBatch>>,
    schema: SchemaRef,
    limit: Option<usize>,
    emitter: &Emitter,
) -> Result<()> {
    let mut remaining = limit.unwrap_or(usize::MAX);
    let mut sent = false;
    for batch in batches {
        if remaining == 0 {
            break;
        }
        let mut batch = batch?;
        if batch.num_rows() > remaining {
            batch = batch.slice(0, remaining);
        }
        remaining -= batch.num_rows();
        sent = true;
        if emitter.send(batch).is_err() {
            return Ok(());
        }
    }
    if !sent {
        let _ = emitter.send(RecordBatch::new_empty(schema));
    }
    Ok(())
}

fn read_csv(path: &Path, relative: &str, options: &ReadOptions, emitter: &Emitter) -> Result<()> {
    let mut file = open(path, relative)?;
    let bad = |e: arrow::error::ArrowError| {
        Error::status(
            Code::InvalidArgument,
            format!("cannot read `{relative}` as CSV: {e}"),
        )
    };
    let (schema, _) = arrow::csv::reader::Format::default()
        .with_header(true)
        .infer_schema(&mut file, Some(1000))
        .map_err(bad)?;
    let schema: SchemaRef = Arc::new(schema);
    file.seek(SeekFrom::Start(0))?;
    let mut builder = arrow::csv::ReaderBuilder::new(Arc::clone(&schema))
        .with_header(true)
        .with_batch_size(options.batch_size.max(1));
    let out_schema = match &options.columns {
        Some(columns) => {
            let indices = projection(&schema, columns, relative)?;
            let projected = Arc::new(schema.project(&indices)?);
            builder = builder.with_projection(indices);
            projected
        }
        None => schema,
    };
    let reader = builder.build(file).map_err(bad)?;
    send_limited(
        reader.map(|b| b.map_err(bad)),
        out_schema,
        options.limit,
        emitter,
    )
}

fn read_parquet(
    path: &Path,
    relative: &str,
    options: &ReadOptions,
    emitter: &Emitter,
) -> Result<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;

    let file = open(path, relative)?;
    let bad = |e: &dyn std::fmt::Display| {
        Error::status(
            Code::InvalidArgument,
            format!("cannot read `{relative}` as Parquet: {e}"),
        )
    };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(&e))?
        .with_batch_size(options.batch_size.max(1));
    if let Some(limit) = options.limit {
        builder = builder.with_limit(limit);
    }
    let schema = Arc::clone(builder.schema());
    // The file gives projected columns in its own order; `order` restores the request's.
    let (out_schema, order) = match &options.columns {
        Some(columns) => {
            let indices = projection(&schema, columns, relative)?;
            let mut sorted = indices.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let order: Vec<usize> = indices
                .iter()
                .map(|i| sorted.iter().position(|s| s == i).unwrap_or_default())
                .collect();
            let mask = ProjectionMask::roots(builder.parquet_schema(), sorted);
            builder = builder.with_projection(mask);
            (Arc::new(schema.project(&indices)?), Some(order))
        }
        None => (schema, None),
    };
    let reader = builder.build().map_err(|e| bad(&e))?;
    let batches = reader.map(move |batch| {
        let batch = batch.map_err(|e| bad(&e))?;
        match &order {
            Some(order) => Ok(batch.project(order)?),
            None => Ok(batch),
        }
    });
    send_limited(batches, out_schema, None, emitter)
}

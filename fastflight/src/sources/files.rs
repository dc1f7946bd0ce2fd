//! CSV and Parquet files (feature `files`) under a root directory: column projection,
//! a row limit and a batch size, read batch by batch on a blocking thread.
//!
//! Paths are relative to the root. `..`, absolute paths, symbolic links that lead
//! outside the root and absolute links (wherever they point) are refused with
//! `PermissionDenied` and never opened; relative links inside are followed. Every file is
//! opened beneath a handle of the root directory (`cap-std`), so no check-then-open
//! race exists to win. A path with a NUL byte, or longer than 4096 bytes, is
//! `InvalidArgument`. Batches hold at most [`MAX_BATCH_ROWS`] rows, and a CSV file
//! whose first line does not end within 16 MiB is refused.
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
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use tonic::Code;

use super::{DEFAULT_BATCH_SIZE, MAX_BATCH_ROWS};

/// The longest relative path accepted.
const MAX_PATH: usize = 4096;

/// The longest first (header) line of a CSV file.
const MAX_CSV_HEADER: u64 = 16 * 1024 * 1024;
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
    dir: Arc<cap_std::fs::Dir>,
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
        let handle = cap_std::fs::Dir::open_ambient_dir(&root, cap_std::ambient_authority())
            .map_err(|e| Error::Config(format!("data directory {}: {e}", dir.display())))?;
        Ok(Self {
            root,
            dir: Arc::new(handle),
        })
    }

    /// The root, canonical.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Opens the file a relative path names, beneath the root: `..`, absolute paths and
    /// links that lead outside are refused, atomically.
    pub fn open(&self, relative: &str) -> Result<File> {
        self.check(relative)?;
        let shown = crate::error::clip(relative);
        let file = self.dir.open(relative).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::status(
                Code::NotFound,
                format!("no file `{shown}` in the data directory"),
            ),
            _ => Error::status(
                Code::PermissionDenied,
                format!(
                    "path `{shown}` is refused: {e}; paths are relative to the data directory and stay inside it"
                ),
            ),
        })?;
        let metadata = file.metadata()?;
        if !metadata.is_file() {
            return Err(Error::status(
                Code::InvalidArgument,
                format!("`{shown}` is not a file"),
            ));
        }
        Ok(file.into_std())
    }

    /// Refuses what no file of the root can be named: empty, NUL bytes, too long,
    /// absolute, or with `..`.
    fn check(&self, relative: &str) -> Result<()> {
        if relative.is_empty() {
            return Err(Error::status(
                Code::InvalidArgument,
                "field `path` is empty",
            ));
        }
        if relative.contains('\0') {
            return Err(Error::status(
                Code::InvalidArgument,
                "field `path` contains a NUL byte",
            ));
        }
        if relative.len() > MAX_PATH {
            return Err(Error::status(
                Code::InvalidArgument,
                format!("field `path` is longer than {MAX_PATH} bytes"),
            ));
        }
        let shown = crate::error::clip(relative);
        for component in Path::new(relative).components() {
            match component {
                Component::Normal(_) | Component::CurDir => {}
                Component::ParentDir => {
                    return Err(Error::status(
                        Code::PermissionDenied,
                        format!("path `{shown}` is refused: it contains `..`; paths are relative to the data directory"),
                    ))
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(Error::status(
                        Code::PermissionDenied,
                        format!("path `{shown}` is refused: it is absolute; paths are relative to the data directory"),
                    ))
                }
            }
        }
        Ok(())
    }

    /// The file a relative path names, after refusing `..`, absolute paths, and
    /// symbolic links that lead outside the root. For display: reads use
    /// [`FileRoot::open`], which has no race between this check and the open.
    pub fn resolve(&self, relative: &str) -> Result<PathBuf> {
        self.check(relative)?;
        let denied = |why: &str| {
            Error::status(
                Code::PermissionDenied,
                format!(
                    "path `{}` is refused: {why}; paths are relative to the data directory",
                    crate::error::clip(relative)
                ),
            )
        };
        let path = Path::new(relative);
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
            let file = root.open(&relative)?;
            read_csv(file, &relative, &options, emitter)
        })
    }

    /// Streams a Parquet file.
    pub fn parquet(&self, relative: &str, options: ReadOptions) -> BatchStream {
        let root = self.clone();
        let relative = relative.to_owned();
        produce_blocking(move |emitter| {
            let file = root.open(&relative)?;
            read_parquet(file, &relative, &options, emitter)
        })
    }
}

/// Rows per batch: the request's, at most [`MAX_BATCH_ROWS`] and no more than the limit.
fn batch_rows(options: &ReadOptions) -> usize {
    options
        .batch_size
        .min(options.limit.unwrap_or(usize::MAX))
        .clamp(1, MAX_BATCH_ROWS)
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

fn read_csv(
    mut file: File,
    relative: &str,
    options: &ReadOptions,
    emitter: &Emitter,
) -> Result<()> {
    // A header line that never ends would be read whole by the schema inference.
    let mut head = Vec::new();
    (&mut file).take(MAX_CSV_HEADER).read_to_end(&mut head)?;
    if !head.contains(&b'\n') && head.len() as u64 == MAX_CSV_HEADER {
        return Err(Error::status(
            Code::InvalidArgument,
            format!(
                "cannot read `{}` as CSV: its first line does not end within {MAX_CSV_HEADER} bytes",
                crate::error::clip(relative)
            ),
        ));
    }
    file.seek(SeekFrom::Start(0))?;
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
        .with_batch_size(batch_rows(options));
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
    file: File,
    relative: &str,
    options: &ReadOptions,
    emitter: &Emitter,
) -> Result<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;

    let bad = |e: &dyn std::fmt::Display| {
        Error::status(
            Code::InvalidArgument,
            format!("cannot read `{relative}` as Parquet: {e}"),
        )
    };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(&e))?
        .with_batch_size(batch_rows(options));
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

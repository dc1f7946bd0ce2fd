//! CSV and Parquet files (feature `files`) under a root directory: column projection,
//! a row limit and a batch size, read batch by batch on a blocking thread.
//!
//! Paths are relative to the root. `..`, absolute paths, symbolic links that lead
//! outside the root and absolute links (wherever they point) are refused with
//! `PermissionDenied` and never opened; relative links inside are followed. Every file is
//! opened beneath a handle of the root directory (`cap-std`), so no check-then-open
//! race exists to win. A path with a NUL byte, or longer than 4096 bytes, is
//! `InvalidArgument`. Batches hold at most [`MAX_BATCH_ROWS`] rows and about
//! [`MAX_BATCH_BYTES`] bytes (a CSV record, or a CSV first line, longer than that is
//! refused). Batches are read one at a time on the blocking pool, the next while the
//! last is sent: a stalled reader holds two batches and no thread.
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
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use tonic::Code;

use super::{DEFAULT_BATCH_SIZE, MAX_BATCH_BYTES, MAX_BATCH_ROWS};

/// The longest relative path accepted.
const MAX_PATH: usize = 4096;

/// The longest first (header) line of a CSV file.
const MAX_CSV_HEADER: u64 = 16 * 1024 * 1024;
use crate::service::{run_blocking, BatchIter, BatchStream};
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
    max_batch_bytes: usize,
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
            max_batch_bytes: MAX_BATCH_BYTES,
            dir: Arc::new(handle),
        })
    }

    /// Bytes per batch at most (at most, and by default, [`MAX_BATCH_BYTES`]): a CSV
    /// batch is cut at the record that reaches them, a longer record is refused, and a
    /// Parquet batch holds as many rows as fit by the file's own row sizes.
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes.clamp(1, MAX_BATCH_BYTES);
        self
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
        run_blocking(move || {
            let file = root.open(&relative)?;
            read_csv(file, &relative, &options, root.max_batch_bytes)
        })
    }

    /// Streams a Parquet file.
    pub fn parquet(&self, relative: &str, options: ReadOptions) -> BatchStream {
        let root = self.clone();
        let relative = relative.to_owned();
        run_blocking(move || {
            let file = root.open(&relative)?;
            read_parquet(file, &relative, &options, root.max_batch_bytes)
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

/// The batches up to `limit` rows; an empty result is one empty batch with `schema`.
fn limited(
    batches: impl Iterator<Item = Result<RecordBatch>> + Send + 'static,
    schema: SchemaRef,
    limit: Option<usize>,
) -> BatchIter {
    let mut remaining = limit.unwrap_or(usize::MAX);
    let mut empty = Some(RecordBatch::new_empty(schema));
    let mut batches = batches.fuse();
    Box::new(std::iter::from_fn(move || {
        if remaining > 0 {
            if let Some(batch) = batches.next() {
                let batch = match batch {
                    Ok(batch) if batch.num_rows() > remaining => batch.slice(0, remaining),
                    Ok(batch) => batch,
                    Err(e) => {
                        // Nothing after an error.
                        (remaining, empty) = (0, None);
                        return Some(Err(e));
                    }
                };
                remaining -= batch.num_rows();
                empty = None;
                return Some(Ok(batch));
            }
        }
        empty.take().map(Ok)
    }))
}

/// The message of a file that cannot be read as `format`.
fn unreadable(relative: &str, format: &str, e: &dyn std::fmt::Display) -> Error {
    Error::status(
        Code::InvalidArgument,
        format!(
            "cannot read `{}` as {format}: {e}",
            crate::error::clip(relative)
        ),
    )
}

fn read_csv(
    mut file: File,
    relative: &str,
    options: &ReadOptions,
    max_bytes: usize,
) -> Result<BatchIter> {
    // A header line that never ends would be read whole by the schema inference.
    let mut head = Vec::new();
    (&mut file).take(MAX_CSV_HEADER).read_to_end(&mut head)?;
    if !head.contains(&b'\n') && head.len() as u64 == MAX_CSV_HEADER {
        return Err(unreadable(
            relative,
            "CSV",
            &format!("its first line does not end within {MAX_CSV_HEADER} bytes"),
        ));
    }
    file.seek(SeekFrom::Start(0))?;
    let bad = {
        let relative = relative.to_owned();
        move |e: &dyn std::fmt::Display| unreadable(&relative, "CSV", e)
    };
    let (schema, _) = arrow::csv::reader::Format::default()
        .with_header(true)
        .infer_schema(&mut file, Some(1000))
        .map_err(|e| bad(&e))?;
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
    let batches = CsvBatches {
        input: BufReader::with_capacity(1 << 20, file),
        decoder: builder.build_decoder(),
        fed: 0,
        max_bytes,
        done: false,
    };
    Ok(limited(
        batches.map(move |b| b.map_err(|e| bad(&e))),
        out_schema,
        options.limit,
    ))
}

/// CSV batches of at most the decoder's rows and about `max_bytes` of input each: past
/// `max_bytes`, the batch is cut at the end of the record being read; a record longer
/// than `max_bytes` itself is refused.
struct CsvBatches {
    input: BufReader<File>,
    decoder: arrow::csv::reader::Decoder,
    /// Input bytes in the batch being made.
    fed: usize,
    max_bytes: usize,
    done: bool,
}

impl Iterator for CsvBatches {
    type Item = std::result::Result<RecordBatch, arrow::error::ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        use arrow::error::ArrowError;
        while !self.done {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) => return Some(Err(e.into())),
            };
            if buf.is_empty() {
                self.done = true;
                break;
            }
            let over = self.fed >= self.max_bytes;
            // Past the budget, one line at a time, so the batch can end at a record's end.
            let end = if over {
                buf.iter()
                    .position(|&b| b == b'\n')
                    .map_or(buf.len(), |i| i + 1)
            } else {
                buf.len().min(self.max_bytes - self.fed)
            };
            let used = match self.decoder.decode(&buf[..end]) {
                Ok(used) => used,
                Err(e) => return Some(Err(e)),
            };
            self.input.consume(used);
            self.fed += used;
            // A batch never passes twice the bound: only a record longer than the bound
            // itself takes it there.
            if self.fed > 2 * self.max_bytes {
                self.done = true;
                return Some(Err(ArrowError::CsvError(format!(
                    "a record is longer than {} bytes (the batch byte bound)",
                    self.max_bytes
                ))));
            }
            let full = self.decoder.capacity() == 0;
            if full || over {
                // Mid-record (a quoted line break, or a long record), flushing fails:
                // read on, up to the bound of one record.
                match self.decoder.flush() {
                    Ok(Some(batch)) => {
                        self.fed = 0;
                        return Some(Ok(batch));
                    }
                    Ok(None) | Err(_) if !full => {}
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
        }
        self.decoder.flush().transpose()
    }
}

fn read_parquet(
    file: File,
    relative: &str,
    options: &ReadOptions,
    max_bytes: usize,
) -> Result<BatchIter> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;

    let bad = {
        let relative = relative.to_owned();
        move |e: &dyn std::fmt::Display| unreadable(&relative, "Parquet", e)
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(&e))?;
    // Rows per batch within the byte bound, from the file's own figure of its widest rows.
    let widest_row = builder
        .metadata()
        .row_groups()
        .iter()
        .filter(|g| g.num_rows() > 0)
        .map(|g| g.total_byte_size().max(0) as u64 / g.num_rows() as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    let rows = batch_rows(options).min((max_bytes as u64 / widest_row).max(1) as usize);
    let mut builder = builder.with_batch_size(rows);
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
    Ok(limited(batches, out_schema, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    /// Removed with what it holds when dropped.
    fn folder(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("fastflight-files-{name}-"))
            .tempdir()
            .unwrap()
    }

    #[tokio::test]
    async fn csv_batches_are_cut_by_bytes_and_a_longer_record_is_refused() {
        let dir = folder("bytes");
        let pad = "x".repeat(1000);
        let mut text = String::from("id,pad\n");
        for i in 0..2000 {
            text.push_str(&format!("{i},{pad}\n"));
        }
        std::fs::write(dir.path().join("wide.csv"), &text).unwrap();
        let root = FileRoot::new(&dir).unwrap().max_batch_bytes(100_000);
        let batches: Vec<RecordBatch> = root
            .csv("wide.csv", ReadOptions::default())
            .map(|b| b.unwrap())
            .collect()
            .await;
        let rows: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(rows.iter().sum::<usize>(), 2000);
        // 100 kB is 99 records of 1,006 bytes; the one that passes it ends the batch.
        assert!(rows.iter().all(|&r| (1..=101).contains(&r)), "{rows:?}");
        assert!(rows.len() >= 20, "{rows:?}");
        // The limit and the batch size still hold beside the byte bound.
        let options = ReadOptions {
            limit: Some(150),
            batch_size: 40,
            ..ReadOptions::default()
        };
        let rows: Vec<usize> = root
            .csv("wide.csv", options)
            .map(|b| b.unwrap().num_rows())
            .collect()
            .await;
        assert_eq!(rows, vec![40, 40, 40, 30]);

        let mut text = String::from("id,pad\n1,short\n");
        text.push_str(&format!("2,{}\n3,short\n", "y".repeat(300_000)));
        std::fs::write(dir.path().join("long.csv"), &text).unwrap();
        let items: Vec<Result<RecordBatch>> =
            root.csv("long.csv", ReadOptions::default()).collect().await;
        let e = items
            .iter()
            .find_map(|i| i.as_ref().err())
            .expect("the long record is refused");
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.to_string().contains("longer than 100000 bytes"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn parquet_batches_hold_as_many_rows_as_fit_the_bound() {
        let dir = folder("parquet");
        let pad =
            arrow::array::StringArray::from_iter_values((0..5000).map(|i| format!("{i:0>1000}")));
        let batch =
            RecordBatch::try_from_iter([("pad", Arc::new(pad) as arrow::array::ArrayRef)]).unwrap();
        let file = std::fs::File::create(dir.path().join("wide.parquet")).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let root = FileRoot::new(&dir).unwrap().max_batch_bytes(100_000);
        let rows: Vec<usize> = root
            .parquet("wide.parquet", ReadOptions::default())
            .map(|b| b.unwrap().num_rows())
            .collect()
            .await;
        assert_eq!(rows.iter().sum::<usize>(), 5000);
        assert!(rows.iter().all(|&r| r <= 100), "{rows:?}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

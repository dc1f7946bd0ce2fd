//! Rows cut into batches: a batch is sent at [`Batching::rows`] rows, at about
//! [`Batching::bytes`] bytes, and whenever the source has no row ready (a slow source's
//! rows are not held back). No batch is bigger than [`MAX_BATCH_BYTES`]: a row bigger
//! than that alone is an error naming the limit.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use arrow::record_batch::RecordBatch;
use futures::Stream;

use super::{ArrowRow, RowBuilder};
use crate::{Error, Result};

/// The rows of a batch at most, unless a service says otherwise
/// (`#[data_service(batch_rows = N)]`).
pub const DEFAULT_BATCH_ROWS: usize = 65_536;

/// The bytes at which a batch is sent.
pub const DEFAULT_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// The largest batch a server sends (`max_batch_bytes`, as the sources' batches).
pub const MAX_BATCH_BYTES: usize = crate::sources::MAX_BATCH_BYTES;

/// Where rows are cut into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// The rows of a batch at most.
    pub rows: usize,
    /// The bytes at which a batch is sent (at most [`MAX_BATCH_BYTES`]).
    pub bytes: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            rows: DEFAULT_BATCH_ROWS,
            bytes: DEFAULT_BATCH_BYTES,
        }
    }
}

impl Batching {
    /// Batches of `rows` rows at most (at least 1).
    pub fn rows(rows: usize) -> Self {
        Self {
            rows: rows.max(1),
            ..Self::default()
        }
    }
}

/// The batch being filled, and where it is cut.
struct Filling<T: ArrowRow> {
    builder: T::Builder,
    bytes: usize,
    batching: Batching,
}

enum Added {
    /// The row is in the batch; the batch is not full.
    Kept,
    /// The batch is full (with the row).
    Full,
    /// The batch was full before the row, which begins the next one: send it.
    Before(Result<RecordBatch>),
}

impl<T: ArrowRow> Filling<T> {
    fn new(batching: Batching) -> Self {
        let batching = Batching {
            rows: batching.rows.max(1),
            bytes: batching.bytes.clamp(1, MAX_BATCH_BYTES),
        };
        Self {
            builder: T::builder(batching.rows.min(4096)),
            bytes: 0,
            batching,
        }
    }

    fn add(&mut self, row: &T) -> Result<Added> {
        let size = row.size();
        if size > MAX_BATCH_BYTES {
            return Err(Error::status(
                tonic::Code::ResourceExhausted,
                format!(
                    "a `{}` row of about {size} bytes is above the largest batch, {MAX_BATCH_BYTES} bytes (max_batch_bytes)",
                    T::NAME
                ),
            ));
        }
        let before = if !self.builder.is_empty() && self.bytes + size > self.batching.bytes {
            Some(self.finish())
        } else {
            None
        };
        self.builder.append(row);
        self.bytes += size;
        Ok(match before {
            Some(batch) => Added::Before(batch),
            None if self.builder.len() >= self.batching.rows
                || self.bytes >= self.batching.bytes =>
            {
                Added::Full
            }
            None => Added::Kept,
        })
    }

    fn is_empty(&self) -> bool {
        self.builder.is_empty()
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        self.bytes = 0;
        self.builder.try_finish()
    }
}

/// A stream of rows as a stream of batches.
pub struct RowBatches<S, T: ArrowRow> {
    rows: Pin<Box<S>>,
    filling: Filling<T>,
    /// What follows the batch just sent: an error of the source, or its end.
    then: Option<Option<Error>>,
}

impl<S, T: ArrowRow> RowBatches<S, T> {
    /// The batches of `rows`, cut by `batching`.
    pub fn new(rows: S, batching: Batching) -> Self {
        Self {
            rows: Box::pin(rows),
            filling: Filling::new(batching),
            then: None,
        }
    }
}

// The source is boxed and no field is pinned: moving the batcher moves none of them.
impl<S, T: ArrowRow> Unpin for RowBatches<S, T> {}

impl<S, T> Stream for RowBatches<S, T>
where
    S: Stream<Item = Result<T>>,
    T: ArrowRow,
{
    type Item = Result<RecordBatch>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(then) = this.then.take() {
            // The end, or the source's error after the rows before it were sent.
            this.then = Some(None);
            return Poll::Ready(then.map(Err));
        }
        loop {
            match this.rows.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(row))) => match this.filling.add(&row) {
                    Ok(Added::Kept) => {}
                    Ok(Added::Full) => return Poll::Ready(Some(this.filling.finish())),
                    Ok(Added::Before(batch)) => return Poll::Ready(Some(batch)),
                    Err(e) => return Poll::Ready(Some(this.flush_then(e))),
                },
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(this.flush_then(e)));
                }
                Poll::Ready(None) => {
                    if this.filling.is_empty() {
                        this.then = Some(None);
                        return Poll::Ready(None);
                    }
                    this.then = Some(None);
                    return Poll::Ready(Some(this.filling.finish()));
                }
                Poll::Pending if !this.filling.is_empty() => {
                    // Nothing ready: what there is goes now.
                    return Poll::Ready(Some(this.filling.finish()));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S, T: ArrowRow> RowBatches<S, T> {
    /// The rows so far, then `error`; or `error` at once when there are none.
    fn flush_then(&mut self, error: Error) -> Result<RecordBatch> {
        if self.filling.is_empty() {
            self.then = Some(None);
            return Err(error);
        }
        self.then = Some(Some(error));
        self.filling.finish()
    }
}

/// An iterator of rows as an iterator of batches (a blocking service's rows).
pub struct RowBatchIter<I, T: ArrowRow> {
    rows: I,
    filling: Filling<T>,
    then: Option<Option<Error>>,
}

impl<I, T: ArrowRow> RowBatchIter<I, T> {
    /// The batches of `rows`, cut by `batching` (by rows and bytes: an iterator cannot
    /// say it has no row ready).
    pub fn new(rows: I, batching: Batching) -> Self {
        Self {
            rows,
            filling: Filling::new(batching),
            then: None,
        }
    }
}

impl<I, T> Iterator for RowBatchIter<I, T>
where
    I: Iterator<Item = Result<T>>,
    T: ArrowRow,
{
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        if let Some(then) = self.then.take() {
            self.then = Some(None);
            return then.map(Err);
        }
        loop {
            let error = match self.rows.next() {
                Some(Ok(row)) => match self.filling.add(&row) {
                    Ok(Added::Kept) => continue,
                    Ok(Added::Full) => return Some(self.filling.finish()),
                    Ok(Added::Before(batch)) => return Some(batch),
                    Err(e) => e,
                },
                Some(Err(e)) => e,
                None => {
                    self.then = Some(None);
                    return (!self.filling.is_empty()).then(|| self.filling.finish());
                }
            };
            if self.filling.is_empty() {
                self.then = Some(None);
                return Some(Err(error));
            }
            self.then = Some(Some(error));
            return Some(self.filling.finish());
        }
    }
}

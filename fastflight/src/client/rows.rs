//! A result read as typed rows: [`RowStream<T>`] (from [`RecordBatchStream::rows`], or
//! the stub of a request with `#[flight(rows = T)]`), its schema checked against `T`'s
//! before the first row, each batch decoded as it comes.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use arrow::datatypes::SchemaRef;
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};

use super::{Client, RecordBatchStream};
use crate::request::FetchRows;
use crate::rows::{check_schema, ArrowRow, Rows};
use crate::{FlightRequest, Result};

/// The rows of one result, as a stream of `Result<T>`; an error after some rows (the
/// service failed, the connection broke) is an `Err` item, so a partial result never
/// looks whole.
///
/// ```no_run
/// # use fastflight::prelude::*;
/// # #[derive(ArrowRow, Debug)] struct Trade { id: i64 }
/// # async fn example(client: fastflight::Client, stream: fastflight::RecordBatchStream) -> fastflight::Result<()> {
/// let trades: Vec<Trade> = stream.rows::<Trade>()?.collect_vec().await?;
/// # Ok(()) }
/// ```
pub struct RowStream<T: ArrowRow> {
    batches: RecordBatchStream,
    current: Option<Rows<T>>,
}

impl<T: ArrowRow> std::fmt::Debug for RowStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("row", &T::NAME)
            .field("schema", &self.batches.schema())
            .finish_non_exhaustive()
    }
}

impl RecordBatchStream {
    /// The result read as rows `T`: the result's schema checked against `T`'s first
    /// (every field of `T` a column of the same name and type, a column that may hold
    /// nulls an `Option` field); the error names the field and both types.
    pub fn rows<T: ArrowRow>(self) -> Result<RowStream<T>> {
        check_schema::<T>(&self.schema())?;
        Ok(RowStream {
            batches: self,
            current: None,
        })
    }
}

impl<T: ArrowRow> RowStream<T> {
    /// The result's schema (as the server sent it).
    pub fn schema(&self) -> SchemaRef {
        self.batches.schema()
    }

    /// The batches underneath, from the next one on (rows of a batch already begun are
    /// not in them).
    pub fn batches(self) -> RecordBatchStream {
        self.batches
    }

    /// Every row, in order (each batch's rows read in one pass).
    pub async fn collect_vec(mut self) -> Result<Vec<T>> {
        let mut rows = match self.current.take() {
            Some(begun) => begun.into_vec()?,
            None => Vec::new(),
        };
        while let Some(batch) = self.batches.try_next().await? {
            rows.extend(T::from_batch(&batch).into_vec()?);
        }
        Ok(rows)
    }
}

// The batch stream is boxed and no field is pinned.
impl<T: ArrowRow> Unpin for RowStream<T> {}

impl<T: ArrowRow> Stream for RowStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            if let Some(row) = this.current.as_mut().and_then(Iterator::next) {
                return Poll::Ready(Some(row));
            }
            match this.batches.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(batch))) => this.current = Some(T::from_batch(&batch)),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl FetchRows for Client {
    type Rows<T: ArrowRow> = BoxFuture<'static, Result<RowStream<T>>>;

    fn fetch_rows<R: FlightRequest, T: ArrowRow>(&self, request: R) -> Self::Rows<T> {
        let client = self.clone();
        async move { client.fetch(request).await?.rows::<T>() }.boxed()
    }
}

//! The result of a call, [`RecordBatchStream`]: its schema known before its first batch,
//! an error after batches an `Err` item (so a partial result never looks whole); and
//! [`Deadline`], the one timer of a call, over its opening and then its stream.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow_flight::FlightData;
use futures::stream::BoxStream;
use futures::{Future, Stream, StreamExt, TryStreamExt};

use crate::ipc::decode::{Decoder, Read};
use crate::{Error, Result};

/// The batches of one result; its schema is known before the first batch.
///
/// An error after some batches (the service failed, the connection broke) comes
/// as an `Err` item with the server's status code, so a partial result is never
/// mistaken for a complete one.
pub struct RecordBatchStream {
    schema: SchemaRef,
    batches: BoxStream<'static, Result<RecordBatch>>,
}

impl std::fmt::Debug for RecordBatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatchStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl RecordBatchStream {
    /// A result of `schema` whose batches are `batches`.
    pub(super) fn new(schema: SchemaRef, batches: BoxStream<'static, Result<RecordBatch>>) -> Self {
        Self { schema, batches }
    }

    /// A DoGet's result: the schema read first (a stream without one is an error), then
    /// the batches as they are decoded.
    pub(super) async fn start(mut decoder: Decoder<tonic::Streaming<FlightData>>) -> Result<Self> {
        match decoder.next().await {
            Some(Ok(Read::Schema(schema))) => {
                // (The decoder refuses a second schema, and a batch before the first.)
                let batches = decoder.try_filter_map(|decoded| {
                    futures::future::ready(Ok(match decoded {
                        Read::Batch(batch) => Some(batch),
                        Read::Schema(_) => None,
                    }))
                });
                Ok(Self::new(schema, batches.boxed()))
            }
            Some(Err(e)) => Err(e),
            Some(Ok(Read::Batch(_))) | None => Err(Error::status(
                tonic::Code::Internal,
                "the server ended the stream without sending a schema",
            )),
        }
    }

    /// The same result, ended with the deadline's error once it passes.
    pub(super) fn within(self, deadline: Option<Deadline>) -> Self {
        Self {
            schema: self.schema,
            batches: Deadline::bound(deadline, self.batches),
        }
    }

    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }

    /// All batches, in order.
    pub async fn collect(self) -> Result<Vec<RecordBatch>> {
        self.try_collect().await
    }

    /// All batches concatenated into one (of zero rows for an empty result).
    pub async fn concat(self) -> Result<RecordBatch> {
        let schema = self.schema();
        let batches = self.collect().await?;
        Ok(arrow::compute::concat_batches(&schema, &batches)?)
    }
}

impl Stream for RecordBatchStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.batches.poll_next_unpin(cx)
    }
}

/// The one timer of a call (its client's `with_timeout`): over its opening, retries
/// included, then over every item of its stream.
pub(super) struct Deadline {
    sleep: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl Deadline {
    /// A timer of `timeout` from now, if there is one.
    pub(super) fn of(timeout: Option<Duration>) -> Option<Self> {
        timeout.map(|timeout| Self {
            sleep: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        })
    }

    fn exceeded(&self) -> Error {
        Error::status(
            tonic::Code::DeadlineExceeded,
            format!(
                "the call did not finish within its deadline of {:?}",
                self.timeout
            ),
        )
    }

    /// `future`, unless the deadline passes first.
    pub(super) async fn within<T>(
        deadline: &mut Option<Self>,
        future: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match deadline {
            Some(deadline) => tokio::select! {
                done = future => done,
                () = deadline.sleep.as_mut() => Err(deadline.exceeded()),
            },
            None => future.await,
        }
    }

    /// `items`, ended with the deadline's error once it passes (nothing more is read:
    /// dropping the stream cancels the call).
    pub(super) fn bound<T: Send + 'static>(
        deadline: Option<Self>,
        items: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        let Some(deadline) = deadline else {
            return items;
        };
        futures::stream::unfold(
            (items, Some(deadline)),
            |(mut items, deadline)| async move {
                let mut deadline = deadline?;
                tokio::select! {
                    item = items.next() => item.map(|item| (item, (items, Some(deadline)))),
                    () = deadline.sleep.as_mut() => {
                        let e = deadline.exceeded();
                        Some((Err(e), (items, None)))
                    }
                }
            },
        )
        .boxed()
    }
}

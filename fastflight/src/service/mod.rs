//! What a service sees and returns: [`BatchStream`] (or, blocking, [`BatchIter`]) and the
//! shapes a service may return; what it takes besides its request (`call.rs`: `FromCall`,
//! `Context`, `State`); and the adapters that run producers off the async threads
//! (`produce.rs`: `produce_blocking`, `produce`, `run_blocking`, `Emitter`).

mod call;
mod produce;

use arrow::record_batch::RecordBatch;
use futures::stream::{BoxStream, Stream, StreamExt};

use crate::{BoxError, Error, Result};

pub use call::{Call, Context, FromCall, State, States};
pub(crate) use produce::Serving;
pub use produce::{produce, produce_blocking, run_blocking, Emitter, Stopped};

/// A stream of record batches, as every service answers.
pub type BatchStream = BoxStream<'static, Result<RecordBatch>>;

/// A boxed iterator of record batches, as blocking services answer.
pub type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch>> + Send + 'static>;

/// The shapes a non-blocking `#[data_service]` may return: a stream of `Result<RecordBatch, E>`.
#[diagnostic::on_unimplemented(
    message = "a #[data_service] must return a stream of record batches, not `{Self}`",
    label = "not a stream of `Result<RecordBatch, E>`",
    note = "accepted: `impl Stream<Item = Result<RecordBatch, E>> + Send + 'static` or `Result<S, E>` of such a stream (e.g. `fastflight::Result<BatchStream>`); with #[data_service(blocking)], a plain `fn` returning `impl Iterator<Item = Result<RecordBatch, E>> + Send` or `Result<I, E>`; `E: Into<fastflight::BoxError>`"
)]
pub trait IntoBatchStream {
    /// Boxes the stream and turns item errors into [`Error`]s of the named service.
    fn into_batch_stream(self, service: &'static str) -> BatchStream;
}

impl<S, E> IntoBatchStream for S
where
    S: Stream<Item = std::result::Result<RecordBatch, E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn into_batch_stream(self, service: &'static str) -> BatchStream {
        self.map(move |item| item.map_err(|e| Error::service(service, e)))
            .boxed()
    }
}

/// The shapes a `#[data_service(blocking)]` may return: an iterator of `Result<RecordBatch, E>`.
#[diagnostic::on_unimplemented(
    message = "a #[data_service(blocking)] must return an iterator of record batches, not `{Self}`",
    label = "not an iterator of `Result<RecordBatch, E>`",
    note = "accepted: `impl Iterator<Item = Result<RecordBatch, E>> + Send + 'static` or `Result<I, E>` of such an iterator; `E: Into<fastflight::BoxError>`"
)]
pub trait IntoBatchIter {
    /// Boxes the iterator and turns item errors into [`Error`]s of the named service.
    fn into_batch_iter(self, service: &'static str) -> BatchIter;
}

impl<I, E> IntoBatchIter for I
where
    I: IntoIterator<Item = std::result::Result<RecordBatch, E>>,
    I::IntoIter: Send + 'static,
    E: Into<BoxError>,
{
    fn into_batch_iter(self, service: &'static str) -> BatchIter {
        Box::new(
            self.into_iter()
                .map(move |item| item.map_err(|e| Error::service(service, e))),
        )
    }
}

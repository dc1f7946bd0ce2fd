//! What a service sees and returns: [`BatchStream`] (or, blocking, [`BatchIter`]) and the
//! shapes a service may return; what it takes besides its request (`call.rs`: `FromCall`,
//! `Context`, `State`); and the adapters that run producers off the async threads
//! (`produce.rs`: `produce_blocking`, `produce`, `run_blocking`, `Emitter`).

mod call;
mod produce;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use futures::stream::{BoxStream, Stream, StreamExt};

use crate::rows::batcher::{Batching, RowBatchIter, RowBatches};
use crate::rows::ArrowRow;
use crate::{BoxError, Error, Result};

pub use call::{Call, Context, FromCall, State, States};
pub(crate) use produce::Serving;
pub use produce::{produce, produce_blocking, run_blocking, Emitter, Stopped};

/// A stream of record batches, as every service answers.
pub type BatchStream = BoxStream<'static, Result<RecordBatch>>;

/// A boxed iterator of record batches, as blocking services answer.
pub type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch>> + Send + 'static>;

/// Marks the shapes of [`IntoBatchStream`] and [`IntoBatchIter`]: items of
/// `Result<RecordBatch, E>`.
#[doc(hidden)]
pub struct Batches;

/// Marks the shapes of [`IntoBatchStream`] and [`IntoBatchIter`]: items of
/// `Result<T, E>`, `T` an `ArrowRow`.
#[doc(hidden)]
pub struct RowResults<T>(std::marker::PhantomData<T>);

/// Marks the shapes of [`IntoBatchStream`] and [`IntoBatchIter`]: items of `T`, an
/// `ArrowRow`.
#[doc(hidden)]
pub struct Rows<T>(std::marker::PhantomData<T>);

/// The shapes a non-blocking `#[data_service]` may return: a stream of
/// `Result<RecordBatch, E>`, of `Result<T, E>` or of `T` where `T: ArrowRow`.
#[diagnostic::on_unimplemented(
    message = "a #[data_service] must return a stream of record batches or of rows, not `{Self}`",
    label = "not a stream of `Result<RecordBatch, E>`, `Result<T, E>` or `T` where `T: ArrowRow`",
    note = "accepted: `impl Stream<Item = Result<RecordBatch, E>> + Send + 'static` (or of `Result<T, E>` or `T`, `T` deriving ArrowRow) or `Result<S, E>` of such a stream (e.g. `fastflight::Result<BatchStream>`); with #[data_service(blocking)], a plain `fn` returning such an `impl Iterator` + Send or `Result<I, E>`; `E: Into<fastflight::BoxError>`"
)]
pub trait IntoBatchStream<Shape> {
    /// Boxes the stream (rows cut into batches by `batching`) and turns item errors into
    /// [`Error`]s of the named service.
    fn into_batch_stream(self, service: &'static str, batching: Batching) -> BatchStream;

    /// The schema its shape declares: a row type's (`None` for batches).
    fn declared_schema() -> Option<SchemaRef>;
}

impl<S, E> IntoBatchStream<Batches> for S
where
    S: Stream<Item = std::result::Result<RecordBatch, E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn into_batch_stream(self, service: &'static str, _: Batching) -> BatchStream {
        self.map(move |item| item.map_err(|e| Error::service(service, e)))
            .boxed()
    }

    fn declared_schema() -> Option<SchemaRef> {
        None
    }
}

impl<S, T, E> IntoBatchStream<RowResults<T>> for S
where
    S: Stream<Item = std::result::Result<T, E>> + Send + 'static,
    T: ArrowRow,
    E: Into<BoxError>,
{
    fn into_batch_stream(self, service: &'static str, batching: Batching) -> BatchStream {
        let rows = self.map(move |item| item.map_err(|e| Error::service(service, e)));
        RowBatches::new(rows, batching).boxed()
    }

    fn declared_schema() -> Option<SchemaRef> {
        Some(T::schema())
    }
}

impl<S, T> IntoBatchStream<Rows<T>> for S
where
    S: Stream<Item = T> + Send + 'static,
    T: ArrowRow,
{
    fn into_batch_stream(self, _: &'static str, batching: Batching) -> BatchStream {
        RowBatches::new(self.map(Ok), batching).boxed()
    }

    fn declared_schema() -> Option<SchemaRef> {
        Some(T::schema())
    }
}

/// The shapes a `#[data_service(blocking)]` may return: an iterator of
/// `Result<RecordBatch, E>`, of `Result<T, E>` or of `T` where `T: ArrowRow`.
#[diagnostic::on_unimplemented(
    message = "a #[data_service(blocking)] must return an iterator of record batches or of rows, not `{Self}`",
    label = "not an iterator of `Result<RecordBatch, E>`, `Result<T, E>` or `T` where `T: ArrowRow`",
    note = "accepted: `impl Iterator<Item = Result<RecordBatch, E>> + Send + 'static` (or of `Result<T, E>` or `T`, `T` deriving ArrowRow) or `Result<I, E>` of such an iterator; `E: Into<fastflight::BoxError>`"
)]
pub trait IntoBatchIter<Shape> {
    /// Boxes the iterator (rows cut into batches by `batching`) and turns item errors
    /// into [`Error`]s of the named service.
    fn into_batch_iter(self, service: &'static str, batching: Batching) -> BatchIter;

    /// The schema its shape declares: a row type's (`None` for batches).
    fn declared_schema() -> Option<SchemaRef>;
}

impl<I, E> IntoBatchIter<Batches> for I
where
    I: IntoIterator<Item = std::result::Result<RecordBatch, E>>,
    I::IntoIter: Send + 'static,
    E: Into<BoxError>,
{
    fn into_batch_iter(self, service: &'static str, _: Batching) -> BatchIter {
        Box::new(
            self.into_iter()
                .map(move |item| item.map_err(|e| Error::service(service, e))),
        )
    }

    fn declared_schema() -> Option<SchemaRef> {
        None
    }
}

impl<I, T, E> IntoBatchIter<RowResults<T>> for I
where
    I: IntoIterator<Item = std::result::Result<T, E>>,
    I::IntoIter: Send + 'static,
    T: ArrowRow,
    E: Into<BoxError>,
{
    fn into_batch_iter(self, service: &'static str, batching: Batching) -> BatchIter {
        let rows = self
            .into_iter()
            .map(move |item| item.map_err(|e| Error::service(service, e)));
        Box::new(RowBatchIter::new(rows, batching))
    }

    fn declared_schema() -> Option<SchemaRef> {
        Some(T::schema())
    }
}

impl<I, T> IntoBatchIter<Rows<T>> for I
where
    I: IntoIterator<Item = T>,
    I::IntoIter: Send + 'static,
    T: ArrowRow,
{
    fn into_batch_iter(self, _: &'static str, batching: Batching) -> BatchIter {
        Box::new(RowBatchIter::new(self.into_iter().map(Ok), batching))
    }

    fn declared_schema() -> Option<SchemaRef> {
        Some(T::schema())
    }
}

/// Whether a service of a request declaring rows (`#[flight(rows = T)]`) yields them.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the service's request declares its rows (`#[flight(rows = ..)]`), and this service does not yield them",
    label = "its request declares other rows",
    note = "a request with `#[flight(rows = T)]` is served by a service yielding `T` (a stream or iterator of `T` or `Result<T, E>`); change the rows the service yields, or the request's `rows`"
)]
pub trait Yields<Shape> {}

impl<S> Yields<S> for crate::request::AnyRows {}

impl<T: ArrowRow> Yields<Rows<T>> for crate::request::RowsOf<T> {}

impl<T: ArrowRow> Yields<RowResults<T>> for crate::request::RowsOf<T> {}

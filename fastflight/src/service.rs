//! What a service sees and returns: [`BatchStream`], [`Context`], [`State`], and the
//! adapter that runs blocking services on a thread of their own.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use futures::stream::{BoxStream, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::error::panic_message;
use crate::{BoxError, Error, Result};

/// A stream of record batches, as every service answers.
pub type BatchStream = BoxStream<'static, Result<RecordBatch>>;

/// A boxed iterator of record batches, as blocking services answer.
pub type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch>> + Send + 'static>;

/// What a service may know of its call: request metadata, the peer, and a cancellation signal.
///
/// Take it as a parameter of a `#[data_service]` function:
///
/// ```
/// use fastflight::prelude::*;
/// # #[derive(FlightRequest, Serialize, Deserialize)]
/// # pub struct Who {}
///
/// #[data_service]
/// async fn who(_req: Who, ctx: Context) -> fastflight::Result<BatchStream> {
///     let user = ctx.header("x-user").unwrap_or("anonymous").to_owned();
///     # let _ = user;
///     Ok(futures::stream::empty().boxed())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<ContextInner>,
}

#[derive(Debug)]
struct ContextInner {
    metadata: tonic::metadata::MetadataMap,
    peer: Option<SocketAddr>,
    cancel: CancellationToken,
}

impl Context {
    /// A context with the given metadata and peer, and a fresh cancellation signal.
    pub fn new(metadata: tonic::metadata::MetadataMap, peer: Option<SocketAddr>) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                metadata,
                peer,
                cancel: CancellationToken::new(),
            }),
        }
    }

    /// The request's gRPC metadata (HTTP/2 headers).
    pub fn metadata(&self) -> &tonic::metadata::MetadataMap {
        &self.inner.metadata
    }

    /// One ASCII header value, if present and printable.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.inner.metadata.get(key).and_then(|v| v.to_str().ok())
    }

    /// The caller's address, where the transport knows it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.inner.peer
    }

    /// True once the caller is gone (stream dropped, connection closed, server stopping).
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Completes when the caller is gone.
    pub async fn cancelled(&self) {
        self.inner.cancel.cancelled().await
    }

    /// The cancellation token itself, to hand to other tasks.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.inner.cancel.clone()
    }
}

/// Shared state handed to the server builder with `.state(value)`, taken by a service as a parameter.
///
/// ```
/// use fastflight::prelude::*;
/// # #[derive(FlightRequest, Serialize, Deserialize)]
/// # pub struct Count {}
/// pub struct Settings { pub greeting: String }
///
/// #[data_service]
/// async fn count(_req: Count, settings: State<Settings>) -> fastflight::Result<BatchStream> {
///     let _greeting: &str = &settings.greeting;
///     Ok(futures::stream::empty().boxed())
/// }
///
/// let _server = fastflight::Server::builder().state(Settings { greeting: "hi".into() });
/// ```
pub struct State<T: ?Sized>(pub Arc<T>);

impl<T: ?Sized> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The values given to the server builder, by type.
#[derive(Clone, Default)]
pub struct States {
    map: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl States {
    /// Adds (or replaces) the value of type `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.map.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// Whether a value of this type was given.
    pub fn contains(&self, id: TypeId) -> bool {
        self.map.contains_key(&id)
    }

    /// The value of type `T`, or an error naming the type.
    pub fn get<T: Send + Sync + 'static>(&self) -> Result<State<T>> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|v| Arc::clone(v).downcast::<T>().ok())
            .map(State)
            .ok_or_else(|| {
                Error::Config(format!(
                    "no State<{}> was given to the server builder",
                    std::any::type_name::<T>()
                ))
            })
    }
}

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

/// Ends a stream with [`Error::Panic`] if polling it panics.
pub(crate) fn catch_panics(service: &'static str, stream: BatchStream) -> BatchStream {
    AssertUnwindSafe(stream)
        .catch_unwind()
        .map(move |item| match item {
            Ok(item) => item,
            Err(payload) => Err(Error::Panic {
                service: service.to_owned(),
                message: panic_message(payload.as_ref()),
            }),
        })
        .boxed()
}

/// Where a blocking producer sends its batches.
pub struct Emitter {
    tx: tokio::sync::mpsc::Sender<Result<RecordBatch>>,
}

/// The stream was dropped: the producer should stop and return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

impl Emitter {
    /// Sends one batch, waiting while the reader is two batches behind.
    pub fn send(&self, batch: RecordBatch) -> std::result::Result<(), Stopped> {
        self.tx.blocking_send(Ok(batch)).map_err(|_| Stopped)
    }

    /// True once the stream was dropped.
    pub fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Runs a blocking producer on a blocking thread; its batches reach the stream through
/// a bounded channel, so a slow reader slows the producer.
///
/// The producer returns `Ok(())` when done, or early once [`Emitter::send`] says
/// [`Stopped`]; an `Err` it returns, or a panic in it, ends the stream with that error.
pub fn produce_blocking<F>(service: &'static str, producer: F) -> BatchStream
where
    F: FnOnce(&Emitter) -> Result<()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
    tokio::task::spawn_blocking(move || {
        let emitter = Emitter { tx };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| producer(&emitter)));
        let failure = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(payload) => Error::Panic {
                service: service.to_owned(),
                message: panic_message(payload.as_ref()),
            },
        };
        let _ = emitter.tx.blocking_send(Err(failure));
    });
    tokio_stream::wrappers::ReceiverStream::new(rx).boxed()
}

/// Runs a blocking iterator of batches on a blocking thread (the adapter of
/// `#[data_service(blocking)]`): the producer stops at its next batch once the stream
/// is dropped; a panic in it ends the stream with [`Error::Panic`].
pub fn run_blocking<F>(service: &'static str, producer: F) -> BatchStream
where
    F: FnOnce() -> Result<BatchIter> + Send + 'static,
{
    produce_blocking(service, move |emitter| {
        for batch in producer()? {
            if emitter.send(batch?).is_err() {
                break;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_found_by_type() {
        let mut states = States::default();
        states.insert(41_u32);
        assert_eq!(*states.get::<u32>().unwrap(), 41);
        let e = states.get::<String>().err().unwrap();
        assert!(
            e.to_string().contains("State<alloc::string::String>"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn blocking_producer_panics_become_errors() {
        let mut s = run_blocking("svc", || -> Result<BatchIter> { panic!("boom") });
        let e = s.next().await.unwrap().unwrap_err();
        assert!(
            matches!(&e, Error::Panic { message, .. } if message == "boom"),
            "{e}"
        );
        assert!(s.next().await.is_none());
    }
}

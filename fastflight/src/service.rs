//! What a service sees and returns: [`BatchStream`], the arguments it may take besides
//! its request ([`FromCall`]: [`Context`], [`State`]), and the adapter that runs
//! blocking services on a thread of their own.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use futures::stream::{BoxStream, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

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
/// # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
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
    identity: Option<crate::auth::Identity>,
    cancel: CancellationToken,
}

impl Context {
    /// A context with the given metadata and peer, and a fresh cancellation signal.
    pub fn new(metadata: tonic::metadata::MetadataMap, peer: Option<SocketAddr>) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                metadata,
                peer,
                identity: None,
                cancel: CancellationToken::new(),
            }),
        }
    }

    /// A context of a caller the server authenticated.
    pub(crate) fn of(
        metadata: tonic::metadata::MetadataMap,
        peer: Option<SocketAddr>,
        identity: Option<crate::auth::Identity>,
    ) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                metadata,
                peer,
                identity,
                cancel: CancellationToken::new(),
            }),
        }
    }

    /// The caller, when the server authenticates its callers.
    pub fn identity(&self) -> Option<&crate::auth::Identity> {
        self.inner.identity.as_ref()
    }

    /// Whose fair share the call's resources count toward.
    pub(crate) fn share_key(&self) -> Option<crate::fair::ShareKey> {
        crate::fair::ShareKey::of(self.identity().map(|i| i.name()), self.peer())
    }

    /// The caller, as log lines name it.
    #[cfg_attr(not(feature = "rest"), allow(dead_code))]
    pub(crate) fn who(&self) -> crate::audit::Who<'_> {
        crate::audit::Who {
            peer: self.peer(),
            user: self.identity().map(|i| i.name()),
        }
    }

    /// The caller, as a stream keeps it for its last log line.
    pub(crate) fn caller(&self) -> crate::audit::Caller {
        crate::audit::Caller::new(self.peer(), self.identity().map(|i| i.name()))
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
/// A `State<T>` dereferences to `T`; [`State::shared`] gives the `Arc` itself.
///
/// ```
/// use fastflight::prelude::*;
/// # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
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
pub struct State<T: ?Sized>(Arc<T>);

impl<T: ?Sized> State<T> {
    /// The shared value's `Arc`, to keep beyond the call (an associated function, so
    /// that it never hides a method of `T`).
    pub fn shared(this: &Self) -> Arc<T> {
        Arc::clone(&this.0)
    }
}

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

/// What a service's further arguments are taken from: the call's [`Context`] and the
/// values given to the server builder.
pub struct Call<'a> {
    context: &'a Context,
    states: &'a States,
}

impl<'a> Call<'a> {
    #[doc(hidden)]
    pub fn new(context: &'a Context, states: &'a States) -> Self {
        Self { context, states }
    }

    /// The call's context: metadata, peer, cancellation.
    pub fn context(&self) -> &Context {
        self.context
    }

    /// The value of type `T` given to the server builder, or an error naming the type.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<State<T>> {
        self.states.get::<T>()
    }
}

/// An argument a `#[data_service]` may take after its request: the macro takes each
/// further argument with `FromCall::from_call`, whatever its type is called, so a type
/// of one's own can be an argument too.
///
/// ```
/// use fastflight::prelude::*;
/// use fastflight::{Call, FromCall};
/// # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// # pub struct Report {}
///
/// /// The caller's tenant, from the `x-tenant` header.
/// pub struct Tenant(pub String);
///
/// impl FromCall for Tenant {
///     fn from_call(call: &Call<'_>) -> fastflight::Result<Self> {
///         match call.context().header("x-tenant") {
///             Some(t) => Ok(Tenant(t.to_owned())),
///             None => Err(fastflight::Error::status(tonic::Code::InvalidArgument, "header `x-tenant` is missing")),
///         }
///     }
/// }
///
/// #[data_service]
/// async fn report(_req: Report, tenant: Tenant) -> fastflight::Result<BatchStream> {
///     let _ = tenant.0;
///     Ok(futures::stream::empty().boxed())
/// }
/// # use fastflight::tonic;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a #[data_service]",
    label = "not `FromCall`",
    note = "a #[data_service] takes its request (a FlightRequest) as the first argument; every further argument implements `fastflight::FromCall`, as `Context`, `State<T>` and `Identity` do"
)]
pub trait FromCall: Sized {
    /// The `State<T>` this argument needs from the server builder (type and name),
    /// checked when the server starts.
    fn required_state() -> Option<(TypeId, &'static str)> {
        None
    }

    /// Takes the argument from the call; an `Err` refuses the call with its code.
    fn from_call(call: &Call<'_>) -> Result<Self>;
}

/// The caller, when the server authenticates its callers; `Unauthenticated` otherwise,
/// so a service that takes its caller is never reached anonymously.
impl FromCall for crate::auth::Identity {
    fn from_call(call: &Call<'_>) -> Result<Self> {
        call.context().identity().cloned().ok_or_else(|| {
            crate::auth::unauthenticated(
                "this service needs to know its caller, and this server authenticates nobody (configure an authenticator)",
            )
        })
    }
}

impl FromCall for Context {
    fn from_call(call: &Call<'_>) -> Result<Self> {
        Ok(call.context.clone())
    }
}

impl<T: Send + Sync + 'static> FromCall for State<T> {
    fn required_state() -> Option<(TypeId, &'static str)> {
        Some((TypeId::of::<T>(), std::any::type_name::<T>()))
    }

    fn from_call(call: &Call<'_>) -> Result<Self> {
        call.states.get::<T>()
    }
}

/// The values given to the server builder, by type.
#[doc(hidden)]
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

/// Where a blocking producer sends its batches.
///
/// The producer runs one batch ahead of its reader at most: [`Emitter::send`] returns
/// once the reader has taken the batch, so a stalled reader holds the batch it is
/// sending and the one waiting, and no thread builds more.
pub struct Emitter {
    tx: Sender,
    /// Room for the next batch, taken once the reader took the last one.
    room: std::sync::Mutex<Option<Room>>,
    serving: Serving,
    stalled: Arc<std::sync::atomic::AtomicBool>,
}

type Sender = tokio::sync::mpsc::Sender<Result<RecordBatch>>;
type Room = tokio::sync::mpsc::OwnedPermit<Result<RecordBatch>>;

/// What a blocking producer knows of the call it serves: how long it may wait for its
/// reader, and who the caller is. Set by the dispatch around a service's start.
#[derive(Debug, Clone, Default)]
pub(crate) struct Serving {
    pub(crate) stall_timeout: Option<std::time::Duration>,
    /// The caller's address.
    pub(crate) peer: Option<std::net::IpAddr>,
    /// Whose share the producer's resources count toward.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) caller: Option<crate::fair::ShareKey>,
}

tokio::task_local! {
    static SERVING: Serving;
}

impl Serving {
    /// Runs `future` (a service's start) with this as its serving context.
    pub(crate) fn scope<F: std::future::Future>(
        self,
        future: F,
    ) -> impl std::future::Future<Output = F::Output> {
        SERVING.scope(self, future)
    }

    /// The serving context of the service starting now (none outside a server).
    pub(crate) fn current() -> Self {
        SERVING.try_with(Clone::clone).unwrap_or_default()
    }

    /// Runs `f` (that starts a producer later, outside the service's start) with this as
    /// its serving context, so the producer knows its caller and stall timeout.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        SERVING.sync_scope(self.clone(), f)
    }
}

/// The stream was dropped: the producer should stop and return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

impl Emitter {
    /// Sends one batch, and waits until the reader has taken it. A reader that takes
    /// nothing for the server's `stall_timeout` stops the producer too: its stream then
    /// ends with an error saying so, and the thread is free again.
    pub fn send(&self, batch: RecordBatch) -> std::result::Result<(), Stopped> {
        self.put(Ok(batch))?;
        let room = self.room()?;
        *self.room.lock().unwrap_or_else(|p| p.into_inner()) = Some(room);
        Ok(())
    }

    /// Puts an item in the channel, in the room taken before or in room waited for.
    fn put(&self, item: Result<RecordBatch>) -> std::result::Result<(), Stopped> {
        let room = self.room.lock().unwrap_or_else(|p| p.into_inner()).take();
        let room = match room {
            Some(room) => room,
            None => self.room()?,
        };
        room.send(item);
        Ok(())
    }

    /// Waits for room in the channel: the reader took what was there.
    fn room(&self) -> std::result::Result<Room, Stopped> {
        let wait = self.tx.clone().reserve_owned();
        // The producer runs on a blocking thread of the runtime (`produce_blocking`).
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Stopped)?;
        let Some(limit) = self.serving.stall_timeout else {
            return runtime.block_on(wait).map_err(|_| Stopped);
        };
        match runtime.block_on(tokio::time::timeout(limit, wait)) {
            Ok(room) => room.map_err(|_| Stopped),
            Err(_) => {
                self.stalled
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                Err(Stopped)
            }
        }
    }

    /// Sends one batch from an async producer ([`produce`]), and waits until the reader
    /// has taken it (or [`Stopped`]: the stream was dropped, or its reader stalled past
    /// the server's `stall_timeout`).
    pub async fn send_async(&self, batch: RecordBatch) -> std::result::Result<(), Stopped> {
        let room = self.room.lock().unwrap_or_else(|p| p.into_inner()).take();
        let room = match room {
            Some(room) => room,
            None => self.room_async().await?,
        };
        room.send(Ok(batch));
        let room = self.room_async().await?;
        *self.room.lock().unwrap_or_else(|p| p.into_inner()) = Some(room);
        Ok(())
    }

    async fn room_async(&self) -> std::result::Result<Room, Stopped> {
        let wait = self.tx.clone().reserve_owned();
        let Some(limit) = self.serving.stall_timeout else {
            return wait.await.map_err(|_| Stopped);
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(room) => room.map_err(|_| Stopped),
            Err(_) => {
                self.stalled
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                Err(Stopped)
            }
        }
    }

    /// Completes once the stream is dropped.
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    /// The caller's address, when the call came over the network.
    pub fn peer(&self) -> Option<std::net::IpAddr> {
        self.serving.peer
    }

    /// Whose share of a pool this producer's connection counts toward.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn caller(&self) -> Option<crate::fair::ShareKey> {
        self.serving.caller.clone()
    }

    /// True once the stream was dropped.
    pub fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }

    /// A check of [`Emitter::is_stopped`] to hand to code that runs between sends (an
    /// SQLite progress handler, say). It holds the stream open while it lives: drop it
    /// before the producer returns.
    pub fn stop_signal(&self) -> impl Fn() -> bool + Send + 'static {
        let tx = self.tx.clone();
        move || tx.is_closed()
    }
}

/// Runs a blocking producer on a blocking thread; its batches reach the stream through
/// a channel of one, so a slow reader slows the producer.
///
/// The producer returns `Ok(())` when done, or early once [`Emitter::send`] says
/// [`Stopped`]; an `Err` it returns ends the stream with that error. A panic in it
/// resumes where the stream is polled, once its batches are read, so the service's
/// one panic guard (in the dispatch) reports it.
pub fn produce_blocking<F>(producer: F) -> BatchStream
where
    F: FnOnce(&Emitter) -> Result<()> + Send + 'static,
{
    produced(|emitter| {
        tokio::task::spawn_blocking(move || {
            if let Err(e) = producer(&emitter) {
                let _ = emitter.put(Err(e));
            }
        })
    })
}

/// Runs an async producer as a task of its own, as [`produce_blocking`] runs a blocking
/// one: its batches reach the stream through a channel of one ([`Emitter::send_async`]),
/// and [`Emitter::closed`] tells it at once when the stream is dropped (to cancel a
/// database statement, say).
pub fn produce<F, Fut>(producer: F) -> BatchStream
where
    F: FnOnce(Emitter) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    produced(|emitter| {
        tokio::spawn(async move {
            let tx = emitter.tx.clone();
            if let Err(e) = producer(emitter).await {
                let _ = tx.send(Err(e)).await;
            }
        })
    })
}

/// The stream of a producer `start`ed with its emitter: its batches, then an error when
/// it stalled, a panic resumed where the stream is polled.
fn produced(start: impl FnOnce(Emitter) -> tokio::task::JoinHandle<()>) -> BatchStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(1);
    let serving = Serving::current();
    let stall_timeout = serving.stall_timeout;
    let stalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let task = start(Emitter {
        tx,
        room: std::sync::Mutex::new(None),
        serving,
        stalled: Arc::clone(&stalled),
    });
    let ended = futures::stream::once(async move {
        if let Err(e) = task.await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        // A stream stopped for its reader's stall must not look whole.
        stalled.load(std::sync::atomic::Ordering::SeqCst).then(|| {
            Err(Error::status(
                tonic::Code::DeadlineExceeded,
                format!(
                    "the reader took no batch for {:?} (stall_timeout): the stream was ended",
                    stall_timeout.unwrap_or_default()
                ),
            ))
        })
    })
    .filter_map(futures::future::ready);
    tokio_stream::wrappers::ReceiverStream::new(rx)
        .chain(ended)
        .boxed()
}

/// Runs a blocking iterator of batches on the blocking pool, one batch at a time (the
/// adapter of `#[data_service(blocking)]`): the next batch is made while the last one
/// is sent, and no thread is held between batches, so a stalled reader holds two batches
/// and no thread. The iterator is dropped once the stream is; a panic in it ends the
/// stream with [`Error::Panic`] (resumed where the stream is polled, for the dispatch's
/// guard).
#[doc(hidden)]
pub fn run_blocking<F>(producer: F) -> BatchStream
where
    F: FnOnce() -> Result<BatchIter> + Send + 'static,
{
    /// The iterator, if it goes on, and the item it gave.
    type Step = (Option<BatchIter>, Option<Result<RecordBatch>>);
    fn step(mut batches: BatchIter) -> Step {
        let item = batches.next();
        (Some(batches), item)
    }
    let first = tokio::task::spawn_blocking(move || match producer() {
        Ok(batches) => step(batches),
        Err(e) => (None, Some(Err(e))),
    });
    futures::stream::unfold(Some(first), |pending| async move {
        let (batches, item) = match pending?.await {
            Ok(step) => step,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return None,
        };
        let item = item?;
        // After an error nothing more is made.
        let next = match (&item, batches) {
            (Ok(_), Some(batches)) => Some(tokio::task::spawn_blocking(move || step(batches))),
            _ => None,
        };
        Some((item, next))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

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
    async fn blocking_producer_panics_resume_where_the_stream_is_polled() {
        let s = run_blocking(|| -> Result<BatchIter> { panic!("boom") });
        let polled = std::panic::AssertUnwindSafe(s.collect::<Vec<_>>())
            .catch_unwind()
            .await;
        let payload = polled.expect_err("the panic reaches the poller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    }

    #[tokio::test]
    async fn blocking_producer_errors_end_the_stream() {
        let mut s = produce_blocking(|_| Err(Error::Config("no".into())));
        assert!(s.next().await.unwrap().is_err());
        assert!(s.next().await.is_none());
    }
}

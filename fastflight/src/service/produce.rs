//! The producers' adapters: a blocking or async producer given an [`Emitter`] (one batch
//! ahead of its reader, stopped past the server's `stall_timeout`), and a blocking
//! service's iterator run batch by batch on the blocking pool.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use futures::stream::StreamExt;

use super::{BatchIter, BatchStream};
use crate::{Error, Result};

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

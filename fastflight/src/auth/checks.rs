//! Password checks, bounded: a few threads of their own (about one per core) and a
//! short queue in front of them. A check costs tens of milliseconds of CPU and about
//! 19 MiB (argon2's default parameters); past the queue a check is refused at once
//! (`ResourceExhausted`, naming the limit) instead of taking a thread and its memory,
//! so a flood of wrong passwords costs the server a fixed amount and callers with a
//! token are served meanwhile.

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use tonic::Code;

use crate::{Error, Result};

/// A job of the pool: a check, its answer sent back by itself.
type Job = Box<dyn FnOnce() + Send>;

/// The threads that check passwords, and their queue. Cloning shares them.
#[derive(Clone)]
pub struct PasswordChecks {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: SyncSender<Job>,
    threads: usize,
    queue: usize,
}

impl std::fmt::Debug for PasswordChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChecks")
            .field("threads", &self.inner.threads)
            .field("queue", &self.inner.queue)
            .finish()
    }
}

/// The most threads a pool is given.
const MAX_THREADS: usize = 64;

impl Default for PasswordChecks {
    /// The process's pool, shared by every users file that is given no other: one
    /// thread per two cores (at least one, at most four: the other cores serve data,
    /// and four checks at once hold about 80 MiB, whatever a flood of passwords asks),
    /// and a queue of four checks per thread.
    fn default() -> Self {
        static SHARED: std::sync::OnceLock<PasswordChecks> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| {
                let cores = std::thread::available_parallelism().map_or(2, usize::from);
                let threads = (cores / 2).clamp(1, 4);
                Self::new(threads, 4 * threads)
            })
            .clone()
    }
}

impl PasswordChecks {
    /// A pool of `threads` threads (1 to 64) with room for `queue` checks waiting.
    pub fn new(threads: usize, queue: usize) -> Self {
        let threads = threads.clamp(1, MAX_THREADS);
        let (jobs, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("fastflight-password-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A check that panics answers nothing (its caller hears so);
                            // the thread goes on.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            // Every sender is gone: the pool was dropped.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start a password-check thread");
            }
        }
        Self {
            inner: Arc::new(Inner {
                jobs,
                threads,
                queue,
            }),
        }
    }

    /// The threads checking passwords.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// The checks that may wait for a thread.
    pub fn queue(&self) -> usize {
        self.inner.queue
    }

    /// Runs `check` on one of the pool's threads; `ResourceExhausted` at once when every
    /// thread is busy and the queue is full.
    ///
    /// ```
    /// # async fn run() -> fastflight::Result<()> {
    /// let checks = fastflight::auth::PasswordChecks::new(1, 2);
    /// assert!(checks.run(|| "pa55" == "pa55").await?);
    /// # Ok(()) }
    /// ```
    pub async fn run(&self, check: impl FnOnce() -> bool + Send + 'static) -> Result<bool> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(check());
        });
        match self.inner.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(crate::error::refusal(
                    Code::ResourceExhausted,
                    crate::wire::Fault::Server,
                    format!(
                        "the server is checking as many passwords as it may ({} at once, {} waiting); log in again shortly, or use the token of a Handshake",
                        self.inner.threads, self.inner.queue
                    ),
                ))
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::status(
                    Code::Unavailable,
                    "the server cannot check passwords: its threads are gone",
                ))
            }
        }
        rx.await
            .map_err(|_| Error::status(Code::Internal, "a password check ended without an answer"))
    }
}

/// Gives the calling thread a lower scheduling priority (nice 10, on Linux), so that
/// while passwords are checked on every core the threads serving data come first.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid` has no preconditions; `setpriority` on this thread's id changes
    // only this thread's nice value, and its failure is harmless.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn checks_beyond_the_threads_and_the_queue_are_refused_at_once() {
        let checks = PasswordChecks::new(1, 1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let slow = |hold: Arc<Mutex<std::sync::mpsc::Receiver<()>>>| {
            move || {
                let _ = hold.lock().unwrap().recv_timeout(Duration::from_secs(10));
                true
            }
        };
        // One runs, one waits; the third finds no room.
        let running = tokio::spawn({
            let checks = checks.clone();
            let check = slow(Arc::clone(&hold));
            async move { checks.run(check).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let waiting = tokio::spawn({
            let checks = checks.clone();
            let check = slow(Arc::clone(&hold));
            async move { checks.run(check).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let e = checks.run(|| true).await.unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
        assert!(e.to_string().contains("1 at once, 1 waiting"), "{e}");
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert!(running.await.unwrap().unwrap());
        assert!(waiting.await.unwrap().unwrap());
        // Room again.
        assert!(!checks.run(|| false).await.unwrap());
    }
}

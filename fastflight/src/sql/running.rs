//! The statements being read, so that `CancelFlightInfo` can stop them: each DoGet of
//! a statement registers its run (a key of its caller and its ticket) for as long as
//! it streams, and a cancelled key is remembered a while, so that a ticket cancelled
//! before it is read is refused when it is.
//!
//! Bounded: a run is registered only while its stream is open (the streams in flight
//! are bounded by the server's limits), and at most [`MAX_CANCELLED`] cancelled keys
//! are remembered, each for [`CANCELLED_FOR`]. A key is a keyed hash of the caller
//! (its user, else its address) and the ticket: a caller can cancel only its own
//! statements, and a ticket names one execution (each GetFlightInfo makes a new one).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// The most cancelled keys remembered; the oldest is forgotten first.
pub const MAX_CANCELLED: usize = 1024;

/// How long a cancelled ticket stays refused.
pub const CANCELLED_FOR: Duration = Duration::from_secs(600);

/// Who runs which statement.
#[derive(Default)]
pub struct Running {
    hasher: RandomState,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    runs: HashMap<u64, Vec<(u64, CancellationToken)>>,
    cancelled: VecDeque<(u64, Instant)>,
}

/// A run's key: its caller and its ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(u64);

/// A run registered while it lives; dropping it forgets the run.
pub struct Run {
    running: Arc<Running>,
    key: Key,
    id: u64,
    token: CancellationToken,
}

impl Run {
    /// Cancelled when the statement is.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let mut inner = self.running.lock();
        if let Some(runs) = inner.runs.get_mut(&self.key.0) {
            runs.retain(|(id, _)| *id != self.id);
            if runs.is_empty() {
                inner.runs.remove(&self.key.0);
            }
        }
    }
}

impl Running {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of `ticket` read by `owner`.
    pub fn key(&self, owner: &str, ticket: &[u8]) -> Key {
        let mut hasher = self.hasher.build_hasher();
        owner.hash(&mut hasher);
        ticket.hash(&mut hasher);
        Key(hasher.finish())
    }

    /// Registers a run of `key`; `None` when `key` was cancelled (within
    /// [`CANCELLED_FOR`]).
    pub fn start(self: &Arc<Self>, key: Key) -> Option<Run> {
        let mut inner = self.lock();
        let now = Instant::now();
        inner
            .cancelled
            .retain(|(_, at)| now.duration_since(*at) < CANCELLED_FOR);
        if inner.cancelled.iter().any(|(k, _)| *k == key.0) {
            return None;
        }
        inner.next += 1;
        let id = inner.next;
        let token = CancellationToken::new();
        inner
            .runs
            .entry(key.0)
            .or_default()
            .push((id, token.clone()));
        Some(Run {
            running: self.clone(),
            key,
            id,
            token,
        })
    }

    /// Cancels every run of `key`, and refuses its later ones; how many were running.
    pub fn cancel(&self, key: Key) -> usize {
        let mut inner = self.lock();
        if inner.cancelled.len() >= MAX_CANCELLED {
            inner.cancelled.pop_front();
        }
        if !inner.cancelled.iter().any(|(k, _)| *k == key.0) {
            inner.cancelled.push_back((key.0, Instant::now()));
        }
        let runs = inner.runs.remove(&key.0).unwrap_or_default();
        for (_, token) in &runs {
            token.cancel();
        }
        runs.len()
    }

    /// How many runs are registered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().runs.values().map(Vec::len).sum()
    }

    /// Whether no run is registered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_cancelled_by_its_key_and_a_cancelled_key_is_refused_later() {
        let running = Arc::new(Running::default());
        let key = running.key("ann", b"ticket");
        let run = running.start(key).expect("not cancelled");
        assert_eq!(running.len(), 1);
        assert_eq!(
            running.cancel(running.key("bob", b"ticket")),
            0,
            "another caller's key"
        );
        assert!(!run.token().is_cancelled());
        assert_eq!(running.cancel(key), 1);
        assert!(run.token().is_cancelled());
        assert!(running.start(key).is_none(), "refused once cancelled");
        drop(run);
        assert!(running.is_empty());
        assert!(running.start(running.key("ann", b"other")).is_some());
    }

    #[test]
    fn the_cancelled_keys_are_bounded() {
        let running = Arc::new(Running::default());
        let first = running.key("ann", b"0");
        running.cancel(first);
        for i in 1..=MAX_CANCELLED {
            running.cancel(running.key("ann", i.to_string().as_bytes()));
        }
        assert_eq!(running.lock().cancelled.len(), MAX_CANCELLED);
        assert!(running.start(first).is_some(), "the oldest is forgotten");
        let last = running.key("ann", MAX_CANCELLED.to_string().as_bytes());
        assert!(running.start(last).is_none());
    }
}

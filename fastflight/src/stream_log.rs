//! One log line per result stream (request, rows, bytes, duration, outcome), for the
//! Flight server and the HTTP gateway alike.

use std::fmt::Display;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use futures::{Stream, StreamExt, TryStreamExt};
use tokio_util::sync::DropGuard;

use crate::service::BatchStream;

/// Counts the rows of a batch stream as they pass.
pub(crate) fn count_rows(batches: BatchStream) -> (BatchStream, Arc<AtomicU64>) {
    let rows = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&rows);
    let batches = batches
        .inspect_ok(move |batch| {
            counter.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        })
        .boxed();
    (batches, rows)
}

/// An encoded result stream that logs its figures when it ends or is dropped, and
/// cancels the service's context when dropped.
pub(crate) struct Logged<S, T> {
    inner: S,
    route: &'static str,
    request: String,
    started: Instant,
    rows: Arc<AtomicU64>,
    bytes: u64,
    size: fn(&T) -> usize,
    outcome: Option<String>,
    _cancel_on_drop: DropGuard,
}

impl<S, T> Logged<S, T> {
    pub(crate) fn new(
        inner: S,
        route: &'static str,
        request: impl Into<String>,
        rows: Arc<AtomicU64>,
        size: fn(&T) -> usize,
        cancel_on_drop: DropGuard,
    ) -> Self {
        Self {
            inner,
            route,
            request: request.into(),
            started: Instant::now(),
            rows,
            bytes: 0,
            size,
            outcome: None,
            _cancel_on_drop: cancel_on_drop,
        }
    }
}

impl<S, T, E> Stream for Logged<S, T>
where
    S: Stream<Item = Result<T, E>> + Unpin,
    E: Display,
{
    type Item = Result<T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(item))) => {
                let size = (self.size)(item) as u64;
                self.bytes += size;
            }
            Poll::Ready(Some(Err(e))) => self.outcome = Some(format!("error: {e}")),
            Poll::Ready(None) => {
                if self.outcome.is_none() {
                    self.outcome = Some("complete".to_owned());
                }
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl<S, T> Drop for Logged<S, T> {
    fn drop(&mut self) {
        let outcome = self.outcome.as_deref().unwrap_or("cancelled by the client");
        tracing::info!(
            route = self.route,
            request = %self.request,
            rows = self.rows.load(Ordering::Relaxed),
            bytes = self.bytes,
            duration_ms = self.started.elapsed().as_millis() as u64,
            outcome,
            "stream ended"
        );
    }
}

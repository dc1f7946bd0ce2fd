//! The one path of a request, for every route (Flight DoGet, GetFlightInfo, GetSchema,
//! the gateway's in-process source):
//!
//! a slot among the streams in flight (`max_concurrency`, at most `max_streams_per_peer`
//! of them for one peer) → ticket bytes →
//! [`ticket::decode`] → [`Registry`] lookup → the typed request (deserialised, errors
//! naming the field, then validated) → invoke (take the further arguments, start the
//! handler) → a guarded stream: one panic guard, the schema check, the deadline
//! (`request_timeout`, or the caller's `grpc-timeout` when sooner), and the accounting
//! that logs one line per stream.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use futures::{FutureExt, Stream, StreamExt};
use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::DropGuard;

use crate::audit::{logged, refused, Caller};
use crate::auth::Auth;
use crate::fair::{Share, Shares};
use crate::limits::Limits;
use crate::registry::{Registry, ServiceEntry};
use crate::service::{BatchStream, Context, Serving, States};
use crate::{ticket, Error, Result};

/// A running result: its schema, known before the first batch, and its batches.
pub(crate) struct ResultStream {
    /// The schema every batch has.
    pub(crate) schema: SchemaRef,
    /// The batches.
    pub(crate) batches: BatchStream,
}

/// The most parts (endpoints) one request is split into.
pub(crate) const MAX_PARTITIONS: usize = 1024;

/// A request as GetFlightInfo describes it.
pub(crate) struct Plan {
    /// The result's schema, when it was asked for.
    pub(crate) schema: Option<SchemaRef>,
    /// The tickets of its parts, one per endpoint.
    pub(crate) parts: Vec<bytes::Bytes>,
    /// Whether the parts are read in order.
    pub(crate) ordered: bool,
}

/// A stream's place among those in flight, and in its peer's share; freed when dropped.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    _share: Option<Share>,
}

/// The services a server serves and the values their arguments are taken from.
#[derive(Clone)]
pub(crate) struct Dispatcher {
    registry: Arc<Registry>,
    states: Arc<States>,
    slots: Arc<Semaphore>,
    shares: Arc<Shares>,
    auth: Arc<Auth>,
    limits: Limits,
    draining: Arc<std::sync::atomic::AtomicBool>,
}

impl Dispatcher {
    pub(crate) fn new(registry: Registry, states: States, limits: Limits, auth: Auth) -> Self {
        Self {
            registry: Arc::new(registry),
            states: Arc::new(states),
            slots: Arc::new(Semaphore::new(limits.max_concurrency)),
            shares: Shares::new(limits.max_streams_per_peer),
            auth: Arc::new(auth),
            limits,
            draining: Arc::default(),
        }
    }

    /// Marks the server as shutting down: not ready for new work.
    pub(crate) fn drain(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether new work is welcome, or why not.
    pub(crate) fn readiness(&self) -> std::result::Result<(), String> {
        if self.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("the server is shutting down".to_owned());
        }
        if self.slots.available_permits() == 0 {
            return Err(self.saturated());
        }
        Ok(())
    }

    /// What a request hears when every slot is taken.
    fn saturated(&self) -> String {
        format!(
            "the server is at its limit of {} streams in flight (max_concurrency)",
            self.limits.max_concurrency
        )
    }

    /// The limits it holds requests to, within their bounds.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The largest request message accepted, on every route.
    pub(crate) fn max_request_bytes(&self) -> usize {
        self.limits.max_request_bytes
    }

    /// The streams in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.limits.max_concurrency - self.slots.available_permits()
    }

    /// A slot among the streams in flight, within the caller's share (its identity's,
    /// else its address's), waiting a moment for one to free up.
    async fn slot(&self, ctx: &Context) -> Result<Slot> {
        let key = ctx.share_key();
        let share = self.shares.take(key.clone()).map_err(|held| {
            crate::error::refusal(
                tonic::Code::ResourceExhausted,
                crate::wire::Fault::Caller,
                format!(
                    "this client ({}) has {held} streams in flight, its share of the server (max_streams_per_peer = {}); try again when one ends",
                    key.map(|k| k.to_string()).unwrap_or_default(),
                    self.shares.per_peer()
                ),
            )
        })?;
        let wait = tokio::time::timeout(
            self.limits.queue_wait,
            Arc::clone(&self.slots).acquire_owned(),
        );
        match wait.await {
            Ok(Ok(permit)) => Ok(Slot {
                _permit: permit,
                _share: share,
            }),
            _ => Err(crate::error::refusal(
                tonic::Code::ResourceExhausted,
                crate::wire::Fault::Server,
                format!("{}; try again later", self.saturated()),
            )),
        }
    }

    /// What a blocking producer started for `ctx` knows of its call.
    fn serving(&self, ctx: &Context) -> Serving {
        Serving {
            stall_timeout: self.limits.stall_timeout,
            peer: ctx.peer().map(|p| p.ip()),
            caller: ctx.share_key(),
        }
    }

    /// The deadline of a call: the server's `request_timeout`, or the caller's
    /// `grpc-timeout` when that is sooner.
    fn deadline(&self, ctx: &Context) -> Option<(Duration, &'static str)> {
        let asked = ctx
            .header(crate::wire::GRPC_TIMEOUT)
            .and_then(crate::wire::parse_grpc_timeout)
            .map(|d| (d, "the caller's grpc-timeout"));
        let own = self.limits.request_timeout.map(|d| (d, "request_timeout"));
        match (asked, own) {
            (Some(a), Some(o)) => Some(if a.0 < o.0 { a } else { o }),
            (a, o) => a.or(o),
        }
    }

    /// How callers are known.
    pub(crate) fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The services served.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Decode → lookup → invoke → guarded stream. The stream logs its figures on
    /// `route` when it ends or is dropped, and cancels `ctx` when dropped.
    pub(crate) async fn open(
        &self,
        ticket: &[u8],
        ctx: Context,
        route: &'static str,
    ) -> Result<ResultStream> {
        let cancel_on_drop = ctx.cancellation_token().drop_guard();
        let deadline = self.deadline(&ctx);
        let started = Instant::now();
        let caller = ctx.caller();
        let opened = async {
            let slot = self.slot(&ctx).await?;
            let (entry, fields) = self.resolve(ticket)?;
            let serving = self.serving(&ctx);
            let started =
                serving.scope(start(entry, fields, ctx, &self.states, self.auth.enabled()));
            let (schema, batches) = within(deadline, started).await?;
            Ok::<_, Error>((entry, schema, batches, slot))
        }
        .await;
        let (entry, schema, batches, slot) =
            opened.inspect_err(|e| refused(route, e, caller.who()))?;
        let batches = match deadline {
            Some((limit, which)) => timed(
                batches,
                (started + limit).into(),
                deadline_exceeded(limit, which),
            ),
            None => batches,
        };
        Ok(ResultStream {
            schema,
            batches: accounted(
                route,
                entry.name(),
                batches,
                cancel_on_drop,
                Some(slot),
                caller,
            ),
        })
    }

    /// The result schema of a request: the declared one after decoding and validating
    /// the request (the service does not run); without a declared schema, that of the
    /// first batch when `may_run`, else `FailedPrecondition`.
    pub(crate) async fn schema(
        &self,
        ticket: &[u8],
        ctx: Context,
        may_run: bool,
    ) -> Result<SchemaRef> {
        let (entry, fields) = self.resolve(ticket)?;
        self.schema_of(entry, fields, ctx, may_run).await
    }

    /// [`Dispatcher::schema`] of a resolved request.
    async fn schema_of(
        &self,
        entry: &'static ServiceEntry,
        fields: Map<String, Value>,
        ctx: Context,
        may_run: bool,
    ) -> Result<SchemaRef> {
        let _cancel_on_drop = ctx.cancellation_token().drop_guard();
        let deadline = self.deadline(&ctx);
        if let Some(schema) = (entry.schema)() {
            let request = ((entry.request)().decode)(fields)?;
            entry.admit(ctx.identity(), &request, self.auth.enabled())?;
            return Ok(schema);
        }
        if !may_run {
            return Err(Error::status(
                tonic::Code::FailedPrecondition,
                format!(
                    "service `{}` for `{}` declares no schema (add #[data_service(schema = fn_returning_schema)]); GetFlightInfo returns the schema of its first batch instead",
                    entry.handler,
                    entry.name()
                ),
            ));
        }
        let _slot = self.slot(&ctx).await?;
        let serving = self.serving(&ctx);
        Ok(within(
            deadline,
            serving.scope(start(entry, fields, ctx, &self.states, self.auth.enabled())),
        )
        .await?
        .0)
    }

    /// What GetFlightInfo answers: the result's schema (as [`Dispatcher::schema`] gives
    /// it; only when `schema`, so the `endpoints` action runs no service) and the tickets
    /// of the request's parts, one per endpoint: those of the service's `partitions`
    /// function, or the request itself.
    pub(crate) async fn plan(&self, ticket: &[u8], ctx: Context, schema: bool) -> Result<Plan> {
        let (entry, fields) = self.resolve(ticket)?;
        let Some(split) = entry.partitions else {
            let schema = if schema {
                Some(self.schema_of(entry, fields, ctx, true).await?)
            } else {
                let request = ((entry.request)().decode)(fields)?;
                entry.admit(ctx.identity(), &request, self.auth.enabled())?;
                None
            };
            return Ok(Plan {
                schema,
                parts: vec![bytes::Bytes::copy_from_slice(ticket)],
                ordered: entry.ordered,
            });
        };
        let request = ((entry.request)().decode)(fields.clone())?;
        entry.admit(ctx.identity(), &request, self.auth.enabled())?;
        let parts = split(&request)?;
        if parts.len() > MAX_PARTITIONS {
            return Err(Error::status(
                tonic::Code::ResourceExhausted,
                format!(
                    "`{}` splits this request into {} parts; at most {MAX_PARTITIONS} are served",
                    entry.name(),
                    parts.len()
                ),
            ));
        }
        let schema = match (schema, (entry.schema)()) {
            (false, _) => None,
            (true, Some(schema)) => Some(schema),
            (true, None) => Some(self.schema_of(entry, fields, ctx, true).await?),
        };
        Ok(Plan {
            schema,
            parts,
            ordered: entry.ordered,
        })
    }

    /// Decode → lookup: the service of a ticket, and the request's fields.
    fn resolve(&self, ticket: &[u8]) -> Result<(&'static ServiceEntry, Map<String, Value>)> {
        let raw = ticket::decode(ticket)?;
        Ok((self.registry.lookup(&raw.param_type)?, raw.fields))
    }
}

/// The error of a call past its deadline.
fn deadline_exceeded(limit: Duration, which: &str) -> Error {
    Error::status(
        tonic::Code::DeadlineExceeded,
        format!("the call ran past its deadline of {limit:?} ({which})"),
    )
}

/// A future held to a deadline.
async fn within<T>(
    deadline: Option<(Duration, &'static str)>,
    future: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match deadline {
        Some((limit, which)) => tokio::time::timeout(limit, future)
            .await
            .map_err(|_| deadline_exceeded(limit, which))?,
        None => future.await,
    }
}

/// A stream that ends with `error` at `at`, if it has not ended by then.
fn timed(batches: BatchStream, at: tokio::time::Instant, error: Error) -> BatchStream {
    let deadline = Box::pin(tokio::time::sleep_until(at));
    futures::stream::unfold(Some((batches, deadline, error)), |state| async move {
        let (mut batches, mut deadline, error) = state?;
        tokio::select! {
            biased;
            item = batches.next() => {
                let item = item?;
                Some((item, Some((batches, deadline, error))))
            }
            () = &mut deadline => Some((Err(error), None)),
        }
    })
    .boxed()
}

/// Invoke → guarded stream: runs the handler under the panic guard, then awaits the
/// first batch unless a schema is declared, so the schema is known before any batch; a
/// result of zero rows gets the declared schema, or an empty one.
async fn start(
    entry: &'static ServiceEntry,
    fields: Map<String, Value>,
    ctx: Context,
    states: &States,
    authenticating: bool,
) -> Result<(SchemaRef, BatchStream)> {
    let panicked = |payload: Box<dyn std::any::Any + Send>| Error::Panic {
        service: entry.handler.to_owned(),
        message: panic_message(payload.as_ref()),
    };
    let request = ((entry.request)().decode)(fields)?;
    entry.admit(ctx.identity(), &request, authenticating)?;
    let invoked =
        std::panic::catch_unwind(AssertUnwindSafe(|| (entry.invoke)(request, ctx, states)))
            .map_err(panicked)??;
    let batches = AssertUnwindSafe(invoked)
        .catch_unwind()
        .await
        .map_err(panicked)??;
    let mut batches = guarded(entry.handler, batches);
    if let Some(schema) = (entry.schema)() {
        return Ok((Arc::clone(&schema), checked(entry.handler, schema, batches)));
    }
    match batches.next().await {
        None => Ok((Arc::new(Schema::empty()), futures::stream::empty().boxed())),
        Some(Err(e)) => Err(e),
        Some(Ok(first)) => {
            let schema = first.schema();
            let rest = checked(entry.handler, Arc::clone(&schema), batches);
            Ok((
                schema,
                futures::stream::once(async { Ok(first) })
                    .chain(rest)
                    .boxed(),
            ))
        }
    }
}

/// The one panic guard of a result stream: a panic while polling it (in the service,
/// or resumed from a blocking producer) ends the stream with [`Error::Panic`].
fn guarded(service: &'static str, stream: BatchStream) -> BatchStream {
    let mut done = false;
    AssertUnwindSafe(stream)
        .catch_unwind()
        .map(move |item| match item {
            Ok(item) => item,
            Err(payload) => Err(Error::Panic {
                service: service.to_owned(),
                message: panic_message(payload.as_ref()),
            }),
        })
        .take_while(move |item| {
            // Nothing is polled after a panic.
            let keep = !done;
            done = done || matches!(item, Err(Error::Panic { .. }));
            futures::future::ready(keep)
        })
        .boxed()
}

/// Ends the stream with an error at the first batch whose schema is not the stream's.
fn checked(service: &'static str, schema: SchemaRef, batches: BatchStream) -> BatchStream {
    batches
        .map(move |item| match item {
            Ok(batch) if !Arc::ptr_eq(&batch.schema(), &schema) && *batch.schema() != *schema => {
                Err(Error::Service {
                    service: service.to_owned(),
                    source: format!(
                        "a batch has schema {:?}, but the stream's schema is {:?}",
                        batch.schema(),
                        schema
                    )
                    .into(),
                })
            }
            other => other,
        })
        .boxed()
}

/// What the accounting of a stream reads from each item: its rows and bytes.
pub(crate) trait Measured {
    fn rows(&self) -> u64;
    fn bytes(&self) -> u64;
}

impl Measured for RecordBatch {
    fn rows(&self) -> u64 {
        self.num_rows() as u64
    }
    fn bytes(&self) -> u64 {
        self.get_array_memory_size() as u64
    }
}

#[cfg(feature = "rest")]
impl Measured for arrow_flight::FlightData {
    fn rows(&self) -> u64 {
        arrow::ipc::root_as_message(&self.data_header)
            .ok()
            .and_then(|m| m.header_as_record_batch())
            .map_or(0, |b| u64::try_from(b.length()).unwrap_or(0))
    }
    fn bytes(&self) -> u64 {
        self.data_body.len() as u64
    }
}

/// A result stream with its accounting: rows and bytes (of the batches' Arrow buffers,
/// or of the messages' bodies) as they pass, one log line when it ends or is dropped,
/// and the call's context cancelled when dropped. The gateway's proxy source accounts
/// its streams here too.
pub(crate) fn accounted<T: Measured + Send + 'static>(
    route: &'static str,
    request: &str,
    items: futures::stream::BoxStream<'static, Result<T>>,
    cancel_on_drop: DropGuard,
    slot: Option<Slot>,
    caller: Caller,
) -> futures::stream::BoxStream<'static, Result<T>> {
    let request = crate::error::clip(request);
    metrics::counter!("fastflight_streams_started_total", "route" => route, "service" => request.clone())
        .increment(1);
    metrics::gauge!("fastflight_streams_in_flight", "route" => route, "service" => request.clone())
        .increment(1.0);
    Accounted {
        _slot: slot,
        inner: items,
        route,
        request,
        started: Instant::now(),
        rows: 0,
        bytes: 0,
        outcome: None,
        _cancel_on_drop: cancel_on_drop,
        caller,
    }
    .boxed()
}

struct Accounted<T> {
    /// The stream's slot among those in flight, freed when the stream is dropped.
    _slot: Option<Slot>,
    inner: futures::stream::BoxStream<'static, Result<T>>,
    route: &'static str,
    request: String,
    started: Instant,
    rows: u64,
    bytes: u64,
    outcome: Option<String>,
    _cancel_on_drop: DropGuard,
    caller: Caller,
}

impl<T: Measured> Stream for Accounted<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(item))) => {
                self.rows += item.rows();
                self.bytes += item.bytes();
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

impl<T> Drop for Accounted<T> {
    fn drop(&mut self) {
        let outcome = self.outcome.as_deref().unwrap_or("cancelled by the client");
        let (route, service) = (self.route, self.request.clone());
        let ended = match outcome {
            "complete" => "complete",
            "cancelled by the client" => "cancelled",
            _ => "error",
        };
        metrics::gauge!("fastflight_streams_in_flight", "route" => route, "service" => service.clone())
            .decrement(1.0);
        metrics::counter!("fastflight_rows_sent_total", "route" => route, "service" => service.clone())
            .increment(self.rows);
        metrics::counter!("fastflight_bytes_sent_total", "route" => route, "service" => service.clone())
            .increment(self.bytes);
        metrics::histogram!(
            "fastflight_stream_duration_seconds",
            "route" => route,
            "service" => service,
            "outcome" => ended
        )
        .record(self.started.elapsed().as_secs_f64());
        tracing::info!(
            route = self.route,
            request = %self.request,
            peer = %logged(self.caller.peer()),
            user = %logged(self.caller.user()),
            rows = self.rows,
            bytes = self.bytes,
            duration_ms = self.started.elapsed().as_millis() as u64,
            outcome,
            "stream ended"
        );
    }
}

/// Text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_owned()
    }
}

//! The HTTP gateway (feature `rest`): `POST {prefix}/stream` with the ticket JSON as body
//! streams the result as an Arrow IPC stream, CSV or NDJSON, batch by batch.
//!
//! Two modes: in-process ([`Source::local`], the registry is called directly) and proxy
//! ([`Source::remote`], requests are forwarded to a Flight server through [`Client`]).
//!
//! ```no_run
//! # async fn run() -> fastflight::Result<()> {
//! use fastflight::rest::{Gateway, Source};
//!
//! let flight = fastflight::Server::builder().location("grpc://127.0.0.1:8815").bind().await?;
//! let gateway = Gateway::new(Source::local(&flight)).bind("127.0.0.1:8000").await?;
//! println!("POST {}/stream", gateway.url());
//! tokio::spawn(flight.serve());
//! gateway.serve().await
//! # }
//! ```
//!
//! ```sh
//! curl -s -X POST http://127.0.0.1:8000/fastflight/stream -H 'Accept: text/csv' \
//!      -d '{"param_type": "fastflight.demo.SyntheticParams", "rows": 5}'
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use serde_json::json;

use crate::dispatch::{self, Dispatcher, ResultStream};
use crate::format::{self, BatchWriter, ChunkSink, Format};
use crate::listing::ServiceInfo;
use crate::service::Context;
use crate::{Client, Error, Result};

/// The default route prefix, as the Python package has it.
pub const DEFAULT_PREFIX: &str = "/fastflight";

/// Where the gateway gets its results: the services of this process, or a Flight
/// server elsewhere.
#[derive(Clone)]
pub struct Source(Origin);

#[derive(Clone)]
enum Origin {
    Local(Dispatcher),
    Remote(Box<Client>),
}

impl Source {
    /// The services of a bound server of this process (same registry, same state),
    /// called directly through the same dispatch as its Flight routes.
    pub fn local(server: &crate::BoundServer) -> Self {
        Source(Origin::Local(server.dispatcher()))
    }

    /// A remote Flight server at `grpc://host:port` (or `grpc+tls://`, trusting the
    /// public roots), reached through [`Client`].
    pub async fn remote(location: &str) -> Result<Self> {
        Ok(Self::client(Client::connect(location).await?))
    }

    /// A remote Flight server reached through a client made elsewhere (with its own TLS
    /// settings); the callers' `authorization` headers are forwarded with each call.
    pub fn client(client: Client) -> Self {
        Source(Origin::Remote(Box::new(client)))
    }

    async fn open(&self, body: &[u8], ctx: Context) -> Result<ResultStream> {
        match &self.0 {
            Origin::Local(dispatcher) => dispatcher.open(body, ctx, "http").await,
            Origin::Remote(client) => {
                let cancel_on_drop = ctx.cancellation_token().drop_guard();
                let who = ctx.who();
                // Refuse what is not a ticket here, with the same errors, before any hop.
                let name = crate::ticket::decode(body)
                    .inspect_err(|e| crate::audit::refused("http", e, who))?
                    .param_type;
                let stream = as_caller(client, ctx.header(crate::auth::AUTHORIZATION), ctx.peer())?
                    .fetch_ticket(Bytes::copy_from_slice(body))
                    .await
                    .inspect_err(|e| crate::audit::refused("http", e, who))?;
                Ok(ResultStream {
                    schema: stream.schema(),
                    batches: dispatch::accounted(
                        "http",
                        &name,
                        stream.boxed(),
                        cancel_on_drop,
                        None,
                        ctx.caller(),
                    ),
                })
            }
        }
    }

    /// The services listed for a caller: in-process, those its identity may see; in
    /// proxy mode, what the Flight server lists for its `authorization` header.
    async fn services(
        &self,
        who: Option<&crate::auth::Identity>,
        authorization: Option<&str>,
        caller: Option<SocketAddr>,
    ) -> Result<Vec<ServiceInfo>> {
        match &self.0 {
            Origin::Local(dispatcher) => Ok(dispatcher.registry().services_for(who)),
            Origin::Remote(client) => {
                as_caller(client, authorization, caller)?
                    .list_services()
                    .await
            }
        }
    }
}

/// The proxy's client with the caller's credentials, which its Flight server checks,
/// and the caller's address in `x-forwarded-for` (believed by a Flight server that
/// trusts this gateway: `--trusted-proxies`).
fn as_caller(
    client: &Client,
    authorization: Option<&str>,
    caller: Option<SocketAddr>,
) -> Result<Client> {
    let mut client = client.clone();
    if let Some(value) = authorization {
        client = client.with_header(crate::auth::AUTHORIZATION, value)?;
    }
    if let Some(caller) = caller {
        client = client.with_header(crate::proxies::FORWARDED_FOR, &caller.ip().to_string())?;
    }
    Ok(client)
}

/// The `authorization` header of a gateway request.
fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The gateway: routes over a [`Source`].
#[derive(Clone)]
pub struct Gateway {
    source: Source,
    prefix: String,
    max_body_bytes: usize,
    header_read_timeout: Duration,
    idle_timeout: Option<Duration>,
    shutdown_delay: Duration,
    trusted_proxies: Vec<String>,
    tls: Option<crate::tls::ServerTls>,
    /// Set once the gateway is asked to stop: not ready.
    draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How long the gateway waits for a request's headers, and for the next request on a
/// kept-alive connection, before it closes the connection.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

impl Gateway {
    /// A gateway with the default prefix `/fastflight`, taking request bodies of at most
    /// [`crate::server::DEFAULT_MAX_REQUEST_BYTES`] (in-process: the server's own limit).
    pub fn new(source: Source) -> Self {
        // Install the recorder now, so that every stream from here on is counted.
        let _ = prometheus();
        let max_body_bytes = match &source.0 {
            Origin::Local(dispatcher) => dispatcher.max_request_bytes(),
            Origin::Remote(_) => crate::server::DEFAULT_MAX_REQUEST_BYTES,
        };
        Self {
            source,
            prefix: DEFAULT_PREFIX.to_owned(),
            max_body_bytes,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: Some(crate::server::DEFAULT_IDLE_TIMEOUT),
            shutdown_delay: crate::server::DEFAULT_SHUTDOWN_DELAY,
            trusted_proxies: Vec::new(),
            tls: None,
            draining: std::sync::Arc::default(),
        }
    }

    /// The proxies in front of the gateway (addresses, or networks as `10.0.0.0/8`)
    /// whose `x-forwarded-for` names the caller (see
    /// [`crate::ServerBuilder::trusted_proxies`]); in proxy mode the gateway names its
    /// caller to its Flight server the same way.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.trusted_proxies = proxies.into_iter().map(Into::into).collect();
        self
    }

    /// How long the gateway goes on serving after it is asked to stop, `/health/ready`
    /// answering 503 at once, before it stops accepting connections (see
    /// [`crate::ServerBuilder::shutdown_delay`]).
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.shutdown_delay = delay;
        self
    }

    /// How long a connection with no request open is kept, from its accept on (`None`:
    /// for ever): a connection that sends nothing is closed as the Flight server closes
    /// its idle ones.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Serves HTTPS with this certificate (and client certificates of its CA, optional).
    pub fn tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The largest request body accepted; a larger one is refused with 413 naming the limit.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes.max(1);
        self
    }

    /// The route prefix (`/fastflight`); `""` or `/` mounts the routes at the root.
    pub fn prefix(mut self, prefix: &str) -> Self {
        let trimmed = prefix.trim_end_matches('/');
        self.prefix = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// How long a connection may take to send a request's headers, and stay idle between
    /// requests, before it is closed (slow or idle peers are let go).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The axum router, to serve or to nest in an application of one's own.
    pub fn router(self) -> Router {
        let prefix = self.prefix.clone();
        let limit = axum::extract::DefaultBodyLimit::max(self.max_body_bytes);
        let guarded = Router::new()
            .route(&format!("{prefix}/stream"), post(stream).layer(limit))
            .route(
                &format!("{prefix}/registered_data_types"),
                get(registered_data_types),
            )
            .route(&format!("{prefix}/services"), get(services))
            .route("/metrics", get(metrics_text))
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                authenticate,
            ));
        Router::new()
            .merge(guarded)
            .route("/health", get(health))
            .route("/health/live", get(live))
            .route("/health/ready", get(ready))
            .fallback(not_found)
            .with_state(self)
    }

    /// Binds `host:port` (port 0 picks a free port).
    pub async fn bind(self, addr: &str) -> Result<BoundGateway> {
        let proxies = crate::proxies::TrustedProxies::parse(&self.trusted_proxies)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
        let local_addr = listener.local_addr()?;
        let authenticated = matches!(&self.source.0, Origin::Local(d) if d.auth().enabled());
        let other_credentials =
            matches!(&self.source.0, Origin::Local(d) if d.auth().has_credentials());
        if !authenticated {
            crate::server::warn_if_exposed(&local_addr.to_string());
        } else if self.tls.is_none() {
            crate::server::warn_if_plain(&local_addr.to_string());
        }
        Ok(BoundGateway {
            listener,
            local_addr,
            prefix: self.prefix.clone(),
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            shutdown_delay: self.shutdown_delay,
            draining: std::sync::Arc::clone(&self.draining),
            proxies: std::sync::Arc::new(proxies),
            tls: self
                .tls
                .as_ref()
                .map(|tls| tls.acceptor(tls.requires_certificates(other_credentials)))
                .transpose()?,
            router: self.router(),
        })
    }
}

/// A gateway whose socket is bound.
pub struct BoundGateway {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    prefix: String,
    header_read_timeout: Duration,
    idle_timeout: Option<Duration>,
    shutdown_delay: Duration,
    draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
    proxies: std::sync::Arc<crate::proxies::TrustedProxies>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
}

impl BoundGateway {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://IP:PORT{prefix}`: POST `{url}/stream`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{}", self.local_addr, self.prefix)
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> Result<()> {
        self.serve_with_shutdown(std::future::pending()).await
    }

    /// Serves until `signal`, then refuses new requests and lets responses in flight finish.
    ///
    /// Each connection speaks HTTP/1.1 with a header-read timeout; accept errors (out of
    /// file descriptors, say) pause the accepting instead of spinning.
    pub async fn serve_with_shutdown(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        use hyper_util::rt::{TokioIo, TokioTimer};
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut incoming = std::pin::pin!(crate::server::accepted(self.listener));
        let (draining, delay) = (std::sync::Arc::clone(&self.draining), self.shutdown_delay);
        // Asked to stop: not ready at once, serving on for the delay, then no more accepts.
        let signal = async move {
            signal.await;
            draining.store(true, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(delay).await;
        };
        let mut signal = std::pin::pin!(signal);
        loop {
            let stream = tokio::select! {
                next = incoming.next() => match next {
                    Some(Ok(stream)) => stream,
                    _ => continue,
                },
                () = &mut signal => break,
            };
            let Ok(peer) = stream.peer_addr() else {
                continue;
            };
            // Idle from accept: a connection that sends nothing is closed like one whose
            // last request ended `idle_timeout` ago.
            let stream = crate::server::conn::Tracked::new(stream, self.idle_timeout);
            let activity = stream.activity();
            let router = self.router.clone();
            let proxies = std::sync::Arc::clone(&self.proxies);
            let serve =
                move |certificates: Option<crate::auth::ClientCertificates>| {
                    hyper::service::service_fn(
                        move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                            let open = activity.open();
                            let forwarded = request
                                .headers()
                                .get(crate::proxies::FORWARDED_FOR)
                                .and_then(|v| v.to_str().ok());
                            let caller = proxies.caller(peer, forwarded);
                            request.extensions_mut().insert(ConnectInfo(caller));
                            if let Some(certificates) = &certificates {
                                request.extensions_mut().insert(certificates.clone());
                            }
                            let answer = tower_service::Service::call(&mut router.clone(), request);
                            async move {
                                let response = answer.await?;
                                Ok::<_, std::convert::Infallible>(response.map(|body| {
                                    Body::new(crate::server::conn::Held::new(body, open))
                                }))
                            }
                        },
                    )
                };
            let (http, watcher, tls) = (http.clone(), graceful.watcher(), self.tls.clone());
            tokio::spawn(async move {
                let Some(tls) = tls else {
                    let connection = http.serve_connection(TokioIo::new(stream), serve(None));
                    return drive(watcher.watch(connection), peer).await;
                };
                // The handshake runs here, so a peer that never finishes it holds up no one.
                match tokio::time::timeout(crate::tls::HANDSHAKE_TIMEOUT, tls.accept(stream)).await
                {
                    Ok(Ok(stream)) => {
                        let certificates = stream.get_ref().1.peer_certificates().map(|certs| {
                            crate::auth::ClientCertificates(std::sync::Arc::new(
                                certs.iter().map(|c| c.clone().into_owned()).collect(),
                            ))
                        });
                        let connection =
                            http.serve_connection(TokioIo::new(stream), serve(certificates));
                        drive(watcher.watch(connection), peer).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
        graceful.shutdown().await;
        Ok(())
    }
}

/// Every route but `/health*` carries credentials when the server authenticates its
/// callers: in-process, checked here (the caller's `Identity` goes with the request); in
/// proxy mode, the `authorization` header is forwarded and the Flight server decides,
/// and `/metrics` (answered by the gateway itself) asks the Flight server whether the
/// caller's credentials hold first.
async fn authenticate(
    State(gateway): State<Gateway>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match &gateway.source.0 {
        Origin::Local(dispatcher) => {
            let presented = crate::auth::Presented {
                header: authorization(request.headers()),
                peer: request
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(peer)| *peer),
                certificates: request
                    .extensions()
                    .get::<crate::auth::ClientCertificates>(),
            };
            match dispatcher.auth().identify("http", presented).await {
                Ok(Some(identity)) => {
                    request.extensions_mut().insert(identity);
                }
                Ok(None) => {}
                Err(e) => return ApiError(e).into_response(),
            }
        }
        Origin::Remote(client) if request.uri().path() == "/metrics" => {
            let caller = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| *peer);
            // Served only when the Flight server says the caller's credentials hold
            // (or that it wants none): any other answer, whatever its reason, refuses.
            let checked = match as_caller(client, authorization(request.headers()), caller) {
                Ok(caller) => caller.action("health").await.map(drop),
                Err(e) => Err(e),
            };
            if let Err(e) = checked {
                return ApiError(e).into_response();
            }
        }
        Origin::Remote(_) => {}
    }
    next.run(request).await
}

/// Serves one connection to its end.
async fn drive<E: std::fmt::Display>(
    connection: impl Future<Output = std::result::Result<(), E>>,
    peer: SocketAddr,
) {
    if let Err(e) = connection.await {
        tracing::debug!(%peer, error = %e, "gateway connection ended");
    }
}

/// An error as the gateway answers it: `{"error": {"code", "message"}}` and a matching status.
struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The HTTP status for a gRPC code.
pub fn http_status(code: tonic::Code) -> StatusCode {
    use tonic::Code;
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_body(e: &Error) -> serde_json::Value {
    let message = match e {
        Error::Status(status) => status.message().to_owned(),
        other => other.to_string(),
    };
    json!({"error": {"code": format!("{:?}", e.code()), "message": message}})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (http_status(self.0.code()), Json(error_body(&self.0))).into_response();
        if self.0.code() == tonic::Code::Unauthenticated {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    r#"Bearer realm="fastflight", Basic realm="fastflight""#,
                ),
            );
        }
        response
    }
}

async fn stream(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    version: axum::http::Version,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let identity = identity.map(|axum::Extension(identity)| identity);
    let who = crate::audit::Caller::new(Some(peer), identity.as_ref().map(|i| i.name()));
    // HTTP/1.0 has no chunked encoding: a stream cut by an error would end as a clean
    // close, and its reader could take a partial result for a whole one.
    if version < axum::http::Version::HTTP_11 {
        let e = Error::status(
            tonic::Code::InvalidArgument,
            "a stream needs HTTP/1.1 or later, which can mark a cut stream; HTTP/1.0 cannot",
        );
        crate::audit::refused("http", &e, who.who());
        return Ok((StatusCode::HTTP_VERSION_NOT_SUPPORTED, Json(error_body(&e))).into_response());
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
            let e = if too_large {
                Error::status(
                    tonic::Code::ResourceExhausted,
                    format!(
                        "a request body above {} bytes is refused (max_request_bytes)",
                        gateway.max_body_bytes
                    ),
                )
            } else {
                Error::status(tonic::Code::InvalidArgument, rejection.body_text())
            };
            crate::audit::refused("http", &e, who.who());
            return Ok((rejection.status(), Json(error_body(&e))).into_response());
        }
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::from_accept(accept).ok_or_else(|| {
        Error::status(
            tonic::Code::InvalidArgument,
            format!(
                "cannot answer `Accept: {}`; available: application/vnd.apache.arrow.stream (default), text/csv, application/x-ndjson",
                accept.unwrap_or_default()
            ),
        )
    });
    let format = match format {
        Ok(format) => format,
        Err(e) => {
            crate::audit::refused("http", &e, who.who());
            return Ok((StatusCode::NOT_ACCEPTABLE, Json(error_body(&e))).into_response());
        }
    };
    let ctx = Context::of(
        tonic::metadata::MetadataMap::from_headers(headers),
        Some(peer),
        identity,
    );
    if let (Origin::Remote(client), Format::Arrow) = (&gateway.source.0, format) {
        return relay(client, &body, ctx).await;
    }
    let result = gateway.source.open(&body, ctx).await?;
    if format == Format::Arrow {
        // The batches' own buffers go out by reference: no copy into a writer.
        let chunks = chunked(
            result.batches,
            crate::ipc::body::IpcChunks::new(&result.schema)?,
        );
        return Ok((
            [(header::CONTENT_TYPE, format.content_type())],
            Body::from_stream(chunks),
        )
            .into_response());
    }
    let sink = ChunkSink::default();
    let writer = format::writer(format, &result.schema, sink.clone())?;
    let head = sink.take();
    let chunks = futures::stream::once(async move { Ok::<_, Error>(head) }).chain(encode(
        format,
        writer,
        result.batches,
        sink,
    ));
    Ok((
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// The proxy's Arrow answer: the Flight server's messages written as an Arrow IPC stream
/// as they come, framed around their bodies, the batches never decoded or encoded
/// again. Errors as [`encode`] ends them.
async fn relay(client: &Client, body: &[u8], ctx: Context) -> Result<Response, ApiError> {
    let cancel_on_drop = ctx.cancellation_token().drop_guard();
    let who = ctx.who();
    // Refuse what is not a ticket here, with the same errors, before any hop.
    let name = crate::ticket::decode(body)
        .inspect_err(|e| crate::audit::refused("http", e, who))?
        .param_type;
    let messages = as_caller(client, ctx.header(crate::auth::AUTHORIZATION), ctx.peer())?
        .fetch_messages(Bytes::copy_from_slice(body))
        .await
        .inspect_err(|e| crate::audit::refused("http", e, who))?;
    let messages = dispatch::accounted("http", &name, messages, cancel_on_drop, None, ctx.caller());
    let chunks = chunked(messages, Relayed);
    Ok((
        [(header::CONTENT_TYPE, Format::Arrow.content_type())],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// How the items of a stream become body chunks.
trait Chunks<T> {
    /// The chunks of one item.
    fn item(&mut self, item: T) -> Result<Vec<Bytes>>;
    /// The chunks that close the body.
    fn end(&mut self) -> Result<Vec<Bytes>>;
}

impl Chunks<arrow::record_batch::RecordBatch> for crate::ipc::body::IpcChunks {
    fn item(&mut self, batch: arrow::record_batch::RecordBatch) -> Result<Vec<Bytes>> {
        self.batch(&batch)
    }
    fn end(&mut self) -> Result<Vec<Bytes>> {
        self.finish()
    }
}

/// The Flight server's messages relayed as IPC stream messages.
struct Relayed;

impl Chunks<arrow_flight::FlightData> for Relayed {
    fn item(&mut self, message: arrow_flight::FlightData) -> Result<Vec<Bytes>> {
        let [head, body] = crate::ipc::body::ipc_message(&message)?;
        Ok(if body.is_empty() {
            vec![head]
        } else {
            vec![head, body]
        })
    }
    fn end(&mut self) -> Result<Vec<Bytes>> {
        Ok(vec![Bytes::from_static(crate::ipc::IPC_END)])
    }
}

/// The body chunks of a stream of items, each item's in turn and then the closing
/// ones. An error ends the body abnormally, after a moment for what was sent to leave,
/// as [`encode`] does, so a cut stream never looks complete.
fn chunked<T: Send + 'static>(
    items: futures::stream::BoxStream<'static, Result<T>>,
    chunks: impl Chunks<T> + Send + 'static,
) -> impl Stream<Item = Result<Bytes>> + Send {
    struct State<T, C> {
        items: Option<futures::stream::BoxStream<'static, Result<T>>>,
        pending: std::collections::VecDeque<Bytes>,
        chunks: C,
    }
    let state = State {
        items: Some(items),
        pending: std::collections::VecDeque::new(),
        chunks,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(chunk) = state.pending.pop_front() {
                return Some((Ok(chunk), state));
            }
            let items = state.items.as_mut()?;
            let failed = match items.next().await {
                Some(Ok(item)) => match state.chunks.item(item) {
                    Ok(chunks) => {
                        state.pending.extend(chunks);
                        continue;
                    }
                    Err(e) => e,
                },
                Some(Err(e)) => {
                    // Give the connection a moment to flush what was sent before it is cut.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    e
                }
                None => {
                    state.items = None;
                    match state.chunks.end() {
                        Ok(chunks) => {
                            state.pending.extend(chunks);
                            continue;
                        }
                        Err(e) => e,
                    }
                }
            };
            state.items = None;
            state.pending.clear();
            return Some((Err(failed), state));
        }
    })
}

/// The encoded chunks of a result. An error after the first batch ends the body
/// abnormally (the connection is cut before the last chunk), so a client never takes
/// a partial result for a complete one; NDJSON also gets a last line `{"error": ...}`.
fn encode(
    format: Format,
    writer: Box<dyn BatchWriter>,
    batches: crate::BatchStream,
    sink: ChunkSink,
) -> impl Stream<Item = Result<Bytes>> + Send {
    enum Phase {
        Streaming(Box<dyn BatchWriter>, crate::BatchStream, ChunkSink),
        Failing(Error),
        Done,
    }
    futures::stream::unfold(
        Phase::Streaming(writer, batches, sink),
        move |phase| async move {
            match phase {
                Phase::Done => None,
                Phase::Failing(e) => {
                    // Give the connection a moment to flush what was sent before it is cut.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Some((Err(e), Phase::Done))
                }
                Phase::Streaming(mut writer, mut batches, sink) => {
                    let failed = match batches.next().await {
                        Some(Ok(batch)) => match writer.write(&batch) {
                            Ok(()) => {
                                return Some((
                                    Ok(sink.take()),
                                    Phase::Streaming(writer, batches, sink),
                                ))
                            }
                            Err(e) => e,
                        },
                        None => {
                            return match writer.finish() {
                                Ok(()) => Some((Ok(sink.take()), Phase::Done)),
                                Err(e) => Some((Err(e), Phase::Done)),
                            }
                        }
                        Some(Err(e)) => e,
                    };
                    let mut last = sink.take().to_vec();
                    if format == Format::Json {
                        last.extend(serde_json::to_vec(&error_body(&failed)).unwrap_or_default());
                        last.push(b'\n');
                    }
                    Some((Ok(Bytes::from(last)), Phase::Failing(failed)))
                }
            }
        },
    )
}

/// The services a gateway caller may see.
async fn listed(
    gateway: &Gateway,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: &HeaderMap,
    caller: SocketAddr,
) -> Result<Vec<ServiceInfo>> {
    let who = identity.map(|axum::Extension(who)| who);
    gateway
        .source
        .services(who.as_ref(), authorization(headers), Some(caller))
        .await
}

/// `GET {prefix}/registered_data_types`: `[{"params_type": NAME, "service_type": HANDLER}]`.
/// The key is `params_type` (the Python package's spelling, kept so its tools read this
/// listing), while tickets name the type under `param_type`.
async fn registered_data_types(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let services = listed(&gateway, identity, &headers, peer).await?;
    Ok(Json(serde_json::Value::Array(
        services
            .iter()
            .map(|s| json!({"params_type": s.name, "service_type": s.handler}))
            .collect(),
    )))
}

async fn services(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let services = listed(&gateway, identity, &headers, peer).await?;
    Ok(Json(serde_json::Value::Array(
        services
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "handler": s.handler,
                    "request_type": s.request_type,
                    "fields": s.fields,
                    "json_schema": crate::listing::request_schema(s),
                })
            })
            .collect(),
    )))
}

async fn health(State(gateway): State<Gateway>) -> Result<Json<serde_json::Value>, ApiError> {
    match gateway.source.services(None, None, None).await {
        Ok(services) => Ok(Json(json!({"status": "ok", "services": services.len()}))),
        // A proxied server that wants credentials answers: it is up.
        Err(e) if e.code() == tonic::Code::Unauthenticated => Ok(Json(json!({"status": "ok"}))),
        Err(e) => Err(e.into()),
    }
}

/// The Prometheus recorder of this process, installed by the first gateway; `None` when
/// the application installed a `metrics` recorder of its own.
fn prometheus() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
            let buckets = [0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0];
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .ok()?
                .install_recorder()
                .ok()?;
            // Histogram samples wait in memory until drained: drain them now and then,
            // whether or not anyone scrapes.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let upkeep = handle.clone();
                runtime.spawn(async move {
                    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            Some(handle)
        })
        .as_ref()
}

/// `GET /metrics`: saturation in Prometheus text: streams started and in flight, requests
/// refused by code, rows and bytes sent, stream durations, per route and service. In
/// proxy mode, the gateway's own streams.
async fn metrics_text() -> Response {
    match prometheus() {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_IMPLEMENTED,
            "another metrics recorder is installed in this process; it exports the figures",
        )
            .into_response(),
    }
}

/// `GET /health/live`: the process answers.
async fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "live"}))
}

/// `GET /health/ready`: 200 while new work is welcome; 503 with the reason while the
/// server is shutting down, at its limit of streams in flight, or (proxy) its Flight
/// server does not answer.
async fn ready(State(gateway): State<Gateway>) -> Response {
    let draining = gateway.draining.load(std::sync::atomic::Ordering::SeqCst);
    let verdict = match &gateway.source.0 {
        _ if draining => Err("the gateway is shutting down".to_owned()),
        Origin::Local(dispatcher) => dispatcher.readiness(),
        Origin::Remote(client) => match client.action("health").await {
            Ok(body) => {
                let health: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if health["ready"] == json!(false) {
                    Err("the Flight server is not ready".to_owned())
                } else {
                    Ok(())
                }
            }
            Err(e) if e.code() == tonic::Code::Unauthenticated => Ok(()),
            Err(e) => Err(format!("the Flight server does not answer: {e}")),
        },
    };
    match verdict {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": reason})),
        )
            .into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError(Error::status(
        tonic::Code::NotFound,
        "no such route; the gateway answers POST {prefix}/stream, GET {prefix}/registered_data_types, GET {prefix}/services, GET /health, /health/live, /health/ready and /metrics",
    ))
}

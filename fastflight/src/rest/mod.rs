//! The HTTP gateway (feature `rest`): `POST {prefix}/stream` with the ticket JSON as body
//! streams the result as an Arrow IPC stream, CSV or NDJSON, batch by batch.
//!
//! Two modes: in-process ([`Source::local`], the registry is called directly) and proxy
//! ([`Source::remote`], requests are forwarded to a Flight server through [`crate::Client`]).
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

mod errors;
mod health;
mod listings;
mod serve;
mod source;
mod stream;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::{Error, Result};
use errors::ApiError;
use source::{as_caller, Origin};

pub use errors::http_status;
pub use serve::BoundGateway;
pub use source::Source;

/// The default route prefix, as the Python package has it.
pub const DEFAULT_PREFIX: &str = "/fastflight";

/// The gateway: routes over a [`Source`].
#[derive(Clone)]
pub struct Gateway {
    source: Source,
    prefix: String,
    /// The gateway's limits: the request body's, the connections' and the shutdown's.
    pub(super) limits: crate::Limits,
    trusted_proxies: Vec<String>,
    tls: Option<crate::tls::ServerTls>,
    /// Set once the gateway is asked to stop: not ready.
    draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

pub use crate::limits::DEFAULT_HEADER_READ_TIMEOUT;

impl Gateway {
    /// A gateway with the default prefix `/fastflight` and the default [`crate::Limits`]
    /// (in-process: the server's own).
    pub fn new(source: Source) -> Self {
        // Install the recorder now, so that every stream from here on is counted.
        let _ = health::prometheus();
        // In-process, the server's own limits.
        let limits = match &source.0 {
            Origin::Local(dispatcher) => *dispatcher.limits(),
            Origin::Remote(_) => crate::Limits::default(),
        };
        Self {
            source,
            prefix: DEFAULT_PREFIX.to_owned(),
            limits,
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
        self.limits.shutdown_delay = delay;
        self
    }

    /// How long a connection with no request open is kept, from its accept on (`None`:
    /// for ever): a connection that sends nothing is closed as the Flight server closes
    /// its idle ones.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// Serves HTTPS with this certificate (and client certificates of its CA, optional).
    pub fn tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The largest request body accepted; a larger one is refused with 413 naming the limit.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_request_bytes = bytes;
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
        self.limits.header_read_timeout = timeout;
        self
    }

    /// The limits the gateway takes (see [`crate::Limits`]): `max_request_bytes`,
    /// `header_read_timeout`, `idle_timeout` and `shutdown_delay`; the Flight server
    /// holds its streams to the others.
    pub fn limits(mut self, limits: crate::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The axum router, to serve or to nest in an application of one's own.
    pub fn router(mut self) -> Router {
        self.limits = self.limits.bounded();
        let prefix = self.prefix.clone();
        let limit = axum::extract::DefaultBodyLimit::max(self.limits.max_request_bytes);
        let guarded = Router::new().route(
            &format!("{prefix}/stream"),
            post(stream::stream).layer(limit),
        );
        #[cfg(feature = "flight-sql")]
        let guarded = guarded.route(&format!("{prefix}/sql"), post(stream::sql).layer(limit));
        #[cfg(not(feature = "flight-sql"))]
        let _ = limit;
        let guarded = guarded
            .route(
                &format!("{prefix}/registered_data_types"),
                get(listings::registered_data_types),
            )
            .route(&format!("{prefix}/services"), get(listings::services))
            .route("/metrics", get(health::metrics_text))
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                authenticate,
            ));
        Router::new()
            .merge(guarded)
            .route("/health", get(health::health))
            .route("/health/live", get(health::live))
            .route("/health/ready", get(health::ready))
            .fallback(errors::not_found)
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
            limits: self.limits.bounded(),
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

/// The `authorization` header of a gateway request.
pub(super) fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

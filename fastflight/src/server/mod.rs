//! The Flight server: a builder, binding, serving and graceful shutdown.
//!
//! The path of a DoGet: `routes` (the caller known) → `doget` → `grpc` (the ticket's
//! message) → the dispatch (decode, lookup, invoke, guarded stream) → `ipc` (frames);
//! `ARCHITECTURE.md` in the repository walks it.

pub(crate) mod conn;
mod doget;
mod flight;
mod peers;
mod routes;
#[cfg(feature = "flight-sql")]
mod sql;

/// What the Flight routes answer Flight SQL from: the catalog of the services.
#[cfg(feature = "flight-sql")]
pub(crate) type SqlState = std::sync::Arc<crate::sql::SqlServer>;
/// Nothing, without the `flight-sql` feature.
#[cfg(not(feature = "flight-sql"))]
#[derive(Clone)]
pub(crate) struct SqlState;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use tokio::net::{TcpListener, TcpStream};

pub use flight::ACTIONS;
pub use routes::FlightRoutes;

use crate::auth::Auth;
use crate::dispatch::Dispatcher;
use crate::limits::Limits;
use crate::registry::Registry;
use crate::service::States;
use crate::wire::{host_port, CONNECTION_WINDOW, STREAM_WINDOW};
use crate::{Error, Result};

pub use crate::wire::DEFAULT_LOCATION;

pub use crate::limits::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_CONCURRENT_STREAMS,
    DEFAULT_MAX_FLIGHT_DATA_SIZE, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_STREAMS_PER_PEER,
    DEFAULT_QUEUE_WAIT, DEFAULT_SHUTDOWN_DELAY, DEFAULT_STALL_TIMEOUT,
};

/// The HTTP/2 keep-alive ping interval; a peer that does not answer in 20 s is let go.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(30);

/// A Flight server serving the `#[data_service]`s of the binary.
///
/// ```no_run
/// # async fn run() -> fastflight::Result<()> {
/// fastflight::Server::builder()
///     .location("grpc://127.0.0.1:8815")
///     .serve()
///     .await
/// # }
/// ```
pub struct Server;

impl Server {
    /// A builder with the default location, every linked service and no state.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            location: DEFAULT_LOCATION.to_owned(),
            registry: None,
            states: States::default(),
            limits: Limits::default(),
            trusted_proxies: Vec::new(),
            auth: Auth::default(),
            tls: None,
            advertise: None,
            peers: Vec::new(),
        }
    }
}

/// Configures a [`Server`].
pub struct ServerBuilder {
    location: String,
    registry: Option<Registry>,
    states: States,
    limits: Limits,
    trusted_proxies: Vec<String>,
    auth: Auth,
    tls: Option<crate::tls::ServerTls>,
    advertise: Option<String>,
    peers: Vec<String>,
}

impl ServerBuilder {
    /// How failed password checks are throttled (see [`crate::auth::LoginThrottle`]):
    /// by default a wait from the sixth failure of one user at one address, doubling
    /// from 1 s to 60 s.
    pub fn login_throttle(mut self, rule: crate::auth::LoginThrottle) -> Self {
        self.auth.set_throttle(rule);
        self
    }

    /// The proxies (addresses, or networks as `10.0.0.0/8`) whose `x-forwarded-for`
    /// names the caller: behind them, the throttle of failed logins, the log lines, the
    /// fair shares of anonymous callers and the services' [`crate::Context::peer`] see
    /// the caller, not the proxy. From any other peer the header is ignored. A bad entry
    /// fails [`ServerBuilder::bind`], naming it.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.trusted_proxies = proxies.into_iter().map(Into::into).collect();
        self
    }

    /// How long the server goes on serving after it is asked to stop (its readiness and
    /// gRPC health failing at once) before it stops accepting connections and lets the
    /// streams in flight finish: a load balancer learns of it from its probes, not from
    /// refused connections ([`DEFAULT_SHUTDOWN_DELAY`]; zero stops accepting at once).
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.limits.shutdown_delay = delay;
        self
    }
    /// The location clients reach this server at, named in the endpoints of partitioned
    /// requests (by default the bound location: set it behind NAT or in a container).
    pub fn advertise(mut self, location: impl Into<String>) -> Self {
        self.advertise = Some(location.into());
        self
    }

    /// The other servers of the same services: the parts of a partitioned request are
    /// spread over this server and its peers, each endpoint naming a primary and a
    /// fallback location. Without peers, endpoints name no location (this server).
    ///
    /// A peer given by a DNS name (`grpc://flight.default.svc:8815`, a Kubernetes
    /// headless service) stands for every address the name resolves to, resolved again
    /// every 5 seconds, this server's own address left out. With TLS, the certificates
    /// then need the addresses among their names (IP subject alternative names).
    pub fn peers(mut self, peers: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.peers = peers.into_iter().map(Into::into).collect();
        self
    }

    /// Serves over TLS (the location is then `grpc+tls://`), with client certificates
    /// accepted when the configuration names their CA.
    pub fn tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Makes every Flight call (and every gateway route but `/health*`) carry
    /// credentials that `authenticator` (or one added before it) accepts; a call
    /// without them is refused with `Unauthenticated`. The Handshake trades Basic
    /// credentials for a signed token (see [`ServerBuilder::token_signer`]).
    pub fn authenticator(mut self, authenticator: impl crate::auth::Authenticator) -> Self {
        self.auth.add(std::sync::Arc::new(authenticator));
        self
    }

    /// The key (and lifetime) of the tokens the Handshake issues; by default a random
    /// key, so tokens are valid on this server only. Servers given the same key accept
    /// each other's tokens.
    pub fn token_signer(mut self, signer: crate::auth::TokenSigner) -> Self {
        self.auth.set_signer(signer);
        self
    }

    /// Where to listen: `grpc://HOST:PORT`; port 0 picks a free port.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = location.into();
        self
    }

    /// The services to serve: [`Registry::global`] (every linked service) by default, or a
    /// subset ([`Registry::select`], [`Registry::under`]). Only the states of the services
    /// served are required.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Shared state that services take as `State<T>`.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// The size above which an encoded batch is split into several Flight messages
    /// (at most 4 GiB, the largest gRPC message).
    pub fn max_flight_data_size(mut self, bytes: usize) -> Self {
        self.limits.max_flight_data_size = bytes;
        self
    }

    /// The largest request message accepted (a ticket, a descriptor, an action, the
    /// gateway's body); a larger one is refused with `ResourceExhausted`.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_request_bytes = bytes;
        self
    }

    /// The streams one connection may have open at once (at least 1).
    pub fn max_concurrent_streams(mut self, streams: u32) -> Self {
        self.limits.max_concurrent_streams = streams;
        self
    }

    /// How long a connection with no request open is kept (`None`: for ever); keep-alive
    /// pings do not count as use.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// The streams in flight at once over the whole server (at least 1); a request
    /// that finds no slot free within `queue_wait` is refused with `ResourceExhausted`
    /// naming the limit.
    pub fn max_concurrency(mut self, streams: usize, queue_wait: Duration) -> Self {
        self.limits.max_concurrency = streams;
        self.limits.queue_wait = queue_wait;
        self
    }

    /// The streams in flight at once for one peer, by IP address (at least 1): its fair
    /// share of `max_concurrency`. Past it, the peer's requests are refused at once with
    /// `ResourceExhausted` naming the limit. Behind a proxy or a remote gateway every call
    /// comes from the proxy's address: raise this to `max_concurrency` there.
    pub fn max_streams_per_peer(mut self, streams: usize) -> Self {
        self.limits.max_streams_per_peer = streams;
        self
    }

    /// How long a blocking producer (`#[data_service(blocking)]`, the SQLite and file
    /// sources) waits for its reader to take a batch (`None`: for ever). A stalled
    /// reader's stream then ends with `DeadlineExceeded`, freeing the thread and any
    /// pooled connection it held.
    pub fn stall_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.stall_timeout = timeout;
        self
    }

    /// The longest a stream may run, from its request to its last batch; a stream past
    /// it ends with `DeadlineExceeded`. A caller's sooner `grpc-timeout` is honoured too.
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.request_timeout = timeout;
        self
    }

    /// Every limit at once (see [`Limits`]); the methods of single limits change one.
    ///
    /// ```
    /// let mut limits = fastflight::Limits::default();
    /// limits.max_streams_per_peer = 8;
    /// let builder = fastflight::Server::builder().limits(limits);
    /// assert_eq!(builder.current_limits().max_streams_per_peer, 8);
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits set so far (brought within their bounds when the server binds).
    pub fn current_limits(&self) -> &Limits {
        &self.limits
    }

    /// Checks the registry and the states, and binds the listening socket.
    pub async fn bind(mut self) -> Result<BoundServer> {
        let addr = host_port(&self.location)?;
        let proxies = crate::proxies::TrustedProxies::parse(&self.trusted_proxies)?;
        for location in self.peers.iter().chain(&self.advertise) {
            host_port(location)?;
            // Clients read a TLS server's parts with its credentials: never in clear.
            if self.tls.is_some() && !crate::wire::is_tls(location) {
                return Err(Error::Config(format!(
                    "this server speaks TLS, and `{location}` (a peer or the advertised location) does not: clients would read its parts in clear text; name it grpc+tls://"
                )));
            }
        }
        // Decided before certificates join the authenticators: whether other credentials
        // let a client in without one.
        let certificates_required = self
            .tls
            .as_ref()
            .is_some_and(|tls| tls.requires_certificates(self.auth.has_credentials()));
        if self
            .tls
            .as_ref()
            .is_some_and(crate::tls::ServerTls::has_client_ca)
        {
            self.auth.accept_certificates();
            tracing::info!(
                required = certificates_required,
                "client certificates of the client CA name their callers"
            );
        }
        let tls = match (&self.tls, crate::wire::is_tls(&self.location)) {
            (Some(tls), _) => {
                let config = tls.tonic(certificates_required);
                // Checked now, so a bad certificate stops the start, not the first call.
                tonic::transport::Server::builder()
                    .tls_config(config.clone())
                    .map_err(|e| Error::Config(format!("TLS: {e}")))?;
                Some(config)
            }
            (None, true) => {
                return Err(Error::Config(format!(
                    "`{}` asks for TLS: give the server a certificate and key (ServerBuilder::tls; --tls-cert and --tls-key)",
                    self.location
                )))
            }
            (None, false) => None,
        };
        let registry = match self.registry {
            Some(registry) => registry,
            None => Registry::global()?.clone(),
        };
        registry.check_states(&self.states)?;
        if !self.auth.enabled() {
            warn_if_exposed(addr);
        }
        if tls.is_none() && self.auth.enabled() {
            warn_if_plain(addr);
        }
        if registry.is_empty() {
            tracing::warn!(
                "this server has no services: no #[data_service] is linked into the binary (a library crate of services is linked only when used: add `use my_services as _;`), or the registry given to the builder is empty"
            );
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", self.location)))?;
        let local_addr = listener.local_addr()?;
        let mut auth = self.auth;
        if auth.enabled() {
            auth.signer();
        }
        let limits = self.limits.bounded();
        // Two services of one SQL table name fail the start, naming both.
        #[cfg(feature = "flight-sql")]
        let sql: SqlState = std::sync::Arc::new(crate::sql::SqlServer {
            catalog: crate::sql::catalog::Catalog::new(&registry)?,
            running: Default::default(),
        });
        #[cfg(not(feature = "flight-sql"))]
        let sql = SqlState;
        let dispatcher = Dispatcher::new(registry, self.states, limits, auth);
        Ok(BoundServer {
            listener,
            local_addr,
            routes: FlightRoutes::new(
                dispatcher.clone(),
                limits.max_flight_data_size,
                peers::Topology::new(
                    self.advertise.clone().unwrap_or_else(|| {
                        let scheme = if tls.is_some() { "grpc+tls" } else { "grpc" };
                        format!("{scheme}://{local_addr}")
                    }),
                    self.peers.clone(),
                ),
                proxies,
                sql,
            ),
            dispatcher,
            tls,
        })
    }

    /// Binds and serves until the process ends.
    pub async fn serve(self) -> Result<()> {
        self.bind().await?.serve().await
    }

    /// Binds and serves until `signal` completes, then lets streams in flight finish.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<()> {
        self.bind().await?.serve_with_shutdown(signal).await
    }
}

/// A server whose socket is bound: its address is known, serving has not begun.
pub struct BoundServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    routes: FlightRoutes,
    dispatcher: Dispatcher,
    tls: Option<tonic::transport::ServerTlsConfig>,
}

impl BoundServer {
    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The limits it holds its callers to, within their bounds.
    pub fn limits(&self) -> &Limits {
        self.dispatcher.limits()
    }

    /// The location clients connect to: `grpc://IP:PORT`, or `grpc+tls://IP:PORT`.
    pub fn location(&self) -> String {
        let scheme = if self.tls.is_some() {
            "grpc+tls"
        } else {
            "grpc"
        };
        format!("{scheme}://{}", self.local_addr)
    }

    /// The services served.
    pub fn registry(&self) -> &Registry {
        self.dispatcher.registry()
    }

    /// The Flight service itself, to mount in a tonic router of one's own; its DoGet
    /// takes the same copy-free path as [`BoundServer::serve`]'s.
    pub fn routes(&self) -> FlightRoutes {
        self.routes.clone()
    }

    #[cfg(feature = "rest")]
    pub(crate) fn dispatcher(&self) -> Dispatcher {
        self.dispatcher.clone()
    }

    /// The largest request message accepted (the gateway's body limit in-process).
    pub fn max_request_bytes(&self) -> usize {
        self.dispatcher.max_request_bytes()
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> Result<()> {
        self.serve_with_shutdown(std::future::pending()).await
    }

    /// Serves until `signal` completes, then refuses new requests and lets streams in flight finish.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<()> {
        let (reporter, health) = tonic_health::server::health_reporter();
        report(&reporter, true).await;
        // Readiness follows saturation (no free slot) and shutdown, checked four times a second.
        let watch = {
            let (dispatcher, reporter) = (self.dispatcher.clone(), reporter.clone());
            tokio::spawn(async move {
                let mut serving = true;
                let mut every = tokio::time::interval(Duration::from_millis(250));
                loop {
                    every.tick().await;
                    let ready = dispatcher.readiness().is_ok();
                    if ready != serving {
                        serving = ready;
                        report(&reporter, ready).await;
                    }
                }
            })
        };
        let limits = *self.dispatcher.limits();
        let (delay, idle_timeout) = (limits.shutdown_delay, limits.idle_timeout);
        let dispatcher = self.dispatcher.clone();
        let signal = async move {
            signal.await;
            dispatcher.drain();
            report(&reporter, false).await;
            if !delay.is_zero() {
                tracing::info!(
                    shutdown_delay_s = delay.as_secs_f64(),
                    "not ready: serving on until the shutdown delay ends, then finishing the streams in flight"
                );
                tokio::time::sleep(delay).await;
            }
        };
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = self.tls {
            builder = builder
                .tls_config(tls)
                .map_err(|e| Error::Config(format!("TLS: {e}")))?;
        }
        let served = builder
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_concurrent_streams(Some(limits.max_concurrent_streams))
            .http2_keepalive_interval(Some(DEFAULT_KEEPALIVE))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)))
            .layer(conn::CountRequests)
            .add_service(self.routes)
            .add_service(health)
            .serve_with_incoming_shutdown(
                accepted(self.listener)
                    .map(move |io| io.map(|io| conn::Tracked::new(io, idle_timeout))),
                signal,
            )
            .await;
        watch.abort();
        served?;
        Ok(())
    }
}

/// Sets the gRPC health status of the Flight service and of the server as a whole.
async fn report(reporter: &tonic_health::server::HealthReporter, serving: bool) {
    let status = if serving {
        tonic_health::ServingStatus::Serving
    } else {
        tonic_health::ServingStatus::NotServing
    };
    reporter
        .set_service_status(<FlightRoutes as tonic::server::NamedService>::NAME, status)
        .await;
    reporter.set_service_status("", status).await;
}

/// The connections of a listener. An accept error (out of file descriptors, say) is
/// logged and retried after a pause that doubles up to a second, so a server at its fd
/// limit waits for connections to close instead of spinning.
pub(crate) fn accepted(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<TcpStream>> + Send {
    futures::stream::unfold(listener, |listener| async move {
        let mut pause = Duration::from_millis(5);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    return Some((Ok(stream), listener));
                }
                Err(e) => {
                    tracing::warn!(error = %e, pause_ms = pause.as_millis() as u64, "cannot accept a connection");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    })
}

/// Warns when credentials would cross a network in clear text.
pub(crate) fn warn_if_plain(addr: &str) {
    if !is_loopback(addr) {
        tracing::warn!(
            address = addr,
            "authenticating callers without TLS: passwords and tokens cross the network in clear text (add a certificate)"
        );
    }
}

/// Whether `host:port` names a loopback host.
fn is_loopback(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Warns when a server listens beyond loopback: nothing authenticates its callers yet.
pub(crate) fn warn_if_exposed(addr: &str) {
    if !is_loopback(addr) {
        tracing::warn!(
            address = addr,
            "listening beyond loopback without authentication: anyone who can reach this address can call every service"
        );
    }
}

//! How a client connects: [`ClientBuilder`], and the connection's tuning.

use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_client::FlightServiceClient;
use tonic::transport::{Channel, Endpoint};

use super::Client;
use crate::wire::{endpoint_uri, CONNECTION_WINDOW, MAX_FRAME_SIZE, STREAM_WINDOW};
use crate::{Error, Result};

/// Connections a client opens to one location at most ([`ClientBuilder::connections`]).
pub const MAX_CONNECTIONS: usize = 64;

/// How long another location of a partitioned result may take to connect and to answer
/// pings, by default ([`ClientBuilder::open_timeout`]).
pub const DEFAULT_OPEN_TIMEOUT: Duration = Duration::from_secs(4);

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a connection with calls open is pinged, and how long an answer may take.
const KEEPALIVE: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How to connect: see [`Client::builder`].
pub struct ClientBuilder {
    location: String,
    tls: Option<crate::tls::ClientTls>,
    basic: Option<(String, String)>,
    bearer: Option<String>,
    resilience: Option<super::resilience::Resilience>,
    connections: usize,
    trusted_hosts: Vec<String>,
    open_timeout: Duration,
    /// For a client of another location: pings as often as the open timeout asks.
    pub(super) liveness: bool,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("location", &self.location)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(super) fn new(location: &str) -> Self {
        Self {
            location: location.to_owned(),
            tls: None,
            basic: None,
            bearer: None,
            resilience: None,
            connections: 1,
            trusted_hosts: Vec::new(),
            open_timeout: DEFAULT_OPEN_TIMEOUT,
            liveness: false,
        }
    }

    /// The TLS of a `grpc+tls://` location: the CA to trust, a client certificate.
    pub fn tls(mut self, tls: crate::tls::ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Authenticate with the Handshake (see [`Client::authenticate_basic`]).
    pub fn basic(mut self, user: &str, password: &str) -> Self {
        self.basic = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Retries (only while a call opens, before its first batch) and a circuit breaker;
    /// see [`crate::resilience`].
    pub fn resilience(mut self, resilience: super::resilience::Resilience) -> Self {
        self.resilience = Some(resilience);
        self
    }

    /// Opens `n` HTTP/2 connections to the location (1 by default, at most
    /// [`MAX_CONNECTIONS`]) and spreads calls over them in turn: for many concurrent bulk
    /// streams, where one connection's flow control and its one task per side are the
    /// limit. Clients of a partitioned result's other locations get as many.
    ///
    /// ```no_run
    /// # async fn run() -> fastflight::Result<()> {
    /// let client = fastflight::Client::builder("grpc://127.0.0.1:8815")
    ///     .connections(4)
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n.clamp(1, MAX_CONNECTIONS);
        self
    }

    /// Send this bearer token with every call (see [`Client::with_bearer`]).
    pub fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_owned());
        self
    }

    /// Hosts besides the location's own that this client trusts with its credentials
    /// (the locations of a partitioned result's parts; see [`crate::trust`]): a name
    /// stands for every address it resolves to. Locations of other hosts are not read
    /// with credentials.
    ///
    /// ```no_run
    /// # async fn run() -> fastflight::Result<()> {
    /// let client = fastflight::Client::builder("grpc+tls://flight-0.flight.svc:8815")
    ///     .trust_hosts(["flight.svc"])
    ///     .basic("ada", "s3cret")
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn trust_hosts(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.trusted_hosts.extend(hosts.into_iter().map(Into::into));
        self
    }

    /// How long another location of a partitioned result may take to connect, and to
    /// answer its connection's pings, before its fallback is read instead
    /// ([`DEFAULT_OPEN_TIMEOUT`]): a server that accepts and never answers costs that
    /// long, while a slow service on a live server is waited for.
    pub fn open_timeout(mut self, timeout: Duration) -> Self {
        self.open_timeout = timeout.max(Duration::from_millis(100));
        self
    }

    /// Connects (and authenticates, when credentials were given).
    pub async fn connect(self) -> Result<Client> {
        let location = &self.location;
        let mut endpoint = Endpoint::from_shared(endpoint_uri(location)?)
            .map_err(|e| Error::Config(format!("bad location `{location}`: {e}")))?
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_frame_size(MAX_FRAME_SIZE)
            .keep_alive_while_idle(false);
        endpoint = if self.liveness {
            // Another location: one that does not connect, or does not answer pings,
            // within the open timeout is given up for its fallback.
            let half = self.open_timeout / 2;
            endpoint
                .connect_timeout(self.open_timeout)
                .http2_keep_alive_interval(half)
                .keep_alive_timeout(half)
        } else {
            endpoint
                // A host that does not answer at all is given up on.
                .connect_timeout(CONNECT_TIMEOUT)
                // A peer that vanished without a word (a server's host gone) is found out.
                .http2_keep_alive_interval(KEEPALIVE)
                .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        };
        match (crate::wire::is_tls(location), &self.tls) {
            (true, tls) => {
                endpoint = endpoint
                    .tls_config(tls.clone().unwrap_or_default().tonic())
                    .map_err(|e| Error::Config(format!("TLS for `{location}`: {e}")))?;
            }
            (false, Some(_)) => {
                return Err(Error::Config(format!(
                    "TLS options need a grpc+tls:// location, not `{location}`"
                )))
            }
            (false, None) => {}
        }
        let channels = futures::future::try_join_all((0..self.connections).map(|_| {
            let endpoint = endpoint.clone();
            async move {
                endpoint
                    .connect_with_connector(super::socket::Connector)
                    .await
            }
        }))
        .await
        .map_err(|e| Error::connect(location, &e))?;
        let mut channels = channels.into_iter();
        let first = channels
            .next()
            .ok_or_else(|| Error::Config("a client needs at least one connection".to_owned()))?;
        let mut client = Client::from_channel(first);
        client.more = channels.map(grpc_client).collect();
        client.tls = self.tls.clone();
        client.origin = Some(Arc::from(location.as_str()));
        client.trust = Arc::new(super::trust::Trust::new(self.trusted_hosts.clone()));
        client.open_timeout = self.open_timeout;
        client.guard = self
            .resilience
            .clone()
            .map(|r| super::resilience::Guard::new(r, location));
        let client = match &self.bearer {
            Some(token) => client.with_bearer(token)?,
            None => client,
        };
        match &self.basic {
            Some((user, password)) => client.authenticate_basic(user, password).await,
            None => Ok(client),
        }
    }
}

/// The generated client over a channel, with no message size limit of its own (the
/// server's frames are bounded by the server).
pub(super) fn grpc_client(channel: Channel) -> FlightServiceClient<Channel> {
    FlightServiceClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

//! The async client: typed `fetch`, raw tickets, listings.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::{Action, Criteria, FlightData, FlightDescriptor, FlightInfo, Ticket};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{Future, FutureExt, Stream, StreamExt, TryStreamExt};
use tonic::transport::{Channel, Endpoint};

use crate::decode::{Decoded, Decoder};
use crate::listing::ServiceInfo;
use crate::request::FetchRequest;
use crate::wire::{
    endpoint_uri, Credentials, AUTHORIZATION, CONNECTION_WINDOW, MAX_FRAME_SIZE, STREAM_WINDOW,
};
use crate::{ticket, Error, FlightRequest, Result};

pub use crate::wire::{Compression, COMPRESSION_HEADER};

/// A Flight client for fastflight servers (and any server speaking the same tickets).
///
/// Cloning is cheap: clones share one HTTP/2 connection.
///
/// ```no_run
/// # use fastflight::prelude::*;
/// # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// # #[flight(name = "fastflight.demo_services.echo_demo.EchoParams")]
/// # pub struct EchoParams { pub message: String }
/// # async fn run() -> fastflight::Result<()> {
/// let client = fastflight::Client::connect("grpc://127.0.0.1:8815").await?;
/// let batch = client.fetch(EchoParams { message: "hi".into() }).await?.concat().await?;
/// assert_eq!(batch.num_rows(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: FlightServiceClient<Channel>,
    /// Further connections to the same location, taken in turn with `inner` by calls.
    more: std::sync::Arc<[FlightServiceClient<Channel>]>,
    /// The next connection's number.
    turn: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    compression: Option<Compression>,
    headers: tonic::metadata::MetadataMap,
    timeout: Option<Duration>,
    login: Option<std::sync::Arc<Login>>,
    /// The location it connected to: where its password goes, the host it trusts.
    origin: Option<std::sync::Arc<str>>,
    /// The other hosts it trusts with its credentials (see [`crate::trust`]).
    trust: std::sync::Arc<crate::trust::Trust>,
    /// How long another location may take to connect and to answer pings.
    open_timeout: Duration,
    /// A bearer token given to this client, traded at the origin for a token of its own
    /// for the other locations (made at first need; shared by clones).
    exchanged: std::sync::Arc<tokio::sync::OnceCell<Option<std::sync::Arc<Login>>>>,
    /// The TLS it connected with, for the other locations of a partitioned result.
    tls: Option<crate::tls::ClientTls>,
    /// The names of the server's partitioned services, learnt at the first typed fetch.
    partitioned: std::sync::Arc<tokio::sync::OnceCell<std::collections::HashSet<String>>>,
    /// Retries and the circuit breaker, when configured.
    guard: Option<std::sync::Arc<crate::resilience::Guard>>,
    /// Clients of the other locations a partitioned result named, kept for the next
    /// reads (shared by clones).
    pub(crate) located:
        std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<String, Client>>>,
}

/// How to connect: see [`Client::builder`].
pub struct ClientBuilder {
    location: String,
    tls: Option<crate::tls::ClientTls>,
    basic: Option<(String, String)>,
    bearer: Option<String>,
    resilience: Option<crate::resilience::Resilience>,
    connections: usize,
    trusted_hosts: Vec<String>,
    open_timeout: Duration,
    /// For a client of another location: pings as often as the open timeout asks.
    liveness: bool,
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
    pub fn resilience(mut self, resilience: crate::resilience::Resilience) -> Self {
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
                    .connect_with_connector(crate::socket::Connector)
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
        client.origin = Some(std::sync::Arc::from(location.as_str()));
        client.trust = std::sync::Arc::new(crate::trust::Trust::new(self.trusted_hosts.clone()));
        client.open_timeout = self.open_timeout;
        client.guard = self
            .resilience
            .clone()
            .map(|r| crate::resilience::Guard::new(r, location));
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

/// Credentials traded for a token with the origin's Handshake, and the token, renewed
/// there shortly before it expires. Clones of a client share it, and so do the clients
/// of the other locations it trusts: they send the token, never what it was traded for.
struct Login {
    /// What the Handshake presents: the user and password, or a bearer token given to
    /// the client. Sent to the origin alone.
    presents: Credentials,
    /// The origin's connection, where the Handshake is made.
    origin: FlightServiceClient<Channel>,
    /// The token and when it expires (seconds since 1970; `u64::MAX` when unknown).
    token: std::sync::RwLock<(String, u64)>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Login(..)")
    }
}

impl Client {
    /// Connects to `grpc://host:port` (or `grpc+tls://host:port`, trusting the usual
    /// public roots; [`Client::builder`] sets another CA and credentials).
    ///
    /// The connection is tuned for bulk transfers and small calls alike: 16/32 MiB
    /// HTTP/2 windows, frames of up to 16 MiB from the server, no Nagle delay, and each
    /// request (headers and ticket) sent in one socket write.
    pub async fn connect(location: &str) -> Result<Self> {
        Self::builder(location).connect().await
    }

    /// A connection with options: TLS, credentials.
    ///
    /// ```no_run
    /// # async fn run() -> fastflight::Result<()> {
    /// use fastflight::tls::ClientTls;
    /// let client = fastflight::Client::builder("grpc+tls://flight.example.com:8815")
    ///     .tls(ClientTls::new().ca_file("ca.pem")?)
    ///     .basic("ada", "s3cret")
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(location: &str) -> ClientBuilder {
        ClientBuilder {
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

    /// A client over a channel made elsewhere.
    pub fn from_channel(channel: Channel) -> Self {
        Self {
            inner: grpc_client(channel),
            more: std::sync::Arc::new([]),
            turn: std::sync::Arc::default(),
            compression: None,
            headers: tonic::metadata::MetadataMap::new(),
            timeout: None,
            login: None,
            origin: None,
            trust: std::sync::Arc::default(),
            open_timeout: DEFAULT_OPEN_TIMEOUT,
            exchanged: std::sync::Arc::default(),
            tls: None,
            partitioned: std::sync::Arc::default(),
            guard: None,
            located: std::sync::Arc::default(),
        }
    }

    /// The connection the next call goes over: each in turn.
    fn grpc(&self) -> FlightServiceClient<Channel> {
        if self.more.is_empty() {
            return self.inner.clone();
        }
        let turn =
            self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % (self.more.len() + 1);
        match turn {
            0 => self.inner.clone(),
            n => self.more[n - 1].clone(),
        }
    }

    /// The state of this client's circuit breaker (`None` without resilience).
    pub fn circuit(&self) -> Option<crate::resilience::Circuit> {
        self.guard.as_ref().map(|g| g.circuit())
    }

    /// Runs one opening of a call under the client's retries and breaker.
    async fn guarded<T, F, Fut>(&self, attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        match &self.guard {
            Some(guard) => guard.call(attempt).await,
            None => {
                let mut attempt = attempt;
                attempt().await
            }
        }
    }

    /// Sends `authorization: Bearer <token>` with every call: a static token of a
    /// service account, or one from a Handshake made elsewhere. It replaces the
    /// credentials of an earlier [`Client::authenticate_basic`] on this clone.
    pub fn with_bearer(mut self, token: &str) -> Result<Self> {
        let value = secret(Credentials::Bearer(token.to_owned()))?;
        self.headers.insert(AUTHORIZATION, value);
        self.login = None;
        // Clients of other locations carry the settings they were made with:
        // this clone gets its own.
        self.located = std::sync::Arc::default();
        self.exchanged = std::sync::Arc::default();
        Ok(self)
    }

    /// Trades `user` and `password` for a token with the server's Handshake (as
    /// pyarrow's `authenticate_basic_token` does), then sends the token with every call;
    /// shortly before it expires, the next call authenticates again. Wrong credentials
    /// fail here with `Unauthenticated`.
    ///
    /// ```no_run
    /// # async fn run() -> fastflight::Result<()> {
    /// let client = fastflight::Client::connect("grpc://127.0.0.1:8815")
    ///     .await?
    ///     .authenticate_basic("ada", "s3cret")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn authenticate_basic(mut self, user: &str, password: &str) -> Result<Self> {
        let basic = Credentials::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        };
        let token = handshake(&self.inner, &basic).await?;
        self.login = Some(std::sync::Arc::new(Login {
            presents: basic,
            origin: self.inner.clone(),
            token: std::sync::RwLock::new(token),
        }));
        // A bearer header given before is replaced by the login's token.
        self.headers.remove(AUTHORIZATION);
        // Clients of other locations carry the settings they were made with:
        // this clone gets its own.
        self.located = std::sync::Arc::default();
        self.exchanged = std::sync::Arc::default();
        Ok(self)
    }

    /// Renews the login's token when it expires within half a minute.
    pub(crate) async fn fresh(&self) -> Result<()> {
        let Some(login) = &self.login else {
            return Ok(());
        };
        let expires = login.token.read().map_or(0, |t| t.1);
        if expires > unix_now() + 30 {
            return Ok(());
        }
        let renewed = handshake(&login.origin, &login.presents).await?;
        if let Ok(mut token) = login.token.write() {
            *token = renewed;
        }
        Ok(())
    }

    /// Sends a header (gRPC metadata, which services read from their `Context`) with
    /// every call of this client. For one call, use a clone: clones are cheap.
    ///
    /// ```no_run
    /// # async fn run(client: fastflight::Client) -> fastflight::Result<()> {
    /// let tenant = client.clone().with_header("x-tenant", "acme")?;
    /// # Ok(()) }
    /// ```
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self> {
        let key = tonic::metadata::MetadataKey::from_bytes(name.as_bytes())
            .map_err(|e| Error::Config(format!("bad header name `{name}`: {e}")))?;
        let value = value
            .parse()
            .map_err(|e| Error::Config(format!("bad value for header `{name}`: {e}")))?;
        self.headers.insert(key, value);
        // Clients of other locations carry the settings they were made with:
        // this clone gets its own.
        self.located = std::sync::Arc::default();
        self.exchanged = std::sync::Arc::default();
        Ok(self)
    }

    /// Gives every call of this client a deadline: the server is told (`grpc-timeout`)
    /// and the call fails with `DeadlineExceeded` when it has not answered in time.
    /// For one call, use a clone.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        // Clients of other locations carry the settings they were made with:
        // this clone gets its own.
        self.located = std::sync::Arc::default();
        self
    }

    /// A request with this client's headers, token, deadline and compression.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        for entry in self.headers.iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(key, value) = entry {
                request.metadata_mut().insert(key.clone(), value.clone());
            }
        }
        if let Some(login) = &self.login {
            let token = login.token.read().map(|t| t.0.clone()).unwrap_or_default();
            if let Ok(bearer) = secret(Credentials::Bearer(token)) {
                request.metadata_mut().insert(AUTHORIZATION, bearer);
            }
        }
        if let Some(compression) = self.compression {
            request.metadata_mut().insert(
                COMPRESSION_HEADER,
                tonic::metadata::MetadataValue::from_static(compression.header_value()),
            );
        }
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        request
    }

    /// Asks the server to compress the record batches of every fetch.
    ///
    /// ```no_run
    /// # async fn run() -> fastflight::Result<()> {
    /// use fastflight::client::Compression;
    /// let client = fastflight::Client::connect("grpc://127.0.0.1:8815").await?.with_compression(Compression::Lz4);
    /// # Ok(()) }
    /// ```
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        // Clients of other locations carry the settings they were made with:
        // this clone gets its own.
        self.located = std::sync::Arc::default();
        self
    }

    /// The generated Flight client underneath, for RPCs this type does not wrap.
    pub fn flight_client(&self) -> FlightServiceClient<Channel> {
        self.inner.clone()
    }

    /// Fetches the result of a typed request. A request of a partitioned service (the
    /// server's listing says which, learnt once per client) is read through its
    /// endpoints ([`Client::fetch_spread`]; a request the service leaves whole with one
    /// DoGet still); any other with one DoGet.
    pub async fn fetch<R: FlightRequest>(&self, request: R) -> Result<RecordBatchStream> {
        let ticket = ticket::encode(&request)?;
        if self.is_partitioned(R::NAME).await {
            return self.fetch_spread(ticket).await;
        }
        self.fetch_ticket(ticket).await
    }

    /// Whether the server splits requests named `name` into partitions (from its
    /// `list_services`, asked once per client and its clones; a server without the
    /// listing has none).
    pub async fn is_partitioned(&self, name: &str) -> bool {
        let names = self
            .partitioned
            .get_or_init(|| async {
                match self.list_services().await {
                    Ok(services) => services
                        .into_iter()
                        .filter(|s| s.partitioned)
                        .map(|s| s.name)
                        .collect(),
                    Err(_) => Default::default(),
                }
            })
            .await;
        names.contains(name)
    }

    /// GetFlightInfo, under the client's retries.
    pub(crate) async fn info_of(&self, descriptor: FlightDescriptor) -> Result<FlightInfo> {
        self.guarded(|| async {
            let request = self.request(descriptor.clone());
            Ok(self.grpc().get_flight_info(request).await?.into_inner())
        })
        .await
    }

    /// Whether this client carries credentials: a login, or any header given to it
    /// (an `authorization`, or an API key or cookie of one's own: all are kept from
    /// locations it does not trust).
    fn has_credentials(&self) -> bool {
        self.login.is_some() || !self.headers.is_empty()
    }

    /// Whether this client may read `location` with its credentials (see
    /// [`crate::trust`]); always for a client without credentials.
    pub(crate) async fn trusts(&self, location: &str) -> Result<()> {
        if !self.has_credentials() {
            return Ok(());
        }
        self.trust.check(self.origin.as_deref(), location).await
    }

    /// A client of another location with this client's TLS, settings and, when the
    /// location is trusted, its token: the login's (renewed at the origin), or one the
    /// origin issued for a bearer token given to this client. Never its password or the
    /// bearer token itself.
    pub(crate) async fn at(&self, location: &str) -> Result<Client> {
        self.trusts(location).await?;
        let login = if self.has_credentials() {
            self.forwarded().await?
        } else {
            None
        };
        let mut builder = Client::builder(location)
            .connections(self.more.len() + 1)
            .open_timeout(self.open_timeout);
        builder.liveness = true;
        if let Some(tls) = &self.tls {
            builder = builder.tls(tls.clone());
        }
        let mut client = builder.connect().await?;
        client.headers = self.headers.clone();
        client.headers.remove(AUTHORIZATION);
        client.timeout = self.timeout;
        client.compression = self.compression;
        client.open_timeout = self.open_timeout;
        client.login = login;
        Ok(client)
    }

    /// The login whose token goes to other locations: this client's own, or, for a
    /// bearer token given to it, a token the origin's Handshake issued for it (none
    /// when the origin has no Handshake: the location is then read without credentials).
    async fn forwarded(&self) -> Result<Option<std::sync::Arc<Login>>> {
        if let Some(login) = &self.login {
            return Ok(Some(std::sync::Arc::clone(login)));
        }
        let exchanged = self
            .exchanged
            .get_or_try_init(|| async {
                let Some(presents) = self
                    .headers
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| Credentials::parse(v).ok())
                else {
                    return Ok(None);
                };
                match handshake(&self.inner, &presents).await {
                    Ok(token) => Ok(Some(std::sync::Arc::new(Login {
                        presents,
                        origin: self.inner.clone(),
                        token: std::sync::RwLock::new(token),
                    }))),
                    Err(e) if e.code() == tonic::Code::Unimplemented => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(exchanged.clone())
    }

    /// Fetches the result of raw ticket bytes (a request written in another language, say).
    pub async fn fetch_ticket(&self, ticket: impl Into<Bytes>) -> Result<RecordBatchStream> {
        self.fresh().await?;
        let ticket: Bytes = ticket.into();
        // One timer for the whole call: the opening (with its retries), then every batch.
        let mut deadline = self.timeout.map(|t| (Box::pin(tokio::time::sleep(t)), t));
        let open = || async {
            let request = self.request(Ticket::new(ticket.clone()));
            let response = self.grpc().do_get(request).await?.into_inner();
            RecordBatchStream::start(Decoder::new(response)).await
        };
        let call = self.guarded(open);
        let mut stream = match &mut deadline {
            Some((sleep, timeout)) => tokio::select! {
                opened = call => opened?,
                () = sleep.as_mut() => return Err(deadline_exceeded(*timeout)),
            },
            None => call.await?,
        };
        stream.deadline = deadline;
        Ok(stream)
    }

    /// The messages of a DoGet as the server sent them, the schema's first, undecoded:
    /// for a relay that passes them on (the gateway's proxy writes them as an Arrow IPC
    /// stream without decoding and encoding the batches again). Opened under the
    /// client's retries; the client's deadline covers the whole stream.
    pub(crate) async fn fetch_messages(
        &self,
        ticket: Bytes,
    ) -> Result<futures::stream::BoxStream<'static, Result<FlightData>>> {
        self.fresh().await?;
        let open = || async {
            let request = self.request(Ticket::new(ticket.clone()));
            let mut messages = self.grpc().do_get(request).await?.into_inner();
            let first = messages
                .message()
                .await?
                .ok_or_else(|| Error::status(tonic::Code::Internal, "the server sent no schema"))?;
            Ok((first, messages))
        };
        // One timer for the whole call: the opening (with its retries), then every message.
        let mut deadline = self.timeout.map(|t| (Box::pin(tokio::time::sleep(t)), t));
        let opened = self.guarded(open);
        let (first, rest) = match &mut deadline {
            Some((sleep, timeout)) => tokio::select! {
                opened = opened => opened?,
                () = sleep.as_mut() => return Err(deadline_exceeded(*timeout)),
            },
            None => opened.await?,
        };
        let messages = futures::stream::once(async { Ok(first) })
            .chain(rest.map(|m| m.map_err(Error::from)))
            .boxed();
        Ok(match deadline {
            // Past the deadline the stream ends with its error.
            Some((deadline, timeout)) => futures::stream::unfold(
                (messages, Some(deadline)),
                move |(mut messages, deadline)| async move {
                    let mut deadline = deadline?;
                    tokio::select! {
                        item = messages.next() => {
                            item.map(|item| (item, (messages, Some(deadline))))
                        }
                        () = deadline.as_mut() => {
                            Some((Err(deadline_exceeded(timeout)), (messages, None)))
                        }
                    }
                },
            )
            .boxed(),
            None => messages,
        })
    }

    /// GetFlightInfo for a request: its schema and the endpoint to fetch it from.
    pub async fn flight_info<R: FlightRequest>(&self, request: &R) -> Result<FlightInfo> {
        let descriptor = FlightDescriptor::new_cmd(ticket::encode(request)?);
        self.fresh().await?;
        self.info_of(descriptor).await
    }

    /// The services the server offers (the `list_services` action).
    pub async fn list_services(&self) -> Result<Vec<ServiceInfo>> {
        let body = self.action("list_services").await?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::status(
                tonic::Code::Internal,
                format!("bad list_services answer: {e}"),
            )
        })
    }

    /// Runs an action and returns the body of its first result.
    pub async fn action(&self, name: &str) -> Result<Bytes> {
        self.action_with(name, Bytes::new()).await
    }

    /// Runs an action with a body and returns the body of its first result.
    pub(crate) async fn action_with(&self, name: &str, body: Bytes) -> Result<Bytes> {
        self.fresh().await?;
        let mut results = self
            .guarded(|| async {
                let action = self.request(Action::new(name.to_owned(), body.clone()));
                Ok(self.grpc().do_action(action).await?.into_inner())
            })
            .await?;
        match results.message().await? {
            Some(result) => Ok(result.body),
            None => Ok(Bytes::new()),
        }
    }

    /// ListFlights: one `FlightInfo` per service.
    pub async fn list_flights(&self) -> Result<Vec<FlightInfo>> {
        self.fresh().await?;
        let stream = self
            .grpc()
            .list_flights(self.request(Criteria::default()))
            .await?
            .into_inner();
        Ok(stream.try_collect().await?)
    }
}

/// Connections a client opens to one location at most ([`ClientBuilder::connections`]).
pub const MAX_CONNECTIONS: usize = 64;

/// The generated client over a channel, with no message size limit of its own (the
/// server's frames are bounded by the server).
fn grpc_client(channel: Channel) -> FlightServiceClient<Channel> {
    FlightServiceClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long another location of a partitioned result may take to connect and to answer
/// pings, by default ([`ClientBuilder::open_timeout`]).
pub const DEFAULT_OPEN_TIMEOUT: Duration = Duration::from_secs(4);

/// How often a connection with calls open is pinged, and how long an answer may take.
const KEEPALIVE: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The Handshake with `basic` credentials: the token (from the `authorization: Bearer`
/// response header, or the first response message) and when it expires.
async fn handshake(
    client: &FlightServiceClient<Channel>,
    basic: &Credentials,
) -> Result<(String, u64)> {
    let mut request =
        tonic::Request::new(futures::stream::empty::<arrow_flight::HandshakeRequest>());
    request
        .metadata_mut()
        .insert(AUTHORIZATION, secret(basic.clone())?);
    let response = client.clone().handshake(request).await?;
    let from_header = response
        .metadata()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = match from_header {
        Some(token) => token,
        None => {
            let mut messages = response.into_inner();
            let first = messages.message().await?.ok_or_else(|| {
                Error::status(tonic::Code::Unauthenticated, "the Handshake gave no token")
            })?;
            String::from_utf8(first.payload.to_vec()).map_err(|_| {
                Error::status(
                    tonic::Code::Unauthenticated,
                    "the Handshake's token is not text",
                )
            })?
        }
    };
    let expires = token_expiry(&token).unwrap_or(u64::MAX);
    Ok((token, expires))
}

/// Credentials as a header value kept out of debug output.
fn secret(
    credentials: Credentials,
) -> Result<tonic::metadata::MetadataValue<tonic::metadata::Ascii>> {
    let mut value: tonic::metadata::MetadataValue<tonic::metadata::Ascii> = credentials
        .header_value()
        .parse()
        .map_err(|_| Error::Config("credentials must be printable ASCII".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// The `exp` claim of a JSON Web Token, read without checking it (the server does).
fn token_expiry(token: &str) -> Option<u64> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&json).ok()?["exp"].as_u64()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The batches of one result; its schema is known before the first batch.
///
/// An error after some batches (the service failed, the connection broke) comes
/// as an `Err` item with the server's status code, so a partial result is never
/// mistaken for a complete one.
pub struct RecordBatchStream {
    schema: SchemaRef,
    decoder: Batches,
    /// The call's deadline (see [`Client::with_timeout`]), over the whole stream.
    deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
}

impl std::fmt::Debug for RecordBatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatchStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

fn deadline_exceeded(timeout: Duration) -> Error {
    Error::status(
        tonic::Code::DeadlineExceeded,
        format!("the call did not finish within its deadline of {timeout:?}"),
    )
}

/// Where a result's batches come from: one DoGet, or the endpoints of a partitioned result.
enum Batches {
    Flight(Box<Decoder<tonic::Streaming<FlightData>>>),
    Parts(futures::stream::BoxStream<'static, Result<RecordBatch>>),
}

impl RecordBatchStream {
    /// A result read from the endpoints of a partitioned request.
    pub(crate) fn of_parts(
        schema: SchemaRef,
        batches: futures::stream::BoxStream<'static, Result<RecordBatch>>,
    ) -> Self {
        Self {
            schema,
            decoder: Batches::Parts(batches),
            deadline: None,
        }
    }

    async fn start(mut decoder: Decoder<tonic::Streaming<FlightData>>) -> Result<Self> {
        match decoder.next().await {
            Some(Ok(Decoded::Schema(schema))) => Ok(Self {
                schema,
                decoder: Batches::Flight(Box::new(decoder)),
                deadline: None,
            }),
            Some(Err(e)) => Err(e),
            // (The decoder refuses a batch before the schema.)
            Some(Ok(Decoded::Batch(_))) | None => Err(Error::status(
                tonic::Code::Internal,
                "the server ended the stream without sending a schema",
            )),
        }
    }

    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }

    /// All batches, in order.
    pub async fn collect(self) -> Result<Vec<RecordBatch>> {
        self.try_collect().await
    }

    /// All batches concatenated into one (of zero rows for an empty result).
    pub async fn concat(self) -> Result<RecordBatch> {
        let schema = self.schema();
        let batches = self.collect().await?;
        Ok(arrow::compute::concat_batches(&schema, &batches)?)
    }
}

impl Stream for RecordBatchStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if let Some((sleep, timeout)) = &mut self.deadline {
            if sleep.as_mut().poll(cx).is_ready() {
                let timeout = *timeout;
                self.deadline = None;
                // Nothing more is read: dropping the decoder cancels the call.
                self.decoder = Batches::Parts(futures::stream::empty().boxed());
                return Poll::Ready(Some(Err(deadline_exceeded(timeout))));
            }
        }
        let decoder = match &mut self.decoder {
            Batches::Parts(parts) => return parts.poll_next_unpin(cx),
            Batches::Flight(decoder) => decoder,
        };
        loop {
            return match decoder.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(Decoded::Batch(batch)))) => Poll::Ready(Some(Ok(batch))),
                // (The decoder refuses a second schema.)
                Poll::Ready(Some(Ok(Decoded::Schema(_)))) => continue,
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl FetchRequest for Client {
    type Output = BoxFuture<'static, Result<RecordBatchStream>>;

    fn fetch_request<R: FlightRequest>(&self, request: R) -> Self::Output {
        let client = self.clone();
        async move { client.fetch(request).await }.boxed()
    }
}

//! The client's wing, as `server/` is the server's. The path of one call:
//!
//! - [`Client`] (this file): the connections to one location, taken in turn, and what
//!   every call carries (`options.rs`: headers, deadline, compression, login);
//! - `builder.rs`: how a client connects ([`ClientBuilder`]);
//! - `login.rs`: the Handshake, and the token renewed before it expires;
//! - `calls.rs`: the calls (`fetch`, `fetch_ticket`, listings, actions), each opened
//!   by one helper under the retries and the deadline;
//! - `stream.rs`: the result ([`RecordBatchStream`]) and the deadline over a stream;
//! - `parts.rs`: reading a partitioned result at its endpoints, with `trust.rs`
//!   (where credentials may go); `sql.rs`: a SQL statement sent as Flight SQL, its
//!   result read the same way;
//! - `resilience.rs` (retries, the breaker), `socket.rs` (the socket), `blocking.rs`
//!   (the blocking client over this one); the messages are decoded into batches by
//!   [`crate::ipc`]'s `decode/`.
//!
//! Like `server/`, it imports from `wire.rs`, never from the server.

pub mod blocking;
mod builder;
mod calls;
mod login;
mod options;
pub mod parts;
pub mod resilience;
mod rows;
mod socket;
mod sql;
mod stream;
pub mod trust;

use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_client::FlightServiceClient;
use tonic::transport::Channel;

pub use builder::{ClientBuilder, DEFAULT_OPEN_TIMEOUT, MAX_CONNECTIONS};
pub use rows::RowStream;
pub use stream::RecordBatchStream;

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
    more: Arc<[FlightServiceClient<Channel>]>,
    /// The next connection's number.
    turn: Arc<std::sync::atomic::AtomicUsize>,
    /// What every call carries.
    options: options::CallOptions,
    /// The location it connected to: where its password goes, the host it trusts.
    origin: Option<Arc<str>>,
    /// The other hosts it trusts with its credentials (see [`trust`]).
    trust: Arc<trust::Trust>,
    /// How long another location may take to connect and to answer pings.
    open_timeout: Duration,
    /// The TLS it connected with, for the other locations of a partitioned result.
    tls: Option<crate::tls::ClientTls>,
    /// The names of the server's partitioned services, learnt at the first typed fetch.
    partitioned: Arc<tokio::sync::OnceCell<std::collections::HashSet<String>>>,
    /// Retries and the circuit breaker, when configured.
    guard: Option<Arc<resilience::Guard>>,
    /// What was made for the call options of this client, for the other locations of
    /// partitioned results: their clients, and a bearer token traded at the origin.
    /// Shared by clones until one changes its options ([`Client::reconfigured`]).
    derived: Arc<Derived>,
}

/// What a client made for its call options, kept for its next reads.
#[derive(Debug, Default)]
struct Derived {
    /// Clients of the other locations a partitioned result named.
    located: tokio::sync::Mutex<std::collections::HashMap<String, Client>>,
    /// A bearer token given to this client, traded at the origin for a token of its own
    /// (made at first need).
    exchanged: tokio::sync::OnceCell<Option<Arc<login::Login>>>,
}

impl Client {
    /// Connects to `grpc://host:port` (or `grpc+tls://host:port`, trusting the usual
    /// public roots; [`Client::builder`] sets another CA and credentials).
    ///
    /// The connection is tuned for bulk transfers and small calls alike: 16/32 MiB
    /// HTTP/2 windows, frames of up to 16 MiB from the server, no Nagle delay, and each
    /// request (headers and ticket) sent in one socket write.
    pub async fn connect(location: &str) -> crate::Result<Self> {
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
        ClientBuilder::new(location)
    }

    /// A client over a channel made elsewhere.
    pub fn from_channel(channel: Channel) -> Self {
        Self {
            inner: builder::grpc_client(channel),
            more: Arc::new([]),
            turn: Arc::default(),
            options: options::CallOptions::default(),
            origin: None,
            trust: Arc::default(),
            open_timeout: DEFAULT_OPEN_TIMEOUT,
            tls: None,
            partitioned: Arc::default(),
            guard: None,
            derived: Arc::default(),
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

    /// This clone with other call options: what was made for the old ones (clients of
    /// other locations, a traded token) is its own no more.
    fn reconfigured(mut self, change: impl FnOnce(&mut options::CallOptions)) -> Self {
        change(&mut self.options);
        self.derived = Arc::default();
        self
    }

    /// The state of this client's circuit breaker (`None` without resilience).
    pub fn circuit(&self) -> Option<resilience::Circuit> {
        self.guard.as_ref().map(|g| g.circuit())
    }

    /// The generated Flight client underneath, for RPCs this type does not wrap.
    pub fn flight_client(&self) -> FlightServiceClient<Channel> {
        self.inner.clone()
    }
}

//! The Flight server: a builder, binding, serving and graceful shutdown.
//!
//! The path of a DoGet: `doget` (route) → `grpc` (the ticket's message) → the dispatch
//! (decode, lookup, invoke, guarded stream) → `ipc` (frames); `ARCHITECTURE.md` in the
//! repository walks it.

mod doget;
mod flight;
mod grpc;
mod ipc;

use std::future::Future;
use std::net::SocketAddr;

use futures::TryStreamExt;
use tokio::net::TcpListener;

pub use doget::FlightRoutes;
pub use flight::ACTIONS;

use crate::dispatch::Dispatcher;
use crate::registry::Registry;
use crate::service::States;
use crate::wire::{host_port, CONNECTION_WINDOW, STREAM_WINDOW};
use crate::{Error, Result};

pub use crate::wire::DEFAULT_LOCATION;

/// Encoded Flight messages above this size are split (the IPC default is 2 MiB; batches stay whole up to this).
pub const DEFAULT_MAX_FLIGHT_DATA_SIZE: usize = 64 * 1024 * 1024;

/// Request messages (tickets, descriptors, actions) above this size are refused.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The largest `max_flight_data_size`: a gRPC message's length is a u32.
const MAX_MESSAGE: usize = u32::MAX as usize - 1024;

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
            max_flight_data_size: DEFAULT_MAX_FLIGHT_DATA_SIZE,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        }
    }
}

/// Configures a [`Server`].
pub struct ServerBuilder {
    location: String,
    registry: Option<Registry>,
    states: States,
    max_flight_data_size: usize,
    max_request_bytes: usize,
}

impl ServerBuilder {
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
        self.max_flight_data_size = bytes.clamp(1, MAX_MESSAGE);
        self
    }

    /// The largest request message accepted (a ticket, a descriptor, an action).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Checks the registry and the states, and binds the listening socket.
    pub async fn bind(self) -> Result<BoundServer> {
        let addr = host_port(&self.location)?;
        let registry = match self.registry {
            Some(registry) => registry,
            None => Registry::global()?.clone(),
        };
        registry.check_states(&self.states)?;
        if registry.is_empty() {
            tracing::warn!(
                "this server has no services: no #[data_service] is linked into the binary (a library crate of services is linked only when used: add `use my_services as _;`), or the registry given to the builder is empty"
            );
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", self.location)))?;
        let local_addr = listener.local_addr()?;
        let dispatcher = Dispatcher::new(registry, self.states);
        let limits = doget::Limits {
            max_flight_data_size: self.max_flight_data_size,
            max_request_bytes: self.max_request_bytes,
        };
        Ok(BoundServer {
            listener,
            local_addr,
            routes: FlightRoutes::new(dispatcher.clone(), limits),
            dispatcher,
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
}

impl BoundServer {
    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The location clients connect to: `grpc://IP:PORT`.
    pub fn location(&self) -> String {
        format!("grpc://{}", self.local_addr)
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

    /// Serves until the process ends.
    pub async fn serve(self) -> Result<()> {
        self.serve_with_shutdown(std::future::pending()).await
    }

    /// Serves until `signal` completes, then refuses new requests and lets streams in flight finish.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<()> {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(self.listener).map_ok(|s| {
            let _ = s.set_nodelay(true);
            s
        });
        tonic::transport::Server::builder()
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .add_service(self.routes)
            .serve_with_incoming_shutdown(incoming, signal)
            .await?;
        Ok(())
    }
}

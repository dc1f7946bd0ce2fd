//! The Flight server: a builder, binding, serving and graceful shutdown.

mod doget;
mod flight;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use futures::TryStreamExt;
use tokio::net::TcpListener;

pub use flight::FlightHandler;

use crate::location::host_port;
use crate::registry::Registry;
use crate::service::States;
use crate::{Error, Result};

/// The default location, as the Python package has it.
pub const DEFAULT_LOCATION: &str = "grpc://0.0.0.0:8815";

/// Encoded Flight messages above this size are split (the IPC default is 2 MiB; batches stay whole up to this).
pub const DEFAULT_MAX_FLIGHT_DATA_SIZE: usize = 64 * 1024 * 1024;

const STREAM_WINDOW: u32 = 16 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 32 * 1024 * 1024;

/// A Flight server serving every `#[data_service]` of the binary.
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
    /// A builder with the default location and no state.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            location: DEFAULT_LOCATION.to_owned(),
            states: States::default(),
            max_flight_data_size: DEFAULT_MAX_FLIGHT_DATA_SIZE,
        }
    }
}

/// Configures a [`Server`].
pub struct ServerBuilder {
    location: String,
    states: States,
    max_flight_data_size: usize,
}

impl ServerBuilder {
    /// Where to listen: `grpc://HOST:PORT`; port 0 picks a free port.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = location.into();
        self
    }

    /// Shared state that services take as `State<T>`.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// The size above which an encoded batch is split into several Flight messages.
    pub fn max_flight_data_size(mut self, bytes: usize) -> Self {
        self.max_flight_data_size = bytes;
        self
    }

    /// Checks the registry and the states, and binds the listening socket.
    pub async fn bind(self) -> Result<BoundServer> {
        let addr = host_port(&self.location)?;
        let registry = Registry::global()?;
        registry.check_states(&self.states)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", self.location)))?;
        let local_addr = listener.local_addr()?;
        Ok(BoundServer {
            listener,
            local_addr,
            handler: FlightHandler::new(registry, Arc::new(self.states), self.max_flight_data_size),
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
    handler: FlightHandler,
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

    /// The Flight service itself, to mount in a tonic router of one's own.
    pub fn handler(&self) -> FlightHandler {
        self.handler.clone()
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
        let generated = FlightServiceServer::new(self.handler.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let service = doget::Routes {
            generated,
            handler: self.handler,
        };
        tonic::transport::Server::builder()
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, signal)
            .await?;
        Ok(())
    }
}

/// Window sizes the client uses too, so both ends agree.
pub(crate) fn windows() -> (u32, u32) {
    (STREAM_WINDOW, CONNECTION_WINDOW)
}

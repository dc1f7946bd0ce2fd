//! One connection of the Flight server, let go once idle: no request open and none
//! begun for `idle_timeout`. Keep-alive pings (which keep a connection with open
//! streams alive) do not count as use.
//!
//! [`Tracked`] wraps the socket and closes it (end of input, so the HTTP/2 connection
//! ends) once its [`Activity`] has been idle long enough; [`CountRequests`] marks each
//! request open from its arrival until its response body is dropped, and hands the
//! services the usual [`TcpConnectInfo`] and, over TLS, the client's certificates.
//! A gRPC health `Watch` is not counted: it answers for ever, and an idle connection
//! holding one is closed like any idle connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::Body;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How one connection is used: requests open now, and when one last began or ended.
#[derive(Debug)]
pub(crate) struct Activity {
    open: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            open: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        })
    }

    fn touch(&self) {
        if let Ok(mut last) = self.last.lock() {
            *last = Instant::now();
        }
    }

    /// When the connection is idle long enough to close: `None` while requests are open.
    fn idle_until(&self, idle: Duration) -> Option<Instant> {
        if self.open.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let last = self.last.lock().map_or_else(|_| Instant::now(), |l| *l);
        Some(last + idle)
    }

    /// One more request open on the connection, until the value is dropped.
    pub(crate) fn open(self: &Arc<Self>) -> Open {
        self.open.fetch_add(1, Ordering::SeqCst);
        self.touch();
        Open(Arc::clone(self))
    }
}

/// One open request; the connection counts it until this is dropped.
pub(crate) struct Open(Arc<Activity>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.touch();
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a request knows of its connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    tcp: TcpConnectInfo,
    activity: Arc<Activity>,
}

/// An accepted socket that ends its input once idle for `idle`.
pub(crate) struct Tracked {
    io: TcpStream,
    activity: Arc<Activity>,
    idle: Option<Duration>,
    timer: Pin<Box<Sleep>>,
}

impl Tracked {
    pub(crate) fn new(io: TcpStream, idle: Option<Duration>) -> Self {
        let first = idle.unwrap_or(Duration::from_secs(3600));
        Self {
            io,
            activity: Activity::new(),
            idle,
            timer: Box::pin(tokio::time::sleep(first)),
        }
    }

    /// How the connection is used, for a server that counts its requests itself (the
    /// gateway).
    #[cfg(feature = "rest")]
    pub(crate) fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.activity)
    }

    /// Whether the connection has been idle for its limit; otherwise the timer is set to
    /// the next moment it could be.
    fn idle_past(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(idle) = self.idle else {
            return false;
        };
        while self.timer.as_mut().poll(cx).is_ready() {
            match self.activity.idle_until(idle) {
                Some(at) if at <= Instant::now() => return true,
                Some(at) => self.timer.as_mut().reset(at),
                // Requests are open: look again a period later.
                None => self.timer.as_mut().reset(Instant::now() + idle),
            }
        }
        false
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.idle_past(cx) {
            tracing::debug!("closing a connection idle past idle_timeout");
            // The end of input: the connection closes as if the peer had left.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Connected for Tracked {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        ConnInfo {
            tcp: self.io.connect_info(),
            activity: Arc::clone(&self.activity),
        }
    }
}

/// The layer that counts a connection's open requests (see the module).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CountRequests;

impl<S> tower_layer::Layer<S> for CountRequests {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted(inner)
    }
}

/// A service whose requests are counted open on their connection.
#[derive(Debug, Clone)]
pub(crate) struct Counted<S>(S);

type HttpRequest = http::Request<tonic::body::Body>;

/// The gRPC health service's streaming check: not counted as use of its connection.
const HEALTH_WATCH: &str = "/grpc.health.v1.Health/Watch";

impl<S> tower_service::Service<HttpRequest> for Counted<S>
where
    S: tower_service::Service<HttpRequest, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: HttpRequest) -> Self::Future {
        // Over TLS, tonic gives the socket's own information and the TLS session's.
        let certificates = request
            .extensions()
            .get::<tonic::transport::server::TlsConnectInfo<ConnInfo>>()
            .and_then(|tls| tls.peer_certs());
        if let Some(certificates) = certificates {
            request
                .extensions_mut()
                .insert(crate::auth::ClientCertificates(certificates));
        }
        let info = request.extensions().get::<ConnInfo>().cloned();
        let watch = request.uri().path() == HEALTH_WATCH;
        let open = info.map(|info| {
            request.extensions_mut().insert(info.tcp);
            (!watch).then(|| info.activity.open())
        });
        let open = open.flatten();
        let response = self.0.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(match open {
                Some(open) => response.map(|body| tonic::body::Body::new(Held::new(body, open))),
                None => response,
            })
        })
    }
}

/// A response body that keeps its request counted open until it is dropped.
pub(crate) struct Held<B> {
    body: B,
    _open: Open,
}

impl<B> Held<B> {
    pub(crate) fn new(body: B, open: Open) -> Self {
        Self { body, _open: open }
    }
}

impl<B: Body + Unpin> Body for Held<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

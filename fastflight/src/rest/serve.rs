//! The gateway's serving loop: hyper's HTTP/1.1 with a header-read timeout, TLS
//! handshakes off the accept loop, the idle rule from accept, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use futures::StreamExt;

use crate::Result;

/// A gateway whose socket is bound.
pub struct BoundGateway {
    pub(super) listener: tokio::net::TcpListener,
    pub(super) local_addr: SocketAddr,
    pub(super) prefix: String,
    pub(super) limits: crate::Limits,
    pub(super) draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub(super) proxies: std::sync::Arc<crate::proxies::TrustedProxies>,
    pub(super) tls: Option<tokio_rustls::TlsAcceptor>,
    pub(super) router: Router,
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
            .header_read_timeout(self.limits.header_read_timeout);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut incoming = std::pin::pin!(crate::server::accepted(self.listener));
        let (draining, delay) = (
            std::sync::Arc::clone(&self.draining),
            self.limits.shutdown_delay,
        );
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
            let stream = crate::server::conn::Tracked::new(stream, self.limits.idle_timeout);
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

/// Serves one connection to its end.
async fn drive<E: std::fmt::Display>(
    connection: impl Future<Output = std::result::Result<(), E>>,
    peer: SocketAddr,
) {
    if let Err(e) = connection.await {
        tracing::debug!(%peer, error = %e, "gateway connection ended");
    }
}

//! The router of every Flight RPC and its authentication gate: [`FlightRoutes`] checks
//! what a caller presents once for every RPC but the Handshake, then sends DoGet to its
//! copy-free route ([`super::doget`]) and every other RPC to arrow-flight's generated
//! service ([`super::flight`]); a refusal answered at once says whose fault it is.

use std::convert::Infallible;
use std::task::{Context as TaskContext, Poll};

use arrow_flight::flight_service_server::FlightServiceServer;
use futures::future::BoxFuture;
use tonic::server::NamedService;
use tonic::Status;

use super::flight::FlightHandler;
use crate::dispatch::Dispatcher;

const DO_GET: &str = "/arrow.flight.protocol.FlightService/DoGet";
const HANDSHAKE: &str = "/arrow.flight.protocol.FlightService/Handshake";

pub(super) type HttpRequest = http::Request<tonic::body::Body>;
pub(super) type HttpResponse = http::Response<tonic::body::Body>;

/// The Flight service of a server, as a tonic service: mount it in a router of one's
/// own with `tonic::transport::Server::builder().add_service(bound.routes())`.
///
/// DoGet streams each record batch over its own Arrow buffers; every other RPC is
/// answered by arrow-flight's generated service over the same dispatch.
#[derive(Clone)]
pub struct FlightRoutes {
    generated: FlightServiceServer<FlightHandler>,
    pub(super) dispatcher: Dispatcher,
    /// Encoded batches above this are split into several messages.
    pub(super) max_flight_data_size: usize,
    /// The proxies whose `x-forwarded-for` names the caller.
    proxies: std::sync::Arc<crate::proxies::TrustedProxies>,
    /// What Flight SQL tickets are answered from.
    #[cfg_attr(not(feature = "flight-sql"), allow(dead_code))]
    pub(super) sql: super::SqlState,
}

impl FlightRoutes {
    pub(super) fn new(
        dispatcher: Dispatcher,
        max_flight_data_size: usize,
        topology: super::peers::Topology,
        proxies: crate::proxies::TrustedProxies,
        sql: super::SqlState,
    ) -> Self {
        let generated = FlightServiceServer::new(FlightHandler::new(
            dispatcher.clone(),
            topology,
            sql.clone(),
        ))
        .max_decoding_message_size(dispatcher.max_request_bytes())
        .max_encoding_message_size(usize::MAX);
        Self {
            generated,
            dispatcher,
            max_flight_data_size,
            proxies: std::sync::Arc::new(proxies),
            sql,
        }
    }
}

/// The generated service refuses a message above its decoding limit as `OutOfRange`
/// ("decoded message length too large"); every route says it the same way instead:
/// `ResourceExhausted`, naming the limit (logged with its caller).
fn named_size_refusal(
    response: HttpResponse,
    max: usize,
    caller: &crate::audit::Caller,
) -> HttpResponse {
    match Status::from_header_map(response.headers()) {
        Some(status)
            if status.code() == tonic::Code::OutOfRange
                && status.message().contains("message length too large") =>
        {
            let refusal = Status::resource_exhausted(format!(
                "a request message above {max} bytes is refused (max_request_bytes)"
            ));
            crate::audit::refused("flight", &crate::Error::from(refusal.clone()), caller.who());
            refusal.into_http()
        }
        _ => response,
    }
}

/// The caller of a request, as log lines name it.
pub(super) fn caller_of(request: &HttpRequest) -> crate::audit::Caller {
    crate::audit::Caller::new(
        request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr()),
        request
            .extensions()
            .get::<crate::auth::Identity>()
            .map(|i| i.name()),
    )
}

impl NamedService for FlightRoutes {
    const NAME: &'static str = "arrow.flight.protocol.FlightService";
}

impl tonic::codegen::Service<HttpRequest> for FlightRoutes {
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<HttpResponse, Infallible>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        tonic::codegen::Service::<HttpRequest>::poll_ready(&mut self.generated, cx)
    }

    fn call(&mut self, mut request: HttpRequest) -> Self::Future {
        let routes = self.clone();
        let path = request.uri().path();
        // Credentials are checked here, once for every RPC; the Handshake checks its own.
        let checked = self.dispatcher.auth().enabled() && path != HANDSHAKE;
        let do_get = path == DO_GET;
        if !self.proxies.is_empty() {
            behind_proxy(&mut request, &self.proxies);
        }
        Box::pin(async move {
            if checked {
                let presented = presented(&request);
                match routes.dispatcher.auth().identify("flight", presented).await {
                    Ok(identity) => {
                        if let Some(identity) = identity {
                            request.extensions_mut().insert(identity);
                        }
                    }
                    Err(e) => return Ok(caller_fault(Status::from(e).into_http())),
                }
            }
            if do_get {
                return Ok(caller_fault(routes.do_get(request).await));
            }
            let max = routes.dispatcher.max_request_bytes();
            let caller = caller_of(&request);
            let mut generated = routes.generated;
            Ok(caller_fault(named_size_refusal(
                generated.call(request).await?,
                max,
                &caller,
            )))
        })
    }
}

/// A call from a trusted proxy: its caller is the one the proxy names, for every step
/// after (credentials, logs, shares, the services' `Context`).
fn behind_proxy(request: &mut HttpRequest, proxies: &crate::proxies::TrustedProxies) {
    let Some(info) = request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .cloned()
    else {
        return;
    };
    let Some(connected) = info.remote_addr else {
        return;
    };
    let forwarded = request
        .headers()
        .get(crate::proxies::FORWARDED_FOR)
        .and_then(|v| v.to_str().ok());
    let caller = proxies.caller(connected, forwarded);
    if caller != connected {
        request
            .extensions_mut()
            .insert(tonic::transport::server::TcpConnectInfo {
                local_addr: info.local_addr,
                remote_addr: Some(caller),
            });
    }
}

/// What a request presents to be known: its `authorization` header, its address, and
/// its connection's client certificates.
fn presented<B>(request: &http::Request<B>) -> crate::auth::Presented<'_> {
    let extensions = request.extensions();
    crate::auth::Presented {
        header: request
            .headers()
            .get(crate::auth::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        peer: extensions
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr()),
        certificates: extensions.get::<crate::auth::ClientCertificates>(),
    }
}

/// A refusal answered at once (a status in the headers) says whose fault it is: the
/// caller's, unless it says the server's already (see [`crate::wire::FAULT_HEADER`]).
/// Statuses after a stream began are never retried and need no mark.
fn caller_fault(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    let refused = headers
        .get("grpc-status")
        .is_some_and(|code| code.as_bytes() != b"0");
    if refused && !headers.contains_key(crate::wire::FAULT_HEADER) {
        headers.insert(
            crate::wire::FAULT_HEADER,
            http::HeaderValue::from_static(crate::wire::Fault::Caller.header_value()),
        );
    }
    response
}

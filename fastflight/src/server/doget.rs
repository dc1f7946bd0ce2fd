//! DoGet, the one route of results: the request's ticket ([`grpc`]) → the dispatch →
//! the result's IPC frames ([`ipc`]) → the HTTP response. [`FlightRoutes`] sends every
//! DoGet here and every other Flight RPC to the generated service.

use std::convert::Infallible;
use std::task::{Context as TaskContext, Poll};

use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::flight_service_server::FlightServiceServer;
use arrow_flight::Ticket;
use futures::future::BoxFuture;
use prost::Message as _;
use tonic::server::NamedService;
use tonic::Status;

use super::flight::FlightHandler;
use crate::dispatch::Dispatcher;
use crate::ipc::{flight as ipc, grpc};
use crate::service::Context;

const DO_GET: &str = "/arrow.flight.protocol.FlightService/DoGet";
const HANDSHAKE: &str = "/arrow.flight.protocol.FlightService/Handshake";

type HttpRequest = http::Request<tonic::body::Body>;
type HttpResponse = http::Response<tonic::body::Body>;

/// The Flight service of a server, as a tonic service: mount it in a router of one's
/// own with `tonic::transport::Server::builder().add_service(bound.routes())`.
///
/// DoGet streams each record batch over its own Arrow buffers; every other RPC is
/// answered by arrow-flight's generated service over the same dispatch.
#[derive(Clone)]
pub struct FlightRoutes {
    generated: FlightServiceServer<FlightHandler>,
    dispatcher: Dispatcher,
    /// Encoded batches above this are split into several messages.
    max_flight_data_size: usize,
    /// The proxies whose `x-forwarded-for` names the caller.
    proxies: std::sync::Arc<crate::proxies::TrustedProxies>,
}

impl FlightRoutes {
    pub(super) fn new(
        dispatcher: Dispatcher,
        max_flight_data_size: usize,
        topology: super::peers::Topology,
        proxies: crate::proxies::TrustedProxies,
    ) -> Self {
        let generated = FlightServiceServer::new(FlightHandler::new(dispatcher.clone(), topology))
            .max_decoding_message_size(dispatcher.max_request_bytes())
            .max_encoding_message_size(usize::MAX);
        Self {
            generated,
            dispatcher,
            max_flight_data_size,
            proxies: std::sync::Arc::new(proxies),
        }
    }

    /// DoGet as an HTTP response; a refusal is a response of its status alone.
    async fn do_get(self, request: HttpRequest) -> HttpResponse {
        match self.do_get_stream(request).await {
            Ok(response) => response,
            Err(status) => status.into_http(),
        }
    }

    async fn do_get_stream(&self, request: HttpRequest) -> Result<HttpResponse, Status> {
        // Refusals before the dispatch (size, framing, compression) are logged and
        // counted here; the dispatch logs and counts its own.
        let caller = caller_of(&request);
        let (ticket, ctx, options) = self.read_request(request).await.inspect_err(|status| {
            crate::audit::refused("flight", &crate::Error::from(status.clone()), caller.who())
        })?;
        let result = self.dispatcher.open(&ticket.ticket, ctx, "flight").await?;
        let frames = ipc::frames(
            result.schema,
            result.batches,
            options,
            self.max_flight_data_size,
        )?;
        http::Response::builder()
            .header(http::header::CONTENT_TYPE, "application/grpc")
            .body(tonic::body::Body::new(http_body_util::StreamBody::new(
                frames,
            )))
            .map_err(|e| Status::internal(e.to_string()))
    }
}

impl FlightRoutes {
    /// The DoGet request's ticket, the call's context and the IPC options it asks for.
    async fn read_request(
        &self,
        request: HttpRequest,
    ) -> Result<(Ticket, Context, IpcWriteOptions), Status> {
        let (parts, body) = request.into_parts();
        let message =
            grpc::read_message(body, self.dispatcher.max_request_bytes(), "DoGet").await?;
        let ticket = Ticket::decode(message)
            .map_err(|e| Status::invalid_argument(format!("bad DoGet request: {e}")))?;
        let metadata = tonic::metadata::MetadataMap::from_headers(parts.headers);
        let options = ipc::write_options(&metadata)?;
        let peer = parts
            .extensions
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr());
        let identity = parts.extensions.get::<crate::auth::Identity>().cloned();
        Ok((ticket, Context::of(metadata, peer, identity), options))
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
fn caller_of(request: &HttpRequest) -> crate::audit::Caller {
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
pub(super) fn presented<B>(request: &http::Request<B>) -> crate::auth::Presented<'_> {
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

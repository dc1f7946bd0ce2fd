//! DoGet, the one route of results: the request's ticket ([`grpc`]) → the dispatch →
//! the result's IPC frames ([`ipc`]) → the HTTP response. [`super::routes`] sends
//! every DoGet here once its caller is known.

use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::Ticket;
use prost::Message as _;
use tonic::Status;

use super::routes::{caller_of, FlightRoutes, HttpRequest, HttpResponse};
use crate::ipc::{flight as ipc, grpc};
use crate::service::Context;

impl FlightRoutes {
    /// DoGet as an HTTP response; a refusal is a response of its status alone.
    pub(super) async fn do_get(self, request: HttpRequest) -> HttpResponse {
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
        #[cfg(feature = "flight-sql")]
        let result = if crate::ticket::is_json_object(&ticket.ticket) {
            self.dispatcher.open(&ticket.ticket, ctx, "flight").await?
        } else {
            self.sql_result(&ticket.ticket, ctx).await?
        };
        #[cfg(not(feature = "flight-sql"))]
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

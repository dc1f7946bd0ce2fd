//! The `FlightService` implementation: every RPC goes through the one registry path.

use std::sync::Arc;

use arrow::datatypes::Schema;
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaAsIpc, SchemaResult, Ticket,
};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::registry::{Registry, ResultStream};
use crate::service::{Context, States};
use crate::stream_log::{count_rows, Logged};
use crate::Error;

/// The actions [`FlightHandler`] answers, with their descriptions.
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "list_services",
        "JSON array of the registered services: request name, handler, fields",
    ),
    (
        "health",
        "JSON object {\"status\": \"ok\", \"services\": N}",
    ),
];

/// The Flight service over the registry; [`crate::Server`] serves it.
#[derive(Clone)]
pub struct FlightHandler {
    registry: &'static Registry,
    states: Arc<States>,
    max_flight_data_size: usize,
}

impl FlightHandler {
    pub(crate) fn new(
        registry: &'static Registry,
        states: Arc<States>,
        max_flight_data_size: usize,
    ) -> Self {
        Self {
            registry,
            states,
            max_flight_data_size,
        }
    }

    /// The size above which a batch is split into several messages.
    pub(crate) fn max_flight_data_size(&self) -> usize {
        self.max_flight_data_size
    }

    /// The registry served.
    #[cfg(feature = "rest")]
    pub(crate) fn registry(&self) -> &'static Registry {
        self.registry
    }

    fn context<T>(request: &Request<T>) -> Context {
        Context::new(request.metadata().clone(), request.remote_addr())
    }

    pub(crate) async fn open(
        &self,
        ticket: &[u8],
        ctx: Context,
    ) -> Result<(&'static str, ResultStream), Error> {
        let prepared = self.registry.prepare(ticket, ctx, &self.states)?;
        let name = prepared.entry.request_name;
        Ok((name, prepared.open().await?))
    }
}

/// The IPC options a DoGet asks for: compression through the
/// [`COMPRESSION_HEADER`](crate::client::COMPRESSION_HEADER) header (`lz4` or `zstd`).
pub(crate) fn write_options(
    metadata: &tonic::metadata::MetadataMap,
) -> Result<IpcWriteOptions, Status> {
    use crate::client::COMPRESSION_HEADER;
    let Some(value) = metadata.get(COMPRESSION_HEADER) else {
        return Ok(IpcWriteOptions::default());
    };
    let codec = match value
        .to_str()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "none" => return Ok(IpcWriteOptions::default()),
        "lz4" => arrow::ipc::CompressionType::LZ4_FRAME,
        "zstd" => arrow::ipc::CompressionType::ZSTD,
        other => {
            return Err(Status::invalid_argument(format!(
                "header `{COMPRESSION_HEADER}: {other}`: expected lz4, zstd or none"
            )))
        }
    };
    if !cfg!(feature = "ipc-compression") {
        return Err(Status::unimplemented(
            "this server was built without IPC compression (cargo feature `ipc-compression`)",
        ));
    }
    IpcWriteOptions::default()
        .try_with_compression(Some(codec))
        .map_err(|e| Status::internal(e.to_string()))
}

fn cmd_of(descriptor: &FlightDescriptor) -> Result<&[u8], Status> {
    if descriptor.r#type != arrow_flight::flight_descriptor::DescriptorType::Cmd as i32 {
        return Err(Status::invalid_argument(
            "the descriptor must be a CMD descriptor holding the request JSON",
        ));
    }
    Ok(&descriptor.cmd)
}

fn schema_bytes(schema: &Schema) -> Result<bytes::Bytes, Status> {
    let ipc: arrow_flight::IpcMessage = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(ipc.0)
}

fn json_bytes<T: serde::Serialize>(value: &T) -> Result<bytes::Bytes, Status> {
    serde_json::to_vec(value)
        .map(bytes::Bytes::from)
        .map_err(|e| Status::internal(e.to_string()))
}

type Boxed<T> = BoxStream<'static, Result<T, Status>>;

#[tonic::async_trait]
impl FlightService for FlightHandler {
    type HandshakeStream = Boxed<HandshakeResponse>;
    type ListFlightsStream = Boxed<FlightInfo>;
    type DoGetStream = Boxed<FlightData>;
    type DoPutStream = Boxed<PutResult>;
    type DoExchangeStream = Boxed<FlightData>;
    type DoActionStream = Boxed<arrow_flight::Result>;
    type ListActionsStream = Boxed<ActionType>;

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let ctx = Self::context(&request);
        let options = write_options(request.metadata())?;
        let cancel_on_drop = ctx.cancellation_token().drop_guard();
        let ticket = request.into_inner().ticket;
        let (name, result) = self.open(&ticket, ctx).await.inspect_err(|e| {
            tracing::warn!(code = ?e.code(), error = %e, "request refused");
        })?;
        let (batches, rows) = count_rows(result.batches);
        let encoded = FlightDataEncoderBuilder::new()
            .with_schema(result.schema)
            .with_options(options)
            .with_max_flight_data_size(self.max_flight_data_size)
            .build(batches.map_err(FlightError::from))
            .map_err(|e| Status::from(Error::from(e)));
        Ok(Response::new(
            Logged::new(
                encoded.boxed(),
                "flight",
                name,
                rows,
                |data: &FlightData| data.data_body.len() + data.data_header.len(),
                cancel_on_drop,
            )
            .boxed(),
        ))
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ctx = Self::context(&request);
        let _cancel_on_drop = ctx.cancellation_token().drop_guard();
        let descriptor = request.into_inner();
        let cmd = cmd_of(&descriptor)?.to_vec();
        let schema = self.registry.schema(&cmd, ctx, &self.states).await?;
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_descriptor(descriptor)
            .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(cmd)))
            .with_total_records(-1)
            .with_total_bytes(-1);
        Ok(Response::new(info))
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        let descriptor = request.into_inner();
        let raw = crate::ticket::decode(cmd_of(&descriptor)?)?;
        let entry = self.registry.lookup(&raw.param_type)?;
        let schema = entry.schema.ok_or_else(|| {
            Status::failed_precondition(format!(
                "service `{}` for `{}` declares no schema (add #[data_service(schema = fn_returning_schema)]); GetFlightInfo returns the schema of its first batch instead",
                entry.handler, entry.request_name
            ))
        })?;
        Ok(Response::new(SchemaResult {
            schema: schema_bytes(&schema())?,
        }))
    }

    async fn list_flights(
        &self,
        _request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        let empty = Schema::empty();
        let infos: Vec<Result<FlightInfo, Status>> = self
            .registry
            .entries()
            .iter()
            .map(|entry| {
                let schema = entry.schema.map(|f| f());
                let schema = schema.as_deref().unwrap_or(&empty);
                Ok(FlightInfo::new()
                    .try_with_schema(schema)
                    .map_err(|e| Status::internal(e.to_string()))?
                    .with_descriptor(FlightDescriptor::new_cmd(
                        entry.request_name.as_bytes().to_vec(),
                    ))
                    .with_total_records(-1)
                    .with_total_bytes(-1)
                    .with_app_metadata(json_bytes(&entry.info())?))
            })
            .collect();
        Ok(Response::new(stream::iter(infos).boxed()))
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        let action = request.into_inner();
        let body = match action.r#type.as_str() {
            "list_services" => {
                let infos: Vec<_> = self.registry.entries().iter().map(|e| e.info()).collect();
                json_bytes(&infos)?
            }
            "health" => json_bytes(&serde_json::json!({
                "status": "ok",
                "services": self.registry.entries().len(),
            }))?,
            other => {
                let known: Vec<&str> = ACTIONS.iter().map(|(name, _)| *name).collect();
                return Err(Status::invalid_argument(format!(
                    "unknown action `{other}`; known actions: {}",
                    known.join(", ")
                )));
            }
        };
        Ok(Response::new(
            stream::once(async move { Ok(arrow_flight::Result::new(body)) }).boxed(),
        ))
    }

    async fn list_actions(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        let actions = ACTIONS.iter().map(|(name, description)| {
            Ok(ActionType {
                r#type: (*name).to_owned(),
                description: (*description).to_owned(),
            })
        });
        Ok(Response::new(stream::iter(actions).boxed()))
    }

    async fn handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        Err(Status::unimplemented(
            "fastflight servers need no handshake",
        ))
    }

    async fn poll_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        Err(Status::unimplemented(
            "PollFlightInfo is not offered: use GetFlightInfo",
        ))
    }

    async fn do_put(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        Err(Status::unimplemented(
            "DoPut is not offered: fastflight services are read-only",
        ))
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(Status::unimplemented("DoExchange is not offered"))
    }
}

//! The servers under test, each run as its own process: fastflight (a `#[data_service]`
//! over the pre-built batches) and raw arrow-flight (a hand-written `FlightService`
//! with the crate's defaults).

use std::sync::Arc;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use fastflight::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use fastflight::prelude::*;
use futures::stream::BoxStream;
use futures::TryStreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::payload;

/// The pre-built payload, shared by the services.
pub struct Payload(pub Arc<Vec<RecordBatch>>);

/// The whole pre-built payload.
#[derive(FlightRequest, Serialize, Deserialize, Clone, JsonSchema)]
#[flight(name = "bench.Payload")]
pub struct PayloadRequest {}

#[data_service]
pub async fn payload_service(
    _req: PayloadRequest,
    payload: State<Payload>,
) -> fastflight::Result<BatchStream> {
    let Payload(batches) = &*payload;
    let batches = Arc::clone(batches);
    Ok(futures::stream::iter((0..batches.len()).map(move |i| Ok(batches[i].clone()))).boxed())
}

/// One row, for latency.
#[derive(FlightRequest, Serialize, Deserialize, Clone, JsonSchema)]
#[flight(name = "bench.Echo")]
pub struct Echo {
    pub message: String,
}

pub fn echo_batch(message: &str) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "message",
            Arc::new(StringArray::from(vec![message])) as ArrayRef,
        ),
        (
            "timestamp",
            Arc::new(Int64Array::from(vec![0_i64])) as ArrayRef,
        ),
        (
            "service",
            Arc::new(StringArray::from(vec!["echo_service"])) as ArrayRef,
        ),
    ])
    .expect("echo row")
}

#[data_service]
pub async fn echo(req: Echo) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::iter([Ok(echo_batch(&req.message))]).boxed())
}

/// `bytes` of payload-shaped rows, generated lazily batch by batch, read and dropped.
#[derive(FlightRequest, Serialize, Deserialize, Clone, JsonSchema)]
#[flight(name = "bench.Big")]
pub struct Big {
    pub bytes: u64,
}

#[data_service]
pub async fn big(req: Big) -> fastflight::Result<BatchStream> {
    let template = payload::batch(0, payload::BATCH_ROWS);
    let per_batch: u64 = template
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
        .sum();
    let batches = req.bytes.div_ceil(per_batch);
    Ok(futures::stream::iter((0..batches).map(move |i| {
        // Fresh id and value columns per batch; the name column is shared.
        let start = i * payload::BATCH_ROWS as u64;
        let ids = Int64Array::from_iter_values(
            (start..start + payload::BATCH_ROWS as u64).map(|v| v as i64),
        );
        let values = fastflight::arrow::array::Float64Array::from_iter_values(
            (start..start + payload::BATCH_ROWS as u64).map(|v| v as f64),
        );
        Ok(RecordBatch::try_new(
            template.schema(),
            vec![
                Arc::new(ids) as ArrayRef,
                Arc::new(values),
                Arc::clone(template.column(2)),
            ],
        )?)
    }))
    .boxed())
}

/// Serves the fastflight services until killed.
pub async fn serve_fastflight(
    batches: Vec<RecordBatch>,
    max_message: Option<usize>,
    secure: Option<crate::secure::Files>,
) -> Result<(), String> {
    // The benchmark's own services only (the demo's, linked for the PostgreSQL
    // comparison, are served there).
    let registry = fastflight::Registry::global()
        .map_err(|e| e.to_string())?
        .under(module_path!());
    let mut builder = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(registry);
    if let Some(bytes) = max_message {
        builder = builder.max_flight_data_size(bytes);
    }
    if let Some(secure) = secure {
        builder = secure.server(builder)?;
    }
    let server = builder
        .state(Payload(Arc::new(batches)))
        .bind()
        .await
        .map_err(|e| e.to_string())?;
    println!("listening on {}", server.location());
    server.serve().await.map_err(|e| e.to_string())
}

/// Serves fastflight's HTTP gateway until killed: over the payload services of this
/// process (`batches`), or in proxy mode to the Flight server `to`. Prints its URL.
pub async fn serve_gateway(
    batches: Option<Vec<RecordBatch>>,
    to: Option<String>,
) -> Result<(), String> {
    let source = match (batches, to) {
        (_, Some(location)) => fastflight::rest::Source::remote(&location)
            .await
            .map_err(|e| e.to_string())?,
        (Some(batches), None) => {
            let registry = fastflight::Registry::global()
                .map_err(|e| e.to_string())?
                .under(module_path!());
            let server = fastflight::Server::builder()
                .location("grpc://127.0.0.1:0")
                .registry(registry)
                .state(Payload(Arc::new(batches)))
                .bind()
                .await
                .map_err(|e| e.to_string())?;
            let source = fastflight::rest::Source::local(&server);
            tokio::spawn(server.serve());
            source
        }
        (None, None) => return Err("a gateway needs batches or a server to forward to".into()),
    };
    let gateway = fastflight::rest::Gateway::new(source)
        .bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    println!("listening on {}", gateway.url());
    gateway.serve().await.map_err(|e| e.to_string())
}

/// A hand-written Flight service over the same batches, with arrow-flight's defaults.
struct Raw {
    batches: Arc<Vec<RecordBatch>>,
}

type Boxed<T> = BoxStream<'static, Result<T, Status>>;

#[tonic::async_trait]
impl FlightService for Raw {
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
        let ticket = request.into_inner().ticket;
        let batches: Vec<RecordBatch> =
            if ticket.as_ref() == b"echo" || ticket.windows(4).any(|w| w == b"Echo") {
                vec![echo_batch("hello")]
            } else {
                self.batches.as_ref().clone()
            };
        let stream = FlightDataEncoderBuilder::new()
            .build(futures::stream::iter(batches.into_iter().map(Ok)))
            .map_err(|e| Status::internal(e.to_string()));
        Ok(Response::new(stream.boxed()))
    }

    async fn handshake(
        &self,
        _: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        Err(Status::unimplemented("handshake"))
    }
    async fn list_flights(
        &self,
        _: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        Err(Status::unimplemented("list_flights"))
    }
    async fn get_flight_info(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Err(Status::unimplemented("get_flight_info"))
    }
    async fn poll_flight_info(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        Err(Status::unimplemented("poll_flight_info"))
    }
    async fn get_schema(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        Err(Status::unimplemented("get_schema"))
    }
    async fn do_put(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        Err(Status::unimplemented("do_put"))
    }
    async fn do_exchange(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(Status::unimplemented("do_exchange"))
    }
    async fn do_action(
        &self,
        _: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        Err(Status::unimplemented("do_action"))
    }
    async fn list_actions(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        Err(Status::unimplemented("list_actions"))
    }
}

/// Serves the raw arrow-flight service until killed.
pub async fn serve_raw(batches: Vec<RecordBatch>) -> fastflight::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on grpc://{}", listener.local_addr()?);
    // TCP_NODELAY as tonic sets it when it binds the socket itself; nothing else is tuned.
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map_ok(|socket| {
        let _ = socket.set_nodelay(true);
        socket
    });
    tonic::transport::Server::builder()
        .add_service(FlightServiceServer::new(Raw {
            batches: Arc::new(batches),
        }))
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

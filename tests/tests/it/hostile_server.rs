//! A hostile Flight server: a real one on loopback whose DoGet sends malformed Arrow
//! messages. The client refuses each by name, with an error item, and never panics.

use std::sync::Arc;

use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use bytes::Bytes;
use fastflight::arrow::array::{ArrayRef, Int64Array, StringArray};
use fastflight::arrow::record_batch::RecordBatch;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tonic::{Request, Response, Status, Streaming};

struct Hostile;

type Answer<T> = Result<Response<BoxStream<'static, Result<T, Status>>>, Status>;

/// The messages of a good one-batch result: the schema, then the batch.
fn good() -> Vec<FlightData> {
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..100)) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from_iter_values(
                (0..100).map(|i| format!("name-{i:04}")),
            )),
        ),
    ])
    .expect("batch");
    arrow_flight::utils::batches_to_flight_data(&batch.schema(), [&batch]).expect("encode")
}

/// The messages sent for each ticket.
fn messages(ticket: &[u8]) -> Vec<FlightData> {
    let mut messages = good();
    match ticket {
        b"good" => {}
        // The body cut short: the batch's buffers point past it.
        b"cut" => messages[1].data_body = messages[1].data_body.slice(..8),
        // A byte of a string replaced by one that is never UTF-8.
        b"utf8" => {
            let body = messages[1].data_body.to_vec();
            let at = body
                .windows(9)
                .position(|w| w == b"name-0042")
                .expect("the string is in the body");
            let mut body = body;
            body[at + 5] = 0xff;
            messages[1].data_body = Bytes::from(body);
        }
        // The offsets of the strings run backwards.
        b"offsets" => {
            let mut body = messages[1].data_body.to_vec();
            // id: 800 bytes of values (no validity bitmap sent); the name offsets follow.
            body[800 + 4 * 10..800 + 4 * 11].copy_from_slice(&1_000_000_i32.to_le_bytes());
            messages[1].data_body = Bytes::from(body);
        }
        b"second-schema" => messages.insert(1, messages[0].clone()),
        b"batch-first" => {
            messages.remove(0);
        }
        b"garbage-header" => messages[1].data_header = Bytes::from_static(b"not a flatbuffer"),
        _ => messages.clear(),
    }
    messages
}

#[tonic::async_trait]
impl FlightService for Hostile {
    type HandshakeStream = BoxStream<'static, Result<HandshakeResponse, Status>>;
    type ListFlightsStream = BoxStream<'static, Result<FlightInfo, Status>>;
    type DoGetStream = BoxStream<'static, Result<FlightData, Status>>;
    type DoPutStream = BoxStream<'static, Result<PutResult, Status>>;
    type DoExchangeStream = BoxStream<'static, Result<FlightData, Status>>;
    type DoActionStream = BoxStream<'static, Result<arrow_flight::Result, Status>>;
    type ListActionsStream = BoxStream<'static, Result<ActionType, Status>>;

    async fn do_get(&self, request: Request<Ticket>) -> Answer<FlightData> {
        let messages = messages(&request.into_inner().ticket);
        Ok(Response::new(
            futures::stream::iter(messages.into_iter().map(Ok)).boxed(),
        ))
    }
    async fn handshake(
        &self,
        _: Request<Streaming<HandshakeRequest>>,
    ) -> Answer<HandshakeResponse> {
        Err(Status::unimplemented("handshake"))
    }
    async fn list_flights(&self, _: Request<Criteria>) -> Answer<FlightInfo> {
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
    async fn do_put(&self, _: Request<Streaming<FlightData>>) -> Answer<PutResult> {
        Err(Status::unimplemented("do_put"))
    }
    async fn do_exchange(&self, _: Request<Streaming<FlightData>>) -> Answer<FlightData> {
        Err(Status::unimplemented("do_exchange"))
    }
    async fn do_action(&self, _: Request<Action>) -> Answer<arrow_flight::Result> {
        Err(Status::unimplemented("do_action"))
    }
    async fn list_actions(&self, _: Request<Empty>) -> Answer<ActionType> {
        Err(Status::unimplemented("list_actions"))
    }
}

/// Serves `Hostile` on a free loopback port; returns its location.
async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(FlightServiceServer::new(Hostile))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    format!("grpc://{address}")
}

/// The client's error for a ticket, from the opening or from the batches.
async fn error_of(client: &fastflight::Client, ticket: &'static str) -> String {
    let outcome = match client
        .fetch_ticket(Bytes::from_static(ticket.as_bytes()))
        .await
    {
        Ok(stream) => stream.try_collect::<Vec<_>>().await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => panic!("{ticket}: the client accepted a malformed stream"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn malformed_arrow_messages_are_refused_by_name_and_never_panic_the_client() {
    let location = serve().await;
    let client = fastflight::Client::connect(&location)
        .await
        .expect("connect");

    // The good stream reads whole: the hostile server's framing is right.
    let batches = client
        .fetch_ticket(Bytes::from_static(b"good"))
        .await
        .expect("good")
        .collect()
        .await
        .expect("good batches");
    assert_eq!(
        batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        100
    );

    for (ticket, expected) in [
        ("cut", "lies outside the message body"),
        ("utf8", "invalid UTF-8"),
        ("offsets", "out of order"),
        ("second-schema", "a second schema"),
        ("batch-first", "record batch before the schema"),
        ("garbage-header", "IPC header is not valid"),
        ("nothing", "without sending a schema"),
    ] {
        let error = error_of(&client, ticket).await;
        assert!(error.contains(expected), "{ticket}: {error}");
    }
    // The client still works after all of them.
    assert!(client
        .fetch_ticket(Bytes::from_static(b"good"))
        .await
        .is_ok());
}

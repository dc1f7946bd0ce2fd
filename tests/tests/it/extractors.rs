//! Further arguments are taken by the `FromCall` trait, never by their name: a type of
//! one's own can be an argument, and a user's own type named `Context` is not taken
//! for fastflight's.

use std::sync::Arc;

use fastflight::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use fastflight::prelude::*;
use fastflight::{Call, FromCall};

mod mine {
    /// Not fastflight's `Context`: the caller's name, from the `x-user` header.
    pub struct Context(pub String);
}

impl FromCall for mine::Context {
    fn from_call(call: &Call<'_>) -> fastflight::Result<Self> {
        match call.context().header("x-user") {
            Some(user) => Ok(mine::Context(user.to_owned())),
            None => Err(fastflight::Error::status(
                tonic::Code::Unauthenticated,
                "header `x-user` is missing",
            )),
        }
    }
}

/// A pool the server builder is given.
pub struct Pool(pub String);

/// An extractor that needs a state: the server checks it at start.
pub struct Conn(State<Pool>);

impl FromCall for Conn {
    fn required_state() -> Option<(std::any::TypeId, &'static str)> {
        <State<Pool> as FromCall>::required_state()
    }
    fn from_call(call: &Call<'_>) -> fastflight::Result<Self> {
        call.state::<Pool>().map(Conn)
    }
}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Report")]
pub struct Report {}

#[data_service]
async fn report(
    _req: Report,
    user: mine::Context,
    conn: Conn,
    ctx: fastflight::Context,
) -> fastflight::Result<BatchStream> {
    let peer = ctx.peer().map(|p| p.ip().to_string()).unwrap_or_default();
    let batch = RecordBatch::try_from_iter([
        (
            "user",
            Arc::new(StringArray::from(vec![user.0])) as ArrayRef,
        ),
        (
            "pool",
            Arc::new(StringArray::from(vec![conn.0 .0.clone()])) as ArrayRef,
        ),
        ("peer", Arc::new(StringArray::from(vec![peer])) as ArrayRef),
    ])?;
    Ok(futures::stream::iter([Ok(batch)]).boxed())
}

#[tokio::test]
async fn arguments_of_ones_own_are_taken_by_their_trait() {
    let only_report = fastflight::Registry::global()
        .unwrap()
        .select(["tests.Report"])
        .unwrap();
    // Without the state the extractor needs, the server refuses to start and names it.
    let e = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(only_report.clone())
        .bind()
        .await
        .err()
        .expect("a server without State<Pool> started");
    assert!(e.to_string().contains("State<it::extractors::Pool>"), "{e}");

    let server = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(only_report)
        .state(Pool("main".into()))
        .bind()
        .await
        .unwrap();
    let location = server.location();
    tokio::spawn(server.serve());
    let client = fastflight::Client::connect(&location).await.unwrap();
    let batch = client
        .clone()
        .with_header("x-user", "ada")
        .unwrap()
        .report(Report {})
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(batch.column(0).as_string::<i32>().value(0), "ada");
    assert_eq!(batch.column(1).as_string::<i32>().value(0), "main");
    assert_eq!(batch.column(2).as_string::<i32>().value(0), "127.0.0.1");
    // The extractor's refusal reaches the client with its code.
    let e = client.report(Report {}).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e}");
    assert!(e.to_string().contains("x-user"), "{e}");
}

//! GetFlightInfo, GetSchema, ListFlights, DoAction, ListActions and the RPCs not offered.

use arrow_flight::{Action, Criteria, Empty, FlightDescriptor};
use fastflight::arrow::datatypes::Schema;
use fastflight_demo_api::EchoParams;
use futures::StreamExt;
use tonic::Code;

use crate::services::*;
use crate::support::{client, start};
use fastflight::prelude::*;

#[tokio::test]
async fn flight_info_gives_schema_and_a_ticket_do_get_accepts() {
    let server = start().await;
    let client = client(&server).await;
    let info = client.flight_info(&Pairs { rows: 2 }).await.unwrap();
    assert_eq!(info.clone().try_decode_schema().unwrap(), pairs_schema());
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let batch = client
        .fetch_ticket(ticket.ticket)
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(batch.num_rows(), 2);

    // Without a declared schema: the schema of the first batch.
    let info = client.flight_info(&EchoParams::default()).await.unwrap();
    let schema = info.try_decode_schema().unwrap();
    assert_eq!(schema.field(0).name(), "message");
}

#[tokio::test]
async fn flight_info_with_a_declared_schema_does_not_run_the_service() {
    let server = start().await;
    let client = client(&server).await;
    use std::sync::atomic::Ordering;
    let info = client.flight_info(&BlockingEndless {}).await.unwrap();
    assert_eq!(info.try_decode_schema().unwrap(), *numbers_schema());
    let schema = client
        .flight_client()
        .get_schema(FlightDescriptor::new_cmd(
            fastflight::ticket::encode(&BlockingEndless {}).unwrap(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(Schema::try_from(&schema).unwrap(), *numbers_schema());
    // The `endpoints` action: the FlightInfo without a schema.
    let ticket = fastflight::ticket::encode(&BlockingEndless {}).unwrap();
    let mut answers = client
        .flight_client()
        .do_action(arrow_flight::Action::new("endpoints", ticket.clone()))
        .await
        .unwrap()
        .into_inner();
    let body = answers.message().await.unwrap().unwrap().body;
    let info = <arrow_flight::FlightInfo as prost::Message>::decode(body).unwrap();
    assert!(info.schema.is_empty());
    assert_eq!(info.endpoint.len(), 1);
    assert_eq!(info.endpoint[0].ticket.as_ref().unwrap().ticket, ticket);
    assert!(info.endpoint[0].location.is_empty());
    let e = client
        .flight_client()
        .do_action(arrow_flight::Action::new(
            "endpoints",
            r#"{"param_type":"tests.Pairs","rows":"x"}"#,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("field `rows`"), "{}", e.message());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !server.probes.producer_started.load(Ordering::SeqCst),
        "the service ran for GetFlightInfo, GetSchema or the endpoints action"
    );
    // The probe can see a start: a DoGet runs the service.
    let mut stream = client.fetch(BlockingEndless {}).await.unwrap();
    stream.next().await.unwrap().unwrap();
    assert!(server.probes.producer_started.load(Ordering::SeqCst));
}

#[tokio::test]
async fn flight_info_refuses_bad_commands() {
    let server = start().await;
    let mut raw = client(&server).await.flight_client();
    let e = raw
        .get_flight_info(FlightDescriptor::new_cmd(
            br#"{"param_type":"tests.Pairs","rows":"x"}"#.to_vec(),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("field `rows`"), "{}", e.message());
    let e = raw
        .get_flight_info(FlightDescriptor::new_path(vec!["a".into()]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn get_schema_is_the_declared_schema_or_a_clear_error() {
    let server = start().await;
    let mut raw = client(&server).await.flight_client();
    let result = raw
        .get_schema(FlightDescriptor::new_cmd(
            br#"{"param_type":"tests.Pairs","rows":0}"#.to_vec(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(Schema::try_from(&result).unwrap(), pairs_schema());
    let e = raw
        .get_schema(FlightDescriptor::new_cmd(
            br#"{"param_type":"tests.Nothing"}"#.to_vec(),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message().contains("declares no schema"),
        "{}",
        e.message()
    );
    let e = raw
        .get_schema(FlightDescriptor::new_cmd(
            br#"{"param_type":"nope"}"#.to_vec(),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn list_flights_describes_every_service() {
    let server = start().await;
    let client = client(&server).await;
    let infos = client.list_flights().await.unwrap();
    let numbers = infos
        .iter()
        .find(|i| i.flight_descriptor.as_ref().unwrap().cmd.as_ref() == b"tests.Numbers")
        .expect("tests.Numbers is listed");
    let meta: serde_json::Value = serde_json::from_slice(&numbers.app_metadata).unwrap();
    assert_eq!(meta["handler"], "it::services::numbers");
    assert_eq!(
        meta["fields"][0],
        serde_json::json!({"name": "count", "type": "i64", "required": true})
    );
    assert_eq!(
        meta["fields"][2],
        serde_json::json!({"name": "fail_after", "type": "Option<usize>", "required": false, "default": null})
    );
    assert!(infos
        .iter()
        .any(|i| i.flight_descriptor.as_ref().unwrap().cmd.as_ref()
            == b"fastflight.demo_services.echo_demo.EchoParams"));
    let pairs = infos
        .iter()
        .find(|i| i.flight_descriptor.as_ref().unwrap().cmd.as_ref() == b"tests.Pairs")
        .unwrap();
    assert_eq!(pairs.clone().try_decode_schema().unwrap(), pairs_schema());
}

#[tokio::test]
async fn actions_list_services_and_health() {
    let server = start().await;
    let client = client(&server).await;
    let services = client.list_services().await.unwrap();
    let echo = services
        .iter()
        .find(|s| s.name == "fastflight.demo_services.echo_demo.EchoParams")
        .unwrap();
    assert_eq!(echo.handler, "fastflight_examples::echo");
    assert!(!echo.fields[0].required, "message has a default");
    let health: serde_json::Value =
        serde_json::from_slice(&client.action("health").await.unwrap()).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["services"], services.len());

    let mut raw = client.flight_client();
    let actions: Vec<String> = raw
        .list_actions(Empty {})
        .await
        .unwrap()
        .into_inner()
        .map(|a| a.unwrap().r#type)
        .collect()
        .await;
    assert_eq!(
        actions,
        [
            "list_services",
            "endpoints",
            "health",
            "CreatePreparedStatement",
            "ClosePreparedStatement",
            "CancelFlightInfo",
            "SetSessionOptions",
            "GetSessionOptions",
            "CloseSession"
        ]
    );
    let e = raw
        .do_action(Action::new("drop_tables", ""))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("list_services"), "{}", e.message());
}

#[tokio::test]
async fn other_rpcs_are_unimplemented() {
    let server = start().await;
    let mut raw = client(&server).await.flight_client();
    let e = raw
        .poll_flight_info(FlightDescriptor::new_cmd(b"{}".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
    // DoPut binds a prepared statement's parameters, and writes nothing else.
    let e = raw
        .do_put(futures::stream::empty::<arrow_flight::FlightData>())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    assert!(e.message().contains("DoPut sent no message"), "{e}");
    let write = arrow_flight::FlightData {
        flight_descriptor: Some(FlightDescriptor::new_cmd(
            br#"{"param_type": "tests.Numbers"}"#.to_vec(),
        )),
        ..Default::default()
    };
    let e = raw
        .do_put(futures::stream::iter([write]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented, "{e}");
    assert!(e.message().contains("read-only"), "{e}");
    let e = raw.handshake(futures::stream::empty()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
    // The server is still fine: it lists every service open to an anonymous caller.
    let listed: Vec<_> = raw
        .list_flights(Criteria::default())
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(
        listed.len(),
        fastflight::Registry::global()
            .unwrap()
            .services_for(None)
            .len(),
        "{listed:?}"
    );
    assert!(listed.iter().all(|info| info.is_ok()));
}

/// The listing's JSON Schema comes from the request type itself: enum values, nested
/// structs, flattened fields and defaults, and `param_type` fixed to the name.
#[tokio::test]
async fn listings_carry_the_request_types_own_json_schema() {
    let server = start().await;
    let client = client(&server).await;
    let services = client.list_services().await.unwrap();
    let orders = services
        .iter()
        .find(|s| s.name == "tests.Orders")
        .expect("tests.Orders is listed");
    let schema = &orders.json_schema;
    assert_eq!(schema["title"], "tests.Orders");
    assert_eq!(schema["properties"]["param_type"]["const"], "tests.Orders");
    assert_eq!(schema["required"][0], "param_type");
    // The enum's values, as serde writes them.
    let side = &schema["properties"]["side"];
    let side = match side.get("$ref").and_then(|r| r.as_str()) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &schema["$defs"][name]
        }
        None => side,
    };
    assert_eq!(
        side["enum"],
        serde_json::json!(["buy", "sell"]),
        "{schema:#}"
    );
    // The nested struct's fields.
    let window_ref = serde_json::to_string(&schema["properties"]["window"]).unwrap();
    assert!(window_ref.contains("Window"), "{schema:#}");
    assert_eq!(
        schema["$defs"]["Window"]["required"],
        serde_json::json!(["from", "to"]),
        "{schema:#}"
    );
    // The flattened field at the top, with its default.
    assert_eq!(
        schema["properties"]["page_size"]["default"], 100,
        "{schema:#}"
    );
    assert!(!schema["required"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("page_size")));
    // A request written from the schema's words is accepted.
    let batch = client
        .fetch_ticket(&br#"{"param_type": "tests.Orders", "side": "sell", "page_size": 7}"#[..])
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(batch.num_rows(), 1);
    let e = client
        .fetch_ticket(&br#"{"param_type": "tests.Orders", "side": "hold"}"#[..])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.to_string().contains("side"), "{e}");
}

/// A request with fields of chrono types (fastflight's `chrono` feature): its JSON
/// Schema says what they are.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "metadata.Since")]
pub struct Since {
    pub since: chrono::DateTime<chrono::Utc>,
    pub day: Option<chrono::NaiveDate>,
}

#[test]
fn chrono_fields_have_their_json_schema() {
    let schema = Since::request_schema();
    assert_eq!(
        schema["properties"]["since"]["format"], "date-time",
        "{schema}"
    );
    assert_eq!(schema["properties"]["day"]["format"], "date", "{schema}");
    assert_eq!(
        schema["required"],
        serde_json::json!(["param_type", "since"])
    );
}

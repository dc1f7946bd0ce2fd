//! The HTTP gateway on 127.0.0.1:0: Arrow, CSV and NDJSON answers compared with the
//! Flight answer, every error status, errors after the first batch, proxy mode.

use std::io::Cursor;
use std::sync::Arc;

use fastflight::arrow::compute::concat_batches;
use fastflight::arrow::datatypes::SchemaRef;
use fastflight::arrow::record_batch::RecordBatch;
use fastflight::FlightRequest;
use futures::StreamExt;
use reqwest::StatusCode;

use crate::services::*;
use crate::support::{client, start};

async fn post(
    url: &str,
    accept: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/stream"))
        .body(body);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.send().await.expect("the gateway answers")
}

fn ticket<R: FlightRequest>(request: &R) -> Vec<u8> {
    fastflight::ticket::encode(request).unwrap().to_vec()
}

fn from_arrow(bytes: &[u8]) -> (SchemaRef, Vec<RecordBatch>) {
    let reader = fastflight::arrow::ipc::reader::StreamReader::try_new(bytes, None).unwrap();
    let schema = reader.schema();
    (schema, reader.map(|b| b.unwrap()).collect())
}

/// An Arrow answer read with `fastflight::ipc::IpcStreamDecoder`, in the pieces the
/// body arrives in; its schema and batches, or why it is not a whole stream.
async fn decode_pieces(
    response: reqwest::Response,
) -> Result<(Option<SchemaRef>, Vec<RecordBatch>), String> {
    let mut decoder = fastflight::ipc::IpcStreamDecoder::new();
    let mut batches = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(piece) = body.next().await {
        let mut piece = piece.map_err(|e| format!("the body broke: {e}"))?;
        while let Some(batch) = decoder.decode(&mut piece).map_err(|e| e.to_string())? {
            batches.push(batch);
        }
    }
    decoder.finish().map_err(|e| e.to_string())?;
    Ok((decoder.schema(), batches))
}

fn from_csv(bytes: &[u8], schema: &SchemaRef) -> Vec<RecordBatch> {
    fastflight::arrow::csv::ReaderBuilder::new(Arc::clone(schema))
        .with_header(true)
        .build(Cursor::new(bytes.to_vec()))
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn from_ndjson(bytes: &[u8], schema: &SchemaRef) -> Vec<RecordBatch> {
    fastflight::arrow::json::ReaderBuilder::new(Arc::clone(schema))
        .build(Cursor::new(bytes.to_vec()))
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn one(schema: &SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    concat_batches(schema, batches).unwrap()
}

async fn compare_all_formats<R: FlightRequest + Clone>(
    gateway: &str,
    flight: &fastflight::Client,
    request: R,
) {
    let expected = flight.fetch(request.clone()).await.unwrap();
    let schema = expected.schema();
    let expected = one(&schema, &expected.collect().await.unwrap());

    let arrow = post(gateway, None, ticket(&request)).await;
    assert_eq!(arrow.status(), StatusCode::OK);
    assert_eq!(
        arrow.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let (arrow_schema, batches) = from_arrow(&arrow.bytes().await.unwrap());
    assert_eq!(arrow_schema, schema);
    assert_eq!(one(&schema, &batches), expected, "arrow");

    // The same answer read piece by piece as it arrives, with the client's decoding.
    let arrow = post(gateway, None, ticket(&request)).await;
    let (decoded_schema, batches) = decode_pieces(arrow).await.expect("a whole stream");
    assert_eq!(decoded_schema, Some(schema.clone()));
    assert_eq!(one(&schema, &batches), expected, "arrow, read in pieces");

    let csv = post(gateway, Some("text/csv"), ticket(&request)).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let batches = from_csv(&csv.bytes().await.unwrap(), &schema);
    assert_eq!(one(&schema, &batches), expected, "csv");

    let json = post(gateway, Some("application/x-ndjson"), ticket(&request)).await;
    assert_eq!(json.status(), StatusCode::OK);
    assert_eq!(json.headers()["content-type"], "application/x-ndjson");
    let body = json.bytes().await.unwrap();
    assert_eq!(
        body.iter().filter(|b| **b == b'\n').count(),
        expected.num_rows()
    );
    let batches = from_ndjson(&body, &schema);
    assert_eq!(one(&schema, &batches), expected, "ndjson");
}

#[tokio::test]
async fn every_format_matches_the_flight_answer() {
    let server = start().await;
    let flight = client(&server).await;
    compare_all_formats(
        &server.gateway,
        &flight,
        Numbers {
            count: 1_000,
            batch_size: 300,
            fail_after: None,
            fail_code: None,
        },
    )
    .await;
    compare_all_formats(&server.gateway, &flight, Pairs { rows: 7 }).await;
    compare_all_formats(
        &server.gateway,
        &flight,
        fastflight_demo_api::SyntheticParams {
            partitions: 1,
            start: 0,
            rows: 5_000,
            batch_size: 1_024,
            seed: Some(9),
        },
    )
    .await;
}

#[tokio::test]
async fn zoned_timestamps_are_written_as_csv_and_ndjson() {
    let server = start().await;
    for accept in ["text/csv", "application/x-ndjson"] {
        let response = post(
            &server.gateway,
            Some(accept),
            ticket(&crate::services::Zoned {}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{accept}");
        let text = response.text().await.unwrap();
        assert!(text.contains("2026-01-02T03:04:05"), "{accept}: {text}");
    }
}

#[tokio::test]
async fn empty_results_carry_their_schema() {
    let server = start().await;
    let (schema, batches) = from_arrow(
        &post(&server.gateway, None, ticket(&Pairs { rows: 0 }))
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!(*schema, pairs_schema());
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    let csv = post(
        &server.gateway,
        Some("text/csv"),
        ticket(&Pairs { rows: 0 }),
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(csv, "key,value\n");
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap().to_owned();
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    (status, code, message)
}

#[tokio::test]
async fn errors_have_json_bodies_and_matching_statuses() {
    let server = start().await;
    let g = &server.gateway;
    let cases: Vec<(Vec<u8>, StatusCode, &str, &str)> = vec![
        (
            b"not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "not valid JSON",
        ),
        (
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "empty",
        ),
        (
            br#"{"count": 1}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "param_type",
        ),
        (
            br#"{"param_type":"tests.Numbers","count":"x","batch_size":1}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "field `count`",
        ),
        (
            ticket(&Numbers {
                count: 1,
                batch_size: 0,
                fail_after: None,
                fail_code: None,
            }),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "batch_size",
        ),
        (
            br#"{"param_type":"no.Such"}"#.to_vec(),
            StatusCode::NOT_FOUND,
            "NotFound",
            "tests.Numbers",
        ),
        (
            ticket(&Refuse {
                reason: "disk on fire".into(),
            }),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            "disk on fire",
        ),
        (
            ticket(&Boom {
                when: "before".into(),
            }),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            "panicked",
        ),
    ];
    for (body, status, code, words) in cases {
        let (got_status, got_code, message) = error_of(post(g, None, body.clone()).await).await;
        assert_eq!(
            (got_status, got_code.as_str()),
            (status, code),
            "{}: {message}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            message.contains(words),
            "`{message}` should mention `{words}`"
        );
    }
    let (status, _, message) =
        error_of(post(g, Some("application/xml"), ticket(&Whoami {})).await).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert!(message.contains("text/csv"), "{message}");
    let missing = reqwest::get(format!("{g}/nowhere")).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The server is still serving.
    assert_eq!(
        post(g, None, ticket(&Whoami {})).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_error_after_the_first_batch_does_not_look_complete() {
    let server = start().await;
    let failing = Numbers {
        count: 100,
        batch_size: 10,
        fail_after: Some(3),
        fail_code: Some("not_found".into()),
    };
    for accept in [None, Some("text/csv")] {
        let response = post(&server.gateway, accept, ticket(&failing)).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the head was sent before the error"
        );
        assert!(
            response.bytes().await.is_err(),
            "{accept:?}: the body must end abnormally"
        );
    }
    // Read as it arrives, the Arrow answer gives its first batches, then the break.
    let response = post(&server.gateway, None, ticket(&failing)).await;
    let error = decode_pieces(response)
        .await
        .expect_err("not a whole stream");
    assert!(error.contains("the body broke"), "{error}");
    let response = post(
        &server.gateway,
        Some("application/x-ndjson"),
        ticket(&failing),
    )
    .await;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    let mut ended_abnormally = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(_) => {
                ended_abnormally = true;
                break;
            }
        }
    }
    assert!(ended_abnormally, "the NDJSON body must end abnormally");
    let text = String::from_utf8(body).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "NotFound");
    assert_eq!(text.lines().count(), 31, "30 rows, then the error line");
}

#[tokio::test]
async fn listings_and_health() {
    let server = start().await;
    let types: serde_json::Value =
        reqwest::get(format!("{}/registered_data_types", server.gateway))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(types.as_array().unwrap().iter().any(
        |t| t["params_type"] == "tests.Numbers" && t["service_type"] == "it::services::numbers"
    ));
    let services: serde_json::Value = reqwest::get(format!("{}/services", server.gateway))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let numbers = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "tests.Numbers")
        .unwrap();
    let schema = &numbers["json_schema"];
    assert_eq!(schema["properties"]["count"]["type"], "integer");
    assert_eq!(
        schema["properties"]["fail_after"]["type"],
        serde_json::json!(["integer", "null"])
    );
    assert_eq!(
        schema["required"],
        serde_json::json!(["param_type", "count", "batch_size"])
    );
    let echo = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "fastflight.demo_services.echo_demo.EchoParams")
        .unwrap();
    assert_eq!(
        echo["json_schema"]["properties"]["message"]["default"],
        "Hello FastFlight!"
    );
    let origin = server.gateway.trim_end_matches("/fastflight");
    let health: serde_json::Value = reqwest::get(format!("{origin}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn proxy_mode_forwards_to_a_remote_flight_server() {
    let server = start().await;
    let proxy = fastflight::rest::Gateway::new(
        fastflight::rest::Source::remote(&server.location)
            .await
            .unwrap(),
    )
    .prefix("/api/")
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let url = proxy.url();
    assert!(url.ends_with("/api"), "{url}");
    tokio::spawn(proxy.serve());
    let flight = client(&server).await;
    compare_all_formats(&url, &flight, Pairs { rows: 4 }).await;
    // The Arrow answer is the Flight server's messages relayed undecoded: many batches,
    // and dictionaries, arrive as the Flight client reads them.
    let many = Numbers {
        count: 100_000,
        batch_size: 1_000,
        fail_after: None,
        fail_code: None,
    };
    let expected = flight
        .fetch(many.clone())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let (_, batches) = from_arrow(&post(&url, None, ticket(&many)).await.bytes().await.unwrap());
    assert_eq!(batches.len(), 100);
    assert_eq!(batches, expected);
    let expected = flight
        .fetch(Dictionary {})
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let (schema, batches) = from_arrow(
        &post(&url, None, ticket(&Dictionary {}))
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert!(matches!(
        schema.field(0).data_type(),
        fastflight::arrow::datatypes::DataType::Dictionary(..)
    ));
    assert_eq!(batches, expected);
    // An error after batches cuts the relayed body too: never a complete-looking stream.
    let failing = Numbers {
        count: 100,
        batch_size: 10,
        fail_after: Some(3),
        fail_code: Some("not_found".into()),
    };
    let response = post(&url, None, ticket(&failing)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.bytes().await.is_err(),
        "the relayed body must end abnormally"
    );
    let (status, code, message) =
        error_of(post(&url, None, br#"{"param_type":"no.Such"}"#.to_vec()).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "NotFound"),
        "{message}"
    );
    let (status, _, message) = error_of(
        post(
            &url,
            None,
            br#"{"param_type":"tests.Pairs","rows":-1}"#.to_vec(),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("field `rows`"), "{message}");
    let (status, _, _) = error_of(
        post(
            &url,
            None,
            ticket(&Boom {
                when: "before".into(),
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let types: serde_json::Value = reqwest::get(format!("{url}/registered_data_types"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(types
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["params_type"] == "tests.Pairs"));
}

/// Waits up to 5 s for a probe flag.
async fn soon(flag: &std::sync::atomic::AtomicBool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

/// An HTTP client that goes away mid-stream stops the service, through the in-process
/// gateway and through a proxy gateway alike.
#[tokio::test]
async fn a_client_leaving_the_gateway_stops_the_service() {
    use std::sync::atomic::Ordering;
    let server = start().await;
    let proxy = fastflight::rest::Gateway::new(
        fastflight::rest::Source::remote(&server.location)
            .await
            .unwrap(),
    )
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let proxy_url = proxy.url();
    tokio::spawn(proxy.serve());
    for (mode, url) in [("local", server.gateway.clone()), ("proxy", proxy_url)] {
        server.probes.stream_dropped.store(false, Ordering::SeqCst);
        server
            .probes
            .context_cancelled
            .store(false, Ordering::SeqCst);
        let response = post(&url, Some("text/csv"), ticket(&Slow {})).await;
        assert_eq!(response.status(), StatusCode::OK, "{mode}");
        let mut body = response.bytes_stream();
        // The header and the first rows arrive; then the client leaves.
        let first = body.next().await.unwrap().unwrap();
        assert!(!first.is_empty(), "{mode}");
        assert!(
            !server.probes.stream_dropped.load(Ordering::SeqCst),
            "{mode}"
        );
        drop(body);
        assert!(
            soon(&server.probes.stream_dropped).await,
            "{mode}: the service's stream runs on"
        );
        assert!(
            soon(&server.probes.context_cancelled).await,
            "{mode}: the context is not cancelled"
        );
    }
}

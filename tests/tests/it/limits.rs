//! What one client may ask of a server is bounded, and a refusal names the limit: request
//! sizes on every route, streams per connection and in flight, deadlines, HTTP/1.0 on the
//! gateway, and a peer's text in errors and logs.

use std::time::{Duration, Instant};

use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::{Action, FlightDescriptor, Ticket};
use futures::StreamExt;
use tonic::Code;

use crate::services::*;
use crate::support::serve_tests as serve;

async fn raw(location: &str) -> FlightServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(location.replace("grpc://", "http://"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightServiceClient::new(channel).max_encoding_message_size(usize::MAX)
}

#[tokio::test]
async fn every_route_refuses_a_request_above_max_request_bytes() {
    let (location, gateway, _) = serve(|b| b.max_request_bytes(64 * 1024)).await;
    let big = format!(
        r#"{{"param_type": "tests.Pairs", "rows": 1, "pad": "{}"}}"#,
        "x".repeat(100 * 1024)
    );
    let mut raw = raw(&location).await;
    let e = raw
        .do_get(Ticket::new(big.clone()))
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    assert!(e.message().contains("65536"), "{}", e.message());
    let e = raw
        .get_flight_info(FlightDescriptor::new_cmd(big.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    let e = raw
        .do_action(Action::new("health", big.clone()))
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    // The gateway's body: 413 with a JSON error naming the limit.
    let response = reqwest::Client::new()
        .post(format!("{gateway}/stream"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("max_request_bytes") && message.contains("65536"),
        "{message}"
    );
    // A request under the limit is served, on the same connection.
    let ok = fastflight::Client::connect(&location).await.unwrap();
    let rows = ok
        .fetch(Pairs { rows: 3 })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(rows.num_rows(), 3);
}

#[tokio::test]
async fn streams_in_flight_are_bounded_server_wide_with_a_named_refusal() {
    let (location, gateway, _) = serve(|b| b.max_concurrency(3, Duration::from_millis(100))).await;
    // Three slow streams hold every slot (each its own client, read once).
    let mut held = Vec::new();
    for _ in 0..3 {
        let client = fastflight::Client::connect(&location).await.unwrap();
        let mut stream = client.fetch(Slow {}).await.unwrap();
        stream.next().await.unwrap().unwrap();
        held.push(stream);
    }
    let other = fastflight::Client::connect(&location).await.unwrap();
    let e = other.fetch(Pairs { rows: 1 }).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    assert!(
        e.to_string().contains("max_concurrency") && e.to_string().contains("3 streams"),
        "{e}"
    );
    // The gateway shares the limit: 429 naming it.
    let response = reqwest::Client::new()
        .post(format!("{gateway}/stream"))
        .body(r#"{"param_type": "tests.Pairs", "rows": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    // A freed slot is taken by the next request.
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match other.fetch(Pairs { rows: 2 }).await {
            Ok(stream) => {
                assert_eq!(stream.concat().await.unwrap().num_rows(), 2);
                break;
            }
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
                assert!(Instant::now() < deadline, "the slot was not freed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test]
async fn one_connection_holds_at_most_max_concurrent_streams() {
    let (location, _, _) = serve(|b| b.max_concurrent_streams(2)).await;
    let client = fastflight::Client::connect(&location).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = client.fetch(Slow {}).await.unwrap();
        stream.next().await.unwrap().unwrap();
        held.push(stream);
    }
    // A third stream on the same connection waits for one of the two ...
    let third =
        tokio::time::timeout(Duration::from_millis(500), client.fetch(Pairs { rows: 1 })).await;
    assert!(
        third.is_err(),
        "a third stream opened on a connection limited to two"
    );
    // ... while another connection is served at once.
    let other = fastflight::Client::connect(&location).await.unwrap();
    assert_eq!(pairs_within(&other, 2, "another connection").await, 2);
    // Once one stream ends, the connection takes the next.
    held.pop();
    assert_eq!(pairs_within(&client, 4, "the first connection").await, 4);
}

/// The rows of a `Pairs` call, which must be answered within 10 s.
async fn pairs_within(client: &fastflight::Client, rows: usize, who: &str) -> usize {
    let call = async { client.fetch(Pairs { rows }).await?.concat().await };
    tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .unwrap_or_else(|_| panic!("{who} was not served within 10 s"))
        .unwrap()
        .num_rows()
}

/// Reads a stream to its end; the error that ended it, if any.
async fn read_to_end(
    mut stream: tonic::Streaming<arrow_flight::FlightData>,
) -> Option<tonic::Status> {
    loop {
        match stream.message().await {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(status) => return Some(status),
        }
    }
}

#[tokio::test]
async fn deadlines_end_streams_on_the_server() {
    // The server's own request timeout.
    let (location, _, probes) =
        serve(|b| b.request_timeout(Some(Duration::from_millis(300)))).await;
    let mut raw_client = raw(&location).await;
    let started = Instant::now();
    let stream = raw_client
        .do_get(Ticket::new(fastflight::ticket::encode(&Slow {}).unwrap()))
        .await
        .unwrap()
        .into_inner();
    let status = read_to_end(stream).await.expect("the stream is cut");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(
        status.message().contains("request_timeout"),
        "{}",
        status.message()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(probes
        .stream_dropped
        .load(std::sync::atomic::Ordering::SeqCst));

    // The caller's grpc-timeout, honoured by the server over the whole stream.
    let (location, _, _) = serve(|b| b).await;
    let mut raw_client = raw(&location).await;
    let mut request =
        tonic::Request::new(Ticket::new(fastflight::ticket::encode(&Slow {}).unwrap()));
    request.set_timeout(Duration::from_millis(400));
    let stream = raw_client.do_get(request).await.unwrap().into_inner();
    let status = tokio::time::timeout(Duration::from_secs(10), read_to_end(stream))
        .await
        .expect("the deadline ends the stream")
        .expect("the stream is cut");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(
        status.message().contains("grpc-timeout"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn the_gateway_refuses_http_1_0_streams() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_, gateway, _) = serve(|b| b).await;
    let url = reqwest::Url::parse(&gateway).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let body = r#"{"param_type": "tests.Pairs", "rows": 3}"#;
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST {}/stream HTTP/1.0\r\nHost: {address}\r\nContent-Length: {}\r\n\r\n{body}",
        url.path(),
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_string(&mut answer))
        .await
        .expect("the gateway answers and closes")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.0 505"), "{answer}");
    assert!(answer.contains("HTTP/1.1"), "{answer}");
}

#[tokio::test]
async fn a_peers_text_is_escaped_and_cut_in_errors() {
    let (location, _, _) = serve(|b| b.max_request_bytes(8 * 1024 * 1024)).await;
    let client = fastflight::Client::connect(&location).await.unwrap();
    let forged = format!(
        "x\n2026-01-01T00:00:00Z INFO stream ended outcome=\"complete\" user=admin{}",
        "y".repeat(3_900_000)
    );
    let ticket = serde_json::to_vec(&serde_json::json!({ "param_type": forged })).unwrap();
    let e = client.fetch_ticket(ticket).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "the code is kept");
    let text = e.to_string();
    assert!(text.len() < 2_000, "{} bytes of error", text.len());
    assert!(!text.contains('\n'), "{text}");
    assert!(text.contains("\\n2026"), "{text}");
}

#[test]
fn servers_listen_on_loopback_by_default() {
    assert_eq!(fastflight::wire::DEFAULT_LOCATION, "grpc://127.0.0.1:8815");
    let out = std::process::Command::new(crate::support::demo_binary())
        .args(["start-all", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[default: grpc://127.0.0.1:8815]"), "{help}");
    assert!(help.contains("[default: 127.0.0.1]"), "{help}");
    for option in [
        "--max-request-bytes",
        "--max-concurrent-streams",
        "--max-concurrency",
        "--queue-wait-ms",
        "--request-timeout",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
}

/// Liveness and readiness: the standard gRPC health service, `/health/live` and
/// `/health/ready`, the latter saying why when the server is saturated.
#[tokio::test]
async fn health_tells_live_from_ready() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let (location, gateway, _) = serve(|b| b.max_concurrency(1, Duration::from_millis(50))).await;
    let channel = tonic::transport::Endpoint::from_shared(location.replace("grpc://", "http://"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    for service in ["", "arrow.flight.protocol.FlightService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let origin = gateway.trim_end_matches("/fastflight");
    let get = |path: &'static str| {
        let url = format!("{origin}{path}");
        async move { reqwest::get(url).await.unwrap() }
    };
    assert_eq!(get("/health/live").await.status(), reqwest::StatusCode::OK);
    assert_eq!(get("/health/ready").await.status(), reqwest::StatusCode::OK);
    // The one slot taken: not ready, saying why; still live.
    let client = fastflight::Client::connect(&location).await.unwrap();
    let mut held = client.fetch(Slow {}).await.unwrap();
    held.next().await.unwrap().unwrap();
    let response = get("/health/ready").await;
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["reason"].as_str().unwrap().contains("max_concurrency"),
        "{body}"
    );
    assert_eq!(get("/health/live").await.status(), reqwest::StatusCode::OK);
    // The gRPC health service follows within a moment, and back once the slot is free.
    let status_within = |want: ServingStatus| {
        let mut health = health.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let status = health
                    .check(HealthCheckRequest {
                        service: "arrow.flight.protocol.FlightService".into(),
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .status;
                if status == want as i32 {
                    return true;
                }
                if Instant::now() > deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert!(
        status_within(ServingStatus::NotServing).await,
        "still SERVING at max_concurrency"
    );
    let action: serde_json::Value =
        serde_json::from_slice(&client.action("health").await.unwrap()).unwrap();
    assert_eq!(action["ready"], false, "{action}");
    assert_eq!(action["streams_in_flight"], 1, "{action}");
    drop(held);
    assert!(
        status_within(ServingStatus::Serving).await,
        "not SERVING once the slot is free"
    );
}

/// `GET /metrics` on the gateway: Prometheus text with streams, refusals, rows, bytes
/// and durations per service (counted over the whole test process, so compared as
/// lower bounds).
#[tokio::test]
async fn the_gateway_exports_saturation_metrics() {
    let (location, gateway, _) = serve(|b| b).await;
    let client = fastflight::Client::connect(&location).await.unwrap();
    for _ in 0..3 {
        let rows = client
            .fetch(Pairs { rows: 5 })
            .await
            .unwrap()
            .concat()
            .await
            .unwrap();
        assert_eq!(rows.num_rows(), 5);
    }
    let e = client
        .fetch_ticket(&br#"{"param_type": "no.such.Metric"}"#[..])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let origin = gateway.trim_end_matches("/fastflight");
    let response = reqwest::get(format!("{origin}/metrics")).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let text = response.text().await.unwrap();
    let value = |prefix: &str, labels: &[&str]| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix) && labels.iter().all(|label| l.contains(label)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let pairs = "service=\"tests.Pairs\"";
    assert!(
        value("fastflight_streams_started_total", &[pairs]) >= 3.0,
        "{text}"
    );
    assert!(
        value("fastflight_rows_sent_total", &[pairs]) >= 15.0,
        "{text}"
    );
    assert!(
        value("fastflight_bytes_sent_total", &[pairs]) > 0.0,
        "{text}"
    );
    assert!(
        value(
            "fastflight_stream_duration_seconds_count",
            &[pairs, "outcome=\"complete\""]
        ) >= 3.0,
        "{text}"
    );
    assert!(
        value(
            "fastflight_stream_duration_seconds_bucket",
            &[pairs, "le=\"+Inf\""]
        ) >= 3.0,
        "{text}"
    );
    assert!(
        value("fastflight_requests_refused_total", &["code=\"NotFound\""]) >= 1.0,
        "{text}"
    );
    assert!(text.contains("fastflight_streams_in_flight"), "{text}");
}

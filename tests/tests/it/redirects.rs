//! Credentials go only where the user sent them. A server that names a recorder among
//! its peers (as a hostile or compromised server would) gets the client to read parts
//! there: the recorder, on another loopback address, must see no password and no static
//! token, and the call must still give every row (through the fallback, the origin). A
//! TLS server with plain-text peers does not start; a peer that accepts and never
//! answers costs the open timeout, not a minute.

use crate::support::BoundedOutput;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fastflight::tonic;
use futures::StreamExt;
use tonic::codegen::http;

use crate::support::DemoProcess;

/// A gRPC server that answers every call `Unavailable` and keeps each call's
/// `authorization` header (`-` without one).
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl tonic::server::NamedService for Recorder {
    const NAME: &'static str = "arrow.flight.protocol.FlightService";
}

impl tonic::codegen::Service<http::Request<tonic::body::Body>> for Recorder {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let header = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        self.0.lock().unwrap().push(header);
        std::future::ready(Ok(tonic::Status::unavailable("a recorder").into_http()))
    }
}

impl Recorder {
    /// Serves on `ip`:0; its location.
    async fn start(&self, ip: &str) -> String {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let location = format!("grpc://{}", listener.local_addr().unwrap());
        let service = self.clone();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        location
    }

    fn seen(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

const TOKEN: &str = "svc-0123456789abcdef-static";
const PASSWORD: &str = "correct horse battery staple";

/// A demo server with user alice and the static token of `etl`, and `peers`.
fn origin(peers: &str) -> DemoProcess {
    // Read when the server starts: removed once it serves (it keeps what it read).
    let scratch = crate::support::scratch_dir("redirects");
    let dir = scratch.path();
    let users = dir.join("users.txt");
    let tokens = dir.join("tokens.txt");
    std::fs::write(
        &users,
        format!(
            "alice:{}\n",
            fastflight::auth::hash_password(PASSWORD).unwrap()
        ),
    )
    .unwrap();
    std::fs::write(&tokens, format!("{TOKEN} etl\n")).unwrap();
    DemoProcess::spawn(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--auth-users",
            users.to_str().unwrap(),
            "--auth-tokens",
            tokens.to_str().unwrap(),
            "--peers",
            peers,
        ],
        &[],
    )
}

const PARTS: fastflight_demo_api::SyntheticParams = fastflight_demo_api::SyntheticParams {
    partitions: 4,
    start: 0,
    rows: 40_000,
    batch_size: 10_000,
    seed: None,
};

/// `call` of the four-part synthetic request with these options and environment:
/// its exit status, rows and stderr.
fn call(location: &str, options: &[&str], env: &[(&str, &str)]) -> (bool, usize, String) {
    let request = serde_json::json!({
        "param_type": "fastflight.demo.SyntheticParams",
        "rows": PARTS.rows,
        "partitions": PARTS.partitions,
    })
    .to_string();
    let mut command = std::process::Command::new(crate::support::demo_binary());
    command
        .args(["call", "--location", location, "--format", "csv"])
        .args(options)
        .arg(&request)
        .env_remove("FASTFLIGHT_TOKEN")
        .env_remove("FASTFLIGHT_PASSWORD");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.bounded_output().unwrap();
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .count()
        .saturating_sub(1);
    (
        out.status.success(),
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Several threads: the recorder answers while `call` runs and the test waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_and_static_tokens_never_reach_a_location_the_user_did_not_choose() {
    let recorder = Recorder::default();
    let peer = recorder.start("127.0.0.5").await;
    let server = origin(&peer);
    // The server does name the recorder: half the parts are to be read there first.
    let client = fastflight::Client::builder(&server.location)
        .basic("alice", PASSWORD)
        .connect()
        .await
        .unwrap();
    let info = client.flight_info(&PARTS).await.unwrap();
    assert!(
        info.endpoint
            .iter()
            .any(|e| e.location.first().is_some_and(|l| l.uri == peer)),
        "no part is read first at the recorder: the test would prove nothing"
    );

    // The Rust client with a password, and `call` with a password or a static token:
    // every row, read at the origin; the recorder sees nothing at all.
    assert_eq!(
        crate::support::rows_of(client.fetch(PARTS).await).await,
        40_000
    );
    let token_file = crate::support::scratch_file("redirects-token", &format!("{TOKEN}\n"));
    for (options, env) in [
        (
            vec!["--user", "alice"],
            vec![("FASTFLIGHT_PASSWORD", PASSWORD)],
        ),
        (vec!["--token-file", token_file.to_str().unwrap()], vec![]),
        (vec![], vec![("FASTFLIGHT_TOKEN", TOKEN)]),
    ] {
        let (ok, rows, stderr) = call(&server.location, &options, &env);
        assert!(ok, "{options:?}: {stderr}");
        assert_eq!(rows, 40_000, "{options:?}");
        assert!(
            !stderr.contains("given on the command line"),
            "{options:?}: no secret on the command line: {stderr}"
        );
    }
    assert_eq!(
        recorder.seen(),
        Vec::<String>::new(),
        "the recorder was called"
    );

    // Trusted by the user's choice: the recorder gets the origin's own token, never the
    // password nor the static token, and the call still gives every row.
    for (options, env) in [
        (
            vec!["--user", "alice", "--trust-host", "127.0.0.5"],
            vec![("FASTFLIGHT_PASSWORD", PASSWORD)],
        ),
        (
            vec!["--trust-host", "127.0.0.5"],
            vec![("FASTFLIGHT_TOKEN", TOKEN)],
        ),
    ] {
        let (ok, rows, stderr) = call(&server.location, &options, &env);
        assert!(ok, "{options:?}: {stderr}");
        assert_eq!(rows, 40_000, "{options:?}");
    }
    let seen = recorder.seen();
    assert!(!seen.is_empty(), "the trusted recorder was never read");
    for header in &seen {
        assert!(
            header.starts_with("Bearer ey") && !header.contains(TOKEN),
            "the recorder got {header}"
        );
    }
    // A static token on the command line works, and says where it shows.
    let (ok, rows, stderr) = call(&server.location, &["--token", TOKEN], &[]);
    assert!(ok && rows == 40_000, "{stderr}");
    assert!(
        stderr.contains("--token was given on the command line"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_tls_server_with_plain_text_peers_refuses_to_start_naming_the_peer() {
    let certs = crate::tls::Certs::new("redirects CA");
    let scratch = crate::support::scratch_dir("redirects-tls");
    let dir = scratch.path();
    certs.write(dir);
    let out = std::process::Command::new(crate::support::demo_binary())
        .args([
            "start-flight-server",
            "--flight-location",
            "grpc+tls://127.0.0.1:0",
            "--tls-cert",
            dir.join("server.pem").to_str().unwrap(),
            "--tls-key",
            dir.join("server.key").to_str().unwrap(),
            "--peers",
            "grpc+tls://127.0.0.1:1,grpc://127.0.0.1:2",
        ])
        .env("FASTFLIGHT_DATA_DIR", crate::support::demo_data_dir())
        .bounded_output()
        .unwrap();
    assert!(!out.status.success(), "it started");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`grpc://127.0.0.1:2`") && stderr.contains("grpc+tls://"),
        "{stderr}"
    );
}

/// Accepts connections and holds them, answering nothing.
async fn tarpit() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let location = format!("grpc://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    location
}

/// A peer that accepts and never answers: every part is read through its fallback
/// after the open timeout, not after a minute; about as soon as with a peer that is
/// down (the same request, the same client settings, measured here).
#[tokio::test]
async fn a_peer_that_never_answers_costs_the_open_timeout() {
    let hung = tarpit().await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let location = format!("grpc://{}", listener.local_addr().unwrap());
        drop(listener);
        location
    };
    let open_timeout = Duration::from_secs(1);
    let mut took = Vec::new();
    for peer in [&dead, &hung] {
        let server = DemoProcess::spawn(
            &[
                "start-flight-server",
                "--flight-location",
                "grpc://127.0.0.1:0",
                "--peers",
                peer,
            ],
            &[],
        );
        let client = fastflight::Client::builder(&server.location)
            .open_timeout(open_timeout)
            .connect()
            .await
            .unwrap();
        let started = Instant::now();
        let rows = tokio::time::timeout(Duration::from_secs(60), async {
            crate::support::rows_of(client.fetch(PARTS).await).await
        })
        .await
        .expect("the read ended within a minute");
        assert_eq!(rows, 40_000);
        took.push(started.elapsed());
    }
    println!(
        "four parts with a dead peer: {:?}; with a hung peer: {:?}",
        took[0], took[1]
    );
    // The parts are read four at once: the hung peer costs about one open timeout
    // (its pings unanswered), not the 50 s of a keep-alive.
    assert!(
        took[1] < took[0] + open_timeout * 4,
        "a hung peer: {:?}, a dead one {:?}",
        took[1],
        took[0]
    );
}

/// A hostile Flight server: it hands out a token at the Handshake and answers the
/// `endpoints` action with one endpoint whose only location is `elsewhere`.
#[derive(Clone)]
struct Hostile {
    elsewhere: String,
}

type Boxed<T> = futures::stream::BoxStream<'static, Result<T, tonic::Status>>;

#[tonic::async_trait]
impl arrow_flight::flight_service_server::FlightService for Hostile {
    type HandshakeStream = Boxed<arrow_flight::HandshakeResponse>;
    type ListFlightsStream = Boxed<arrow_flight::FlightInfo>;
    type DoGetStream = Boxed<arrow_flight::FlightData>;
    type DoPutStream = Boxed<arrow_flight::PutResult>;
    type DoExchangeStream = Boxed<arrow_flight::FlightData>;
    type DoActionStream = Boxed<arrow_flight::Result>;
    type ListActionsStream = Boxed<arrow_flight::ActionType>;

    async fn handshake(
        &self,
        _: tonic::Request<tonic::Streaming<arrow_flight::HandshakeRequest>>,
    ) -> Result<tonic::Response<Self::HandshakeStream>, tonic::Status> {
        let mut response = tonic::Response::new(
            futures::stream::empty::<Result<arrow_flight::HandshakeResponse, tonic::Status>>()
                .boxed(),
        );
        response
            .metadata_mut()
            .insert("authorization", "Bearer hostile".parse().unwrap());
        Ok(response)
    }

    async fn do_action(
        &self,
        _: tonic::Request<arrow_flight::Action>,
    ) -> Result<tonic::Response<Self::DoActionStream>, tonic::Status> {
        let info = arrow_flight::FlightInfo::new().with_endpoint(
            arrow_flight::FlightEndpoint::new()
                .with_ticket(arrow_flight::Ticket::new("{}"))
                .with_location(self.elsewhere.clone()),
        );
        let body = prost::Message::encode_to_vec(&info);
        Ok(tonic::Response::new(
            futures::stream::iter([Ok(arrow_flight::Result::new(body))]).boxed(),
        ))
    }

    async fn list_flights(
        &self,
        _: tonic::Request<arrow_flight::Criteria>,
    ) -> Result<tonic::Response<Self::ListFlightsStream>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
    async fn get_flight_info(
        &self,
        _: tonic::Request<arrow_flight::FlightDescriptor>,
    ) -> Result<tonic::Response<arrow_flight::FlightInfo>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
    async fn poll_flight_info(
        &self,
        _: tonic::Request<arrow_flight::FlightDescriptor>,
    ) -> Result<tonic::Response<arrow_flight::PollInfo>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
    async fn get_schema(
        &self,
        _: tonic::Request<arrow_flight::FlightDescriptor>,
    ) -> Result<tonic::Response<arrow_flight::SchemaResult>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
    async fn do_get(
        &self,
        _: tonic::Request<arrow_flight::Ticket>,
    ) -> Result<tonic::Response<Self::DoGetStream>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
    async fn do_put(
        &self,
        _: tonic::Request<tonic::Streaming<arrow_flight::FlightData>>,
    ) -> Result<tonic::Response<Self::DoPutStream>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
    async fn do_exchange(
        &self,
        _: tonic::Request<tonic::Streaming<arrow_flight::FlightData>>,
    ) -> Result<tonic::Response<Self::DoExchangeStream>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
    async fn list_actions(
        &self,
        _: tonic::Request<arrow_flight::Empty>,
    ) -> Result<tonic::Response<Self::ListActionsStream>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
}

/// A hostile origin names only a location of another host for a result: the client
/// with credentials reads nothing there and says why, naming the location and the
/// setting; the location sees no call at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_origin_cannot_send_the_client_elsewhere_with_its_credentials() {
    let recorder = Recorder::default();
    let elsewhere = recorder.start("127.0.0.6").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("grpc://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(
                arrow_flight::flight_service_server::FlightServiceServer::new(Hostile {
                    elsewhere: elsewhere.clone(),
                }),
            )
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let with_password = fastflight::Client::builder(&origin)
        .basic("alice", PASSWORD)
        .connect()
        .await
        .unwrap();
    let with_token = fastflight::Client::builder(&origin)
        .bearer(TOKEN)
        .connect()
        .await
        .unwrap();
    // A header of one's own (an API key) is kept from such a location too.
    let with_key = fastflight::Client::connect(&origin)
        .await
        .unwrap()
        .with_header("x-api-key", "k-0123456789")
        .unwrap();
    for client in [with_password, with_token, with_key] {
        let e = match client.fetch_spread("{}").await {
            Ok(stream) => stream.collect().await.map(drop).unwrap_err(),
            Err(e) => e,
        };
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e}");
        assert!(
            e.to_string().contains(&format!("`{elsewhere}`"))
                && e.to_string().contains("--trust-host"),
            "{e}"
        );
    }
    assert_eq!(recorder.seen(), Vec::<String>::new());
}

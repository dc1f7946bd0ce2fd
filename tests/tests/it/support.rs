//! A real server on 127.0.0.1:0 per test, with every state the test services take.

use std::sync::Arc;

use fastflight::arrow::array::{Array, Int64Array, RecordBatch};

use crate::services::{Hits, Label, Probes};

pub struct TestServer {
    pub location: String,
    pub probes: Arc<Probes>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a server with all test states, serving until the returned value is dropped.
pub async fn start() -> TestServer {
    let probes = Arc::new(Probes::default());
    let builder = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .state(Arc::clone(&probes))
        .state(Hits::default())
        .state(Label("from the builder".into()));
    let server = builder.bind().await.expect("server binds on 127.0.0.1:0");
    let location = server.location();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve_with_shutdown(async {
        let _ = rx.await;
    }));
    TestServer {
        location,
        probes,
        shutdown: Some(tx),
    }
}

pub async fn client(server: &TestServer) -> fastflight::Client {
    fastflight::Client::connect(&server.location)
        .await
        .expect("client connects")
}

/// The `n` column of all batches, in order.
pub fn column_n(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let n = b
                .column_by_name("n")
                .expect("column n")
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("int64")
                .clone();
            (0..n.len()).map(move |i| n.value(i)).collect::<Vec<_>>()
        })
        .collect()
}

/// The `fastflight-demo` binary, built by `cargo test --workspace` beside this test binary;
/// built here when the tests run alone.
pub fn demo_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile dir");
    let binary = dir.join(format!("fastflight-demo{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "fastflight-examples",
                "--bin",
                "fastflight-demo",
            ])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building fastflight-demo failed");
    }
    binary
}

/// A `fastflight-demo start-flight-server` child on a free port; killed on drop.
pub struct DemoProcess {
    pub child: std::process::Child,
    pub location: String,
}

impl DemoProcess {
    pub fn start() -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(demo_binary())
            .args([
                "start-flight-server",
                "--flight-location",
                "grpc://127.0.0.1:0",
            ])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("fastflight-demo starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines
            .next()
            .expect("a first line")
            .expect("readable stdout");
        let location = first
            .rsplit(' ')
            .next()
            .filter(|l| l.starts_with("grpc://"))
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        DemoProcess { child, location }
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

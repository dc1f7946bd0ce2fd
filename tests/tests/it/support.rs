//! A real server on 127.0.0.1:0 per test, with every state the test services take.

use std::sync::Arc;

use fastflight::arrow::array::{Array, Int64Array, RecordBatch};

use crate::services::{Hits, Label, Probes};

pub struct TestServer {
    pub location: String,
    /// The fixture directory: `fixture.sqlite`, CSV and Parquet files (see `fixtures`).
    pub data_dir: std::path::PathBuf,
    /// The in-process HTTP gateway over the same services: `http://IP:PORT/fastflight`.
    pub gateway: String,
    pub probes: Arc<Probes>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The fixture directory's folder, removed with the server.
    _fixtures: tempfile::TempDir,
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
    let (fixtures, data_dir) = crate::fixtures::create();
    let builder = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .state(
            fastflight::sources::sqlite::SqlitePool::open_read_only(
                data_dir.join("fixture.sqlite"),
            )
            .expect("fixture database opens"),
        )
        .state(fastflight::sources::files::FileRoot::new(&data_dir).expect("fixture root"))
        .state(Arc::clone(&probes))
        .state(Hits::default())
        .state(crate::services::FlakyCalls::default())
        .state(Label("from the builder".into()))
        .state(crate::hygiene::Shared)
        .state(crate::extractors::Pool("from the builder".into()))
        .state(fastflight_examples::Postgres::default());
    let server = builder.bind().await.expect("server binds on 127.0.0.1:0");
    let location = server.location();
    let gateway = fastflight::rest::Gateway::new(fastflight::rest::Source::local(&server))
        .bind("127.0.0.1:0")
        .await
        .expect("gateway binds on 127.0.0.1:0");
    let gateway_url = gateway.url();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let stop = async {
        let _ = rx.await;
    };
    tokio::spawn(async move {
        let gateway = tokio::spawn(gateway.serve());
        let _ = server.serve_with_shutdown(stop).await;
        gateway.abort();
    });
    TestServer {
        location,
        data_dir,
        gateway: gateway_url,
        probes,
        shutdown: Some(tx),
        _fixtures: fixtures,
    }
}

pub async fn client(server: &TestServer) -> fastflight::Client {
    fastflight::Client::connect(&server.location)
        .await
        .expect("client connects")
}

/// The `n` column of all batches, in order.
/// The rows of a result, read to its end (an error fails the test).
pub async fn rows_of(stream: fastflight::Result<fastflight::RecordBatchStream>) -> usize {
    stream
        .unwrap()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(RecordBatch::num_rows)
        .sum()
}

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

/// The longest a child process of a test (a `call`, a Python script, a command line
/// tool) may run: past it, it is killed and the test fails naming it.
pub const CHILD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// [`std::process::Command::output`] within [`CHILD_DEADLINE`].
pub trait BoundedOutput {
    /// The child's status and output; a child still running at the deadline is killed
    /// and the test fails, naming it.
    fn bounded_output(&mut self) -> std::io::Result<std::process::Output>;
}

impl BoundedOutput for std::process::Command {
    fn bounded_output(&mut self) -> std::io::Result<std::process::Output> {
        use std::io::Read;
        let mut child = self
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = read(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = read(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = std::time::Instant::now() + CHILD_DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{:?} {:?} did not end within {CHILD_DEADLINE:?}",
                    self.get_program(),
                    self.get_args().collect::<Vec<_>>()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        Ok(std::process::Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}

/// A spawned child's status and output, waited for at most [`CHILD_DEADLINE`] (killed
/// past it, the test failing).
pub fn wait_within(mut child: std::process::Child) -> std::process::Output {
    let deadline = std::time::Instant::now() + CHILD_DEADLINE;
    while child
        .try_wait()
        .expect("the child can be waited for")
        .is_none()
    {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("a child process did not end within {CHILD_DEADLINE:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait_with_output().expect("the child's output")
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

/// An example program of this crate (`tests/examples/NAME.rs`), built by `cargo test`
/// beside this test binary; built here when the tests run alone.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile dir");
    let binary = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "fastflight-tests", "--example", name])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the example {name} failed");
    }
    binary
}

/// The demo's data directory for the tests: made once beside the demo binary.
pub fn demo_data_dir() -> std::path::PathBuf {
    demo_binary()
        .parent()
        .expect("target profile dir")
        .join("fastflight-demo-data")
}

/// A folder of the test's own under the system's temporary folder, removed with what it
/// holds when dropped: at the test's end, passed or failed.
pub fn scratch_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("fastflight-it-{name}-"))
        .tempdir()
        .expect("a temporary folder")
}

/// A file of the test's own holding `text`, removed when dropped.
pub fn scratch_file(name: &str, text: &str) -> tempfile::TempPath {
    let mut file = tempfile::Builder::new()
        .prefix(&format!("fastflight-it-{name}-"))
        .tempfile()
        .expect("a temporary file");
    std::io::Write::write_all(&mut file, text.as_bytes()).expect("written");
    file.into_temp_path()
}

/// A path of the test's own (the file need not exist yet), in a folder removed with
/// what it holds when dropped.
pub fn scratch_path(name: &str) -> ScratchPath {
    let folder = scratch_dir("path");
    ScratchPath {
        path: folder.path().join(name),
        _folder: folder,
    }
}

/// See [`scratch_path`]; derefs to the path.
pub struct ScratchPath {
    path: std::path::PathBuf,
    _folder: tempfile::TempDir,
}

impl std::ops::Deref for ScratchPath {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

impl AsRef<std::path::Path> for ScratchPath {
    fn as_ref(&self) -> &std::path::Path {
        &self.path
    }
}

/// Whether a process's log says the address it was given is in use (taken between our
/// choosing its port and its binding).
pub fn address_in_use(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("(98: ") || log.contains("os error 98")
}

/// Starts what must be told its ports before it starts (servers that are each other's
/// peers, nginx, PostgreSQL), on `count` ports free now; when a port was taken in
/// between (`start` returns `Err` with a log that says so), again on others, five times
/// at most. Whatever can bind port 0 itself is started on port 0 instead.
pub fn on_free_ports<T>(count: usize, mut start: impl FnMut(&[u16]) -> Result<T, String>) -> T {
    let mut last = String::new();
    for _ in 0..5 {
        let listeners: Vec<std::net::TcpListener> = (0..count)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().expect("its address").port())
            .collect();
        drop(listeners);
        match start(&ports) {
            Ok(started) => return started,
            Err(log) if address_in_use(&log) => last = log,
            Err(log) => panic!("did not start on ports {ports:?}: {log}"),
        }
    }
    panic!("five sets of free ports were taken before they could be bound: {last}")
}

/// A `fastflight-demo` serving child on free ports; killed on drop.
pub struct DemoProcess {
    pub child: std::process::Child,
    /// The Flight location, `grpc://127.0.0.1:PORT`.
    pub location: String,
    /// The gateway URL (`start-all` only), `http://127.0.0.1:PORT/fastflight`.
    pub gateway: Option<String>,
}

impl DemoProcess {
    /// `start-flight-server` on a free port.
    pub fn start() -> Self {
        Self::spawn(
            &[
                "start-flight-server",
                "--flight-location",
                "grpc://127.0.0.1:0",
            ],
            &[],
        )
    }

    /// `start-rest-server` on a free port, the proxy gateway of the Flight server at
    /// `flight`, with extra arguments.
    pub fn proxy(flight: &str, extra: &[&str]) -> Self {
        let mut args = vec![
            "start-rest-server",
            "--flight-location",
            flight,
            "--rest-host",
            "127.0.0.1",
            "--rest-port",
            "0",
        ];
        args.extend_from_slice(extra);
        Self::spawn(&args, &[])
    }

    /// `start-all` on free ports, with extra arguments and environment.
    pub fn start_all(extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_all_logged(extra, env, std::process::Stdio::inherit())
    }

    /// `start-all` on free ports, its log (stderr) going to `stderr`.
    pub fn start_all_logged(
        extra: &[&str],
        env: &[(&str, &str)],
        stderr: std::process::Stdio,
    ) -> Self {
        let mut args = vec![
            "start-all",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--rest-host",
            "127.0.0.1",
            "--rest-port",
            "0",
        ];
        args.extend_from_slice(extra);
        Self::spawn_with_stderr(&args, env, stderr)
    }

    /// Any serving command; reads the address lines it prints.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::try_spawn(args, env).unwrap_or_else(|log| {
            panic!("fastflight-demo {args:?} stopped before it served: {log}")
        })
    }

    /// Any serving command; `Err` with its log (stderr, copied to ours as it comes) when
    /// it stopped before printing its address lines: a port in use, say
    /// ([`address_in_use`]).
    pub fn try_spawn(args: &[&str], env: &[(&str, &str)]) -> Result<Self, String> {
        use std::io::BufRead;
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let mut child = Self::command(args, env, std::process::Stdio::piped())
            .spawn()
            .expect("fastflight-demo starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                eprintln!("{line}");
                let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                if kept.len() < 64 * 1024 {
                    kept.push_str(&line);
                    kept.push('\n');
                }
            }
        });
        Self::addresses(child, args).map_err(|()| {
            // The copying thread ends with the child's stderr: give it a moment.
            std::thread::sleep(std::time::Duration::from_millis(100));
            log.lock().unwrap_or_else(|p| p.into_inner()).clone()
        })
    }

    /// Any serving command, its log (stderr) going to `stderr`.
    pub fn spawn_with_stderr(
        args: &[&str],
        env: &[(&str, &str)],
        stderr: std::process::Stdio,
    ) -> Self {
        let child = Self::command(args, env, stderr)
            .spawn()
            .expect("fastflight-demo starts");
        Self::addresses(child, args)
            .unwrap_or_else(|()| panic!("fastflight-demo {args:?} stopped before it served"))
    }

    fn command(
        args: &[&str],
        env: &[(&str, &str)],
        stderr: std::process::Stdio,
    ) -> std::process::Command {
        let mut command = std::process::Command::new(demo_binary());
        command
            .args(args)
            .env("RUST_LOG", "warn")
            .env("FASTFLIGHT_DATA_DIR", demo_data_dir())
            // Stopped at once unless a test asks for the lame-duck delay.
            .env("FASTFLIGHT_SHUTDOWN_DELAY", "0")
            .stdout(std::process::Stdio::piped())
            .stderr(stderr);
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    /// The serving child once it printed its address lines; `Err` when it stopped first.
    fn addresses(mut child: std::process::Child, args: &[&str]) -> Result<Self, ()> {
        use std::io::BufRead;
        let stdout = child.stdout.take().expect("piped stdout");
        // Read on a thread of its own, drained to the end so the child never blocks on
        // a full pipe; the address lines are waited for within the deadline.
        let (lines, addresses) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let _ = lines.send(line);
            }
        });
        let expected = if args[0] == "start-all" { 2 } else { 1 };
        let (mut location, mut gateway) = (String::new(), None);
        for _ in 0..expected {
            let line = match addresses.recv_timeout(CHILD_DEADLINE / 2) {
                Ok(line) => line,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = child.wait();
                    return Err(());
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "fastflight-demo {args:?} printed no address line within {:?}",
                        CHILD_DEADLINE / 2
                    );
                }
            };
            let address = line.rsplit(' ').next().unwrap_or_default().to_owned();
            if address.starts_with("grpc://") || address.starts_with("grpc+tls://") {
                location = address;
            } else if address.starts_with("http://") || address.starts_with("https://") {
                gateway = Some(address);
            } else {
                panic!("unexpected line: {line}");
            }
        }
        Ok(DemoProcess {
            child,
            location,
            gateway,
        })
    }

    /// The same command again on the port it served on (a restart), waiting while the
    /// port is still held: a replica back at its address.
    pub fn restart(&mut self, args: &[&str], env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Self::try_spawn(args, env) {
                Ok(started) => {
                    *self = started;
                    return;
                }
                Err(log) if address_in_use(&log) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(log) => panic!("fastflight-demo {args:?} did not start again: {log}"),
            }
        }
    }

    /// The peak resident set of the process so far, in bytes (Linux `VmHWM`).
    /// The resident memory of the process now.
    pub fn rss(&self) -> u64 {
        self.status_number("VmRSS:") * 1024
    }

    /// The number on a line of `/proc/PID/status` (kB for memory lines).
    fn status_number(&self, line: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status of the child");
        status
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("a numeric line of /proc status")
    }

    /// The threads of the process now.
    pub fn threads(&self) -> u64 {
        self.status_number("Threads:")
    }

    pub fn peak_rss(&self) -> u64 {
        self.status_number("VmHWM:") * 1024
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay on 127.0.0.1:0 in front of a server, counting the bytes the server sends.
pub struct CountingRelay {
    /// Where clients connect: `grpc://127.0.0.1:PORT`.
    pub location: String,
    to_client: Arc<std::sync::atomic::AtomicU64>,
}

impl CountingRelay {
    pub async fn start(server_location: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        let target = server_location.trim_start_matches("grpc://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let location = format!("grpc://{}", listener.local_addr().unwrap());
        let to_client = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&to_client);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                    continue;
                };
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let (mut in_read, mut in_write) = inbound.into_split();
                    let (mut out_read, mut out_write) = outbound.into_split();
                    let up = tokio::io::copy(&mut in_read, &mut out_write);
                    let down = async {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buffer = vec![0_u8; 64 * 1024];
                        loop {
                            let n = out_read.read(&mut buffer).await?;
                            if n == 0 {
                                return in_write.shutdown().await;
                            }
                            counter.fetch_add(n as u64, Ordering::Relaxed);
                            in_write.write_all(&buffer[..n]).await?;
                        }
                    };
                    let _ = tokio::join!(up, down);
                });
            }
        });
        Self {
            location,
            to_client,
        }
    }

    /// The bytes the server sent so far.
    pub fn bytes_to_client(&self) -> u64 {
        self.to_client.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A server of this binary's test services (`it::services`, with their states) and its
/// in-process gateway, with `configure` applied: location, gateway URL and probes.
pub async fn serve_tests(
    configure: impl FnOnce(fastflight::ServerBuilder) -> fastflight::ServerBuilder,
) -> (String, String, Arc<crate::services::Probes>) {
    let probes = Arc::new(crate::services::Probes::default());
    let builder = test_services(Arc::clone(&probes));
    let (location, url) = serve_with_gateway(configure(builder).bind().await.unwrap()).await;
    (location, url, probes)
}

/// A server builder of the test services (`it::services`) with their states, on a free
/// loopback port.
pub fn test_services(probes: Arc<crate::services::Probes>) -> fastflight::ServerBuilder {
    fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(
            fastflight::Registry::global()
                .unwrap()
                .under("it::services"),
        )
        .state(probes)
        .state(crate::services::FlakyCalls::default())
        .state(crate::services::Hits::default())
        .state(crate::services::Label("limits".into()))
}

/// Serves a bound server and its in-process gateway: the Flight location and the
/// gateway's URL.
pub async fn serve_with_gateway(server: fastflight::BoundServer) -> (String, String) {
    let location = server.location();
    let gateway = fastflight::rest::Gateway::new(fastflight::rest::Source::local(&server))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = gateway.url();
    tokio::spawn(gateway.serve());
    tokio::spawn(server.serve());
    (location, url)
}

/// A plain gRPC channel to a `grpc://` location, for clients of other services (health).
pub async fn channel(location: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(location.replace("grpc://", "http://"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// arrow-flight's generated client, for RPCs as any Flight client makes them.
pub async fn raw_client(
    location: &str,
) -> arrow_flight::flight_service_client::FlightServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(location.replace("grpc://", "http://"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    arrow_flight::flight_service_client::FlightServiceClient::new(channel)
        .max_encoding_message_size(usize::MAX)
}

/// A client that connects from `local_ip` (any of 127.0.0.0/8 on loopback): another
/// peer, as far as the server's per-peer shares go.
pub async fn client_from(location: &str, local_ip: &str) -> fastflight::Client {
    let channel = tonic::transport::Endpoint::from_shared(location.replace("grpc://", "http://"))
        .unwrap()
        .local_address(Some(local_ip.parse().unwrap()))
        .connect()
        .await
        .unwrap();
    fastflight::Client::from_channel(channel)
}

/// A fault a [`FaultyRelay`] injects into a connection, server to client.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Pass everything.
    None,
    /// Reset the connection after this many bytes to the client.
    ResetAfter(u64),
    /// Close the client's side cleanly after this many bytes (a truncation).
    CloseAfter(u64),
    /// Hold each chunk (16 kB at most) to the client this long.
    Delay(std::time::Duration),
}

/// A TCP relay in front of a server that injects a [`Fault`] into each connection:
/// `pick(n)` for the connection numbered `n`.
pub struct FaultyRelay {
    /// Where clients connect: `grpc://127.0.0.1:PORT`.
    pub location: String,
}

impl FaultyRelay {
    pub async fn start(
        server_location: &str,
        pick: impl Fn(u64) -> Fault + Send + Sync + 'static,
    ) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let target = server_location.trim_start_matches("grpc://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let location = format!("grpc://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut n = 0_u64;
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                    continue;
                };
                let fault = pick(n);
                n += 1;
                if let Fault::ResetAfter(_) = fault {
                    // Closed with linger 0: a reset, not an orderly end.
                    let _ = inbound.set_zero_linger();
                }
                let (mut in_read, mut in_write) = inbound.into_split();
                let (mut out_read, mut out_write) = outbound.into_split();
                tokio::spawn(async move {
                    let up = async move { tokio::io::copy(&mut in_read, &mut out_write).await };
                    let down = async move {
                        let mut buffer = vec![0_u8; 16 * 1024];
                        let mut sent = 0_u64;
                        loop {
                            let n = out_read.read(&mut buffer).await?;
                            if n == 0 {
                                return in_write.shutdown().await;
                            }
                            let mut chunk = &buffer[..n];
                            match fault {
                                Fault::ResetAfter(limit) | Fault::CloseAfter(limit)
                                    if sent + n as u64 >= limit =>
                                {
                                    chunk = &chunk[..(limit - sent) as usize];
                                    in_write.write_all(chunk).await?;
                                    if let Fault::ResetAfter(_) = fault {
                                        // No orderly shutdown: the socket closes with a reset.
                                        in_write.forget();
                                        return Ok(());
                                    }
                                    return in_write.shutdown().await;
                                }
                                Fault::Delay(pause) => tokio::time::sleep(pause).await,
                                _ => {}
                            }
                            sent += chunk.len() as u64;
                            in_write.write_all(chunk).await?;
                        }
                    };
                    // Either way ending ends the relay of this connection.
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                    }
                });
            }
        });
        Self { location }
    }
}

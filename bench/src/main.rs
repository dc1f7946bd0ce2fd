//! `fastflight-bench`: fastflight, raw arrow-flight, pyarrow Flight and the Python
//! fastflight package on the same payload, in one run, each server its own process.
//!
//! ```sh
//! cargo run --release -p fastflight-bench -- [--quick] [--json bench.json] [--plot bench.svg]
//! ```
//!
//! Every client process measures small requests first (echo latency, calls/s of 8
//! callers) and then the bulk runs, each phase on a connection of its own. The Rust
//! clients make their small requests on a current-thread Tokio runtime and their bulk
//! runs on the multi-thread one, fastflight's and arrow-flight's alike.

mod clients;
mod payload;
mod plot;
mod postgres;
mod report;
mod rows;
mod secure;
mod servers;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};

/// mimalloc keeps freed memory for reuse instead of returning each multi-megabyte
/// message buffer to the OS and faulting it in again (glibc's behaviour, which costs
/// the default Rust Flight path about half its throughput on this machine).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Benchmarks of fastflight against its alternatives, side by side")]
struct Cli {
    #[command(subcommand)]
    command: Option<Internal>,
    /// Fewer runs and a smaller big stream (under two minutes).
    #[arg(long)]
    quick: bool,
    /// Also write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also draw the throughput of every system here, as an SVG bar chart.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Rows of the throughput payload.
    #[arg(long, default_value_t = 4_000_000)]
    rows: usize,
    /// Timed runs per client process (after one warm-up); every system has 3 (quick) or 5 rounds of them.
    #[arg(long)]
    runs: Option<usize>,
    /// Size of the big fastflight stream, in GB.
    #[arg(long)]
    big_gb: Option<f64>,
    /// Skip the Python systems.
    #[arg(long)]
    no_python: bool,
    /// Run the PostgreSQL comparison instead: a throw-away cluster (PostgreSQL's server
    /// binaries are needed), one table, every reader side by side.
    #[arg(long)]
    postgres: bool,
    /// Rows of the PostgreSQL table (5,000,000; 1,000,000 with --quick).
    #[arg(long)]
    pg_rows: Option<usize>,
    /// The python3 to run the Python systems with.
    #[arg(long, env = "FASTFLIGHT_BENCH_PYTHON", default_value = "python3")]
    python: String,
}

#[derive(Subcommand)]
enum Internal {
    /// Typed rows: ArrowRow against hand-written Arrow builders and serde_arrow (rows →
    /// batches, batches → rows), and typed rows over Flight against batches.
    Rows {
        /// Fewer samples and fewer rows over Flight.
        #[arg(long)]
        quick: bool,
        /// Also write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// (internal) Serve a system's server until killed.
    Serve {
        system: ServerKind,
        #[arg(long)]
        rows: usize,
        /// gateway-proxy: the Flight server to forward to.
        #[arg(long)]
        to: Option<String>,
        /// fastflight: the encoder's message size limit (for experiments).
        #[arg(long, env = "FASTFLIGHT_BENCH_MAX_MESSAGE")]
        max_message: Option<usize>,
    },
    /// (internal) Run a client against a server and print its report as JSON.
    Client {
        system: ClientKind,
        #[arg(long)]
        location: String,
        #[arg(long)]
        payload: String,
        #[arg(long)]
        echo: String,
        #[arg(long)]
        runs: usize,
        #[arg(long)]
        echo_calls: usize,
        #[arg(long)]
        callers: usize,
        #[arg(long)]
        calls_per_caller: usize,
    },
    /// (internal) Serve the demo's PgQuery over a PostgreSQL database until killed.
    ServePg {
        #[arg(long)]
        url: String,
    },
    /// (internal) Read the PostgreSQL table once with a Rust reader; print its figures.
    PgClient {
        /// `fastflight` (PgQuery at a Flight location) or `rows` (tokio-postgres at a URL).
        reader: String,
        #[arg(long)]
        target: String,
        #[arg(long, default_value_t = 1)]
        partitions: u32,
    },
    /// (internal) Measure plain loopback TCP (the ceiling) and print its MB/s as JSON.
    Loopback {
        #[arg(long)]
        bytes: u64,
    },
    /// (internal) Read a big fastflight stream and drop it; print rows, bytes, seconds.
    Big {
        #[arg(long)]
        location: String,
        #[arg(long)]
        bytes: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ServerKind {
    Fastflight,
    /// fastflight with its HTTP gateway in the same process (the gateway's URL is printed).
    Gateway,
    /// fastflight's HTTP gateway in proxy mode, forwarding to `--to`.
    GatewayProxy,
    /// fastflight with TLS and a bearer token (the files of `FASTFLIGHT_BENCH_SECURE`).
    Secure,
    Raw,
}

#[derive(Clone, Copy, ValueEnum)]
enum ClientKind {
    Fastflight,
    /// An HTTP client of a gateway (`--location` is its URL): the Arrow body decoded.
    Http,
    /// An HTTP client of a gateway asking for CSV (lines counted).
    HttpCsv,
    /// An HTTP client of a gateway asking for NDJSON (lines counted).
    HttpNdjson,
    /// fastflight's client with retries and a circuit breaker (the `default` preset).
    Resilient,
    /// fastflight's client over TLS with a bearer token.
    Secure,
    Raw,
}

/// Runs a client process's measurements and prints its report as JSON.
fn client(
    bulk: &tokio::runtime::Runtime,
    system: ClientKind,
    location: &str,
    plan: &clients::Plan,
) -> Result<(), String> {
    let small = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = match system {
        ClientKind::Fastflight => clients::measure(
            &small,
            bulk,
            || async {
                fastflight::Client::connect(location)
                    .await
                    .map(clients::Fastflight)
                    .map_err(|e| e.to_string())
            },
            plan,
        )?,
        ClientKind::Http | ClientKind::HttpCsv | ClientKind::HttpNdjson => {
            let accept = match system {
                ClientKind::HttpCsv => Some("text/csv"),
                ClientKind::HttpNdjson => Some("application/x-ndjson"),
                _ => None,
            };
            clients::measure(
                &small,
                bulk,
                || async {
                    Ok(clients::Http {
                        client: reqwest::Client::builder()
                            .tcp_nodelay(true)
                            .build()
                            .map_err(|e| e.to_string())?,
                        url: location.to_owned(),
                        accept,
                    })
                },
                plan,
            )?
        }
        ClientKind::Resilient => clients::measure(
            &small,
            bulk,
            || async {
                fastflight::Client::builder(location)
                    .resilience(fastflight::resilience::Resilience::default())
                    .connect()
                    .await
                    .map(clients::Fastflight)
                    .map_err(|e| e.to_string())
            },
            plan,
        )?,
        ClientKind::Secure => clients::measure(
            &small,
            bulk,
            || async {
                let secure = secure::Files::from_env()?;
                fastflight::Client::builder(location)
                    .tls(secure.client_tls()?)
                    .bearer(secure::TOKEN)
                    .connect()
                    .await
                    .map(clients::Fastflight)
                    .map_err(|e| e.to_string())
            },
            plan,
        )?,
        ClientKind::Raw => clients::measure(
            &small,
            bulk,
            || async {
                tonic::transport::Endpoint::from_shared(location.replace("grpc://", "http://"))
                    .map_err(|e| e.to_string())?
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .map(clients::Raw)
                    .map_err(|e| e.to_string())
            },
            plan,
        )?,
    };
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = match cli.command {
        Some(Internal::Serve {
            system,
            rows,
            to,
            max_message,
        }) => runtime.block_on(async move {
            let batches = payload::build(rows);
            match system {
                ServerKind::Gateway => servers::serve_gateway(Some(batches), None).await,
                ServerKind::GatewayProxy => servers::serve_gateway(None, to).await,
                ServerKind::Fastflight => {
                    servers::serve_fastflight(batches, max_message, None).await
                }
                ServerKind::Secure => {
                    let secure = secure::Files::from_env()?;
                    servers::serve_fastflight(batches, max_message, Some(secure)).await
                }
                ServerKind::Raw => servers::serve_raw(batches).await.map_err(|e| e.to_string()),
            }
        }),
        Some(Internal::Client {
            system,
            location,
            payload,
            echo,
            runs,
            echo_calls,
            callers,
            calls_per_caller,
        }) => client(
            &runtime,
            system,
            &location,
            &clients::Plan {
                payload: Bytes::from(payload),
                echo: Bytes::from(echo),
                runs,
                echo_calls,
                callers,
                per_caller: calls_per_caller,
            },
        ),
        Some(Internal::Rows { quick, json }) => rows::run(&runtime, quick, json.as_deref()),
        Some(Internal::Loopback { bytes }) => loopback_tcp_mb_per_s(bytes)
            .map(|mb_per_s| println!("{}", serde_json::json!({ "mb_per_s": mb_per_s }))),
        Some(Internal::Big { location, bytes }) => runtime.block_on(async move {
            use futures::StreamExt;
            let client = fastflight::Client::connect(&location)
                .await
                .map_err(|e| e.to_string())?;
            let started = Instant::now();
            let mut stream = client
                .fetch(servers::Big { bytes })
                .await
                .map_err(|e| e.to_string())?;
            let (mut rows, mut got) = (0_u64, 0_u64);
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| e.to_string())?;
                rows += batch.num_rows() as u64;
                got += batch
                    .columns()
                    .iter()
                    .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
                    .sum::<usize>() as u64;
            }
            let report = serde_json::json!({
                "rows": rows, "bytes": got, "seconds": started.elapsed().as_secs_f64(),
                "peak_rss_mb": clients::peak_rss_mb(),
            });
            println!("{report}");
            Ok(())
        }),
        Some(Internal::ServePg { url }) => runtime.block_on(postgres::serve(&url)),
        Some(Internal::PgClient {
            reader,
            target,
            partitions,
        }) => runtime.block_on(postgres::read(&reader, &target, partitions)),
        None if cli.postgres => postgres::run(&cli),
        None => report::run_all(&cli),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A server process of the benchmark; killed on drop.
pub struct ServerProcess {
    child: Child,
    pub location: String,
}

impl ServerProcess {
    pub fn spawn(mut command: Command) -> Result<Self, String> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next()
            .ok_or_else(|| format!("{command:?} ended before printing its address"))?
            .map_err(|e| e.to_string())?;
        let location = line
            .rsplit(' ')
            .next()
            .filter(|l| {
                ["grpc://", "grpc+tls://", "http://"]
                    .iter()
                    .any(|scheme| l.starts_with(scheme))
            })
            .ok_or_else(|| format!("unexpected first line {line:?}"))?
            .to_owned();
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, location })
    }

    /// The peak resident set of the server so far, in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        clients::vm_hwm_mb(&self.child.id().to_string())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command that prints one JSON object on its last line.
pub fn run_json(mut command: Command) -> Result<serde_json::Value, String> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{command:?} failed: {text}"));
    }
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| format!("{command:?} printed {text:?}: {e}"))
}

/// Plain loopback TCP: one thread writes `bytes` in 1 MiB writes, another reads them.
pub fn loopback_tcp_mb_per_s(bytes: u64) -> Result<f64, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut socket, _) = listener.accept()?;
        let chunk = vec![7_u8; 1 << 20];
        let mut sent = 0;
        while sent < bytes {
            socket.write_all(&chunk)?;
            sent += chunk.len() as u64;
        }
        Ok(())
    });
    let mut socket = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let mut buffer = vec![0_u8; 1 << 20];
    let started = Instant::now();
    let mut received = 0_u64;
    loop {
        let n = socket.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        received += n as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    writer
        .join()
        .map_err(|_| "writer panicked")?
        .map_err(|e| e.to_string())?;
    Ok(received as f64 / 1e6 / seconds)
}

//! The orchestration of one benchmark run, and its table and JSON.

use std::process::Command;

use serde::Serialize;
use serde_json::Value;

use crate::{payload, plot, run_json, Cli, ServerProcess};

const ECHO_CALLS: usize = 2_000;
const CALLERS: usize = 8;
/// Bulk clients at once in the concurrent phase.
const CONCURRENT_CLIENTS: usize = 4;
/// Calls of each concurrent caller, so the calls/s phase lasts long enough to measure.
const CALLS_PER_CALLER: usize = 1_000;

#[derive(Debug, Clone, Serialize)]
struct System {
    name: String,
    mb_per_s: f64,
    rows_per_s: f64,
    echo_p50_us: f64,
    echo_p99_us: f64,
    calls_per_s: f64,
    server_peak_rss_mb: f64,
    client_peak_rss_mb: f64,
    /// Every timed run, seconds.
    runs_s: Vec<f64>,
}

/// The median of some figures (the upper one of an even count).
pub fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Merges the reports of one system's rounds: every timed run, and the median of the
/// rounds' latency and calls/s figures.
fn system(
    name: &str,
    reports: &[Value],
    server_rss_mb: f64,
    ipc_bytes: u64,
) -> Result<System, String> {
    let times: Vec<f64> = reports
        .iter()
        .flat_map(|r| r["times"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_f64())
        .collect();
    if times.is_empty() {
        return Err(format!("{name}: no timed runs"));
    }
    let figure = |key: &str| -> f64 {
        let values: Vec<f64> = reports.iter().filter_map(|r| r[key].as_f64()).collect();
        if values.is_empty() {
            f64::NAN
        } else {
            median(&values)
        }
    };
    let rows = reports[0]["rows"].as_f64().unwrap_or(0.0);
    let seconds = median(&times);
    Ok(System {
        name: name.to_owned(),
        mb_per_s: ipc_bytes as f64 / 1e6 / seconds,
        rows_per_s: rows / seconds,
        echo_p50_us: figure("echo_p50_us"),
        echo_p99_us: figure("echo_p99_us"),
        calls_per_s: figure("calls_per_s"),
        server_peak_rss_mb: server_rss_mb,
        client_peak_rss_mb: reports
            .iter()
            .filter_map(|r| r["peak_rss_mb"].as_f64())
            .fold(0.0, f64::max),
        runs_s: times,
    })
}

struct Plan<'a> {
    me: std::path::PathBuf,
    cli: &'a Cli,
    runs: usize,
    /// The certificate and token of the secured system.
    secure: crate::secure::Files,
}

impl Plan<'_> {
    fn rust_server(&self, kind: &str) -> Result<ServerProcess, String> {
        let mut command = Command::new(&self.me);
        command.args(["serve", kind, "--rows", &self.cli.rows.to_string()]);
        let (var, folder) = self.secure.env();
        command.env(var, folder);
        ServerProcess::spawn(command)
    }

    fn python_server(&self, script: &str, args: &[&str]) -> Result<ServerProcess, String> {
        let mut command = Command::new(&self.cli.python);
        command.arg(python_script(script)).args(args);
        ServerProcess::spawn(command)
    }

    fn rust_client(
        &self,
        kind: &str,
        location: &str,
        payload: &str,
        echo: &str,
    ) -> Result<Value, String> {
        let mut command = Command::new(&self.me);
        command.args([
            "client",
            kind,
            "--location",
            location,
            "--payload",
            payload,
            "--echo",
            echo,
            "--runs",
            &self.runs.to_string(),
            "--echo-calls",
            &ECHO_CALLS.to_string(),
            "--callers",
            &CALLERS.to_string(),
            "--calls-per-caller",
            &CALLS_PER_CALLER.to_string(),
        ]);
        let (var, folder) = self.secure.env();
        command.env(var, folder);
        run_json(command)
    }

    /// `curl -o /dev/null` POSTing `payload` to a gateway: the bytes alone, no decoding;
    /// `runs` timed runs after a warm-up.
    fn curl(&self, url: &str, payload: &str) -> Result<Value, String> {
        let run = || -> Result<f64, String> {
            let out = Command::new("curl")
                .args([
                    "-s",
                    "-f",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{time_total}",
                    "-X",
                    "POST",
                    "--data-binary",
                    payload,
                    &format!("{url}/stream"),
                ])
                .output()
                .map_err(|e| format!("curl: {e}"))?;
            if !out.status.success() {
                return Err(format!("curl failed: {}", out.status));
            }
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|e| format!("curl's time: {e}"))
        };
        run()?;
        let times = (0..self.runs)
            .map(|_| run())
            .collect::<Result<Vec<f64>, _>>()?;
        Ok(serde_json::json!({
            "times": times,
            "rows": self.cli.rows,
        }))
    }

    /// Runs `CONCURRENT_CLIENTS` client processes at once; the sum of their payloads per
    /// second (each process's timed runs over their seconds).
    fn concurrently(&self, client: impl Fn() -> Command) -> Result<f64, String> {
        let children: Vec<std::process::Child> = (0..CONCURRENT_CLIENTS)
            .map(|_| {
                client()
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::inherit())
                    .spawn()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        let mut payloads_per_s = 0.0;
        for child in children {
            let out = child.wait_with_output().map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                return Err(format!("a concurrent client failed: {text}"));
            }
            let report: Value = serde_json::from_str(text.lines().last().unwrap_or_default())
                .map_err(|e| format!("a concurrent client printed {text:?}: {e}"))?;
            let times: Vec<f64> = report["times"]
                .as_array()
                .map(|t| t.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            payloads_per_s += times.len() as f64 / times.iter().sum::<f64>();
        }
        Ok(payloads_per_s)
    }

    /// A fastflight client process making bulk runs only (one small call of each kind).
    fn rust_client_bulk(&self, location: &str) -> Command {
        let mut command = Command::new(&self.me);
        command.args([
            "client",
            "fastflight",
            "--location",
            location,
            "--payload",
            FF_PAYLOAD,
            "--echo",
            FF_ECHO,
            "--runs",
            &self.runs.to_string(),
            "--echo-calls",
            "1",
            "--callers",
            "1",
            "--calls-per-caller",
            "1",
        ]);
        command
    }

    /// A pyarrow client process making bulk runs only.
    fn pyarrow_client_bulk(&self, location: &str) -> Command {
        let mut command = Command::new(&self.cli.python);
        command.arg(python_script("pyarrow_client.py")).args([
            location,
            "payload",
            "echo",
            &self.runs.to_string(),
            "1",
            "1",
            "1",
        ]);
        command
    }

    /// A Python client of statements (`LOCATION RUNS ECHO_CALLS CALLERS CALLS_PER_CALLER`).
    fn python_sql_client(&self, script: &str, location: &str) -> Result<Value, String> {
        let mut command = Command::new(&self.cli.python);
        command.arg(python_script(script)).args([
            location,
            &self.runs.to_string(),
            &ECHO_CALLS.to_string(),
            &CALLERS.to_string(),
            &CALLS_PER_CALLER.to_string(),
        ]);
        run_json(command)
    }

    fn pyarrow_client(&self, location: &str, payload: &str, echo: &str) -> Result<Value, String> {
        let mut command = Command::new(&self.cli.python);
        command.arg(python_script("pyarrow_client.py")).args([
            location,
            payload,
            echo,
            &self.runs.to_string(),
            &ECHO_CALLS.to_string(),
            &CALLERS.to_string(),
            &CALLS_PER_CALLER.to_string(),
        ]);
        run_json(command)
    }
}

pub fn python_script(name: &str) -> String {
    format!("{}/python/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn python_has(python: &str, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

const FF_PAYLOAD: &str = r#"{"param_type": "bench.Payload"}"#;
const FF_ECHO: &str = r#"{"param_type": "bench.Echo", "message": "hello"}"#;

pub fn run_all(cli: &Cli) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    // Timed runs per client process, and rounds of all clients: 2 × 3 (quick) or 3 × 5.
    let runs = cli.runs.unwrap_or(if cli.quick { 2 } else { 3 }).max(1);
    let rounds = if cli.quick { 3 } else { 5 };
    let big_gb = cli.big_gb.unwrap_or(if cli.quick { 2.0 } else { 10.0 });
    let batches = payload::build(cli.rows);
    let ipc_bytes = payload::ipc_bytes(&batches);
    drop(batches);
    eprintln!(
        "payload: {} rows in batches of {}, {:.1} MB as an Arrow IPC stream; {rounds} rounds of {runs} timed runs (after a warm-up) per system",
        cli.rows,
        payload::BATCH_ROWS,
        ipc_bytes as f64 / 1e6
    );
    let plan = Plan {
        me,
        cli,
        runs,
        secure: crate::secure::Files::create()?,
    };

    // Every server runs for the whole comparison; the clients take turns, round after
    // round, so a drift of the shared machine hits every system alike.
    let ff = plan.rust_server("fastflight")?;
    let secure = plan.rust_server("secure")?;
    let raw = plan.rust_server("raw")?;
    let python = !cli.no_python && python_has(&cli.python, "pyarrow.flight");
    let pyarrow = if python {
        Some(plan.python_server("pyarrow_server.py", &[&cli.rows.to_string()])?)
    } else {
        eprintln!(
            "pyarrow is not importable by {}: its systems are skipped",
            cli.python
        );
        None
    };
    let python_ff = if python && python_has(&cli.python, "fastflight") {
        Some(plan.python_server("python_fastflight.py", &["server", &cli.rows.to_string()])?)
    } else {
        if python {
            eprintln!("the Python fastflight package is not importable: its system is skipped");
        }
        None
    };

    // The HTTP gateways: fastflight's in-process (over its own copy of the payload) and
    // in proxy mode, and the Python package's FastAPI gateway, both proxying to `ff`.
    let gateway = plan.rust_server("gateway")?;
    let gateway_proxy = {
        let mut command = Command::new(&plan.me);
        command.args([
            "serve",
            "gateway-proxy",
            "--rows",
            "0",
            "--to",
            &ff.location,
        ]);
        ServerProcess::spawn(command)?
    };
    let python_gateway = if python
        && python_has(&cli.python, "fastflight.fastapi_integration.app")
        && python_has(&cli.python, "uvicorn")
    {
        Some(plan.python_server("python_gateway.py", &[&ff.location])?)
    } else {
        if python {
            eprintln!("fastapi or uvicorn is not importable: the Python gateway is skipped");
        }
        None
    };

    type Client<'p> = Box<dyn Fn() -> Result<Value, String> + 'p>;
    let mut entries: Vec<(&str, &ServerProcess, Client)> = vec![
        (
            "fastflight ← fastflight client",
            &ff,
            Box::new(|| plan.rust_client("fastflight", &ff.location, FF_PAYLOAD, FF_ECHO)),
        ),
        (
            "fastflight ← fastflight client + resilience",
            &ff,
            Box::new(|| plan.rust_client("resilient", &ff.location, FF_PAYLOAD, FF_ECHO)),
        ),
        (
            "fastflight TLS + token ← fastflight client",
            &secure,
            Box::new(|| plan.rust_client("secure", &secure.location, FF_PAYLOAD, FF_ECHO)),
        ),
        (
            "raw arrow-flight ← FlightClient",
            &raw,
            Box::new(|| plan.rust_client("raw", &raw.location, "payload", "echo")),
        ),
    ];
    entries.push((
        "fastflight gateway, in-process ← Rust HTTP client",
        &gateway,
        Box::new(|| plan.rust_client("http", &gateway.location, FF_PAYLOAD, FF_ECHO)),
    ));
    entries.push((
        "fastflight gateway, proxy to fastflight ← Rust HTTP client",
        &gateway_proxy,
        Box::new(|| plan.rust_client("http", &gateway_proxy.location, FF_PAYLOAD, FF_ECHO)),
    ));
    entries.push((
        "fastflight gateway, in-process, CSV ← Rust HTTP client",
        &gateway,
        Box::new(|| plan.rust_client("http-csv", &gateway.location, FF_PAYLOAD, FF_ECHO)),
    ));
    entries.push((
        "fastflight gateway, in-process, NDJSON ← Rust HTTP client",
        &gateway,
        Box::new(|| plan.rust_client("http-ndjson", &gateway.location, FF_PAYLOAD, FF_ECHO)),
    ));
    entries.push((
        "fastflight gateway, in-process ← curl -o /dev/null",
        &gateway,
        Box::new(|| plan.curl(&gateway.location, FF_PAYLOAD)),
    ));
    entries.push((
        "fastflight gateway, proxy to fastflight ← curl -o /dev/null",
        &gateway_proxy,
        Box::new(|| plan.curl(&gateway_proxy.location, FF_PAYLOAD)),
    ));
    if let Some(pg) = &python_gateway {
        entries.push((
            "Python gateway, proxy to fastflight ← Rust HTTP client",
            pg,
            Box::new(|| plan.rust_client("http", &pg.location, FF_PAYLOAD, FF_ECHO)),
        ));
        entries.push((
            "Python gateway, proxy to fastflight ← curl -o /dev/null",
            pg,
            Box::new(|| plan.curl(&pg.location, FF_PAYLOAD)),
        ));
    }
    if let Some(py) = &pyarrow {
        entries.push((
            "pyarrow ← pyarrow (read_all on a worker thread)",
            py,
            Box::new(|| plan.pyarrow_client(&py.location, "payload", "echo")),
        ));
        entries.push((
            "pyarrow server ← fastflight client",
            py,
            Box::new(|| plan.rust_client("fastflight", &py.location, "payload", "echo")),
        ));
        entries.push((
            "fastflight server ← pyarrow client",
            &ff,
            Box::new(|| plan.pyarrow_client(&ff.location, FF_PAYLOAD, FF_ECHO)),
        ));
    }
    if python {
        // The same pyarrow client sending Flight SQL: the SQL layer's own cost.
        entries.push((
            "fastflight server ← pyarrow by SQL (GetFlightInfo + DoGet)",
            &ff,
            Box::new(|| plan.python_sql_client("pyarrow_sql_client.py", &ff.location)),
        ));
    }
    if python && python_has(&cli.python, "adbc_driver_flightsql.dbapi") {
        // SQL through ADBC beside the JSON ticket through pyarrow, same server.
        entries.push((
            "fastflight server ← ADBC Flight SQL (SELECT * FROM payload)",
            &ff,
            Box::new(|| plan.python_sql_client("adbc_client.py", &ff.location)),
        ));
    } else if python {
        eprintln!("adbc_driver_flightsql is not importable: the ADBC system is skipped");
    }
    if let Some(pff) = &python_ff {
        entries.push((
            "Python fastflight ← FastFlightBouncer",
            pff,
            Box::new(|| {
                let mut command = Command::new(&cli.python);
                command.arg(python_script("python_fastflight.py")).args([
                    "client",
                    &pff.location,
                    &plan.runs.to_string(),
                    &ECHO_CALLS.to_string(),
                    &CALLERS.to_string(),
                    &CALLS_PER_CALLER.to_string(),
                ]);
                run_json(command)
            }),
        ));
    }
    // The ceiling takes its turn too: plain loopback TCP, in a process of its own, once
    // per round; its median is the ceiling of the run.
    let tcp_bytes: u64 = if cli.quick { 1 << 30 } else { 4 << 30 };
    let mut tcp_runs = Vec::new();
    let mut reports: Vec<Vec<Value>> = vec![Vec::new(); entries.len()];
    for round in 1..=rounds {
        let mut command = Command::new(&plan.me);
        command.args(["loopback", "--bytes", &tcp_bytes.to_string()]);
        let tcp = run_json(command)?["mb_per_s"]
            .as_f64()
            .ok_or("the loopback measurement printed no mb_per_s")?;
        eprintln!("round {round}/{rounds}: loopback TCP {tcp:.0} MB/s");
        tcp_runs.push(tcp);
        for (i, (name, _, client)) in entries.iter().enumerate() {
            eprintln!("round {round}/{rounds}: {name} ...");
            reports[i].push(client()?);
        }
    }
    let tcp = median(&tcp_runs);
    let mut systems = Vec::new();
    for ((name, server, _), reports) in entries.iter().zip(&reports) {
        systems.push(system(name, reports, server.peak_rss_mb(), ipc_bytes)?);
    }
    drop(entries);
    drop((ff, secure, raw, pyarrow, python_ff));
    drop((gateway, gateway_proxy, python_gateway));

    // Four bulk clients at once against one fresh server each (so its peak RSS is the
    // concurrent phase's): fastflight's with its client, pyarrow's with pyarrow's.
    let concurrent = {
        let ff = plan.rust_server("fastflight")?;
        let ff_figures = plan.concurrently(|| plan.rust_client_bulk(&ff.location))?;
        let ff_rss = ff.peak_rss_mb();
        drop(ff);
        let mut result = serde_json::json!({
            "clients": CONCURRENT_CLIENTS,
            "fastflight": {"aggregate_mb_per_s": ff_figures * ipc_bytes as f64 / 1e6, "server_peak_rss_mb": ff_rss},
        });
        if python {
            let py = plan.python_server("pyarrow_server.py", &[&cli.rows.to_string()])?;
            let py_figures = plan.concurrently(|| plan.pyarrow_client_bulk(&py.location))?;
            result["pyarrow"] = serde_json::json!({
                "aggregate_mb_per_s": py_figures * ipc_bytes as f64 / 1e6,
                "server_peak_rss_mb": py.peak_rss_mb(),
            });
        }
        result
    };
    eprintln!("{CONCURRENT_CLIENTS} concurrent clients: {concurrent}");

    // The big stream: a fresh fastflight server without the payload, so its peak RSS is the stream's.
    eprintln!("fastflight {big_gb} GB stream ...");
    let mut command = Command::new(&plan.me);
    command.args(["serve", "fastflight", "--rows", "0"]);
    let server = ServerProcess::spawn(command)?;
    let bytes = (big_gb * 1e9) as u64;
    let mut command = Command::new(&plan.me);
    command.args([
        "big",
        "--location",
        &server.location,
        "--bytes",
        &bytes.to_string(),
    ]);
    let big = run_json(command)?;
    let big = serde_json::json!({
        "gb": big["bytes"].as_f64().unwrap_or(0.0) / 1e9,
        "rows": big["rows"],
        "seconds": big["seconds"],
        "gb_per_s": big["bytes"].as_f64().unwrap_or(0.0) / 1e9 / big["seconds"].as_f64().unwrap_or(f64::NAN),
        "server_peak_rss_mb": server.peak_rss_mb(),
        "client_peak_rss_mb": big["peak_rss_mb"],
    });
    drop(server);

    let find = |prefix: &str| systems.iter().find(|s| s.name.starts_with(prefix)).cloned();
    let ff = find("fastflight ← fastflight client").ok_or("no fastflight figures")?;
    let resilient = find("fastflight ← fastflight client + resilience");
    let raw = find("raw arrow-flight").ok_or("no raw figures")?;
    let pyarrow = find("pyarrow ← pyarrow");
    let ratio = |a: f64, b: Option<f64>| b.map(|b| a / b);
    let ratios = serde_json::json!({
        "throughput_vs_ceiling": ff.mb_per_s / tcp,
        "server_vs_pyarrow_server": ratio(
            ff.mb_per_s,
            find("pyarrow server ← fastflight client").map(|p| p.mb_per_s),
        ),
        "throughput_vs_raw": ff.mb_per_s / raw.mb_per_s,
        "calls_vs_raw": ff.calls_per_s / raw.calls_per_s,
        "throughput_vs_pyarrow": ratio(ff.mb_per_s, pyarrow.as_ref().map(|p| p.mb_per_s)),
        "calls_vs_pyarrow": ratio(ff.calls_per_s, pyarrow.as_ref().map(|p| p.calls_per_s)),
        "echo_p50_vs_pyarrow": ratio(ff.echo_p50_us, pyarrow.as_ref().map(|p| p.echo_p50_us)),
        "resilience_echo_p50_cost": resilient.as_ref().map(|r| r.echo_p50_us / ff.echo_p50_us),
        "gateway_vs_python_gateway": match (
            find("fastflight gateway, proxy to fastflight ← Rust HTTP client"),
            find("Python gateway, proxy to fastflight ← Rust HTTP client"),
        ) {
            (Some(ours), Some(theirs)) => Some(ours.mb_per_s / theirs.mb_per_s),
            _ => None,
        },
        "concurrent_vs_pyarrow": match (
            concurrent["fastflight"]["aggregate_mb_per_s"].as_f64(),
            concurrent["pyarrow"]["aggregate_mb_per_s"].as_f64(),
        ) {
            (Some(ours), Some(theirs)) => Some(ours / theirs),
            _ => None,
        },
        "sql_adbc_vs_ticket": match (
            find("fastflight server ← ADBC Flight SQL"),
            find("fastflight server ← pyarrow client"),
        ) {
            (Some(sql), Some(ticket)) => Some(sql.mb_per_s / ticket.mb_per_s),
            _ => None,
        },
        "sql_latency_p50_us": find("fastflight server ← ADBC Flight SQL").map(|s| s.echo_p50_us),
        "sql_pyarrow_vs_ticket": match (
            find("fastflight server ← pyarrow by SQL"),
            find("fastflight server ← pyarrow client"),
        ) {
            (Some(sql), Some(ticket)) => Some(sql.mb_per_s / ticket.mb_per_s),
            _ => None,
        },
        "sql_pyarrow_latency_p50_us": find("fastflight server ← pyarrow by SQL").map(|s| s.echo_p50_us),
        "gateway_vs_flight": find("fastflight gateway, in-process ← Rust HTTP client")
            .map(|g| g.mb_per_s / ff.mb_per_s),
        "gateway_echo_vs_python_gateway": match (
            find("fastflight gateway, proxy to fastflight ← Rust HTTP client"),
            find("Python gateway, proxy to fastflight ← Rust HTTP client"),
        ) {
            (Some(ours), Some(theirs)) => Some(ours.echo_p50_us / theirs.echo_p50_us),
            _ => None,
        },
    });

    print_table(&systems, tcp, &big, &ratios);
    let figure = |system: &str, key: &str| {
        concurrent[system][key]
            .as_f64()
            .map(|x| format!("{x:.0}"))
            .unwrap_or_else(|| "n/a".into())
    };
    println!(
        "{CONCURRENT_CLIENTS} bulk clients at once: fastflight {} MB/s in all (server peak RSS {} MB), pyarrow {} MB/s (server peak RSS {} MB); ratio {}",
        figure("fastflight", "aggregate_mb_per_s"),
        figure("fastflight", "server_peak_rss_mb"),
        figure("pyarrow", "aggregate_mb_per_s"),
        figure("pyarrow", "server_peak_rss_mb"),
        ratios["concurrent_vs_pyarrow"]
            .as_f64()
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "n/a".into()),
    );
    // Typed rows: ArrowRow against hand-written builders and serde_arrow, and over Flight.
    eprintln!("typed rows: ArrowRow, hand-written builders, serde_arrow; rows over Flight");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let typed_rows = crate::rows::measure(&runtime, cli.quick)?;
    drop(runtime);
    let mut ratios = ratios;
    if let (Some(all), Some(rows)) = (ratios.as_object_mut(), typed_rows["ratios"].as_object()) {
        all.extend(rows.clone());
    }
    if let Some(path) = &cli.json {
        let json = serde_json::json!({
            "payload": {"rows": cli.rows, "batch_rows": payload::BATCH_ROWS, "ipc_bytes": ipc_bytes, "runs_per_round": runs, "rounds": rounds},
            "loopback_tcp_mb_per_s": tcp,
            "systems": systems,
            "ratios": ratios,
            "big_stream": big,
            "concurrent": concurrent,
            "rows": typed_rows,
        });
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    if let Some(path) = &cli.plot {
        let bars: Vec<plot::Bar> = systems
            .iter()
            .map(|s| plot::Bar {
                name: &s.name,
                mb_per_s: s.mb_per_s,
            })
            .collect();
        std::fs::write(path, plot::throughput_svg(&bars, tcp))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("plot written to {}", path.display());
    }
    Ok(())
}

fn print_table(systems: &[System], tcp: f64, big: &Value, ratios: &Value) {
    println!(
        "| {:<48} | {:>8} | {:>12} | {:>8} | {:>8} | {:>9} | {:>10} | {:>10} |",
        "system (server ← client)",
        "MB/s",
        "rows/s",
        "p50 µs",
        "p99 µs",
        "calls/s",
        "server MB",
        "client MB"
    );
    println!(
        "|{:-<50}|{:->10}|{:->14}|{:->10}|{:->10}|{:->11}|{:->12}|{:->12}|",
        "", "", "", "", "", "", "", ""
    );
    println!(
        "| {:<48} | {:>8.0} | {:>12} | {:>8} | {:>8} | {:>9} | {:>10} | {:>10} |",
        "loopback TCP alone (1 MiB writes), the ceiling", tcp, "", "", "", "", "", ""
    );
    for s in systems {
        println!(
            "| {:<48} | {:>8.0} | {:>12.0} | {:>8.0} | {:>8.0} | {:>9.0} | {:>10.0} | {:>10.0} |",
            s.name,
            s.mb_per_s,
            s.rows_per_s,
            s.echo_p50_us,
            s.echo_p99_us,
            s.calls_per_s,
            s.server_peak_rss_mb,
            s.client_peak_rss_mb
        );
    }
    println!();
    println!(
        "fastflight big stream: {:.1} GB in {:.1} s ({:.2} GB/s), server peak RSS {:.0} MB, client peak RSS {:.0} MB",
        big["gb"].as_f64().unwrap_or(0.0),
        big["seconds"].as_f64().unwrap_or(0.0),
        big["gb_per_s"].as_f64().unwrap_or(0.0),
        big["server_peak_rss_mb"].as_f64().unwrap_or(0.0),
        big["client_peak_rss_mb"].as_f64().unwrap_or(0.0),
    );
    let show = |v: &Value| {
        v.as_f64()
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "n/a".into())
    };
    println!(
        "ratios: throughput fastflight/loopback TCP {}, fastflight server/pyarrow server (fastflight client) {}, throughput fastflight/raw {}, calls/s fastflight/raw {}, throughput fastflight/pyarrow {}, calls/s fastflight/pyarrow {}, echo p50 fastflight/pyarrow {}, echo p50 with resilience/without {}, gateway proxy/Python gateway {}, gateway/Flight {}, gateway echo p50/Python gateway's {}",
        show(&ratios["throughput_vs_ceiling"]),
        show(&ratios["server_vs_pyarrow_server"]),
        show(&ratios["throughput_vs_raw"]),
        show(&ratios["calls_vs_raw"]),
        show(&ratios["throughput_vs_pyarrow"]),
        show(&ratios["calls_vs_pyarrow"]),
        show(&ratios["echo_p50_vs_pyarrow"]),
        show(&ratios["resilience_echo_p50_cost"]),
        show(&ratios["gateway_vs_python_gateway"]),
        show(&ratios["gateway_vs_flight"]),
        show(&ratios["gateway_echo_vs_python_gateway"]),
    );
}

//! The `fastflight-demo` command line as a real child process: `start-all`, `call` in
//! every format, `services`, bounded memory through the gateway, SIGTERM mid-stream.

use crate::support::BoundedOutput;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fastflight::arrow::array::AsArray;
use fastflight::arrow::compute::concat_batches;
use fastflight::arrow::datatypes::Int64Type;
use fastflight::arrow::record_batch::RecordBatch;
use fastflight_demo_api::SyntheticParams;
use futures::{StreamExt, TryStreamExt};

use crate::support::{demo_binary, DemoProcess};

const REQUEST: &str = r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 2500, "batch_size": 1000, "seed": 4}"#;

/// Removed (with its folder) when dropped.
fn temp_path(name: &str) -> crate::support::ScratchPath {
    crate::support::scratch_path(name)
}

fn demo(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(demo_binary());
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .env("FASTFLIGHT_DATA_DIR", crate::support::demo_data_dir());
    for (k, v) in env {
        command.env(k, v);
    }
    command.bounded_output().expect("fastflight-demo runs")
}

async fn expected(location: &str) -> RecordBatch {
    let client = fastflight::Client::connect(location).await.unwrap();
    client
        .fetch(SyntheticParams {
            partitions: 1,
            start: 0,
            rows: 2500,
            batch_size: 1000,
            seed: Some(4),
        })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap()
}

#[tokio::test]
async fn call_writes_every_format() {
    let server = DemoProcess::start_all(&[], &[]);
    let expected = expected(&server.location).await;
    let schema = expected.schema();

    let call = |format: &str, path: &std::path::Path| {
        let out = demo(
            &[
                "call",
                "--location",
                &server.location,
                REQUEST,
                "--format",
                format,
                "--output",
                path.to_str().unwrap(),
            ],
            &[],
        );
        assert!(
            out.status.success(),
            "call --format {format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(path).unwrap()
    };

    let arrow = call("arrow", &temp_path("out.arrows"));
    let reader = fastflight::arrow::ipc::reader::StreamReader::try_new(&arrow[..], None).unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(
        concat_batches(&schema, &batches).unwrap(),
        expected,
        "arrow"
    );

    let parquet_path = temp_path("out.parquet");
    call("parquet", &parquet_path);
    let file = std::fs::File::open(&parquet_path).unwrap();
    let batches: Vec<RecordBatch> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
    assert_eq!(
        concat_batches(&schema, &batches).unwrap(),
        expected,
        "parquet"
    );

    let csv = call("csv", &temp_path("out.csv"));
    let batches: Vec<RecordBatch> = fastflight::arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(std::io::Cursor::new(csv))
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(concat_batches(&schema, &batches).unwrap(), expected, "csv");

    let json = call("json", &temp_path("out.ndjson"));
    let batches: Vec<RecordBatch> = fastflight::arrow::json::ReaderBuilder::new(schema.clone())
        .build(std::io::Cursor::new(json))
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(concat_batches(&schema, &batches).unwrap(), expected, "json");

    let table = String::from_utf8(call("table", &temp_path("out.txt"))).unwrap();
    assert!(table.contains("| id "), "{table}");
    assert!(table.contains("| 2499 "), "the last row is there");
    assert!(table.contains("row-000000002499"));
    assert_eq!(
        table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.contains(" id "))
            .count(),
        2500
    );
}

#[tokio::test]
async fn call_reads_files_and_environment() {
    let server = DemoProcess::start_all(&[], &[]);
    let request_file = temp_path("request.json");
    std::fs::write(&request_file, REQUEST).unwrap();
    let at_file = format!("@{}", request_file.display());
    // Location and format from the environment; stdout is a pipe, so no table and no progress bar.
    let out = demo(
        &["call", &at_file],
        &[
            ("FASTFLIGHT_LOCATION", &server.location),
            ("FASTFLIGHT_FORMAT", "json"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2500);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], 0);
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Default format off a terminal: CSV.
    let out = demo(&["call", "--location", &server.location, REQUEST], &[]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("id,value,name\n"));
}

#[tokio::test]
async fn start_rest_server_proxies_to_a_flight_server() {
    let flight = DemoProcess::start();
    let rest = DemoProcess::spawn(
        &[
            "start-rest-server",
            "--flight-location",
            &flight.location,
            "--rest-host",
            "127.0.0.1",
            "--rest-port",
            "0",
            "--rest-prefix",
            "/ff",
        ],
        &[],
    );
    let url = rest.gateway.clone().unwrap();
    assert!(url.ends_with("/ff"), "{url}");
    let csv = reqwest::Client::new()
        .post(format!("{url}/stream"))
        .header("accept", "text/csv")
        .body(REQUEST)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2501);
    let types: serde_json::Value = reqwest::get(format!("{url}/registered_data_types"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(types.as_array().unwrap().len(), 8);
}

/// Under a terminal (a pseudo-terminal made by `script`), `call` shows its progress on stderr.
#[test]
#[cfg_attr(
    no_script,
    ignore = "`script` (util-linux) is not installed: it makes the test's terminal"
)]
fn call_shows_progress_on_a_terminal() {
    let server = DemoProcess::start();
    let output = temp_path("progress.csv");
    let command = format!(
        "{} call --location {} '{}' --output {} --format csv",
        demo_binary().display(),
        server.location,
        REQUEST,
        output.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .bounded_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("2500 rows"),
        "progress line missing: {screen:?}"
    );
    assert!(screen.contains("rows/s"), "{screen:?}");
    assert_eq!(
        std::fs::read_to_string(output).unwrap().lines().count(),
        2501
    );
    // A table on the same terminal: the progress line is cleared before the table is
    // written, so no line of the table starts on the progress line.
    let command = format!(
        "{} call --location {} '{}'",
        demo_binary().display(),
        server.location,
        REQUEST,
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .bounded_output()
        .unwrap();
    assert!(out.status.success());
    let screen = String::from_utf8_lossy(&out.stdout);
    let table_lines: Vec<&str> = screen.lines().filter(|l| l.contains("+--")).collect();
    assert!(!table_lines.is_empty(), "no table on: {screen:?}");
    for line in table_lines {
        let before = &line[..line.find("+--").unwrap_or(0)];
        // Whatever the progress line wrote before the table was cleared after it.
        let cleared = match (before.rfind("rows"), before.rfind("\u{1b}[2K")) {
            (None, _) => true,
            (Some(text), Some(clear)) => clear > text,
            (Some(_), None) => false,
        };
        assert!(
            cleared,
            "a table line starts on the progress line: {line:?}"
        );
    }
    assert!(screen.contains("| row-000000002499 |"), "{screen:?}");
}

/// The demo's data services answer at once on the data made at first start.
#[tokio::test]
async fn demo_serves_its_database_and_files() {
    use fastflight_demo_api::{CsvFile, ParquetFile, SqlQuery};
    let server = DemoProcess::start();
    let client = fastflight::Client::connect(&server.location).await.unwrap();
    let count = client
        .fetch(SqlQuery {
            query: "SELECT count(*) AS n, count(DISTINCT symbol) AS symbols FROM trades".into(),
            params: vec![],
            batch_size: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(
        count.column(0).as_primitive::<Int64Type>().value(0),
        1_000_000
    );
    assert_eq!(count.column(1).as_primitive::<Int64Type>().value(0), 40);
    let by_symbol = client
        .fetch(SqlQuery {
            query: "SELECT id, price FROM trades WHERE symbol = ?1 AND quantity > ?2".into(),
            params: vec!["AAPL".into(), 990.into()],
            batch_size: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(by_symbol.iter().map(|b| b.num_rows()).sum::<usize>() > 0);
    let csv = client
        .fetch(CsvFile {
            path: "trades.csv".into(),
            columns: Some(vec!["symbol".into(), "price".into()]),
            limit: None,
            batch_size: None,
        })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!((csv.num_rows(), csv.num_columns()), (100_000, 2));
    let parquet = client
        .fetch(ParquetFile {
            path: "trades.parquet".into(),
            columns: None,
            limit: Some(10),
            batch_size: None,
        })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(parquet.num_rows(), 10);
    let first_ids = parquet.column(0).as_primitive::<Int64Type>();
    assert_eq!((first_ids.value(0), first_ids.value(9)), (1, 10));
    let out = demo(
        &[
            "call",
            "--location",
            &server.location,
            r#"{"param_type": "fastflight.demo.SqlQuery", "query": "DROP TABLE trades"}"#,
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    let out = demo(
        &[
            "call",
            "--location",
            &server.location,
            r#"{"param_type": "fastflight.demo.SqlQuery", "query": "SELECT * FROM trades"}"#,
            "--format",
            "arrow",
            "--output",
            "/dev/null",
            "--stats",
        ],
        &[],
    );
    let stats = String::from_utf8_lossy(&out.stderr);
    assert!(
        stats.contains("1000000 rows") && stats.contains("rows/s"),
        "{stats}"
    );
}

#[test]
fn call_reports_bad_requests_clearly() {
    let server = DemoProcess::start();
    let cases = [
        (
            r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": "many"}"#,
            "field `rows`",
        ),
        (
            r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 1, "batch_size": 0}"#,
            "batch_size",
        ),
        (r#"{"param_type": "no.Such"}"#, "no.Such"),
        ("{not json", "not valid JSON"),
        ("@/no/such/file.json", "cannot read the request file"),
    ];
    for (request, words) in cases {
        let out = demo(&["call", "--location", &server.location, request], &[]);
        assert!(!out.status.success(), "{request} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(words),
            "{request}: `{err}` should mention `{words}`"
        );
    }
    // Nobody listening: an error naming the address and the cause.
    let out = demo(&["call", "--location", "grpc://127.0.0.1:1", REQUEST], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to grpc://127.0.0.1:1"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(!err.contains("transport error: transport error"), "{err}");
}

#[test]
fn services_lists_names_handlers_types_and_defaults() {
    let out = demo(&["services"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "fastflight.demo.SyntheticParams",
        "handler: fastflight_examples::synthetic",
        "rows: u64 (required)",
        "batch_size: usize (default 65536)",
        "message: String (default \"Hello FastFlight!\")",
    ] {
        assert!(text.contains(line), "`{line}` missing from:\n{text}");
    }
    let json = demo(&["services", "--json"], &[]);
    let services: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(services.as_array().unwrap().len(), 8);
    // A typed service lists its result schema: its row type's columns.
    let trades = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "fastflight.demo.Trades")
        .expect("the Trades service is listed");
    let columns: Vec<&str> = trades["result_schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["id", "symbol", "price", "quantity", "ts"]);
    assert_eq!(
        trades["result_schema"]["fields"][1]["type"],
        "Dictionary(Int32, Utf8)"
    );
    assert_eq!(trades["result_schema"]["fields"][0]["nullable"], false);
}

/// 20,000,000 rows (about 750 MB of Arrow data) through the gateway of a `start-all`
/// process: the process's peak RSS stays below 128 MB, so nothing buffers the result.
#[tokio::test]
async fn twenty_million_rows_stream_through_the_gateway_in_bounded_memory() {
    const ROWS: u64 = 20_000_000;
    const BOUND: u64 = 128 * 1024 * 1024;
    let server = DemoProcess::start_all(&[], &[]);
    let gateway = server.gateway.clone().unwrap();
    let body = format!(
        r#"{{"param_type": "fastflight.demo.SyntheticParams", "rows": {ROWS}, "batch_size": 65536}}"#
    );
    let response = reqwest::Client::new()
        .post(format!("{gateway}/stream"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes =
        tokio_util::io::StreamReader::new(response.bytes_stream().map_err(std::io::Error::other));
    let (rows, last_id) = tokio::task::spawn_blocking(move || {
        let sync = std::io::BufReader::new(tokio_util::io::SyncIoBridge::new(bytes));
        let reader = fastflight::arrow::ipc::reader::StreamReader::try_new(sync, None).unwrap();
        let mut rows = 0_u64;
        let mut last_id = -1_i64;
        for batch in reader {
            let batch = batch.unwrap();
            rows += batch.num_rows() as u64;
            let ids = batch.column(0).as_primitive::<Int64Type>();
            last_id = ids.value(ids.len() - 1);
        }
        (rows, last_id)
    })
    .await
    .unwrap();
    assert_eq!(rows, ROWS);
    assert_eq!(last_id, ROWS as i64 - 1);
    let peak = server.peak_rss();
    eprintln!(
        "start-all peak RSS after streaming {ROWS} rows: {} MB",
        peak / (1024 * 1024)
    );
    assert!(
        peak < BOUND,
        "peak RSS {} MB is above the 128 MB bound",
        peak / (1024 * 1024)
    );
}

/// Sends `signal` to the process.
#[cfg(unix)]
fn send(signal: &str, server: &DemoProcess) {
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

/// Waits for the process to exit, at most `within`.
#[cfg(unix)]
pub async fn exit_status(server: &mut DemoProcess, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within {within:?} of the signal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// 2,000,000 synthetic rows: about 72 MB, more than the HTTP/2 windows (16 + 32 MiB),
/// so the server cannot have sent it all before the client reads on.
const BIG: SyntheticParams = SyntheticParams {
    partitions: 1,
    start: 0,
    rows: 2_000_000,
    batch_size: 10_000,
    seed: None,
};

#[cfg(unix)]
#[tokio::test]
async fn sigterm_and_sigint_mid_stream_let_the_stream_finish_and_exit_zero() {
    for signal in ["TERM", "INT"] {
        let mut server = DemoProcess::start_all(&["--grace-period", "30"], &[]);
        let client = fastflight::Client::connect(&server.location).await.unwrap();
        let mut stream = client.fetch(BIG).await.unwrap();
        let mut rows = stream.next().await.unwrap().unwrap().num_rows();
        send(signal, &server);
        // New requests are refused while the stream in flight goes on.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let late = async {
                let client = fastflight::Client::connect(&server.location).await?;
                client
                    .fetch(fastflight_demo_api::EchoParams::default())
                    .await
                    .map(drop)
            };
            if late.await.is_err() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "SIG{signal}: new requests still served after 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "SIG{signal}: the process exited with a stream in flight"
        );
        while let Some(batch) = stream.next().await {
            rows += batch
                .expect("the stream in flight finishes cleanly")
                .num_rows();
        }
        assert_eq!(rows, 2_000_000, "SIG{signal}");
        let status = exit_status(&mut server, Duration::from_secs(20)).await;
        assert!(status.success(), "SIG{signal}: exit status {status}");
    }
}

/// A stream that outlives `--grace-period` (here from its variable) is cut (the client
/// sees an error, never a complete result) and the process exits.
#[cfg(unix)]
#[tokio::test]
async fn a_stream_outliving_the_grace_period_is_cut_and_the_process_exits() {
    let mut server = DemoProcess::start_all(&[], &[("FASTFLIGHT_GRACE_PERIOD", "1")]);
    let client = fastflight::Client::connect(&server.location).await.unwrap();
    let mut stream = client
        .fetch(SyntheticParams {
            partitions: 1,
            start: 0,
            rows: 100_000_000,
            ..BIG
        })
        .await
        .unwrap();
    let mut rows = stream.next().await.unwrap().unwrap().num_rows();
    let signalled = Instant::now();
    send("TERM", &server);
    // The client reads slowly, so the stream is far from done when the grace ends.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = exit_status(&mut server, Duration::from_secs(20)).await;
    assert!(
        signalled.elapsed() >= Duration::from_secs(1),
        "exited before the grace period"
    );
    assert!(status.success(), "exit status {status}");
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(batch) = stream.next().await {
            match batch {
                Ok(batch) => rows += batch.num_rows(),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
    .await
    .expect("the cut stream ends");
    assert!(
        ended.is_err(),
        "a cut stream looked complete after {rows} rows"
    );
    assert!(rows < 100_000_000);
}

/// One log line per stream, on every route: request, rows, bytes, duration, outcome.
#[tokio::test]
async fn each_stream_is_logged_with_its_figures_and_outcome() {
    let log = temp_path("server.log");
    let server = DemoProcess::start_all_logged(
        &[],
        &[("RUST_LOG", "info"), ("NO_COLOR", "1")],
        std::fs::File::create(&log).unwrap().into(),
    );
    let client = fastflight::Client::connect(&server.location).await.unwrap();
    let rows = client
        .fetch(SyntheticParams {
            partitions: 1,
            start: 0,
            rows: 1234,
            batch_size: 1000,
            seed: None,
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(RecordBatch::num_rows)
        .sum::<usize>();
    assert_eq!(rows, 1234);
    // A failing request, and one through the gateway.
    let _ = client
        .fetch_ticket(
            &br#"{"param_type": "fastflight.demo.SqlQuery", "query": "SELECT nope FROM nowhere"}"#
                [..],
        )
        .await;
    let gateway = server.gateway.clone().unwrap();
    let csv = reqwest::Client::new()
        .post(format!("{gateway}/stream"))
        .header("accept", "text/csv")
        .body(r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 77}"#)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 78);
    // The lines are written when the streams end; give the server a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.matches("stream ended").count() >= 2 && text.contains("request refused") {
            break text;
        }
        assert!(Instant::now() < deadline, "log so far:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let flight = text
        .lines()
        .find(|l| l.contains("stream ended") && l.contains("route=\"flight\""))
        .unwrap_or_else(|| panic!("no flight stream line in:\n{text}"));
    for part in [
        "request=fastflight.demo.SyntheticParams",
        "rows=1234",
        "duration_ms=",
        "outcome=\"complete\"",
    ] {
        assert!(flight.contains(part), "`{part}` missing from: {flight}");
    }
    let bytes: u64 = flight
        .split("bytes=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no bytes figure in: {flight}"));
    assert!(bytes >= 1234 * 16, "{bytes} bytes for 1234 rows: {flight}");
    let http = text
        .lines()
        .find(|l| l.contains("stream ended") && l.contains("route=\"http\""))
        .unwrap_or_else(|| panic!("no http stream line in:\n{text}"));
    assert!(http.contains("rows=77"), "{http}");
    let refused = text
        .lines()
        .find(|l| l.contains("request refused"))
        .unwrap();
    assert!(refused.contains("nowhere"), "{refused}");
}

/// Every option of the command line also reads its environment variable.
#[tokio::test]
async fn every_option_reads_its_environment_variable() {
    // Serving options: location, gateway host, port and prefix.
    let server = DemoProcess::spawn(
        &["start-all"],
        &[
            ("FASTFLIGHT_FLIGHT_LOCATION", "grpc://127.0.0.1:0"),
            ("FASTFLIGHT_REST_HOST", "127.0.0.1"),
            ("FASTFLIGHT_REST_PORT", "0"),
            ("FASTFLIGHT_REST_PREFIX", "/from-env"),
        ],
    );
    let gateway = server.gateway.clone().unwrap();
    assert!(
        gateway.starts_with("http://127.0.0.1:") && gateway.ends_with("/from-env"),
        "{gateway}"
    );
    assert!(
        server.location.starts_with("grpc://127.0.0.1:"),
        "{}",
        server.location
    );

    // `call`: location, request, format, output, stats.
    let output = temp_path("env.ndjson");
    let out = demo(
        &["call"],
        &[
            ("FASTFLIGHT_LOCATION", &server.location),
            ("FASTFLIGHT_REQUEST", REQUEST),
            ("FASTFLIGHT_FORMAT", "json"),
            ("FASTFLIGHT_OUTPUT", output.to_str().unwrap()),
            ("FASTFLIGHT_STATS", "true"),
            ("FASTFLIGHT_NO_PROGRESS", "true"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&output).unwrap().lines().count(),
        2500
    );
    assert!(err.contains("2500 rows"), "stats on stderr: {err}");

    // `services --json`.
    let out = demo(&["services"], &[("FASTFLIGHT_JSON", "true")]);
    let services: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(services.as_array().unwrap().len(), 8);

    // A value the option cannot take is refused naming the option: proof it was read.
    for (var, value, option, args) in [
        (
            "FASTFLIGHT_GRACE_PERIOD",
            "soon",
            "--grace-period",
            &["start-flight-server"][..],
        ),
        (
            "FASTFLIGHT_REST_PORT",
            "eighty",
            "--rest-port",
            &["start-all"][..],
        ),
        (
            "FASTFLIGHT_NO_PROGRESS",
            "maybe",
            "--no-progress",
            &["call", REQUEST][..],
        ),
        (
            "FASTFLIGHT_FORMAT",
            "xml",
            "--format",
            &["call", REQUEST][..],
        ),
        (
            "FASTFLIGHT_FLIGHT_LOCATION",
            "nowhere",
            "nowhere",
            &["start-flight-server"][..],
        ),
    ] {
        let out = demo(args, &[(var, value)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}={value} accepted");
        assert!(err.contains(option), "{var}={value}: {err}");
    }
}

/// A call that fails after some batches leaves nothing at `--output` (nor a partial
/// file beside it); one that succeeds leaves the whole result there.
#[test]
fn a_failed_call_leaves_no_output_file() {
    let server = DemoProcess::start();
    let folder = temp_path("out-folder");
    std::fs::create_dir_all(&folder).unwrap();
    // 300 rows are numbers, then a text value no longer fits the column: an error after batches.
    let failing = r#"{"param_type": "fastflight.demo.SqlQuery", "batch_size": 100,
        "query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 1000) SELECT CASE WHEN x <= 300 THEN x ELSE 'text' END AS v FROM c"}"#;
    for format in ["csv", "json", "arrow", "parquet"] {
        let target = folder.join(format!("result.{format}"));
        let out = demo(
            &[
                "call",
                "--location",
                &server.location,
                failing,
                "--format",
                format,
                "--output",
                target.to_str().unwrap(),
            ],
            &[],
        );
        assert!(!out.status.success(), "{format}: the call succeeded");
        assert!(
            !target.exists(),
            "{format}: a partial result was left at the target"
        );
    }
    let left: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    let target = folder.join("whole.csv");
    let out = demo(
        &[
            "call",
            "--location",
            &server.location,
            REQUEST,
            "--output",
            target.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap().lines().count(),
        2501
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);

    // Through a symbolic link, the file it names takes the result; the link stays.
    let link = folder.join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    std::fs::write(&target, "old").unwrap();
    let call = |to: &std::path::Path| {
        demo(
            &[
                "call",
                "--location",
                &server.location,
                REQUEST,
                "--output",
                to.to_str().unwrap(),
            ],
            &[],
        )
    };
    assert!(call(&link).status.success());
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap().lines().count(),
        2501
    );

    // A pipe (or a device) is written in place, never replaced by a file.
    use std::os::unix::fs::FileTypeExt;
    let fifo = folder.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    assert!(call(&fifo).status.success());
    assert_eq!(reader.join().unwrap().lines().count(), 2501);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let null = std::path::Path::new("/dev/null");
    if std::fs::metadata(null)
        .unwrap()
        .file_type()
        .is_char_device()
    {
        assert!(call(null).status.success());
        assert!(
            std::fs::metadata(null)
                .unwrap()
                .file_type()
                .is_char_device(),
            "--output /dev/null replaced the device with a file"
        );
    }
}

/// `--sql-timeout` (here from its variable) interrupts a statement that runs too long.
#[tokio::test]
async fn the_demo_interrupts_sql_past_its_time_limit() {
    let server = DemoProcess::spawn(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
        ],
        &[("FASTFLIGHT_SQL_TIMEOUT", "0.5")],
    );
    let client = fastflight::Client::connect(&server.location).await.unwrap();
    let started = Instant::now();
    let ticket = br#"{"param_type": "fastflight.demo.SqlQuery",
        "query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"}"#;
    let e = tokio::time::timeout(Duration::from_secs(20), client.fetch_ticket(&ticket[..]))
        .await
        .expect("the statement is stopped")
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::DeadlineExceeded, "{e}");
    assert!(e.to_string().contains("statement_timeout"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// A service that does not stop by itself (here a statement with an hour to run) does
/// not hold the process past the grace period.
#[cfg(unix)]
#[tokio::test]
async fn shutdown_ends_the_process_within_the_grace_period_whatever_services_do() {
    let mut server = DemoProcess::start_all(
        &[],
        &[
            ("FASTFLIGHT_GRACE_PERIOD", "1"),
            ("FASTFLIGHT_SQL_TIMEOUT", "3600"),
        ],
    );
    let client = fastflight::Client::connect(&server.location).await.unwrap();
    let ticket = br#"{"param_type": "fastflight.demo.SqlQuery",
        "query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"}"#;
    let call = tokio::spawn(async move { client.fetch_ticket(&ticket[..]).await.map(drop) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    send("TERM", &server);
    let status = exit_status(&mut server, Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
    assert!(
        signalled.elapsed() < Duration::from_secs(4),
        "exited {:?} after SIGTERM with a 1 s grace period",
        signalled.elapsed()
    );
    let outcome = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("the call ends with the process")
        .unwrap();
    assert!(outcome.is_err(), "the endless statement looked complete");
}

/// Big results building on the server leave the async workers free: health and small
/// calls answer at once while four large synthetic streams run.
#[tokio::test]
async fn health_and_small_calls_answer_while_big_streams_run() {
    let server = DemoProcess::start_all(&[], &[]);
    let gateway = server.gateway.clone().unwrap();
    let origin = gateway.trim_end_matches("/fastflight").to_owned();
    let mut readers = Vec::new();
    for _ in 0..4 {
        let client = fastflight::Client::connect(&server.location).await.unwrap();
        readers.push(tokio::spawn(async move {
            let mut stream = client
                .fetch(SyntheticParams {
                    partitions: 1,
                    start: 0,
                    rows: 50_000_000,
                    batch_size: 65_536,
                    seed: None,
                })
                .await
                .unwrap();
            // Read on, slowly enough to keep the server building.
            for _ in 0..200 {
                if stream.next().await.is_none() {
                    break;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let small = fastflight::Client::connect(&server.location).await.unwrap();
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let live = reqwest::get(format!("{origin}/health/live")).await.unwrap();
        assert_eq!(live.status(), 200);
        let echo = small
            .fetch(fastflight_demo_api::EchoParams::default())
            .await
            .unwrap()
            .concat()
            .await
            .unwrap();
        assert_eq!(echo.num_rows(), 1);
        slowest = slowest.max(started.elapsed());
    }
    eprintln!("slowest health + echo round trip under load: {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");
    for reader in readers {
        reader.abort();
    }
}

/// `call` authenticates with `--user` (password from FASTFLIGHT_PASSWORD) or `--token`
/// against a server started with `--auth-users` and `--auth-tokens`; without credentials
/// it fails naming the reason. Neither the password nor a token reaches the server's
/// log, even at debug level.
#[tokio::test]
async fn call_authenticates_and_secrets_stay_out_of_logs() {
    // The users file holds a hash made by `hash-password` (the password on stdin).
    let mut hasher = Command::new(demo_binary())
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = hasher.stdin.take().unwrap();
        stdin.write_all(b"correct-horse-battery\n").unwrap();
    }
    let hashed = crate::support::wait_within(hasher);
    assert!(hashed.status.success());
    let hash = String::from_utf8(hashed.stdout).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let users = temp_path("users.txt");
    std::fs::write(&users, format!("ada:{} analyst\n", hash.trim())).unwrap();
    let tokens = temp_path("tokens.txt");
    std::fs::write(&tokens, "svc-7f3a9c2e4b1d8f60 etl\n").unwrap();
    let log = temp_path("auth.log");
    let server = DemoProcess::start_all_logged(
        &[
            "--auth-users",
            users.to_str().unwrap(),
            "--auth-tokens",
            tokens.to_str().unwrap(),
        ],
        &[("RUST_LOG", "debug"), ("NO_COLOR", "1")],
        std::fs::File::create(&log).unwrap().into(),
    );
    let call = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "call",
            "--location",
            &server.location,
            REQUEST,
            "--format",
            "csv",
        ];
        args.extend_from_slice(extra);
        demo(&args, env)
    };
    let out = call(&[], &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs credentials"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = call(
        &["--user", "ada"],
        &[("FASTFLIGHT_PASSWORD", "correct-horse-battery")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2501);
    let out = call(
        &["--user", "ada"],
        &[("FASTFLIGHT_PASSWORD", "wrong-horse")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    let out = call(&[], &[("FASTFLIGHT_TOKEN", "svc-7f3a9c2e4b1d8f60")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // On a terminal, without FASTFLIGHT_PASSWORD, the password is asked (and not echoed).
    let command = format!(
        "{} call --location {} --user ada '{}' --format csv",
        demo_binary().display(),
        server.location,
        REQUEST
    );
    let mut prompted = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = prompted.stdout.take().unwrap();
    let (chunks, screen_so_far) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut chunk = [0_u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            if chunks.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    // The password goes in once the prompt is on the screen (echo is off by then).
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains("password for ada:") {
        let left = deadline.saturating_duration_since(Instant::now());
        match screen_so_far.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => panic!("no prompt: {}", String::from_utf8_lossy(&seen)),
        }
    }
    // The prompt is printed just before echo is turned off: a person types later than
    // that, and so does the test.
    std::thread::sleep(Duration::from_millis(500));
    let mut stdin = prompted.stdin.take().unwrap();
    {
        use std::io::Write;
        stdin.write_all(b"correct-horse-battery\n").unwrap();
    }
    // The rest of the screen, to the end of the call; then the end of input ends `script`.
    while let Ok(chunk) = screen_so_far.recv_timeout(Duration::from_secs(20)) {
        seen.extend(chunk);
        if String::from_utf8_lossy(&seen).lines().count() > 2501 {
            break;
        }
    }
    drop(stdin);
    let status = prompted.wait().unwrap();
    while let Ok(chunk) = screen_so_far.recv_timeout(Duration::from_millis(200)) {
        seen.extend(chunk);
    }
    let prompted = std::process::Output {
        status,
        stdout: seen,
        stderr: Vec::new(),
    };
    let screen = String::from_utf8_lossy(&prompted.stdout);
    assert!(prompted.status.success(), "{screen}");
    assert!(screen.contains("password for ada:"), "{screen}");
    assert!(
        !screen.contains("correct-horse-battery"),
        "the password was echoed: {screen}"
    );
    assert!(screen.lines().count() >= 2501, "{screen}");
    // `services --location` asks the running server, as this caller.
    let listed = demo(
        &[
            "services",
            "--location",
            &server.location,
            "--token",
            "svc-7f3a9c2e4b1d8f60",
        ],
        &[],
    );
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("fastflight.demo.SyntheticParams"));
    let refused = demo(&["services", "--location", &server.location], &[]);
    assert!(!refused.status.success());
    // The gateway with Basic credentials, as curl -u sends them.
    let gateway = server.gateway.clone().unwrap();
    let http = reqwest::Client::new();
    let body = r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 10}"#;
    let denied = http
        .post(format!("{gateway}/stream"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let allowed = http
        .post(format!("{gateway}/stream"))
        .basic_auth("ada", Some("correct-horse-battery"))
        .header("accept", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.text().await.unwrap().lines().count(), 11);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("token issued"),
        "the log shows no handshake:\n{text}"
    );
    for secret in [
        "correct-horse-battery",
        "wrong-horse",
        "svc-7f3a9c2e4b1d8f60",
        "YWRhOmNvcnJlY3QtaG9yc2UtYmF0dGVyeQ",
    ] {
        assert!(!text.contains(secret), "`{secret}` is in the server's log");
    }
    // Nor an issued token: any JWT-looking string.
    assert!(
        !text.contains("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."),
        "an issued token is in the log"
    );
}

/// A server told a port already taken stops at once, saying so: what the tests that must
/// choose their servers' ports before they start look for to choose again.
#[test]
fn a_server_on_a_port_in_use_stops_and_says_so() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let location = format!("grpc://{}", taken.local_addr().unwrap());
    let log = DemoProcess::try_spawn(
        &["start-flight-server", "--flight-location", &location],
        &[],
    )
    .map(drop)
    .expect_err("the port is taken");
    assert!(crate::support::address_in_use(&log), "{log}");
    assert!(log.contains(&location), "{log}");
}

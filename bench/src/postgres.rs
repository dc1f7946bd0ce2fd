//! The PostgreSQL comparison (`--postgres`): one generated table in a throw-away
//! cluster, read whole into client memory by every reader people use today and by
//! fastflight's `PgQuery` (the demo's service) through its Rust and pyarrow clients.
//! Every reader is its own process; they take turns, round after round, and the median
//! of the rounds is reported.

// The tests' throw-away cluster, shared as one file.
#[allow(dead_code)]
#[path = "../../tests/tests/it/pg_cluster.rs"]
mod pg_cluster;

use std::process::Command;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::report::{median, python_script};
use crate::{clients, run_json, Cli, ServerProcess};

/// The query every reader runs.
pub const QUERY: &str = "SELECT * FROM bench";

/// The generated table: int8 id, int4, float8, text of 16 characters, timestamptz and
/// bool, with some NULLs.
fn setup(rows: usize) -> String {
    format!(
        "CREATE ROLE reader LOGIN;
         CREATE TABLE bench AS SELECT
             g::int8 AS id,
             (g % 1000)::int4 AS qty,
             CASE WHEN g % 50 = 0 THEN NULL ELSE g * 0.25 END::float8 AS price,
             CASE WHEN g % 97 = 0 THEN NULL ELSE 'item-' || lpad((g % 100000)::text, 11, '0') END AS name,
             timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS ts,
             g % 3 = 0 AS flag
         FROM generate_series(1, {rows}) g;
         ALTER TABLE bench ADD PRIMARY KEY (id);
         ANALYZE bench;
         GRANT SELECT ON bench TO reader;"
    )
}

/// One reader's figures.
#[derive(Debug, Clone, Serialize)]
struct Reader {
    name: String,
    seconds: f64,
    rows_per_s: f64,
    mb_per_s: f64,
    client_peak_rss_mb: f64,
    /// Every round's seconds.
    runs_s: Vec<f64>,
}

/// Serves the demo's `PgQuery` over `url` until killed (the `serve-pg` command).
pub async fn serve(url: &str) -> Result<(), String> {
    use fastflight_examples::Postgres;
    let pool = fastflight::sources::postgres::PgPool::connect(url).map_err(|e| e.to_string())?;
    let registry = fastflight::Registry::global()
        .and_then(|r| r.select(["fastflight.demo.PgQuery"]))
        .map_err(|e| e.to_string())?;
    let server = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(registry)
        .state(Postgres(Some(pool)))
        .bind()
        .await
        .map_err(|e| e.to_string())?;
    println!("listening on {}", server.location());
    server.serve().await.map_err(|e| e.to_string())
}

/// Reads the table once with a Rust reader (the `pg-client` command) and prints its
/// figures: `fastflight` (the fastflight client, `PgQuery` at `target`) or `rows`
/// (tokio-postgres rows of `query_raw` into a `Vec`, from the database at `target`).
pub async fn read(reader: &str, target: &str, partitions: u32) -> Result<(), String> {
    let started = Instant::now();
    let (rows, bytes) = match reader {
        "fastflight" => {
            use fastflight_demo_api::{PgQuery, RangeSplit};
            let client = fastflight::Client::connect(target)
                .await
                .map_err(|e| e.to_string())?;
            let mut request = PgQuery::new(QUERY);
            if partitions > 1 {
                request.split = RangeSplit::on("id", partitions);
            }
            let batches = client
                .fetch(request)
                .await
                .map_err(|e| e.to_string())?
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            // The values' bytes (decoded columns share their message's buffer, which
            // `get_array_memory_size` would count once per column).
            let bytes: usize = batches
                .iter()
                .flat_map(|b| b.columns())
                .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
                .sum();
            (rows, bytes)
        }
        "rows" => {
            let (client, connection) = tokio_postgres::connect(target, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            let params: [&str; 0] = [];
            let stream = client
                .query_raw(QUERY, params)
                .await
                .map_err(|e| e.to_string())?;
            use futures::TryStreamExt;
            let rows: Vec<tokio_postgres::Row> =
                stream.try_collect().await.map_err(|e| e.to_string())?;
            (rows.len(), 0)
        }
        other => return Err(format!("unknown reader {other}")),
    };
    let report = serde_json::json!({
        "seconds": started.elapsed().as_secs_f64(),
        "rows": rows,
        "bytes": bytes,
        "peak_rss_mb": clients::peak_rss_mb(),
    });
    println!("{report}");
    Ok(())
}

/// The whole comparison, its table and JSON.
pub fn run(cli: &Cli) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let rows = cli
        .pg_rows
        .unwrap_or(if cli.quick { 1_000_000 } else { 5_000_000 });
    let rounds = if cli.quick { 2 } else { 3 };
    eprintln!("PostgreSQL: a throw-away cluster, and a table of {rows} rows ...");
    let made = Instant::now();
    let cluster = pg_cluster::PgCluster::start(&setup(rows));
    eprintln!("  ready in {:.1} s", made.elapsed().as_secs_f64());
    let url = cluster.url("reader");
    let mut serve = Command::new(&me);
    serve.args(["serve-pg", "--url", &url]);
    let server = ServerProcess::spawn(serve)?;

    type Run<'a> = Box<dyn Fn() -> Result<Value, String> + 'a>;
    let rust = |reader: &'static str, target: String, partitions: u32| -> Run {
        let me = me.clone();
        Box::new(move || {
            let mut command = Command::new(&me);
            command.args([
                "pg-client",
                reader,
                "--target",
                &target,
                "--partitions",
                &partitions.to_string(),
            ]);
            run_json(command)
        })
    };
    let python = |reader: &'static str, target: String, partitions: u32| -> Run {
        let python = cli.python.clone();
        Box::new(move || {
            let mut command = Command::new(&python);
            command.arg(python_script("pg_readers.py")).args([
                reader,
                &target,
                QUERY,
                &partitions.to_string(),
            ]);
            run_json(command)
        })
    };
    let location = server.location.clone();
    let mut entries: Vec<(&str, Run)> = vec![
        (
            "fastflight PgQuery ← fastflight client",
            rust("fastflight", location.clone(), 1),
        ),
        (
            "fastflight PgQuery, 2 partitions ← fastflight client",
            rust("fastflight", location.clone(), 2),
        ),
        (
            "tokio-postgres rows (query_raw into a Vec)",
            rust("rows", url.clone(), 1),
        ),
    ];
    let has = |module: &str| crate::report::python_has(&cli.python, module);
    if !cli.no_python && has("pyarrow.flight") {
        entries.push((
            "fastflight PgQuery ← pyarrow client",
            python("flight", location.clone(), 1),
        ));
        entries.push((
            "fastflight PgQuery, 2 partitions ← pyarrow client",
            python("flight", location.clone(), 2),
        ));
    }
    for (name, module, reader, partitions) in [
        ("psycopg 3 fetchall()", "psycopg", "psycopg", 1),
        (
            "pandas.read_sql (SQLAlchemy + psycopg)",
            "pandas",
            "read_sql",
            1,
        ),
        ("ConnectorX → Arrow", "connectorx", "connectorx", 1),
        (
            "ConnectorX → Arrow, partition_num=2",
            "connectorx",
            "connectorx",
            2,
        ),
        (
            "ADBC PostgreSQL fetch_arrow_table()",
            "adbc_driver_postgresql.dbapi",
            "adbc",
            1,
        ),
    ] {
        if cli.no_python {
            continue;
        }
        if has(module) {
            entries.push((name, python(reader, url.clone(), partitions)));
        } else {
            eprintln!(
                "{module} is not importable by {}: {name} is skipped",
                cli.python
            );
        }
    }

    let mut reports: Vec<Vec<Value>> = vec![Vec::new(); entries.len()];
    for round in 1..=rounds {
        for (i, (name, run)) in entries.iter().enumerate() {
            eprintln!("round {round}/{rounds}: {name} ...");
            let report = run()?;
            if report["rows"].as_u64() != Some(rows as u64) {
                return Err(format!("{name} read {} rows, not {rows}", report["rows"]));
            }
            reports[i].push(report);
        }
    }
    // MB: the table's values as Arrow arrays.
    let table_bytes = reports[0]
        .iter()
        .filter_map(|r| r["bytes"].as_f64())
        .fold(0.0, f64::max);
    let readers: Vec<Reader> = entries
        .iter()
        .zip(&reports)
        .map(|((name, _), reports)| {
            let runs: Vec<f64> = reports
                .iter()
                .filter_map(|r| r["seconds"].as_f64())
                .collect();
            let seconds = median(&runs);
            Reader {
                name: (*name).to_owned(),
                seconds,
                rows_per_s: rows as f64 / seconds,
                mb_per_s: table_bytes / 1e6 / seconds,
                client_peak_rss_mb: reports
                    .iter()
                    .filter_map(|r| r["peak_rss_mb"].as_f64())
                    .fold(0.0, f64::max),
                runs_s: runs,
            }
        })
        .collect();
    let server_rss = server.peak_rss_mb();
    drop(server);
    drop(cluster);

    let seconds = |prefix: &str| readers.iter().find(|r| r.name == prefix).map(|r| r.seconds);
    let by_pyarrow = seconds("fastflight PgQuery ← pyarrow client");
    let ratio = |other: &str| match (seconds(other), by_pyarrow) {
        (Some(other), Some(ff)) => Some(other / ff),
        _ => None,
    };
    let ratios = serde_json::json!({
        "pg_vs_psycopg": ratio("psycopg 3 fetchall()"),
        "pg_vs_read_sql": ratio("pandas.read_sql (SQLAlchemy + psycopg)"),
        "pg_vs_adbc": ratio("ADBC PostgreSQL fetch_arrow_table()"),
        "pg_vs_connectorx": ratio("ConnectorX → Arrow"),
        "pg_partitioned_vs_connectorx_partitioned": match (
            seconds("ConnectorX → Arrow, partition_num=2"),
            seconds("fastflight PgQuery, 2 partitions ← pyarrow client"),
        ) {
            (Some(cx), Some(ff)) => Some(cx / ff),
            _ => None,
        },
        "rust_client_vs_tokio_postgres_rows": match (
            seconds("tokio-postgres rows (query_raw into a Vec)"),
            seconds("fastflight PgQuery ← fastflight client"),
        ) {
            (Some(rows), Some(ff)) => Some(rows / ff),
            _ => None,
        },
    });

    println!(
        "| {:<54} | {:>8} | {:>12} | {:>8} | {:>10} |",
        "reader (whole table into client memory)", "seconds", "rows/s", "MB/s", "client MB"
    );
    println!(
        "|{:-<56}|{:->10}|{:->14}|{:->10}|{:->12}|",
        "", "", "", "", ""
    );
    for r in &readers {
        println!(
            "| {:<54} | {:>8.2} | {:>12.0} | {:>8.0} | {:>10.0} |",
            r.name, r.seconds, r.rows_per_s, r.mb_per_s, r.client_peak_rss_mb
        );
    }
    println!();
    println!(
        "{rows} rows, {:.0} MB of Arrow values; fastflight server peak RSS {server_rss:.0} MB",
        table_bytes / 1e6
    );
    let show = |key: &str| {
        ratios[key]
            .as_f64()
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "n/a".into())
    };
    println!(
        "reader's seconds / fastflight's (pyarrow client): psycopg {}, read_sql {}, ADBC {}, ConnectorX {}, ConnectorX 2 partitions / fastflight 2 partitions {}; tokio-postgres rows / fastflight Rust client {}",
        show("pg_vs_psycopg"),
        show("pg_vs_read_sql"),
        show("pg_vs_adbc"),
        show("pg_vs_connectorx"),
        show("pg_partitioned_vs_connectorx_partitioned"),
        show("rust_client_vs_tokio_postgres_rows"),
    );
    if let Some(path) = &cli.json {
        let json = serde_json::json!({
            "postgres": {
                "rows": rows,
                "table_arrow_bytes": table_bytes,
                "rounds": rounds,
                "server_peak_rss_mb": server_rss,
                "readers": readers,
                "ratios": ratios,
            }
        });
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}

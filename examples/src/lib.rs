//! The fastflight demo services, served by the `fastflight-demo` binary.
//!
//! - [`echo`]: one row echoing a message (compatible with the Python package's echo demo);
//! - [`synthetic`]: any number of generated rows, made lazily batch by batch;
//! - [`synthetic_rows`]: the same rows as typed rows ([`SyntheticRow`]), one at a time;
//! - [`trades`]: the trades of one symbol as typed rows ([`Trade`]);
//! - [`sql_query`]: read-only SQL over the demo SQLite database;
//! - [`csv_file`] and [`parquet_file`]: files of the demo's data directory.
//!
//! The data directory (`--data-dir`, env `FASTFLIGHT_DATA_DIR`, default `fastflight-data`)
//! is filled on first start: see [`data`].

pub mod data;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use fastflight::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, StringBuilder,
};
use fastflight::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use fastflight::prelude::*;

pub use fastflight_demo_api::{
    CsvFile, CsvFileClient, EchoParams, EchoParamsClient, ParquetFile, ParquetFileClient, PgQuery,
    PgQueryClient, SqlQuery, SqlQueryClient, SyntheticParams, SyntheticParamsClient, SyntheticRow,
    SyntheticRows, SyntheticRowsClient, Trade, Trades, TradesClient,
};

use fastflight::sources::files::{FileRoot, ReadOptions};
use fastflight::sources::postgres::PgPool;
use fastflight::sources::range::RangePart;
use fastflight::sources::sqlite::{params_from_json, SqlValue, SqlitePool};
use fastflight::sources::DEFAULT_BATCH_SIZE;

/// Answers one row: `message`, `timestamp` (seconds since the epoch), `service` = `"echo_service"`.
#[data_service]
pub async fn echo(req: EchoParams) -> fastflight::Result<BatchStream> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let batch = RecordBatch::try_from_iter([
        (
            "message",
            Arc::new(StringArray::from(vec![req.message])) as ArrayRef,
        ),
        (
            "timestamp",
            Arc::new(Int64Array::from(vec![now])) as ArrayRef,
        ),
        (
            "service",
            Arc::new(StringArray::from(vec!["echo_service"])) as ArrayRef,
        ),
    ])?;
    Ok(futures::stream::iter([Ok(batch)]).boxed())
}

/// The schema of [`synthetic`]'s result.
pub fn synthetic_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("name", DataType::Utf8, false),
    ]))
}

/// Generates `rows` rows in batches of `batch_size`, one batch at a time, on a blocking
/// thread: building batches is CPU work that must not hold up the async workers (health
/// checks and small calls keep their latency while big results stream).
#[data_service(blocking, schema = synthetic_schema, partitions = SyntheticParams::split, ordered)]
pub fn synthetic(req: SyntheticParams) -> SyntheticBatches {
    SyntheticBatches::new(&req)
}

/// The synthetic rows one at a time, as typed rows: the row batcher cuts them into
/// batches (the same data [`synthetic`] builds by hand).
#[data_service(blocking)]
pub fn synthetic_rows(req: SyntheticRows) -> impl Iterator<Item = SyntheticRow> + Send {
    let seed = req.seed.unwrap_or(0x5eed);
    (0..req.rows).map(move |i| SyntheticRow {
        id: i as i64,
        value: unit_float(splitmix64(seed ^ i)),
        name: format!("row-{i:012}"),
    })
}

/// A row of the `trades` table as SQLite gives it (its symbol plain text).
#[derive(ArrowRow)]
struct TradeRecord {
    id: i64,
    symbol: String,
    price: f64,
    quantity: i64,
    ts: i64,
}

/// The trades of one symbol from the demo database, as typed rows.
#[data_service]
pub async fn trades(
    req: Trades,
    db: State<SqlitePool>,
) -> impl Stream<Item = fastflight::Result<Trade>> {
    db.rows::<TradeRecord>(
        "SELECT id, symbol, price, quantity, ts FROM trades WHERE symbol = ?1 ORDER BY id LIMIT ?2",
        vec![SqlValue::Text(req.symbol), SqlValue::Integer(req.limit)],
        DEFAULT_BATCH_SIZE,
    )
    .map_ok(|t| Trade {
        id: t.id,
        symbol: t.symbol,
        price: t.price,
        quantity: t.quantity,
        ts: t.ts,
    })
}

/// The batches of a [`SyntheticParams`] request, made on demand.
pub struct SyntheticBatches {
    schema: SchemaRef,
    next_id: u64,
    end: u64,
    batch_size: usize,
    seed: u64,
}

impl SyntheticBatches {
    /// The batches of one request.
    pub fn new(req: &SyntheticParams) -> Self {
        Self {
            schema: synthetic_schema(),
            next_id: req.start,
            end: req.start + req.rows,
            batch_size: req.batch_size.max(1),
            seed: req.seed.unwrap_or(0x5eed),
        }
    }

    fn batch(&self, start: u64, len: usize) -> fastflight::Result<RecordBatch> {
        let ids = Int64Array::from_iter_values((start..start + len as u64).map(|i| i as i64));
        let values = Float64Array::from_iter_values(
            (start..start + len as u64).map(|i| unit_float(splitmix64(self.seed ^ i))),
        );
        let mut names = StringBuilder::with_capacity(len, len * 16);
        for i in start..start + len as u64 {
            names.append_value(format!("row-{i:012}"));
        }
        Ok(RecordBatch::try_new(
            Arc::clone(&self.schema),
            vec![Arc::new(ids), Arc::new(values), Arc::new(names.finish())],
        )?)
    }
}

impl Iterator for SyntheticBatches {
    type Item = fastflight::Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next_id >= self.end {
            return None;
        }
        let len = (self.end - self.next_id).min(self.batch_size as u64) as usize;
        let start = self.next_id;
        self.next_id += len as u64;
        Some(self.batch(start, len))
    }
}

/// SplitMix64: the synthetic data's pseudo-random numbers (the same seed, the same rows).
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn unit_float(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The role a caller needs for the services that run a caller's SQL, when the server
/// authenticates its callers: arbitrary SQL is for trusted callers (see the README).
pub const SQL_ROLE: &str = "sql";

/// Runs a read-only query over the demo database; split by ranges of a column when the
/// request asks for partitions (GetFlightInfo answers one endpoint per part). A server
/// that authenticates its callers serves it to those with the role `sql` only.
#[data_service(partitions = SqlQuery::split, ordered, roles = ["sql"], open_without_auth)]
pub async fn sql_query(req: SqlQuery, db: State<SqlitePool>) -> fastflight::Result<BatchStream> {
    let params = params_from_json(&req.params)?;
    let batch_size = req.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    match req.split.range_part() {
        Some((column, part, of)) => {
            let part = RangePart::new(column, part, of)?;
            Ok(db.stream_part(&req.query, params, &part, batch_size))
        }
        // Asked for whole (DoGet of the unsplit request): every part at once.
        None => Ok(db.stream(&req.query, params, batch_size)),
    }
}

/// The PostgreSQL database of `--postgres-url`, when the demo was given one.
#[derive(Debug, Clone, Default)]
pub struct Postgres(pub Option<PgPool>);

/// Runs a read-only query over the PostgreSQL database of `--postgres-url`; split by
/// ranges of a column when the request asks for partitions. A server that authenticates
/// its callers serves it to those with the role `sql` only.
#[data_service(partitions = PgQuery::split, ordered, roles = ["sql"], open_without_auth)]
pub async fn pg_query(req: PgQuery, pg: State<Postgres>) -> fastflight::Result<BatchStream> {
    let Some(pool) = &pg.0 else {
        return Err(fastflight::Error::status(
            fastflight::tonic::Code::FailedPrecondition,
            "this demo server has no PostgreSQL database: start it with --postgres-url postgresql://USER@HOST:PORT/DB (or FASTFLIGHT_POSTGRES_URL)",
        ));
    };
    let batch_size = req.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    match req.split.range_part() {
        Some((column, part, of)) => {
            let part = RangePart::new(column, part, of)?;
            Ok(pool.stream_part(&req.query, req.params, &part, batch_size))
        }
        None => Ok(pool.stream(&req.query, req.params, batch_size)),
    }
}

/// Reads a CSV file of the data directory.
#[data_service]
pub async fn csv_file(req: CsvFile, root: State<FileRoot>) -> fastflight::Result<BatchStream> {
    Ok(root.csv(
        &req.path,
        read_options(req.columns, req.limit, req.batch_size),
    ))
}

/// Reads a Parquet file of the data directory.
#[data_service]
pub async fn parquet_file(
    req: ParquetFile,
    root: State<FileRoot>,
) -> fastflight::Result<BatchStream> {
    Ok(root.parquet(
        &req.path,
        read_options(req.columns, req.limit, req.batch_size),
    ))
}

fn read_options(
    columns: Option<Vec<String>>,
    limit: Option<usize>,
    batch_size: Option<usize>,
) -> ReadOptions {
    ReadOptions {
        columns,
        limit,
        batch_size: batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
    }
}

/// The demo's own options.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The data directory: the demo database and files, created on first start.
    #[arg(
        long,
        env = "FASTFLIGHT_DATA_DIR",
        default_value = "fastflight-data",
        global = true
    )]
    pub data_dir: std::path::PathBuf,
    /// Seconds one SQL statement may run before it is interrupted.
    #[arg(
        long,
        env = "FASTFLIGHT_SQL_TIMEOUT",
        default_value = "60",
        value_parser = fastflight::cli::seconds,
        global = true
    )]
    pub sql_timeout: std::time::Duration,
    /// A PostgreSQL database for `fastflight.demo.PgQuery` (postgresql://USER@HOST:PORT/DB); connect as a role that may only read. A password in it shows in the process list: prefer FASTFLIGHT_POSTGRES_URL or --postgres-url-file.
    #[arg(
        long,
        env = "FASTFLIGHT_POSTGRES_URL",
        global = true,
        hide_env_values = true,
        conflicts_with = "postgres_url_file"
    )]
    pub postgres_url: Option<String>,
    /// A file holding the PostgreSQL URL (its first line).
    #[arg(long, env = "FASTFLIGHT_POSTGRES_URL_FILE", global = true)]
    pub postgres_url_file: Option<std::path::PathBuf>,
    /// Accept a PostgreSQL role with rights over the server (a superuser, pg_read_server_files, pg_signal_backend, ...): every caller of PgQuery would hold them.
    #[arg(long, env = "FASTFLIGHT_POSTGRES_ALLOW_PRIVILEGED", global = true)]
    pub postgres_allow_privileged: bool,
}

/// The server builder of the demo: the data directory prepared, its database (statements
/// limited to `sql_timeout`) and files as state.
pub fn demo_server(
    data_dir: &std::path::Path,
    sql_timeout: std::time::Duration,
) -> fastflight::Result<fastflight::ServerBuilder> {
    let dir = data::prepare(data_dir)?;
    let db = SqlitePool::open_read_only(data::database(&dir))?.statement_timeout(sql_timeout);
    Ok(fastflight::Server::builder()
        .state(db)
        .state(FileRoot::new(&dir)?)
        .state(Postgres::default()))
}

/// The demo's `main`: the fastflight command line over these services.
pub async fn run() -> fastflight::Result<()> {
    fastflight::cli::run_app(|args: DemoArgs| async move {
        let dir = args.data_dir;
        let sql_timeout = args.sql_timeout.max(std::time::Duration::from_millis(1));
        let url = match (&args.postgres_url, &args.postgres_url_file) {
            (Some(url), _) => {
                if holds_password(url) {
                    fastflight::cli::warn_secret_argument(
                        "--postgres-url",
                        "FASTFLIGHT_POSTGRES_URL or --postgres-url-file",
                    );
                }
                Some(url.clone())
            }
            (None, Some(path)) => Some(fastflight::cli::secret_file(
                path,
                "the PostgreSQL URL file",
            )?),
            (None, None) => None,
        };
        let postgres = match &url {
            Some(url) => {
                let pool = PgPool::connect(url)?
                    .statement_timeout(sql_timeout)
                    .allow_privileged(args.postgres_allow_privileged);
                match pool.check().await {
                    Ok(()) => {}
                    // A role with rights the pool refuses: the start fails, naming them.
                    Err(e @ fastflight::Error::Config(_)) => return Err(e),
                    Err(e) => tracing_warn_unreachable(&e),
                }
                Postgres(Some(pool))
            }
            None => Postgres(None),
        };
        let builder = tokio::task::spawn_blocking(move || demo_server(&dir, sql_timeout))
            .await
            .map_err(|e| fastflight::Error::Config(format!("preparing the data failed: {e}")))??;
        Ok(builder.state(postgres))
    })
    .await
}

/// Whether a PostgreSQL connection string holds a password: `user:password@` in a URL,
/// a `password=` parameter of a URL or of the `key=value` form.
fn holds_password(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let user_info = after_scheme
        .split_once('@')
        .is_some_and(|(user, _)| user.contains(':'));
    user_info || url.contains("password=")
}

/// Says that the database did not answer at start: calls will fail until it does.
fn tracing_warn_unreachable(e: &fastflight::Error) {
    eprintln!("warning: {e}; PgQuery calls fail until the database answers");
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_in_a_connection_string_is_seen() {
        for with in [
            "postgresql://reader:pw@127.0.0.1:5432/db",
            "postgres://127.0.0.1/db?user=reader&password=pw",
            "host=127.0.0.1 user=reader password=pw",
        ] {
            assert!(super::holds_password(with), "{with}");
        }
        for without in [
            "postgresql://reader@127.0.0.1:5432/db",
            "postgresql://127.0.0.1:5432/db",
            "host=/run/postgresql user=reader",
        ] {
            assert!(!super::holds_password(without), "{without}");
        }
    }
}

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The guides' Rust examples, compiled and run as doc tests (here, where every feature
/// of `fastflight` the guides speak of is on).
#[cfg(doctest)]
pub mod guides {
    #[doc = include_str!("../../docs/services.md")]
    pub struct Services;
    #[doc = include_str!("../../docs/demo.md")]
    pub struct Demo;
    #[doc = include_str!("../../docs/postgres.md")]
    pub struct Postgres;
    #[doc = include_str!("../../docs/cli.md")]
    pub struct Cli;
    #[doc = include_str!("../../docs/security.md")]
    pub struct Security;
    #[doc = include_str!("../../docs/deployment.md")]
    pub struct Deployment;
    #[doc = include_str!("../../docs/operations.md")]
    pub struct Operations;
    #[doc = include_str!("../../docs/gateway.md")]
    pub struct Gateway;
    #[doc = include_str!("../../docs/python.md")]
    pub struct Python;
}

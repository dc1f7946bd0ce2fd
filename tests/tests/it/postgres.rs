//! The PostgreSQL source against a real server: a throw-away cluster (`pg_cluster.rs`)
//! shared by the tests running at the same time, read by a read-only role.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use fastflight::arrow::array::{Array, AsArray, RecordBatch};
use fastflight::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use fastflight::sources::postgres::PgPool;
use fastflight::sources::range::RangePart;
use futures::{StreamExt, TryStreamExt};
use tonic::Code;

use crate::pg_cluster::PgCluster;

const SETUP: &str = r#"
CREATE ROLE reader LOGIN;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS int4 CHECK (VALUE > 0);
CREATE TABLE kinds (
    id int8 PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
    n numeric, n2 numeric(10, 2), t text, v varchar(20), c char(3), j json, jb jsonb,
    by bytea, u uuid, d date, tm time, ts timestamp, tz timestamptz, m mood, p positive
);
INSERT INTO kinds VALUES
    (1, true, -2, 40000, 9000000000, 1.5, -2.25, 123456789.000100, -12.34, 'héllo', 'vc', 'ab',
     '{"a": 1}', '{"b": [2]}', '\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     '2024-02-29', '13:45:30.25', '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.5+02',
     'happy', 7),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (3, false, 0, 0, 0, 0, 0, 'NaN', 0, '', '', '', 'null', 'null', '', '00000000-0000-0000-0000-000000000000',
     '1970-01-01', '00:00', '1999-12-31 23:59:59', '1970-01-01 00:00:00+00', 'sad', 1);
CREATE TABLE trades AS
    SELECT g::int8 AS id, (g % 100)::int4 AS qty, g * 0.5::float8 AS price,
           'sym' || (g % 7) AS symbol,
           CASE WHEN g % 10 = 0 THEN NULL ELSE g END::int8 AS sometimes
    FROM generate_series(1, 200000) g;
CREATE TABLE secrets (x int);
GRANT SELECT ON kinds, trades TO reader;
"#;

/// The cluster of the tests running now: started by the first, stopped after the last.
fn cluster() -> Arc<PgCluster> {
    static SHARED: Mutex<Weak<PgCluster>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(cluster) = shared.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(PgCluster::start(SETUP));
    *shared = Arc::downgrade(&cluster);
    cluster
}

/// A demo server whose `PgQuery` reads the cluster as the read-only role.
fn demo_over(cluster: &PgCluster) -> crate::support::DemoProcess {
    let url = cluster.url("reader");
    crate::support::DemoProcess::spawn(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
        ],
        &[("FASTFLIGHT_POSTGRES_URL", url.as_str())],
    )
}

async fn read(stream: fastflight::BatchStream) -> fastflight::Result<Vec<RecordBatch>> {
    stream.try_collect().await
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn sum_i64(batches: &[RecordBatch], column: usize) -> i64 {
    batches
        .iter()
        .flat_map(|b| b.column(column).as_primitive::<Int64Type>().iter())
        .flatten()
        .sum()
}

#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn types_map_to_arrow_and_nulls_stay_null() {
    let cluster = cluster();
    let pool = PgPool::connect(&cluster.url("reader")).unwrap();
    let sql = "SELECT * FROM kinds ORDER BY id";
    // COPY (no parameters) and a bound statement give the same batches.
    let copied = read(pool.stream(sql, vec![], 100)).await.unwrap();
    let bound = read(pool.stream(
        "SELECT * FROM kinds WHERE id >= $1 ORDER BY id",
        vec![0.into()],
        100,
    ))
    .await
    .unwrap();
    assert_eq!(copied, bound);
    let batch = &copied[0];
    assert_eq!(batch.num_rows(), 3);
    let types: Vec<DataType> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Int64,
            DataType::Boolean,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::Float32,
            DataType::Float64,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Binary,
            DataType::FixedSizeBinary(16),
            DataType::Date32,
            DataType::Time64(TimeUnit::Microsecond),
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            DataType::Utf8,
            DataType::Int32,
        ]
    );
    let col = |name: &str| batch.column_by_name(name).unwrap().clone();
    assert!(col("b").as_boolean().value(0));
    assert_eq!(col("i2").as_primitive::<Int16Type>().value(0), -2);
    assert_eq!(col("i4").as_primitive::<Int32Type>().value(0), 40000);
    assert_eq!(
        col("i8").as_primitive::<Int64Type>().value(0),
        9_000_000_000
    );
    assert_eq!(col("f4").as_primitive::<Float32Type>().value(0), 1.5);
    assert_eq!(col("f8").as_primitive::<Float64Type>().value(0), -2.25);
    assert_eq!(col("n").as_string::<i32>().value(0), "123456789.000100");
    assert_eq!(col("n").as_string::<i32>().value(2), "NaN");
    assert_eq!(col("n2").as_string::<i32>().value(0), "-12.34");
    assert_eq!(col("n2").as_string::<i32>().value(2), "0.00");
    assert_eq!(col("t").as_string::<i32>().value(0), "héllo");
    assert_eq!(col("t").as_string::<i32>().value(2), "");
    assert_eq!(col("c").as_string::<i32>().value(0), "ab ");
    assert_eq!(col("j").as_string::<i32>().value(0), r#"{"a": 1}"#);
    assert_eq!(col("jb").as_string::<i32>().value(0), r#"{"b": [2]}"#);
    assert_eq!(col("by").as_binary::<i32>().value(0), [0x00, 0xff, 0x10]);
    assert_eq!(
        col("u").as_fixed_size_binary().value(0),
        [
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11
        ]
    );
    // 2024-02-29 is day 19782 since 1970.
    assert_eq!(col("d").as_primitive::<Date32Type>().value(0), 19_782);
    assert_eq!(col("d").as_primitive::<Date32Type>().value(2), 0);
    assert_eq!(
        col("tm").as_primitive::<Time64MicrosecondType>().value(0),
        (13 * 3600 + 45 * 60 + 30) * 1_000_000 + 250_000
    );
    assert_eq!(
        col("ts")
            .as_primitive::<TimestampMicrosecondType>()
            .value(0),
        1_709_214_330_123_456
    );
    assert_eq!(
        col("ts")
            .as_primitive::<TimestampMicrosecondType>()
            .value(2),
        946_684_799_000_000
    );
    // 13:45:30.5 at +02 is 11:45:30.5 UTC.
    assert_eq!(
        col("tz")
            .as_primitive::<TimestampMicrosecondType>()
            .value(0),
        1_709_207_130_500_000
    );
    assert_eq!(col("m").as_string::<i32>().value(0), "happy");
    assert_eq!(col("p").as_primitive::<Int32Type>().value(0), 7);
    // Row 2 is NULL in every column but its id.
    for (i, column) in batch.columns().iter().enumerate().skip(1) {
        assert!(column.is_null(1), "column {i}");
        assert!(!column.is_null(0), "column {i}");
    }
}

#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn zero_rows_keep_their_schema_and_batches_are_bounded() {
    let cluster = cluster();
    let pool = PgPool::connect(&cluster.url("reader")).unwrap();
    let empty = read(pool.stream("SELECT id, t, tz FROM kinds WHERE false", vec![], 10))
        .await
        .unwrap();
    assert_eq!(empty.len(), 1);
    assert_eq!(empty[0].num_rows(), 0);
    let names: Vec<&str> = empty[0]
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["id", "t", "tz"]);

    // By rows.
    let batches = read(pool.stream("SELECT id, price FROM trades ORDER BY id", vec![], 30_000))
        .await
        .unwrap();
    let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(
        sizes,
        [30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 20_000]
    );
    assert_eq!(sum_i64(&batches, 0), 200_000 * 200_001 / 2);
    // A batch_size past the bound is cut to it, not refused or trusted.
    let huge = read(pool.stream("SELECT id FROM trades", vec![], usize::MAX))
        .await
        .unwrap();
    assert_eq!(rows(&huge), 200_000);

    // By bytes: 16-byte rows (two int8) in batches of about 64 kB.
    let small = pool.clone().max_batch_bytes(64 * 1024);
    let batches = read(small.stream("SELECT id, qty::int8 FROM trades", vec![], 1_000_000))
        .await
        .unwrap();
    assert_eq!(rows(&batches), 200_000);
    assert!(batches.len() >= 40, "{} batches", batches.len());
    assert!(batches.iter().all(|b| b.num_rows() <= 64 * 1024 / 16 + 1));
    // A value larger than the bound is refused, naming row and column.
    let e = read(small.stream(
        "SELECT id, repeat('x', 100000) AS big FROM trades WHERE id <= 3",
        vec![],
        10,
    ))
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    assert!(e.to_string().contains("row 1, column `big`"), "{e}");
}

#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn statements_only_read_whatever_they_try() {
    let cluster = cluster();
    // Even a superuser's connection reads only: every statement runs in a read-only
    // transaction, ended after it.
    let pool = PgPool::connect(&cluster.url("postgres"))
        .unwrap()
        .allow_privileged(true);
    let before = cluster.psql("SELECT count(*) FROM trades");
    let writes = [
        "INSERT INTO trades (id) VALUES (-1) RETURNING id",
        "DELETE FROM trades RETURNING id",
        "WITH d AS (DELETE FROM trades RETURNING id) SELECT count(*) FROM d",
        "SELECT set_config('transaction_read_only', 'off', true)",
    ];
    for sql in writes {
        let e = read(pool.stream(sql, vec![], 10)).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{sql}: {e}");
    }
    // A session setting does not outlive its statement's transaction.
    read(pool.stream(
        "SELECT set_config('default_transaction_read_only', 'off', false)",
        vec![],
        10,
    ))
    .await
    .unwrap();
    let e = read(pool.stream(
        "INSERT INTO trades (id) VALUES (-1) RETURNING id",
        vec![],
        10,
    ))
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    // Nothing a statement takes in its session stays with the pooled connection.
    read(pool.stream("SELECT 1 AS one FROM pg_advisory_lock(42)", vec![], 10))
        .await
        .unwrap();
    assert_eq!(
        cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
        "0"
    );
    // No way out of the COPY around a query, and one statement only.
    let file = cluster.socket_dir().join("escaped.txt");
    let escapes = [
        format!("SELECT 1) TO '{}' --", file.display()),
        format!("SELECT 1) TO '{}' (FORMAT csv); SELECT (1", file.display()),
        "SELECT 1; DELETE FROM trades".to_owned(),
        "SELECT 1;".to_owned(),
    ];
    for sql in &escapes {
        let e = read(pool.stream(sql, vec![], 10)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{sql}: {e}");
    }
    assert!(!file.exists(), "COPY wrote a file");
    assert_eq!(cluster.psql("SELECT count(*) FROM trades"), before);

    // A role without the grant is told so.
    let reader = PgPool::connect(&cluster.url("reader")).unwrap();
    let e = read(reader.stream("SELECT * FROM secrets", vec![], 10))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    assert!(e.to_string().contains("secrets"), "{e}");
    // A type without an Arrow mapping is named with its column, before any row.
    let e = read(reader.stream("SELECT id, interval '1 day' AS span FROM kinds", vec![], 10))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    assert!(
        e.to_string().contains("column `span` has type `interval`"),
        "{e}"
    );
    // Bad SQL names the statement.
    let e = read(reader.stream("SELEC 1", vec![], 10))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    assert!(e.to_string().contains("SELEC 1"), "{e}");
}

#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn parameters_are_bound_not_spliced_and_checked_by_position() {
    let cluster = cluster();
    let pool = PgPool::connect(&cluster.url("reader")).unwrap();
    let count =
        |batches: Vec<RecordBatch>| batches[0].column(0).as_primitive::<Int64Type>().value(0);
    let sql = "SELECT count(*) FROM trades WHERE symbol = $1";
    let injected = read(pool.stream(sql, vec!["sym1' OR '1'='1".into()], 10))
        .await
        .unwrap();
    assert_eq!(count(injected), 0);
    let honest = read(pool.stream(sql, vec!["sym1".into()], 10))
        .await
        .unwrap();
    assert_eq!(count(honest), 200_000 / 7 + 1);
    let typed = read(pool.stream(
        "SELECT count(*) FROM trades WHERE qty = $1 AND price > $2 AND $3::bool AND $4::int2 = 3 AND $5::text IS NULL",
        vec![5.into(), 1000.5.into(), true.into(), 3.into(), serde_json::Value::Null],
        10,
    ))
    .await
    .unwrap();
    assert_eq!(
        count(typed),
        (2000..=200_000).filter(|g| g % 100 == 5).count() as i64
    );

    let bad = [
        (
            vec![serde_json::json!({"a": 1})],
            "field `params[0]`: arrays and objects",
        ),
        (
            vec!["five".into()],
            "field `params[0]`: a JSON string does not fit",
        ),
        (vec![1.5.into()], "field `params[0]`: not an integer"),
        (
            vec![5_000_000_000_i64.into()],
            "field `params[0]`: out of the range of int4",
        ),
        (vec![], "the statement takes 1 parameters, 0 given"),
        (
            vec![1.into(), 2.into()],
            "the statement takes 1 parameters, 2 given",
        ),
    ];
    for (params, expected) in bad {
        let e = read(pool.stream("SELECT id FROM trades WHERE qty = $1", params, 10))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.to_string().contains(expected), "{expected}: {e}");
    }
    let e = read(pool.stream("SELECT $1::int4", vec![1.into(); 1025], 10))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at most 1024 parameters"), "{e}");
}

#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn slow_statements_end_at_their_time_limit_and_dropped_ones_are_cancelled() {
    let cluster = cluster();
    let pool = PgPool::connect(&cluster.url("reader"))
        .unwrap()
        .statement_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        read(pool.stream("SELECT 1 AS one FROM pg_sleep(20)", vec![], 10)),
    )
    .await
    .expect("the time limit ends the statement")
    .unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e}");
    assert!(e.to_string().contains("statement_timeout"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A stream dropped midway: its statement stops on the server within a second.
    let pool = PgPool::connect(&cluster.url("reader")).unwrap();
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%fastflight-cancel-probe%' AND pid <> pg_backend_pid()";
    let mut stream = pool.stream(
        "SELECT g /* fastflight-cancel-probe */ FROM generate_series(1, 100000) g, LATERAL pg_sleep(0.01)",
        vec![],
        10,
    );
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the first batch comes");
    assert_eq!(first.unwrap().unwrap().num_rows(), 10);
    assert_eq!(
        cluster.psql(running),
        "1",
        "the statement runs while its stream lives"
    );
    drop(stream);
    let dropped = Instant::now();
    loop {
        if cluster.psql(running) == "0" {
            break;
        }
        assert!(
            dropped.elapsed() < Duration::from_secs(2),
            "the statement still runs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "the statement ended {:?} after its stream was dropped",
        dropped.elapsed()
    );
    // The pool serves on.
    let rows = read(pool.stream("SELECT 1 AS one", vec![], 10))
        .await
        .unwrap();
    assert_eq!(rows[0].num_rows(), 1);
}

#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn parts_by_ranges_of_a_column_add_up_to_the_whole() {
    let cluster = cluster();
    let pool = PgPool::connect(&cluster.url("reader")).unwrap();
    let sql = "SELECT id, sometimes FROM trades";
    let whole = read(pool.stream(sql, vec![], 50_000)).await.unwrap();
    assert_eq!(rows(&whole), 200_000);
    for column in ["id", "sometimes"] {
        let mut parts = Vec::new();
        for i in 0..3 {
            let part = RangePart::new(column, i, 3).unwrap();
            parts.extend(
                read(pool.stream_part(sql, vec![], &part, 50_000))
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(rows(&parts), 200_000, "{column}");
        assert_eq!(sum_i64(&parts, 0), sum_i64(&whole, 0), "{column}");
        // Merged in one result, over several connections at once.
        let merged = read(
            pool.stream_partitioned(sql, vec![], column, 4, 50_000)
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(rows(&merged), 200_000, "{column}");
        assert_eq!(sum_i64(&merged, 1), sum_i64(&whole, 1), "{column}");
    }
    // With parameters, the parts are bound statements; their union is the whole still.
    let sql = "SELECT id FROM trades WHERE qty < $1";
    let whole = read(pool.stream(sql, vec![50.into()], 50_000))
        .await
        .unwrap();
    let merged = read(
        pool.stream_partitioned(sql, vec![50.into()], "id", 3, 50_000)
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        (rows(&merged), sum_i64(&merged, 0)),
        (rows(&whole), sum_i64(&whole, 0))
    );
    // Not on an integer column.
    let e = read(
        pool.stream_partitioned("SELECT symbol FROM trades", vec![], "symbol", 2, 10)
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("column `symbol` holds Utf8 values, not integers"),
        "{e}"
    );
}

#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn the_demo_serves_pg_query_and_says_how_to_configure_it() {
    use fastflight_demo_api::{PgQuery, RangeSplit};
    let cluster = cluster();
    let server = demo_over(&cluster);
    let client = fastflight::Client::connect(&server.location).await.unwrap();
    let query = "SELECT id, price, symbol FROM trades ORDER BY id";
    let whole = client
        .fetch(PgQuery::new(query))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(rows(&whole), 200_000);
    let split = PgQuery {
        split: RangeSplit::on("id", 2),
        ..PgQuery::new(query)
    };
    let info = client.flight_info(&split).await.unwrap();
    assert_eq!(info.endpoint.len(), 2);
    let parts = client.fetch(split).await.unwrap().collect().await.unwrap();
    assert_eq!(rows(&parts), 200_000);
    assert_eq!(sum_i64(&parts, 0), sum_i64(&whole, 0));
    drop(server);

    let plain = crate::support::DemoProcess::start();
    let client = fastflight::Client::connect(&plain.location).await.unwrap();
    let e = async {
        client
            .fetch(PgQuery::new("SELECT 1"))
            .await?
            .collect()
            .await
    }
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e}");
    assert!(e.to_string().contains("--postgres-url"), "{e}");
}

/// One client holds at most half the pool (four of eight connections): its fifth query,
/// while four endless ones stall unread, is refused naming its share, and another
/// client's query runs meanwhile.
#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn one_client_holds_at_most_half_the_postgres_pool() {
    use fastflight_demo_api::PgQuery;
    let cluster = cluster();
    let server = demo_over(&cluster);
    // In the select list the series streams (in FROM it would be made whole first).
    let endless = PgQuery {
        batch_size: Some(1000),
        ..PgQuery::new("SELECT generate_series(1, 1000000000) AS g, repeat('x', 200) AS pad")
    };
    let mut held = Vec::new();
    for _ in 0..4 {
        // Each on a connection of its own: an unread stream holds its connection's window.
        let greedy = crate::support::client_from(&server.location, "127.0.0.1").await;
        held.push(greedy.fetch(endless.clone()).await.unwrap());
    }
    let greedy = crate::support::client_from(&server.location, "127.0.0.1").await;
    let e = async {
        greedy
            .fetch(PgQuery::new("SELECT 1 AS one"))
            .await?
            .collect()
            .await
    }
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    assert!(
        e.to_string()
            .contains("4 of the 8 pooled PostgreSQL connections"),
        "{e}"
    );
    let other = crate::support::client_from(&server.location, "127.0.0.2").await;
    let rows = other
        .fetch(PgQuery::new("SELECT id FROM trades WHERE id <= 10"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(self::rows(&rows), 10);
    // The four statements run on the server until their streams go; then they stop.
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 1000000000)%' AND pid <> pg_backend_pid()";
    assert_eq!(cluster.psql(running), "4");
    drop(held);
    let dropped = Instant::now();
    while cluster.psql(running) != "0" {
        assert!(
            dropped.elapsed() < Duration::from_secs(5),
            "the statements still run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A statement cancelled by another session (`pg_cancel_backend`, as any session of the
/// same role may) is told so, not that it ran past its time limit.
#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn a_statement_cancelled_by_another_session_is_told_the_truth() {
    let cluster = cluster();
    let pool = PgPool::connect(&cluster.url("reader")).unwrap();
    let victim = tokio::spawn(read(pool.stream(
        "SELECT 1 AS one FROM pg_sleep(30) -- the victim",
        vec![],
        10,
    )));
    // The victim's backend, found and cancelled from another session.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let cancelled = cluster.psql(
            "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity \
             WHERE query LIKE '%the victim%' AND query NOT LIKE '%pg_stat_activity%'",
        );
        if cancelled == "1" {
            break;
        }
        assert!(Instant::now() < deadline, "the victim never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let e = tokio::time::timeout(Duration::from_secs(10), victim)
        .await
        .expect("the cancelled statement ends")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), Code::Aborted, "{e}");
    assert!(
        e.to_string()
            .contains("cancelled by the PostgreSQL server, not by its time limit"),
        "{e}"
    );
    assert!(!e.to_string().contains("statement_timeout"), "{e}");
}

/// A role with rights over the server (here a superuser's) is refused when the pool
/// opens a connection, and the demo refuses to start with it, naming the rights and
/// the option, unless `--postgres-allow-privileged` says so.
#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn a_privileged_role_is_refused_unless_allowed() {
    let cluster = cluster();
    let superuser = PgPool::connect(&cluster.url("postgres")).unwrap();
    let e = superuser.check().await.unwrap_err();
    assert!(
        e.to_string().contains("SUPERUSER") && e.to_string().contains("allow_privileged"),
        "{e}"
    );
    let e = read(superuser.stream("SELECT 1 AS one", vec![], 10))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("SUPERUSER"), "{e}");
    PgPool::connect(&cluster.url("reader"))
        .unwrap()
        .check()
        .await
        .unwrap();
    // Through a role it is a member of (which SET ROLE would take on) just the same.
    cluster.psql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sneaky') THEN \
         CREATE ROLE sneaky LOGIN; GRANT pg_signal_backend TO sneaky; GRANT postgres TO sneaky; \
         END IF; END $$",
    );
    let e = PgPool::connect(&cluster.url("sneaky"))
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("SUPERUSER") && e.to_string().contains("pg_signal_backend"),
        "{e}"
    );

    use crate::support::BoundedOutput;
    let out = std::process::Command::new(crate::support::demo_binary())
        .args([
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
        ])
        .env("FASTFLIGHT_POSTGRES_URL", cluster.url("postgres"))
        .env("FASTFLIGHT_DATA_DIR", crate::support::demo_data_dir())
        .bounded_output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SUPERUSER") && stderr.contains("--postgres-allow-privileged"),
        "{stderr}"
    );
    let allowed = crate::support::DemoProcess::spawn(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--postgres-allow-privileged",
        ],
        &[("FASTFLIGHT_POSTGRES_URL", &cluster.url("postgres"))],
    );
    let client = fastflight::Client::connect(&allowed.location)
        .await
        .unwrap();
    let ticket = r#"{"param_type": "fastflight.demo.PgQuery", "query": "SELECT 1 AS one"}"#;
    assert_eq!(
        crate::support::rows_of(client.fetch_ticket(ticket).await).await,
        1
    );
}

/// On a server that authenticates its callers, the services that run a caller's SQL
/// (`SqlQuery`, `PgQuery`) need the role `sql`: a caller without it is refused and
/// does not see them listed; on a server without authentication they stay open. The
/// URL may come from a file, and one with a password on the command line is warned of.
#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "PostgreSQL is not installed: apt-get install -y postgresql"
)]
async fn arbitrary_sql_needs_the_sql_role_when_callers_are_known() {
    let cluster = cluster();
    let scratch = crate::support::scratch_dir("pg-roles");
    let dir = scratch.path();
    let users = dir.join("users.txt");
    std::fs::write(&users, "ada:lovelace sql\nbob:builder\n").unwrap();
    let url_file = dir.join("pg.url");
    std::fs::write(&url_file, format!("{}\n", cluster.url("reader"))).unwrap();
    let server = crate::support::DemoProcess::spawn(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--auth-users",
            users.to_str().unwrap(),
            "--postgres-url-file",
            url_file.to_str().unwrap(),
        ],
        &[],
    );
    let pg =
        r#"{"param_type": "fastflight.demo.PgQuery", "query": "SELECT id FROM trades LIMIT 3"}"#;
    let lite = r#"{"param_type": "fastflight.demo.SqlQuery", "query": "SELECT 1 AS one"}"#;
    let as_user = |user: &'static str, password: &'static str| {
        let location = server.location.clone();
        async move {
            fastflight::Client::builder(&location)
                .basic(user, password)
                .connect()
                .await
                .unwrap()
        }
    };
    let ada = as_user("ada", "lovelace").await;
    assert_eq!(crate::support::rows_of(ada.fetch_ticket(pg).await).await, 3);
    assert_eq!(
        crate::support::rows_of(ada.fetch_ticket(lite).await).await,
        1
    );
    let bob = as_user("bob", "builder").await;
    for ticket in [pg, lite] {
        let e = bob.fetch_ticket(ticket).await.map(drop).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e}");
        assert!(e.to_string().contains("needs one of the roles sql"), "{e}");
    }
    let listed: Vec<String> = bob
        .list_services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(!listed.iter().any(|n| n.ends_with("Query")), "{listed:?}");
    // Without authentication, anyone.
    let open = demo_over(&cluster);
    let anyone = fastflight::Client::connect(&open.location).await.unwrap();
    assert_eq!(
        crate::support::rows_of(anyone.fetch_ticket(pg).await).await,
        3
    );

    // A password in the URL on the command line is warned of.
    let with_password = cluster.url("reader").replace("reader@", "reader:pw@");
    let log = dir.join("stderr.log");
    let warned = crate::support::DemoProcess::spawn_with_stderr(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--postgres-url",
            &with_password,
        ],
        &[],
        std::fs::File::create(&log).unwrap().into(),
    );
    drop(warned);
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("--postgres-url was given on the command line"),
        "{stderr}"
    );
}

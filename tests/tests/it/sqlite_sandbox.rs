//! The SQLite source as a sandbox: statements read the main database and nothing else,
//! values and batches are bounded, and a statement stops when nobody wants its rows.

use std::time::{Duration, Instant};

use fastflight::arrow::array::{Array, AsArray};
use fastflight::arrow::datatypes::{DataType, Int64Type};
use fastflight::sources::sqlite::SqlitePool;
use fastflight_demo_api::SqlQuery;
use futures::StreamExt;
use tonic::Code;

use crate::support::{client, start};

fn sql(query: &str) -> SqlQuery {
    SqlQuery {
        query: query.into(),
        params: Vec::new(),
        batch_size: None,
        ..Default::default()
    }
}

/// Reads a query's rows to the end, or its error.
async fn run(client: &fastflight::Client, query: &str) -> fastflight::Result<usize> {
    let mut stream = client.fetch(sql(query)).await?;
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch?.num_rows();
    }
    Ok(rows)
}

#[tokio::test]
async fn statements_read_the_main_database_and_nothing_else() {
    let server = start().await;
    let client = client(&server).await;
    let other = server.data_dir.join("fixture.sqlite");
    for (query, words) in [
        (
            format!("ATTACH DATABASE '{}' AS s", other.display()),
            "not allowed",
        ),
        ("PRAGMA case_sensitive_like=ON".to_owned(), "not allowed"),
        (
            "PRAGMA temp_store_directory='/tmp'".to_owned(),
            "not allowed",
        ),
        ("BEGIN".to_owned(), "not allowed"),
        (
            "SELECT * FROM pragma_table_info('kinds') JOIN (SELECT load_extension('x'))".to_owned(),
            "not allowed",
        ),
    ] {
        let e = run(&client, &query).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{query}: {e}");
        assert!(e.to_string().contains(words), "{query}: {e}");
    }
    // What was refused left nothing behind for the next client: no attached database,
    // and LIKE still folds case.
    let e = run(&client, "SELECT count(*) FROM s.kinds")
        .await
        .unwrap_err();
    assert_ne!(e.code(), Code::Ok);
    let batch = client
        .fetch(sql("SELECT 'ABC' LIKE 'abc' AS folded"))
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 1);
    // Read-only pragmas about the schema are allowed.
    assert!(run(&client, "PRAGMA table_info(kinds)").await.unwrap() > 0);
}

#[tokio::test]
async fn values_and_batches_are_bounded() {
    let server = start().await;
    let client = client(&server).await;
    // SQLite itself refuses to build a value above the limit ...
    let e = run(&client, "SELECT printf('%.*c', 100000000, 'x') AS big")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    assert!(e.to_string().contains("max_batch_bytes"), "{e}");
    let e = run(&client, "SELECT zeroblob(100000000) AS big")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    // ... and a huge batch size is bounded, not allocated.
    let batches = client
        .fetch(SqlQuery {
            query: "SELECT 1 AS one".into(),
            params: Vec::new(),
            batch_size: Some(1_000_000_000_000),
            ..Default::default()
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(batches.len(), 1);
    // Batches are cut by bytes too: 20 rows of 1 MB each at a 4 MiB limit, each batch
    // cut at the row that reaches the limit.
    let pool = SqlitePool::open_read_only(server.data_dir.join("fixture.sqlite"))
        .unwrap()
        .max_batch_bytes(4 * 1024 * 1024);
    let batches: Vec<_> = pool
        .stream(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 20) SELECT x, zeroblob(1000000) AS b FROM c",
            Vec::new(),
            1_000,
        )
        .collect()
        .await;
    let rows: Vec<usize> = batches
        .iter()
        .map(|b| b.as_ref().unwrap().num_rows())
        .collect();
    assert_eq!(rows.iter().sum::<usize>(), 20);
    assert!(rows.len() >= 4, "{rows:?}");
    assert!(rows.iter().all(|r| *r <= 5), "{rows:?}");
}

#[tokio::test]
async fn a_null_first_value_does_not_decide_a_column_type() {
    let server = start().await;
    let client = client(&server).await;
    let batch = client
        .fetch(sql("SELECT NULL AS a UNION ALL SELECT 5"))
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(batch.column(0).data_type(), &DataType::Int64);
    let a = batch.column(0).as_primitive::<Int64Type>();
    assert!(a.is_null(0));
    assert_eq!(a.value(1), 5);
}

/// A query that produces no row for a long time.
const ENDLESS: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";

#[tokio::test]
async fn a_statement_stops_when_its_stream_is_dropped_or_its_time_is_up() {
    let server = start().await;
    let client = client(&server).await;
    // Twelve abandoned endless statements: more than the pool's eight connections.
    for _ in 0..12 {
        let call = client.fetch(sql(ENDLESS));
        let _ = tokio::time::timeout(Duration::from_millis(100), call).await;
    }
    // Each was interrupted and gave its connection back: a query is answered at once.
    let started = Instant::now();
    let rows = tokio::time::timeout(Duration::from_secs(10), run(&client, "SELECT 1"))
        .await
        .expect("a pooled connection is free")
        .unwrap();
    assert_eq!(rows, 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A pool with a short statement time limit ends the statement itself.
    let pool = SqlitePool::open_read_only(server.data_dir.join("fixture.sqlite"))
        .unwrap()
        .statement_timeout(Duration::from_millis(300));
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        let mut stream = pool.stream(ENDLESS, Vec::new(), 100);
        stream.next().await
    })
    .await
    .expect("the time limit ends the statement");
    let e = outcome.unwrap().unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e}");
    assert!(e.to_string().contains("statement_timeout"), "{e}");
}

/// One client holds at most half the SQLite pool (four of eight connections): its fifth
/// query, while four endless ones stall unread, is refused naming its share, and
/// another client's query runs meanwhile.
#[tokio::test]
async fn one_client_holds_at_most_half_the_sql_pool() {
    let server = start().await;
    let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x, randomblob(200) AS pad FROM c";
    // Each on a connection of its own: an unread stream holds its connection's window.
    let mut held = Vec::new();
    for _ in 0..4 {
        let greedy = crate::support::client_from(&server.location, "127.0.0.1").await;
        held.push(greedy.fetch(sql(endless)).await.unwrap());
    }
    let greedy = crate::support::client_from(&server.location, "127.0.0.1").await;
    let e = run(&greedy, "SELECT 1").await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    assert!(
        e.to_string()
            .contains("4 of the 8 pooled SQLite connections"),
        "{e}"
    );
    let other = crate::support::client_from(&server.location, "127.0.0.2").await;
    assert_eq!(run(&other, "SELECT * FROM kinds LIMIT 3").await.unwrap(), 3);
    // Once one of its queries ends, the client's share has room again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match run(&greedy, "SELECT 1").await {
            Ok(rows) => break assert_eq!(rows, 1),
            Err(e) if Instant::now() < deadline => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the share was not given back: {e}"),
        }
    }
}

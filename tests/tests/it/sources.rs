//! The SQLite, CSV and Parquet sources on real files made by the test (see `fixtures`),
//! through the demo's `SqlQuery`, `CsvFile` and `ParquetFile` services.

use fastflight::arrow::array::{Array, AsArray, RecordBatch};
use fastflight::arrow::compute::concat_batches;
use fastflight::arrow::datatypes::{DataType, Float64Type, Int64Type};
use fastflight_demo_api::{CsvFile, ParquetFile, SqlQuery};
use futures::StreamExt;
use serde_json::json;
use tonic::Code;

use crate::fixtures::{numbers, FILE_ROWS};
use crate::support::{client, start};

fn sql(query: &str, params: serde_json::Value, batch_size: Option<usize>) -> SqlQuery {
    SqlQuery {
        query: query.into(),
        params: serde_json::from_value(params).unwrap(),
        batch_size,
        ..Default::default()
    }
}

/// Column names and values equal (the files' schemas mark every column nullable).
fn assert_same(got: &RecordBatch, expected: &RecordBatch, what: &str) {
    let names = |b: &RecordBatch| -> Vec<String> {
        b.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    assert_eq!(names(got), names(expected), "{what}: columns");
    assert_eq!(got.columns(), expected.columns(), "{what}: values");
}

/// The data type of every column, in order.
fn column_types(batch: &RecordBatch) -> Vec<DataType> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}

async fn rows(client: &fastflight::Client, request: SqlQuery) -> RecordBatch {
    client.fetch(request).await.unwrap().concat().await.unwrap()
}

async fn refused(
    client: &fastflight::Client,
    request: impl fastflight::FlightRequest,
) -> fastflight::Error {
    match client.fetch(request).await {
        Ok(stream) => stream
            .collect()
            .await
            .expect_err("the request was answered"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn sqlite_storage_classes_map_to_arrow_types() {
    let server = start().await;
    let client = client(&server).await;
    let batch = rows(
        &client,
        sql(
            "SELECT i, r, t, b, n FROM kinds ORDER BY rowid",
            json!([]),
            None,
        ),
    )
    .await;
    assert_eq!(
        column_types(&batch),
        [
            DataType::Int64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Binary,
            DataType::Float64
        ]
    );
    assert_eq!(batch.num_rows(), 3);
    let i = batch.column(0).as_primitive::<Int64Type>();
    assert_eq!((i.value(0), i.is_null(1), i.value(2)), (1, true, -3));
    assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(0), 1.5);
    assert_eq!(batch.column(2).as_string::<i32>().value(2), "třetí");
    assert_eq!(batch.column(3).as_binary::<i32>().value(0), [0, 1]);
    let n = batch.column(4).as_primitive::<Float64Type>();
    assert_eq!(
        (n.value(0), n.value(2)),
        (10.0, 2.5),
        "NUMERIC holds integers and reals"
    );
    for column in batch.columns() {
        assert!(column.is_null(1), "the NULL row is null in every column");
    }
    // Expressions have no declared type: the first value decides.
    let batch = rows(
        &client,
        sql(
            "SELECT 1 + 1 AS two, 0.5 AS half, 'x' || 'y' AS xy, x'beef' AS blob, NULL AS void",
            json!([]),
            None,
        ),
    )
    .await;
    assert_eq!(
        column_types(&batch),
        [
            DataType::Int64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Binary,
            DataType::Utf8
        ]
    );
    assert!(batch.column(4).is_null(0));
}

#[tokio::test]
async fn sqlite_empty_results_keep_their_schema() {
    let server = start().await;
    let client = client(&server).await;
    let stream = client
        .fetch(sql("SELECT i, t FROM kinds WHERE i > 100", json!([]), None))
        .await
        .unwrap();
    let schema = stream.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["i", "t"]);
    assert_eq!(schema.field(0).data_type(), &DataType::Int64);
    assert_eq!(stream.concat().await.unwrap().num_rows(), 0);
}

#[tokio::test]
async fn sqlite_batches_have_the_requested_size() {
    let server = start().await;
    let client = client(&server).await;
    let batches = client
        .fetch(sql("SELECT x FROM ten ORDER BY x", json!([]), Some(3)))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let sizes: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, [3, 3, 3, 1]);
}

/// Five million generated rows stream through with the right count and checksum.
#[tokio::test]
async fn sqlite_streams_five_million_rows() {
    let server = start().await;
    let client = client(&server).await;
    let query = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s LIMIT 5000000) SELECT x, x % 7 AS m FROM s";
    let mut stream = client
        .fetch(sql(query, json!([]), Some(65_536)))
        .await
        .unwrap();
    let (mut count, mut sum, mut sum_m) = (0_i64, 0_i64, 0_i64);
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        count += batch.num_rows() as i64;
        sum += batch
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .sum::<i64>();
        sum_m += batch
            .column(1)
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .sum::<i64>();
    }
    let n = 5_000_000_i64;
    assert_eq!(count, n);
    assert_eq!(sum, n * (n + 1) / 2);
    assert_eq!(sum_m, (1..=n).map(|x| x % 7).sum::<i64>());
}

#[tokio::test]
async fn sqlite_parameters_are_bound_not_spliced() {
    let server = start().await;
    let client = client(&server).await;
    let query = "SELECT name, secret FROM people WHERE name = ?1";
    assert_eq!(
        rows(&client, sql(query, json!(["ada"]), None))
            .await
            .num_rows(),
        1
    );
    let injected = rows(&client, sql(query, json!(["x' OR '1'='1"]), None)).await;
    assert_eq!(
        injected.num_rows(),
        0,
        "the parameter is a value, never SQL"
    );
    let typed = rows(
        &client,
        sql(
            "SELECT ?1 AS a, ?2 AS b, ?3 AS c, ?4 AS d",
            json!([7, 2.5, true, null]),
            None,
        ),
    )
    .await;
    assert_eq!(typed.column(0).as_primitive::<Int64Type>().value(0), 7);
    assert_eq!(typed.column(1).as_primitive::<Float64Type>().value(0), 2.5);
    assert_eq!(typed.column(2).as_primitive::<Int64Type>().value(0), 1);
    let e = refused(&client, sql(query, json!([["ada"]]), None)).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.to_string().contains("params[0]"), "{e}");
    let e = refused(&client, sql(query, json!([]), None)).await;
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
}

#[tokio::test]
async fn sqlite_refuses_writes_and_leaves_the_database_unchanged() {
    let server = start().await;
    let client = client(&server).await;
    for statement in [
        "INSERT INTO people VALUES ('mallory', 'x')",
        "DELETE FROM people",
        "DROP TABLE people",
        "UPDATE people SET secret = 'gone'",
        "CREATE TABLE evil (x)",
        "WITH x AS (SELECT 1) INSERT INTO people SELECT 'eve', 'y' FROM x",
    ] {
        let e = refused(&client, sql(statement, json!([]), None)).await;
        assert_eq!(e.code(), Code::PermissionDenied, "{statement}: {e}");
        assert!(e.to_string().contains("read-only"), "{statement}: {e}");
    }
    let people = rows(
        &client,
        sql(
            "SELECT name, secret FROM people ORDER BY name",
            json!([]),
            None,
        ),
    )
    .await;
    assert_eq!(people.num_rows(), 2);
    assert_eq!(people.column(1).as_string::<i32>().value(0), "s1");
    // And directly on the file, with a writable connection of the test's own.
    let conn = fastflight::sources::sqlite::rusqlite::Connection::open(
        server.data_dir.join("fixture.sqlite"),
    )
    .unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 4);
}

#[tokio::test]
async fn sqlite_errors_name_row_and_column_and_the_server_serves_on() {
    let server = start().await;
    let client = client(&server).await;
    let e = refused(
        &client,
        sql("SELECT v FROM mixed ORDER BY rowid", json!([]), None),
    )
    .await;
    assert_eq!(e.code(), Code::FailedPrecondition, "{e}");
    assert!(
        e.to_string()
            .contains("row 3, column `v`: a TEXT value does not fit"),
        "{e}"
    );
    let e = refused(&client, sql("SELEC nonsense", json!([]), None)).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.to_string().contains("syntax error"), "{e}");
    let e = refused(&client, sql("SELECT * FROM no_such_table", json!([]), None)).await;
    assert!(e.to_string().contains("no such table"), "{e}");
    assert_eq!(
        rows(&client, sql("SELECT 1 AS one", json!([]), None))
            .await
            .num_rows(),
        1
    );
}

fn csv(path: &str) -> CsvFile {
    CsvFile {
        path: path.into(),
        columns: None,
        limit: None,
        batch_size: None,
    }
}

fn parquet(path: &str) -> ParquetFile {
    ParquetFile {
        path: path.into(),
        columns: None,
        limit: None,
        batch_size: None,
    }
}

#[tokio::test]
async fn csv_and_parquet_read_back_what_was_written() {
    let server = start().await;
    let client = client(&server).await;
    let expected = numbers(FILE_ROWS);
    let from_csv = client
        .fetch(csv("numbers.csv"))
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_same(&from_csv, &expected, "csv");
    let from_parquet = client
        .fetch(parquet("numbers.parquet"))
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_same(&from_parquet, &expected, "parquet");
    let linked = client
        .fetch(csv("sub/link_in.csv"))
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_same(
        &linked,
        &expected,
        "a link that stays inside the root is followed",
    );
}

#[tokio::test]
async fn projection_limit_and_batch_size() {
    let server = start().await;
    let client = client(&server).await;
    let columns = Some(vec!["label".to_owned(), "id".to_owned()]);
    let expected = numbers(FILE_ROWS).project(&[2, 0]).unwrap();
    for (name, batches) in [
        (
            "csv",
            client
                .fetch(CsvFile {
                    columns: columns.clone(),
                    limit: Some(250),
                    batch_size: Some(100),
                    ..csv("numbers.csv")
                })
                .await
                .unwrap()
                .collect()
                .await
                .unwrap(),
        ),
        (
            "parquet",
            client
                .fetch(ParquetFile {
                    columns: columns.clone(),
                    limit: Some(250),
                    batch_size: Some(100),
                    ..parquet("numbers.parquet")
                })
                .await
                .unwrap()
                .collect()
                .await
                .unwrap(),
        ),
    ] {
        let sizes: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
        assert_eq!(sizes, [100, 100, 50], "{name}");
        let all = concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_same(&all, &expected.slice(0, 250), name);
    }
    let e = refused(
        &client,
        CsvFile {
            columns: Some(vec!["nope".into()]),
            ..csv("numbers.csv")
        },
    )
    .await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.to_string().contains("no column `nope`") && e.to_string().contains("id, half, label"),
        "{e}"
    );
    let e = refused(
        &client,
        ParquetFile {
            columns: Some(vec!["nope".into()]),
            ..parquet("numbers.parquet")
        },
    )
    .await;
    assert!(e.to_string().contains("no column `nope`"), "{e}");
    let empty = client.fetch(csv("sub/empty.csv")).await.unwrap();
    assert_eq!(
        empty.schema().fields().len(),
        3,
        "a header-only CSV keeps its columns"
    );
    assert_eq!(empty.concat().await.unwrap().num_rows(), 0);
}

#[tokio::test]
async fn paths_that_escape_the_root_are_refused() {
    let server = start().await;
    let client = client(&server).await;
    for path in [
        "../secret.csv",
        "sub/../../secret.csv",
        "/etc/passwd",
        "link_out.csv",
        "sub/link_abs.csv",
    ] {
        let e = refused(&client, csv(path)).await;
        assert_eq!(e.code(), Code::PermissionDenied, "{path}: {e}");
        assert!(
            !e.to_string().contains("hunter2"),
            "{path}: the file was read"
        );
        let e = refused(&client, parquet(path)).await;
        assert_eq!(e.code(), Code::PermissionDenied, "{path}: {e}");
    }
}

#[tokio::test]
async fn missing_and_corrupt_files_give_clear_errors() {
    let server = start().await;
    let client = client(&server).await;
    let e = refused(&client, parquet("missing.parquet")).await;
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.to_string().contains("no file `missing.parquet`"), "{e}");
    let e = refused(&client, parquet("corrupt.parquet")).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.to_string()
            .contains("cannot read `corrupt.parquet` as Parquet"),
        "{e}"
    );
    let e = refused(&client, csv("sub")).await;
    assert_eq!(
        e.code(),
        Code::InvalidArgument,
        "a directory is not a file: {e}"
    );
    // Still serving.
    let batch = client
        .fetch(parquet("numbers.parquet"))
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(batch.num_rows(), FILE_ROWS as usize);
}

/// A file flipped between a regular file and a link to a file outside the root, while
/// requests read it: every answer is the inside file or a refusal, never the outside one.
#[cfg(unix)]
#[tokio::test]
async fn a_file_swapped_for_a_link_out_is_never_read_outside() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let server = start().await;
    let client = client(&server).await;
    let inside = server.data_dir.join("flip.csv");
    let outside = server.data_dir.parent().unwrap().join("secret.csv");
    std::fs::write(&inside, "inside\nsafe\n").unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flipper = {
        let stop = std::sync::Arc::clone(&stop);
        let (inside, outside) = (inside.clone(), outside.clone());
        let staged = inside.with_extension("staged");
        std::thread::spawn(move || {
            let mut flips = 0_u64;
            while !stop.load(Ordering::SeqCst) && flips < 1_000_000 {
                let _ = std::fs::remove_file(&staged);
                if flips.is_multiple_of(2) {
                    let _ = std::os::unix::fs::symlink(&outside, &staged);
                } else {
                    let _ = std::fs::write(&staged, "inside\nsafe\n");
                }
                let _ = std::fs::rename(&staged, &inside);
                flips += 1;
            }
            flips
        })
    };
    let (mut read_inside, mut refused_count) = (0, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for _ in 0..600 {
        if std::time::Instant::now() > deadline {
            break;
        }
        let outcome = async { client.fetch(csv("flip.csv")).await?.concat().await }.await;
        match outcome {
            Ok(batch) => {
                let text = format!("{batch:?}");
                assert!(
                    !text.contains("hunter2"),
                    "the file outside was read: {text}"
                );
                read_inside += 1;
            }
            Err(e) => {
                assert!(!e.to_string().contains("hunter2"), "{e}");
                refused_count += 1;
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    let flips = flipper.join().unwrap();
    assert!(flips > 100, "the file was flipped {flips} times only");
    assert!(
        read_inside > 0 && refused_count > 0,
        "inside {read_inside}, refused {refused_count}"
    );
}

#[tokio::test]
async fn bad_paths_and_unbounded_requests_are_refused_by_name() {
    let server = start().await;
    let client = client(&server).await;
    for (path, words) in [
        ("numbers\0.csv".to_owned(), "NUL byte"),
        ("a/".repeat(3000), "longer than 4096 bytes"),
    ] {
        let e = refused(&client, csv(&path)).await;
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.to_string().contains(words), "{e}");
    }
    // A first line that never ends is refused, not read whole.
    std::fs::write(
        server.data_dir.join("endless.csv"),
        vec![b'x'; 17 * 1024 * 1024],
    )
    .unwrap();
    let e = refused(&client, csv("endless.csv")).await;
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    assert!(e.to_string().contains("first line"), "{e}");
    // Batch sizes far beyond any sense are bounded, not allocated.
    for batch_size in [1_000_000_000_000_usize, 1 << 62, usize::MAX] {
        let csv = client.fetch(CsvFile {
            path: "numbers.csv".into(),
            columns: None,
            limit: Some(5),
            batch_size: Some(batch_size),
        });
        assert_eq!(
            crate::support::rows_of(csv.await).await,
            5,
            "batch_size {batch_size}"
        );
        let parquet = client.fetch(ParquetFile {
            path: "numbers.parquet".into(),
            columns: None,
            limit: None,
            batch_size: Some(batch_size),
        });
        assert_eq!(
            crate::support::rows_of(parquet.await).await,
            FILE_ROWS as usize,
            "batch_size {batch_size}"
        );
    }
}

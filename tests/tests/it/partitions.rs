//! Partitioned requests over several servers: three demo processes that know each
//! other (`--peers`) answer GetFlightInfo with one endpoint per part, spread over the
//! three with a fallback each; our client, `call` and pyarrow read the same rows as one
//! server gives, and a server killed mid-read costs no row.

use crate::support::BoundedOutput;
use std::collections::BTreeSet;

use fastflight::arrow::array::AsArray;
use fastflight::arrow::datatypes::{Float64Type, Int64Type};
use fastflight::arrow::record_batch::RecordBatch;
use fastflight_demo_api::SyntheticParams;
use futures::StreamExt;

use crate::support::DemoProcess;

/// Three demo servers, each with the other two as peers (told their ports before they
/// start: again on other ports if one was taken meanwhile).
fn three_servers() -> Vec<DemoProcess> {
    let location = |p: u16| format!("grpc://127.0.0.1:{p}");
    crate::support::on_free_ports(3, |ports| {
        ports
            .iter()
            .map(|&port| {
                let peers: Vec<String> = ports
                    .iter()
                    .filter(|&&p| p != port)
                    .map(|&p| location(p))
                    .collect();
                DemoProcess::try_spawn(
                    &[
                        "start-flight-server",
                        "--flight-location",
                        &location(port),
                        "--peers",
                        &peers.join(","),
                    ],
                    &[],
                )
            })
            .collect()
    })
}

fn synthetic(rows: u64, partitions: u32) -> SyntheticParams {
    SyntheticParams {
        rows,
        batch_size: 50_000,
        seed: Some(7),
        partitions,
        start: 0,
    }
}

/// The batches of a request, read to the end.
async fn read(client: &fastflight::Client, request: SyntheticParams) -> Vec<RecordBatch> {
    client
        .fetch(request)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
}

/// Same rows, ids and values (to rounding) as `expected`.
fn assert_same(got: (usize, i64, f64, usize), expected: (usize, i64, f64, usize)) {
    assert_eq!((got.0, got.1, got.3), (expected.0, expected.1, expected.3));
    assert!(
        (got.2 - expected.2).abs() < 1e-6 * expected.2.abs(),
        "{} vs {}",
        got.2,
        expected.2
    );
}

/// Rows, the sum of ids, the sum of values and the number of distinct ids.
fn figures(batches: &[RecordBatch]) -> (usize, i64, f64, usize) {
    let mut ids = BTreeSet::new();
    let (mut id_sum, mut value_sum) = (0_i64, 0_f64);
    for batch in batches {
        for id in batch.column(0).as_primitive::<Int64Type>().values() {
            id_sum += id;
            ids.insert(*id);
        }
        value_sum += batch
            .column(1)
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .sum::<f64>();
    }
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    (rows, id_sum, value_sum, ids.len())
}

#[tokio::test]
async fn a_partitioned_read_over_three_servers_equals_one_servers_answer() {
    let servers = three_servers();
    let client = fastflight::Client::connect(&servers[0].location)
        .await
        .unwrap();
    let whole = read(&client, synthetic(3_000_000, 1)).await;
    let expected = figures(&whole);
    assert_eq!((expected.0, expected.3), (3_000_000, 3_000_000));

    let info = client.flight_info(&synthetic(3_000_000, 6)).await.unwrap();
    assert_eq!(info.endpoint.len(), 6);
    assert!(info.ordered);
    let primaries: BTreeSet<String> = info
        .endpoint
        .iter()
        .map(|e| e.location[0].uri.clone())
        .collect();
    let all: BTreeSet<String> = servers.iter().map(|s| s.location.clone()).collect();
    assert_eq!(
        primaries, all,
        "the parts are spread over the three servers"
    );
    assert!(info
        .endpoint
        .iter()
        .all(|e| e.location.len() == 2 && e.location[0] != e.location[1]));

    let spread = read(&client, synthetic(3_000_000, 6)).await;
    assert_same(figures(&spread), expected);
    // Ordered: ids ascend across the parts.
    let firsts: Vec<i64> = spread
        .iter()
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0))
        .collect();
    assert!(firsts.windows(2).all(|w| w[0] < w[1]));

    // `call` reads the parts too.
    let out = std::process::Command::new(crate::support::demo_binary())
        .args([
            "call",
            "--location",
            &servers[1].location,
            r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 3000000, "partitions": 6, "seed": 7}"#,
            "--format",
            "arrow",
            "--output",
            "/dev/null",
            "--stats",
        ])
        .bounded_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3000000 rows"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The name the peer test gives its servers: it must resolve to 127.0.0.2, 127.0.0.3 and
/// 127.0.0.4 (`.ci/run` writes these lines into `/etc/hosts`).
const PEER_NAME: &str = "peers.fastflight.test";

#[tokio::test]
#[cfg_attr(
    no_peer_name,
    ignore = "peers.fastflight.test does not resolve to 127.0.0.2-4: add `127.0.0.2 peers.fastflight.test` (and .3, .4) to /etc/hosts"
)]
async fn a_peer_named_by_dns_stands_for_every_address_it_resolves_to() {
    // One port on the three addresses: the servers share it, as replicas behind a
    // headless service do, so the one name with that port reaches each of them.
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let servers: Vec<DemoProcess> = crate::support::on_free_ports(1, |port| {
        let peers = format!("grpc://{PEER_NAME}:{}", port[0]);
        hosts
            .iter()
            .map(|host| {
                DemoProcess::try_spawn(
                    &[
                        "start-flight-server",
                        "--flight-location",
                        &format!("grpc://{host}:{}", port[0]),
                        "--peers",
                        &peers,
                    ],
                    &[],
                )
            })
            .collect()
    });
    let all: BTreeSet<String> = servers.iter().map(|s| s.location.clone()).collect();
    assert_eq!(all.len(), 3);
    for server in &servers {
        let client = fastflight::Client::connect(&server.location).await.unwrap();
        let info = client.flight_info(&synthetic(300_000, 6)).await.unwrap();
        let primaries: BTreeSet<String> = info
            .endpoint
            .iter()
            .map(|e| e.location[0].uri.clone())
            .collect();
        assert_eq!(primaries, all, "asked at {}", server.location);
        // Each server is named once: its own address was left out of the name's.
        let named: BTreeSet<String> = info
            .endpoint
            .iter()
            .flat_map(|e| e.location.iter().map(|l| l.uri.clone()))
            .collect();
        assert_eq!(named, all);
        assert!(info
            .endpoint
            .iter()
            .all(|e| e.location.len() == 2 && e.location[0] != e.location[1]));
        let expected = figures(&read(&client, synthetic(300_000, 1)).await);
        assert_same(
            figures(&read(&client, synthetic(300_000, 6)).await),
            expected,
        );
    }
}

#[test]
#[cfg_attr(
    no_python_interop,
    ignore = "python3 cannot import pyarrow.flight and fastflight: python3 -m pip install pyarrow fastflight"
)]
fn pyarrow_reads_the_endpoints_of_a_partitioned_request() {
    let servers = three_servers();
    let report = crate::interop::run_script(
        "partitions.py",
        &[
            &servers[2].location,
            r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 300000, "partitions": 6}"#,
        ],
    );
    assert_eq!(report["endpoints"], 6);
    assert_eq!(report["rows"], 300_000);
    assert_eq!(report["id_sum"], 299_999_u64 * 300_000 / 2);
    assert_eq!(report["locations"].as_array().unwrap().len(), 3);
}

/// SIGKILL one of the three servers after the first batch of a partitioned read: its
/// parts are read again from their fallback locations, and the rows are exactly those
/// of an undisturbed read.
#[tokio::test]
async fn a_server_killed_mid_read_costs_no_row() {
    let mut servers = three_servers();
    let request = || SyntheticParams {
        batch_size: 20_000,
        ..synthetic(3_000_000, 12)
    };
    let client = fastflight::Client::connect(&servers[0].location)
        .await
        .unwrap();
    let expected = figures(&read(&client, request()).await);
    let mut stream = client.fetch(request()).await.unwrap();
    let mut batches = vec![stream.next().await.unwrap().unwrap()];
    // The read pauses while the caller does not poll: the kill lands mid-read.
    servers[1].child.kill().unwrap();
    servers[1].child.wait().unwrap();
    while let Some(batch) = stream.next().await {
        batches.push(batch.unwrap());
    }
    assert_same(figures(&batches), expected);
}

fn sql_parts(query: &str, partitions: u32, on: &str) -> fastflight_demo_api::SqlQuery {
    fastflight_demo_api::SqlQuery {
        split: fastflight_demo_api::RangeSplit::on(on, partitions),
        batch_size: Some(10_000),
        ..fastflight_demo_api::SqlQuery::new(query)
    }
}

/// Rows and the sum of an integer column (NULLs counted as rows, not summed).
fn rows_and_sum(batches: &[RecordBatch], column: usize) -> (usize, i64) {
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let sum = batches
        .iter()
        .flat_map(|b| b.column(column).as_primitive::<Int64Type>().iter())
        .flatten()
        .sum();
    (rows, sum)
}

#[tokio::test]
async fn a_sql_query_split_by_id_ranges_over_three_servers_equals_the_whole() {
    let servers = three_servers();
    let client = fastflight::Client::connect(&servers[2].location)
        .await
        .unwrap();
    let query = "SELECT id, price FROM trades WHERE id <= 300000 ORDER BY id";
    let whole = read_sql(&client, fastflight_demo_api::SqlQuery::new(query)).await;
    assert_eq!(rows_and_sum(&whole, 0), (300_000, 300_000 * 300_001 / 2));

    let info = client
        .flight_info(&sql_parts(query, 4, "id"))
        .await
        .unwrap();
    assert_eq!(info.endpoint.len(), 4);
    assert!(info.ordered);
    let primaries: BTreeSet<String> = info
        .endpoint
        .iter()
        .map(|e| e.location[0].uri.clone())
        .collect();
    assert_eq!(
        primaries.len(),
        3,
        "the parts are spread over the three servers"
    );
    // Each endpoint's ticket is an ordinary SqlQuery naming its part.
    for (i, endpoint) in info.endpoint.iter().enumerate() {
        let ticket: serde_json::Value =
            serde_json::from_slice(&endpoint.ticket.as_ref().unwrap().ticket).unwrap();
        assert_eq!(ticket["part"], i);
        assert_eq!(ticket["partition_on"], "id");
    }

    let split = read_sql(&client, sql_parts(query, 4, "id")).await;
    assert_eq!(rows_and_sum(&split, 0), rows_and_sum(&whole, 0));
    let ids: Vec<i64> = split
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in id order across parts"
    );

    // Rows whose column is NULL are read once (with the first part), and a query ending
    // in a comment keeps its filter.
    let nullable = "SELECT CASE WHEN id % 7 = 0 THEN NULL ELSE id END AS k, id FROM trades WHERE id <= 10000 -- every 7th k is NULL";
    let split = read_sql(&client, sql_parts(nullable, 3, "k")).await;
    assert_eq!(rows_and_sum(&split, 1), (10_000, 10_000 * 10_001 / 2));
    // A query with no row at all gives no row, split or not.
    let none = read_sql(
        &client,
        sql_parts("SELECT id FROM trades WHERE id < 0", 3, "id"),
    )
    .await;
    assert_eq!(rows_and_sum(&none, 0), (0, 0));
}

#[tokio::test]
async fn bad_partitions_of_a_sql_query_are_refused_by_field() {
    let server = DemoProcess::start();
    let client = fastflight::Client::connect(&server.location).await.unwrap();
    let query = "SELECT id, price, symbol FROM trades WHERE id <= 1000";
    let cases = [
        (
            sql_parts(query, 2, "price"),
            "column `price` holds Float64 values, not integers",
        ),
        (
            sql_parts(query, 2, "symbol"),
            "column `symbol` holds Utf8 values, not integers",
        ),
        (
            sql_parts(query, 2, "id; DROP TABLE trades"),
            "field `partition_on` must name a column",
        ),
        (
            sql_parts(query, 2, "\"id\""),
            "field `partition_on` must name a column",
        ),
        (
            sql_parts(query, 65, "id"),
            "field `partitions` must be from 1 to 64",
        ),
        (
            fastflight_demo_api::SqlQuery {
                split: fastflight_demo_api::RangeSplit {
                    partitions: 2,
                    ..Default::default()
                },
                ..fastflight_demo_api::SqlQuery::new(query)
            },
            "field `partition_on` must name an integer column",
        ),
        (
            {
                let mut request = sql_parts(query, 2, "id");
                request.split.part = Some(2);
                request
            },
            "field `part` must be below `partitions` (2)",
        ),
    ];
    for (request, expected) in cases {
        let outcome = async {
            let stream = client.fetch(request.clone()).await?;
            stream.collect().await
        }
        .await;
        let e = outcome.expect_err(expected);
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
        assert!(e.to_string().contains(expected), "{expected}: {e}");
    }
    // The server still answers.
    let rows = read_sql(&client, sql_parts(query, 2, "id")).await;
    assert_eq!(rows_and_sum(&rows, 0), (1000, 1000 * 1001 / 2));
}

async fn read_sql(
    client: &fastflight::Client,
    request: fastflight_demo_api::SqlQuery,
) -> Vec<RecordBatch> {
    client
        .fetch(request)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
}

/// The parts of a split query count toward their caller's share like any query, though
/// their statements start after the service's start: a client holding four unread parts
/// is refused a fifth, naming its share.
#[tokio::test]
async fn the_parts_of_a_split_query_count_toward_their_callers_share() {
    let server = DemoProcess::start();
    let part = |i: u32| {
        // About 27 MB a part: more than a stream's window, so an unread part stalls.
        let mut request = sql_parts(
            "SELECT id, price, randomblob(200) AS pad FROM trades",
            8,
            "id",
        );
        request.batch_size = Some(1_000);
        request.split.part = Some(i);
        request
    };
    let mut held = Vec::new();
    for i in 0..4 {
        // Each on a connection of its own: an unread stream holds its connection's window.
        let greedy = crate::support::client_from(&server.location, "127.0.0.1").await;
        held.push(greedy.fetch(part(i)).await.unwrap());
    }
    let greedy = crate::support::client_from(&server.location, "127.0.0.1").await;
    let e = async { greedy.fetch(part(4)).await?.collect().await }
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e}");
    assert!(
        e.to_string()
            .contains("4 of the 8 pooled SQLite connections"),
        "{e}"
    );
    // Another client is served meanwhile, and the greedy one once its parts are gone.
    let other = crate::support::client_from(&server.location, "127.0.0.2").await;
    let rows = read_sql(&other, part(5)).await;
    assert_eq!(rows_and_sum(&rows, 0).0, 125_000);
    drop(held);
}

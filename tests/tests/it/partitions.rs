//! Partitioned requests over several servers: three demo processes that know each
//! other (`--peers`) answer GetFlightInfo with one endpoint per part, spread over the
//! three with a fallback each; our client, `call` and pyarrow read the same rows as one
//! server gives, and a server killed mid-read costs no row.

use std::collections::BTreeSet;

use fastflight::arrow::array::AsArray;
use fastflight::arrow::datatypes::{Float64Type, Int64Type};
use fastflight::arrow::record_batch::RecordBatch;
use fastflight_demo_api::SyntheticParams;
use futures::StreamExt;

use crate::support::DemoProcess;

/// Three free loopback ports (bound and let go: a race with other programs is possible
/// but unlikely on a test machine).
fn free_ports() -> Vec<u16> {
    let listeners: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Three demo servers, each with the other two as peers.
fn three_servers() -> Vec<DemoProcess> {
    let ports = free_ports();
    let location = |p: u16| format!("grpc://127.0.0.1:{p}");
    ports
        .iter()
        .map(|&port| {
            let peers: Vec<String> = ports
                .iter()
                .filter(|&&p| p != port)
                .map(|&p| location(p))
                .collect();
            DemoProcess::spawn(
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
        .output()
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

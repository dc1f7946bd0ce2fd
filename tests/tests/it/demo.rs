//! The `fastflight-demo` binary as a real child process.

use crate::support::BoundedOutput;
use fastflight_demo_api::{EchoParams, EchoParamsClient, SyntheticParams, SyntheticParamsClient};

use crate::support::{demo_binary, DemoProcess};

#[tokio::test]
async fn demo_serves_echo_and_synthetic() {
    let demo = DemoProcess::start();
    let client = fastflight::Client::connect(&demo.location).await.unwrap();
    let echo = client
        .echo(EchoParams::default())
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(echo.num_rows(), 1);
    let rows: usize = client
        .synthetic(SyntheticParams {
            partitions: 1,
            start: 0,
            rows: 300_000,
            batch_size: 65_536,
            seed: None,
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 300_000);
}

/// The three-crate promise: a crate that knows only the request types (and
/// `fastflight` without its server features) calls every demo service by its stub.
#[tokio::test]
async fn a_client_crate_of_request_types_alone_calls_every_service() {
    let demo = DemoProcess::start();
    let client = fastflight::Client::connect(&demo.location).await.unwrap();
    let answers = fastflight_demo_client::call_every_service(&client)
        .await
        .unwrap();
    assert_eq!(answers.echo, "from the client crate");
    assert_eq!(answers.synthetic_ids, (0..1_000).collect::<Vec<i64>>());
    assert_eq!(answers.synthetic_batches, [300, 300, 300, 100]);
    // The same synthetic data as typed rows: the ids and the values agree.
    let ids: Vec<i64> = answers.synthetic_rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, answers.synthetic_ids);
    assert_eq!(answers.synthetic_rows[42].name, "row-000000000042");
    // Typed trades: five AAPL rows in id order.
    assert_eq!(answers.aapl_trades.len(), 5);
    assert!(answers.aapl_trades.iter().all(|t| t.symbol == "AAPL"));
    assert!(answers.aapl_trades.windows(2).all(|w| w[0].id < w[1].id));
    // The count through the stub agrees with the same question asked as raw tickets.
    let count = |sql: &str| {
        let client = client.clone();
        let ticket = serde_json::json!({"param_type": "fastflight.demo.SqlQuery", "query": sql});
        async move {
            let batch = client
                .fetch_ticket(serde_json::to_vec(&ticket).unwrap())
                .await
                .unwrap()
                .concat()
                .await
                .unwrap();
            batch
                .column(0)
                .as_any()
                .downcast_ref::<fastflight::arrow::array::Int64Array>()
                .unwrap()
                .value(0)
        }
    };
    let all = count("SELECT count(*) FROM trades").await;
    let not_over = count("SELECT count(*) FROM trades WHERE quantity <= 0").await;
    assert!(all > 0);
    assert_eq!(answers.trades_over, all - not_over);
    assert_eq!(answers.csv_rows, 5);
    assert_eq!(answers.csv_columns, ["symbol", "price"]);
    assert_eq!(answers.parquet_rows, 7);
    // This demo has no PostgreSQL database: the service says how to give it one.
    let e = answers.postgres.clone().unwrap_err();
    assert!(e.contains("--postgres-url"), "{e}");

    let location = demo.location.clone();
    let echoed = tokio::task::spawn_blocking(move || {
        let client = fastflight::blocking::Client::connect(&location)?;
        fastflight_demo_client::blocking_echo(&client, "blocking stub")
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(echoed, "blocking stub");
}

#[test]
fn demo_refuses_a_bad_location() {
    let out = std::process::Command::new(demo_binary())
        .args(["start-flight-server", "--flight-location", "nowhere"])
        .env("FASTFLIGHT_DATA_DIR", crate::support::demo_data_dir())
        .bounded_output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("grpc://HOST:PORT"), "{err}");
}

#[cfg(unix)]
#[test]
fn demo_exits_cleanly_on_sigterm() {
    let mut demo = DemoProcess::start();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &demo.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(code) = demo.child.try_wait().unwrap() {
            assert!(code.success(), "exit status {code}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit 10 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

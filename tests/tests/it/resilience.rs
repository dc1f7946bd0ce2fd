//! Clients that survive faults: retries while a call opens, within attempts and a
//! budget, only on errors of the way; a circuit breaker that opens on a server gone,
//! fails fast naming it, and closes once the server is back.

use crate::support::BoundedOutput;
use std::time::Duration;

use fastflight::arrow::array::AsArray;
use fastflight::arrow::datatypes::Int64Type;
use fastflight::resilience::{Circuit, Resilience, Strategy};
use tonic::Code;

use crate::services::Flaky;
use crate::support::serve_tests as serve;

fn quick(max_attempts: u32) -> Resilience {
    Resilience {
        strategy: Strategy::Exponential,
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        budget: Duration::from_secs(10),
        failure_threshold: 0,
        ..Resilience::default()
    }
}

fn flaky(key: &str, fail_first: u32, code: Option<&str>) -> Flaky {
    Flaky {
        key: key.into(),
        fail_first,
        code: code.map(str::to_owned),
    }
}

/// The number of the call that succeeded.
async fn succeeded_at(client: &fastflight::Client, request: Flaky) -> fastflight::Result<i64> {
    let batch = client.fetch(request).await?.concat().await?;
    Ok(batch.column(0).as_primitive::<Int64Type>().value(0))
}

#[tokio::test]
async fn calls_are_retried_on_errors_of_the_way_only_within_their_attempts() {
    let (location, _, _) = serve(|b| b).await;
    let plain = fastflight::Client::connect(&location).await.unwrap();
    let e = succeeded_at(&plain, flaky("plain", 2, Some("busy")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e}");

    let resilient = fastflight::Client::builder(&location)
        .resilience(quick(5))
        .connect()
        .await
        .unwrap();
    // Three failures the server calls its own, then the fourth call answers: counted
    // by the server.
    assert_eq!(
        succeeded_at(&resilient, flaky("b", 3, Some("busy")))
            .await
            .unwrap(),
        4
    );
    // Out of attempts: three calls, then the error.
    let limited = fastflight::Client::builder(&location)
        .resilience(quick(3))
        .connect()
        .await
        .unwrap();
    let e = succeeded_at(&limited, flaky("c", 100, Some("busy")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert_eq!(
        succeeded_at(&plain, flaky("c", 3, None)).await.unwrap(),
        4,
        "the server saw 3 calls before"
    );
    // An error of the request itself is not retried, nor is a service's own
    // `Unavailable` (its database down, a statement it killed): the caller's, not the
    // way's.
    for (key, code, expected) in [
        ("d", "invalid", Code::InvalidArgument),
        ("d2", "unavailable", Code::Unavailable),
    ] {
        let e = succeeded_at(&resilient, flaky(key, 1, Some(code)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), expected, "{e}");
        assert_eq!(
            succeeded_at(&plain, flaky(key, 1, Some(code)))
                .await
                .unwrap(),
            2,
            "{code}: one call only"
        );
    }
    // The budget bounds the whole: pauses of 1 s against a budget of 1.5 s.
    let patient = fastflight::Client::builder(&location)
        .resilience(Resilience {
            strategy: Strategy::Fixed,
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            budget: Duration::from_millis(1500),
            failure_threshold: 0,
            ..Resilience::default()
        })
        .connect()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert!(succeeded_at(&patient, flaky("e", 100, Some("busy")))
        .await
        .is_err());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// A server killed: the breaker opens after two failures and then fails at once naming
/// the location; the server restarted on the same port, the breaker lets a call try
/// after its recovery timeout and closes.
#[tokio::test]
async fn the_breaker_opens_on_a_server_gone_and_closes_when_it_is_back() {
    let mut server = crate::support::DemoProcess::start();
    let location = server.location.clone();
    let client = fastflight::Client::builder(&location)
        .resilience(Resilience {
            max_attempts: 1,
            failure_threshold: 2,
            recovery_timeout: Duration::from_secs(1),
            ..Resilience::default()
        })
        .connect()
        .await
        .unwrap();
    let echo = r#"{"param_type": "fastflight.demo_services.echo_demo.EchoParams"}"#;
    client.fetch_ticket(echo).await.unwrap();
    assert_eq!(client.circuit(), Some(Circuit::Closed));
    let _ = server.child.kill();
    server.child.wait().unwrap();
    for _ in 0..2 {
        let e = client.fetch_ticket(echo).await.map(drop).unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{e}");
    }
    assert_eq!(client.circuit(), Some(Circuit::Open));
    let e = client.fetch_ticket(echo).await.map(drop).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("circuit to {location} is open")),
        "{e}"
    );
    server.restart(
        &["start-flight-server", "--flight-location", &location],
        &[],
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(client.circuit(), Some(Circuit::HalfOpen));
    client.fetch_ticket(echo).await.unwrap();
    assert_eq!(client.circuit(), Some(Circuit::Closed));
}

/// `call` takes a preset by option or variable, and refuses an unknown one by name.
#[test]
fn call_takes_a_resilience_preset() {
    let server = crate::support::DemoProcess::start();
    let echo = r#"{"param_type": "fastflight.demo_services.echo_demo.EchoParams"}"#;
    let call = |preset: &str| {
        std::process::Command::new(crate::support::demo_binary())
            .args([
                "call",
                "--location",
                &server.location,
                echo,
                "--format",
                "csv",
            ])
            .env("FASTFLIGHT_RESILIENCE_PRESET", preset)
            .bounded_output()
            .unwrap()
    };
    for preset in ["none", "default", "aggressive", "conservative"] {
        let out = call(preset);
        assert!(
            out.status.success(),
            "{preset}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = call("sideways");
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("none, default, aggressive or conservative"),
        "{e}"
    );
}

/// Through a relay that resets, truncates or slows connections (a different fault for
/// each new connection), every call of a resilient client either gives the whole result
/// or fails: never a wrong row count.
#[tokio::test]
async fn faults_on_the_wire_never_give_a_wrong_row_count() {
    use crate::services::Numbers;
    use crate::support::{Fault, FaultyRelay};
    let (location, _, _) = serve(|b| b).await;
    let faults = [
        Fault::ResetAfter(100),
        Fault::ResetAfter(60_000),
        Fault::CloseAfter(300_000),
        Fault::Delay(Duration::from_millis(2)),
        Fault::ResetAfter(1_000_000),
        Fault::None,
        Fault::CloseAfter(30),
    ];
    let relay = FaultyRelay::start(&location, move |n| faults[n as usize % faults.len()]).await;
    let request = || Numbers {
        count: 200_000,
        batch_size: 10_000,
        fail_after: None,
        fail_code: None,
    };
    let (mut whole, mut failed) = (0, 0);
    for _ in 0..28 {
        // A connection of its own for each call, so each meets the next fault.
        let call = async {
            let client = fastflight::Client::builder(&relay.location)
                .resilience(quick(3))
                .connect()
                .await?
                .with_timeout(Duration::from_secs(20));
            client.fetch(request()).await?.collect().await
        };
        match call.await {
            Ok(batches) => {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                assert_eq!(
                    rows, 200_000,
                    "a call gave a wrong row count as a whole result"
                );
                whole += 1;
            }
            Err(e) => {
                assert_ne!(e.code(), Code::Ok);
                failed += 1;
            }
        }
    }
    assert!(whole > 0 && failed > 0, "whole {whole}, failed {failed}");
}

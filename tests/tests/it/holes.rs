//! The smaller holes, each closed on real server processes: `/metrics` wants the same
//! credentials in proxy mode as in-process; gRPC health `Watch` streams do not keep
//! idle connections open; the gateway closes a connection that sends nothing; a server
//! asked to stop tells its probes at once and serves on through its shutdown delay.

use std::time::{Duration, Instant};

use crate::support::DemoProcess;

#[tokio::test]
async fn metrics_want_credentials_in_proxy_mode_too() {
    let users = crate::support::scratch_file("holes-users", "ada:lovelace\n");
    let (flight, proxy, _) = crate::shared::proxied(&["--auth-users", users.to_str().unwrap()]);
    let direct = DemoProcess::start_all(&["--auth-users", users.to_str().unwrap()], &[]);
    let http = reqwest::Client::new();
    for gateway in [&proxy, &direct] {
        let base = gateway
            .gateway
            .as_deref()
            .unwrap()
            .trim_end_matches("/fastflight")
            .to_owned();
        let anonymous = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{base}");
        let wrong = http
            .get(format!("{base}/metrics"))
            .header("authorization", crate::attacks::basic("ada", "babbage"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{base}");
        let known = http
            .get(format!("{base}/metrics"))
            .header("authorization", crate::attacks::basic("ada", "lovelace"))
            .send()
            .await
            .unwrap();
        assert_eq!(known.status(), 200, "{base}");
        // Health still answers anyone.
        let health = http
            .get(format!("{base}/health/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    }
    // In proxy mode, a Flight server that cannot say whether the credentials hold (it
    // is gone) does not open the metrics either.
    drop(flight);
    let base = proxy
        .gateway
        .as_deref()
        .unwrap()
        .trim_end_matches("/fastflight")
        .to_owned();
    let unchecked = http
        .get(format!("{base}/metrics"))
        .header("authorization", crate::attacks::basic("ada", "lovelace"))
        .send()
        .await
        .unwrap();
    assert_eq!(unchecked.status(), 503);
}

/// Health `Watch` streams, which answer for ever, do not count as use: connections
/// holding nothing but them are closed past `--idle-timeout` like any idle connection.
#[tokio::test]
async fn health_watch_streams_do_not_keep_idle_connections_open() {
    let server = DemoProcess::spawn(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--idle-timeout",
            "1",
        ],
        &[],
    );
    let mut watches = Vec::new();
    for _ in 0..10 {
        let channel = crate::support::channel(&server.location).await;
        for _ in 0..5 {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
            let mut stream = health
                .watch(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
            // The first answer comes at once: SERVING.
            let first = stream.message().await.unwrap().unwrap();
            assert_eq!(first.status, 1);
            watches.push(stream);
        }
    }
    let started = Instant::now();
    for mut stream in watches {
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match stream.message().await {
                    Ok(Some(_)) => continue,
                    _ => return,
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "a Watch kept its connection open for 10 s");
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A connection to the gateway that sends nothing is closed past `--idle-timeout`,
/// counted from its accept, as the Flight port closes its own.
#[tokio::test]
async fn the_gateway_closes_a_connection_that_sends_nothing() {
    use tokio::io::AsyncReadExt;
    let server = DemoProcess::start_all(&["--idle-timeout", "1"], &[]);
    let url = server.gateway.clone().unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/fastflight")
        .to_owned();
    let flight_addr = server.location.trim_start_matches("grpc://").to_owned();
    for addr in [addr, flight_addr] {
        let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let started = Instant::now();
        let mut buffer = [0_u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match silent.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    // The Flight port speaks first (its HTTP/2 settings).
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "{addr}: a silent connection open after 10 s"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{addr}: closed before its idle timeout"
        );
    }
    // A connection that asks in time is served.
    let answer = reqwest::get(format!(
        "{}/health/live",
        url.trim_end_matches("/fastflight")
    ))
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
}

/// SIGTERM with `--shutdown-delay 3`: readiness (gateway 503, gRPC health NOT_SERVING)
/// fails at once, while new connections and calls are still served for the delay; then
/// the listeners close, and the process exits cleanly.
#[cfg(unix)]
#[tokio::test]
async fn a_stopping_server_says_so_at_once_and_serves_through_its_delay() {
    let mut server = DemoProcess::start_all(&[], &[("FASTFLIGHT_SHUTDOWN_DELAY", "3")]);
    let base = server
        .gateway
        .clone()
        .unwrap()
        .trim_end_matches("/fastflight")
        .to_owned();
    let ready = |base: String| async move {
        reqwest::get(format!("{base}/health/ready"))
            .await
            .map(|r| r.status().as_u16())
    };
    assert_eq!(ready(base.clone()).await.unwrap(), 200);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled = Instant::now();
    // Not ready, within a moment.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if ready(base.clone()).await.ok() == Some(503) {
            break;
        }
        assert!(Instant::now() < deadline, "readiness still 200");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A new connection is accepted during the delay.
    let channel = crate::support::channel(&server.location).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let check = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(check.status, 2, "NOT_SERVING");
    // A new client's call is served during the delay.
    let client = fastflight::Client::connect(&server.location).await.unwrap();
    assert_eq!(
        crate::support::rows_of(
            client
                .fetch(fastflight_demo_api::EchoParams::default())
                .await
        )
        .await,
        1
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "the checks took the whole delay"
    );
    // After the delay: no new connection.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let refused = tokio::net::TcpStream::connect(server.location.trim_start_matches("grpc://"))
            .await
            .is_err();
        if refused {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still accepting 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        signalled.elapsed() >= Duration::from_millis(2900),
        "stopped accepting before the delay"
    );
    let status = crate::cli::exit_status(&mut server, Duration::from_secs(20)).await;
    assert!(status.success(), "{status}");
}

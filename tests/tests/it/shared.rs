//! One caller cannot shut a shared path for everyone: behind the proxy gateway every
//! caller is one peer of the Flight server, and one client (the gateway's) with one
//! circuit breaker carries them all. A caller's own failures (its share spent, its bad
//! requests) never open that breaker, and callers the server knows keep shares of
//! their own.

use std::time::{Duration, Instant};

use crate::support::DemoProcess;

const BIG: &str = r#"{"param_type": "fastflight.demo.SqlQuery", "query": "SELECT * FROM trades"}"#;
const ECHO: &str = r#"{"param_type": "fastflight.demo_services.echo_demo.EchoParams"}"#;

/// A Flight server with `extra` options and the proxy gateway in front of it.
pub fn proxied(extra: &[&str]) -> (DemoProcess, DemoProcess, String) {
    let mut args = vec![
        "start-flight-server",
        "--flight-location",
        "grpc://127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let flight = DemoProcess::spawn(&args, &[]);
    let gateway = DemoProcess::proxy(&flight.location, &[]);
    let url = gateway.gateway.clone().expect("the gateway's address");
    (flight, gateway, url)
}

/// POSTs a ticket with an optional `authorization` header; the response, unread.
async fn post(
    http: &reqwest::Client,
    url: &str,
    ticket: &str,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = http.post(format!("{url}/stream")).body(ticket.to_owned());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_callers_own_failures_never_shut_the_proxy_gateway_for_the_others() {
    let (_flight, _gateway, url) = proxied(&["--max-streams-per-peer", "4"]);
    let http = reqwest::Client::new();
    // One caller sends bad requests, takes the gateway's whole share with streams it
    // does not read, and asks for more (refused: the share).
    for _ in 0..10 {
        let bad = post(
            &http,
            &url,
            r#"{"param_type": "fastflight.demo.SqlQuery", "query": 7}"#,
            None,
        )
        .await;
        assert_eq!(bad.status(), 400);
    }
    let mut held = Vec::new();
    for _ in 0..4 {
        let response = post(&http, &url, BIG, None).await;
        assert_eq!(response.status(), 200);
        held.push(response);
    }
    for _ in 0..2 {
        let refused = post(&http, &url, BIG, None).await;
        assert_eq!(refused.status(), 429);
        let body = refused.text().await.unwrap();
        assert!(body.contains("max_streams_per_peer"), "{body}");
    }
    // Its streams gone, the next caller is served at once: no breaker opened for the
    // failures the first caller caused.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut statuses = Vec::new();
    loop {
        let status = post(&http, &url, ECHO, None).await.status().as_u16();
        statuses.push(status);
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the other caller: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !statuses.contains(&503),
        "the breaker opened for another caller's failures: {statuses:?}"
    );
    for _ in 0..5 {
        assert_eq!(post(&http, &url, ECHO, None).await.status(), 200);
    }
}

#[tokio::test]
async fn behind_a_proxy_each_known_caller_has_a_share_of_its_own() {
    let users = crate::support::scratch_file("shared-users", "ada:lovelace sql\nbob:builder sql\n");
    let (_flight, _gateway, url) = proxied(&[
        "--max-streams-per-peer",
        "2",
        "--auth-users",
        users.to_str().unwrap(),
    ]);
    let http = reqwest::Client::new();
    let ada = crate::attacks::basic("ada", "lovelace");
    let bob = crate::attacks::basic("bob", "builder");
    let mut held = Vec::new();
    for _ in 0..2 {
        let response = post(&http, &url, BIG, Some(&ada)).await;
        assert_eq!(response.status(), 200);
        held.push(response);
    }
    let refused = post(&http, &url, BIG, Some(&ada)).await;
    assert_eq!(refused.status(), 429);
    let body = refused.text().await.unwrap();
    assert!(body.contains("this client (ada)"), "{body}");
    // bob comes through the same gateway, from the same address: his own share.
    let response = post(&http, &url, BIG, Some(&bob)).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    drop(held);
}

/// Behind the proxy gateway, a Flight server that trusts it (`--trusted-proxies`) sees
/// each caller's own address: a guesser's failures make the guesser wait, not the user
/// who logs in through the same gateway from elsewhere. Without the trust, both are the
/// gateway's address, and the user waits with the guesser.
#[tokio::test]
async fn behind_a_trusted_proxy_each_caller_is_its_own_address() {
    let users = crate::support::scratch_file("shared-proxied-users", "ada:lovelace\n");
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let (guesser, ada) = (from("127.0.0.2"), from("127.0.0.3"));
    let wrong = crate::attacks::basic("ada", "babbage");
    let right = crate::attacks::basic("ada", "lovelace");
    for (trusted, ada_served) in [(true, 200), (false, 429)] {
        let mut options = vec![
            "--auth-users",
            users.to_str().unwrap(),
            "--auth-max-failures",
            "3",
        ];
        if trusted {
            options.extend(["--trusted-proxies", "127.0.0.1"]);
        }
        let (_flight, _gateway, url) = proxied(&options);
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(
                post(&guesser, &url, ECHO, Some(&wrong))
                    .await
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(
            statuses,
            [401, 401, 401, 401, 429, 429],
            "trusted: {trusted}"
        );
        let status = post(&ada, &url, ECHO, Some(&right)).await.status().as_u16();
        assert_eq!(status, ada_served, "trusted: {trusted}");
    }
}

//! A stranger who knows a user's name, tried against real server processes: a flood of
//! wrong passwords costs the server a fixed amount (a small pool of checks, a short
//! queue, refusals at once past it) while a caller with a token is served; an unknown
//! user costs what a known one does; failures slow their sender and not the user
//! elsewhere; every refusal and stream names its peer and caller, never a secret.

use std::time::{Duration, Instant};

use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::Ticket;
use tonic::transport::Channel;
use tonic::Code;

use crate::support::DemoProcess;

const ECHO: &str = r#"{"param_type": "fastflight.demo_services.echo_demo.EchoParams"}"#;

/// A users file of this test: ada (a hash), grace (a plain-text password), bob (a hash).
/// Removed when dropped.
fn users(name: &str) -> tempfile::TempPath {
    let hash = |p: &str| fastflight::auth::hash_password(p).unwrap();
    crate::support::scratch_file(
        &format!("attacks-{name}"),
        &format!(
            "ada:{} analyst\ngrace:plaintext analyst\nbob:{}\n",
            hash("lovelace"),
            hash("b0b-p4ss")
        ),
    )
}

/// `start-flight-server` with the users file and `extra` options.
fn serve(users: &std::path::Path, extra: &[&str], stderr: std::process::Stdio) -> DemoProcess {
    let mut args = vec![
        "start-flight-server",
        "--flight-location",
        "grpc://127.0.0.1:0",
        "--auth-users",
        users.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    DemoProcess::spawn_with_stderr(&args, &[], stderr)
}

pub fn basic(user: &str, password: &str) -> String {
    fastflight::auth::Credentials::Basic {
        user: user.into(),
        password: password.into(),
    }
    .header_value()
}

/// A DoGet of the echo with this `authorization` header, read to its end.
pub async fn echo_with(
    raw: &mut FlightServiceClient<Channel>,
    authorization: &str,
) -> Result<(), tonic::Status> {
    get_with(raw, ECHO, authorization).await
}

/// A DoGet of `ticket` with this `authorization` header, read to its end.
pub async fn get_with(
    raw: &mut FlightServiceClient<Channel>,
    ticket: &str,
    authorization: &str,
) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(Ticket::new(ticket.to_owned()));
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().unwrap());
    let mut stream = raw.do_get(request).await?.into_inner();
    while stream.message().await?.is_some() {}
    Ok(())
}

/// The Handshake with Basic credentials: `Bearer <token>`.
pub async fn login(location: &str, user: &str, password: &str) -> Result<String, tonic::Status> {
    handshake_with(location, &basic(user, password)).await
}

/// The Handshake with this `authorization` header (Basic credentials, or a token to
/// renew): `Bearer <token>`.
pub async fn handshake_with(location: &str, authorization: &str) -> Result<String, tonic::Status> {
    handshake_from(location, None, authorization).await
}

/// [`handshake_with`] from a local address of its own (another peer to the server).
async fn handshake_from(
    location: &str,
    local: Option<&str>,
    authorization: &str,
) -> Result<String, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(location.replace("grpc://", "http://"))
        .unwrap()
        .local_address(local.map(|ip| ip.parse().unwrap()))
        .connect()
        .await
        .unwrap();
    let mut raw = FlightServiceClient::new(channel);
    let mut request = tonic::Request::new(futures::stream::empty());
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().unwrap());
    let response = raw.handshake(request).await?;
    Ok(response
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned())
}

/// The 90th percentile of some durations.
fn p90(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[(samples.len() * 9 / 10).min(samples.len() - 1)]
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `n` echo calls of a caller with a token, one after another: each one's time.
async fn token_calls(
    raw: &mut FlightServiceClient<Channel>,
    token: &str,
    n: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        echo_with(raw, token)
            .await
            .expect("the token caller is served");
        times.push(started.elapsed());
    }
    times
}

/// 400 concurrent wrong-password calls over 8 connections, for a few seconds (the
/// throttle off, so every one asks for a check): the server's peak memory stays within
/// 100 MB of idle, its threads do not grow, the refusals past the pool come at once and
/// name the limit, and a caller with a token is answered meanwhile about as fast as
/// when idle. Figures are printed for the record.
#[tokio::test]
async fn a_flood_of_wrong_passwords_costs_a_fixed_amount_and_token_callers_are_served() {
    let users = users("flood");
    let server = serve(
        &users,
        &["--auth-max-failures", "0"],
        std::process::Stdio::null(),
    );
    let token = login(&server.location, "bob", "b0b-p4ss").await.unwrap();
    let mut raw = crate::support::raw_client(&server.location).await;
    let baseline = token_calls(&mut raw, &token, 60).await;
    let (idle_rss, idle_threads) = (server.rss(), server.threads());

    // The flood runs on a runtime of its own (another thread), so the token caller's
    // times are the server's answers, not a wait behind 400 tasks of this test.
    let until = Instant::now() + Duration::from_secs(6);
    let location = server.location.clone();
    let wrong = std::env::var("FLOOD_HEADER").unwrap_or_else(|_| basic("ada", "babbage"));
    let flood = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(flood_of(&location, &wrong, until))
    });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut during = Vec::new();
    let mut threads = 0;
    while Instant::now() + Duration::from_millis(500) < until {
        during.extend(token_calls(&mut raw, &token, 5).await);
        threads = threads.max(server.threads());
    }
    let (busy, wrong_checked, message) = flood.join().unwrap();
    let peak = server.peak_rss();
    println!(
        "flood: idle RSS {} MB, peak {} MB; threads idle {idle_threads}, flood {threads}; token call p90 idle {:?}, flood {:?} ({} calls); wrong passwords checked {wrong_checked}, refused at once {busy}",
        idle_rss / 1_000_000,
        peak / 1_000_000,
        p90(baseline.clone()),
        p90(during.clone()),
        during.len()
    );
    assert!(
        peak < idle_rss + 100_000_000,
        "peak RSS {} MB against {} MB idle",
        peak / 1_000_000,
        idle_rss / 1_000_000
    );
    assert!(
        threads <= idle_threads + 2,
        "threads grew from {idle_threads} to {threads}"
    );
    assert!(
        busy > 0 && wrong_checked > 0,
        "busy {busy}, checked {wrong_checked}"
    );
    assert!(
        message.contains("at once") && message.contains("waiting"),
        "the refusal names the limit: {message}"
    );
    // Measured against the same caller idle: a check pool that took every core, or a
    // queue of checks in front of every call, would multiply it.
    let (idle, flood) = (p90(baseline), p90(during));
    assert!(
        flood < idle * 20 + Duration::from_millis(100),
        "token calls: p90 {flood:?} under the flood against {idle:?} idle"
    );
}

/// 400 callers over 8 connections sending `authorization` with a call at a time until
/// `until`: the calls refused at once (the checks full), those checked and refused, and
/// the last message of a refusal at once.
async fn flood_of(location: &str, authorization: &str, until: Instant) -> (u32, u32, String) {
    let connections: Vec<FlightServiceClient<Channel>> =
        futures::future::join_all((0..8).map(|_| crate::support::raw_client(location))).await;
    let callers = (0..400).map(|i| {
        let mut raw = connections[i % 8].clone();
        async move {
            let (mut busy, mut checked) = (0_u32, 0_u32);
            let mut message = String::new();
            while Instant::now() < until {
                match echo_with(&mut raw, authorization).await {
                    Err(e) if e.code() == Code::ResourceExhausted => {
                        busy += 1;
                        message = e.message().to_owned();
                    }
                    Err(e) if e.code() == Code::Unauthenticated => checked += 1,
                    other => panic!("a wrong password was answered {other:?}"),
                }
            }
            (busy, checked, message)
        }
    });
    futures::future::join_all(callers)
        .await
        .into_iter()
        .fold((0, 0, String::new()), |(b, c, m), (b2, c2, m2)| {
            (b + b2, c + c2, if m2.is_empty() { m } else { m2 })
        })
}

/// The time a wrong password takes does not tell whether the user exists, nor how its
/// password is stored: unknown users, hashed and plain-text entries are checked at the
/// same cost (medians of the same number of tries, compared with each other).
#[tokio::test]
async fn unknown_users_and_plain_text_entries_take_as_long_as_known_ones() {
    let users = users("timing");
    let server = serve(
        &users,
        &["--auth-max-failures", "0"],
        std::process::Stdio::null(),
    );
    let mut raw = crate::support::raw_client(&server.location).await;
    // Warm: the connection, the pool's thread, the file's first look.
    for user in ["ada", "nobody", "grace"] {
        echo_with(&mut raw, &basic(user, "wrong"))
            .await
            .unwrap_err();
    }
    let mut medians = Vec::new();
    for user in ["ada", "nobody", "grace", "ada", "nobody", "grace"] {
        let mut times = Vec::new();
        for _ in 0..9 {
            let started = Instant::now();
            let e = echo_with(&mut raw, &basic(user, "wrong"))
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::Unauthenticated, "{user}: {e}");
            assert!(
                e.message().contains("unknown user or wrong password"),
                "{user}: {e}"
            );
            times.push(started.elapsed());
        }
        medians.push((user, median(times)));
    }
    println!("wrong-password medians: {medians:?}");
    // Each user was measured in two rounds: its faster round stands for it, so a burst
    // of load on this shared machine (other tests run beside this one) does not pass
    // for a difference; a real one (an unknown user answered without a hash) shows in
    // both rounds.
    let per_user: Vec<(&str, std::time::Duration)> = ["ada", "nobody", "grace"]
        .into_iter()
        .map(|user| {
            let best = medians
                .iter()
                .filter(|(u, _)| *u == user)
                .map(|(_, m)| *m)
                .min()
                .unwrap();
            (user, best)
        })
        .collect();
    let fastest = per_user.iter().map(|(_, m)| *m).min().unwrap();
    let slowest = per_user.iter().map(|(_, m)| *m).max().unwrap();
    assert!(
        slowest < fastest * 3 / 2,
        "the users' medians differ by more than half: {per_user:?} (rounds: {medians:?})"
    );
}

/// After `--auth-max-failures` failures of one user from one address, that address
/// waits before its next password for the user is checked (the right one too), with a
/// refusal that says how long; the same user from another address, and another user
/// from the same address, are not held up; once the wait is over the right password
/// opens again. Over a few seconds of tries, only a handful are checked.
#[tokio::test]
async fn failed_logins_make_their_sender_wait_and_not_the_user_elsewhere() {
    let users = users("throttle");
    let server = serve(
        &users,
        &["--auth-max-failures", "3", "--auth-max-lockout", "2"],
        std::process::Stdio::null(),
    );
    let mut raw = crate::support::raw_client(&server.location).await;
    for attempt in 1..=4 {
        let e = echo_with(&mut raw, &basic("ada", "babbage"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "attempt {attempt}: {e}");
    }
    let e = echo_with(&mut raw, &basic("ada", "lovelace"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    assert!(
        e.message()
            .contains("failed logins of this user from this address")
            && e.message().contains("checked in"),
        "{e}"
    );
    // Not the caller's server being down: the client does not retry it, nor count it.
    assert_eq!(
        e.metadata()
            .get("fastflight-fault")
            .map(|v| v.to_str().unwrap()),
        Some("caller")
    );
    // ada from another address, and bob from this one, log in meanwhile.
    let elsewhere = handshake_from(
        &server.location,
        Some("127.0.0.2"),
        &basic("ada", "lovelace"),
    )
    .await;
    assert!(elsewhere.is_ok(), "{elsewhere:?}");
    assert!(login(&server.location, "bob", "b0b-p4ss").await.is_ok());
    // The wait over, the right password opens again (and ends the count).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    echo_with(&mut raw, &basic("ada", "lovelace"))
        .await
        .unwrap();

    // A guesser that keeps trying for 4 s has few of its tries checked at all.
    let (mut checked, mut refused) = (0, 0);
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        match echo_with(&mut raw, &basic("ada", "guess")).await {
            Err(e) if e.code() == Code::Unauthenticated => checked += 1,
            Err(e) if e.code() == Code::ResourceExhausted => refused += 1,
            other => panic!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("throttle: {checked} passwords checked, {refused} refused at once in 4 s");
    // 3 free failures, the fourth, then one after each wait of 1 s, 2 s, 2 s (the
    // lockout's limit): about 6 in 4 s, 7 at most.
    assert!(checked <= 7, "{checked} passwords checked in 4 s");
    assert!(refused > 10, "{refused} refused");
}

/// Every refusal names the caller's address and the user it claimed, every stream its
/// address and identity; no password and no token ever reaches the log.
#[tokio::test]
async fn refusals_and_streams_name_their_peer_and_caller_and_never_a_secret() {
    let log = crate::support::scratch_file("audit-log", "");
    let users = users("audit");
    let server = DemoProcess::spawn_with_stderr(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--auth-users",
            users.to_str().unwrap(),
        ],
        &[("RUST_LOG", "info"), ("NO_COLOR", "1")],
        std::fs::File::create(&log).unwrap().into(),
    );
    let mut raw = crate::support::raw_client(&server.location).await;
    echo_with(&mut raw, &basic("ada", "s3cret-guess"))
        .await
        .unwrap_err();
    let token = login(&server.location, "bob", "b0b-p4ss").await.unwrap();
    echo_with(&mut raw, &token).await.unwrap();
    echo_with(&mut raw, "Bearer forged.token.value")
        .await
        .unwrap_err();
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        text = std::fs::read_to_string(&log).unwrap();
        if text.matches("request refused").count() >= 2 && text.contains("stream ended") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("request refused"))
        .collect();
    assert_eq!(refused.len(), 2, "{text}");
    assert!(
        refused[0].contains("peer=127.0.0.1:") && refused[0].contains("user=ada"),
        "{}",
        refused[0]
    );
    assert!(refused[1].contains("peer=127.0.0.1:"), "{}", refused[1]);
    let stream = text
        .lines()
        .find(|l| l.contains("stream ended"))
        .expect("a stream line");
    assert!(
        stream.contains("user=bob") && stream.contains("peer=127.0.0.1:"),
        "{stream}"
    );
    let handshake = text
        .lines()
        .find(|l| l.contains("token issued"))
        .expect("a handshake line");
    assert!(
        handshake.contains("user=bob") && handshake.contains("peer=127.0.0.1:"),
        "{handshake}"
    );
    for secret in [
        "s3cret-guess",
        "b0b-p4ss",
        "lovelace",
        token.trim_start_matches("Bearer "),
    ] {
        assert!(!text.contains(secret), "the log holds a secret: {secret}");
    }
    drop(server);
}

//! One path per request: the Flight routes mounted in a router of one's own take the
//! same copy-free DoGet, batches above `max_flight_data_size` are split on that path,
//! a server serves the registry it is given, and the client's per-call headers and
//! deadlines reach the server.

use std::sync::Arc;
use std::time::Duration;

use fastflight::arrow::array::AsArray;
use fastflight::registry::Registry;
use futures::StreamExt;
use tonic::Code;

use crate::services::*;
use crate::support::{column_n, serve_tests};

/// The services of this test binary (not the demo's), so no demo state is needed.
fn tests_only() -> Registry {
    Registry::global()
        .expect("the registry starts")
        .under("it::services")
}

#[tokio::test]
async fn routes_mounted_in_a_router_of_ones_own_serve_every_rpc() {
    let bound = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(tests_only())
        .state(Arc::new(Probes::default()))
        .state(Hits::default())
        .state(crate::services::FlakyCalls::default())
        .state(Label("own router".into()))
        .bind()
        .await
        .unwrap();
    let routes = bound.routes();
    // The same routes in a tonic server of the test's own, on another port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let location = format!("grpc://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(routes)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let client = fastflight::Client::connect(&location).await.unwrap();
    // DoGet: rows, in order, across batches; errors keep their codes.
    let batches = client
        .fetch(Numbers {
            count: 10_000,
            batch_size: 3_000,
            fail_after: None,
            fail_code: None,
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(column_n(&batches), (0..10_000).collect::<Vec<_>>());
    let e = client
        .fetch_ticket(&br#"{"param_type":"tests.Numbers","count":"x"}"#[..])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // The other RPCs, from the same routes.
    let names: Vec<String> = client
        .list_services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(names.contains(&"tests.Numbers".to_owned()), "{names:?}");
    let info = client.flight_info(&Pairs { rows: 3 }).await.unwrap();
    assert_eq!(info.endpoint.len(), 1);
}

#[tokio::test]
async fn batches_above_max_flight_data_size_are_split_on_the_copy_free_path() {
    let (location, _, _) = serve_tests(|b| b.max_flight_data_size(64 * 1024)).await;
    let client = fastflight::Client::connect(&location).await.unwrap();
    // One batch of 100,000 int64 (800 kB) leaves as messages of at most 64 kB.
    let batches = client
        .fetch(Numbers {
            count: 100_000,
            batch_size: 100_000,
            fail_after: None,
            fail_code: None,
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(batches.len() >= 12, "{} messages", batches.len());
    for batch in &batches {
        assert!(
            batch.get_array_memory_size() <= 80 * 1024,
            "a message of {} bytes",
            batch.get_array_memory_size()
        );
    }
    assert_eq!(column_n(&batches), (0..100_000).collect::<Vec<_>>());

    // With the default limit, the same batch arrives whole.
    let (location, _, _) = serve_tests(|b| b).await;
    let client = fastflight::Client::connect(&location).await.unwrap();
    let whole = client
        .fetch(Numbers {
            count: 100_000,
            batch_size: 100_000,
            fail_after: None,
            fail_code: None,
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(whole.len(), 1);
}

#[tokio::test]
async fn a_client_spreads_its_calls_over_the_connections_it_is_given() {
    let (location, _, _) = serve_tests(|b| b).await;
    async fn ports(client: &fastflight::Client, calls: usize) -> Vec<String> {
        let mut ports = Vec::new();
        for _ in 0..calls {
            let who = client
                .fetch(Whoami {})
                .await
                .unwrap()
                .concat()
                .await
                .unwrap();
            ports.push(who.column(2).as_string::<i32>().value(0).to_owned());
        }
        ports
    }
    let one = fastflight::Client::connect(&location).await.unwrap();
    let seen: std::collections::BTreeSet<String> = ports(&one, 6).await.into_iter().collect();
    assert_eq!(seen.len(), 1, "one connection by default: {seen:?}");

    let three = fastflight::Client::builder(&location)
        .connections(3)
        .connect()
        .await
        .unwrap();
    let ports = ports(&three, 9).await;
    // Calls take the connections in turn: the listing (first fetch) took one turn.
    let seen: std::collections::BTreeSet<&String> = ports.iter().collect();
    assert_eq!(seen.len(), 3, "{ports:?}");
    for port in &seen {
        assert_eq!(ports.iter().filter(|p| p == port).count(), 3, "{ports:?}");
    }
    // Clones share the connections; a request of 0 connections gets one.
    let clone = three.clone();
    let again = clone
        .fetch(Whoami {})
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert!(seen.contains(&again.column(2).as_string::<i32>().value(0).to_owned()));
    let zero = fastflight::Client::builder(&location)
        .connections(0)
        .connect()
        .await
        .unwrap();
    assert_eq!(
        zero.fetch(Whoami {})
            .await
            .unwrap()
            .concat()
            .await
            .unwrap()
            .num_rows(),
        1
    );
}

/// A log written into memory, for the test to read.
#[derive(Clone, Default)]
struct Log(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_server_without_services_says_why_it_may_have_none() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing_subscriber::util::SubscriberInitExt::set_default(subscriber);
    let empty = Registry::global().unwrap().under("no::such::module");
    assert!(empty.is_empty());
    let server = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(empty)
        .bind()
        .await
        .expect("a server without services starts");
    let location = server.location();
    tokio::spawn(server.serve());
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("this server has no services") && text.contains("use my_services as _;"),
        "{text}"
    );
    let client = fastflight::Client::connect(&location).await.unwrap();
    assert!(client.list_services().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_server_serves_the_registry_it_is_given() {
    let only_numbers = Registry::global()
        .unwrap()
        .select(["tests.Numbers", "tests.Pairs"])
        .unwrap();
    // No state is needed: neither service takes one.
    let server = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(only_numbers)
        .bind()
        .await
        .expect("a subset needs only its own states");
    assert_eq!(server.registry().len(), 2);
    let location = server.location();
    tokio::spawn(server.serve());
    let client = fastflight::Client::connect(&location).await.unwrap();
    let names: Vec<String> = client
        .list_services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["tests.Numbers", "tests.Pairs"]);
    let rows = client
        .fetch(Pairs { rows: 4 })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap()
        .num_rows();
    assert_eq!(rows, 4);
    // A service linked into the binary but not served is unknown here.
    let e = client.fetch(Whoami {}).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(
        e.to_string()
            .contains("registered: [tests.Numbers, tests.Pairs]"),
        "{e}"
    );

    // An unknown name in the selection is refused, naming it.
    let e = Registry::global()
        .unwrap()
        .select(["tests.Numbers", "tests.Nope"])
        .unwrap_err();
    assert!(e.to_string().contains("tests.Nope"), "{e}");

    // A server of no services starts (and says so in its log), and lists none.
    let empty = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(Registry::global().unwrap().under("no_such_module"))
        .bind()
        .await
        .unwrap();
    assert!(empty.registry().is_empty());
    let location = empty.location();
    tokio::spawn(empty.serve());
    let client = fastflight::Client::connect(&location).await.unwrap();
    assert!(client.list_services().await.unwrap().is_empty());
}

#[tokio::test]
async fn per_call_headers_and_deadlines_reach_the_server() {
    let (location, _, _) = serve_tests(|b| b).await;
    let client = fastflight::Client::connect(&location).await.unwrap();
    let as_ada = client.clone().with_header("x-user", "ada").unwrap();
    let who = as_ada
        .fetch(Whoami {})
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(who.column(0).as_string::<i32>().value(0), "ada");
    // The clone's header stays with the clone.
    let who = client
        .fetch(Whoami {})
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(who.column(0).as_string::<i32>().value(0), "anonymous");
    // Bad header names and values are refused before any call.
    assert!(client.clone().with_header("bad name", "x").is_err());
    assert!(client.clone().with_header("x-user", "line\nbreak").is_err());

    // `Slow` takes 10 s; a 300 ms deadline ends the call with DeadlineExceeded.
    let hurried = client.clone().with_timeout(Duration::from_millis(300));
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        let mut stream = hurried.fetch(Slow {}).await?;
        while let Some(batch) = stream.next().await {
            batch?;
        }
        Ok::<_, fastflight::Error>(())
    })
    .await
    .expect("the deadline ends the call, not the test's timeout");
    let e = outcome.expect_err("a call past its deadline fails");
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e}");

    // The blocking client carries both too.
    let blocking = tokio::task::spawn_blocking(move || {
        let client = fastflight::blocking::Client::connect(&location).unwrap();
        let who = client
            .clone()
            .with_header("x-user", "grace")
            .unwrap()
            .fetch(Whoami {})
            .unwrap()
            .concat()
            .unwrap();
        let started = std::time::Instant::now();
        let late = client
            .with_timeout(Duration::from_millis(300))
            .fetch(Slow {})
            .and_then(|batches| batches.collect_batches());
        (who, late.map(|_| ()), started.elapsed())
    });
    let (who, late, took) = tokio::time::timeout(Duration::from_secs(10), blocking)
        .await
        .expect("the blocking deadline ends the call")
        .unwrap();
    assert_eq!(who.column(0).as_string::<i32>().value(0), "grace");
    let e = late.expect_err("a blocking call past its deadline fails");
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e}");
    assert!(took < Duration::from_secs(9), "{took:?}");
}

//! Bad input and failing services: each with the status code a client can act on,
//! and the server serving on afterwards.

use crate::support::BoundedOutput;
use fastflight::{Error, FlightRequest};
use fastflight_demo_api::SyntheticParams;
use fastflight_demo_api::SyntheticParamsClient;
use futures::StreamExt;
use tonic::Code;

use crate::services::*;
use crate::support::{client, column_n, start};

async fn refused(client: &fastflight::Client, ticket: &[u8]) -> Error {
    match client.fetch_ticket(ticket.to_vec()).await {
        Ok(_) => panic!("ticket {:?} was accepted", String::from_utf8_lossy(ticket)),
        Err(e) => e,
    }
}

fn assert_refused(e: &Error, code: Code, words: &[&str]) {
    assert_eq!(e.code(), code, "{e}");
    for w in words {
        assert!(e.to_string().contains(w), "`{e}` should mention `{w}`");
    }
}

#[tokio::test]
async fn malformed_tickets_are_invalid_arguments() {
    let server = start().await;
    let client = client(&server).await;
    let cases: &[(&[u8], &str)] = &[
        (b"", "empty"),
        (b"\x00\x9f not json", "not valid JSON"),
        (b"\"a string\"", "must be a JSON object"),
        (br#"{"count": 3}"#, "no `param_type`"),
        (br#"{"param_type": null}"#, "`param_type` must be a string"),
    ];
    for (ticket, words) in cases {
        let e = refused(&client, ticket).await;
        assert_refused(&e, Code::InvalidArgument, &[words]);
    }
}

#[tokio::test]
async fn field_errors_name_the_field() {
    let server = start().await;
    let client = client(&server).await;
    let e = refused(
        &client,
        br#"{"param_type":"tests.Numbers","count":"ten","batch_size":1}"#,
    )
    .await;
    assert_refused(
        &e,
        Code::InvalidArgument,
        &["tests.Numbers", "field `count`", "invalid type"],
    );
    let e = refused(&client, br#"{"param_type":"tests.Numbers","count":10}"#).await;
    assert_refused(&e, Code::InvalidArgument, &["missing field `batch_size`"]);
    let e = refused(
        &client,
        br#"{"param_type":"tests.Numbers","count":1,"batch_size":1,"fail_after":-2}"#,
    )
    .await;
    assert_refused(&e, Code::InvalidArgument, &["field `fail_after`"]);
}

#[tokio::test]
async fn failed_validation_is_an_invalid_argument() {
    let server = start().await;
    let client = client(&server).await;
    // Through the trait hook ...
    let e = client
        .fetch(Numbers {
            count: 5,
            batch_size: 0,
            fail_after: None,
            fail_code: None,
        })
        .await
        .err()
        .unwrap();
    assert_refused(&e, Code::InvalidArgument, &["batch_size", "at least 1"]);
    // ... and through a path hook.
    let e = client
        .synthetic(SyntheticParams {
            partitions: 1,
            start: 0,
            rows: 5,
            batch_size: 0,
            seed: None,
        })
        .await
        .err()
        .unwrap();
    assert_refused(
        &e,
        Code::InvalidArgument,
        &["fastflight.demo.SyntheticParams", "batch_size"],
    );
}

#[tokio::test]
async fn unknown_param_type_is_not_found_and_lists_names() {
    let server = start().await;
    let client = client(&server).await;
    let e = refused(&client, br#"{"param_type":"no.Such"}"#).await;
    assert_refused(
        &e,
        Code::NotFound,
        &[
            "no.Such",
            "fastflight.demo_services.echo_demo.EchoParams",
            "tests.Numbers",
        ],
    );
}

#[tokio::test]
async fn service_errors_are_internal() {
    let server = start().await;
    let client = client(&server).await;
    let e = client
        .fetch(Refuse {
            reason: "disk on fire".into(),
        })
        .await
        .err()
        .unwrap();
    assert_refused(&e, Code::Internal, &["disk on fire", "refuse"]);
}

#[tokio::test]
async fn panics_are_internal_and_the_server_serves_on() {
    let server = start().await;
    let client = client(&server).await;
    let e = client
        .fetch(Boom {
            when: "before".into(),
        })
        .await
        .err()
        .unwrap();
    assert_refused(&e, Code::Internal, &["panicked", "boom before the stream"]);

    let mut stream = client
        .fetch(Boom {
            when: "during".into(),
        })
        .await
        .unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap().num_rows(), 3);
    let e = stream.next().await.unwrap().unwrap_err();
    assert_refused(&e, Code::Internal, &["boom during the stream"]);

    let mut stream = client
        .fetch(BlockingRange {
            n: 100,
            batch_size: 10,
            panic_at: Some(50),
        })
        .await
        .unwrap();
    let mut rows = 0;
    let e = loop {
        match stream.next().await.unwrap() {
            Ok(batch) => rows += batch.num_rows(),
            Err(e) => break e,
        }
    };
    assert_eq!(rows, 50);
    assert_refused(&e, Code::Internal, &["blocking producer panicked at 50"]);

    // The same connection and a new one both still work.
    let ok = client
        .fetch(Numbers {
            count: 4,
            batch_size: 4,
            fail_after: None,
            fail_code: None,
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(column_n(&ok), [0, 1, 2, 3]);
    let other = crate::support::client(&server).await;
    let who = other
        .fetch(Whoami {})
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(who.num_rows(), 1);
    assert_eq!(
        who.column_by_name("user")
            .and_then(|c| c
                .as_any()
                .downcast_ref::<fastflight::arrow::array::StringArray>())
            .map(|c| c.value(0)),
        Some("anonymous")
    );
}

#[tokio::test]
async fn errors_after_batches_keep_their_code_and_are_not_a_complete_result() {
    let server = start().await;
    let client = client(&server).await;
    for (code_name, code) in [
        ("not_found", Code::NotFound),
        ("unavailable", Code::Unavailable),
        ("other", Code::DataLoss),
    ] {
        let request = Numbers {
            count: 100,
            batch_size: 10,
            fail_after: Some(3),
            fail_code: Some(code_name.into()),
        };
        let mut stream = client.fetch(request.clone()).await.unwrap();
        let mut ok = 0;
        let mut error = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => ok += 1,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        assert_eq!(ok, 3);
        let e = error.expect("the stream ends with an error, not silently");
        assert_refused(&e, code, &["failed after 3 batches"]);
        // collect() refuses the partial result as a whole.
        assert_eq!(
            client
                .fetch(request)
                .await
                .unwrap()
                .collect()
                .await
                .unwrap_err()
                .code(),
            code
        );
    }
}

#[tokio::test]
async fn a_missing_state_fails_the_start_naming_it() {
    let Err(e) = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(
            fastflight::Registry::global()
                .unwrap()
                .under("it::services"),
        )
        .state(std::sync::Arc::new(Probes::default()))
        .state(Hits::default())
        .state(crate::services::FlakyCalls::default())
        .bind()
        .await
    else {
        panic!("a server without State<Label> started");
    };
    let text = e.to_string();
    assert!(text.contains("State<it::services::Label>"), "{text}");
    assert!(text.contains("it::services::count"), "{text}");
    assert!(text.contains("services.rs:"), "{text}");
}

#[tokio::test]
async fn bad_locations_are_refused() {
    for bad in ["127.0.0.1:0", "grpc://127.0.0.1", "grpc://127.0.0.1:99999"] {
        let e = fastflight::Server::builder()
            .location(bad)
            .bind()
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains(bad), "{e}");
        assert!(fastflight::Client::connect(bad).await.is_err());
    }
    // Nobody listens here: a clear transport error naming the address, not a hang.
    let e = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        fastflight::Client::connect("grpc://127.0.0.1:1"),
    )
    .await
    .expect("a refused connection is an answer, not a hang")
    .err()
    .unwrap();
    assert_eq!(e.code(), Code::Unavailable, "{e}");
    assert!(e.to_string().contains("grpc://127.0.0.1:1"), "{e}");
}

/// Every registered name leads to its own service, and the names the derive wrote
/// are the ones asked for.
#[test]
fn each_registered_name_resolves_to_its_own_service() {
    let registry = fastflight::Registry::global().unwrap();
    let names = registry.names();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let one = registry.select([name.as_str()]).unwrap();
        assert_eq!(one.names(), std::slice::from_ref(name));
    }
    let handlers: Vec<String> = registry.services().into_iter().map(|s| s.handler).collect();
    let mut distinct = handlers.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), handlers.len(), "{handlers:?}");
    assert_eq!(<Numbers as FlightRequest>::NAME, "tests.Numbers");
    assert!(names.contains(&<Boom as FlightRequest>::NAME.to_owned()));
}

/// A panicking service ends its own stream only: a stream of another call on the same
/// connection goes on, in order, to its end.
#[tokio::test]
async fn a_panic_ends_only_its_own_stream() {
    let server = start().await;
    let client = client(&server).await;
    let mut healthy = client.fetch(Slow {}).await.unwrap();
    let mut seen = column_n(&[healthy.next().await.unwrap().unwrap()]);
    for when in ["before", "during"] {
        let outcome = async {
            let mut stream = client.fetch(Boom { when: when.into() }).await?;
            while let Some(batch) = stream.next().await {
                batch?;
            }
            Ok::<_, Error>(())
        }
        .await;
        let e = outcome.expect_err("a panicking service fails its call");
        assert_refused(&e, Code::Internal, &["panicked", &format!("boom {when}")]);
    }
    while seen.len() < 40 {
        seen.extend(column_n(&[healthy.next().await.unwrap().unwrap()]));
    }
    assert_eq!(seen, (0..40).collect::<Vec<_>>());
}

/// Two services for one request type in two modules, and two types of one name: the
/// compiler cannot see these, so the server refuses to start and names both places.
#[test]
fn duplicates_in_two_modules_fail_the_start() {
    let program = crate::support::example_binary("start_refuses_duplicates");
    let out = std::process::Command::new(program)
        .bounded_output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("is bound to two services"), "{text}");
    assert!(
        text.contains("one::first") && text.contains("two::second"),
        "{text}"
    );
    assert!(text.contains("start_refuses_duplicates.rs:23"), "{text}");
    assert!(text.contains("start_refuses_duplicates.rs:32"), "{text}");
    assert!(
        text.contains("two request types share the name `dup.Req`"),
        "{text}"
    );
    assert!(text.contains("SameName"), "{text}");
}

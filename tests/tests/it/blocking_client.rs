//! The blocking client, from plain threads without an async runtime.

use fastflight_demo_api::EchoParams;
use fastflight_demo_api::EchoParamsClient;

use crate::services::*;
use crate::support::{column_n, start};

#[test]
fn blocking_client_fetches_typed_and_raw() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start());
    let client = fastflight::blocking::Client::connect(&server.location).unwrap();

    let batch = client
        .echo(EchoParams {
            message: "sync".into(),
        })
        .unwrap()
        .concat()
        .unwrap();
    assert_eq!(batch.num_rows(), 1);

    let iter = client
        .fetch(Numbers {
            count: 25,
            batch_size: 10,
            fail_after: None,
            fail_code: None,
        })
        .unwrap();
    assert_eq!(iter.schema().field(0).name(), "n");
    let batches: Vec<_> = iter.collect::<fastflight::Result<_>>().unwrap();
    assert_eq!(batches.len(), 3);
    assert_eq!(column_n(&batches), (0..25).collect::<Vec<i64>>());

    let raw = client
        .fetch_ticket(br#"{"param_type":"tests.Pairs","rows":3}"#.to_vec())
        .unwrap()
        .concat()
        .unwrap();
    assert_eq!(raw.num_rows(), 3);

    let e = client.fetch_ticket(b"{}".to_vec()).err().unwrap();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(client
        .list_services()
        .unwrap()
        .iter()
        .any(|s| s.name == "tests.Pairs"));

    // From several threads at once, sharing one client.
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            std::thread::spawn(move || {
                let batches = client
                    .fetch(Numbers {
                        count: 100 + i,
                        batch_size: 7,
                        fail_after: None,
                        fail_code: None,
                    })
                    .unwrap()
                    .collect_batches()
                    .unwrap();
                column_n(&batches).len() as i64
            })
        })
        .collect();
    let counts: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(counts, [100, 101, 102, 103]);
    drop(server);
}

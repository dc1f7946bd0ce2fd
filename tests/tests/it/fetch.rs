//! Good requests: typed stubs, generic fetch, raw tickets, state, context, blocking
//! services, declared schemas and empty results.

use fastflight::arrow::array::{Array, AsArray};
use fastflight::arrow::datatypes::{DataType, Int64Type};
use fastflight::FlightRequest;
use fastflight_demo_api::{EchoParams, SyntheticParams};
use fastflight_demo_api::{EchoParamsClient, SyntheticParamsClient};
use futures::StreamExt;

use crate::services::*;
use crate::support::{client, column_n, start};

#[tokio::test]
async fn typed_stub_and_generic_fetch_agree() {
    let server = start().await;
    let client = client(&server).await;
    let by_stub = client
        .echo(EchoParams {
            message: "stub".into(),
        })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    let by_fetch = client
        .fetch(EchoParams {
            message: "stub".into(),
        })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(by_stub.num_rows(), 1);
    assert_eq!(by_stub.schema(), by_fetch.schema());
    // The same values, but for the clock, which may tick between the calls.
    for column in ["message", "service"] {
        assert_eq!(
            by_stub.column_by_name(column).unwrap(),
            by_fetch.column_by_name(column).unwrap(),
            "{column}"
        );
    }
    let (t1, t2) = (
        by_stub.column(1).as_primitive::<Int64Type>().value(0),
        by_fetch.column(1).as_primitive::<Int64Type>().value(0),
    );
    assert!((t1 - t2).abs() <= 2, "{t1} {t2}");
    let schema = by_stub.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["message", "timestamp", "service"]);
    assert_eq!(by_stub.column(0).as_string::<i32>().value(0), "stub");
    assert_eq!(
        by_stub.column(2).as_string::<i32>().value(0),
        "echo_service"
    );
    assert_eq!(by_stub.column(1).data_type(), &DataType::Int64);
}

#[tokio::test]
async fn raw_json_ticket_uses_field_defaults() {
    let server = start().await;
    let client = client(&server).await;
    let ticket = br#"{"param_type": "fastflight.demo_services.echo_demo.EchoParams"}"#.to_vec();
    let batch = client
        .fetch_ticket(ticket)
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(
        batch.column(0).as_string::<i32>().value(0),
        "Hello FastFlight!"
    );
}

#[tokio::test]
async fn batches_arrive_in_order_and_whole() {
    let server = start().await;
    let client = client(&server).await;
    let stream = client
        .fetch(Numbers {
            count: 10_000,
            batch_size: 3_000,
            fail_after: None,
            fail_code: None,
        })
        .await
        .unwrap();
    assert_eq!(
        stream.schema().field(0).name(),
        "n",
        "schema known before the first batch"
    );
    let batches = stream.collect().await.unwrap();
    let sizes: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, [3_000, 3_000, 3_000, 1_000]);
    assert_eq!(column_n(&batches), (0..10_000).collect::<Vec<i64>>());
}

#[tokio::test]
async fn large_batches_are_received_whole() {
    // 1,000,000 rows in one batch: ~36 MB in one Flight message, far above gRPC's 4 MiB default.
    let server = start().await;
    let client = client(&server).await;
    let batches = client
        .synthetic(SyntheticParams {
            partitions: 1,
            start: 0,
            rows: 1_000_000,
            batch_size: 1_000_000,
            seed: Some(1),
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 1_000_000);
    let ids = batches[0].column(0).as_primitive::<Int64Type>();
    assert_eq!(ids.value(999_999), 999_999);
}

#[tokio::test]
async fn synthetic_rows_are_lazy_deterministic_and_sized() {
    let server = start().await;
    let client = client(&server).await;
    let request = SyntheticParams {
        partitions: 1,
        start: 0,
        rows: 100_003,
        batch_size: 10_000,
        seed: Some(7),
    };
    let a = client
        .synthetic(request.clone())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let b = client
        .synthetic(request.clone())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(a.len(), 11);
    assert_eq!(a.iter().map(|b| b.num_rows()).sum::<usize>(), 100_003);
    assert_eq!(a, b, "same seed, same rows");
    let names = a[10].column(2).as_string::<i32>();
    assert_eq!(names.value(2), "row-000000100002");
    let ids = a[10].column(0).as_primitive::<Int64Type>();
    assert_eq!(ids.value(2), 100_002);
    // Another seed: the same ids and names, other values.
    let c = client
        .synthetic(SyntheticParams {
            partitions: 1,
            start: 0,
            seed: Some(8),
            ..request
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(a[0].column(0), c[0].column(0));
    assert_ne!(
        a[0].column(1),
        c[0].column(1),
        "the seed changes the values"
    );
    // A request for a huge result starts at once: batches are made as they are read.
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut huge = client
            .synthetic(SyntheticParams {
                partitions: 1,
                start: 0,
                rows: 100_000_000,
                batch_size: 1_000,
                seed: None,
            })
            .await
            .unwrap();
        huge.next().await.unwrap().unwrap()
    })
    .await
    .expect("the first batch of a huge result comes at once");
    assert_eq!(first.num_rows(), 1_000);
}

#[tokio::test]
async fn state_is_shared_between_calls() {
    let server = start().await;
    let client = client(&server).await;
    for expected in 1..=3_i64 {
        let batch = client
            .count(Count {})
            .await
            .unwrap()
            .concat()
            .await
            .unwrap();
        assert_eq!(
            batch.column(0).as_primitive::<Int64Type>().value(0),
            expected
        );
        assert_eq!(
            batch.column(1).as_string::<i32>().value(0),
            "from the builder"
        );
    }
}

#[tokio::test]
async fn context_carries_headers_and_peer() {
    let server = start().await;
    let channel =
        tonic::transport::Endpoint::from_shared(server.location.replace("grpc://", "http://"))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let mut raw = arrow_flight::FlightClient::new(channel);
    raw.add_header("x-user", "ada").unwrap();
    let ticket = fastflight::ticket::encode(&Whoami {}).unwrap();
    let batches: Vec<_> = raw
        .do_get(arrow_flight::Ticket::new(ticket))
        .await
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
        .await;
    assert_eq!(batches[0].column(0).as_string::<i32>().value(0), "ada");
    assert_eq!(
        batches[0].column(1).as_string::<i32>().value(0),
        "127.0.0.1"
    );
    // Without the header, the service sees none.
    let client = client(&server).await;
    let batch = client
        .whoami(Whoami {})
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(batch.column(0).as_string::<i32>().value(0), "anonymous");
}

#[tokio::test]
async fn blocking_services_stream_from_a_thread() {
    let server = start().await;
    let client = client(&server).await;
    let batches = client
        .blocking_range(BlockingRange {
            n: 1_000,
            batch_size: 64,
            panic_at: None,
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(batches.len(), 16);
    assert_eq!(column_n(&batches), (0..1_000).collect::<Vec<i64>>());
}

#[tokio::test]
async fn declared_schema_and_empty_results() {
    let server = start().await;
    let client = client(&server).await;
    let empty = client.fetch(Pairs { rows: 0 }).await.unwrap();
    assert_eq!(
        *empty.schema(),
        pairs_schema(),
        "declared schema even with zero rows"
    );
    let batch = empty.concat().await.unwrap();
    assert_eq!(batch.num_rows(), 0);
    assert_eq!(*batch.schema(), pairs_schema());

    let some = client
        .pairs(Pairs { rows: 5 })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(some.num_rows(), 5);
    assert_eq!(some.column(1).null_count(), 2);

    let nothing = client.nothing(Nothing {}).await.unwrap();
    assert_eq!(
        nothing.schema().fields().len(),
        0,
        "no schema declared: an empty one"
    );
    assert!(nothing.collect().await.unwrap().is_empty());
}

#[tokio::test]
async fn default_name_is_the_rust_path() {
    assert_eq!(
        <DefaultNamed as FlightRequest>::NAME,
        "it::services::DefaultNamed"
    );
    let server = start().await;
    let client = client(&server).await;
    let batch = client
        .default_named(DefaultNamed { x: 41 })
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(column_n(&[batch]), [41]);
}

#[tokio::test]
async fn compressed_streams_carry_the_same_rows() {
    use fastflight::client::Compression;
    let server = start().await;
    let plain = client(&server).await;
    let request = SyntheticParams {
        partitions: 1,
        start: 0,
        rows: 200_000,
        batch_size: 50_000,
        seed: Some(3),
    };
    let expected = plain
        .synthetic(request.clone())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    for compression in [Compression::Lz4, Compression::Zstd] {
        let compressed = client(&server).await.with_compression(compression);
        let got = compressed
            .synthetic(request.clone())
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(got, expected, "{compression:?}");
    }
    // Compressed on the wire, through the client API: a relay between client and server
    // counts the bytes the server sends.
    let mut wire_bytes = Vec::new();
    for compression in [None, Some(Compression::Lz4), Some(Compression::Zstd)] {
        let relay = crate::support::CountingRelay::start(&server.location).await;
        let mut client = fastflight::Client::connect(&relay.location).await.unwrap();
        if let Some(c) = compression {
            client = client.with_compression(c);
        }
        let got = client
            .synthetic(request.clone())
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(got, expected, "{compression:?}");
        wire_bytes.push(relay.bytes_to_client());
    }
    let [plain_bytes, lz4_bytes, zstd_bytes] = wire_bytes[..] else {
        unreachable!()
    };
    assert!(plain_bytes > 200_000 * 30, "plain {plain_bytes}");
    assert!(
        lz4_bytes * 4 < plain_bytes * 3,
        "lz4 {lz4_bytes} vs plain {plain_bytes}"
    );
    assert!(
        zstd_bytes * 2 < plain_bytes,
        "zstd {zstd_bytes} vs plain {plain_bytes}"
    );
    assert!(
        zstd_bytes < lz4_bytes,
        "zstd {zstd_bytes} vs lz4 {lz4_bytes}"
    );

    // An unknown compression is refused by name.
    let wire = |compression: &'static str| {
        let location = server.location.replace("grpc://", "http://");
        async move {
            let channel = tonic::transport::Endpoint::from_shared(location)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut raw = arrow_flight::flight_service_client::FlightServiceClient::new(channel);
            let mut call = tonic::Request::new(arrow_flight::Ticket::new(
                fastflight::ticket::encode(&Pairs { rows: 1 }).unwrap(),
            ));
            call.metadata_mut()
                .insert("x-fastflight-compression", compression.parse().unwrap());
            raw.do_get(call).await.map(drop)
        }
    };
    let e = wire("brotli").await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("lz4, zstd"), "{}", e.message());
}

#[tokio::test]
async fn dictionary_columns_arrive_intact() {
    use fastflight::arrow::array::StringArray;
    use fastflight::arrow::compute::cast;
    let server = start().await;
    let client = client(&server).await;
    let batches = client
        .fetch(Dictionary {})
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    // The dictionary encoding itself arrives, not only the values.
    for batch in &batches {
        assert_eq!(
            batch.column(0).data_type(),
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        );
    }
    let values: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let strings = cast(b.column(0), &DataType::Utf8).unwrap();
            let strings = strings
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone();
            (0..strings.len())
                .map(move |i| strings.value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(values, ["a", "b", "a", "b", "b", "c"]);
}

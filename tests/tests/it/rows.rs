//! Typed rows end to end: `#[derive(ArrowRow)]` round trips of every supported type,
//! the row batcher, services yielding rows on a real server, and clients reading rows
//! (schema checked before the first row; the stub of `#[flight(rows = T)]`).

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use fastflight::arrow::datatypes::{DataType, TimeUnit};
use fastflight::prelude::*;
use fastflight::rows::batcher::{Batching, RowBatches};
use fastflight::rows::{check_schema, Convert};

#[derive(ArrowRow, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
    #[serde(rename = "short-sell")]
    ShortSell,
}

#[derive(ArrowRow, Debug, Clone, PartialEq)]
pub struct Venue {
    pub code: String,
    pub rank: Option<u16>,
}

/// A price in cents, stored as an `i64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cents(pub i64);

pub struct AsCents;

impl Convert<Cents> for AsCents {
    type Arrow = i64;
    fn to_arrow(value: &Cents) -> i64 {
        value.0
    }
    fn from_arrow(value: i64) -> Result<Cents, String> {
        Ok(Cents(value))
    }
}

#[derive(ArrowRow, Debug, Clone, PartialEq)]
#[arrow(rename_all = "camelCase")]
pub struct Everything {
    pub small: i8,
    pub medium: i16,
    pub int: i32,
    pub big: i64,
    pub ubyte: u8,
    pub ushort: u16,
    pub uint: u32,
    pub ubig: u64,
    pub single: f32,
    pub double: f64,
    pub flag: bool,
    pub text: String,
    pub bytes: Vec<u8>,
    pub maybe_text: Option<String>,
    pub numbers: Vec<i32>,
    pub maybe_numbers: Option<Vec<Option<i64>>>,
    pub at: DateTime<Utc>,
    #[arrow(unit = "ns")]
    pub at_ns: DateTime<Utc>,
    #[arrow(unit = "s")]
    pub local: NaiveDateTime,
    pub day: NaiveDate,
    pub time: NaiveTime,
    pub side: Side,
    pub maybe_side: Option<Side>,
    #[arrow(dictionary)]
    pub symbol: String,
    pub venue: Venue,
    pub maybe_venue: Option<Venue>,
    pub venues: Vec<Venue>,
    #[arrow(rename = "price_cents", with = AsCents)]
    pub price: Cents,
    #[arrow(skip)]
    pub note: String,
}

fn sample(i: i64) -> Everything {
    let at = DateTime::from_timestamp_micros(1_700_000_000_000_000 + i).unwrap();
    Everything {
        small: i8::MIN + (i % 3) as i8,
        medium: i16::MAX,
        int: -(i as i32),
        big: i64::MIN + i,
        ubyte: u8::MAX,
        ushort: 0,
        uint: u32::MAX,
        ubig: u64::MAX - i as u64,
        single: 1.5,
        double: -0.25 * i as f64,
        flag: i % 2 == 0,
        text: if i % 4 == 0 {
            String::new()
        } else {
            format!("row {i} ✓")
        },
        bytes: if i % 3 == 0 {
            Vec::new()
        } else {
            vec![0, 255, i as u8]
        },
        maybe_text: (i % 2 == 1).then(|| "odd".to_owned()),
        numbers: (0..(i % 4) as i32).collect(),
        maybe_numbers: match i % 3 {
            0 => None,
            1 => Some(Vec::new()),
            _ => Some(vec![Some(i), None]),
        },
        at,
        at_ns: at,
        local: DateTime::from_timestamp(1_000_000 + i, 0)
            .unwrap()
            .naive_utc(),
        day: NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(),
        time: NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
        side: [Side::Buy, Side::Sell, Side::ShortSell][(i % 3) as usize],
        maybe_side: (i % 2 == 0).then_some(Side::ShortSell),
        symbol: ["AAPL", "MSFT", "AAPL"][(i % 3) as usize].to_owned(),
        venue: Venue {
            code: "XNAS".into(),
            rank: Some(i as u16),
        },
        maybe_venue: (i % 2 == 0).then(|| Venue {
            code: String::new(),
            rank: None,
        }),
        venues: vec![
            Venue {
                code: "A".into(),
                rank: None,
            };
            (i % 3) as usize
        ],
        price: Cents(i * 100),
        note: String::new(),
    }
}

/// A batch written as an Arrow IPC stream and read back, as over Flight.
fn through_ipc(
    batch: &fastflight::arrow::array::RecordBatch,
) -> fastflight::arrow::array::RecordBatch {
    let mut bytes = Vec::new();
    {
        let mut writer =
            fastflight::arrow::ipc::writer::StreamWriter::try_new(&mut bytes, &batch.schema())
                .unwrap();
        writer.write(batch).unwrap();
        writer.finish().unwrap();
    }
    let mut reader =
        fastflight::arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
            .unwrap();
    reader.next().unwrap().unwrap()
}

#[test]
fn every_supported_type_survives_a_batch_and_ipc() {
    let rows: Vec<Everything> = (0..50).map(sample).collect();
    let batch = Everything::to_batch(&rows).unwrap();
    assert_eq!(batch.num_rows(), 50);
    assert_eq!(batch.schema(), Everything::schema());
    // Through Arrow IPC and back, as over Flight.
    let read = through_ipc(&batch);
    let back: Vec<Everything> = Everything::from_batch(&read)
        .collect::<fastflight::Result<_>>()
        .unwrap();
    assert_eq!(back, rows);
}

#[test]
fn rows_written_and_read_a_column_at_a_time_are_those_written_and_read_one_by_one() {
    // Four times the rows a builder takes at once, and a few more.
    let n = 4 * fastflight::rows::CHUNK_ROWS as i64 + 37;
    let rows: Vec<Everything> = (0..n).map(sample).collect();
    let at_once = Everything::to_batch(&rows).unwrap();
    let mut builder = Everything::builder(0);
    for row in &rows {
        builder.append(row);
    }
    let one_by_one = builder.finish();
    assert_eq!(at_once, one_by_one);
    let read = through_ipc(&at_once);
    assert_eq!(Everything::from_batch(&read).into_vec().unwrap(), rows);
    let by_row: Vec<Everything> = Everything::from_batch(&read)
        .collect::<fastflight::Result<_>>()
        .unwrap();
    assert_eq!(by_row, rows);
    // What is left after a few rows were read one by one.
    let mut partly = Everything::from_batch(&read);
    assert_eq!(partly.next().unwrap().unwrap(), rows[0]);
    assert_eq!(partly.next().unwrap().unwrap(), rows[1]);
    assert_eq!(partly.into_vec().unwrap(), rows[2..]);
}

#[test]
fn reading_at_once_meets_the_first_bad_row_in_row_order_as_one_by_one() {
    #[derive(ArrowRow)]
    struct Loose {
        id: Option<i64>,
        inner: Option<Venue>,
        price: Option<f64>,
    }
    #[derive(ArrowRow, Debug, PartialEq)]
    struct Strict {
        id: i64,
        inner: Venue,
        price: f64,
    }
    let venue = || Venue {
        code: "X".into(),
        rank: Some(1),
    };
    // `id` (the first field) is null at row 700, `price` (the last) at row 300, and the
    // nested `inner` at row 500: row 300 comes first.
    let loose: Vec<Loose> = (0..1000)
        .map(|i| Loose {
            id: (i != 700).then_some(i),
            inner: (i != 500).then(venue),
            price: (i != 300).then_some(i as f64),
        })
        .collect();
    let batch = Loose::to_batch(&loose).unwrap();
    let e = Strict::from_batch(&batch)
        .into_vec()
        .unwrap_err()
        .to_string();
    assert!(e.contains("field `price`: row 300 is null"), "{e}");
    let read: Vec<_> = Strict::from_batch(&batch).collect();
    assert!(read[..300].iter().all(|r| r.is_ok()));
    assert_eq!(read[300].as_ref().unwrap_err().to_string(), e);
    let e = read[500].as_ref().unwrap_err().to_string();
    assert!(e.contains("field `inner`: row 500 is null"), "{e}");
    // From row 301 on, read at once: the nested null at 500 is the first.
    let mut rest = Strict::from_batch(&batch);
    assert_eq!(rest.nth(301).unwrap().unwrap().price, 301.0);
    let e = rest.into_vec().unwrap_err().to_string();
    assert!(e.contains("field `inner`: row 500 is null"), "{e}");
}

#[test]
fn the_schema_says_what_each_type_is() {
    let schema = Everything::schema();
    let field = |name: &str| schema.field_with_name(name).unwrap().clone();
    assert_eq!(field("small").data_type(), &DataType::Int8);
    assert!(!field("small").is_nullable());
    assert!(field("maybeText").is_nullable(), "rename_all = camelCase");
    assert_eq!(field("bytes").data_type(), &DataType::Binary);
    assert_eq!(
        field("at").data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        field("atNs").data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
    );
    assert_eq!(
        field("local").data_type(),
        &DataType::Timestamp(TimeUnit::Second, None)
    );
    assert_eq!(field("day").data_type(), &DataType::Date32);
    assert_eq!(
        field("time").data_type(),
        &DataType::Time64(TimeUnit::Microsecond)
    );
    assert_eq!(
        field("side").data_type(),
        &DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
    );
    assert_eq!(
        field("symbol").data_type(),
        &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    );
    assert!(matches!(field("venue").data_type(), DataType::Struct(f) if f.len() == 2));
    assert!(
        matches!(field("numbers").data_type(), DataType::List(item) if item.data_type() == &DataType::Int32 && !item.is_nullable())
    );
    assert_eq!(field("price_cents").data_type(), &DataType::Int64);
    assert!(schema.field_with_name("note").is_err(), "skipped");
    assert!(
        std::sync::Arc::ptr_eq(&schema, &Everything::schema()),
        "built once"
    );
    // The enum's dictionary holds serde's names.
    let batch = Everything::to_batch(&[sample(2)]).unwrap();
    let side = batch
        .column_by_name("side")
        .unwrap()
        .as_any()
        .downcast_ref::<fastflight::arrow::array::DictionaryArray<fastflight::arrow::datatypes::Int8Type>>()
        .unwrap()
        .clone();
    let names = side
        .values()
        .as_any()
        .downcast_ref::<fastflight::arrow::array::StringArray>()
        .unwrap();
    let names: Vec<&str> = names.iter().map(|v| v.unwrap()).collect();
    assert_eq!(names, ["buy", "sell", "short-sell"]);
}

#[test]
fn extreme_timestamps_round_trip_or_are_refused_by_name() {
    #[derive(ArrowRow, Debug, PartialEq)]
    struct Instant {
        at: DateTime<Utc>,
        #[arrow(unit = "ms")]
        ms: DateTime<Utc>,
    }
    // chrono's first and last instants (to the microsecond), and the epoch.
    let extremes = [
        DateTime::<Utc>::MIN_UTC,
        DateTime::from_timestamp_micros(DateTime::<Utc>::MAX_UTC.timestamp_micros()).unwrap(),
        DateTime::from_timestamp(0, 0).unwrap(),
    ];
    let rows: Vec<Instant> = extremes
        .iter()
        .map(|&at| Instant {
            at,
            ms: DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap(),
        })
        .collect();
    let batch = Instant::to_batch(&rows).unwrap();
    let back: Vec<Instant> = Instant::from_batch(&batch)
        .collect::<fastflight::Result<_>>()
        .unwrap();
    assert_eq!(back, rows);

    #[derive(ArrowRow)]
    struct Nanos {
        #[arrow(unit = "ns")]
        at: DateTime<Utc>,
    }
    let far = NaiveDate::from_ymd_opt(2500, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let e = Nanos::to_batch(&[Nanos { at: far }])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("field `at`") && e.contains("out of its range"),
        "{e}"
    );
}

#[test]
fn a_batch_of_another_shape_is_refused_naming_the_field_and_both_types() {
    #[derive(ArrowRow, Debug)]
    struct Wanted {
        id: i64,
        price: f64,
    }
    #[derive(ArrowRow)]
    struct Sent {
        id: i64,
        price: String,
    }
    #[derive(ArrowRow)]
    struct Short {
        id: i64,
    }
    #[derive(ArrowRow)]
    struct Nullable {
        id: Option<i64>,
        price: f64,
    }
    let sent = Sent::to_batch(&[Sent {
        id: 1,
        price: "x".into(),
    }])
    .unwrap();
    let e = Wanted::from_batch(&sent)
        .next()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`Wanted`")
            && e.contains("field `price`")
            && e.contains("Float64")
            && e.contains("Utf8"),
        "{e}"
    );
    assert!(
        Wanted::from_batch(&sent).nth(1).is_none(),
        "one error, no rows"
    );
    let e = check_schema::<Wanted>(&Short::schema())
        .unwrap_err()
        .to_string();
    assert!(e.contains("field `price`: no such column"), "{e}");
    let e = check_schema::<Wanted>(&Nullable::schema())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("field `id`") && e.contains("make the field an `Option`"),
        "{e}"
    );
    // A null read into a field that is not an Option is an error naming the row.
    let nulls = Nullable::to_batch(&[
        Nullable {
            id: Some(1),
            price: 1.0,
        },
        Nullable {
            id: None,
            price: 2.0,
        },
    ])
    .unwrap();
    let read: Vec<_> = Wanted::from_batch(&nulls).collect();
    assert!(read[0].is_ok());
    let e = read[1].as_ref().unwrap_err().to_string();
    assert!(e.contains("field `id`: row 1 is null"), "{e}");
    // A dictionary value the enum does not know.
    #[derive(ArrowRow)]
    struct Words {
        #[arrow(dictionary)]
        side: String,
    }
    #[derive(ArrowRow, Debug)]
    struct Sides {
        side: Side,
    }
    let words = Words::to_batch(&[Words {
        side: "hold".into(),
    }])
    .unwrap();
    let e = check_schema::<Sides>(&words.schema())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Dictionary(Int8, Utf8)") && e.contains("Dictionary(Int32, Utf8)"),
        "{e}"
    );
}

#[derive(ArrowRow, Debug, Clone, PartialEq)]
pub struct Tick {
    pub n: i64,
    pub label: String,
}

fn ticks(n: i64) -> impl Iterator<Item = Tick> {
    (0..n).map(|n| Tick {
        n,
        label: format!("tick {n}"),
    })
}

#[tokio::test]
async fn the_batcher_cuts_by_rows_by_bytes_and_when_no_row_is_ready() {
    // By rows.
    let rows = futures::stream::iter(ticks(25).map(Ok));
    let batches: Vec<_> = RowBatches::new(rows, Batching::rows(10))
        .try_collect()
        .await
        .unwrap();
    let sizes: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    // By bytes: rows of about 1 KiB, batches of 10 KiB.
    let big = (0..40).map(|n| {
        Ok(Tick {
            n,
            label: "x".repeat(1020),
        })
    });
    let batching = Batching {
        rows: 1_000,
        bytes: 10 * 1024,
    };
    let batches: Vec<_> = RowBatches::new(futures::stream::iter(big), batching)
        .try_collect()
        .await
        .unwrap();
    assert!(batches.len() >= 4, "{} batches", batches.len());
    assert!(batches
        .iter()
        .all(|b| b.get_array_memory_size() < 40 * 1024));
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 40);
    // A slow source: each row is sent when the next one is not ready.
    let (tx, rx) = futures::channel::mpsc::unbounded::<fastflight::Result<Tick>>();
    let mut batches = RowBatches::new(rx, Batching::default());
    tx.unbounded_send(Ok(ticks(1).next().unwrap())).unwrap();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), batches.next())
        .await
        .expect("the row is sent while the source waits")
        .unwrap()
        .unwrap();
    assert_eq!(first.num_rows(), 1);
    // An error after rows: the rows first, then the error.
    tx.unbounded_send(Ok(ticks(1).next().unwrap())).unwrap();
    tx.unbounded_send(Err(fastflight::Error::status(
        tonic::Code::Aborted,
        "source broke",
    )))
    .unwrap();
    drop(tx);
    let rest: Vec<_> = batches.collect().await;
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert_eq!(rest[0].as_ref().unwrap().num_rows(), 1);
    assert!(rest[1]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("source broke"));
}

// Services yielding rows, on a real server.

/// How many times the typed services were started.
pub static STARTED: AtomicUsize = AtomicUsize::new(0);

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "rows.Ticks", rows = Tick)]
pub struct Ticks {
    pub count: i64,
}

#[data_service(batch_rows = 1_000)]
pub async fn tick_rows(req: Ticks) -> impl Stream<Item = Tick> {
    STARTED.fetch_add(1, Ordering::SeqCst);
    futures::stream::iter(ticks(req.count))
}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "rows.BlockingTicks")]
pub struct BlockingTicks {
    pub count: i64,
    pub fail_at: Option<i64>,
}

#[data_service(blocking)]
pub fn blocking_tick_rows(req: BlockingTicks) -> impl Iterator<Item = Result<Tick, String>> + Send {
    STARTED.fetch_add(1, Ordering::SeqCst);
    ticks(req.count).map(move |t| match req.fail_at {
        Some(at) if t.n == at => Err(format!("no tick {at}")),
        _ => Ok(t),
    })
}

#[tokio::test]
async fn a_service_yielding_rows_is_read_as_rows() {
    let server = crate::support::start().await;
    let client = crate::support::client(&server).await;
    // The stub of `rows = Tick` gives rows.
    let rows: Vec<Tick> = client
        .ticks(Ticks { count: 2_500 })
        .await
        .unwrap()
        .collect_vec()
        .await
        .unwrap();
    assert_eq!(rows, ticks(2_500).collect::<Vec<_>>());
    // Cut at batch_rows.
    let batches = client
        .fetch(Ticks { count: 2_500 })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let sizes: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, [1_000, 1_000, 500]);
    // Zero rows carry the row type's schema.
    let empty = client.fetch(Ticks { count: 0 }).await.unwrap();
    assert_eq!(empty.schema(), Tick::schema());
    assert!(empty.collect().await.unwrap().is_empty());
    // A blocking service's rows, then its error: the rows before it arrive, then the error.
    let mut stream = client
        .fetch(BlockingTicks {
            count: 10,
            fail_at: Some(7),
        })
        .await
        .unwrap()
        .rows::<Tick>()
        .unwrap();
    let mut got = Vec::new();
    let error = loop {
        match stream.next().await {
            Some(Ok(tick)) => got.push(tick.n),
            Some(Err(e)) => break e,
            None => panic!("the stream ended without the service's error"),
        }
    };
    assert_eq!(got, (0..7).collect::<Vec<_>>());
    assert!(error.to_string().contains("no tick 7"), "{error}");
}

/// How many times `probed_rows` was started: only the test below calls it.
pub static PROBED: AtomicUsize = AtomicUsize::new(0);

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "rows.Probed")]
pub struct Probed {}

#[data_service]
pub async fn probed_rows(
    _req: Probed,
) -> fastflight::Result<impl Stream<Item = fastflight::Result<Tick>>> {
    PROBED.fetch_add(1, Ordering::SeqCst);
    Ok(futures::stream::iter(ticks(2).map(Ok)))
}

#[tokio::test]
async fn the_schema_of_a_typed_service_is_known_without_running_it() {
    let server = crate::support::start().await;
    let client = crate::support::client(&server).await;
    let info = client.flight_info(&Probed {}).await.unwrap();
    let schema = info.try_decode_schema().unwrap();
    assert_eq!(&schema, Tick::schema().as_ref());
    let services = client.list_services().await.unwrap();
    let listed = services.iter().find(|s| s.name == "rows.Ticks").unwrap();
    assert!(listed.schema_declared);
    assert_eq!(listed.result_schema["fields"][0]["name"], "n");
    assert_eq!(listed.result_schema["fields"][0]["type"], "Int64");
    assert_eq!(listed.result_schema["fields"][1]["nullable"], false);
    // The gateway's `/services` lists it too.
    let listed: serde_json::Value = reqwest::get(format!("{}/services", server.gateway))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticks = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "rows.Ticks")
        .unwrap();
    assert_eq!(ticks["result_schema"]["fields"][1]["name"], "label");
    assert_eq!(ticks["result_schema"]["fields"][1]["type"], "Utf8");
    let mut raw = crate::support::raw_client(&server.location).await;
    let ticket = fastflight::ticket::encode(&Probed {}).unwrap();
    let schema = raw
        .get_schema(fastflight::arrow_flight::FlightDescriptor::new_cmd(ticket))
        .await
        .unwrap()
        .into_inner();
    let schema = fastflight::arrow::datatypes::Schema::try_from(&schema).unwrap();
    assert_eq!(&schema, Tick::schema().as_ref());
    assert_eq!(
        PROBED.load(Ordering::SeqCst),
        0,
        "GetFlightInfo and GetSchema never start the service"
    );
    let rows: Vec<Tick> = client
        .fetch(Probed {})
        .await
        .unwrap()
        .rows()
        .unwrap()
        .collect_vec()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(PROBED.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reading_rows_of_another_type_fails_before_the_first_row() {
    #[derive(ArrowRow, Debug)]
    struct Other {
        #[allow(dead_code)]
        n: String,
    }
    let server = crate::support::start().await;
    let client = crate::support::client(&server).await;
    let e = client
        .fetch(Ticks { count: 3 })
        .await
        .unwrap()
        .rows::<Other>()
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("`Other`")
            && text.contains("field `n`")
            && text.contains("Utf8")
            && text.contains("Int64"),
        "{text}"
    );
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    // The blocking client too.
    let location = server.location.clone();
    let text = tokio::task::spawn_blocking(move || {
        let blocking = fastflight::blocking::Client::connect(&location).unwrap();
        let rows: Vec<Tick> = blocking
            .ticks(Ticks { count: 3 })
            .unwrap()
            .collect_vec()
            .unwrap();
        assert_eq!(rows.len(), 3);
        blocking
            .fetch(Ticks { count: 3 })
            .unwrap()
            .rows::<Other>()
            .unwrap_err()
            .to_string()
    })
    .await
    .unwrap();
    assert!(text.contains("field `n`"), "{text}");
}

mod property {
    use super::*;
    use proptest::prelude::*;

    #[derive(ArrowRow, Debug, Clone, PartialEq)]
    pub struct Trade {
        pub id: i64,
        #[arrow(dictionary)]
        pub symbol: String,
        pub price: Option<f64>,
        pub quantity: u32,
        pub side: Side,
        pub tags: Vec<String>,
        pub at: DateTime<Utc>,
        pub venue: Option<Venue>,
        pub raw: Vec<u8>,
    }

    fn side() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Side::Buy), Just(Side::Sell), Just(Side::ShortSell)]
    }

    fn trade() -> impl Strategy<Value = Trade> {
        (
            any::<i64>(),
            "[A-Z]{0,5}",
            proptest::option::of(-1e12f64..1e12),
            any::<u32>(),
            side(),
            proptest::collection::vec(".{0,8}", 0..4),
            // chrono's range, to the microsecond.
            DateTime::<Utc>::MIN_UTC.timestamp_micros()
                ..=DateTime::<Utc>::MAX_UTC.timestamp_micros(),
            proptest::option::of(("[a-z]{0,4}", proptest::option::of(any::<u16>()))),
            proptest::collection::vec(any::<u8>(), 0..16),
        )
            .prop_map(
                |(id, symbol, price, quantity, side, tags, micros, venue, raw)| Trade {
                    id,
                    symbol,
                    price,
                    quantity,
                    side,
                    tags,
                    at: DateTime::from_timestamp_micros(micros).expect("within chrono's range"),
                    venue: venue.map(|(code, rank)| Venue { code, rank }),
                    raw,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn any_trades_survive_rows_batch_ipc_batch_rows(trades in proptest::collection::vec(trade(), 0..40)) {
            let batch = Trade::to_batch(&trades).unwrap();
            prop_assert_eq!(batch.num_rows(), trades.len());
            let back: Vec<Trade> = Trade::from_batch(&through_ipc(&batch))
                .collect::<fastflight::Result<_>>()
                .unwrap();
            prop_assert_eq!(back, trades);
        }
    }
}

#[test]
fn decimals_and_uuids_round_trip_and_a_decimal_that_does_not_fit_is_refused() {
    use rust_decimal::Decimal;
    use std::str::FromStr;
    #[derive(ArrowRow, Debug, PartialEq)]
    struct Payment {
        id: uuid::Uuid,
        amount: Decimal,
        #[arrow(scale = 2)]
        fee: Option<Decimal>,
    }
    let rows = vec![
        Payment {
            id: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            amount: Decimal::from_str("-12345678901234567.0123456789").unwrap(),
            fee: Some(Decimal::from_str("0.50").unwrap()),
        },
        Payment {
            id: uuid::Uuid::nil(),
            amount: Decimal::ZERO,
            fee: None,
        },
    ];
    let batch = Payment::to_batch(&rows).unwrap();
    assert_eq!(
        batch.schema().field(0).data_type(),
        &DataType::FixedSizeBinary(16)
    );
    assert_eq!(
        batch.schema().field(1).data_type(),
        &DataType::Decimal128(38, 10)
    );
    assert_eq!(
        batch.schema().field(2).data_type(),
        &DataType::Decimal128(38, 2)
    );
    let back: Vec<Payment> = Payment::from_batch(&batch)
        .collect::<fastflight::Result<_>>()
        .unwrap();
    assert_eq!(back, rows);
    // Three decimals in a column of two: refused naming the field, never rounded.
    let e = Payment::to_batch(&[Payment {
        id: uuid::Uuid::nil(),
        amount: Decimal::ONE,
        fee: Some(Decimal::from_str("0.125").unwrap()),
    }])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("field `fee`") && e.contains("0.125 has 3 decimals"),
        "{e}"
    );
}

#[test]
fn a_row_above_the_largest_batch_is_refused_naming_the_limit_after_the_rows_before_it() {
    use fastflight::rows::batcher::{RowBatchIter, MAX_BATCH_BYTES};
    #[derive(ArrowRow)]
    struct Blob {
        data: Vec<u8>,
    }
    let rows: Vec<fastflight::Result<Blob>> = vec![
        Ok(Blob { data: vec![1; 10] }),
        Ok(Blob {
            data: vec![0; MAX_BATCH_BYTES + 1],
        }),
        Ok(Blob { data: vec![2; 10] }),
    ];
    let mut batches = RowBatchIter::new(rows.into_iter(), Batching::default());
    assert_eq!(
        batches.next().unwrap().unwrap().num_rows(),
        1,
        "the row before it is sent"
    );
    let e = batches.next().unwrap().unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted);
    assert!(
        e.to_string().contains("(max_batch_bytes)") && e.to_string().contains("`Blob`"),
        "{e}"
    );
    assert!(batches.next().is_none(), "nothing after the error");
}

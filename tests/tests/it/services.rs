//! Services made for the tests, each showing one accepted shape.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fastflight::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use fastflight::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use fastflight::prelude::*;

pub fn numbers_batch(start: i64, len: i64) -> RecordBatch {
    let column = Arc::new(Int64Array::from_iter_values(start..start + len)) as ArrayRef;
    RecordBatch::try_from_iter([("n", column)]).expect("one int64 column")
}

/// `count` numbers in batches of `batch_size`; with `fail_after`, an error with the
/// code `fail_code` after that many batches.
#[derive(FlightRequest, Serialize, Deserialize, Clone, JsonSchema)]
#[flight(name = "tests.Numbers", validate)]
pub struct Numbers {
    pub count: i64,
    pub batch_size: i64,
    #[serde(default)]
    pub fail_after: Option<usize>,
    #[serde(default)]
    pub fail_code: Option<String>,
}

impl fastflight::Validate for Numbers {
    fn validate(&self) -> Result<(), String> {
        if self.batch_size < 1 {
            return Err("field `batch_size` must be at least 1".into());
        }
        if self.count < 0 {
            return Err("field `count` must not be negative".into());
        }
        Ok(())
    }
}

#[data_service]
pub async fn numbers(req: Numbers) -> fastflight::Result<BatchStream> {
    let starts: Vec<i64> = (0..req.count).step_by(req.batch_size as usize).collect();
    let batches = starts.into_iter().enumerate().map(move |(i, start)| {
        if req.fail_after == Some(i) {
            let code = match req.fail_code.as_deref() {
                Some("not_found") => tonic::Code::NotFound,
                Some("unavailable") => tonic::Code::Unavailable,
                _ => tonic::Code::DataLoss,
            };
            return Err(fastflight::Error::status(
                code,
                format!("failed after {i} batches"),
            ));
        }
        Ok(numbers_batch(start, req.batch_size.min(req.count - start)))
    });
    Ok(futures::stream::iter(batches).boxed())
}

/// Panics `before` the stream is made, or `during` it (after one batch).
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Boom")]
pub struct Boom {
    pub when: String,
}

#[data_service]
pub async fn boom(req: Boom) -> fastflight::Result<BatchStream> {
    if req.when == "before" {
        panic!("boom before the stream");
    }
    let mut sent = false;
    Ok(futures::stream::poll_fn(move |_| {
        if sent {
            panic!("boom during the stream");
        }
        sent = true;
        std::task::Poll::Ready(Some(Ok(numbers_batch(0, 3))))
    })
    .boxed())
}

/// A service that returns its error before any batch.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Refuse")]
pub struct Refuse {
    pub reason: String,
}

#[data_service]
pub async fn refuse(
    req: Refuse,
) -> Result<futures::stream::Empty<Result<RecordBatch, std::io::Error>>, std::io::Error> {
    Err(std::io::Error::other(req.reason))
}

/// Who called: the `x-user` header and the peer's IP and port, from the [`Context`].
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Whoami")]
pub struct Whoami {}

#[data_service]
pub async fn whoami(
    _req: Whoami,
    ctx: Context,
) -> impl Stream<Item = Result<RecordBatch, fastflight::arrow::error::ArrowError>> {
    let user = ctx.header("x-user").unwrap_or("anonymous").to_owned();
    let peer = ctx.peer().map(|p| p.ip().to_string()).unwrap_or_default();
    let port = ctx.peer().map(|p| p.port().to_string()).unwrap_or_default();
    futures::stream::once(async move {
        RecordBatch::try_from_iter([
            ("user", Arc::new(StringArray::from(vec![user])) as ArrayRef),
            ("peer", Arc::new(StringArray::from(vec![peer])) as ArrayRef),
            ("port", Arc::new(StringArray::from(vec![port])) as ArrayRef),
        ])
    })
}

/// Shared state: a hit counter.
#[derive(Default)]
pub struct Hits(pub AtomicU64);

/// A second state type, to show several `State<T>` parameters.
pub struct Label(pub String);

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Count")]
pub struct Count {}

#[data_service]
pub async fn count(
    _req: Count,
    hits: State<Hits>,
    label: State<Label>,
) -> fastflight::Result<BatchStream> {
    let n = hits.0.fetch_add(1, Ordering::SeqCst) as i64 + 1;
    let batch = RecordBatch::try_from_iter([
        ("hits", Arc::new(Int64Array::from(vec![n])) as ArrayRef),
        (
            "label",
            Arc::new(StringArray::from(vec![label.0.clone()])) as ArrayRef,
        ),
    ])?;
    Ok(futures::stream::iter([Ok(batch)]).boxed())
}

/// Calls per key of [`Flaky`].
#[derive(Default)]
pub struct FlakyCalls(pub std::sync::Mutex<std::collections::HashMap<String, u32>>);

/// Fails its first `fail_first` calls of a key with `code` (`unavailable`, the
/// service's own; `busy`, unavailable as the server's fault; or `invalid`), then answers
/// one row: the number of the call that succeeded.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Flaky")]
pub struct Flaky {
    pub key: String,
    pub fail_first: u32,
    #[serde(default)]
    pub code: Option<String>,
}

#[data_service]
pub async fn flaky(req: Flaky, calls: State<FlakyCalls>) -> fastflight::Result<BatchStream> {
    let call = {
        let mut calls = calls.0.lock().unwrap();
        let n = calls.entry(req.key).or_default();
        *n += 1;
        *n
    };
    if call <= req.fail_first {
        let message = format!("call {call} fails");
        return Err(match req.code.as_deref() {
            Some("invalid") => fastflight::Error::status(tonic::Code::InvalidArgument, message),
            Some("busy") => fastflight::Error::server_fault(tonic::Code::Unavailable, message),
            _ => fastflight::Error::status(tonic::Code::Unavailable, message),
        });
    }
    Ok(futures::stream::iter([Ok(numbers_batch(i64::from(call), 1))]).boxed())
}

/// What cancellation tests watch: set when a service's stream or iterator is dropped,
/// or when its context reports cancellation.
#[derive(Default)]
pub struct Probes {
    pub stream_dropped: AtomicBool,
    pub context_cancelled: AtomicBool,
    pub producer_stopped: AtomicBool,
    pub producer_started: AtomicBool,
}

pub struct SetOnDrop(pub Arc<Probes>, pub fn(&Probes) -> &AtomicBool);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        (self.1)(&self.0).store(true, Ordering::SeqCst);
    }
}

/// One batch every 20 ms, up to 500 batches (10 s): long enough to be cancelled.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Slow")]
pub struct Slow {}

#[data_service]
pub async fn slow(
    _req: Slow,
    ctx: Context,
    probes: State<Arc<Probes>>,
) -> fastflight::Result<BatchStream> {
    let watcher = Arc::clone(&probes);
    let token = ctx.cancellation_token();
    tokio::spawn(async move {
        token.cancelled().await;
        watcher.context_cancelled.store(true, Ordering::SeqCst);
    });
    let guard = SetOnDrop(Arc::clone(&probes), |p| &p.stream_dropped);
    Ok(
        futures::stream::unfold((0_i64, guard), |(i, guard)| async move {
            if i >= 500 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((Ok(numbers_batch(i, 1)), (i + 1, guard)))
        })
        .boxed(),
    )
}

/// A blocking source: `n` numbers in batches of `batch_size`, made on a blocking thread.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.BlockingRange")]
pub struct BlockingRange {
    pub n: i64,
    pub batch_size: i64,
    #[serde(default)]
    pub panic_at: Option<i64>,
}

#[data_service(blocking)]
pub fn blocking_range(
    req: BlockingRange,
) -> Result<impl Iterator<Item = fastflight::Result<RecordBatch>> + Send, String> {
    if req.batch_size < 1 {
        return Err("batch_size must be at least 1".to_owned());
    }
    // Proves the work runs on a blocking thread: `block_on` panics on an async worker thread.
    tokio::runtime::Handle::current().block_on(tokio::task::yield_now());
    let BlockingRange {
        n,
        batch_size,
        panic_at,
    } = req;
    Ok((0..n).step_by(batch_size as usize).map(move |start| {
        if panic_at == Some(start) {
            panic!("blocking producer panicked at {start}");
        }
        std::thread::sleep(Duration::from_millis(1));
        Ok(numbers_batch(start, batch_size.min(n - start)))
    }))
}

/// Endless batches of 100,000 numbers (800 kB) from a producer on a blocking thread,
/// through the `Emitter` adapter (as the SQLite source's).
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Produced")]
pub struct Produced {}

#[data_service]
pub async fn produced(_req: Produced) -> fastflight::Result<BatchStream> {
    Ok(fastflight::service::produce_blocking(|emitter| {
        let mut start = 0;
        while emitter.send(numbers_batch(start, 100_000)).is_ok() {
            start += 100_000;
        }
        Ok(())
    }))
}

/// An endless blocking producer that records when it stops.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.BlockingEndless")]
pub struct BlockingEndless {}

pub fn numbers_schema() -> SchemaRef {
    numbers_batch(0, 0).schema()
}

#[data_service(blocking, schema = numbers_schema)]
pub fn blocking_endless(
    _req: BlockingEndless,
    probes: State<Arc<Probes>>,
) -> impl Iterator<Item = Result<RecordBatch, std::convert::Infallible>> + Send {
    probes.producer_started.store(true, Ordering::SeqCst);
    let guard = SetOnDrop(Arc::clone(&probes), |p| &p.producer_stopped);
    (0..100_000_i64).map(move |i| {
        let _keep = &guard;
        std::thread::sleep(Duration::from_millis(5));
        Ok(numbers_batch(i, 1))
    })
}

pub fn pairs_schema() -> Schema {
    Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Int64, true),
    ])
}

/// A declared schema; `rows` rows, possibly none.
#[derive(FlightRequest, Serialize, Deserialize, Clone, JsonSchema)]
#[flight(name = "tests.Pairs")]
pub struct Pairs {
    pub rows: usize,
}

#[data_service(schema = pairs_schema)]
pub async fn pairs(req: Pairs) -> fastflight::Result<BatchStream> {
    let schema: SchemaRef = Arc::new(pairs_schema());
    let keys: Vec<String> = (0..req.rows).map(|i| format!("k{i}")).collect();
    let values: Vec<Option<i64>> = (0..req.rows)
        .map(|i| (i % 2 == 0).then_some(i as i64))
        .collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(keys)),
            Arc::new(Int64Array::from(values)),
        ],
    )?;
    let batches = if req.rows == 0 {
        vec![]
    } else {
        vec![Ok(batch)]
    };
    Ok(futures::stream::iter(batches).boxed())
}

/// No declared schema and no rows: still a valid, empty stream.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Nothing")]
pub struct Nothing {}

#[data_service]
pub async fn nothing(_req: Nothing) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

/// A request whose name is the Rust path of its type (no `#[flight(name)]`).
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct DefaultNamed {
    pub x: i64,
}

#[data_service]
pub async fn default_named(req: DefaultNamed) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::iter([Ok(numbers_batch(req.x, 1))]).boxed())
}

/// A dictionary-encoded column, in two batches sharing one dictionary.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Dictionary")]
pub struct Dictionary {}

#[data_service]
pub async fn dictionary(_req: Dictionary) -> fastflight::Result<BatchStream> {
    use fastflight::arrow::array::DictionaryArray;
    use fastflight::arrow::datatypes::Int32Type;
    let make = |values: Vec<&'static str>| -> fastflight::Result<RecordBatch> {
        let column: DictionaryArray<Int32Type> = values.into_iter().collect();
        Ok(RecordBatch::try_from_iter([(
            "kind",
            Arc::new(column) as ArrayRef,
        )])?)
    };
    Ok(futures::stream::iter([make(vec!["a", "b", "a"]), make(vec!["b", "b", "c"])]).boxed())
}

/// One row with a timestamp in the zone "UTC".
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Zoned")]
pub struct Zoned {}

#[data_service]
pub async fn zoned(_req: Zoned) -> fastflight::Result<BatchStream> {
    use fastflight::arrow::array::TimestampMicrosecondArray;
    // 2026-01-02T03:04:05Z
    let ts = TimestampMicrosecondArray::from(vec![1_767_323_045_000_000]).with_timezone("UTC");
    let batch = RecordBatch::try_from_iter([("ts", Arc::new(ts) as ArrayRef)])?;
    Ok(futures::stream::iter([Ok(batch)]).boxed())
}

/// A side of an order: `"buy"` or `"sell"` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

/// A time window, nested in a request.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

/// Paging fields, flattened into a request.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Paging {
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_page_size() -> u32 {
    100
}

/// A request with an enum, a nested struct and flattened fields: its JSON Schema
/// describes all three.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "tests.Orders")]
pub struct Orders {
    pub side: Side,
    pub window: Option<Window>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[data_service]
pub async fn orders(req: Orders) -> fastflight::Result<BatchStream> {
    let side = match req.side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    };
    let batch = RecordBatch::try_from_iter([
        ("side", Arc::new(StringArray::from(vec![side])) as ArrayRef),
        (
            "page_size",
            Arc::new(Int64Array::from(vec![i64::from(req.paging.page_size)])) as ArrayRef,
        ),
    ])?;
    Ok(futures::stream::iter([Ok(batch)]).boxed())
}

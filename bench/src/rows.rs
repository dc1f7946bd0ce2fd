//! Typed rows against hand-written Arrow builders and serde_arrow, in one run: rows →
//! batches, batches → rows, and over Flight end to end (a service yielding rows, read
//! as rows, against the same data served as prebuilt batches and read as batches).
//!
//! Two shapes: serde_arrow's own `primitives` (11 primitive columns and a string of at
//! most 50 characters) and a `complex` one (Option fields, a nested struct, a
//! `List<i32>`, a timestamp, a dictionary enum); 1,000 and 1,000,000 rows.
//!
//! serde_arrow is measured on its `marrow` arrays (the registry offers serde_arrow
//! 0.13.7, whose arrow features stop at arrow 57): the same Arrow layout, built and read
//! by the same code its `to_record_batch` and `from_record_batch` run, without the
//! final zero-copy wrap into arrow-rs arrays. It cannot trace chrono types, so its
//! `complex` rows hold the timestamp as an `i64` of microseconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fastflight::arrow::array::{
    ArrayRef, BooleanBuilder, DictionaryArray, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, Int8Array, Int8Builder, ListBuilder, RecordBatch, StringArray,
    StringBuilder, StructArray, TimestampMicrosecondBuilder, UInt16Builder, UInt32Builder,
    UInt64Builder, UInt8Builder,
};
use fastflight::arrow::buffer::NullBuffer;
use fastflight::arrow::datatypes::{DataType, Field, Fields};
use fastflight::rows::ArrowRow;
use fastflight_examples::splitmix64 as mix;
use serde::{Deserialize, Serialize};
use serde_arrow::schema::{SchemaLike, TracingOptions};

/// serde_arrow's `primitives` row.
#[derive(ArrowRow, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Primitives {
    pub k: bool,
    pub a: u8,
    pub b: u16,
    pub c: u32,
    pub d: u64,
    pub e: i8,
    pub f: i16,
    pub g: i32,
    pub h: i64,
    pub i: f32,
    pub j: f64,
    pub l: String,
}

#[derive(ArrowRow, Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub enum Side {
    Buy,
    Sell,
    Hold,
}

#[derive(ArrowRow, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub label: Option<String>,
}

/// The `complex` row.
#[derive(ArrowRow, Clone, Debug, PartialEq)]
pub struct Complex {
    pub id: i64,
    pub name: Option<String>,
    pub score: Option<f64>,
    pub point: Point,
    pub tags: Vec<i32>,
    pub at: DateTime<Utc>,
    pub side: Side,
}

/// The `complex` row as serde_arrow can trace it (the timestamp as microseconds).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ComplexSerde {
    pub id: i64,
    pub name: Option<String>,
    pub score: Option<f64>,
    pub point: Point,
    pub tags: Vec<i32>,
    pub at: i64,
    pub side: Side,
}

fn text(seed: u64) -> String {
    let len = (seed % 50) as usize;
    (0..len)
        .map(|i| (b'a' + (mix(seed + i as u64) % 26) as u8) as char)
        .collect()
}

fn primitives(n: usize) -> Vec<Primitives> {
    (0..n as u64)
        .map(|i| {
            let r = mix(i);
            Primitives {
                k: r & 1 == 0,
                a: r as u8,
                b: r as u16,
                c: r as u32,
                d: r,
                e: r as i8,
                f: r as i16,
                g: r as i32,
                h: r as i64,
                i: (r % 1000) as f32 / 7.0,
                j: (r % 100_000) as f64 / 3.0,
                l: text(r),
            }
        })
        .collect()
}

fn complex(n: usize) -> Vec<Complex> {
    (0..n as u64)
        .map(|i| {
            let r = mix(i);
            Complex {
                id: i as i64,
                name: (!r.is_multiple_of(3)).then(|| text(r >> 8)),
                score: (!r.is_multiple_of(5)).then_some((r % 1000) as f64 / 10.0),
                point: Point {
                    x: (r % 97) as f64,
                    y: (r % 89) as f64,
                    label: r.is_multiple_of(2).then(|| "p".to_owned()),
                },
                tags: (0..(r % 5) as i32).collect(),
                at: DateTime::from_timestamp_micros(1_700_000_000_000_000 + i as i64)
                    .unwrap_or_default(),
                side: [Side::Buy, Side::Sell, Side::Hold][(r % 3) as usize],
            }
        })
        .collect()
}

fn to_serde(rows: &[Complex]) -> Vec<ComplexSerde> {
    rows.iter()
        .map(|c| ComplexSerde {
            id: c.id,
            name: c.name.clone(),
            score: c.score,
            point: c.point.clone(),
            tags: c.tags.clone(),
            at: c.at.timestamp_micros(),
            side: c.side,
        })
        .collect()
}

/// Hand-written builders of the `primitives` rows, as an author writes them.
fn hand_primitives(rows: &[Primitives]) -> RecordBatch {
    let n = rows.len();
    let mut k = BooleanBuilder::with_capacity(n);
    let mut a = UInt8Builder::with_capacity(n);
    let mut b = UInt16Builder::with_capacity(n);
    let mut c = UInt32Builder::with_capacity(n);
    let mut d = UInt64Builder::with_capacity(n);
    let mut e = Int8Builder::with_capacity(n);
    let mut f = Int16Builder::with_capacity(n);
    let mut g = Int32Builder::with_capacity(n);
    let mut h = Int64Builder::with_capacity(n);
    let mut i = Float32Builder::with_capacity(n);
    let mut j = Float64Builder::with_capacity(n);
    let mut l = StringBuilder::with_capacity(n, n * 16);
    for row in rows {
        k.append_value(row.k);
        a.append_value(row.a);
        b.append_value(row.b);
        c.append_value(row.c);
        d.append_value(row.d);
        e.append_value(row.e);
        f.append_value(row.f);
        g.append_value(row.g);
        h.append_value(row.h);
        i.append_value(row.i);
        j.append_value(row.j);
        l.append_value(&row.l);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(k.finish()),
        Arc::new(a.finish()),
        Arc::new(b.finish()),
        Arc::new(c.finish()),
        Arc::new(d.finish()),
        Arc::new(e.finish()),
        Arc::new(f.finish()),
        Arc::new(g.finish()),
        Arc::new(h.finish()),
        Arc::new(i.finish()),
        Arc::new(j.finish()),
        Arc::new(l.finish()),
    ];
    RecordBatch::try_new(Primitives::schema(), columns).expect("the hand-written batch")
}

/// Hand-written builders of the `complex` rows.
fn hand_complex(rows: &[Complex]) -> RecordBatch {
    let n = rows.len();
    let mut id = Int64Builder::with_capacity(n);
    let mut name = StringBuilder::with_capacity(n, n * 16);
    let mut score = Float64Builder::with_capacity(n);
    let mut x = Float64Builder::with_capacity(n);
    let mut y = Float64Builder::with_capacity(n);
    let mut label = StringBuilder::with_capacity(n, n);
    let mut tags = ListBuilder::with_capacity(Int32Builder::with_capacity(n * 2), n)
        .with_field(Arc::new(Field::new_list_field(DataType::Int32, false)));
    let mut at = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut side = Vec::with_capacity(n);
    for row in rows {
        id.append_value(row.id);
        name.append_option(row.name.as_deref());
        score.append_option(row.score);
        x.append_value(row.point.x);
        y.append_value(row.point.y);
        label.append_option(row.point.label.as_deref());
        tags.values().append_slice(&row.tags);
        tags.append(true);
        at.append_value(row.at.timestamp_micros());
        side.push(row.side as i8);
    }
    let point_fields = Fields::from(vec![
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
        Field::new("label", DataType::Utf8, true),
    ]);
    let point = StructArray::new(
        point_fields,
        vec![
            Arc::new(x.finish()),
            Arc::new(y.finish()),
            Arc::new(label.finish()),
        ],
        None::<NullBuffer>,
    );
    let side = DictionaryArray::new(
        Int8Array::from(side),
        Arc::new(StringArray::from(vec!["Buy", "Sell", "Hold"])),
    );
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(name.finish()),
        Arc::new(score.finish()),
        Arc::new(point),
        Arc::new(tags.finish()),
        Arc::new(at.finish()),
        Arc::new(side),
    ];
    RecordBatch::try_new(Complex::schema(), columns).expect("the hand-written batch")
}

/// How many times to repeat `f` for one timing of at least 50 ms.
fn repetitions<T>(mut f: impl FnMut() -> T) -> u32 {
    let mut reps = 1;
    loop {
        let started = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(f());
        }
        if started.elapsed() >= Duration::from_millis(50) || reps >= 1 << 16 {
            return reps;
        }
        reps *= 2;
    }
}

/// One timing of `f`: the time of one call, over `reps` calls.
fn time_once<T>(reps: u32, mut f: impl FnMut() -> T) -> Duration {
    let started = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(f());
    }
    started.elapsed() / reps
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The ways of one measurement, timed in turns (`samples` rounds, every way once a
/// round, so the machine's drift falls on all alike): each way's median time in ms,
/// and the median over rounds of each way's time against the first way's.
fn in_turns(samples: usize, ways: &mut [&mut dyn FnMut()]) -> (Vec<f64>, Vec<f64>) {
    let reps: Vec<u32> = ways.iter_mut().map(|f| repetitions(&mut **f)).collect();
    let mut times = vec![Vec::new(); ways.len()];
    for _ in 0..samples {
        for (i, f) in ways.iter_mut().enumerate() {
            times[i].push(ms(time_once(reps[i], &mut **f)));
        }
    }
    let against_first = times
        .iter()
        .map(|t| {
            median(
                t.iter()
                    .zip(&times[0])
                    .map(|(t, first)| t / first)
                    .collect(),
            )
        })
        .collect();
    (times.into_iter().map(median).collect(), against_first)
}

/// One shape at one size: each way's rows → batch and batch → rows times, in ms, and
/// the floor of batches → rows: the same rows copied in memory (`Clone`), what any
/// reader that hands out owned rows takes at least.
fn shape<R: ArrowRow + Clone, S: Serialize + for<'de> Deserialize<'de>>(
    name: &str,
    rows: &[R],
    serde_rows: &[S],
    hand: fn(&[R]) -> RecordBatch,
    samples: usize,
) -> Result<serde_json::Value, String> {
    let options = TracingOptions::default().enums_without_data_as_strings(true);
    let fields = Vec::<serde_arrow::marrow::datatypes::Field>::from_type::<S>(options)
        .map_err(|e| e.to_string())?;
    // The three ways give the same rows back.
    let ours = R::to_batch(rows).map_err(|e| e.to_string())?;
    let hand_batch = hand(rows);
    if hand_batch.num_rows() != ours.num_rows() {
        return Err(format!("{name}: the hand-written batch differs"));
    }
    let arrays = serde_arrow::to_marrow(&fields, serde_rows).map_err(|e| e.to_string())?;
    let views: Vec<_> = arrays.iter().map(|a| a.as_view()).collect();
    // (Each way's result is dropped inside its timing, as a caller's would be.)
    let (encode, encode_vs) = in_turns(
        samples,
        &mut [
            &mut || drop(std::hint::black_box(R::to_batch(rows))),
            &mut || drop(std::hint::black_box(hand(rows))),
            &mut || {
                drop(std::hint::black_box(serde_arrow::to_marrow(
                    &fields, serde_rows,
                )))
            },
        ],
    );
    let (decode, decode_vs) = in_turns(
        samples,
        &mut [
            &mut || drop(std::hint::black_box(R::from_batch(&ours).into_vec())),
            &mut || {
                drop(std::hint::black_box(serde_arrow::from_marrow::<Vec<S>>(
                    &fields, &views,
                )))
            },
            &mut || drop(std::hint::black_box(rows.to_vec())),
        ],
    );
    Ok(serde_json::json!({
        "shape": name,
        "rows": rows.len(),
        "encode_ms": {"arrow_row": encode[0], "hand": encode[1], "serde_arrow": encode[2]},
        "decode_ms": {"arrow_row": decode[0], "serde_arrow": decode[1], "clone": decode[2]},
        "encode_vs_hand": encode_vs[1],
        "encode_vs_serde_arrow": encode_vs[2],
        "decode_vs_serde_arrow": decode_vs[1],
        "decode_vs_clone": decode_vs[2],
        "clone_vs_serde_arrow": decode_vs[1] / decode_vs[2],
    }))
}

/// Over Flight: the demo's synthetic rows as prebuilt batches (read as batches) and as
/// typed rows (yielded and read as rows), rows/s of each, the median of `rounds`
/// taking turns.
async fn over_flight(rows: u64, rounds: usize) -> Result<serde_json::Value, String> {
    use fastflight_demo_api::{SyntheticParams, SyntheticRow, SyntheticRows};
    use futures::{StreamExt, TryStreamExt};
    let registry = fastflight::Registry::global()
        .and_then(|r| {
            r.select([
                "fastflight.demo.SyntheticParams",
                "fastflight.demo.SyntheticRows",
            ])
        })
        .map_err(|e| e.to_string())?;
    let server = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(registry)
        .bind()
        .await
        .map_err(|e| e.to_string())?;
    let location = server.location();
    let serving = tokio::spawn(server.serve());
    let client = fastflight::Client::connect(&location)
        .await
        .map_err(|e| e.to_string())?;
    let (mut batches_s, mut rows_s) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let mut stream = client
            .fetch(SyntheticParams {
                rows,
                batch_size: 65_536,
                seed: None,
                partitions: 1,
                start: 0,
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut got = 0;
        while let Some(batch) = stream.next().await {
            got += batch.map_err(|e| e.to_string())?.num_rows() as u64;
        }
        if got != rows {
            return Err(format!("{got} of {rows} synthetic rows as batches"));
        }
        batches_s.push(rows as f64 / started.elapsed().as_secs_f64());

        let started = Instant::now();
        let mut stream = client
            .fetch(SyntheticRows { rows, seed: None })
            .await
            .map_err(|e| e.to_string())?
            .rows::<SyntheticRow>()
            .map_err(|e| e.to_string())?;
        let mut got = 0;
        while let Some(row) = stream.try_next().await.map_err(|e| e.to_string())? {
            std::hint::black_box(&row);
            got += 1;
        }
        if got != rows {
            return Err(format!("{got} of {rows} synthetic rows as rows"));
        }
        rows_s.push(rows as f64 / started.elapsed().as_secs_f64());
    }
    serving.abort();
    let (batches, typed) = (median(batches_s), median(rows_s));
    Ok(serde_json::json!({
        "rows": rows,
        "batches_rows_per_s": batches,
        "typed_rows_per_s": typed,
        "rows_vs_batches": typed / batches,
    }))
}

/// Every figure of the rows benchmark, printed as a table; its JSON.
pub fn measure(
    runtime: &tokio::runtime::Runtime,
    quick: bool,
) -> Result<serde_json::Value, String> {
    let samples = if quick { 3 } else { 7 };
    let sizes: &[usize] = &[1_000, 1_000_000];
    let mut shapes = Vec::new();
    for &n in sizes {
        let p = primitives(n);
        shapes.push(shape("primitives", &p, &p, hand_primitives, samples)?);
        let c = complex(n);
        shapes.push(shape("complex", &c, &to_serde(&c), hand_complex, samples)?);
    }
    let flight_rows = if quick { 2_000_000 } else { 10_000_000 };
    let flight = runtime.block_on(over_flight(flight_rows, if quick { 3 } else { 5 }))?;
    println!(
        "| {:<10} | {:>9} | {:>8} | {:>8} | {:>11} | {:>10} | {:>13} | {:>7} | {:>7} | {:>8} | {:>10} | {:>9} |",
        "rows shape",
        "rows",
        "hand ms",
        "ArrowRow",
        "serde_arrow",
        "ArrowRow ↩",
        "serde_arrow ↩",
        "clone",
        "vs hand",
        "vs serde",
        "↩ vs serde",
        "clone/ArrowRow ↩",
    );
    println!("|{}|", ["-"; 12].map(|_| "---").join("|"));
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    for s in &shapes {
        println!(
            "| {:<10} | {:>9} | {:>8.3} | {:>8.3} | {:>11.3} | {:>10.3} | {:>13.3} | {:>7.3} | {:>7.2} | {:>8.2} | {:>10.2} | {:>9.2} |",
            s["shape"].as_str().unwrap_or_default(),
            s["rows"],
            f(&s["encode_ms"]["hand"]),
            f(&s["encode_ms"]["arrow_row"]),
            f(&s["encode_ms"]["serde_arrow"]),
            f(&s["decode_ms"]["arrow_row"]),
            f(&s["decode_ms"]["serde_arrow"]),
            f(&s["decode_ms"]["clone"]),
            f(&s["encode_vs_hand"]),
            f(&s["encode_vs_serde_arrow"]),
            f(&s["decode_vs_serde_arrow"]),
            f(&s["decode_vs_clone"]),
        );
    }
    println!(
        "over Flight, {} synthetic rows: as batches {:.0} rows/s, as typed rows {:.0} rows/s ({:.2}×)",
        flight["rows"],
        f(&flight["batches_rows_per_s"]),
        f(&flight["typed_rows_per_s"]),
        f(&flight["rows_vs_batches"]),
    );
    // The ratios: the least of each over the shapes and sizes.
    let least = |key: &str| {
        shapes
            .iter()
            .map(|s| f(&s[key]))
            .fold(f64::INFINITY, f64::min)
    };
    Ok(serde_json::json!({
        "shapes": shapes,
        "flight": flight,
        "ratios": {
            "rows_encode_vs_hand": least("encode_vs_hand"),
            "rows_encode_vs_serde_arrow": least("encode_vs_serde_arrow"),
            "rows_decode_vs_serde_arrow": least("decode_vs_serde_arrow"),
            "rows_decode_vs_clone": least("decode_vs_clone"),
            "rows_clone_vs_serde_arrow": least("clone_vs_serde_arrow"),
            "rows_flight_vs_batches": f(&flight["rows_vs_batches"]),
        },
        "serde_arrow": "0.13.7, on its marrow arrays (no arrow-60 feature)",
    }))
}

/// `fastflight-bench rows`: the rows benchmark alone.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    quick: bool,
    json: Option<&std::path::Path>,
) -> Result<(), String> {
    let figures = measure(runtime, quick)?;
    println!(
        "ratios (the least over shapes and sizes): {}",
        figures["ratios"]
    );
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&figures).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}

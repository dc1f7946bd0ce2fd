//! chrono's types as Arrow columns (the `chrono` feature): `DateTime<Utc>` as
//! `Timestamp(unit, "UTC")`, `NaiveDateTime` as `Timestamp(unit)` (microseconds unless
//! `#[arrow(unit = "s" | "ms" | "us" | "ns")]` says otherwise), `NaiveDate` as `Date32`,
//! `NaiveTime` as `Time64(µs)`.

use std::marker::PhantomData;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, PrimitiveArray, PrimitiveBuilder};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Time64MicrosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use super::codec::{array_methods, downcast, primitive_codec, ArrowField, Codec};

/// A timestamp's unit, for `#[arrow(unit = "..")]`.
pub trait Unit: 'static {
    /// Arrow's timestamp type of this unit.
    type Arrow: arrow::datatypes::ArrowTimestampType;
    /// Its Arrow unit.
    const UNIT: TimeUnit;
    /// The instant as a count of units since the epoch (`None`: out of range).
    fn count(at: &NaiveDateTime) -> Option<i64>;
    /// The instant of a count of units since the epoch.
    fn instant(count: i64) -> Option<NaiveDateTime>;
}

macro_rules! units {
    ($($(#[$doc:meta])* $name:ident, $arrow:ty, $unit:expr, $count:expr, $instant:expr;)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl Unit for $name {
            type Arrow = $arrow;
            const UNIT: TimeUnit = $unit;
            #[inline]
            fn count(at: &NaiveDateTime) -> Option<i64> {
                let utc = at.and_utc();
                ($count)(&utc)
            }
            #[inline]
            fn instant(count: i64) -> Option<NaiveDateTime> {
                ($instant)(count).map(|d: DateTime<Utc>| d.naive_utc())
            }
        }
    )*};
}

units! {
    /// Seconds (`unit = "s"`).
    Seconds, TimestampSecondType, TimeUnit::Second,
        |d: &DateTime<Utc>| Some(d.timestamp()), |c| DateTime::from_timestamp(c, 0);
    /// Milliseconds (`unit = "ms"`).
    Millis, TimestampMillisecondType, TimeUnit::Millisecond,
        |d: &DateTime<Utc>| Some(d.timestamp_millis()), DateTime::from_timestamp_millis;
    /// Microseconds (the default; `unit = "us"`).
    Micros, TimestampMicrosecondType, TimeUnit::Microsecond,
        |d: &DateTime<Utc>| Some(d.timestamp_micros()), DateTime::from_timestamp_micros;
    /// Nanoseconds (`unit = "ns"`: the years 1677 to 2262 only).
    Nanos, TimestampNanosecondType, TimeUnit::Nanosecond,
        |d: &DateTime<Utc>| d.timestamp_nanos_opt(), |c| Some(DateTime::from_timestamp_nanos(c));
}

/// `DateTime<Utc>` as `Timestamp(U, "UTC")`.
pub struct UtcTimestamp<U>(PhantomData<U>);

/// `NaiveDateTime` as `Timestamp(U)`, without a zone.
pub struct NaiveTimestamp<U>(PhantomData<U>);

/// A timestamp column's builder: instants out of the unit's range are an error when
/// the batch is finished (cut there, never wrapped).
pub struct TimestampBuilder<U: Unit> {
    values: PrimitiveBuilder<U::Arrow>,
    out_of_range: Option<NaiveDateTime>,
}

fn timestamp_builder<U: Unit>(capacity: usize) -> TimestampBuilder<U> {
    TimestampBuilder {
        values: PrimitiveBuilder::with_capacity(capacity),
        out_of_range: None,
    }
}

#[inline]
fn append_instant<U: Unit>(builder: &mut TimestampBuilder<U>, at: &NaiveDateTime) {
    match U::count(at) {
        Some(count) => builder.values.append_value(count),
        None => {
            builder.out_of_range.get_or_insert(*at);
            builder.values.append_null();
        }
    }
}

fn finish_instants<U: Unit>(
    builder: &mut TimestampBuilder<U>,
    zone: Option<&str>,
) -> Result<ArrayRef, String> {
    let values = builder.values.finish();
    if let Some(at) = builder.out_of_range.take() {
        return Err(format!(
            "{at} cannot be a timestamp of unit {:?} (out of its range of years): choose a coarser `#[arrow(unit = ..)]`",
            U::UNIT
        ));
    }
    Ok(Arc::new(
        values.with_timezone_opt(zone.map(Arc::<str>::from)),
    ))
}

fn instant_column<U: Unit>(
    array: &ArrayRef,
    expected: &DataType,
) -> Result<PrimitiveArray<U::Arrow>, String> {
    downcast(array, expected)
}

#[inline]
fn read_instant<U: Unit>(
    column: &PrimitiveArray<U::Arrow>,
    i: usize,
) -> Result<NaiveDateTime, String> {
    let count = column.value(i);
    U::instant(count).ok_or_else(|| format!("{count} {:?} is out of chrono's range", U::UNIT))
}

macro_rules! timestamps {
    ($codec:ident, $rust:ty, $zone:expr, $to:expr, $from:expr) => {
        impl<U: Unit> Codec<$rust> for $codec<U> {
            type Builder = TimestampBuilder<U>;
            type Column = PrimitiveArray<U::Arrow>;
            fn data_type() -> DataType {
                DataType::Timestamp(U::UNIT, $zone.map(Arc::<str>::from))
            }
            fn builder(capacity: usize) -> Self::Builder {
                timestamp_builder(capacity)
            }
            #[inline]
            fn append(builder: &mut Self::Builder, value: &$rust) {
                append_instant(builder, &($to)(value))
            }
            fn append_null(builder: &mut Self::Builder) {
                builder.values.append_null()
            }
            fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
                finish_instants(builder, $zone)
            }
            fn column(array: &ArrayRef) -> Result<Self::Column, String> {
                instant_column::<U>(array, &Self::data_type())
            }
            #[inline]
            fn is_null(column: &Self::Column, i: usize) -> bool {
                column.is_null(i)
            }
            #[inline]
            fn read(column: &Self::Column, i: usize) -> Result<$rust, String> {
                read_instant::<U>(column, i).map($from)
            }
            fn size(_: &$rust) -> usize {
                8
            }
        }
    };
}

timestamps!(
    UtcTimestamp,
    DateTime<Utc>,
    Some("UTC"),
    |v: &DateTime<Utc>| v.naive_utc(),
    |n: NaiveDateTime| n.and_utc()
);
timestamps!(
    NaiveTimestamp,
    NaiveDateTime,
    None::<&str>,
    |v: &NaiveDateTime| *v,
    |n| n
);

impl ArrowField for DateTime<Utc> {
    type Codec = UtcTimestamp<Micros>;
}

impl ArrowField for NaiveDateTime {
    type Codec = NaiveTimestamp<Micros>;
}

/// The codec of a timestamp type in another unit (`#[arrow(unit = "ns")]`).
#[diagnostic::on_unimplemented(
    message = "`#[arrow(unit = ..)]` is for `DateTime<Utc>` and `NaiveDateTime` fields, not `{Self}`"
)]
pub trait InUnit<U: Unit> {
    /// Its codec in that unit.
    type Codec: Codec<Self>
    where
        Self: Sized;
}

impl<U: Unit> InUnit<U> for DateTime<Utc> {
    type Codec = UtcTimestamp<U>;
}

impl<U: Unit> InUnit<U> for NaiveDateTime {
    type Codec = NaiveTimestamp<U>;
}

/// `NaiveDate` as `Date32` (days since 1970-01-01).
pub struct Date;

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a date"),
};

/// `NaiveTime` as `Time64(µs)`.
pub struct Time;

primitive_codec!(
    Date,
    NaiveDate,
    Date32Type,
    // Every NaiveDate is within ±262,143 years: its days fit an i32.
    |d| d.signed_duration_since(EPOCH).num_days() as i32,
    |days| EPOCH
        .checked_add_signed(chrono::Duration::days(days.into()))
        .ok_or_else(|| format!("{days} days from 1970-01-01 is out of chrono's range"))
);

primitive_codec!(
    Time,
    NaiveTime,
    Time64MicrosecondType,
    |t| i64::from(t.num_seconds_from_midnight()) * 1_000_000
        + i64::from(t.nanosecond() % 1_000_000_000) / 1_000,
    |micros| {
        let seconds = u32::try_from(micros.div_euclid(1_000_000)).ok();
        let nanos = (micros.rem_euclid(1_000_000) * 1_000) as u32;
        seconds
            .and_then(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, nanos))
            .ok_or_else(|| format!("{micros} µs is not a time of day"))
    }
);

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

/// Rows `start..end` of a timestamp column as instants, converted by `from`: the date
/// of the last day read is kept, so the rows of one day (a time series) work out
/// their date once.
fn read_instants<U: Unit, T>(
    column: &PrimitiveArray<U::Arrow>,
    start: usize,
    end: usize,
    out: &mut Vec<T>,
    from: impl Fn(NaiveDateTime) -> T,
) -> Result<(), (usize, String)> {
    let per_second: i64 = match U::UNIT {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let per_day = per_second * 86_400;
    let Some(counts) = column.values().get(start..end) else {
        return Err((start, "the column is shorter than the batch".to_owned()));
    };
    // Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
    const EPOCH_FROM_CE: i64 = 719_163;
    let mut last: Option<(i64, NaiveDate)> = None;
    for (k, &count) in counts.iter().enumerate() {
        let day = count.div_euclid(per_day);
        let date = match last {
            Some((d, date)) if d == day => Some(date),
            _ => {
                let date = i32::try_from(day + EPOCH_FROM_CE)
                    .ok()
                    .and_then(NaiveDate::from_num_days_from_ce_opt);
                last = date.map(|date| (day, date));
                date
            }
        };
        let within = count.rem_euclid(per_day);
        // Both below their bounds: a day's seconds, and a second's nanoseconds.
        let seconds = (within / per_second) as u32;
        let nanos = ((within % per_second) * (1_000_000_000 / per_second)) as u32;
        match date.zip(NaiveTime::from_num_seconds_from_midnight_opt(
            seconds, nanos,
        )) {
            Some((date, time)) => out.push(from(NaiveDateTime::new(date, time))),
            None => {
                return Err((
                    start + k,
                    format!("{count} {:?} is out of chrono's range", U::UNIT),
                ))
            }
        }
    }
    Ok(())
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
            fn any_null(column: &Self::Column, start: usize, end: usize) -> bool {
                super::codec::any_null_in(column.nulls(), start, end)
            }
            #[inline]
            fn read(column: &Self::Column, i: usize) -> Result<$rust, String> {
                read_instant::<U>(column, i).map($from)
            }
            fn read_into(
                column: &Self::Column,
                start: usize,
                end: usize,
                out: &mut Vec<$rust>,
            ) -> Result<(), (usize, String)> {
                read_instants::<U, $rust>(column, start, end, out, $from)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts read a column at a time are the instants read one by one, across days,
    /// before the epoch, and at the ends of chrono's range and of i64.
    fn same_instants<U: Unit>() {
        let mut counts: Vec<i64> = vec![i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        let mut x: u64 = 7;
        for _ in 0..2_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            counts.push(x as i64);
            counts.push((x as i64) >> 20);
            counts.push((x as i64) >> 40);
        }
        // Consecutive counts of one day and across its end.
        let day_two = NaiveDate::from_ymd_opt(1970, 1, 2).and_then(|d| d.and_hms_opt(0, 0, 0));
        let per_day = day_two.and_then(|d| U::count(&d)).expect("a day's count");
        counts.extend((0..50).map(|k| 3 * per_day - 25 + k));
        counts.extend((0..50).map(|k| -3 * per_day - 25 + k));
        let column = PrimitiveArray::<U::Arrow>::new(counts.clone().into(), None);
        for (i, &count) in counts.iter().enumerate() {
            let mut out = Vec::new();
            let got = read_instants::<U, NaiveDateTime>(&column, i, i + 1, &mut out, |n| n);
            match U::instant(count) {
                Some(want) => assert_eq!((got, out), (Ok(()), vec![want]), "count {count}"),
                None => assert!(got.is_err(), "count {count} read as {out:?}"),
            }
        }
        // In one call, the first unreadable count is named.
        let mut out = Vec::new();
        let got = read_instants::<U, NaiveDateTime>(&column, 0, counts.len(), &mut out, |n| n);
        let first_bad = counts.iter().position(|&c| U::instant(c).is_none());
        assert_eq!(got.err().map(|e| e.0), first_bad);
    }

    #[test]
    fn timestamps_read_a_column_at_a_time_as_one_by_one() {
        same_instants::<Seconds>();
        same_instants::<Millis>();
        same_instants::<Micros>();
        same_instants::<Nanos>();
    }
}

//! Column builders: each PostgreSQL type's binary form decoded into its Arrow builder,
//! rows gathered into batches bounded in rows and bytes.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use tokio_postgres::types::{Kind, Type};
use tonic::Code;

use super::params::{base, is_text};
use super::Ended;
use crate::service::Emitter;
use crate::{Error, Result};

/// Rows decoded into column builders, cut into batches by rows and bytes.
pub(super) struct Batcher {
    schema: SchemaRef,
    columns: Vec<Column>,
    names: Vec<String>,
    rows: usize,
    bytes: usize,
    row_number: u64,
    batch_rows: usize,
    batch_bytes: usize,
    ready: Vec<RecordBatch>,
    sent_any: bool,
}

impl Batcher {
    /// The columns of each row.
    pub(super) fn width(&self) -> usize {
        self.columns.len()
    }

    pub(super) fn new(
        columns: &[tokio_postgres::Column],
        batch_rows: usize,
        batch_bytes: usize,
    ) -> Result<Self> {
        let capacity = batch_rows.min(4096);
        let mut fields = Vec::with_capacity(columns.len());
        let mut decoders = Vec::with_capacity(columns.len());
        for column in columns {
            let decoder = Column::of(column.type_(), capacity).ok_or_else(|| {
                Error::status(
                    Code::InvalidArgument,
                    format!(
                        "column `{}` has type `{}`, which has no Arrow type here: cast it in the query (`{}::text`)",
                        column.name(),
                        column.type_().name(),
                        column.name()
                    ),
                )
            })?;
            fields.push(Field::new(column.name(), decoder.data_type(), true));
            decoders.push(decoder);
        }
        Ok(Self {
            schema: Arc::new(Schema::new(fields)),
            columns: decoders,
            names: columns.iter().map(|c| c.name().to_owned()).collect(),
            rows: 0,
            bytes: 0,
            row_number: 0,
            batch_rows,
            batch_bytes,
            ready: Vec::new(),
            sent_any: false,
        })
    }

    /// Appends one row, its fields given by `field(i)` (`None`: NULL).
    pub(super) fn row<'a>(
        &mut self,
        mut field: impl FnMut(usize) -> Result<Option<&'a [u8]>>,
    ) -> Result<()> {
        self.row_number += 1;
        for i in 0..self.columns.len() {
            let value = field(i)?;
            let bytes = value.map_or(1, <[u8]>::len);
            if bytes > self.batch_bytes {
                return Err(Error::status(
                    Code::ResourceExhausted,
                    format!(
                        "row {}, column `{}`: a value of {bytes} bytes is above the batch limit of {} bytes (max_batch_bytes)",
                        self.row_number, self.names[i], self.batch_bytes
                    ),
                ));
            }
            self.bytes += bytes;
            self.columns[i].append(value).map_err(|what| {
                Error::status(
                    Code::InvalidArgument,
                    format!(
                        "row {}, column `{}`: {what}",
                        self.row_number, self.names[i]
                    ),
                )
            })?;
        }
        self.rows += 1;
        if self.rows >= self.batch_rows || self.bytes >= self.batch_bytes {
            self.cut()?;
        }
        Ok(())
    }

    pub(super) fn cut(&mut self) -> Result<()> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        self.ready
            .push(RecordBatch::try_new(Arc::clone(&self.schema), arrays)?);
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }

    /// Sends the batches cut so far.
    pub(super) async fn send_full(&mut self, emitter: &Emitter) -> std::result::Result<(), Ended> {
        for batch in std::mem::take(&mut self.ready) {
            self.sent_any = true;
            emitter
                .send_async(batch)
                .await
                .map_err(|_| Ended::Dropped)?;
        }
        Ok(())
    }

    /// Sends the rest: the last rows, or one empty batch for a result of no rows.
    pub(super) async fn finish(mut self, emitter: &Emitter) -> std::result::Result<(), Ended> {
        if self.rows > 0 {
            self.cut().map_err(Ended::Failed)?;
        } else if !self.sent_any && self.ready.is_empty() {
            self.ready
                .push(RecordBatch::new_empty(Arc::clone(&self.schema)));
        }
        self.send_full(emitter).await
    }
}

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// One column's decoder and builder.
pub(super) enum Column {
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Text(StringBuilder),
    Jsonb(StringBuilder),
    Numeric(StringBuilder, String),
    Bytes(BinaryBuilder),
    Uuid(FixedSizeBinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder, Option<Arc<str>>),
}

pub(super) fn fixed<const N: usize>(v: &[u8]) -> std::result::Result<[u8; N], String> {
    v.try_into()
        .map_err(|_| format!("{} bytes where {N} were expected", v.len()))
}

impl Column {
    pub(super) fn of(ty: &Type, capacity: usize) -> Option<Self> {
        let ty = base(ty);
        if let Kind::Enum(_) = ty.kind() {
            return Some(Column::Text(StringBuilder::with_capacity(
                capacity,
                capacity * 8,
            )));
        }
        Some(match ty {
            t if t == Type::BOOL => Column::Bool(BooleanBuilder::with_capacity(capacity)),
            t if t == Type::INT2 => Column::I16(Int16Builder::with_capacity(capacity)),
            t if t == Type::INT4 => Column::I32(Int32Builder::with_capacity(capacity)),
            t if t == Type::INT8 => Column::I64(Int64Builder::with_capacity(capacity)),
            t if t == Type::FLOAT4 => Column::F32(Float32Builder::with_capacity(capacity)),
            t if t == Type::FLOAT8 => Column::F64(Float64Builder::with_capacity(capacity)),
            t if is_text(&t) || t == Type::JSON => {
                Column::Text(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            t if t == Type::JSONB => {
                Column::Jsonb(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            t if t == Type::NUMERIC => Column::Numeric(
                StringBuilder::with_capacity(capacity, capacity * 8),
                String::new(),
            ),
            t if t == Type::BYTEA => {
                Column::Bytes(BinaryBuilder::with_capacity(capacity, capacity * 16))
            }
            t if t == Type::UUID => {
                Column::Uuid(FixedSizeBinaryBuilder::with_capacity(capacity, 16))
            }
            t if t == Type::DATE => Column::Date(Date32Builder::with_capacity(capacity)),
            t if t == Type::TIME => Column::Time(Time64MicrosecondBuilder::with_capacity(capacity)),
            t if t == Type::TIMESTAMP => {
                Column::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity), None)
            }
            t if t == Type::TIMESTAMPTZ => Column::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
                Some(Arc::from("UTC")),
            ),
            _ => return None,
        })
    }

    pub(super) fn data_type(&self) -> DataType {
        match self {
            Column::Bool(_) => DataType::Boolean,
            Column::I16(_) => DataType::Int16,
            Column::I32(_) => DataType::Int32,
            Column::I64(_) => DataType::Int64,
            Column::F32(_) => DataType::Float32,
            Column::F64(_) => DataType::Float64,
            Column::Text(_) | Column::Jsonb(_) | Column::Numeric(..) => DataType::Utf8,
            Column::Bytes(_) => DataType::Binary,
            Column::Uuid(_) => DataType::FixedSizeBinary(16),
            Column::Date(_) => DataType::Date32,
            Column::Time(_) => DataType::Time64(TimeUnit::Microsecond),
            Column::Timestamp(_, zone) => DataType::Timestamp(TimeUnit::Microsecond, zone.clone()),
        }
    }

    /// Appends one field in PostgreSQL's binary form (`None`: NULL).
    pub(super) fn append(&mut self, value: Option<&[u8]>) -> std::result::Result<(), String> {
        let Some(v) = value else {
            match self {
                Column::Bool(b) => b.append_null(),
                Column::I16(b) => b.append_null(),
                Column::I32(b) => b.append_null(),
                Column::I64(b) => b.append_null(),
                Column::F32(b) => b.append_null(),
                Column::F64(b) => b.append_null(),
                Column::Text(b) | Column::Jsonb(b) | Column::Numeric(b, _) => b.append_null(),
                Column::Bytes(b) => b.append_null(),
                Column::Uuid(b) => b.append_null(),
                Column::Date(b) => b.append_null(),
                Column::Time(b) => b.append_null(),
                Column::Timestamp(b, _) => b.append_null(),
            }
            return Ok(());
        };
        match self {
            Column::Bool(b) => b.append_value(fixed::<1>(v)?[0] != 0),
            Column::I16(b) => b.append_value(i16::from_be_bytes(fixed(v)?)),
            Column::I32(b) => b.append_value(i32::from_be_bytes(fixed(v)?)),
            Column::I64(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            Column::F32(b) => b.append_value(f32::from_be_bytes(fixed(v)?)),
            Column::F64(b) => b.append_value(f64::from_be_bytes(fixed(v)?)),
            Column::Text(b) => b.append_value(utf8(v)?),
            Column::Jsonb(b) => match v.split_first() {
                Some((1, text)) => b.append_value(utf8(text)?),
                _ => return Err("a jsonb value of an unknown version".to_owned()),
            },
            Column::Numeric(b, text) => {
                text.clear();
                numeric_text(v, text)?;
                b.append_value(text.as_str());
            }
            Column::Bytes(b) => b.append_value(v),
            Column::Uuid(b) => b.append_value(fixed::<16>(v)?).map_err(|e| e.to_string())?,
            Column::Date(b) => {
                let days = i32::from_be_bytes(fixed(v)?);
                if days == i32::MAX || days == i32::MIN {
                    return Err(
                        "an infinite date has no Arrow value: filter it out or cast it".to_owned(),
                    );
                }
                b.append_value(
                    days.checked_add(PG_EPOCH_DAYS)
                        .ok_or("a date out of range")?,
                )
            }
            Column::Time(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            Column::Timestamp(b, _) => {
                let micros = i64::from_be_bytes(fixed(v)?);
                if micros == i64::MAX || micros == i64::MIN {
                    return Err(
                        "an infinite timestamp has no Arrow value: filter it out or cast it"
                            .to_owned(),
                    );
                }
                b.append_value(
                    micros
                        .checked_add(PG_EPOCH_MICROS)
                        .ok_or("a timestamp out of range")?,
                )
            }
        }
        Ok(())
    }

    pub(super) fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Bool(b) => Arc::new(b.finish()),
            Column::I16(b) => Arc::new(b.finish()),
            Column::I32(b) => Arc::new(b.finish()),
            Column::I64(b) => Arc::new(b.finish()),
            Column::F32(b) => Arc::new(b.finish()),
            Column::F64(b) => Arc::new(b.finish()),
            Column::Text(b) | Column::Jsonb(b) | Column::Numeric(b, _) => Arc::new(b.finish()),
            Column::Bytes(b) => Arc::new(b.finish()),
            Column::Uuid(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Time(b) => Arc::new(b.finish()),
            Column::Timestamp(b, _) => ArrayBuilder::finish(b),
        }
    }
}

pub(super) fn utf8(v: &[u8]) -> std::result::Result<&str, String> {
    std::str::from_utf8(v).map_err(|e| format!("text that is not UTF-8: {e}"))
}

/// A `numeric` in binary form as PostgreSQL prints it: digits in base 10,000 with a
/// weight (the first group's power), a sign and the scale to show.
pub(super) fn numeric_text(v: &[u8], out: &mut String) -> std::result::Result<(), String> {
    use std::fmt::Write;
    let word = |i: usize| -> std::result::Result<u16, String> {
        v.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a numeric value cut short".to_owned())
    };
    let digits = word(0)? as usize;
    let weight = word(2)? as i16 as i32;
    let sign = word(4)?;
    let scale = word(6)? as usize;
    match sign {
        0xC000 => {
            out.push_str("NaN");
            return Ok(());
        }
        0xD000 => {
            out.push_str("Infinity");
            return Ok(());
        }
        0xF000 => {
            out.push_str("-Infinity");
            return Ok(());
        }
        0x0000 | 0x4000 => {}
        _ => return Err("a numeric value of an unknown sign".to_owned()),
    }
    if v.len() != 8 + 2 * digits {
        return Err("a numeric value of the wrong length".to_owned());
    }
    let digit = |i: i32| -> u16 {
        if i >= 0 && (i as usize) < digits {
            u16::from_be_bytes([v[8 + 2 * i as usize], v[9 + 2 * i as usize]])
        } else {
            0
        }
    };
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for d in 0..=weight {
            let _ = if d == 0 {
                write!(out, "{}", digit(0))
            } else {
                write!(out, "{:04}", digit(d))
            };
        }
    }
    if scale > 0 {
        out.push('.');
        let start = out.len();
        let mut d = weight + 1;
        while out.len() - start < scale {
            let _ = write!(out, "{:04}", digit(d));
            d += 1;
        }
        out.truncate(start + scale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(digits: &[u16], weight: i16, sign: u16, scale: u16) -> String {
        let mut v = Vec::new();
        for w in [digits.len() as u16, weight as u16, sign, scale] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        let mut out = String::new();
        numeric_text(&v, &mut out).unwrap();
        out
    }

    #[test]
    fn numerics_print_as_postgresql_prints_them() {
        assert_eq!(numeric(&[1, 2345, 6789, 1], 2, 0, 6), "123456789.000100");
        assert_eq!(numeric(&[12, 3400], 0, 0x4000, 2), "-12.34");
        assert_eq!(numeric(&[], 0, 0, 0), "0");
        assert_eq!(numeric(&[], 0, 0, 3), "0.000");
        assert_eq!(numeric(&[1], -5, 0, 20), "0.00000000000000000001");
        assert_eq!(numeric(&[5000], -1, 0, 1), "0.5");
        assert_eq!(numeric(&[5], -1, 0, 1), "0.0");
        assert_eq!(numeric(&[], 0, 0xC000, 0), "NaN");
        assert_eq!(numeric(&[], 0, 0xD000, 32), "Infinity");
        assert_eq!(numeric(&[], 0, 0xF000, 32), "-Infinity");
        assert_eq!(numeric(&[1], 1, 0, 0), "10000");
        let mut out = String::new();
        assert!(numeric_text(&[0, 1, 0, 0], &mut out).is_err());
        assert!(numeric_text(&[0, 2, 0, 0, 0, 0, 0, 0, 0, 1], &mut out).is_err());
    }

    #[test]
    fn fields_of_the_wrong_width_are_refused() {
        let mut column = Column::of(&Type::INT4, 4).unwrap();
        assert!(column.append(Some(&[0, 0, 1])).is_err());
        column.append(Some(&[0, 0, 1, 0])).unwrap();
        column.append(None).unwrap();
        let array = column.finish();
        assert_eq!(array.len(), 2);
        assert_eq!(array.null_count(), 1);
        let mut jsonb = Column::of(&Type::JSONB, 1).unwrap();
        assert!(jsonb.append(Some(b"\x02{}")).is_err());
        let mut date = Column::of(&Type::DATE, 1).unwrap();
        assert!(date
            .append(Some(&i32::MAX.to_be_bytes()))
            .unwrap_err()
            .contains("infinite"));
    }
}

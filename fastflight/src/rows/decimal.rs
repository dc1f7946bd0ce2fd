//! `rust_decimal::Decimal` as `Decimal128(38, scale)` (the `decimal` feature): scale 10
//! unless `#[arrow(scale = N)]` (0 to 28) says otherwise. A value with more decimals
//! than its column's scale is an error naming the field, never rounded.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Decimal128Array, Decimal128Builder};
use arrow::datatypes::DataType;
use rust_decimal::Decimal;

use super::codec::{downcast, ArrowField, Codec};

/// The precision of every decimal column: Decimal128's largest.
pub const PRECISION: u8 = 38;

/// The scale of a decimal column unless `#[arrow(scale = N)]` says otherwise.
pub const DEFAULT_SCALE: u32 = 10;

/// `Decimal` as `Decimal128(38, SCALE)`.
pub struct Decimal128<const SCALE: u32>;

/// A decimal column's builder: the first value that did not fit is kept for the error.
pub struct DecimalBuilder {
    values: Decimal128Builder,
    unfit: Option<String>,
}

fn rescaled(value: &Decimal, scale: u32) -> Result<i128, String> {
    let from = value.scale();
    if from > scale {
        let normal = value.normalize();
        if normal.scale() <= scale {
            return rescaled(&normal, scale);
        }
        return Err(format!(
            "{value} has {from} decimals, more than the column's scale of {scale}: round it, or choose a larger `#[arrow(scale = ..)]`"
        ));
    }
    10_i128
        .checked_pow(scale - from)
        .and_then(|factor| value.mantissa().checked_mul(factor))
        .ok_or_else(|| format!("{value} does not fit Decimal128({PRECISION}, {scale})"))
}

impl<const SCALE: u32> Codec<Decimal> for Decimal128<SCALE> {
    type Builder = DecimalBuilder;
    type Column = Decimal128Array;
    fn data_type() -> DataType {
        DataType::Decimal128(PRECISION, SCALE as i8)
    }
    fn builder(capacity: usize) -> Self::Builder {
        DecimalBuilder {
            values: Decimal128Builder::with_capacity(capacity),
            unfit: None,
        }
    }
    #[inline]
    fn append(builder: &mut Self::Builder, value: &Decimal) {
        match rescaled(value, SCALE) {
            Ok(units) => builder.values.append_value(units),
            Err(e) => {
                builder.unfit.get_or_insert(e);
                builder.values.append_null();
            }
        }
    }
    fn append_null(builder: &mut Self::Builder) {
        builder.values.append_null()
    }
    fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
        let values = builder.values.finish();
        if let Some(e) = builder.unfit.take() {
            return Err(e);
        }
        values
            .with_precision_and_scale(PRECISION, SCALE as i8)
            .map(|a| Arc::new(a) as ArrayRef)
            .map_err(|e| e.to_string())
    }
    fn column(array: &ArrayRef) -> Result<Self::Column, String> {
        downcast(array, &Self::data_type())
    }
    #[inline]
    fn is_null(column: &Self::Column, i: usize) -> bool {
        column.is_null(i)
    }
    fn read(column: &Self::Column, i: usize) -> Result<Decimal, String> {
        let units = column.value(i);
        Decimal::try_from_i128_with_scale(units, SCALE)
            .map_err(|e| format!("{units} × 10^-{SCALE} is no rust_decimal Decimal: {e}"))
    }
    fn size(_: &Decimal) -> usize {
        16
    }
}

impl ArrowField for Decimal {
    type Codec = Decimal128<DEFAULT_SCALE>;
}

/// The codec of a decimal type at another scale (`#[arrow(scale = N)]`).
#[diagnostic::on_unimplemented(
    message = "`#[arrow(scale = ..)]` is for `rust_decimal::Decimal` fields, not `{Self}`"
)]
pub trait AtScale<const SCALE: u32> {
    /// Its codec at that scale.
    type Codec: Codec<Self>
    where
        Self: Sized;
}

impl<const SCALE: u32> AtScale<SCALE> for Decimal {
    type Codec = Decimal128<SCALE>;
}

//! `uuid::Uuid` as `FixedSizeBinary(16)` (the `uuid` feature).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, FixedSizeBinaryArray, FixedSizeBinaryBuilder};
use arrow::datatypes::DataType;
use uuid::Uuid;

use super::codec::{array_methods, downcast, ArrowField, Codec};

/// `Uuid` as `FixedSizeBinary(16)`, its 16 bytes in order.
pub struct Uuid16;

impl Codec<Uuid> for Uuid16 {
    type Builder = FixedSizeBinaryBuilder;
    type Column = FixedSizeBinaryArray;
    fn data_type() -> DataType {
        DataType::FixedSizeBinary(16)
    }
    fn builder(capacity: usize) -> Self::Builder {
        FixedSizeBinaryBuilder::with_capacity(capacity, 16)
    }
    #[inline]
    fn append(builder: &mut Self::Builder, value: &Uuid) {
        // Always 16 bytes, the builder's width: it cannot refuse them.
        if builder.append_value(value.as_bytes()).is_err() {
            builder.append_null();
        }
    }
    array_methods!();
    #[inline]
    fn read(column: &Self::Column, i: usize) -> Result<Uuid, String> {
        Uuid::from_slice(column.value(i)).map_err(|e| e.to_string())
    }
    fn size(_: &Uuid) -> usize {
        16
    }
}

impl ArrowField for Uuid {
    type Codec = Uuid16;
}

//! How one Rust type becomes one Arrow column and back: [`Codec`], and the codecs of
//! the common types (integers, floats, `bool`, `String`, `Vec<u8>`), of `Option<T>`
//! (nullable), `Vec<T>` (`List<T>`), nested rows (`Struct`), unit-only enums and
//! dictionary strings (`Dictionary(Int8 | Int16, Utf8)`), and [`Via`], a field stored as
//! another type.

use std::marker::PhantomData;
use std::sync::Arc;

use arrow::array::builder::{ArrayBuilder, NullBufferBuilder};
use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray, BooleanBuilder,
    DictionaryArray, ListArray, PrimitiveArray, PrimitiveBuilder, StringArray, StringBuilder,
    StructArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Field, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};

use super::{ArrowRow, RowBuilder, RowReader};

/// How values of `T` are written into one Arrow column and read back from it.
///
/// Every field of an `ArrowRow` has one: the type's own ([`ArrowField::Codec`]), or
/// the one its attributes choose (`#[arrow(dictionary)]`, `#[arrow(unit = "ns")]`,
/// `#[arrow(with = Conversion)]`). Columns are found and downcast once per batch
/// ([`Codec::column`]); rows are then read by index.
pub trait Codec<T>: 'static {
    /// What values are appended to.
    type Builder: Send + 'static;
    /// A batch's column, downcast.
    type Column: Send + 'static;
    /// Whether the column may hold nulls (`Option<T>` fields only).
    const NULLABLE: bool = false;
    /// The column's Arrow type.
    fn data_type() -> DataType;
    /// A builder with room for `capacity` values.
    fn builder(capacity: usize) -> Self::Builder;
    /// Appends one value.
    fn append(builder: &mut Self::Builder, value: &T);
    /// Appends a null: for `Option` fields, and under a null nested row.
    fn append_null(builder: &mut Self::Builder);
    /// The column of every value appended since the last finish; `Err` says why a
    /// value could not be stored (a timestamp out of its unit's range).
    fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String>;
    /// The column, downcast; `Err` says what it is instead.
    fn column(array: &ArrayRef) -> Result<Self::Column, String>;
    /// Whether row `i` is null.
    fn is_null(column: &Self::Column, i: usize) -> bool;
    /// The value of row `i` (not null).
    fn read(column: &Self::Column, i: usize) -> Result<T, String>;
    /// About how many bytes the value takes in a batch (how batches are cut).
    fn size(value: &T) -> usize;

    /// Appends every value of a slice (a list's items).
    #[inline]
    fn append_all(builder: &mut Self::Builder, values: &[T]) {
        for value in values {
            Self::append(builder, value);
        }
    }

    /// Appends the value `get` picks out of each of `items`: a column of rows at a
    /// time (how a slice of rows is written).
    #[inline]
    fn extend<P>(builder: &mut Self::Builder, items: &[P], get: impl Fn(&P) -> &T) {
        for item in items {
            Self::append(builder, get(item));
        }
    }

    /// Appends the value or null `get` picks out of each of `items` (an `Option<T>`
    /// field's column at a time).
    #[inline]
    fn extend_options<P>(builder: &mut Self::Builder, items: &[P], get: impl Fn(&P) -> Option<&T>) {
        for item in items {
            match get(item) {
                Some(value) => Self::append(builder, value),
                None => Self::append_null(builder),
            }
        }
    }

    /// Whether any of rows `start..end` is null.
    #[inline]
    fn any_null(column: &Self::Column, start: usize, end: usize) -> bool {
        (start..end).any(|i| Self::is_null(column, i))
    }

    /// Appends the values of rows `start..end` (none null, unless the codec is
    /// nullable) to `out`; `Err` is the first row that cannot be read, and why.
    #[inline]
    fn read_into(
        column: &Self::Column,
        start: usize,
        end: usize,
        out: &mut Vec<T>,
    ) -> Result<(), (usize, String)> {
        for i in start..end {
            out.push(Self::read(column, i).map_err(|e| (i, e))?);
        }
        Ok(())
    }

    /// Rows `start..end` (a list's items): `Err` names the first null of a codec that
    /// is not nullable, or the first value that cannot be read.
    fn read_range(column: &Self::Column, start: usize, end: usize) -> Result<Vec<T>, String> {
        read_items::<T, Self>(column, start, end)
    }
}

/// [`Codec::read_range`] row by row.
fn read_items<T, C: Codec<T> + ?Sized>(
    column: &C::Column,
    start: usize,
    end: usize,
) -> Result<Vec<T>, String> {
    (start..end)
        .map(|j| {
            if !C::NULLABLE && C::is_null(column, j) {
                Err(format!(
                    "item {}: null in a list of non-null items",
                    j - start
                ))
            } else {
                C::read(column, j)
            }
        })
        .collect()
}

/// A Rust type with an Arrow column type of its own, usable as an `ArrowRow` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an ArrowRow",
    label = "no Arrow column type for `{Self}`",
    note = "supported: i8..i64, u8..u64, f32, f64, bool, String, Vec<u8> (Binary), Option<T> (nullable), Vec<T> (List), a struct or unit-only enum deriving ArrowRow, with the `chrono` feature DateTime<Utc>, NaiveDateTime, NaiveDate, NaiveTime, with `decimal` rust_decimal::Decimal, with `uuid` uuid::Uuid",
    note = "for a type of your own, store it as one of these: `#[arrow(with = MyConversion)]` where `MyConversion: fastflight::rows::Convert<{Self}>`, or skip it: `#[arrow(skip)]`"
)]
pub trait ArrowField: Sized {
    /// Its codec.
    type Codec: Codec<Self>;
}

/// The column as its array type `A`, when it is of the `expected` type exactly (a
/// timestamp's zone and a decimal's scale included); `Err` says what it is instead.
pub(crate) fn downcast<A: Array + Clone + 'static>(
    array: &ArrayRef,
    expected: &DataType,
) -> Result<A, String> {
    array
        .as_any()
        .downcast_ref::<A>()
        .filter(|_| array.data_type() == expected)
        .cloned()
        .ok_or_else(|| wrong_type(expected, array.as_ref()))
}

/// The methods of a codec whose builder is an Arrow builder and whose column is its
/// array: nulls appended by the builder, the array finished as it is, the column
/// downcast to the array type, nulls read from its validity.
macro_rules! array_methods {
    () => {
        fn append_null(builder: &mut Self::Builder) {
            builder.append_null()
        }
        fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
            Ok(Arc::new(builder.finish()))
        }
        fn column(array: &ArrayRef) -> Result<Self::Column, String> {
            downcast(array, &Self::data_type())
        }
        #[inline]
        fn is_null(column: &Self::Column, i: usize) -> bool {
            column.is_null(i)
        }
        #[inline]
        fn any_null(column: &Self::Column, start: usize, end: usize) -> bool {
            $crate::rows::codec::any_null_in(column.nulls(), start, end)
        }
    };
}

#[cfg(any(feature = "chrono", feature = "uuid"))]
pub(crate) use array_methods;

/// Whether any of rows `start..end` is null in `nulls`.
#[inline]
pub(crate) fn any_null_in(nulls: Option<&NullBuffer>, start: usize, end: usize) -> bool {
    nulls.is_some_and(|n| {
        end > start && end <= n.len() && n.slice(start, end - start).null_count() > 0
    })
}

/// An error of a column of the wrong type.
pub(crate) fn wrong_type(expected: &DataType, array: &dyn Array) -> String {
    format!(
        "the row type has {expected}, the batch has {}",
        array.data_type()
    )
}

/// The codec of a primitive Arrow type `P` holding Rust values of `T`.
pub struct Primitive<P>(PhantomData<P>);

/// `impl Codec<$rust> for $codec` over a primitive Arrow type: values converted by
/// `$to` (from `&$rust`) and `$from` (to `Result<$rust, String>`). With `slices`, the
/// values are the Rust values themselves, and a list's items are appended and read as
/// slices.
macro_rules! primitive_codec {
    ($codec:ty, $rust:ty, $arrow:ty, |$v:ident| $to:expr, |$n:ident| $from:expr) => {
        primitive_codec!(@impl $codec, $rust, $arrow, |$v| $to, |$n| $from, {});
    };
    ($codec:ty, $rust:ty, $arrow:ty, |$v:ident| $to:expr, |$n:ident| $from:expr, slices) => {
        primitive_codec!(@impl $codec, $rust, $arrow, |$v| $to, |$n| $from, {
            #[inline]
            fn append_all(builder: &mut Self::Builder, values: &[$rust]) {
                builder.append_slice(values)
            }

            #[inline]
            fn extend<P>(builder: &mut Self::Builder, items: &[P], get: impl Fn(&P) -> &$rust) {
                builder.extend_from_iter_option(items.iter().map(|item| Some(*get(item))))
            }

            #[inline]
            fn extend_options<P>(builder: &mut Self::Builder, items: &[P], get: impl Fn(&P) -> Option<&$rust>) {
                builder.extend_from_iter_option(items.iter().map(|item| get(item).copied()))
            }

            #[inline]
            fn read_into(column: &Self::Column, start: usize, end: usize, out: &mut Vec<$rust>) -> Result<(), (usize, String)> {
                match column.values().get(start..end) {
                    Some(values) => {
                        out.extend_from_slice(values);
                        Ok(())
                    }
                    None => Err((start, "the column is shorter than the batch".to_owned())),
                }
            }

            // The values themselves: one copy of the slice when none is null.
            fn read_range(column: &Self::Column, start: usize, end: usize) -> Result<Vec<$rust>, String> {
                match column.nulls() {
                    Some(nulls) if nulls.slice(start, end - start).null_count() > 0 => {
                        read_items::<$rust, Self>(column, start, end)
                    }
                    _ => Ok(column.values()[start..end].to_vec()),
                }
            }
        });
    };
    (@impl $codec:ty, $rust:ty, $arrow:ty, |$v:ident| $to:expr, |$n:ident| $from:expr, { $($extra:tt)* }) => {
        impl Codec<$rust> for $codec {
            type Builder = PrimitiveBuilder<$arrow>;
            type Column = PrimitiveArray<$arrow>;
            fn data_type() -> DataType {
                <$arrow as ArrowPrimitiveType>::DATA_TYPE
            }
            fn builder(capacity: usize) -> Self::Builder {
                PrimitiveBuilder::with_capacity(capacity)
            }
            #[inline]
            fn append(builder: &mut Self::Builder, $v: &$rust) {
                builder.append_value($to)
            }
            array_methods!();
            #[inline]
            fn read(column: &Self::Column, i: usize) -> Result<$rust, String> {
                let $n = column.value(i);
                $from
            }
            #[inline]
            fn size(_: &$rust) -> usize {
                std::mem::size_of::<<$arrow as ArrowPrimitiveType>::Native>()
            }
            $($extra)*
        }
        impl ArrowField for $rust {
            type Codec = $codec;
        }
    };
}

#[cfg(feature = "chrono")]
pub(crate) use primitive_codec;

macro_rules! primitives {
    ($($rust:ty => $arrow:ty),* $(,)?) => {$(
        primitive_codec!(Primitive<$arrow>, $rust, $arrow, |value| *value, |native| Ok(native), slices);
    )*};
}

primitives! {
    i8 => Int8Type, i16 => Int16Type, i32 => Int32Type, i64 => Int64Type,
    u8 => UInt8Type, u16 => UInt16Type, u32 => UInt32Type, u64 => UInt64Type,
    f32 => Float32Type, f64 => Float64Type,
}

/// `bool` as `Boolean`.
pub struct Bool;

impl Codec<bool> for Bool {
    type Builder = BooleanBuilder;
    type Column = BooleanArray;
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn builder(capacity: usize) -> Self::Builder {
        BooleanBuilder::with_capacity(capacity)
    }
    #[inline]
    fn append(builder: &mut Self::Builder, value: &bool) {
        builder.append_value(*value)
    }
    array_methods!();
    #[inline]
    fn read(column: &Self::Column, i: usize) -> Result<bool, String> {
        Ok(column.value(i))
    }
    fn size(_: &bool) -> usize {
        1
    }
}

impl ArrowField for bool {
    type Codec = Bool;
}

/// `impl Codec<$rust> for $codec` over a variable-width Arrow type (`Utf8`, `Binary`).
macro_rules! bytes_codec {
    ($(#[$doc:meta])* $codec:ident, $rust:ty, $builder:ty, $array:ty, $data_type:expr, |$v:ident| $owned:expr) => {
        $(#[$doc])*
        pub struct $codec;

        impl Codec<$rust> for $codec {
            type Builder = $builder;
            type Column = $array;
            fn data_type() -> DataType {
                $data_type
            }
            fn builder(capacity: usize) -> Self::Builder {
                <$builder>::with_capacity(capacity, capacity * 16)
            }
            #[inline]
            fn append(builder: &mut Self::Builder, value: &$rust) {
                builder.append_value(value)
            }
            array_methods!();
            #[inline]
            fn read(column: &Self::Column, i: usize) -> Result<$rust, String> {
                let $v = column.value(i);
                Ok($owned)
            }
            #[inline]
            fn size(value: &$rust) -> usize {
                value.len() + 4
            }
        }

        impl ArrowField for $rust {
            type Codec = $codec;
        }
    };
}

bytes_codec!(
    /// `String` as `Utf8`.
    Utf8, String, StringBuilder, StringArray, DataType::Utf8, |value| value.to_owned()
);

bytes_codec!(
    /// `Vec<u8>` as `Binary`.
    Binary, Vec<u8>, BinaryBuilder, BinaryArray, DataType::Binary, |value| value.to_vec()
);

/// `Option<T>`: the codec of `T`, nullable.
pub struct Nullable<C>(PhantomData<C>);

impl<T, C: Codec<T>> Codec<Option<T>> for Nullable<C> {
    type Builder = C::Builder;
    type Column = C::Column;
    const NULLABLE: bool = true;
    fn data_type() -> DataType {
        C::data_type()
    }
    fn builder(capacity: usize) -> Self::Builder {
        C::builder(capacity)
    }
    #[inline]
    fn append(builder: &mut Self::Builder, value: &Option<T>) {
        match value {
            Some(value) => C::append(builder, value),
            None => C::append_null(builder),
        }
    }
    #[inline]
    fn extend<P>(builder: &mut Self::Builder, items: &[P], get: impl Fn(&P) -> &Option<T>) {
        C::extend_options(builder, items, |item| get(item).as_ref())
    }
    fn append_null(builder: &mut Self::Builder) {
        C::append_null(builder)
    }
    fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
        C::finish(builder)
    }
    fn column(array: &ArrayRef) -> Result<Self::Column, String> {
        C::column(array)
    }
    #[inline]
    fn is_null(_: &Self::Column, _: usize) -> bool {
        false
    }
    #[inline]
    fn any_null(_: &Self::Column, _: usize, _: usize) -> bool {
        false
    }
    #[inline]
    fn read(column: &Self::Column, i: usize) -> Result<Option<T>, String> {
        if C::is_null(column, i) {
            Ok(None)
        } else {
            C::read(column, i).map(Some)
        }
    }
    #[inline]
    fn size(value: &Option<T>) -> usize {
        value.as_ref().map_or(1, C::size)
    }
}

impl<T: ArrowField> ArrowField for Option<T> {
    type Codec = Nullable<T::Codec>;
}

/// `Vec<T>` as `List<T>` (its items named `item`, nullable when `T` is an `Option`).
pub struct List<C>(PhantomData<C>);

/// The builder of a [`List`] column.
pub struct ListColumnBuilder<B> {
    values: B,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
}

/// A [`List`] column, downcast.
pub struct ListColumn<C> {
    offsets: OffsetBuffer<i32>,
    nulls: Option<NullBuffer>,
    values: C,
}

fn item_field<T, C: Codec<T>>() -> Arc<Field> {
    Arc::new(Field::new_list_field(C::data_type(), C::NULLABLE))
}

impl<T, C: Codec<T>> Codec<Vec<T>> for List<C> {
    type Builder = ListColumnBuilder<C::Builder>;
    type Column = ListColumn<C::Column>;
    fn data_type() -> DataType {
        DataType::List(item_field::<T, C>())
    }
    fn builder(capacity: usize) -> Self::Builder {
        let mut offsets = Vec::with_capacity(capacity + 1);
        offsets.push(0);
        ListColumnBuilder {
            values: C::builder(capacity),
            offsets,
            nulls: NullBufferBuilder::new(capacity),
        }
    }
    #[inline]
    fn append(builder: &mut Self::Builder, value: &Vec<T>) {
        C::append_all(&mut builder.values, value);
        let last = builder.offsets.last().copied().unwrap_or(0);
        // A list column holds at most i32::MAX items in a batch; the row batcher cuts
        // batches long before (by bytes).
        let len = i32::try_from(value.len()).unwrap_or(i32::MAX);
        builder.offsets.push(last.saturating_add(len));
        builder.nulls.append_non_null();
    }
    fn append_null(builder: &mut Self::Builder) {
        let last = builder.offsets.last().copied().unwrap_or(0);
        builder.offsets.push(last);
        builder.nulls.append_null();
    }
    fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
        let offsets = std::mem::replace(&mut builder.offsets, vec![0]);
        let values = C::finish(&mut builder.values)?;
        let nulls = builder.nulls.finish();
        ListArray::try_new(
            item_field::<T, C>(),
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            values,
            nulls,
        )
        .map(|a| Arc::new(a) as ArrayRef)
        .map_err(|e| e.to_string())
    }
    fn column(array: &ArrayRef) -> Result<Self::Column, String> {
        let list = array
            .as_list_opt::<i32>()
            .ok_or_else(|| wrong_type(&Self::data_type(), array.as_ref()))?;
        Ok(ListColumn {
            offsets: list.offsets().clone(),
            nulls: list.nulls().cloned(),
            values: C::column(list.values()).map_err(|e| format!("its items: {e}"))?,
        })
    }
    #[inline]
    fn is_null(column: &Self::Column, i: usize) -> bool {
        column.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
    #[inline]
    fn read(column: &Self::Column, i: usize) -> Result<Vec<T>, String> {
        let start = column.offsets[i].max(0) as usize;
        let end = column.offsets[i + 1].max(0) as usize;
        C::read_range(&column.values, start, end)
    }
    fn size(value: &Vec<T>) -> usize {
        4 + value.iter().map(C::size).sum::<usize>()
    }
}

/// A nested row (a struct deriving `ArrowRow`) as `Struct`.
pub struct Nested<R>(PhantomData<R>);

/// The builder of a [`Nested`] column.
pub struct NestedBuilder<B> {
    rows: B,
    nulls: NullBufferBuilder,
}

/// A [`Nested`] column, downcast.
pub struct NestedColumn<R> {
    rows: R,
    nulls: Option<NullBuffer>,
}

impl<R: ArrowRow> Codec<R> for Nested<R> {
    type Builder = NestedBuilder<R::Builder>;
    type Column = NestedColumn<R::Reader>;
    fn data_type() -> DataType {
        DataType::Struct(R::fields())
    }
    fn builder(capacity: usize) -> Self::Builder {
        NestedBuilder {
            rows: R::builder(capacity),
            nulls: NullBufferBuilder::new(capacity),
        }
    }
    #[inline]
    fn append(builder: &mut Self::Builder, value: &R) {
        builder.rows.append(value);
        builder.nulls.append_non_null();
    }
    #[inline]
    fn extend<P>(builder: &mut Self::Builder, items: &[P], get: impl Fn(&P) -> &R) {
        builder.rows.extend_from(items, get);
        builder.nulls.append_n_non_nulls(items.len());
    }
    fn append_null(builder: &mut Self::Builder) {
        builder.rows.append_null();
        builder.nulls.append_null();
    }
    fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
        let columns = builder.rows.finish_columns()?;
        let nulls = builder.nulls.finish();
        StructArray::try_new(R::fields(), columns, nulls)
            .map(|a| Arc::new(a) as ArrayRef)
            .map_err(|e| e.to_string())
    }
    fn column(array: &ArrayRef) -> Result<Self::Column, String> {
        let nested = array
            .as_struct_opt()
            .ok_or_else(|| wrong_type(&Self::data_type(), array.as_ref()))?;
        let rows = R::reader(nested.fields(), nested.columns()).map_err(|e| e.message)?;
        Ok(NestedColumn {
            rows,
            nulls: nested.nulls().cloned(),
        })
    }
    #[inline]
    fn is_null(column: &Self::Column, i: usize) -> bool {
        column.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
    #[inline]
    fn any_null(column: &Self::Column, start: usize, end: usize) -> bool {
        any_null_in(column.nulls.as_ref(), start, end)
    }
    #[inline]
    fn read(column: &Self::Column, i: usize) -> Result<R, String> {
        column.rows.read(i).map_err(|e| e.message)
    }
    #[inline]
    fn read_into(
        column: &Self::Column,
        start: usize,
        end: usize,
        out: &mut Vec<R>,
    ) -> Result<(), (usize, String)> {
        column
            .rows
            .read_rows(start, end, out)
            .map_err(|e| (start, e.message))
    }
    fn size(value: &R) -> usize {
        value.size()
    }
}

/// A unit-only enum deriving `ArrowRow`: its variants' names, in order.
pub trait ArrowEnum: Sized + Send + 'static {
    /// Every variant's name (serde's renames applied), in declaration order.
    const VARIANTS: &'static [&'static str];
    /// The variant's index in [`ArrowEnum::VARIANTS`].
    fn index(&self) -> usize;
    /// The variant at `index`.
    fn from_index(index: usize) -> Option<Self>;
}

/// A unit-only enum as `Dictionary(Int8, Utf8)` (`Int16` past 127 variants), every
/// variant's name in its dictionary.
pub struct Enum<E>(PhantomData<E>);

/// The builder of a dictionary column: keys and their nulls.
pub struct KeysBuilder {
    keys: Vec<i32>,
    nulls: NullBufferBuilder,
}

/// A dictionary column, downcast: each key's meaning read once per batch.
pub struct KeysColumn<V> {
    keys: Vec<i32>,
    nulls: Option<NullBuffer>,
    /// What each dictionary value stands for (`Err`: a value the row type does not know).
    values: Vec<Result<V, String>>,
}

/// The key type of an enum of `variants`: Int8 up to 127 of them, else Int16.
fn enum_key_type(variants: usize) -> DataType {
    if variants <= i8::MAX as usize {
        DataType::Int8
    } else {
        DataType::Int16
    }
}

fn keys_builder(capacity: usize) -> KeysBuilder {
    KeysBuilder {
        keys: Vec::with_capacity(capacity),
        nulls: NullBufferBuilder::new(capacity),
    }
}

/// A dictionary array of `keys` (and their `nulls`) over `values`.
fn dictionary<K: arrow::datatypes::ArrowDictionaryKeyType>(
    keys: Vec<K::Native>,
    nulls: Option<NullBuffer>,
    values: ArrayRef,
) -> Result<ArrayRef, String> {
    DictionaryArray::<K>::try_new(PrimitiveArray::new(keys.into(), nulls), values)
        .map(|a| Arc::new(a) as ArrayRef)
        .map_err(|e| e.to_string())
}

/// The keys of a dictionary column (Int8, Int16 or Int32 keys, Utf8 values) and its
/// values; a column of another type is an error naming `expected`.
fn dictionary_parts(
    array: &ArrayRef,
    expected: &DataType,
) -> Result<(Vec<i32>, Option<NullBuffer>, StringArray), String> {
    let wrong = || wrong_type(expected, array.as_ref());
    if array.data_type() != expected {
        return Err(wrong());
    }
    fn parts<K: arrow::datatypes::ArrowDictionaryKeyType>(
        array: &ArrayRef,
    ) -> Option<(Vec<i32>, Option<NullBuffer>, ArrayRef)>
    where
        K::Native: Into<i64>,
    {
        let d = array.as_dictionary_opt::<K>()?;
        let keys = d
            .keys()
            .values()
            .iter()
            .map(|&k| i32::try_from(k.into()).unwrap_or(-1))
            .collect();
        Some((keys, d.keys().nulls().cloned(), d.values().clone()))
    }
    let (keys, nulls, values) = match array.data_type() {
        DataType::Dictionary(key, _) => match **key {
            DataType::Int8 => parts::<Int8Type>(array),
            DataType::Int16 => parts::<Int16Type>(array),
            DataType::Int32 => parts::<Int32Type>(array),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(wrong)?;
    let values = values.as_string_opt::<i32>().cloned().ok_or_else(wrong)?;
    Ok((keys, nulls, values))
}

fn read_key<V: Clone>(column: &KeysColumn<V>, i: usize) -> Result<V, String> {
    let key = column.keys[i];
    match usize::try_from(key).ok().and_then(|k| column.values.get(k)) {
        Some(value) => value.clone(),
        None => Err(format!("key {key} is outside the dictionary")),
    }
}

/// The builder of an enum's column: Int8 keys up to 127 variants, else Int16 (which, is
/// known from the enum's type, so the other vector stays empty).
pub struct EnumBuilder {
    small: Vec<i8>,
    large: Vec<i16>,
    nulls: NullBufferBuilder,
}

impl<E: ArrowEnum> Codec<E> for Enum<E> {
    type Builder = EnumBuilder;
    type Column = KeysColumn<usize>;
    fn data_type() -> DataType {
        DataType::Dictionary(
            Box::new(enum_key_type(E::VARIANTS.len())),
            Box::new(DataType::Utf8),
        )
    }
    fn builder(capacity: usize) -> Self::Builder {
        let small = E::VARIANTS.len() <= i8::MAX as usize;
        EnumBuilder {
            small: Vec::with_capacity(if small { capacity } else { 0 }),
            large: Vec::with_capacity(if small { 0 } else { capacity }),
            nulls: NullBufferBuilder::new(capacity),
        }
    }
    #[inline]
    fn append(builder: &mut Self::Builder, value: &E) {
        // (The checks count variants, at most 32,767: every index fits its key.)
        if E::VARIANTS.len() <= i8::MAX as usize {
            builder.small.push(value.index() as i8);
        } else {
            builder.large.push(value.index() as i16);
        }
        builder.nulls.append_non_null();
    }
    #[inline]
    fn extend<P>(builder: &mut Self::Builder, items: &[P], get: impl Fn(&P) -> &E) {
        if E::VARIANTS.len() <= i8::MAX as usize {
            builder
                .small
                .extend(items.iter().map(|item| get(item).index() as i8));
        } else {
            builder
                .large
                .extend(items.iter().map(|item| get(item).index() as i16));
        }
        builder.nulls.append_n_non_nulls(items.len());
    }
    fn append_null(builder: &mut Self::Builder) {
        if E::VARIANTS.len() <= i8::MAX as usize {
            builder.small.push(0);
        } else {
            builder.large.push(0);
        }
        builder.nulls.append_null();
    }
    fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
        let values: ArrayRef = Arc::new(StringArray::from_iter_values(E::VARIANTS));
        let nulls = builder.nulls.finish();
        if E::VARIANTS.len() <= i8::MAX as usize {
            dictionary::<Int8Type>(std::mem::take(&mut builder.small), nulls, values)
        } else {
            dictionary::<Int16Type>(std::mem::take(&mut builder.large), nulls, values)
        }
    }
    fn column(array: &ArrayRef) -> Result<Self::Column, String> {
        let (keys, nulls, values) = dictionary_parts(array, &Self::data_type())?;
        let values = values
            .iter()
            .map(|value| {
                let value = value.unwrap_or_default();
                E::VARIANTS.iter().position(|v| *v == value).ok_or_else(|| {
                    format!(
                        "`{}` is none of the variants [{}]",
                        crate::error::clip(value),
                        E::VARIANTS.join(", ")
                    )
                })
            })
            .collect();
        Ok(KeysColumn {
            keys,
            nulls,
            values,
        })
    }
    #[inline]
    fn is_null(column: &Self::Column, i: usize) -> bool {
        column.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
    #[inline]
    fn read(column: &Self::Column, i: usize) -> Result<E, String> {
        let index = read_key(column, i)?;
        E::from_index(index).ok_or_else(|| format!("no variant at {index}"))
    }
    fn size(_: &E) -> usize {
        2
    }
}

/// `String` as `Dictionary(Int32, Utf8)` (`#[arrow(dictionary)]`): each distinct value
/// stored once per batch, for columns of few distinct values (pandas reads them as
/// categoricals).
pub struct DictionaryUtf8;

/// The builder of a [`DictionaryUtf8`] column: keys, and the distinct values seen.
pub struct DictionaryUtf8Builder {
    keys: KeysBuilder,
    seen: std::collections::HashMap<String, i32>,
    values: StringBuilder,
}

impl Codec<String> for DictionaryUtf8 {
    type Builder = DictionaryUtf8Builder;
    type Column = KeysColumn<Arc<str>>;
    fn data_type() -> DataType {
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    }
    fn builder(capacity: usize) -> Self::Builder {
        DictionaryUtf8Builder {
            keys: keys_builder(capacity),
            seen: std::collections::HashMap::new(),
            values: StringBuilder::new(),
        }
    }
    fn append(builder: &mut Self::Builder, value: &String) {
        let key = match builder.seen.get(value.as_str()) {
            Some(&key) => key,
            None => {
                // A batch holds fewer rows than i32::MAX, so a key always fits.
                let key = i32::try_from(builder.values.len()).unwrap_or(i32::MAX);
                builder.values.append_value(value);
                builder.seen.insert(value.clone(), key);
                key
            }
        };
        builder.keys.keys.push(key);
        builder.keys.nulls.append_non_null();
    }
    fn append_null(builder: &mut Self::Builder) {
        builder.keys.keys.push(0);
        builder.keys.nulls.append_null();
        if builder.values.is_empty() {
            builder.values.append_value("");
            builder.seen.insert(String::new(), 0);
        }
    }
    fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
        builder.seen.clear();
        let values: ArrayRef = Arc::new(builder.values.finish());
        let keys = std::mem::take(&mut builder.keys.keys);
        dictionary::<Int32Type>(keys, builder.keys.nulls.finish(), values)
    }
    fn column(array: &ArrayRef) -> Result<Self::Column, String> {
        let (keys, nulls, values) = dictionary_parts(array, &Self::data_type())?;
        let values = values
            .iter()
            .map(|v| Ok(Arc::from(v.unwrap_or_default())))
            .collect();
        Ok(KeysColumn {
            keys,
            nulls,
            values,
        })
    }
    #[inline]
    fn is_null(column: &Self::Column, i: usize) -> bool {
        column.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
    #[inline]
    fn read(column: &Self::Column, i: usize) -> Result<String, String> {
        read_key(column, i).map(|v| v.to_string())
    }
    fn size(value: &String) -> usize {
        value.len() + 4
    }
}

/// A field stored as another type: its conversion to and from that type.
///
/// ```
/// use fastflight::rows::Convert;
///
/// /// An amount of money, stored as a number of cents.
/// pub struct Money(pub i64);
///
/// pub struct Cents;
///
/// impl Convert<Money> for Cents {
///     type Arrow = i64;
///     fn to_arrow(value: &Money) -> i64 {
///         value.0
///     }
///     fn from_arrow(cents: i64) -> Result<Money, String> {
///         Ok(Money(cents))
///     }
/// }
/// // In a row: `#[arrow(with = Cents)] price: Money,`
/// ```
pub trait Convert<T>: 'static {
    /// The type it is stored as.
    type Arrow: ArrowField;
    /// The value as stored.
    fn to_arrow(value: &T) -> Self::Arrow;
    /// The value read back; `Err` says why the stored value is not one.
    fn from_arrow(value: Self::Arrow) -> Result<T, String>;
}

/// The codec of `#[arrow(with = C)]`: values converted by `C` and stored as its
/// [`Convert::Arrow`] type.
pub struct Via<C>(PhantomData<C>);

type ArrowOf<T, C> = <C as Convert<T>>::Arrow;
type CodecOf<T, C> = <ArrowOf<T, C> as ArrowField>::Codec;

impl<T: 'static, C: Convert<T>> Codec<T> for Via<C> {
    type Builder = <CodecOf<T, C> as Codec<ArrowOf<T, C>>>::Builder;
    type Column = <CodecOf<T, C> as Codec<ArrowOf<T, C>>>::Column;
    const NULLABLE: bool = <CodecOf<T, C> as Codec<ArrowOf<T, C>>>::NULLABLE;
    fn data_type() -> DataType {
        CodecOf::<T, C>::data_type()
    }
    fn builder(capacity: usize) -> Self::Builder {
        CodecOf::<T, C>::builder(capacity)
    }
    #[inline]
    fn append(builder: &mut Self::Builder, value: &T) {
        CodecOf::<T, C>::append(builder, &C::to_arrow(value))
    }
    fn append_null(builder: &mut Self::Builder) {
        CodecOf::<T, C>::append_null(builder)
    }
    fn finish(builder: &mut Self::Builder) -> Result<ArrayRef, String> {
        CodecOf::<T, C>::finish(builder)
    }
    fn column(array: &ArrayRef) -> Result<Self::Column, String> {
        CodecOf::<T, C>::column(array)
    }
    fn is_null(column: &Self::Column, i: usize) -> bool {
        CodecOf::<T, C>::is_null(column, i)
    }
    fn any_null(column: &Self::Column, start: usize, end: usize) -> bool {
        CodecOf::<T, C>::any_null(column, start, end)
    }
    fn read(column: &Self::Column, i: usize) -> Result<T, String> {
        C::from_arrow(CodecOf::<T, C>::read(column, i)?)
    }
    fn size(value: &T) -> usize {
        CodecOf::<T, C>::size(&C::to_arrow(value))
    }
}

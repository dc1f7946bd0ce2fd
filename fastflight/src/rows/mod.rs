//! Typed rows: a struct deriving [`ArrowRow`](macro@crate::ArrowRow) is a row of an
//! Arrow batch, its schema known at compile time.
//!
//! - [`ArrowRow`]: the schema ([`ArrowRow::schema`], built once), a builder with one
//!   Arrow builder per field ([`RowBuilder`]: `append(&row)`, `finish()`), and the rows
//!   of a batch read back ([`ArrowRow::from_batch`]: columns found and downcast once per
//!   batch, then read by index).
//! - [`codec`]: how each field's type becomes a column ([`Codec`], [`ArrowField`]); with
//!   the `chrono` feature, `time` for chrono's types; with `decimal`, `decimal` for
//!   `rust_decimal::Decimal` (`Decimal128`); with `uuid`, `uuid` for `uuid::Uuid`
//!   (`FixedSizeBinary(16)`).
//! - [`batcher`]: rows cut into batches by rows, by bytes, and whenever the source has
//!   no row ready (how a service yielding rows is served).
//! - [`check_schema`]: whether a result's schema can be read as a row type, before its
//!   first row.
//!
//! ```
//! use fastflight::rows::{ArrowRow, RowBuilder};
//!
//! #[derive(ArrowRow, Debug, PartialEq)]
//! struct Trade {
//!     id: i64,
//!     symbol: String,
//!     price: Option<f64>,
//! }
//!
//! let mut builder = Trade::builder(2);
//! builder.append(&Trade { id: 1, symbol: "AAPL".into(), price: Some(1.5) });
//! builder.append(&Trade { id: 2, symbol: "MSFT".into(), price: None });
//! let batch = builder.finish();
//! assert_eq!(batch.schema(), Trade::schema());
//!
//! let rows: Vec<Trade> = Trade::from_batch(&batch).collect::<Result<_, _>>()?;
//! assert_eq!(rows[1], Trade { id: 2, symbol: "MSFT".into(), price: None });
//! # Ok::<(), fastflight::Error>(())
//! ```

pub mod batcher;
pub mod codec;
#[cfg(feature = "decimal")]
pub mod decimal;
#[cfg(feature = "chrono")]
pub mod time;
#[cfg(feature = "uuid")]
pub mod uuid;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Fields, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

pub use codec::{ArrowEnum, ArrowField, Codec, Convert};
/// Derives [`ArrowRow`](trait@ArrowRow) for a struct with named fields (each field a
/// column), or `ArrowField` for a unit-only enum (a dictionary of its variants' names).
///
/// Field types: `i8`..`i64`, `u8`..`u64`, `f32`, `f64`, `bool`, `String` (Utf8),
/// `Vec<u8>` (Binary), `Option<T>` (nullable; other fields are not), `Vec<T>` (List),
/// nested `ArrowRow` structs (Struct), unit-only enums deriving `ArrowRow`
/// (`Dictionary(Int8, Utf8)`, Int16 keys past 127 variants), and with the `chrono`
/// feature `DateTime<Utc>` (`Timestamp(µs, "UTC")`), `NaiveDateTime` (`Timestamp(µs)`),
/// `NaiveDate` (`Date32`), `NaiveTime` (`Time64(µs)`). Any other type is a compile
/// error naming it.
///
/// Attributes (`#[arrow(..)]`): on the type `rename_all = ".."`; on a field
/// `rename = ".."`, `skip` (no column; `Default` when read), `dictionary` (a `String` as
/// `Dictionary(Int32, Utf8)`), `unit = "s" | "ms" | "us" | "ns"` (a timestamp's unit),
/// `with = Conversion` (a type of one's own stored as a supported one: `Conversion`
/// implements [`Convert`]); on a variant `rename = ".."`. serde's `rename` and
/// `rename_all` are honoured (`#[arrow(..)]` wins).
///
/// ```
/// use fastflight::rows::ArrowRow;
///
/// #[derive(ArrowRow, Debug, PartialEq)]
/// #[arrow(rename_all = "camelCase")]
/// pub enum Side { Buy, ShortSell }
///
/// #[derive(ArrowRow, Debug, PartialEq)]
/// #[arrow(rename_all = "camelCase")]
/// pub struct Order {
///     pub order_id: u64,
///     pub side: Side,
///     #[arrow(dictionary)]
///     pub venue: String,
///     pub fills: Vec<Option<i32>>,
///     #[arrow(skip)]
///     pub seen: bool,
/// }
///
/// let order = Order { order_id: 7, side: Side::ShortSell, venue: "XNAS".into(), fills: vec![Some(1), None], seen: false };
/// let batch = Order::to_batch(std::slice::from_ref(&order))?;
/// assert_eq!(batch.schema().field(0).name(), "orderId");
/// let back: Vec<Order> = Order::from_batch(&batch).collect::<Result<_, _>>()?;
/// assert_eq!(back, [order]);
/// # Ok::<(), fastflight::Error>(())
/// ```
pub use fastflight_macros::ArrowRow;

use crate::{Error, Result};

/// A row of an Arrow batch: a struct whose fields are the batch's columns.
///
/// Derive it (`#[derive(ArrowRow)]`); see the derive for the types and attributes.
pub trait ArrowRow: Sized + Send + 'static {
    /// The type's name, as errors name it.
    const NAME: &'static str;
    /// The builder of batches of these rows.
    type Builder: RowBuilder<Self>;
    /// The reader of one batch's rows.
    type Reader: RowReader<Self>;
    /// The columns, in order.
    fn fields() -> Fields;
    /// The schema of every batch of these rows (built once).
    fn schema() -> SchemaRef;
    /// A builder with room for `capacity` rows.
    fn builder(capacity: usize) -> Self::Builder;
    /// The reader of the columns of `fields` (a batch's, or a struct column's): each
    /// field's column found by name and downcast once.
    fn reader(fields: &Fields, columns: &[ArrayRef])
        -> std::result::Result<Self::Reader, RowError>;
    /// About how many bytes the row takes in a batch (how batches are cut).
    fn size(&self) -> usize;

    /// The rows of `batch`, in order; a column missing or of another type is one
    /// error, before any row, naming the field and both types.
    fn from_batch(batch: &RecordBatch) -> Rows<Self> {
        Rows::of(batch)
    }

    /// One batch of `rows`.
    fn to_batch(rows: &[Self]) -> Result<RecordBatch> {
        let mut builder = Self::builder(rows.len());
        builder.extend(rows);
        builder.try_finish()
    }
}

/// The builder of batches of rows `T`: one Arrow builder per field.
pub trait RowBuilder<T: ArrowRow>: Send + 'static {
    /// Appends one row.
    fn append(&mut self, row: &T);
    /// Appends rows: a column at a time, a few hundred rows at once, so each
    /// field's values are written in one tight loop.
    fn extend(&mut self, rows: &[T]) {
        self.extend_from(rows, |row| row)
    }
    /// Appends the row `get` picks out of each of `items` (how a nested row's column
    /// is written a column at a time).
    fn extend_from<P>(&mut self, items: &[P], get: impl Fn(&P) -> &T);
    /// Appends a null row (every field null): under a null nested row.
    fn append_null(&mut self);
    /// The rows appended since the last finish.
    fn len(&self) -> usize;
    /// Whether no row was appended since the last finish.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The columns of the rows appended since the last finish; the builder is then
    /// empty.
    fn finish_columns(&mut self) -> std::result::Result<Vec<ArrayRef>, String>;

    /// The batch of the rows appended since the last finish; `Err` when a value could
    /// not be stored (a timestamp out of its unit's range).
    fn try_finish(&mut self) -> Result<RecordBatch> {
        let rows = self.len();
        let columns = self.finish_columns().map_err(|message| Error::Row {
            row: T::NAME.to_owned(),
            message,
        })?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            T::schema(),
            columns,
            &options,
        )?)
    }

    /// The batch of the rows appended since the last finish.
    ///
    /// # Panics
    ///
    /// When a value could not be stored (a timestamp out of its unit's range); use
    /// [`RowBuilder::try_finish`] to get that as an error.
    fn finish(&mut self) -> RecordBatch {
        match self.try_finish() {
            Ok(batch) => batch,
            Err(e) => panic!("{e}"),
        }
    }
}

/// The reader of one batch's rows `T`.
pub trait RowReader<T>: Send + 'static {
    /// The batch's rows.
    fn len(&self) -> usize;
    /// Whether the batch has no row.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `i`.
    fn read(&self, i: usize) -> std::result::Result<T, RowError>;
    /// Rows `start..end`, appended to `out`: a column at a time, a few hundred rows
    /// at once. The error is the one reading row by row meets first.
    fn read_rows(
        &self,
        start: usize,
        end: usize,
        out: &mut Vec<T>,
    ) -> std::result::Result<(), RowError>;
}

/// How many rows a row type's builder and reader take at once, a column at a time:
/// few enough that the rows stay in the processor's cache between one column and the
/// next.
pub const CHUNK_ROWS: usize = 256;

/// A field that cannot be read: its name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The field (its column's name).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for RowError {}

impl RowError {
    /// The error of `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }

    fn of<T: ArrowRow>(self) -> Error {
        Error::Row {
            row: T::NAME.to_owned(),
            message: self.to_string(),
        }
    }
}

/// The rows of one batch, read one by one ([`ArrowRow::from_batch`]).
pub struct Rows<T: ArrowRow> {
    reader: std::result::Result<T::Reader, Option<Error>>,
    next: usize,
}

impl<T: ArrowRow> Rows<T> {
    /// Every row left, in order; the first error ends it.
    ///
    /// ```
    /// # use fastflight::rows::ArrowRow;
    /// #[derive(ArrowRow, Debug, PartialEq)]
    /// struct Point { x: f64, y: f64 }
    /// let batch = Point::to_batch(&[Point { x: 1.0, y: 2.0 }])?;
    /// assert_eq!(Point::from_batch(&batch).into_vec()?, [Point { x: 1.0, y: 2.0 }]);
    /// # Ok::<(), fastflight::Error>(())
    /// ```
    pub fn into_vec(mut self) -> Result<Vec<T>> {
        match &mut self.reader {
            Ok(reader) => {
                let mut rows = Vec::with_capacity(reader.len().saturating_sub(self.next));
                reader
                    .read_rows(self.next, reader.len(), &mut rows)
                    .map_err(|e| e.of::<T>())?;
                Ok(rows)
            }
            Err(e) => Err(e.take().unwrap_or_else(|| Error::Row {
                row: T::NAME.to_owned(),
                message: "the batch's error was taken already".to_owned(),
            })),
        }
    }

    fn of(batch: &RecordBatch) -> Self {
        Self {
            reader: T::reader(batch.schema_ref().fields(), batch.columns())
                .map_err(|e| Some(e.of::<T>())),
            next: 0,
        }
    }
}

impl<T: ArrowRow> Iterator for Rows<T> {
    type Item = Result<T>;

    #[inline]
    fn next(&mut self) -> Option<Result<T>> {
        match &mut self.reader {
            Ok(reader) => {
                if self.next >= reader.len() {
                    return None;
                }
                let i = self.next;
                self.next += 1;
                Some(reader.read(i).map_err(|e| e.of::<T>()))
            }
            Err(e) => e.take().map(Err),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.reader {
            Ok(reader) => {
                let left = reader.len().saturating_sub(self.next);
                (left, Some(left))
            }
            Err(e) => (usize::from(e.is_some()), Some(usize::from(e.is_some()))),
        }
    }
}

/// Whether batches of `schema` can be read as rows `T`: every field of `T` is a column
/// of the same name and type, and a column that may hold nulls is an `Option` field.
/// Columns `T` does not name are let be. The error names the field and both types.
///
/// ```
/// use fastflight::arrow::datatypes::{DataType, Field, Schema};
/// use fastflight::rows::{check_schema, ArrowRow};
///
/// #[derive(ArrowRow)]
/// struct Price { price: f64 }
///
/// let sent = Schema::new(vec![Field::new("price", DataType::Utf8, false)]);
/// let e = check_schema::<Price>(&sent).unwrap_err();
/// assert!(e.to_string().contains("field `price`: the row type has Float64, the result has Utf8"));
/// ```
pub fn check_schema<T: ArrowRow>(schema: &arrow::datatypes::Schema) -> Result<()> {
    let fail = |field: &str, message: String| Error::Row {
        row: T::NAME.to_owned(),
        message: format!("field `{field}`: {message}"),
    };
    for wanted in T::fields().iter() {
        let Ok(found) = schema.field_with_name(wanted.name()) else {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(fail(
                wanted.name(),
                format!(
                    "no such column (the result has [{}])",
                    crate::error::clip(&names.join(", "))
                ),
            ));
        };
        if !same_type(found.data_type(), wanted.data_type()) {
            return Err(fail(
                wanted.name(),
                format!(
                    "the row type has {}, the result has {}",
                    wanted.data_type(),
                    found.data_type()
                ),
            ));
        }
        if found.is_nullable() && !wanted.is_nullable() {
            return Err(fail(
                wanted.name(),
                format!(
                    "the result's column may hold nulls, the row type's {} may not: make the field an `Option`",
                    wanted.data_type()
                ),
            ));
        }
    }
    Ok(())
}

/// Types equal but for the nullability of nested fields where the row type allows
/// nulls the result does not hold.
fn same_type(found: &DataType, wanted: &DataType) -> bool {
    match (found, wanted) {
        (DataType::List(f), DataType::List(w)) => {
            same_type(f.data_type(), w.data_type()) && (w.is_nullable() || !f.is_nullable())
        }
        (DataType::Struct(f), DataType::Struct(w)) => w.iter().all(|w| {
            f.find(w.name()).is_some_and(|(_, f)| {
                same_type(f.data_type(), w.data_type()) && (w.is_nullable() || !f.is_nullable())
            })
        }),
        _ => found == wanted,
    }
}

/// The column of field `name` among `fields`, downcast by its codec; the code
/// `#[derive(ArrowRow)]` writes calls it once per field and batch.
#[doc(hidden)]
pub fn column<T, C: Codec<T>>(
    fields: &Fields,
    columns: &[ArrayRef],
    name: &'static str,
) -> std::result::Result<C::Column, RowError> {
    let Some((i, _)) = fields.find(name) else {
        let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
        return Err(RowError::new(
            name,
            format!(
                "no such column (the batch has [{}])",
                crate::error::clip(&names.join(", "))
            ),
        ));
    };
    let Some(array) = columns.get(i) else {
        return Err(RowError::new(
            name,
            "the batch has fewer columns than fields",
        ));
    };
    C::column(array).map_err(|message| RowError::new(name, message))
}

/// Row `i` of field `name`'s column: a null in a field that is not an `Option` is an
/// error; the code `#[derive(ArrowRow)]` writes calls it once per field and row.
#[doc(hidden)]
#[inline]
pub fn value<T, C: Codec<T>>(
    column: &C::Column,
    i: usize,
    name: &'static str,
) -> std::result::Result<T, RowError> {
    if !C::NULLABLE && C::is_null(column, i) {
        return Err(null_in(name, i));
    }
    match C::read(column, i) {
        Ok(value) => Ok(value),
        Err(message) => Err(unreadable(name, i, message)),
    }
}

/// Rows `start..end` of field `name`'s column, a column at a time: a null in a field
/// that is not an `Option` is an error; the code `#[derive(ArrowRow)]` writes calls it
/// once per field and chunk of rows.
#[doc(hidden)]
#[inline]
pub fn values<T, C: Codec<T>>(
    column: &C::Column,
    start: usize,
    end: usize,
    name: &'static str,
) -> std::result::Result<Vec<T>, RowError> {
    if !C::NULLABLE && C::any_null(column, start, end) {
        let i = (start..end)
            .find(|&i| C::is_null(column, i))
            .unwrap_or(start);
        return Err(null_in(name, i));
    }
    let mut out = Vec::with_capacity(end.saturating_sub(start));
    match C::read_into(column, start, end, &mut out) {
        Ok(()) => Ok(out),
        Err((i, message)) => Err(unreadable(name, i, message)),
    }
}

#[cold]
fn null_in(name: &'static str, i: usize) -> RowError {
    RowError::new(
        name,
        format!("row {i} is null, and the field is not an `Option`"),
    )
}

#[cold]
fn unreadable(name: &'static str, i: usize, message: String) -> RowError {
    RowError::new(name, format!("row {i}: {message}"))
}

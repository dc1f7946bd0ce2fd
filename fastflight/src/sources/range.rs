//! A query's rows cut into parts by ranges of one integer column (ConnectorX's
//! `partition_on`): each part is the query wrapped in a filter on its range, so the
//! union of the parts is the whole answer, rows whose column is NULL going to the first.
//!
//! ```
//! use fastflight::sources::range::{Placeholders, RangePart};
//!
//! let part = RangePart::new("id", 1, 4).unwrap();
//! // The column's bounds over the query, read first ...
//! assert_eq!(
//!     part.bounds_sql("SELECT id, price FROM trades"),
//!     "SELECT min(\"id\"), max(\"id\") FROM (SELECT id, price FROM trades\n) AS fastflight_bounds"
//! );
//! // ... then this part's rows: ids 26 to 50 of 1..=100, its bounds bound as parameters
//! // after the query's own.
//! let (sql, bounds) = part.sql("SELECT id, price FROM trades", Some((1, 100)), 0, Placeholders::Question);
//! assert_eq!(
//!     sql,
//!     "SELECT * FROM (SELECT id, price FROM trades\n) AS fastflight_part WHERE \"id\" BETWEEN ?1 AND ?2"
//! );
//! assert_eq!(bounds, [26, 50]);
//! ```

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;

use crate::{Error, Result};

/// Parts a query may be cut into at most.
pub const MAX_PARTS: u32 = 1024;

/// The longest column name a part may be cut on.
pub const MAX_COLUMN_LEN: usize = 63;

/// How a database numbers its statement parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placeholders {
    /// SQLite's `?1`, `?2`, ...
    Question,
    /// PostgreSQL's `$1`, `$2`, ...
    Dollar,
    /// No parameters: the bounds written into the statement as numbers (integers this
    /// module made, so nothing a peer sent is spliced), for statements that take no
    /// parameters, as PostgreSQL's `COPY`.
    Literal,
}

impl Placeholders {
    /// The statement's text for its `n`th parameter, of value `value`.
    fn nth(self, n: usize, value: i64) -> String {
        match self {
            Placeholders::Question => format!("?{n}"),
            Placeholders::Dollar => format!("${n}"),
            Placeholders::Literal => value.to_string(),
        }
    }
}

/// Part `index` of `of` of a query's rows, by ranges of `column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePart {
    column: String,
    index: u32,
    of: u32,
}

impl RangePart {
    /// Checks the column name (letters, digits and `_`, not starting with a digit, at
    /// most [`MAX_COLUMN_LEN`]) and the part (`index < of <= MAX_PARTS`); the errors name
    /// the request fields `partition_on` and `partitions`.
    pub fn new(column: &str, index: u32, of: u32) -> Result<Self> {
        check_column(column)
            .map_err(|message| Error::status(tonic::Code::InvalidArgument, message))?;
        if of == 0 || of > MAX_PARTS {
            return Err(Error::status(
                tonic::Code::InvalidArgument,
                format!("field `partitions` must be from 1 to {MAX_PARTS}"),
            ));
        }
        if index >= of {
            return Err(Error::status(
                tonic::Code::InvalidArgument,
                format!("part {index} of {of} does not exist: parts count from 0"),
            ));
        }
        Ok(Self {
            column: column.to_owned(),
            index,
            of,
        })
    }

    /// The column the parts are cut on.
    pub fn column(&self) -> &str {
        &self.column
    }

    /// The statement that reads the column's smallest and largest value over `query`
    /// (both NULL when it has no row with a value).
    pub fn bounds_sql(&self, query: &str) -> String {
        format!(
            "SELECT min(\"{c}\"), max(\"{c}\") FROM ({query}\n) AS fastflight_bounds",
            c = self.column
        )
    }

    /// This part's statement, given the column's bounds over the query (`None`: no row
    /// has a value) and how many parameters the query binds already: the statement and
    /// the values of its further parameters, in order.
    pub fn sql(
        &self,
        query: &str,
        bounds: Option<(i64, i64)>,
        params: usize,
        placeholders: Placeholders,
    ) -> (String, Vec<i64>) {
        let c = &self.column;
        // The newline ends a `--` comment the query may end with.
        let head = format!("SELECT * FROM ({query}\n) AS fastflight_part WHERE");
        let nulls = if self.index == 0 {
            format!(" OR \"{c}\" IS NULL")
        } else {
            String::new()
        };
        match bounds.and_then(|(min, max)| self.range(min, max)) {
            Some((lo, hi)) => (
                format!(
                    "{head} \"{c}\" BETWEEN {} AND {}{nulls}",
                    placeholders.nth(params + 1, lo),
                    placeholders.nth(params + 2, hi)
                ),
                if placeholders == Placeholders::Literal {
                    Vec::new()
                } else {
                    vec![lo, hi]
                },
            ),
            None if self.index == 0 => (format!("{head} \"{c}\" IS NULL"), Vec::new()),
            None => (format!("{head} 1 = 0"), Vec::new()),
        }
    }

    /// This part's inclusive range of `min..=max`: equal widths, the last one shorter;
    /// `None` when the part is past the values.
    pub fn range(&self, min: i64, max: i64) -> Option<(i64, i64)> {
        if min > max {
            return None;
        }
        let span = i128::from(max) - i128::from(min) + 1;
        let width = (span + i128::from(self.of) - 1) / i128::from(self.of);
        let lo = i128::from(min) + width * i128::from(self.index);
        let hi = (lo + width - 1).min(i128::from(max));
        if lo > i128::from(max) {
            return None;
        }
        // Both within min..=max, so within i64.
        Some((lo as i64, hi as i64))
    }
}

/// The bounds the statement of [`RangePart::bounds_sql`] answered: `None` when they are
/// NULL (no row has a value); an error naming the column when it is not of integers.
pub fn read_bounds(batches: &[RecordBatch], column: &str) -> Result<Option<(i64, i64)>> {
    let not_integers = |found: &DataType| {
        Error::status(
            tonic::Code::InvalidArgument,
            format!("field `partition_on`: column `{column}` holds {found} values, not integers"),
        )
    };
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let mut values = [0_i64; 2];
    for (i, value) in values.iter_mut().enumerate() {
        let array = batch.column(i);
        if array.is_null(0) {
            return Ok(None);
        }
        let array = match array.data_type() {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                arrow::compute::cast(array, &DataType::Int64)?
            }
            other => return Err(not_integers(other)),
        };
        *value = array.as_primitive::<Int64Type>().value(0);
    }
    Ok(Some((values[0], values[1])))
}

/// One part of `sql`'s rows over a SQL source whose statements `stream` runs: the
/// column's bounds over the query first, then the part's statement, its bounds written
/// with `placeholders` (and bound as `param`s after the query's own, where they are
/// parameters). The statements start when the stream is polled, so they keep the
/// caller and the stall timeout of the service starting now.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn stream_part<P, S>(
    stream: S,
    sql: &str,
    params: Vec<P>,
    part: &RangePart,
    batch_size: usize,
    placeholders: Placeholders,
    param: fn(i64) -> P,
) -> crate::BatchStream
where
    P: Clone + Send + 'static,
    S: Fn(&str, Vec<P>, usize) -> crate::BatchStream + Send + 'static,
{
    use futures::{StreamExt, TryStreamExt};
    let sql = sql.to_owned();
    let part = part.clone();
    let serving = crate::service::Serving::current();
    let opened = async move {
        let bounds: Vec<RecordBatch> = serving
            .enter(|| stream(&part.bounds_sql(&sql), params.clone(), 1))
            .try_collect()
            .await?;
        let bounds = read_bounds(&bounds, part.column())?;
        let (part_sql, extra) = part.sql(&sql, bounds, params.len(), placeholders);
        let mut params = params;
        params.extend(extra.into_iter().map(param));
        Ok::<_, Error>(serving.enter(|| stream(&part_sql, params, batch_size)))
    };
    futures::stream::once(opened).try_flatten().boxed()
}

/// A column name a statement may quote: letters, digits and `_`, not starting with a
/// digit, at most [`MAX_COLUMN_LEN`] bytes; else what is wrong, naming the request
/// field `partition_on`.
pub fn check_column(column: &str) -> std::result::Result<(), String> {
    let ok = !column.is_empty()
        && column.len() <= MAX_COLUMN_LEN
        && column
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !column.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "field `partition_on` must name a column: letters, digits and `_`, not starting with a digit, at most {MAX_COLUMN_LEN} bytes"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(min: i64, max: i64, of: u32) -> Vec<Option<(i64, i64)>> {
        (0..of)
            .map(|i| RangePart::new("id", i, of).unwrap().range(min, max))
            .collect()
    }

    #[test]
    fn ranges_cover_every_value_once() {
        assert_eq!(
            ranges(1, 10, 3),
            [Some((1, 4)), Some((5, 8)), Some((9, 10))]
        );
        assert_eq!(ranges(5, 5, 3), [Some((5, 5)), None, None]);
        assert_eq!(
            ranges(i64::MIN, i64::MAX, 2),
            [Some((i64::MIN, -1)), Some((0, i64::MAX))]
        );
        for (min, max, of) in [(-7, 93, 7), (0, 999_999, 64), (3, 4, 5)] {
            let mut next = min;
            for (lo, hi) in ranges(min, max, of).into_iter().flatten() {
                assert_eq!(lo, next);
                assert!(hi >= lo);
                next = hi + 1;
            }
            assert_eq!(next, max + 1);
        }
    }

    #[test]
    fn nulls_go_to_the_first_part_and_empty_answers_stay_empty() {
        let first = RangePart::new("k", 0, 2).unwrap();
        let second = RangePart::new("k", 1, 2).unwrap();
        let (sql, bounds) = first.sql("SELECT k FROM t", Some((0, 9)), 1, Placeholders::Dollar);
        assert!(
            sql.ends_with(r#""k" BETWEEN $2 AND $3 OR "k" IS NULL"#),
            "{sql}"
        );
        // A query ending in a line comment does not comment out the filter.
        let (sql, _) = second.sql(
            "SELECT k FROM t -- all",
            Some((0, 9)),
            0,
            Placeholders::Question,
        );
        assert!(
            sql.contains("-- all\n) AS fastflight_part WHERE \"k\" BETWEEN ?1 AND ?2"),
            "{sql}"
        );
        assert_eq!(bounds, [0, 4]);
        let (sql, bounds) = second.sql("SELECT k FROM t", Some((-9, 9)), 0, Placeholders::Literal);
        assert!(sql.ends_with(r#""k" BETWEEN 1 AND 9"#), "{sql}");
        assert!(bounds.is_empty());
        assert!(first
            .sql("SELECT k FROM t", None, 0, Placeholders::Question)
            .0
            .ends_with(r#"WHERE "k" IS NULL"#));
        assert!(second
            .sql("SELECT k FROM t", None, 0, Placeholders::Question)
            .0
            .ends_with("WHERE 1 = 0"));
    }

    #[test]
    fn bad_columns_and_parts_are_refused_by_field() {
        for bad in ["", "1id", "id; DROP TABLE t", "i\"d", "ïd", &"x".repeat(64)] {
            let e = RangePart::new(bad, 0, 2).unwrap_err().to_string();
            assert!(e.contains("partition_on"), "{bad}: {e}");
        }
        assert!(RangePart::new("id", 0, 0)
            .unwrap_err()
            .to_string()
            .contains("partitions"));
        assert!(RangePart::new("id", 0, MAX_PARTS + 1)
            .unwrap_err()
            .to_string()
            .contains("partitions"));
        assert!(RangePart::new("id", 2, 2).is_err());
    }
}

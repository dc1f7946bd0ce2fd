//! SQLite (feature `sqlite`, bundled SQLite): a query with bound parameters on a pooled
//! connection, streamed as record batches of a requested size as rows are read.
//!
//! Column types come from the declared types of the result's columns, by SQLite's
//! affinity rules: `INT…` → Int64, `CHAR`/`CLOB`/`TEXT` → Utf8, `BLOB` → Binary,
//! `REAL`/`FLOA`/`DOUB` and other numeric types → Float64; a column without a declared
//! type (an expression) takes the type of its first value. NULL is a null of any
//! column. A value that does not fit its column ends the stream with an error naming
//! the row and the column.
//!
//! ```no_run
//! use fastflight::prelude::*;
//! use fastflight::sources::sqlite::SqlitePool;
//!
//! #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
//! pub struct BySymbol { pub symbol: String }
//!
//! #[data_service]
//! async fn by_symbol(req: BySymbol, db: State<SqlitePool>) -> fastflight::Result<BatchStream> {
//!     Ok(db.stream("SELECT * FROM trades WHERE symbol = ?1", vec![req.symbol.into()], 65_536))
//! }
//!
//! # async fn run() -> fastflight::Result<()> {
//! let db = SqlitePool::open_read_only("demo.sqlite")?;
//! fastflight::Server::builder().state(db).serve().await
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use r2d2_sqlite::rusqlite::types::{Value, ValueRef};
use r2d2_sqlite::rusqlite::OpenFlags;
use r2d2_sqlite::SqliteConnectionManager;
use tonic::Code;

use crate::service::{produce_blocking, BatchStream, Emitter};
use crate::{Error, Result};

pub use r2d2_sqlite::rusqlite;
pub use r2d2_sqlite::rusqlite::types::Value as SqlValue;

/// A pool of SQLite connections to one database file.
#[derive(Clone)]
pub struct SqlitePool {
    pool: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
}

impl std::fmt::Debug for SqlitePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlitePool")
            .field("path", &self.path)
            .finish()
    }
}

impl SqlitePool {
    /// A pool of read-only connections: statements that write are refused.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Self::open(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    /// A pool with the given open flags.
    pub fn open(path: impl AsRef<Path>, flags: OpenFlags) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let manager = SqliteConnectionManager::file(&path).with_flags(flags);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| {
                Error::Config(format!(
                    "cannot open SQLite database {}: {e}",
                    path.display()
                ))
            })?;
        Ok(Self { pool, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `sql` with `params` bound (`?1`, `?2`, ...) on a pooled connection, on a
    /// blocking thread, and streams the rows in batches of `batch_size`. A result of
    /// zero rows is one empty batch with the result's schema.
    pub fn stream(&self, sql: &str, params: Vec<SqlValue>, batch_size: usize) -> BatchStream {
        let pool = self.pool.clone();
        let sql = sql.to_owned();
        produce_blocking(move |emitter| {
            let conn = pool.get().map_err(|e| {
                Error::status(Code::Unavailable, format!("no SQLite connection: {e}"))
            })?;
            query_batches(&conn, &sql, &params, batch_size, emitter)
        })
    }
}

/// Converts JSON request parameters into SQL values: null, booleans (as 0/1), numbers
/// and strings; anything else is refused, naming its position.
pub fn params_from_json(params: &[serde_json::Value]) -> Result<Vec<SqlValue>> {
    params
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            serde_json::Value::Null => Ok(Value::Null),
            serde_json::Value::Bool(b) => Ok(Value::Integer(i64::from(*b))),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(Value::Integer(i)),
                None => n
                    .as_f64()
                    .map(Value::Real)
                    .ok_or_else(|| bad_param(i, "a number beyond f64")),
            },
            serde_json::Value::String(s) => Ok(Value::Text(s.clone())),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => Err(bad_param(
                i,
                "not a JSON scalar (null, boolean, number or string)",
            )),
        })
        .collect()
}

fn bad_param(i: usize, what: &str) -> Error {
    Error::status(
        Code::InvalidArgument,
        format!("field `params[{i}]`: {what}"),
    )
}

fn sql_error(sql: &str, e: rusqlite::Error) -> Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ReadOnly => {
            Code::PermissionDenied
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            Code::Unavailable
        }
        _ => Code::InvalidArgument,
    };
    Error::status(code, format!("SQL error in `{}`: {e}", sql.trim()))
}

/// The Arrow type of a declared SQLite column type, by SQLite's affinity rules.
fn declared_type(decl: &str) -> DataType {
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        DataType::Int64
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        DataType::Utf8
    } else if d.contains("BLOB") {
        DataType::Binary
    } else {
        DataType::Float64
    }
}

fn value_type(value: ValueRef<'_>) -> Option<DataType> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(_) => Some(DataType::Int64),
        ValueRef::Real(_) => Some(DataType::Float64),
        ValueRef::Text(_) => Some(DataType::Utf8),
        ValueRef::Blob(_) => Some(DataType::Binary),
    }
}

fn storage_class(value: ValueRef<'_>) -> &'static str {
    match value {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "INTEGER",
        ValueRef::Real(_) => "REAL",
        ValueRef::Text(_) => "TEXT",
        ValueRef::Blob(_) => "BLOB",
    }
}

enum Column {
    Int64(Int64Builder),
    Float64(Float64Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
}

impl Column {
    fn new(data_type: &DataType, capacity: usize) -> Self {
        match data_type {
            DataType::Int64 => Column::Int64(Int64Builder::with_capacity(capacity)),
            DataType::Float64 => Column::Float64(Float64Builder::with_capacity(capacity)),
            DataType::Binary => {
                Column::Binary(BinaryBuilder::with_capacity(capacity, capacity * 8))
            }
            _ => Column::Utf8(StringBuilder::with_capacity(capacity, capacity * 8)),
        }
    }

    /// Appends a value; `false` when it does not fit the column.
    fn append(&mut self, value: ValueRef<'_>) -> bool {
        match (self, value) {
            (Column::Int64(b), ValueRef::Null) => b.append_null(),
            (Column::Float64(b), ValueRef::Null) => b.append_null(),
            (Column::Utf8(b), ValueRef::Null) => b.append_null(),
            (Column::Binary(b), ValueRef::Null) => b.append_null(),
            (Column::Int64(b), ValueRef::Integer(i)) => b.append_value(i),
            (Column::Float64(b), ValueRef::Real(f)) => b.append_value(f),
            (Column::Float64(b), ValueRef::Integer(i)) => b.append_value(i as f64),
            (Column::Utf8(b), ValueRef::Text(t)) => match std::str::from_utf8(t) {
                Ok(text) => b.append_value(text),
                Err(_) => return false,
            },
            (Column::Binary(b), ValueRef::Blob(bytes) | ValueRef::Text(bytes)) => {
                b.append_value(bytes)
            }
            _ => return false,
        }
        true
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Int64(b) => Arc::new(b.finish()),
            Column::Float64(b) => Arc::new(b.finish()),
            Column::Utf8(b) => Arc::new(b.finish()),
            Column::Binary(b) => Arc::new(b.finish()),
        }
    }
}

/// Runs a read-only query on `conn` and sends its rows in batches of `batch_size`.
pub fn query_batches(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[SqlValue],
    batch_size: usize,
    emitter: &Emitter,
) -> Result<()> {
    let batch_size = batch_size.max(1);
    let mut stmt = conn.prepare(sql).map_err(|e| sql_error(sql, e))?;
    if !stmt.readonly() {
        return Err(Error::status(
            Code::PermissionDenied,
            format!(
                "only read-only statements are accepted, not `{}`",
                sql.trim()
            ),
        ));
    }
    let names: Vec<String> = stmt
        .column_names()
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
    let declared: Vec<Option<DataType>> = stmt
        .columns()
        .iter()
        .map(|c| c.decl_type().map(declared_type))
        .collect();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(|e| sql_error(sql, e))?;

    let mut schema: Option<SchemaRef> = None;
    let mut columns: Vec<Column> = Vec::new();
    let mut in_batch = 0_usize;
    let mut row_number = 0_u64;
    let mut sent_any = false;
    while let Some(row) = rows.next().map_err(|e| sql_error(sql, e))? {
        row_number += 1;
        if schema.is_none() {
            // Columns without a declared type take the type of their first value.
            let fields: Vec<Field> = names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let data_type = declared[i]
                        .clone()
                        .or_else(|| row.get_ref(i).ok().and_then(value_type))
                        .unwrap_or(DataType::Utf8);
                    Field::new(name, data_type, true)
                })
                .collect();
            columns = fields
                .iter()
                .map(|f| Column::new(f.data_type(), batch_size))
                .collect();
            schema = Some(Arc::new(Schema::new(fields)));
        }
        let Some(schema) = &schema else {
            continue;
        };
        for (i, column) in columns.iter_mut().enumerate() {
            let value = row.get_ref(i).map_err(|e| sql_error(sql, e))?;
            if !column.append(value) {
                return Err(Error::status(
                    Code::FailedPrecondition,
                    format!(
                        "row {row_number}, column `{}`: a {} value does not fit the column's type {}{}",
                        names[i],
                        storage_class(value),
                        schema.field(i).data_type(),
                        stmt_decl(&declared, i)
                    ),
                ));
            }
        }
        in_batch += 1;
        if in_batch == batch_size {
            let batch = finish_batch(schema, &mut columns)?;
            in_batch = 0;
            sent_any = true;
            if emitter.send(batch).is_err() {
                return Ok(());
            }
        }
    }
    let schema = match schema {
        Some(schema) => schema,
        None => Arc::new(Schema::new(
            names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    Field::new(name, declared[i].clone().unwrap_or(DataType::Utf8), true)
                })
                .collect::<Vec<_>>(),
        )),
    };
    if in_batch > 0 {
        let _ = emitter.send(finish_batch(&schema, &mut columns)?);
    } else if !sent_any {
        let _ = emitter.send(RecordBatch::new_empty(schema));
    }
    Ok(())
}

fn stmt_decl(declared: &[Option<DataType>], i: usize) -> &'static str {
    if declared[i].is_some() {
        " (from its declared type)"
    } else {
        " (from its first value)"
    }
}

fn finish_batch(schema: &SchemaRef, columns: &mut [Column]) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = columns.iter_mut().map(Column::finish).collect();
    Ok(RecordBatch::try_new(Arc::clone(schema), arrays)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_follow_affinity() {
        assert_eq!(declared_type("INTEGER"), DataType::Int64);
        assert_eq!(declared_type("bigint"), DataType::Int64);
        assert_eq!(declared_type("VARCHAR(20)"), DataType::Utf8);
        assert_eq!(declared_type("BLOB"), DataType::Binary);
        assert_eq!(declared_type("DOUBLE PRECISION"), DataType::Float64);
        assert_eq!(declared_type("NUMERIC"), DataType::Float64);
    }

    #[test]
    fn json_params() {
        let values = params_from_json(
            &serde_json::from_str::<Vec<serde_json::Value>>(r#"[null, true, 3, 2.5, "x"]"#)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            values,
            [
                Value::Null,
                Value::Integer(1),
                Value::Integer(3),
                Value::Real(2.5),
                Value::Text("x".into())
            ]
        );
        let e = params_from_json(&[serde_json::json!([1])]).unwrap_err();
        assert!(e.to_string().contains("params[0]"), "{e}");
    }
}

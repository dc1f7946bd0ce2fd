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
//! Every connection is a sandbox: an authorizer lets statements read the main database
//! and nothing else (no `ATTACH`, no transactions, no `PRAGMA` but a few read-only ones,
//! no temporary objects), SQLite builds no value above the batch byte limit, and a
//! statement is interrupted when its stream is dropped or it runs past the pool's
//! statement time limit. Batches are cut at `batch_size` rows or the byte limit,
//! whichever comes first.
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
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, BinaryBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use r2d2_sqlite::rusqlite::types::{Value, ValueRef};
use r2d2_sqlite::rusqlite::OpenFlags;
use r2d2_sqlite::SqliteConnectionManager;
use tonic::Code;

use crate::fair::Shares;
use crate::service::{produce_blocking, BatchStream, Emitter};
use crate::sources::range::{Placeholders, RangePart};
use crate::{Error, Result};

pub use r2d2_sqlite::rusqlite;
pub use r2d2_sqlite::rusqlite::types::Value as SqlValue;

pub use super::MAX_BATCH_ROWS;

/// Bytes of values per batch at most (the default of [`SqlitePool::max_batch_bytes`]);
/// also the longest value SQLite builds.
pub const DEFAULT_MAX_BATCH_BYTES: usize = super::MAX_BATCH_BYTES;

/// How long one statement may run (the default of [`SqlitePool::statement_timeout`]).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// The read-only pragmas a statement may use.
const ALLOWED_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "collation_list",
];

/// Connections in a pool; one client holds at most half of them at once.
const POOL_SIZE: u32 = 8;

/// A pool of SQLite connections to one database file.
#[derive(Clone)]
pub struct SqlitePool {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// No client holds more than half the connections at once.
    shares: Arc<Shares>,
    path: PathBuf,
    max_batch_bytes: usize,
    statement_timeout: Duration,
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

    /// A pool with the given open flags; every connection is sandboxed (see the module).
    pub fn open(path: impl AsRef<Path>, flags: OpenFlags) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let max_value = i32::try_from(DEFAULT_MAX_BATCH_BYTES).unwrap_or(i32::MAX);
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(flags)
            .with_init(move |conn| sandbox(conn, max_value));
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| {
                Error::Config(format!(
                    "cannot open SQLite database {}: {e}",
                    path.display()
                ))
            })?;
        Ok(Self {
            pool,
            shares: Shares::new(POOL_SIZE as usize / 2),
            path,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
        })
    }

    /// Bytes of values per batch at most: a batch is cut when it reaches them, and a
    /// single value above them is refused by name (at most the default, which is also the
    /// longest value SQLite builds).
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes.clamp(1, DEFAULT_MAX_BATCH_BYTES);
        self
    }

    /// How long one statement may run before it is interrupted (`DeadlineExceeded`).
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
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
        let shares = Arc::clone(&self.shares);
        let sql = sql.to_owned();
        let bounds = Bounds {
            batch_rows: batch_size.clamp(1, MAX_BATCH_ROWS),
            batch_bytes: self.max_batch_bytes,
            timeout: self.statement_timeout,
        };
        produce_blocking(move |emitter| {
            let _share = shares.take(emitter.caller()).map_err(|held| {
                crate::error::refusal(
                    Code::ResourceExhausted,
                    crate::wire::Fault::Caller,
                    format!(
                        "this client holds {held} of the {POOL_SIZE} pooled SQLite connections, its share; try again when one of its queries ends"
                    ),
                )
            })?;
            let conn = pool.get().map_err(|e| {
                Error::status(Code::Unavailable, format!("no SQLite connection: {e}"))
            })?;
            // The statement stops when the stream is dropped or its time is up.
            let stopped = emitter.stop_signal();
            let deadline = Instant::now() + bounds.timeout;
            conn.progress_handler(
                10_000,
                Some(move || stopped() || Instant::now() >= deadline),
            )
            .map_err(|e| sql_error(&sql, e))?;
            let outcome = query_batches(&conn, &sql, &params, bounds, emitter);
            let _ = conn.progress_handler(0, None::<fn() -> bool>);
            match outcome {
                Err(e) if Instant::now() >= deadline && e.code() == Code::Cancelled => {
                    Err(Error::status(
                        Code::DeadlineExceeded,
                        format!(
                            "the SQL statement ran past its time limit of {:?} (statement_timeout)",
                            bounds.timeout
                        ),
                    ))
                }
                other => other,
            }
        })
    }
}

impl SqlitePool {
    /// [`SqlitePool::stream`]'s rows read as rows `T` (its columns found by name, of
    /// `T`'s types: INTEGER as `i64`, REAL as `f64`, TEXT as `String`, BLOB as
    /// `Vec<u8>`, a column that may be NULL as an `Option`), for a service yielding rows.
    pub fn rows<T: crate::rows::ArrowRow>(
        &self,
        sql: &str,
        params: Vec<SqlValue>,
        batch_size: usize,
    ) -> impl futures::Stream<Item = Result<T>> + Send + 'static {
        use futures::StreamExt;
        self.stream(sql, params, batch_size).flat_map(|batch| {
            let rows: Box<dyn Iterator<Item = Result<T>> + Send> = match batch {
                Ok(batch) => Box::new(T::from_batch(&batch)),
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
            futures::stream::iter(rows)
        })
    }

    /// One part of `sql`'s rows, cut by ranges of a column (see
    /// [`crate::sources::range`]): the column's bounds over the query are read first,
    /// then the part's rows are streamed as [`SqlitePool::stream`] does.
    pub fn stream_part(
        &self,
        sql: &str,
        params: Vec<SqlValue>,
        part: &RangePart,
        batch_size: usize,
    ) -> BatchStream {
        let pool = self.clone();
        crate::sources::range::stream_part(
            move |sql, params, batch_size| pool.stream(sql, params, batch_size),
            sql,
            params,
            part,
            batch_size,
            Placeholders::Question,
            SqlValue::Integer,
        )
    }
}

/// The bounds of one query's batches and time.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Rows per batch.
    pub batch_rows: usize,
    /// Bytes of values per batch.
    pub batch_bytes: usize,
    /// Time of the statement.
    pub timeout: Duration,
}

/// Makes a connection a sandbox: reads of the main database only, no value longer than
/// `max_value` bytes built.
fn sandbox(conn: &mut rusqlite::Connection, max_value: i32) -> rusqlite::Result<()> {
    use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
    conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH, max_value)?;
    conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    conn.authorizer(Some(|ctx: AuthContext<'_>| match ctx.action {
        AuthAction::Select | AuthAction::Recursive => Authorization::Allow,
        AuthAction::Function { function_name } => {
            if function_name.eq_ignore_ascii_case("load_extension") {
                Authorization::Deny
            } else {
                Authorization::Allow
            }
        }
        AuthAction::Read { .. } => match ctx.database_name {
            Some("main") | None => Authorization::Allow,
            Some(_) => Authorization::Deny,
        },
        // These only describe the schema, whatever their argument.
        AuthAction::Pragma { pragma_name, .. }
            if ALLOWED_PRAGMAS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
        {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }))?;
    Ok(())
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
    let sql = crate::error::clip(sql.trim());
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ReadOnly => {
            Code::PermissionDenied
        }
        // Denied by the authorizer: SQLITE_AUTH, or (a function) "not authorized".
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::AuthorizationForStatementDenied =>
        {
            return Error::status(
                Code::PermissionDenied,
                format!("`{sql}` is not allowed: statements may read the main database only (no ATTACH, transactions, PRAGMA but read-only ones, or temporary objects)"),
            );
        }
        _ if e.to_string().starts_with("not authorized") => {
            return Error::status(
                Code::PermissionDenied,
                format!("`{sql}` is not allowed: statements may read the main database only (no ATTACH, transactions, PRAGMA but read-only ones, or temporary objects)"),
            );
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::TooBig => {
            return Error::status(
                Code::ResourceExhausted,
                format!("`{sql}` builds a value above {DEFAULT_MAX_BATCH_BYTES} bytes (max_batch_bytes)"),
            );
        }
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            return Error::status(Code::Cancelled, format!("`{sql}` was interrupted"));
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            Code::Unavailable
        }
        _ => Code::InvalidArgument,
    };
    Error::status(code, format!("SQL error in `{sql}`: {e}"))
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
    /// A column without a declared type whose values so far were all NULL: its type
    /// comes from its first other value.
    Pending(usize),
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

    /// The column's type; a pending one would be written as Utf8.
    fn data_type(&self) -> DataType {
        match self {
            Column::Int64(_) => DataType::Int64,
            Column::Float64(_) => DataType::Float64,
            Column::Binary(_) => DataType::Binary,
            Column::Utf8(_) | Column::Pending(_) => DataType::Utf8,
        }
    }

    /// Appends a value; `false` when it does not fit the column.
    fn append(&mut self, value: ValueRef<'_>, capacity: usize) -> bool {
        if let Column::Pending(nulls) = self {
            let Some(data_type) = value_type(value) else {
                *nulls += 1;
                return true;
            };
            let nulls = *nulls;
            *self = Column::new(&data_type, capacity);
            for _ in 0..nulls {
                self.append(ValueRef::Null, capacity);
            }
        }
        match (self, value) {
            (Column::Pending(_), _) => return false,
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

    /// The column's values so far, as an array of `data_type`; the builder starts anew.
    fn finish(&mut self, data_type: &DataType, capacity: usize) -> ArrayRef {
        if let Column::Pending(nulls) = *self {
            *self = Column::new(data_type, capacity);
            for _ in 0..nulls {
                self.append(ValueRef::Null, capacity);
            }
        }
        match self {
            Column::Int64(b) => Arc::new(b.finish()),
            Column::Float64(b) => Arc::new(b.finish()),
            Column::Utf8(b) => Arc::new(b.finish()),
            Column::Binary(b) => Arc::new(b.finish()),
            Column::Pending(_) => Arc::new(StringBuilder::new().finish()),
        }
    }
}

/// The bytes a value adds to a batch.
fn value_bytes(value: ValueRef<'_>) -> usize {
    match value {
        ValueRef::Null => 1,
        ValueRef::Integer(_) | ValueRef::Real(_) => 8,
        ValueRef::Text(t) | ValueRef::Blob(t) => t.len() + 4,
    }
}

/// Runs a read-only query on `conn` and sends its rows in batches of at most
/// `bounds.batch_rows` rows and about `bounds.batch_bytes` bytes.
pub fn query_batches(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[SqlValue],
    bounds: Bounds,
    emitter: &Emitter,
) -> Result<()> {
    let batch_rows = bounds.batch_rows.clamp(1, MAX_BATCH_ROWS);
    let capacity = batch_rows.min(4096);
    let mut stmt = conn.prepare(sql).map_err(|e| sql_error(sql, e))?;
    if !stmt.readonly() {
        return Err(Error::status(
            Code::PermissionDenied,
            format!(
                "only read-only statements are accepted, not `{}`",
                crate::error::clip(sql.trim())
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
    let mut columns: Vec<Column> = declared
        .iter()
        .map(|d| match d {
            Some(data_type) => Column::new(data_type, capacity),
            None => Column::Pending(0),
        })
        .collect();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(|e| sql_error(sql, e))?;

    // Fixed when the first batch is cut: a column without a declared type has the type
    // of its first non-null value in that batch (Utf8 when it has none).
    let mut schema: Option<SchemaRef> = None;
    let mut in_batch = 0_usize;
    let mut batch_bytes = 0_usize;
    let mut row_number = 0_u64;
    let mut sent_any = false;
    while let Some(row) = rows.next().map_err(|e| sql_error(sql, e))? {
        row_number += 1;
        for (i, column) in columns.iter_mut().enumerate() {
            let value = row.get_ref(i).map_err(|e| sql_error(sql, e))?;
            let bytes = value_bytes(value);
            if bytes > bounds.batch_bytes {
                return Err(Error::status(
                    Code::ResourceExhausted,
                    format!(
                        "row {row_number}, column `{}`: a value of {bytes} bytes is above the batch limit of {} bytes (max_batch_bytes)",
                        names[i], bounds.batch_bytes
                    ),
                ));
            }
            batch_bytes += bytes;
            if !column.append(value, capacity) {
                return Err(Error::status(
                    Code::FailedPrecondition,
                    format!(
                        "row {row_number}, column `{}`: a {} value does not fit the column's type {}{}",
                        names[i],
                        storage_class(value),
                        column.data_type(),
                        stmt_decl(&declared, i)
                    ),
                ));
            }
        }
        in_batch += 1;
        if in_batch >= batch_rows || batch_bytes >= bounds.batch_bytes {
            let schema = schema.get_or_insert_with(|| schema_of(&names, &columns));
            let batch = finish_batch(schema, &mut columns, capacity)?;
            in_batch = 0;
            batch_bytes = 0;
            sent_any = true;
            if emitter.send(batch).is_err() {
                return Ok(());
            }
        }
    }
    let schema = schema.unwrap_or_else(|| schema_of(&names, &columns));
    if in_batch > 0 {
        let _ = emitter.send(finish_batch(&schema, &mut columns, capacity)?);
    } else if !sent_any {
        let _ = emitter.send(RecordBatch::new_empty(schema));
    }
    Ok(())
}

fn schema_of(names: &[String], columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        names
            .iter()
            .zip(columns)
            .map(|(name, column)| Field::new(name, column.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

fn stmt_decl(declared: &[Option<DataType>], i: usize) -> &'static str {
    if declared[i].is_some() {
        " (from its declared type)"
    } else {
        " (from its first non-null value)"
    }
}

fn finish_batch(
    schema: &SchemaRef,
    columns: &mut [Column],
    capacity: usize,
) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = columns
        .iter_mut()
        .zip(schema.fields())
        .map(|(column, field)| column.finish(field.data_type(), capacity))
        .collect();
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

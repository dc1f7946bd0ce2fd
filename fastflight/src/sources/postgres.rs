//! PostgreSQL source (feature `postgres`): read-only queries over a pool of connections,
//! streamed as Arrow batches while rows arrive.
//!
//! A query without parameters is read with `COPY (query) TO STDOUT (FORMAT binary)`,
//! decoded straight into Arrow builders; a query with parameters is run as a prepared
//! statement with its parameters bound (never spliced into the text), its rows in the
//! same binary form through the same decoders. Every statement runs in a read-only
//! transaction with a time limit; a stream dropped midway cancels the statement on the
//! server and its connection is not reused.
//!
//! Every connection's role is checked when it opens: a superuser, or a role with rights
//! over the server's files, programs, other sessions or roles (`pg_read_server_files`,
//! `pg_write_server_files`, `pg_execute_server_program`, `pg_signal_backend`,
//! `pg_read_all_stats`, `CREATEROLE`, `REPLICATION`, `BYPASSRLS`) is refused, naming the
//! rights, unless [`PgPool::allow_privileged`] says otherwise: callers of a service
//! that runs their SQL would hold them too.
//!
//! | PostgreSQL | Arrow |
//! |---|---|
//! | `bool` | Boolean |
//! | `int2`, `int4`, `int8` | Int16, Int32, Int64 |
//! | `float4`, `float8` | Float32, Float64 |
//! | `numeric` | Utf8 (the exact decimal text, `NaN` and `Infinity` included) |
//! | `text`, `varchar`, `bpchar`, `name`, enums, `json`, `jsonb` | Utf8 (JSON as its text) |
//! | `bytea` | Binary |
//! | `uuid` | FixedSizeBinary(16) |
//! | `date` | Date32 |
//! | `time` | Time64(µs) |
//! | `timestamp` | Timestamp(µs) |
//! | `timestamptz` | Timestamp(µs, "UTC") |
//!
//! Any other type is refused before the first row, naming the column and its type:
//! cast it in the query (`interval_col::text`).
//!
//! ```no_run
//! # async fn run() -> fastflight::Result<()> {
//! use fastflight::sources::postgres::PgPool;
//! use futures::TryStreamExt;
//!
//! let pool = PgPool::connect("postgresql://reader@127.0.0.1:5432/shop")?;
//! let batches: Vec<_> = pool
//!     .stream("SELECT id, total FROM orders WHERE total > $1", vec![100.into()], 65_536)
//!     .try_collect()
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type};
use tokio_postgres::NoTls;
use tonic::Code;

use crate::fair::Shares;
use crate::service::{produce, BatchStream, Emitter};
use crate::sources::range::{Placeholders, RangePart};
use crate::sources::{MAX_BATCH_BYTES, MAX_BATCH_ROWS};
use crate::{Error, Result};

/// Connections of a pool.
pub const POOL_SIZE: usize = 8;

/// How long one statement may run by default ([`PgPool::statement_timeout`]).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a call waits for a pooled connection, or for a new one to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Parameters a statement may take.
pub const MAX_PARAMS: usize = 1024;

/// The rights of the connection's role that a pool refuses (unless allowed), whether
/// the role holds them itself or through a role it is a member of (which `SET ROLE`
/// would take on): one name per right held. Predefined roles a server does not have
/// count as not held.
const PRIVILEGES: &str = "WITH held AS (
    SELECT r.* FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'MEMBER')
)
SELECT array_remove(ARRAY[
    CASE WHEN bool_or(rolsuper) THEN 'SUPERUSER' END,
    CASE WHEN bool_or(rolcreaterole) THEN 'CREATEROLE' END,
    CASE WHEN bool_or(rolreplication) THEN 'REPLICATION' END,
    CASE WHEN bool_or(rolbypassrls) THEN 'BYPASSRLS' END,
    CASE WHEN bool_or(rolname = 'pg_read_server_files') THEN 'pg_read_server_files' END,
    CASE WHEN bool_or(rolname = 'pg_write_server_files') THEN 'pg_write_server_files' END,
    CASE WHEN bool_or(rolname = 'pg_execute_server_program') THEN 'pg_execute_server_program' END,
    CASE WHEN bool_or(rolname = 'pg_signal_backend') THEN 'pg_signal_backend' END,
    CASE WHEN bool_or(rolname = 'pg_read_all_stats') THEN 'pg_read_all_stats' END,
    CASE WHEN bool_or(rolname = 'pg_read_all_data') THEN 'pg_read_all_data' END,
    CASE WHEN bool_or(rolname = 'pg_write_all_data') THEN 'pg_write_all_data' END
], NULL)::text[], current_user::text FROM held";

/// A pool of PostgreSQL connections, each statement read-only and time-limited.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
    statement_timeout: Duration,
    max_batch_bytes: usize,
    /// Each peer's share of the pool's connections: half of them.
    shares: Arc<Shares>,
    /// Whether a privileged role is accepted (shared with the pool's connection hook).
    allow_privileged: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPool")
            .field("statement_timeout", &self.statement_timeout)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .finish_non_exhaustive()
    }
}

impl PgPool {
    /// A pool of connections to `url` (`postgresql://user:password@host:port/db`, or the
    /// `key=value` form; a `host=/dir` is a Unix socket). Connections open when first
    /// needed: a server that is down makes calls fail with `Unavailable`, not this.
    /// Connect as a role that may only read what it should serve (see the README).
    pub fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::Config(format!("PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let allow_privileged = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let allowed = Arc::clone(&allow_privileged);
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .post_create(deadpool_postgres::Hook::async_fn(move |client, _| {
                let allowed = allowed.load(std::sync::atomic::Ordering::Relaxed);
                Box::pin(async move {
                    if allowed {
                        return Ok(());
                    }
                    refuse_privileged(client)
                        .await
                        .map_err(|e| deadpool_postgres::HookError::Message(e.to_string().into()))
                })
            }))
            .build()
            .map_err(|e| Error::Config(format!("PostgreSQL pool: {e}")))?;
        Ok(Self {
            pool,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            max_batch_bytes: MAX_BATCH_BYTES,
            shares: Shares::new(POOL_SIZE / 2),
            allow_privileged,
        })
    }

    /// Accepts a role with the rights a pool otherwise refuses (a superuser, members of
    /// `pg_read_server_files`, ...): only for callers trusted with all of them.
    pub fn allow_privileged(self, allow: bool) -> Self {
        self.allow_privileged
            .store(allow, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// Opens one connection now, so a server that cannot reach the database, or whose
    /// role holds rights the pool refuses, says so at start: `Ok` when the database
    /// answered and the role is accepted.
    /// An unreachable database is `Unavailable`; a refused role a configuration error
    /// naming its rights.
    pub async fn check(&self) -> Result<()> {
        match self.pool.get().await {
            Ok(_) => Ok(()),
            Err(deadpool_postgres::PoolError::PostCreateHook(
                deadpool_postgres::HookError::Message(message),
            )) => Err(Error::Config(message.into_owned())),
            Err(e) => Err(Error::status(
                Code::Unavailable,
                format!("no PostgreSQL connection: {e}"),
            )),
        }
    }

    /// How long one statement may run (30 s by default): past it the server ends it and
    /// the stream ends with `DeadlineExceeded`.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Bytes of values per batch at most (64 MiB by default): a batch is cut when it
    /// reaches them, and a single value larger than them is refused by name.
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes.clamp(1, MAX_BATCH_BYTES);
        self
    }

    /// Runs `sql` with `params` bound (`$1`, `$2`, ...: JSON null, booleans, numbers and
    /// strings) and streams its rows in batches of `batch_size` rows (at most
    /// [`MAX_BATCH_ROWS`]) and about [`PgPool::max_batch_bytes`]. A result of zero
    /// rows is one empty batch with the result's schema.
    pub fn stream(
        &self,
        sql: &str,
        params: Vec<serde_json::Value>,
        batch_size: usize,
    ) -> BatchStream {
        let pool = self.clone();
        let sql = sql.to_owned();
        produce(move |emitter| async move { pool.run(&sql, &params, batch_size, &emitter).await })
    }

    /// One part of `sql`'s rows, cut by ranges of a column (see
    /// [`crate::sources::range`]): the column's bounds over the query are read first, then
    /// the part's rows (by `COPY` when the query has no parameters: the bounds are
    /// written into the statement as numbers).
    pub fn stream_part(
        &self,
        sql: &str,
        params: Vec<serde_json::Value>,
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
            Placeholders::Literal,
            serde_json::Value::from,
        )
    }

    /// All `parts` parts of `sql`'s rows by ranges of `column`, read at once (as many
    /// as the caller's share of the pool allows) and merged as their batches come: one
    /// result, read over several connections.
    pub fn stream_partitioned(
        &self,
        sql: &str,
        params: Vec<serde_json::Value>,
        column: &str,
        parts: u32,
        batch_size: usize,
    ) -> Result<BatchStream> {
        let parts: Vec<RangePart> = (0..parts.max(1))
            .map(|i| RangePart::new(column, i, parts.max(1)))
            .collect::<Result<_>>()?;
        let pool = self.clone();
        let sql = sql.to_owned();
        let at_once = self.shares.per_peer();
        let serving = crate::service::Serving::current();
        Ok(futures::stream::iter(parts)
            .map(move |part| {
                serving.enter(|| pool.stream_part(&sql, params.clone(), &part, batch_size))
            })
            .flatten_unordered(Some(at_once))
            .boxed())
    }

    /// One statement on a pooled connection: its share taken, a read-only transaction
    /// with the time limit, the rows sent; the connection given back when the statement
    /// ended cleanly, else dropped (a cancelled statement's connection is not reused).
    async fn run(
        &self,
        sql: &str,
        params: &[serde_json::Value],
        batch_size: usize,
        emitter: &Emitter,
    ) -> Result<()> {
        if params.len() > MAX_PARAMS {
            return Err(Error::status(
                Code::InvalidArgument,
                format!(
                    "field `params`: at most {MAX_PARAMS} parameters, not {}",
                    params.len()
                ),
            ));
        }
        let _share = self.shares.take(emitter.caller()).map_err(|held| {
            crate::error::refusal(
                Code::ResourceExhausted,
                crate::wire::Fault::Caller,
                format!(
                    "this client holds {held} of the {POOL_SIZE} pooled PostgreSQL connections, its share; try again when one of its queries ends"
                ),
            )
        })?;
        let conn = self.pool.get().await.map_err(|e| {
            Error::status(Code::Unavailable, format!("no PostgreSQL connection: {e}"))
        })?;
        let cancel = conn.cancel_token();
        let outcome = tokio::select! {
            outcome = self.read(&conn, sql, params, batch_size, emitter) => outcome,
            () = emitter.closed() => Err(Ended::Dropped),
        };
        match outcome {
            Ok(()) => {
                // Ends the read-only transaction (its settings with it) and releases the
                // session's advisory locks a query may have taken; the connection goes
                // back to the pool.
                conn.batch_execute("ROLLBACK; SELECT pg_advisory_unlock_all()")
                    .await
                    .map_err(|e| pg_error(sql, &e, self.statement_timeout, Duration::ZERO))?;
                Ok(())
            }
            Err(Ended::Dropped) => {
                // The statement may still run: stop it, and never reuse its connection.
                let _ = tokio::time::timeout(CONNECT_TIMEOUT, cancel.cancel_query(NoTls)).await;
                drop(Object::take(conn));
                Ok(())
            }
            Err(Ended::Failed(e)) => {
                drop(Object::take(conn));
                Err(e)
            }
        }
    }

    /// The statement's rows, decoded and sent batch by batch.
    async fn read(
        &self,
        conn: &Object,
        sql: &str,
        params: &[serde_json::Value],
        batch_size: usize,
        emitter: &Emitter,
    ) -> std::result::Result<(), Ended> {
        let began = std::time::Instant::now();
        let failed = |e: tokio_postgres::Error| {
            Ended::Failed(pg_error(sql, &e, self.statement_timeout, began.elapsed()))
        };
        conn.batch_execute(&format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {}",
            self.statement_timeout.as_millis().max(1)
        ))
        .await
        .map_err(failed)?;
        let statement = conn.prepare(sql).await.map_err(failed)?;
        if statement.columns().is_empty() {
            return Err(Ended::Failed(Error::status(
                Code::InvalidArgument,
                format!(
                    "`{}` returns no columns: only queries are read",
                    crate::error::clip(sql.trim())
                ),
            )));
        }
        let mut batcher = Batcher::new(
            statement.columns(),
            batch_size.clamp(1, MAX_BATCH_ROWS),
            self.max_batch_bytes,
        )
        .map_err(Ended::Failed)?;
        let types = statement.params();
        if types.len() != params.len() {
            return Err(Ended::Failed(Error::status(
                Code::InvalidArgument,
                format!(
                    "field `params`: the statement takes {} parameters, {} given",
                    types.len(),
                    params.len()
                ),
            )));
        }
        if params.is_empty() {
            // COPY takes no parameters; the statement above gave the columns.
            let copy = conn
                .copy_out(&format!("COPY ({sql}\n) TO STDOUT (FORMAT binary)"))
                .await
                .map_err(failed)?;
            let mut copy = std::pin::pin!(copy);
            let mut tuples = CopyTuples::default();
            while let Some(chunk) = copy.next().await {
                let chunk = chunk.map_err(failed)?;
                tuples.feed(&chunk, &mut batcher).map_err(Ended::Failed)?;
                batcher.send_full(emitter).await?;
            }
            if !tuples.ended() {
                return Err(Ended::Failed(Error::status(
                    Code::Unavailable,
                    "the COPY stream ended before its trailer",
                )));
            }
        } else {
            let bound: Vec<JsonParam> = params
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (value, ty))| JsonParam::new(i, value, ty))
                .collect::<Result<_>>()
                .map_err(Ended::Failed)?;
            let rows = conn
                .query_raw(&statement, bound.iter())
                .await
                .map_err(failed)?;
            let mut rows = std::pin::pin!(rows);
            while let Some(row) = rows.next().await {
                let row = row.map_err(failed)?;
                batcher
                    .row(|i| {
                        row.try_get::<_, Option<Raw<'_>>>(i)
                            .map(|raw| raw.map(|r| r.0))
                            .map_err(|e| Error::status(Code::Internal, e.to_string()))
                    })
                    .map_err(Ended::Failed)?;
                batcher.send_full(emitter).await?;
            }
        }
        batcher.finish(emitter).await
    }
}

/// Why a statement's read ended early.
enum Ended {
    /// The stream was dropped (or its reader stalled).
    Dropped,
    /// An error, for the caller.
    Failed(Error),
}

/// Refuses a connection whose role holds rights the pool refuses, naming them.
async fn refuse_privileged(client: &tokio_postgres::Client) -> Result<()> {
    let row = client
        .query_one(PRIVILEGES, &[])
        .await
        .map_err(|e| Error::Config(format!("cannot read the PostgreSQL role's rights: {e}")))?;
    let read = |e: tokio_postgres::Error| {
        Error::Config(format!("cannot read the PostgreSQL role's rights: {e}"))
    };
    let rights: Vec<String> = row.try_get(0).map_err(read)?;
    let role: String = row.try_get(1).map_err(read)?;
    if rights.is_empty() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "the PostgreSQL role `{}` holds {}: every caller of a service running its SQL would hold them too. Connect as a role that may only read what it serves (see the README), or allow it explicitly (PgPool::allow_privileged, --postgres-allow-privileged)",
        crate::error::clip(&role),
        rights.join(", ")
    )))
}

/// How much sooner than its limit a cancelled statement is still taken for one that ran
/// out of time (the server's timer and ours are not the same).
const TIMER_SLACK: Duration = Duration::from_millis(50);

/// A PostgreSQL error as a status: SQL errors name the statement; `elapsed` is how long
/// the statement had run, which tells a statement past its time limit from one
/// cancelled by another session where the server's message is in another language.
fn pg_error(sql: &str, e: &tokio_postgres::Error, timeout: Duration, elapsed: Duration) -> Error {
    let sql = crate::error::clip(sql.trim());
    let Some(db) = e.as_db_error() else {
        return Error::status(Code::Unavailable, format!("PostgreSQL connection: {e}"));
    };
    let code = db.code();
    let status = if *code == SqlState::QUERY_CANCELED {
        // The same code for the time limit and for a cancel request; PostgreSQL's
        // message tells which.
        // The message is PostgreSQL's, in its language: "statement timeout" in English.
        if db.message().contains("statement timeout") || elapsed + TIMER_SLACK >= timeout {
            return Error::status(
                Code::DeadlineExceeded,
                format!(
                    "the SQL statement ran past its time limit of {timeout:?} (statement_timeout)"
                ),
            );
        }
        return Error::status(
            Code::Aborted,
            format!(
                "the SQL statement was cancelled by the PostgreSQL server, not by its time limit (PostgreSQL says: {}); another session or an administrator cancelled it",
                db.message()
            ),
        );
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE || code.code().starts_with("25") {
        // Class 25: what a read-only transaction refuses (a write, leaving read-only).
        Code::PermissionDenied
    } else if code.code().starts_with("53") || code.code().starts_with("54") {
        Code::ResourceExhausted
    } else if code.code().starts_with("08") || code.code().starts_with("57") {
        Code::Unavailable
    } else {
        Code::InvalidArgument
    };
    Error::status(status, format!("SQL error in `{sql}`: {}", db.message()))
}

/// A field's bytes as PostgreSQL sent them (binary form), whatever its type.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A JSON request parameter, checked against the type the statement gives it.
#[derive(Debug)]
struct JsonParam(Param);

#[derive(Debug)]
enum Param {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
}

impl JsonParam {
    fn new(i: usize, value: &serde_json::Value, ty: &Type) -> Result<Self> {
        use serde_json::Value as J;
        let bad = |what: &str| {
            Error::status(
                Code::InvalidArgument,
                format!(
                    "field `params[{i}]`: {what} (parameter ${} is `{}`)",
                    i + 1,
                    ty.name()
                ),
            )
        };
        let int = |n: &serde_json::Number| n.as_i64().ok_or_else(|| bad("not an integer"));
        let param = match (value, base(ty)) {
            (J::Null, _) => Param::Null,
            (J::Bool(b), t) if t == Type::BOOL => Param::Bool(*b),
            (J::Number(n), t) if t == Type::INT2 => {
                Param::I16(i16::try_from(int(n)?).map_err(|_| bad("out of the range of int2"))?)
            }
            (J::Number(n), t) if t == Type::INT4 => {
                Param::I32(i32::try_from(int(n)?).map_err(|_| bad("out of the range of int4"))?)
            }
            (J::Number(n), t) if t == Type::INT8 => Param::I64(int(n)?),
            (J::Number(n), t) if t == Type::FLOAT4 => {
                Param::F32(n.as_f64().unwrap_or(f64::NAN) as f32)
            }
            (J::Number(n), t) if t == Type::FLOAT8 => Param::F64(n.as_f64().unwrap_or(f64::NAN)),
            (J::String(s), t) if is_text(&t) => Param::Text(s.clone()),
            (J::Number(n), t) if is_text(&t) => Param::Text(n.to_string()),
            (J::Array(_) | J::Object(_), _) => {
                return Err(bad("arrays and objects are not parameters"))
            }
            _ => {
                return Err(bad(&format!(
                    "a JSON {} does not fit; cast the parameter in the query (`${}::text`)",
                    json_kind(value),
                    i + 1
                )))
            }
        };
        Ok(Self(param))
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// The type under a domain.
fn base(ty: &Type) -> Type {
    match ty.kind() {
        Kind::Domain(inner) => base(inner),
        _ => ty.clone(),
    }
}

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

impl ToSql for JsonParam {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            Param::Null => Ok(IsNull::Yes),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::I16(v) => v.to_sql(ty, out),
            Param::I32(v) => v.to_sql(ty, out),
            Param::I64(v) => v.to_sql(ty, out),
            Param::F32(v) => v.to_sql(ty, out),
            Param::F64(v) => v.to_sql(ty, out),
            Param::Text(v) => v.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Tuples of a binary COPY stream, fed chunk by chunk (a tuple may span chunks).
#[derive(Default)]
struct CopyTuples {
    header_read: bool,
    ended: bool,
    /// The start of a tuple whose end has not come yet.
    pending: Vec<u8>,
    /// Each field of the tuple being read: where it is, and whether it is not NULL.
    spans: Vec<(usize, usize, bool)>,
}

const COPY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

impl CopyTuples {
    fn ended(&self) -> bool {
        self.ended
    }

    fn feed(&mut self, chunk: &[u8], batcher: &mut Batcher) -> Result<()> {
        if self.pending.is_empty() {
            let used = self.parse(chunk, batcher)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(chunk);
            let used = self.parse(&joined, batcher)?;
            joined.drain(..used);
            self.pending = joined;
        }
        Ok(())
    }

    /// Parses whole tuples of `data`; how many bytes they took.
    fn parse(&mut self, data: &[u8], batcher: &mut Batcher) -> Result<usize> {
        let bad = |what: &str| Error::status(Code::Internal, format!("bad COPY stream: {what}"));
        let mut at = 0;
        if !self.header_read {
            if data.len() < 19 {
                return Ok(0);
            }
            if &data[..11] != COPY_SIGNATURE {
                return Err(bad("no PGCOPY signature"));
            }
            let extension = u32::from_be_bytes([data[15], data[16], data[17], data[18]]) as usize;
            if data.len() < 19 + extension {
                return Ok(0);
            }
            at = 19 + extension;
            self.header_read = true;
        }
        while at + 2 <= data.len() && !self.ended {
            let fields = i16::from_be_bytes([data[at], data[at + 1]]);
            if fields == -1 {
                self.ended = true;
                return Ok(at + 2);
            }
            if fields as usize != batcher.columns.len() {
                return Err(bad("a tuple of another width"));
            }
            // Find the tuple's end first: it is parsed only when whole.
            let mut end = at + 2;
            let spans = &mut self.spans;
            spans.clear();
            let mut whole = true;
            for _ in 0..fields {
                if end + 4 > data.len() {
                    whole = false;
                    break;
                }
                let len =
                    i32::from_be_bytes([data[end], data[end + 1], data[end + 2], data[end + 3]]);
                end += 4;
                if len < 0 {
                    spans.push((end, end, false));
                    continue;
                }
                let len = len as usize;
                if end + len > data.len() {
                    whole = false;
                    break;
                }
                spans.push((end, end + len, true));
                end += len;
            }
            if !whole {
                break;
            }
            let spans = &self.spans;
            batcher.row(|i| {
                let (from, to, present) = spans[i];
                Ok(present.then(|| &data[from..to]))
            })?;
            at = end;
        }
        Ok(at)
    }
}

/// Rows decoded into column builders, cut into batches by rows and bytes.
struct Batcher {
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
    fn new(
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
    fn row<'a>(&mut self, mut field: impl FnMut(usize) -> Result<Option<&'a [u8]>>) -> Result<()> {
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

    fn cut(&mut self) -> Result<()> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        self.ready
            .push(RecordBatch::try_new(Arc::clone(&self.schema), arrays)?);
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }

    /// Sends the batches cut so far.
    async fn send_full(&mut self, emitter: &Emitter) -> std::result::Result<(), Ended> {
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
    async fn finish(mut self, emitter: &Emitter) -> std::result::Result<(), Ended> {
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
enum Column {
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

fn fixed<const N: usize>(v: &[u8]) -> std::result::Result<[u8; N], String> {
    v.try_into()
        .map_err(|_| format!("{} bytes where {N} were expected", v.len()))
}

impl Column {
    fn of(ty: &Type, capacity: usize) -> Option<Self> {
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

    fn data_type(&self) -> DataType {
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
    fn append(&mut self, value: Option<&[u8]>) -> std::result::Result<(), String> {
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

    fn finish(&mut self) -> ArrayRef {
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

fn utf8(v: &[u8]) -> std::result::Result<&str, String> {
    std::str::from_utf8(v).map_err(|e| format!("text that is not UTF-8: {e}"))
}

/// A `numeric` in binary form as PostgreSQL prints it: digits in base 10,000 with a
/// weight (the first group's power), a sign and the scale to show.
fn numeric_text(v: &[u8], out: &mut String) -> std::result::Result<(), String> {
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

//! The pool and its sessions: connections checked for privileged roles when they open, each
//! statement read-only and time-limited in a transaction of its own, read by COPY or as a
//! prepared statement, cancelled on the server when its stream is dropped.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::NoTls;
use tonic::Code;

use super::columns::Batcher;
use super::copy::CopyTuples;
use super::params::JsonParam;
use super::Ended;
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

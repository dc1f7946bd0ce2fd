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
//! Its parts: the pool and its sessions (`pool.rs`), the parameters bound
//! (`params.rs`), binary COPY's framing (`copy.rs`), the column builders
//! (`columns.rs`).
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

mod columns;
mod copy;
mod params;
mod pool;

pub use pool::{PgPool, DEFAULT_STATEMENT_TIMEOUT, MAX_PARAMS, POOL_SIZE};

/// Why a statement's read ended early.
pub(super) enum Ended {
    /// The stream was dropped (or its reader stalled).
    Dropped,
    /// An error, for the caller.
    Failed(crate::Error),
}

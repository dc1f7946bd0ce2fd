//! Reusable data sources, each behind a cargo feature: SQLite (`sqlite`), PostgreSQL
//! (`postgres`), CSV and Parquet files (`files`). They run on the blocking adapter, off the async threads,
//! and stream batch by batch. [`range`] cuts a SQL query into parts by ranges of a
//! column, for partitioned services over any of them (compiled without features, so a
//! request type's crate can check its fields with it).

#[cfg(feature = "files")]
pub mod files;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod range;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// The default number of rows per batch of the sources.
pub const DEFAULT_BATCH_SIZE: usize = 65_536;

/// Rows per batch at most, whatever a request asks for.
pub const MAX_BATCH_ROWS: usize = 1 << 20;

/// Bytes per batch at most: a batch is cut when it reaches them, and a single value (or
/// CSV record) larger than them is refused by name.
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

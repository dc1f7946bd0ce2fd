//! Request types of the fastflight demo services.
//!
//! A client needs only this crate (and `fastflight` without its server features) to
//! call the demo server with the typed stubs the derive writes next to each type:
//! `client.echo(EchoParams::default())` (trait [`EchoParamsClient`]),
//! `client.synthetic(...)`, `client.sql_query(...)`, `client.csv_file(...)`,
//! `client.parquet_file(...)`, `client.pg_query(...)`. The services live in
//! `fastflight-examples`.

use fastflight::prelude::*;

/// Echo one message back as one row. Same wire name and field as the Python package's
/// `EchoParams`, so its clients call this server unchanged.
#[derive(Debug, Clone, PartialEq, FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(
    name = "fastflight.demo_services.echo_demo.EchoParams",
    method = "echo"
)]
pub struct EchoParams {
    /// The message to echo.
    #[serde(default = "default_message")]
    pub message: String,
}

fn default_message() -> String {
    "Hello FastFlight!".to_owned()
}

impl Default for EchoParams {
    fn default() -> Self {
        Self {
            message: default_message(),
        }
    }
}

/// Generated rows `id: int64, value: float64, name: utf8`, made lazily batch by batch.
#[derive(Debug, Clone, PartialEq, FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(
    name = "fastflight.demo.SyntheticParams",
    method = "synthetic",
    validate = SyntheticParams::check
)]
pub struct SyntheticParams {
    /// How many rows in all.
    pub rows: u64,
    /// Rows per batch (at least 1).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seed of the `value` column; the same seed gives the same rows.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Parts the rows are split into, each a contiguous range of ids read from its own
    /// endpoint (GetFlightInfo); their union is the unsplit answer.
    #[serde(default = "one")]
    pub partitions: u32,
    /// The first id (a part's offset).
    #[serde(default)]
    pub start: u64,
}

fn one() -> u32 {
    1
}

/// Parts a [`SyntheticParams`] request may be split into at most.
pub const MAX_PARTITIONS: u32 = 64;

/// The default batch size of [`SyntheticParams`].
pub const DEFAULT_BATCH_SIZE: usize = 65_536;

fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}

impl SyntheticParams {
    fn check(&self) -> Result<(), String> {
        if self.batch_size == 0 {
            return Err("field `batch_size` must be at least 1".to_owned());
        }
        if self.batch_size > 16 * 1024 * 1024 {
            return Err("field `batch_size` must be at most 16777216 rows".to_owned());
        }
        if !(1..=MAX_PARTITIONS).contains(&self.partitions) {
            return Err(format!(
                "field `partitions` must be from 1 to {MAX_PARTITIONS}"
            ));
        }
        if self.start.checked_add(self.rows).is_none() {
            return Err("fields `start` + `rows` pass the largest id".to_owned());
        }
        Ok(())
    }

    /// The parts of this request: `partitions` contiguous ranges of ids, the first ones
    /// a row longer when the rows do not divide evenly.
    pub fn split(&self) -> Vec<SyntheticParams> {
        let parts = u64::from(self.partitions.max(1));
        let (each, extra) = (self.rows / parts, self.rows % parts);
        let mut start = self.start;
        (0..parts)
            .map(|i| {
                let rows = each + u64::from(i < extra);
                let part = SyntheticParams {
                    rows,
                    start,
                    partitions: 1,
                    ..self.clone()
                };
                start += rows;
                part
            })
            .collect()
    }
}

/// How a SQL query is split into parts by ranges of an integer column: with `partitions`
/// above 1 and a column in `partition_on`, GetFlightInfo answers one endpoint per range
/// of that column (equal widths between its smallest and largest value over the query;
/// rows where it is NULL in the first part), each the same request with its `part` set:
/// their union is the unsplit answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RangeSplit {
    /// Parts the answer is split into by ranges of `partition_on` (1: not split).
    #[serde(default, skip_serializing_if = "is_at_most_one")]
    pub partitions: u32,
    /// The integer column the parts are cut on (`id`, say); needed with `partitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_on: Option<String>,
    /// Which part (from 0) this request reads; set in the parts GetFlightInfo answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
}

fn is_at_most_one(n: &u32) -> bool {
    *n <= 1
}

impl RangeSplit {
    /// `partitions` parts of `column`.
    pub fn on(column: &str, partitions: u32) -> Self {
        Self {
            partitions,
            partition_on: Some(column.to_owned()),
            part: None,
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.partitions > MAX_PARTITIONS {
            return Err(format!(
                "field `partitions` must be from 1 to {MAX_PARTITIONS}"
            ));
        }
        if self.partitions > 1 {
            match &self.partition_on {
                Some(column) => fastflight::sources::range::check_column(column)?,
                None => {
                    return Err(
                        "field `partition_on` must name an integer column to split on when `partitions` is above 1"
                            .to_owned(),
                    )
                }
            }
        }
        match self.part {
            Some(part) if part >= self.partitions.max(1) => Err(format!(
                "field `part` must be below `partitions` ({})",
                self.partitions.max(1)
            )),
            _ => Ok(()),
        }
    }

    /// The splits of the parts: one per range, or this one when it is not split (or is a
    /// part already).
    pub fn parts(&self) -> Vec<RangeSplit> {
        if self.partitions <= 1 || self.part.is_some() {
            return vec![self.clone()];
        }
        (0..self.partitions)
            .map(|part| RangeSplit {
                part: Some(part),
                ..self.clone()
            })
            .collect()
    }

    /// The part this request reads, when it is one part of several.
    pub fn range_part(&self) -> Option<(&str, u32, u32)> {
        match (self.part, self.partition_on.as_deref()) {
            (Some(part), Some(column)) if self.partitions > 1 => {
                Some((column, part, self.partitions))
            }
            _ => None,
        }
    }
}

/// A read-only SQL query over the demo SQLite database (tables `trades`, `symbols`,
/// `daily_bars`), with parameters bound to `?1`, `?2`, ..., split into parts by ranges of
/// a column on request ([`RangeSplit`]).
#[derive(Debug, Clone, Default, PartialEq, FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "fastflight.demo.SqlQuery", validate = SqlQuery::check)]
pub struct SqlQuery {
    /// One SELECT statement.
    pub query: String,
    /// Values for the statement's parameters: JSON null, booleans, numbers or strings.
    #[serde(default)]
    pub params: Vec<serde_json::Value>,
    /// Rows per batch.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Parts by ranges of a column (`partitions`, `partition_on`, `part`).
    #[serde(flatten)]
    pub split: RangeSplit,
}

/// `new`, the validation and the split of a SQL request type (`query`, `params`,
/// `batch_size`, `split`).
macro_rules! sql_request {
    ($name:ident) => {
        impl $name {
            /// A query with no parameters, unsplit.
            pub fn new(query: impl Into<String>) -> Self {
                Self {
                    query: query.into(),
                    ..Self::default()
                }
            }

            fn check(&self) -> Result<(), String> {
                self.split.check()
            }

            /// The parts of this request (see [`RangeSplit`]).
            pub fn split(&self) -> Vec<$name> {
                self.split
                    .parts()
                    .into_iter()
                    .map(|split| $name {
                        split,
                        ..self.clone()
                    })
                    .collect()
            }
        }
    };
}

sql_request!(SqlQuery);

/// A read-only SQL query over the PostgreSQL database the demo is given
/// (`--postgres-url`), with parameters bound to `$1`, `$2`, ..., split into parts by
/// ranges of a column on request ([`RangeSplit`]).
#[derive(Debug, Clone, Default, PartialEq, FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "fastflight.demo.PgQuery", validate = PgQuery::check)]
pub struct PgQuery {
    /// One SELECT statement.
    pub query: String,
    /// Values for the statement's parameters: JSON null, booleans, numbers or strings.
    #[serde(default)]
    pub params: Vec<serde_json::Value>,
    /// Rows per batch.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Parts by ranges of a column (`partitions`, `partition_on`, `part`).
    #[serde(flatten)]
    pub split: RangeSplit,
}

sql_request!(PgQuery);

/// A CSV file of the demo's data directory (`trades.csv`).
#[derive(Debug, Clone, PartialEq, FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "fastflight.demo.CsvFile")]
pub struct CsvFile {
    /// The path, relative to the data directory.
    pub path: String,
    /// The columns to read, in this order (all by default).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// At most this many rows.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Rows per batch.
    #[serde(default)]
    pub batch_size: Option<usize>,
}

/// A Parquet file of the demo's data directory (`trades.parquet`).
#[derive(Debug, Clone, PartialEq, FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "fastflight.demo.ParquetFile")]
pub struct ParquetFile {
    /// The path, relative to the data directory.
    pub path: String,
    /// The columns to read, in this order (all by default).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// At most this many rows.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Rows per batch.
    #[serde(default)]
    pub batch_size: Option<usize>,
}

/// A trade of the demo database's `trades` table, as a typed row.
#[derive(ArrowRow, Debug, Clone, PartialEq)]
pub struct Trade {
    /// The trade's id.
    pub id: i64,
    /// Its symbol (`AAPL`, `MSFT`, ...): a dictionary column (a pandas categorical).
    #[arrow(dictionary)]
    pub symbol: String,
    /// Its price.
    pub price: f64,
    /// How many shares.
    pub quantity: i64,
    /// When, in milliseconds since 1970.
    pub ts: i64,
}

/// The trades of one symbol, in id order, as typed rows: `client.trades(..)` gives
/// [`Trade`]s, no Arrow array in sight.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema, Debug, Clone)]
#[flight(name = "fastflight.demo.Trades", rows = Trade, validate = Trades::check)]
pub struct Trades {
    /// The symbol.
    pub symbol: String,
    /// The trades at most (1 to 1,000,000).
    #[serde(default = "default_trades_limit")]
    pub limit: i64,
}

fn default_trades_limit() -> i64 {
    1_000
}

impl Trades {
    fn check(&self) -> Result<(), String> {
        if !(1..=1_000_000).contains(&self.limit) {
            return Err(format!(
                "field `limit` must be within 1 and 1000000, not {}",
                self.limit
            ));
        }
        Ok(())
    }
}

/// A row of the synthetic data, typed: the same rows [`SyntheticParams`] gives as
/// batches.
#[derive(ArrowRow, Debug, Clone, PartialEq)]
pub struct SyntheticRow {
    /// Its id, from `start` on.
    pub id: i64,
    /// A value in [0, 1) drawn from the seed and the id.
    pub value: f64,
    /// `row-000000000042`.
    pub name: String,
}

/// The synthetic rows as typed rows, made one at a time and cut into batches by the
/// row batcher.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema, Debug, Clone)]
#[flight(name = "fastflight.demo.SyntheticRows", rows = SyntheticRow, validate = SyntheticRows::check)]
pub struct SyntheticRows {
    /// How many rows in all.
    pub rows: u64,
    /// Seed of the `value` column; the same seed gives the same rows.
    #[serde(default)]
    pub seed: Option<u64>,
}

impl SyntheticRows {
    fn check(&self) -> Result<(), String> {
        if self.rows > i64::MAX as u64 {
            return Err(format!(
                "field `rows` must be at most {}, the largest id",
                i64::MAX
            ));
        }
        Ok(())
    }
}

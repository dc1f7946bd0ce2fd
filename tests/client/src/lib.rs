//! A client of the demo server that depends only on the demo's request types
//! (`fastflight-demo-api`) and on `fastflight` with its `client` feature: no server,
//! gateway or command line is compiled in. Every call goes through a typed stub that
//! `#[derive(FlightRequest)]` wrote next to its request type.
//!
//! ```no_run
//! # async fn run() -> fastflight::Result<()> {
//! let client = fastflight::Client::connect("grpc://127.0.0.1:8815").await?;
//! let answers = fastflight_demo_client::call_every_service(&client).await?;
//! println!("{answers:?}");
//! # Ok(()) }
//! ```

use fastflight::arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use fastflight_demo_api::{
    CsvFile, CsvFileClient, EchoParams, EchoParamsClient, ParquetFile, ParquetFileClient, PgQuery,
    PgQueryClient, SqlQuery, SqlQueryClient, SyntheticParams, SyntheticParamsClient, SyntheticRow,
    SyntheticRows, SyntheticRowsClient, Trade, Trades, TradesClient,
};

/// What each demo service answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answers {
    /// The message `echo` sent back.
    pub echo: String,
    /// The `id` column of 1,000 synthetic rows in batches of 300.
    pub synthetic_ids: Vec<i64>,
    /// The rows of each synthetic batch.
    pub synthetic_batches: Vec<usize>,
    /// `SELECT count(*)` of the demo's `trades` table, with a bound parameter.
    pub trades_over: i64,
    /// Rows of `trades.csv` with `limit: 5`, and their columns.
    pub csv_rows: usize,
    /// The CSV columns asked for, in order.
    pub csv_columns: Vec<String>,
    /// Rows of `trades.parquet` with `limit: 7`.
    pub parquet_rows: usize,
    /// `SELECT 1` over PostgreSQL: the row count, or the error of a server without a
    /// PostgreSQL database.
    pub postgres: Result<usize, String>,
    /// The first five AAPL trades, as typed rows.
    pub aapl_trades: Vec<Trade>,
    /// 1,000 synthetic rows (seed 7) as typed rows.
    pub synthetic_rows: Vec<SyntheticRow>,
}

/// Calls every demo service once through its typed stub.
pub async fn call_every_service(client: &fastflight::Client) -> fastflight::Result<Answers> {
    let echo = client
        .echo(EchoParams {
            message: "from the client crate".into(),
        })
        .await?
        .concat()
        .await?;
    let echo = string_column(&echo, "message")?
        .first()
        .cloned()
        .unwrap_or_default();

    let synthetic = client
        .synthetic(SyntheticParams {
            partitions: 1,
            start: 0,
            rows: 1_000,
            batch_size: 300,
            seed: Some(7),
        })
        .await?
        .collect()
        .await?;
    let synthetic_batches = synthetic.iter().map(RecordBatch::num_rows).collect();
    let mut synthetic_ids = Vec::new();
    for batch in &synthetic {
        synthetic_ids.extend(int_column(batch, "id")?);
    }

    let count = client
        .sql_query(SqlQuery {
            query: "SELECT count(*) AS n FROM trades WHERE quantity > ?1".into(),
            params: vec![serde_json::json!(0)],
            batch_size: None,
            ..Default::default()
        })
        .await?
        .concat()
        .await?;
    let trades_over = int_column(&count, "n")?.first().copied().unwrap_or(-1);

    let csv = client
        .csv_file(CsvFile {
            path: "trades.csv".into(),
            columns: Some(vec!["symbol".into(), "price".into()]),
            limit: Some(5),
            batch_size: None,
        })
        .await?
        .concat()
        .await?;
    let csv_columns = csv
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();

    let parquet = client
        .parquet_file(ParquetFile {
            path: "trades.parquet".into(),
            columns: None,
            limit: Some(7),
            batch_size: None,
        })
        .await?
        .concat()
        .await?;

    let postgres = match client.pg_query(PgQuery::new("SELECT 1 AS one")).await {
        Ok(stream) => match stream.collect().await {
            Ok(batches) => Ok(batches.iter().map(RecordBatch::num_rows).sum()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };

    // Typed rows: the stubs of `rows = ..` requests give rows, no Arrow array in sight.
    let aapl_trades = client
        .trades(Trades {
            symbol: "AAPL".into(),
            limit: 5,
        })
        .await?
        .collect_vec()
        .await?;
    let synthetic_rows = client
        .synthetic_rows(SyntheticRows {
            rows: 1_000,
            seed: Some(7),
        })
        .await?
        .collect_vec()
        .await?;

    Ok(Answers {
        echo,
        aapl_trades,
        synthetic_rows,
        synthetic_ids,
        synthetic_batches,
        trades_over,
        csv_rows: csv.num_rows(),
        csv_columns,
        parquet_rows: parquet.num_rows(),
        postgres,
    })
}

/// The echo service through the blocking client's stub.
pub fn blocking_echo(
    client: &fastflight::blocking::Client,
    message: &str,
) -> fastflight::Result<String> {
    let batch = client
        .echo(EchoParams {
            message: message.to_owned(),
        })?
        .concat()?;
    Ok(string_column(&batch, "message")?
        .first()
        .cloned()
        .unwrap_or_default())
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> fastflight::Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| {
            fastflight::Error::Config(format!(
                "the answer has no column `{name}` of the expected type"
            ))
        })
}

fn int_column(batch: &RecordBatch, name: &str) -> fastflight::Result<Vec<i64>> {
    let a: &Int64Array = column(batch, name)?;
    Ok((0..a.len()).map(|i| a.value(i)).collect())
}

fn string_column(batch: &RecordBatch, name: &str) -> fastflight::Result<Vec<String>> {
    let a: &StringArray = column(batch, name)?;
    Ok((0..a.len()).map(|i| a.value(i).to_owned()).collect())
}

//! The demo's data directory: a SQLite database and CSV/Parquet files of generated but
//! realistic market data, created on first start.
//!
//! - `demo.sqlite`: `symbols` (40 rows), `daily_bars` (40 symbols × 250 days) and
//!   `trades` (1,000,000 rows: `id`, `symbol`, `price`, `quantity`, `ts`);
//! - `trades.csv` and `trades.parquet`: the first 100,000 trades.
//!
//! Each file is written under a temporary name and renamed into place, so a reader
//! never sees half a file, and two processes starting at once do not clash.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fastflight::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use fastflight::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use fastflight::sources::sqlite::rusqlite;
use fastflight::{Error, Result};

/// Rows of the `trades` table.
pub const TRADES: usize = 1_000_000;
/// Rows of `trades.csv` and `trades.parquet`.
pub const FILE_TRADES: usize = 100_000;

/// The SQLite database file of a data directory.
pub fn database(dir: &Path) -> PathBuf {
    dir.join("demo.sqlite")
}

const SYMBOLS: &[(&str, &str, &str, f64)] = &[
    ("AAPL", "Apple Inc.", "Technology", 189.5),
    ("MSFT", "Microsoft Corp.", "Technology", 402.1),
    ("GOOGL", "Alphabet Inc.", "Communication", 141.8),
    ("AMZN", "Amazon.com Inc.", "Consumer Discretionary", 178.2),
    ("NVDA", "NVIDIA Corp.", "Technology", 495.2),
    ("META", "Meta Platforms Inc.", "Communication", 390.7),
    ("TSLA", "Tesla Inc.", "Consumer Discretionary", 212.4),
    ("BRK.B", "Berkshire Hathaway", "Financials", 376.9),
    ("JPM", "JPMorgan Chase & Co.", "Financials", 172.3),
    ("V", "Visa Inc.", "Financials", 268.1),
    ("UNH", "UnitedHealth Group", "Health Care", 521.6),
    ("JNJ", "Johnson & Johnson", "Health Care", 156.4),
    ("XOM", "Exxon Mobil Corp.", "Energy", 103.2),
    ("PG", "Procter & Gamble", "Consumer Staples", 151.8),
    ("MA", "Mastercard Inc.", "Financials", 446.9),
    ("HD", "Home Depot Inc.", "Consumer Discretionary", 352.0),
    ("CVX", "Chevron Corp.", "Energy", 148.6),
    ("MRK", "Merck & Co.", "Health Care", 121.3),
    ("ABBV", "AbbVie Inc.", "Health Care", 162.5),
    ("PEP", "PepsiCo Inc.", "Consumer Staples", 168.9),
    ("KO", "Coca-Cola Co.", "Consumer Staples", 59.7),
    ("COST", "Costco Wholesale", "Consumer Staples", 712.4),
    ("AVGO", "Broadcom Inc.", "Technology", 1221.0),
    ("WMT", "Walmart Inc.", "Consumer Staples", 164.2),
    ("MCD", "McDonald's Corp.", "Consumer Discretionary", 291.5),
    ("CSCO", "Cisco Systems", "Technology", 49.8),
    ("ACN", "Accenture plc", "Technology", 359.1),
    ("ORCL", "Oracle Corp.", "Technology", 114.6),
    ("ADBE", "Adobe Inc.", "Technology", 581.3),
    ("CRM", "Salesforce Inc.", "Technology", 268.7),
    ("NFLX", "Netflix Inc.", "Communication", 561.2),
    ("AMD", "Advanced Micro Devices", "Technology", 170.4),
    ("INTC", "Intel Corp.", "Technology", 43.1),
    ("DIS", "Walt Disney Co.", "Communication", 99.6),
    ("BA", "Boeing Co.", "Industrials", 205.3),
    ("CAT", "Caterpillar Inc.", "Industrials", 294.8),
    ("GS", "Goldman Sachs", "Financials", 386.2),
    ("IBM", "IBM Corp.", "Technology", 184.9),
    ("NKE", "Nike Inc.", "Consumer Discretionary", 103.7),
    ("SBUX", "Starbucks Corp.", "Consumer Discretionary", 94.2),
];

/// A deterministic generator (splitmix64), so every data directory holds the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The schema of the `trades` rows.
pub fn trades_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("price", DataType::Float64, true),
        Field::new("quantity", DataType::Int64, true),
        Field::new("ts", DataType::Int64, true),
    ]))
}

/// Makes the trades, batch by batch: a random walk per symbol, timestamps in ms from
/// 2024-01-02 14:30 UTC.
struct Trades {
    rng: Rng,
    prices: Vec<f64>,
    ts: i64,
    next_id: i64,
}

impl Trades {
    fn new() -> Self {
        Self {
            rng: Rng(2024),
            prices: SYMBOLS.iter().map(|s| s.3).collect(),
            ts: 1_704_205_800_000,
            next_id: 1,
        }
    }

    fn batch(&mut self, rows: usize) -> Result<RecordBatch> {
        let (mut ids, mut symbols, mut prices, mut quantities, mut stamps) = (
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
        );
        for _ in 0..rows {
            let s = self.rng.below(SYMBOLS.len() as u64) as usize;
            let step = (self.rng.unit() - 0.5) * 0.002;
            self.prices[s] = (self.prices[s] * (1.0 + step)).max(1.0);
            self.ts += 1 + self.rng.below(40) as i64;
            ids.push(self.next_id);
            symbols.push(SYMBOLS[s].0);
            prices.push((self.prices[s] * 100.0).round() / 100.0);
            quantities.push(1 + self.rng.below(1000) as i64);
            stamps.push(self.ts);
            self.next_id += 1;
        }
        Ok(RecordBatch::try_new(
            trades_schema(),
            vec![
                Arc::new(Int64Array::from(ids)) as ArrayRef,
                Arc::new(StringArray::from(symbols)),
                Arc::new(Float64Array::from(prices)),
                Arc::new(Int64Array::from(quantities)),
                Arc::new(Int64Array::from(stamps)),
            ],
        )?)
    }
}

fn sql(e: rusqlite::Error) -> Error {
    Error::Config(format!("cannot create the demo database: {e}"))
}

fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(name)
}

/// Creates what is missing of the data directory; returns its path.
pub fn prepare(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::Config(format!(
            "cannot create data directory {}: {e}",
            dir.display()
        ))
    })?;
    let db = database(dir);
    let csv = dir.join("trades.csv");
    let parquet = dir.join("trades.parquet");
    if db.exists() && csv.exists() && parquet.exists() {
        return Ok(dir.to_path_buf());
    }
    let started = std::time::Instant::now();
    eprintln!("creating the demo data in {} (once) ...", dir.display());
    let tmp_db = temp_name(&db);
    let _ = std::fs::remove_file(&tmp_db);
    let mut conn = rusqlite::Connection::open(&tmp_db).map_err(sql)?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         CREATE TABLE symbols (symbol TEXT PRIMARY KEY, name TEXT NOT NULL, sector TEXT NOT NULL, base_price REAL NOT NULL);
         CREATE TABLE trades (id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, price REAL NOT NULL, quantity INTEGER NOT NULL, ts INTEGER NOT NULL);
         CREATE TABLE daily_bars (symbol TEXT NOT NULL, day TEXT NOT NULL, open REAL, high REAL, low REAL, close REAL, volume INTEGER, PRIMARY KEY (symbol, day));",
    )
    .map_err(sql)?;
    let tx = conn.transaction().map_err(sql)?;
    {
        let mut insert = tx
            .prepare("INSERT INTO symbols VALUES (?1, ?2, ?3, ?4)")
            .map_err(sql)?;
        for (symbol, name, sector, price) in SYMBOLS {
            insert
                .execute(rusqlite::params![symbol, name, sector, price])
                .map_err(sql)?;
        }
        let mut insert = tx
            .prepare("INSERT INTO daily_bars VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .map_err(sql)?;
        let mut rng = Rng(7);
        for (symbol, _, _, base) in SYMBOLS {
            let mut close = *base;
            for day in 0..250 {
                let open = close;
                close = (open * (1.0 + (rng.unit() - 0.5) * 0.04)).max(1.0);
                let high = open.max(close) * (1.0 + rng.unit() * 0.01);
                let low = open.min(close) * (1.0 - rng.unit() * 0.01);
                let date = format!("2024-{:02}-{:02}", 1 + day / 21, 1 + day % 21);
                let volume = 1_000_000 + rng.below(9_000_000) as i64;
                insert
                    .execute(rusqlite::params![
                        symbol, date, open, high, low, close, volume
                    ])
                    .map_err(sql)?;
            }
        }
        let mut insert = tx
            .prepare("INSERT INTO trades VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(sql)?;
        let mut trades = Trades::new();
        let mut written = 0;
        while written < TRADES {
            let batch = trades.batch(100_000.min(TRADES - written))?;
            if written == 0 {
                write_files(&batch, &csv, &parquet)?;
            }
            let ids = batch.column(0).as_any().downcast_ref::<Int64Array>();
            let symbols = batch.column(1).as_any().downcast_ref::<StringArray>();
            let prices = batch.column(2).as_any().downcast_ref::<Float64Array>();
            let quantities = batch.column(3).as_any().downcast_ref::<Int64Array>();
            let stamps = batch.column(4).as_any().downcast_ref::<Int64Array>();
            let (Some(ids), Some(symbols), Some(prices), Some(quantities), Some(stamps)) =
                (ids, symbols, prices, quantities, stamps)
            else {
                return Err(Error::Config("trades batch of an unexpected shape".into()));
            };
            for i in 0..batch.num_rows() {
                insert
                    .execute(rusqlite::params![
                        ids.value(i),
                        symbols.value(i),
                        prices.value(i),
                        quantities.value(i),
                        stamps.value(i)
                    ])
                    .map_err(sql)?;
            }
            written += batch.num_rows();
        }
    }
    tx.commit().map_err(sql)?;
    conn.execute_batch("CREATE INDEX trades_symbol ON trades (symbol);")
        .map_err(sql)?;
    drop(conn);
    std::fs::rename(&tmp_db, &db)?;
    eprintln!(
        "demo data ready in {:.1}s: {} ({TRADES} trades), trades.csv and trades.parquet ({FILE_TRADES} trades)",
        started.elapsed().as_secs_f64(),
        db.display()
    );
    Ok(dir.to_path_buf())
}

fn write_files(batch: &RecordBatch, csv: &Path, parquet: &Path) -> Result<()> {
    let first = batch.slice(0, FILE_TRADES.min(batch.num_rows()));
    let tmp = temp_name(csv);
    {
        let file = std::fs::File::create(&tmp)?;
        let mut writer = fastflight::arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(file);
        writer.write(&first)?;
    }
    std::fs::rename(&tmp, csv)?;
    let tmp = temp_name(parquet);
    {
        let file = std::fs::File::create(&tmp)?;
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, first.schema(), None)
            .map_err(|e| Error::Config(format!("cannot write trades.parquet: {e}")))?;
        writer
            .write(&first)
            .and_then(|_| writer.close().map(drop))
            .map_err(|e| Error::Config(format!("cannot write trades.parquet: {e}")))?;
    }
    std::fs::rename(&tmp, parquet)?;
    Ok(())
}

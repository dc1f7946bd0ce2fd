//! The clients under test, each run as its own process so its peak RSS is its own:
//! fastflight's `Client` and arrow-flight's `FlightClient` with its defaults.

use std::future::Future;
use std::time::Instant;

use arrow_flight::{FlightClient, Ticket};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

/// What a client run reports, as JSON on stdout.
#[derive(Debug, Serialize)]
pub struct Report {
    pub times: Vec<f64>,
    pub rows: u64,
    pub echo_p50_us: f64,
    pub echo_p99_us: f64,
    pub calls_per_s: f64,
    pub peak_rss_mb: f64,
}

/// How to fetch a ticket and count its rows.
pub trait Fetcher: Clone + Send + Sync + 'static {
    fn rows(&self, ticket: Bytes) -> impl Future<Output = Result<u64, String>> + Send;
}

#[derive(Clone)]
pub struct Fastflight(pub fastflight::Client);

impl Fetcher for Fastflight {
    async fn rows(&self, ticket: Bytes) -> Result<u64, String> {
        let mut stream = self
            .0
            .fetch_ticket(ticket)
            .await
            .map_err(|e| e.to_string())?;
        let mut rows = 0;
        while let Some(batch) = stream.next().await {
            rows += batch.map_err(|e| e.to_string())?.num_rows() as u64;
        }
        Ok(rows)
    }
}

#[derive(Clone)]
pub struct Raw(pub tonic::transport::Channel);

impl Fetcher for Raw {
    async fn rows(&self, ticket: Bytes) -> Result<u64, String> {
        let mut client = FlightClient::new(self.0.clone());
        let stream = client
            .do_get(Ticket::new(ticket))
            .await
            .map_err(|e| e.to_string())?;
        stream
            .map_err(|e| e.to_string())
            .try_fold(0_u64, |rows, batch| async move {
                Ok(rows + batch.num_rows() as u64)
            })
            .await
    }
}

/// This process's peak resident set, in MB.
pub fn peak_rss_mb() -> f64 {
    vm_hwm_mb("self")
}

/// The peak resident set (`VmHWM`) of `/proc/{pid}`, in MB; 0 where unknown.
pub fn vm_hwm_mb(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Warm-up, `runs` timed fetches of the payload, `echo_calls` sequential echo calls,
/// and `per_caller` calls from each of `callers` concurrent callers.
pub async fn measure<F: Fetcher>(
    fetcher: F,
    payload: Bytes,
    echo: Bytes,
    runs: usize,
    echo_calls: usize,
    (callers, per_caller): (usize, usize),
) -> Result<Report, String> {
    let rows = fetcher.rows(payload.clone()).await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let got = fetcher.rows(payload.clone()).await?;
        times.push(started.elapsed().as_secs_f64());
        if got != rows {
            return Err(format!("a run got {got} rows, the warm-up {rows}"));
        }
    }
    for _ in 0..50 {
        fetcher.rows(echo.clone()).await?;
    }
    let mut latencies = Vec::with_capacity(echo_calls);
    for _ in 0..echo_calls {
        let started = Instant::now();
        fetcher.rows(echo.clone()).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
    }
    latencies.sort_by(f64::total_cmp);
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let fetcher = fetcher.clone();
            let echo = echo.clone();
            tokio::spawn(async move {
                for _ in 0..per_caller {
                    fetcher.rows(echo.clone()).await?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Report {
        times,
        rows,
        echo_p50_us: latencies[latencies.len() / 2],
        echo_p99_us: latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)],
        calls_per_s: (per_caller * callers) as f64 / elapsed,
        peak_rss_mb: peak_rss_mb(),
    })
}

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

/// An HTTP client of a gateway's `/stream`: the Arrow body decoded into batches as it
/// arrives (`accept: None`), or a CSV or NDJSON body read and its lines counted.
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
    /// The gateway's base URL (`http://127.0.0.1:PORT/fastflight`).
    pub url: String,
    pub accept: Option<&'static str>,
}

impl Fetcher for Http {
    async fn rows(&self, ticket: Bytes) -> Result<u64, String> {
        let mut request = self
            .client
            .post(format!("{}/stream", self.url))
            .body(ticket);
        if let Some(accept) = self.accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!(
                "{}: {}",
                response.status(),
                response.text().await.unwrap_or_default()
            ));
        }
        let mut body = response.bytes_stream();
        let mut rows = 0_u64;
        match self.accept {
            None => {
                // The Flight client's decoding and checks, over the HTTP body's pieces.
                let mut decoder = fastflight::ipc::IpcStreamDecoder::new();
                while let Some(chunk) = body.next().await {
                    let mut piece = chunk.map_err(|e| e.to_string())?;
                    while let Some(batch) = decoder.decode(&mut piece).map_err(|e| e.to_string())? {
                        rows += batch.num_rows() as u64;
                    }
                }
                decoder.finish().map_err(|e| e.to_string())?;
            }
            Some(accept) => {
                let mut lines = 0_u64;
                while let Some(chunk) = body.next().await {
                    lines += chunk
                        .map_err(|e| e.to_string())?
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count() as u64;
                }
                // CSV has a header line.
                rows = if accept.starts_with("text/csv") {
                    lines.saturating_sub(1)
                } else {
                    lines
                };
            }
        }
        Ok(rows)
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

/// What one client process measures.
pub struct Plan {
    pub payload: Bytes,
    pub echo: Bytes,
    pub runs: usize,
    pub echo_calls: usize,
    pub callers: usize,
    pub per_caller: usize,
}

/// Small requests first, each phase on its own connection and runtime: echo latency
/// and calls/s on `small` (a current-thread runtime: a call, its connection and its
/// decoding never change threads), then a warm-up and `runs` timed fetches of the
/// payload on `bulk` (the multi-thread runtime: decoding overlaps receiving).
pub fn measure<F: Fetcher, C: Future<Output = Result<F, String>>>(
    small: &tokio::runtime::Runtime,
    bulk: &tokio::runtime::Runtime,
    connect: impl Fn() -> C,
    plan: &Plan,
) -> Result<Report, String> {
    let (echo_p50_us, echo_p99_us, calls_per_s) =
        small.block_on(async { small_requests(connect().await?, plan).await })?;
    let (rows, times) = bulk.block_on(async { bulk_runs(connect().await?, plan).await })?;
    Ok(Report {
        times,
        rows,
        echo_p50_us,
        echo_p99_us,
        calls_per_s,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// Echo p50 and p99 (µs) over `echo_calls` sequential calls, after 50 of warm-up, and
/// calls/s of `callers` concurrent callers making `per_caller` calls each.
async fn small_requests<F: Fetcher>(fetcher: F, plan: &Plan) -> Result<(f64, f64, f64), String> {
    for _ in 0..50 {
        fetcher.rows(plan.echo.clone()).await?;
    }
    let mut latencies = Vec::with_capacity(plan.echo_calls);
    for _ in 0..plan.echo_calls {
        let started = Instant::now();
        fetcher.rows(plan.echo.clone()).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
    }
    latencies.sort_by(f64::total_cmp);
    let started = Instant::now();
    let tasks: Vec<_> = (0..plan.callers)
        .map(|_| {
            let fetcher = fetcher.clone();
            let echo = plan.echo.clone();
            let calls = plan.per_caller;
            tokio::spawn(async move {
                for _ in 0..calls {
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
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    Ok((
        at(50),
        at(99),
        (plan.per_caller * plan.callers) as f64 / elapsed,
    ))
}

/// The rows of the payload, and the seconds of each of `runs` timed fetches after a warm-up.
async fn bulk_runs<F: Fetcher>(fetcher: F, plan: &Plan) -> Result<(u64, Vec<f64>), String> {
    let rows = fetcher.rows(plan.payload.clone()).await?;
    let mut times = Vec::with_capacity(plan.runs);
    for _ in 0..plan.runs {
        let started = Instant::now();
        let got = fetcher.rows(plan.payload.clone()).await?;
        times.push(started.elapsed().as_secs_f64());
        if got != rows {
            return Err(format!("a run got {got} rows, the warm-up {rows}"));
        }
    }
    Ok((rows, times))
}

//! Calls that survive faults: retries with a backoff strategy, within a budget, and a
//! circuit breaker per location. Retries happen only while a call opens (before its
//! first batch reaches the caller), on faults of the way (no connection, a connection
//! broken, a proxy saying `Unavailable`) and of the server (at its limit); a stream cut
//! after batches is the caller's error, never a repeated or missing row.
//!
//! Only faults of the way count toward the breaker. What a call itself caused — its
//! request, its credentials, its share of the server, its service's own error (a
//! statement it killed, a database of that service down), each of which a fastflight
//! server marks as the caller's ([`crate::wire::FAULT_HEADER`]) — is neither retried
//! nor counted, so one caller cannot shut a client shared by many (the proxy gateway's)
//! for the others.
//!
//! Written at the call rather than as `tower` layers around the channel: a layer sees
//! HTTP requests and bodies, not the moment the first batch reaches the caller, which is
//! where retrying must stop.
//!
//! ```no_run
//! use fastflight::resilience::{Resilience, Strategy};
//! # async fn run() -> fastflight::Result<()> {
//! let client = fastflight::Client::builder("grpc://127.0.0.1:8815")
//!     .resilience(Resilience::preset("default")?.strategy(Strategy::ExponentialJitter))
//!     .connect()
//!     .await?;
//! println!("{:?}", client.circuit());
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::Code;

use crate::{Error, Result};

/// How the pause between attempts grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// The base delay each time.
    Fixed,
    /// The base delay times the attempt's number.
    Linear,
    /// The base delay doubled at each attempt.
    Exponential,
    /// Doubled, then a random part of it (full jitter): callers that failed together do
    /// not come back together.
    ExponentialJitter,
}

impl std::str::FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fixed" => Ok(Strategy::Fixed),
            "linear" => Ok(Strategy::Linear),
            "exponential" => Ok(Strategy::Exponential),
            "exponential-jitter" | "jitter" => Ok(Strategy::ExponentialJitter),
            other => Err(format!(
                "unknown retry strategy `{other}`: fixed, linear, exponential or exponential-jitter"
            )),
        }
    }
}

/// Retries and the circuit breaker of a client (and of its clones).
#[derive(Debug, Clone)]
pub struct Resilience {
    /// The backoff strategy.
    pub strategy: Strategy,
    /// Attempts in all, the first included (1: no retry).
    pub max_attempts: u32,
    /// The first pause.
    pub base_delay: Duration,
    /// The longest pause.
    pub max_delay: Duration,
    /// The longest time spent on one call's attempts and pauses together.
    pub budget: Duration,
    /// Consecutive failures that open the circuit (0: no breaker).
    pub failure_threshold: u32,
    /// How long an open circuit fails calls at once before letting one try.
    pub recovery_timeout: Duration,
    /// Successes in a row, half-open, that close the circuit again.
    pub success_threshold: u32,
}

impl Default for Resilience {
    fn default() -> Self {
        Self {
            strategy: Strategy::ExponentialJitter,
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            budget: Duration::from_secs(10),
            failure_threshold: 5,
            recovery_timeout: Duration::from_secs(10),
            success_threshold: 1,
        }
    }
}

impl Resilience {
    /// A named preset: `none` (one attempt, no breaker), `default`, `aggressive` (more
    /// attempts, quicker), `conservative` (fewer attempts, a patient breaker), as the
    /// Python package's presets.
    pub fn preset(name: &str) -> Result<Self> {
        let default = Self::default();
        Ok(match name {
            "none" => Self {
                max_attempts: 1,
                failure_threshold: 0,
                ..default
            },
            "default" => default,
            "aggressive" => Self {
                max_attempts: 8,
                base_delay: Duration::from_millis(50),
                max_delay: Duration::from_secs(1),
                budget: Duration::from_secs(15),
                failure_threshold: 10,
                recovery_timeout: Duration::from_secs(5),
                ..default
            },
            "conservative" => Self {
                max_attempts: 2,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
                budget: Duration::from_secs(30),
                failure_threshold: 3,
                recovery_timeout: Duration::from_secs(30),
                success_threshold: 2,
                ..default
            },
            other => {
                return Err(Error::Config(format!(
                    "unknown resilience preset `{other}`: none, default, aggressive or conservative"
                )))
            }
        })
    }

    /// Another strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The pause before attempt `n + 1` (after `n` failures).
    fn delay(&self, n: u32) -> Duration {
        let base = self.base_delay;
        let grown = match self.strategy {
            Strategy::Fixed => base,
            Strategy::Linear => base.saturating_mul(n.max(1)),
            Strategy::Exponential | Strategy::ExponentialJitter => {
                base.saturating_mul(1_u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
            }
        }
        .min(self.max_delay);
        match self.strategy {
            Strategy::ExponentialJitter => grown.mul_f64(random_unit()),
            _ => grown,
        }
    }
}

/// The state of a circuit, as [`crate::Client::circuit`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Circuit {
    /// Calls go through.
    Closed,
    /// Calls fail at once with `Unavailable`, until the recovery timeout.
    Open,
    /// A call may try; its success closes the circuit, its failure opens it again.
    HalfOpen,
}

/// A client's retries and breaker, shared by its clones.
#[derive(Debug)]
pub(crate) struct Guard {
    config: Resilience,
    location: String,
    breaker: Mutex<Breaker>,
}

#[derive(Debug)]
struct Breaker {
    failures: u32,
    successes: u32,
    opened: Option<Instant>,
}

impl Guard {
    pub(crate) fn new(config: Resilience, location: &str) -> Arc<Self> {
        Arc::new(Self {
            config,
            location: location.to_owned(),
            breaker: Mutex::new(Breaker {
                failures: 0,
                successes: 0,
                opened: None,
            }),
        })
    }

    /// The circuit's state now.
    pub(crate) fn circuit(&self) -> Circuit {
        let breaker = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        match breaker.opened {
            None => Circuit::Closed,
            Some(at) if at.elapsed() < self.config.recovery_timeout => Circuit::Open,
            Some(_) => Circuit::HalfOpen,
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts or the budget
    /// are spent.
    pub(crate) async fn call<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let started = Instant::now();
        let mut failures = 0;
        loop {
            if self.circuit() == Circuit::Open {
                return Err(Error::status(
                    Code::Unavailable,
                    format!(
                        "the circuit to {} is open after {} failures in a row; calls fail at once for {:?}",
                        self.location, self.config.failure_threshold, self.config.recovery_timeout
                    ),
                ));
            }
            match attempt().await {
                Ok(value) => {
                    self.record(true);
                    return Ok(value);
                }
                Err(e) if fault(&e) != Fault::Call => {
                    if fault(&e) == Fault::Way {
                        self.record(false);
                    }
                    failures += 1;
                    let pause = self.config.delay(failures);
                    let spent = started.elapsed() + pause;
                    if failures >= self.config.max_attempts || spent > self.config.budget {
                        return Err(e);
                    }
                    tracing::debug!(location = %self.location, attempt = failures, pause_ms = pause.as_millis() as u64, error = %e, "retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(e) => {
                    // The server answered: the way works.
                    self.record(true);
                    return Err(e);
                }
            }
        }
    }

    fn record(&self, success: bool) {
        if self.config.failure_threshold == 0 {
            return;
        }
        let mut breaker = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        let before = breaker.opened.is_some();
        if success {
            breaker.failures = 0;
            if breaker.opened.is_some() {
                breaker.successes += 1;
                if breaker.successes >= self.config.success_threshold {
                    breaker.opened = None;
                    breaker.successes = 0;
                }
            }
        } else {
            breaker.successes = 0;
            breaker.failures += 1;
            if breaker.opened.is_some() || breaker.failures >= self.config.failure_threshold {
                breaker.opened = Some(Instant::now());
            }
        }
        let after = breaker.opened.is_some();
        if before != after {
            let state = if after { "open" } else { "closed" };
            tracing::warn!(location = %self.location, circuit = state, "circuit breaker");
        }
    }
}

/// Whose fault an error is, for retries and the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The way's: no connection, a broken one, a proxy without an upstream. Retried,
    /// and counted toward the breaker.
    Way,
    /// The server's: at its limit. Retried after a pause, not counted.
    Busy,
    /// The call's own. Neither.
    Call,
}

/// Whose fault `e` is: as the server marks it, else by its code (a connection that
/// failed is `Unavailable`; a server at its limit without the mark says "try again").
pub(crate) fn fault(e: &Error) -> Fault {
    if let Error::Status(status) = e {
        match crate::wire::Fault::of(status) {
            Some(crate::wire::Fault::Caller) => return Fault::Call,
            Some(crate::wire::Fault::Server) => return Fault::Busy,
            _ => {}
        }
    }
    let text = e.to_string();
    match e.code() {
        Code::Unavailable => Fault::Way,
        Code::ResourceExhausted if text.contains("try again") => Fault::Busy,
        // A proxy with no upstream to pass the call to answers HTTP, not gRPC.
        _ if [
            "502 Bad Gateway",
            "503 Service Unavailable",
            "504 Gateway Timeout",
        ]
        .iter()
        .any(|status| text.contains(&format!("response with status: {status}"))) =>
        {
            Fault::Way
        }
        _ => Fault::Call,
    }
}

/// A number in [0, 1) from the clock and a counter: enough to spread retries.
fn random_unit() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let mut x = nanos ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (x >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_by_strategy_within_the_cap() {
        let r = |strategy| Resilience {
            strategy,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            ..Resilience::default()
        };
        let ms = |s: Strategy| {
            (1..=5)
                .map(|n| r(s).delay(n).as_millis())
                .collect::<Vec<_>>()
        };
        assert_eq!(ms(Strategy::Fixed), [100, 100, 100, 100, 100]);
        assert_eq!(ms(Strategy::Linear), [100, 200, 300, 400, 500]);
        assert_eq!(ms(Strategy::Exponential), [100, 200, 400, 700, 700]);
        assert!(ms(Strategy::ExponentialJitter)
            .iter()
            .zip(ms(Strategy::Exponential))
            .all(|(j, e)| *j <= e));
        assert!(Resilience::preset("nope").is_err());
        assert!("sideways".parse::<Strategy>().is_err());
    }

    #[tokio::test]
    async fn the_breaker_opens_fails_fast_and_closes_after_recovery() {
        let guard = Guard::new(
            Resilience {
                max_attempts: 1,
                failure_threshold: 2,
                recovery_timeout: Duration::from_millis(200),
                ..Resilience::default()
            },
            "grpc://somewhere:1",
        );
        let down = || async { Err::<(), _>(Error::status(Code::Unavailable, "down")) };
        for _ in 0..2 {
            assert!(guard.call(down).await.is_err());
        }
        assert_eq!(guard.circuit(), Circuit::Open);
        let e = guard.call(|| async { Ok(()) }).await.unwrap_err();
        assert!(
            e.to_string()
                .contains("circuit to grpc://somewhere:1 is open"),
            "{e}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(guard.circuit(), Circuit::HalfOpen);
        guard.call(|| async { Ok(()) }).await.unwrap();
        assert_eq!(guard.circuit(), Circuit::Closed);
        // Not retried: an error of the request itself.
        let mut calls = 0;
        let e = guard
            .call(|| {
                calls += 1;
                async { Err::<(), _>(Error::status(Code::InvalidArgument, "bad")) }
            })
            .await
            .unwrap_err();
        assert_eq!((e.code(), calls), (Code::InvalidArgument, 1));
    }
}

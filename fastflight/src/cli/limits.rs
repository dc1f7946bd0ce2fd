//! The servers' limits as options: one for each field of [`crate::Limits`], named as the
//! field is (`--max-request-bytes`, `FASTFLIGHT_MAX_REQUEST_BYTES`), its default the
//! limit's own (the tests below hold the two together); and durations as options take
//! them.

use std::time::Duration;

use clap::Args;

use crate::limits::*;
use crate::Limits;

/// The limits of the servers.
#[derive(Debug, Args)]
pub(super) struct LimitArgs {
    /// The largest request message accepted: a ticket, a descriptor, an action, a gateway body.
    #[arg(long, env = "FASTFLIGHT_MAX_REQUEST_BYTES", default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    max_request_bytes: usize,
    /// Encoded batches above this many bytes are split into several Flight messages.
    #[arg(long, env = "FASTFLIGHT_MAX_FLIGHT_DATA_SIZE", default_value_t = DEFAULT_MAX_FLIGHT_DATA_SIZE)]
    max_flight_data_size: usize,
    /// Streams one connection may have open at once.
    #[arg(long, env = "FASTFLIGHT_MAX_CONCURRENT_STREAMS", default_value_t = DEFAULT_MAX_CONCURRENT_STREAMS)]
    max_concurrent_streams: u32,
    /// Streams in flight at once, server-wide; more wait up to --queue-wait-ms, then are refused.
    #[arg(long, env = "FASTFLIGHT_MAX_CONCURRENCY", default_value_t = DEFAULT_MAX_CONCURRENCY)]
    max_concurrency: usize,
    /// Milliseconds a request waits for a free slot when --max-concurrency streams are in flight.
    #[arg(long = "queue-wait-ms", env = "FASTFLIGHT_QUEUE_WAIT_MS", default_value_t = Millis(DEFAULT_QUEUE_WAIT))]
    queue_wait: Millis,
    /// Streams in flight at once for one client (its user, else its IP address), its share of --max-concurrency.
    #[arg(long, env = "FASTFLIGHT_MAX_STREAMS_PER_PEER", default_value_t = DEFAULT_MAX_STREAMS_PER_PEER)]
    max_streams_per_peer: usize,
    /// Seconds a stream may run from request to last batch (0: no limit); a caller's sooner grpc-timeout is honoured too.
    #[arg(long, env = "FASTFLIGHT_REQUEST_TIMEOUT", default_value_t = Seconds::of(Limits::default().request_timeout))]
    request_timeout: Seconds,
    /// Seconds a blocking producer waits for its reader to take a batch before its stream is ended (0: for ever).
    #[arg(long, env = "FASTFLIGHT_STALL_TIMEOUT", default_value_t = Seconds(DEFAULT_STALL_TIMEOUT))]
    stall_timeout: Seconds,
    /// Seconds a connection with no request open is kept (0: for ever).
    #[arg(long, env = "FASTFLIGHT_IDLE_TIMEOUT", default_value_t = Seconds(DEFAULT_IDLE_TIMEOUT))]
    idle_timeout: Seconds,
    /// Seconds the gateway waits for a request's headers, or for the next request on an idle connection.
    #[arg(long, env = "FASTFLIGHT_HEADER_READ_TIMEOUT", default_value_t = Seconds(DEFAULT_HEADER_READ_TIMEOUT))]
    header_read_timeout: Seconds,
    /// Seconds the servers go on serving after SIGINT/SIGTERM, not ready (readiness 503, gRPC health NOT_SERVING), before they stop accepting; then --grace-period for streams in flight.
    #[arg(long, env = "FASTFLIGHT_SHUTDOWN_DELAY", default_value_t = Seconds(DEFAULT_SHUTDOWN_DELAY))]
    shutdown_delay: Seconds,
}

impl LimitArgs {
    /// The limits these options name (every field named: a limit without an option
    /// does not compile).
    pub(super) fn limits(&self) -> Limits {
        Limits {
            max_request_bytes: self.max_request_bytes,
            max_flight_data_size: self.max_flight_data_size,
            max_concurrent_streams: self.max_concurrent_streams,
            max_concurrency: self.max_concurrency,
            queue_wait: self.queue_wait.0,
            max_streams_per_peer: self.max_streams_per_peer,
            request_timeout: self.request_timeout.or_none(),
            stall_timeout: self.stall_timeout.or_none(),
            idle_timeout: self.idle_timeout.or_none(),
            header_read_timeout: self.header_read_timeout.0,
            shutdown_delay: self.shutdown_delay.0,
        }
    }
}

/// A clap value parser for a number of seconds (fractions allowed): finite, not
/// negative, at most a year.
///
/// ```
/// assert_eq!(fastflight::cli::seconds("1.5"), Ok(std::time::Duration::from_millis(1500)));
/// assert!(fastflight::cli::seconds("-1").is_err());
/// assert!(fastflight::cli::seconds("1e300").is_err());
/// ```
pub fn seconds(text: &str) -> std::result::Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.0..=YEAR_SECONDS).contains(&value) {
        return Err(format!(
            "{value} seconds is out of bounds (0 to {YEAR_SECONDS})"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

/// The longest duration an option takes.
const YEAR_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// A number of seconds as an option takes it (fractions allowed, at most a year).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seconds(Duration);

impl Seconds {
    /// `None` as zero.
    fn of(limit: Option<Duration>) -> Self {
        Seconds(limit.unwrap_or_default())
    }

    /// Zero as `None`: no limit.
    fn or_none(self) -> Option<Duration> {
        (!self.0.is_zero()).then_some(self.0)
    }
}

impl std::str::FromStr for Seconds {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        seconds(text).map(Seconds)
    }
}

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

/// A number of milliseconds as an option takes it (at most a year).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Millis(Duration);

impl std::str::FromStr for Millis {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let ms: u64 = text
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a whole number of milliseconds"))?;
        let most = YEAR_SECONDS as u64 * 1000;
        if ms > most {
            return Err(format!("{ms} ms is out of bounds (0 to {most})"));
        }
        Ok(Millis(Duration::from_millis(ms)))
    }
}

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::{Cli, Command, NoArgs};

    /// The options of the limits, as `start-all` has them.
    fn options() -> clap::Command {
        let mut command = Cli::<NoArgs>::command();
        command.build();
        command
            .find_subcommand("start-all")
            .expect("start-all")
            .clone()
    }

    #[test]
    fn every_limit_is_an_option_named_for_it_with_its_environment_variable() {
        let command = options();
        for limit in Limits::default().describe() {
            let option = command
                .get_arguments()
                .find(|a| a.get_id() == limit.name)
                .unwrap_or_else(|| panic!("the limit `{}` has no option", limit.name));
            let long = option.get_long().expect("a long option");
            assert!(
                long.starts_with(&limit.name.replace('_', "-")),
                "{}: --{long}",
                limit.name
            );
            let env = option.get_env().expect("an environment variable");
            let expected = format!("FASTFLIGHT_{}", limit.name.to_uppercase());
            assert!(
                env.to_string_lossy().starts_with(&expected),
                "{}: {env:?}",
                limit.name
            );
            assert!(option.get_help().is_some(), "{} has no help", limit.name);
        }
        let names: Vec<&str> = Limits::default()
            .describe()
            .iter()
            .map(|l| l.name)
            .collect();
        let limit_args = LimitArgs::augment_args(clap::Command::new("limits"));
        for option in limit_args.get_arguments() {
            assert!(
                names.contains(&option.get_id().as_str()),
                "the option {} is not a field of Limits",
                option.get_id()
            );
        }
    }

    #[test]
    fn the_options_defaults_are_the_limits_defaults() {
        let cli = Cli::<NoArgs>::try_parse_from(["fastflight", "start-all"]).expect("parses");
        let Command::StartAll { serve, .. } = cli.command else {
            panic!("start-all")
        };
        assert_eq!(serve.limits.limits(), Limits::default());
    }

    #[test]
    fn options_set_the_limits_and_refuse_what_is_out_of_bounds() {
        let cli = Cli::<NoArgs>::try_parse_from([
            "fastflight",
            "start-flight-server",
            "--queue-wait-ms=1500",
            "--request-timeout=2.5",
            "--stall-timeout=0",
            "--max-flight-data-size=1024",
        ])
        .expect("parses");
        let Command::StartFlightServer { serve, .. } = cli.command else {
            panic!("start-flight-server")
        };
        let limits = serve.limits.limits();
        assert_eq!(limits.queue_wait, Duration::from_millis(1500));
        assert_eq!(limits.request_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(limits.stall_timeout, None);
        assert_eq!(limits.max_flight_data_size, 1024);
        for bad in [
            "--queue-wait-ms=-1",
            "--queue-wait-ms=1e99",
            "--request-timeout=forever",
            "--idle-timeout=1e300",
            "--max-concurrency=many",
        ] {
            let error = Cli::<NoArgs>::try_parse_from(["fastflight", "start-all", bad])
                .expect_err(bad)
                .to_string();
            let option = bad.split('=').next().unwrap_or_default();
            assert!(error.contains(option), "{bad}: {error}");
        }
    }
}

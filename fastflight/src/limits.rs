//! Every limit a server and its gateway hold their callers to, in one value: [`Limits`].
//! Each limit is written once below, with what it bounds, its default and its bounds;
//! [`ServerBuilder::limits`](crate::ServerBuilder::limits), the gateway
//! ([`Gateway::limits`](crate::rest::Gateway::limits)) and the command line (one option
//! per limit, `--max-request-bytes` read from `FASTFLIGHT_MAX_REQUEST_BYTES`, ...) take
//! it.
//!
//! ```
//! use std::time::Duration;
//!
//! let mut limits = fastflight::Limits::default();
//! limits.max_concurrency = 32;
//! limits.request_timeout = Some(Duration::from_secs(600));
//! let builder = fastflight::Server::builder().limits(limits);
//! # let _ = builder;
//! // Out of bounds, a value is brought within them: at least one stream.
//! limits.max_concurrency = 0;
//! assert_eq!(limits.bounded().max_concurrency, 1);
//! ```
//!
//! Limits that are not settings: a gRPC message is at most 4 GiB; a request is cut into
//! at most 1024 parts; the sources bound their batches (`sources::MAX_BATCH_ROWS`,
//! `sources::MAX_BATCH_BYTES`); a client reads IPC metadata of at most
//! [`crate::ipc::MAX_METADATA_BYTES`].

use std::time::Duration;

/// Encoded Flight messages above this size are split (the IPC default is 2 MiB; batches
/// stay whole up to this).
pub const DEFAULT_MAX_FLIGHT_DATA_SIZE: usize = 64 * 1024 * 1024;

/// Request messages (tickets, descriptors, actions) above this size are refused.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Streams one connection may have open at once (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;

/// Streams in flight at once, server-wide, over every connection and the gateway.
pub const DEFAULT_MAX_CONCURRENCY: usize = 256;

/// How long a request waits for a free slot when `max_concurrency` streams are in flight.
pub const DEFAULT_QUEUE_WAIT: Duration = Duration::from_millis(200);

/// Streams in flight at once for one peer (IP address): a quarter of the default
/// `max_concurrency`, so no one client can take every slot.
pub const DEFAULT_MAX_STREAMS_PER_PEER: usize = 64;

/// How long a blocking producer waits for its reader to take a batch.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection with no request open stays open.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a server asked to stop goes on serving, not ready, before it stops
/// accepting: load balancers and probes see it leave before its connections close.
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(2);

/// How long the gateway waits for a request's headers, and for the next request on a
/// kept-alive connection, before it closes the connection.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest `max_flight_data_size`: a gRPC message's length is a u32.
const MAX_MESSAGE: usize = u32::MAX as usize - 1024;

/// The longest duration a limit takes: a year (longer ones overflow clocks' arithmetic).
const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// A limit's value: brought within its bounds, and shown as JSON.
trait Bounded: Copy {
    /// What the bounds are given in (a `Duration` for an optional one).
    type Unit: Bounded;
    fn within(self, min: Self::Unit, max: Self::Unit) -> Self;
    fn json(self) -> serde_json::Value;
}

macro_rules! bounded_number {
    ($($ty:ty),*) => {$(
        impl Bounded for $ty {
            type Unit = $ty;
            fn within(self, min: $ty, max: $ty) -> $ty {
                self.clamp(min, max)
            }
            fn json(self) -> serde_json::Value {
                self.into()
            }
        }
    )*};
}
bounded_number!(usize, u32);

impl Bounded for Duration {
    type Unit = Duration;
    fn within(self, min: Duration, max: Duration) -> Duration {
        self.clamp(min, max)
    }
    fn json(self) -> serde_json::Value {
        self.as_secs_f64().into()
    }
}

impl Bounded for Option<Duration> {
    type Unit = Duration;
    fn within(self, min: Duration, max: Duration) -> Self {
        self.map(|d| d.clamp(min, max))
    }
    fn json(self) -> serde_json::Value {
        self.map_or(serde_json::Value::Null, Bounded::json)
    }
}

/// One limit as [`Limits::describe`] tells it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Limit {
    /// Its name: the field of [`Limits`], the builders' method, the option of the command
    /// line (with `-` for `_`).
    pub name: &'static str,
    /// What it bounds.
    pub doc: String,
    /// Its value here (seconds for a duration, `null` for none).
    pub value: serde_json::Value,
    /// Its default.
    pub default: serde_json::Value,
    /// The least value it takes (a smaller one is raised to it).
    pub min: serde_json::Value,
    /// The greatest value it takes (a greater one is lowered to it).
    pub max: serde_json::Value,
}

macro_rules! limits {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident: $ty:ty = $default:expr, within $min:expr, $max:expr;
    )+) => {
        /// Every limit of a server and its gateway (see the [module](self)). Made with
        /// [`Limits::default`] and changed field by field; a value out of bounds is
        /// brought within them where it is used ([`Limits::bounded`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct Limits {
            $( $(#[doc = $doc])+ pub $name: $ty, )+
        }

        impl Default for Limits {
            fn default() -> Self {
                Self { $( $name: $default, )+ }
            }
        }

        impl Limits {
            /// Every limit brought within its bounds.
            pub fn bounded(self) -> Self {
                Self { $( $name: Bounded::within(self.$name, $min, $max), )+ }
            }

            /// Every limit: its name, what it bounds, its value here, its default and
            /// its bounds.
            ///
            /// ```
            /// let limits = fastflight::Limits::default().describe();
            /// let bytes = limits.iter().find(|l| l.name == "max_request_bytes").unwrap();
            /// assert_eq!(bytes.default, 4 * 1024 * 1024);
            /// ```
            pub fn describe(&self) -> Vec<Limit> {
                vec![$(
                    Limit {
                        name: stringify!($name),
                        doc: [$($doc),+].map(str::trim).join(" "),
                        value: Bounded::json(self.$name),
                        default: Bounded::json($default),
                        min: { let min: <$ty as Bounded>::Unit = $min; Bounded::json(min) },
                        max: { let max: <$ty as Bounded>::Unit = $max; Bounded::json(max) },
                    },
                )+]
            }
        }
    };
}

limits! {
    /// The largest request message accepted (a ticket, a descriptor, an action, the
    /// gateway's body); a larger one is refused with `ResourceExhausted` naming the limit.
    max_request_bytes: usize = DEFAULT_MAX_REQUEST_BYTES, within 1, usize::MAX;
    /// The size above which an encoded batch is split into several Flight messages (at
    /// most 4 GiB, the largest gRPC message).
    max_flight_data_size: usize = DEFAULT_MAX_FLIGHT_DATA_SIZE, within 1, MAX_MESSAGE;
    /// The streams one connection may have open at once.
    max_concurrent_streams: u32 = DEFAULT_MAX_CONCURRENT_STREAMS, within 1, u32::MAX;
    /// The streams in flight at once over the whole server; a request that finds no slot
    /// free within `queue_wait` is refused with `ResourceExhausted` naming the limit.
    max_concurrency: usize = DEFAULT_MAX_CONCURRENCY, within 1, tokio::sync::Semaphore::MAX_PERMITS;
    /// How long a request waits for a free slot when `max_concurrency` streams are in
    /// flight.
    queue_wait: Duration = DEFAULT_QUEUE_WAIT, within Duration::ZERO, YEAR;
    /// The streams in flight at once for one caller (its identity, else its IP address):
    /// its fair share of `max_concurrency`; past it, its requests are refused at once.
    max_streams_per_peer: usize = DEFAULT_MAX_STREAMS_PER_PEER, within 1, usize::MAX;
    /// The longest a stream may run, from its request to its last batch (`None`: no
    /// limit); a caller's sooner `grpc-timeout` is honoured too.
    request_timeout: Option<Duration> = None, within Duration::from_millis(1), YEAR;
    /// How long a blocking producer waits for its reader to take a batch before its
    /// stream ends with `DeadlineExceeded` (`None`: for ever).
    stall_timeout: Option<Duration> = Some(DEFAULT_STALL_TIMEOUT), within Duration::from_millis(1), YEAR;
    /// How long a connection with no request open is kept, from its accept on (`None`:
    /// for ever); keep-alive pings do not count as use.
    idle_timeout: Option<Duration> = Some(DEFAULT_IDLE_TIMEOUT), within Duration::from_millis(1), YEAR;
    /// How long the gateway waits for a request's headers, and for the next request on
    /// a kept-alive connection, before it closes the connection.
    header_read_timeout: Duration = DEFAULT_HEADER_READ_TIMEOUT, within Duration::from_millis(1), YEAR;
    /// How long a server asked to stop goes on serving, not ready, before it stops
    /// accepting connections and lets the streams in flight finish.
    shutdown_delay: Duration = DEFAULT_SHUTDOWN_DELAY, within Duration::ZERO, YEAR;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_their_bounds() {
        assert_eq!(Limits::default().bounded(), Limits::default());
    }

    #[test]
    fn values_out_of_bounds_are_brought_within_them() {
        let limits = Limits {
            max_request_bytes: 0,
            max_flight_data_size: usize::MAX,
            max_concurrency: usize::MAX,
            request_timeout: Some(Duration::MAX),
            header_read_timeout: Duration::ZERO,
            ..Limits::default()
        };
        let bounded = limits.bounded();
        assert_eq!(bounded.max_request_bytes, 1);
        assert_eq!(bounded.max_flight_data_size, MAX_MESSAGE);
        assert_eq!(bounded.max_concurrency, tokio::sync::Semaphore::MAX_PERMITS);
        assert_eq!(bounded.request_timeout, Some(YEAR));
        assert_eq!(bounded.header_read_timeout, Duration::from_millis(1));
        assert_eq!(bounded.stall_timeout, Some(DEFAULT_STALL_TIMEOUT));
    }

    #[test]
    fn every_limit_is_described_with_its_doc_and_bounds() {
        let described = Limits::default().describe();
        assert_eq!(described.len(), 11);
        for limit in &described {
            assert!(limit.doc.len() > 20, "{}: {}", limit.name, limit.doc);
            assert!(!limit.doc.contains("  "), "{}", limit.doc);
            assert_eq!(limit.value, limit.default, "{}", limit.name);
        }
        let timeout = described
            .iter()
            .find(|l| l.name == "request_timeout")
            .expect("request_timeout");
        assert_eq!(timeout.default, serde_json::Value::Null);
        assert_eq!(timeout.max, serde_json::json!(YEAR.as_secs_f64()));
    }
}

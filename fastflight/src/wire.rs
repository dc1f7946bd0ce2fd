//! What client and server both speak, apart from Arrow IPC itself ([`crate::ipc`]):
//! the ticket's `param_type` key, the compression header, the deadline header, HTTP/2
//! window and frame sizes, locations (`grpc://host:port`, `grpc+tls://`), the
//! `authorization` header's [`Credentials`], and whose fault a refusal is
//! ([`FAULT_HEADER`]).
//!
//! Both [`crate::client`] and [`crate::server`] import from here, never from each other.

use std::fmt;
use std::str::FromStr;

use base64::Engine;

use crate::{Error, Result};

/// The ticket key that names the request type (the Python package's spelling).
///
/// Listings answer the same name under the key `params_type` (see
/// [`crate::rest`]'s `registered_data_types`), as the Python package does.
pub const PARAM_TYPE: &str = "param_type";

/// The request header with which a client asks for a compressed IPC stream.
pub const COMPRESSION_HEADER: &str = "x-fastflight-compression";

/// The default location a server listens on: loopback only, the Python package's port.
/// Another interface must be asked for (`grpc://0.0.0.0:8815`).
pub const DEFAULT_LOCATION: &str = "grpc://127.0.0.1:8815";

/// The gRPC request header that carries the caller's deadline.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// The deadline of a `grpc-timeout` header value (`100m`, `5S`, ...); `None` for a
/// value that is not one (an absent or bad header sets no deadline).
///
/// ```
/// use std::time::Duration;
/// use fastflight::wire::parse_grpc_timeout;
/// assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
/// assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
/// assert_eq!(parse_grpc_timeout("123456789m"), None, "at most 8 digits");
/// assert_eq!(parse_grpc_timeout("5x"), None);
/// ```
pub fn parse_grpc_timeout(value: &str) -> Option<std::time::Duration> {
    use std::time::Duration;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The HTTP/2 stream window both ends announce: large enough for bulk transfers.
#[cfg(any(feature = "client", feature = "server"))]
pub(crate) const STREAM_WINDOW: u32 = 16 * 1024 * 1024;
/// The HTTP/2 connection window both ends announce.
#[cfg(any(feature = "client", feature = "server"))]
pub(crate) const CONNECTION_WINDOW: u32 = 32 * 1024 * 1024;
/// The largest HTTP/2 frame a client accepts: large frames cost both ends fewer frame
/// headers, flow-control steps and wakeups per megabyte.
#[cfg(feature = "client")]
pub(crate) const MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// Compression of the IPC stream a client can ask the server for: less bandwidth,
/// more CPU. Servers built with the `ipc-compression` feature honour it; decoding needs
/// the same feature on the client.
///
/// ```
/// use fastflight::client::Compression;
/// assert_eq!("zstd".parse::<Compression>().unwrap(), Compression::Zstd);
/// assert_eq!(Compression::Lz4.to_string(), "lz4");
/// assert!("gzip".parse::<Compression>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// LZ4 frames: fast, moderate ratio.
    Lz4,
    /// Zstandard: slower, better ratio.
    Zstd,
}

impl Compression {
    /// The value of [`COMPRESSION_HEADER`] that asks for it.
    pub fn header_value(self) -> &'static str {
        match self {
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// What a [`COMPRESSION_HEADER`] value asks for: `Ok(None)` for none (absent,
    /// empty or `none`), an error naming the header for anything unknown.
    pub fn from_header(value: Option<&str>) -> Result<Option<Compression>> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("none") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                Error::status(
                    tonic::Code::InvalidArgument,
                    format!("header `{COMPRESSION_HEADER}: {v}`: expected lz4, zstd or none"),
                )
            }),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header_value())
    }
}

impl FromStr for Compression {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            other => Err(Error::Config(format!(
                "unknown compression `{other}`: expected lz4 or zstd"
            ))),
        }
    }
}

/// The `host:port` part of a location, checked: `grpc://`, `grpc+tcp://`, `http://`,
/// and with TLS `grpc+tls://` and `https://`.
#[cfg_attr(not(any(feature = "client", feature = "server")), allow(dead_code))]
pub(crate) fn host_port(location: &str) -> Result<&str> {
    let rest = ["grpc+tcp://", "grpc://", "http://", "grpc+tls://", "https://"]
        .iter()
        .find_map(|scheme| location.strip_prefix(scheme))
        .ok_or_else(|| {
            Error::Config(format!(
                "location `{location}` must look like grpc://HOST:PORT, or grpc+tls://HOST:PORT with TLS (grpc+tcp://, http:// and https:// are accepted too)"
            ))
        })?;
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(rest),
        _ => Err(Error::Config(format!(
            "location `{location}` needs a host and a port, like grpc://127.0.0.1:8815"
        ))),
    }
}

/// The URI a client connects to.
#[cfg(feature = "client")]
pub(crate) fn endpoint_uri(location: &str) -> Result<String> {
    let scheme = if is_tls(location) { "https" } else { "http" };
    Ok(format!("{scheme}://{}", host_port(location)?))
}

/// Whether a location asks for TLS (`grpc+tls://`, `https://`).
#[cfg_attr(not(any(feature = "client", feature = "server")), allow(dead_code))]
pub(crate) fn is_tls(location: &str) -> bool {
    location.starts_with("grpc+tls://") || location.starts_with("https://")
}

/// The response metadata in which a fastflight server says whose fault a refused call
/// is: [`Fault::Caller`] (the request, the caller's share, its credentials, the service's
/// own error) or [`Fault::Server`] (the server at its limit). A client retries only the
/// server's faults and the faults of the way (no connection), and counts only the way's
/// against a circuit breaker, so no caller's own failures shut the way for others.
pub const FAULT_HEADER: &str = "fastflight-fault";

/// Whose fault a refusal is: see [`FAULT_HEADER`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The call's own: its request, credentials, share, or its service's error. Not
    /// retried, never counted against the server.
    Caller,
    /// The server's: at its limit of streams in flight, or of password checks. Retried
    /// after a pause; not counted against the server's availability.
    Server,
}

impl Fault {
    /// The value of [`FAULT_HEADER`].
    pub fn header_value(self) -> &'static str {
        match self {
            Fault::Caller => "caller",
            Fault::Server => "server",
        }
    }

    /// The fault a status names, if it names one.
    pub fn of(status: &tonic::Status) -> Option<Fault> {
        match status.metadata().get(FAULT_HEADER)?.to_str().ok()? {
            "caller" => Some(Fault::Caller),
            "server" => Some(Fault::Server),
            _ => None,
        }
    }
}

/// The header that carries credentials.
pub const AUTHORIZATION: &str = "authorization";

/// Credentials of a call, as its `authorization` header gives them. Their `Debug` shows
/// no secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// `Basic base64(user:password)`.
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// `Bearer token`.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { user, .. } => write!(f, "Basic {{ user: {user:?}, .. }}"),
            Credentials::Bearer(_) => f.write_str("Bearer(..)"),
        }
    }
}

/// Basic credentials' base64, padded or not: some clients (ADBC's Flight SQL driver
/// among them) leave the padding out.
const BASIC: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

impl Credentials {
    /// The credentials of an `authorization` header value: the scheme (`Basic` or
    /// `Bearer`, any case), one space, then the rest. Basic credentials split on the
    /// first `:`.
    pub fn parse(header: &str) -> Result<Self> {
        let (scheme, rest) = header.trim().split_once(' ').ok_or_else(|| {
            unauthenticated("the authorization header must be `Bearer <token>` or `Basic <base64 of user:password>`")
        })?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Ok(Credentials::Bearer(rest.to_owned()));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = BASIC
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    unauthenticated("Basic credentials must be the base64 of `user:password`")
                })?;
            let (user, password) = decoded.split_once(':').ok_or_else(|| {
                unauthenticated("Basic credentials must be the base64 of `user:password`")
            })?;
            return Ok(Credentials::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            });
        }
        Err(unauthenticated(
            "the authorization header must be `Bearer <token>` or `Basic <base64 of user:password>`",
        ))
    }

    /// The header value of these credentials.
    pub fn header_value(&self) -> String {
        match self {
            Credentials::Basic { user, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            ),
            Credentials::Bearer(token) => format!("Bearer {token}"),
        }
    }
}

/// An `Unauthenticated` error.
fn unauthenticated(message: &str) -> Error {
    Error::status(tonic::Code::Unauthenticated, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(host_port("grpc://0.0.0.0:8815").unwrap(), "0.0.0.0:8815");
        assert_eq!(host_port("grpc+tcp://localhost:1/").unwrap(), "localhost:1");
        #[cfg(feature = "client")]
        assert_eq!(endpoint_uri("grpc://[::1]:9").unwrap(), "http://[::1]:9");
        for bad in [
            "0.0.0.0:8815",
            "grpc://host",
            "grpc://:80",
            "grpc://h:99999",
            "tcp://h:1",
        ] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compression_headers() {
        assert_eq!(Compression::from_header(None).unwrap(), None);
        assert_eq!(Compression::from_header(Some(" NONE ")).unwrap(), None);
        assert_eq!(
            Compression::from_header(Some("LZ4")).unwrap(),
            Some(Compression::Lz4)
        );
        let e = Compression::from_header(Some("gzip")).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.to_string().contains(COMPRESSION_HEADER), "{e}");
    }

    #[test]
    fn headers_parse_and_refuse_with_reasons() {
        let basic = Credentials::Basic {
            user: "ada".into(),
            password: "pa:ss".into(),
        };
        assert_eq!(Credentials::parse(&basic.header_value()).unwrap(), basic);
        // Padded or not (`ada:lovelacex` is 13 bytes: its base64 ends in `==`).
        let wrong = Credentials::Basic {
            user: "ada".into(),
            password: "lovelacex".into(),
        };
        assert_eq!(
            Credentials::parse("Basic YWRhOmxvdmVsYWNleA==").unwrap(),
            wrong
        );
        assert_eq!(
            Credentials::parse("Basic YWRhOmxvdmVsYWNleA").unwrap(),
            wrong
        );
        assert_eq!(
            Credentials::parse("bearer abc").unwrap(),
            Credentials::Bearer("abc".into())
        );
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic !!!",
            "Basic YWRh",
            "Digest x",
        ] {
            let e = Credentials::parse(bad).unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{bad}: {e}");
        }
        assert!(!format!("{basic:?}").contains("pa:ss"));
    }
}

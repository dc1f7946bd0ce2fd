//! Flight locations: `grpc://host:port` (also `grpc+tcp://` and `http://`).

use crate::{Error, Result};

/// The `host:port` part of a location, checked.
pub(crate) fn host_port(location: &str) -> Result<&str> {
    let rest = ["grpc+tcp://", "grpc://", "http://"]
        .iter()
        .find_map(|scheme| location.strip_prefix(scheme))
        .ok_or_else(|| {
            Error::Config(format!(
                "location `{location}` must look like grpc://HOST:PORT (grpc+tcp:// and http:// are accepted too)"
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

/// The URI tonic connects to.
pub(crate) fn endpoint_uri(location: &str) -> Result<String> {
    Ok(format!("http://{}", host_port(location)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(host_port("grpc://0.0.0.0:8815").unwrap(), "0.0.0.0:8815");
        assert_eq!(host_port("grpc+tcp://localhost:1/").unwrap(), "localhost:1");
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
}

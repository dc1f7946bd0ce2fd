//! Where a client's credentials may go. A partitioned result names the locations of its
//! parts, and a hostile or compromised server could name any: so a client never sends
//! its password anywhere but the location it connected to (the origin), and sends the
//! origin's token (never a static one) only to locations it trusts:
//!
//! - never from a TLS origin to a plain-text location;
//! - only to the origin's host, or a host added with [`crate::client::ClientBuilder::trust_hosts`]
//!   (`call --trust-host`); a name stands for every address it resolves to, as a
//!   server's `--peers` names do (resolved again every few seconds).
//!
//! A client with no credentials has nothing to protect and reads any location.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::wire::{host_port, is_tls};
use crate::{Error, Result};

/// How long a name's addresses are used before it is resolved again.
const REFRESH: Duration = Duration::from_secs(5);
/// The longest one resolution may take; past it the name trusts no address.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// Names whose addresses are kept at most.
const MAX_NAMES: usize = 64;

/// The hosts a client trusts with its credentials, besides its origin's.
#[derive(Debug, Default)]
pub(crate) struct Trust {
    hosts: Vec<String>,
    resolved: Mutex<HashMap<String, (Instant, Vec<IpAddr>)>>,
}

impl Trust {
    pub(crate) fn new(hosts: Vec<String>) -> Self {
        Self {
            hosts: hosts
                .into_iter()
                .map(|h| bare(&h).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            resolved: Mutex::default(),
        }
    }

    /// Whether credentials of a client of `origin` may go to `location`; an error naming
    /// the location and the setting that would allow it when not.
    pub(crate) async fn check(&self, origin: Option<&str>, location: &str) -> Result<()> {
        if origin.is_some_and(is_tls) && !is_tls(location) {
            return Err(untrusted(format!(
                "the location `{location}` is plain text and this client's origin speaks TLS: its credentials never go in clear, so the part is not read there"
            )));
        }
        let host = host_of(location)?.to_ascii_lowercase();
        let origin_host = origin
            .and_then(|o| host_of(o).ok())
            .map(str::to_ascii_lowercase);
        let allowed: Vec<&str> = origin_host
            .as_deref()
            .into_iter()
            .chain(self.hosts.iter().map(String::as_str))
            .collect();
        if allowed.contains(&host.as_str()) {
            return Ok(());
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            for name in allowed.iter().filter(|h| h.parse::<IpAddr>().is_err()) {
                if self.addresses(name).await.contains(&ip) {
                    return Ok(());
                }
            }
        }
        Err(untrusted(format!(
            "the location `{location}` is not trusted with this client's credentials: its host `{host}` is neither its origin's ({}) nor a trusted host (ClientBuilder::trust_hosts, call --trust-host)",
            origin_host.as_deref().unwrap_or("unknown")
        )))
    }

    /// The addresses of `name`, resolved at most [`REFRESH`] ago.
    async fn addresses(&self, name: &str) -> Vec<IpAddr> {
        if let Some((at, ips)) = self.cache().get(name) {
            if at.elapsed() < REFRESH {
                return ips.clone();
            }
        }
        let ips: Vec<IpAddr> =
            match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, 0))).await {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).take(256).collect(),
                _ => Vec::new(),
            };
        let mut cache = self.cache();
        if cache.len() >= MAX_NAMES {
            cache.clear();
        }
        cache.insert(name.to_owned(), (Instant::now(), ips.clone()));
        ips
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Vec<IpAddr>)>> {
        self.resolved.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The host of a location, without brackets.
fn host_of(location: &str) -> Result<&str> {
    let host_port = host_port(location)?;
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(host, _)| host);
    Ok(bare(host))
}

/// A host without the brackets of an IPv6 address.
fn bare(host: &str) -> &str {
    host.trim().trim_start_matches('[').trim_end_matches(']')
}

fn untrusted(message: String) -> Error {
    Error::status(tonic::Code::PermissionDenied, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn credentials_go_to_the_origins_host_and_trusted_hosts_only() {
        let trust = Trust::new(vec!["peers.example.invalid".into(), "10.0.0.9".into()]);
        let origin = Some("grpc://127.0.0.1:8815");
        assert!(trust.check(origin, "grpc://127.0.0.1:9000").await.is_ok());
        assert!(trust.check(origin, "grpc://10.0.0.9:1").await.is_ok());
        assert!(trust
            .check(origin, "grpc+tls://peers.example.invalid:1")
            .await
            .is_ok());
        let e = trust
            .check(origin, "grpc://127.0.0.5:9000")
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(
            e.to_string().contains("`grpc://127.0.0.5:9000`")
                && e.to_string().contains("--trust-host"),
            "{e}"
        );
        // Never from TLS to plain text, even on the same host.
        let e = trust
            .check(Some("grpc+tls://127.0.0.1:8815"), "grpc://127.0.0.1:9000")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("plain text"), "{e}");
        // A name stands for its addresses: `localhost` for 127.0.0.1.
        let trust = Trust::new(vec!["localhost".into()]);
        assert!(trust
            .check(Some("grpc://10.1.1.1:1"), "grpc://127.0.0.1:2")
            .await
            .is_ok());
        assert!(trust.check(None, "grpc://[::2]:1").await.is_err());
    }
}

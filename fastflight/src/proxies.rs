//! Callers behind a proxy. Behind the proxy gateway or nginx every call comes from the
//! proxy's address, so the throttle of failed logins, the log lines and the fair shares
//! of anonymous callers would see one caller for all. A proxy the server is told to
//! trust (`--trusted-proxies`) names the caller in `x-forwarded-for`; the caller is
//! then the last address of that list that is not itself a trusted proxy (each proxy
//! appends the address it was called from, so the addresses before a trusted proxy's
//! are only as true as the callers that sent them). From any other peer the header is
//! ignored.

use std::net::{IpAddr, SocketAddr};

use crate::{Error, Result};

/// The header in which a proxy names its caller.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The longest `x-forwarded-for` read, and the most addresses read from it.
const MAX_HEADER: usize = 2048;
const MAX_HOPS: usize = 16;

/// The proxies whose `x-forwarded-for` is believed: addresses or networks.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Addresses (`10.0.0.5`) and networks (`10.0.0.0/8`, `fd00::/8`); a bad one is an
    /// error naming it.
    pub(crate) fn parse(list: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Self> {
        let mut networks = Vec::new();
        for entry in list {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let bad = || {
                Error::Config(format!(
                    "trusted proxy `{entry}`: expected an address (10.0.0.5) or a network (10.0.0.0/8)"
                ))
            };
            let (ip, prefix) = match entry.split_once('/') {
                Some((ip, prefix)) => (ip, Some(prefix.parse::<u8>().map_err(|_| bad())?)),
                None => (entry, None),
            };
            let ip: IpAddr = ip.parse().map_err(|_| bad())?;
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = prefix.unwrap_or(bits);
            if prefix > bits {
                return Err(bad());
            }
            networks.push((ip, prefix));
        }
        Ok(Self(networks))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0
            .iter()
            .any(|(network, prefix)| within(ip, *network, *prefix))
    }

    /// The caller of a call from `connected` that carries `forwarded`: the connection's
    /// address, or, from a trusted proxy, the last forwarded address that is not a
    /// trusted proxy (its port unknown: 0).
    pub(crate) fn caller(&self, connected: SocketAddr, forwarded: Option<&str>) -> SocketAddr {
        if !self.trusts(connected.ip()) {
            return connected;
        }
        let Some(forwarded) = forwarded.filter(|f| f.len() <= MAX_HEADER) else {
            return connected;
        };
        let hops: Vec<&str> = forwarded.rsplit(',').take(MAX_HOPS).collect();
        for hop in hops {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                // Not an address: nothing before it can be believed.
                return connected;
            };
            if !self.trusts(ip) {
                return SocketAddr::new(ip, 0);
            }
        }
        connected
    }
}

/// Whether `ip` is within `network`/`prefix` (an IPv4-mapped IPv6 address as its IPv4).
fn within(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_caller_is_the_last_address_before_the_trusted_proxies() {
        let proxies = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8"]).unwrap();
        let gateway = at("127.0.0.1:5000");
        assert_eq!(
            proxies.caller(gateway, Some("203.0.113.7")),
            at("203.0.113.7:0")
        );
        // A client's own claim before the real hops is not believed.
        assert_eq!(
            proxies.caller(gateway, Some("1.2.3.4, 198.51.100.9, 10.1.2.3")),
            at("198.51.100.9:0")
        );
        // From a peer that is not trusted, the header is nobody's word.
        assert_eq!(
            proxies.caller(at("192.0.2.1:1"), Some("203.0.113.7")),
            at("192.0.2.1:1")
        );
        // Junk, an empty list, or only proxies: the connection's address.
        for junk in ["not an address", "", "10.0.0.1, 10.0.0.2"] {
            assert_eq!(proxies.caller(gateway, Some(junk)), gateway, "{junk}");
        }
        assert_eq!(proxies.caller(gateway, Some(&"9".repeat(5000))), gateway);
        assert_eq!(proxies.caller(gateway, None), gateway);
        for bad in ["10.0.0.0/33", "nope", "::1/200"] {
            assert!(TrustedProxies::parse([bad]).is_err(), "{bad}");
        }
        let v6 = TrustedProxies::parse(["fd00::/8"]).unwrap();
        assert_eq!(
            v6.caller(at("[fd00::1]:1"), Some("2001:db8::7")),
            at("[2001:db8::7]:0")
        );
    }
}

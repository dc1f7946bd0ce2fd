//! Where a partitioned request's parts can be read: this server and its peers. A peer
//! given by a DNS name (a Kubernetes headless service, say) stands for every address the
//! name resolves to, this server's own left out; names are resolved again every few
//! seconds, so replicas that come and go are followed.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::wire::host_port;

/// How long a resolution is used before the names are resolved again.
const REFRESH: Duration = Duration::from_secs(5);
/// The longest one resolution may take; past it the name is used as given.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// The most servers endpoints are spread over, however many addresses names give.
pub(crate) const MAX_SERVERS: usize = 256;

/// This server's location and its peers, as given at start-up.
#[derive(Debug)]
pub(crate) struct Topology {
    /// This server's location as clients reach it.
    advertise: String,
    /// The other servers of the same services: locations, by address or by name.
    peers: Vec<String>,
    /// The servers last resolved, this one first, and when.
    resolved: std::sync::Mutex<Option<(Instant, Arc<Vec<String>>)>>,
    /// Whether a caller is resolving the names again (the others use the last servers).
    refreshing: AtomicBool,
}

/// Clears `refreshing` when the refresh ends, finished or dropped.
struct Refreshing<'a>(&'a AtomicBool);

impl Drop for Refreshing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Topology {
    pub(crate) fn new(advertise: String, peers: Vec<String>) -> Self {
        Self {
            advertise,
            peers,
            resolved: std::sync::Mutex::new(None),
            refreshing: AtomicBool::new(false),
        }
    }

    /// The locations of each of `parts` endpoints: none (this server) without peers;
    /// else a primary and a fallback, spread round the servers.
    pub(crate) async fn locations(&self, parts: usize) -> Vec<Vec<String>> {
        if self.peers.is_empty() {
            return vec![Vec::new(); parts];
        }
        let servers = self.servers().await;
        let n = servers.len();
        (0..parts)
            .map(|i| {
                let mut locations = vec![servers[i % n].clone()];
                if n > 1 {
                    locations.push(servers[(i + 1) % n].clone());
                }
                locations
            })
            .collect()
    }

    /// This server, then every peer address once, resolved at most [`REFRESH`] ago.
    /// When that has passed, one caller resolves the names again while the others go on
    /// with the last servers: a slow resolver delays one GetFlightInfo, not every one.
    async fn servers(&self) -> Arc<Vec<String>> {
        let last = self.cache().clone();
        if let Some((at, servers)) = &last {
            if at.elapsed() < REFRESH || self.refreshing.swap(true, Ordering::AcqRel) {
                return Arc::clone(servers);
            }
        }
        let _refreshing = last.is_some().then_some(Refreshing(&self.refreshing));
        let servers = Arc::new(self.resolve().await);
        *self.cache() = Some((Instant::now(), Arc::clone(&servers)));
        servers
    }

    /// The last servers and when they were resolved (held for a moment, never across an
    /// await; a panic elsewhere cannot have left it half-written).
    fn cache(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<Vec<String>>)>> {
        self.resolved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every name resolved at once: the slowest takes at most [`RESOLVE_TIMEOUT`].
    async fn resolve(&self) -> Vec<String> {
        let (own, peers) = futures::join!(
            expand(&self.advertise),
            futures::future::join_all(self.peers.iter().map(|peer| expand(peer)))
        );
        let own: HashSet<SocketAddr> = own.into_iter().filter_map(|(_, addr)| addr).collect();
        // A name with both IPv4 and IPv6 addresses stands for each server twice: keep
        // the family this server is advertised in.
        let families: HashSet<bool> = own.iter().map(SocketAddr::is_ipv4).collect();
        let mut seen = HashSet::new();
        let mut servers = vec![self.advertise.clone()];
        for expanded in peers {
            for (location, addr) in expanded {
                if servers.len() >= MAX_SERVERS {
                    tracing::warn!(
                        "peers give more than {MAX_SERVERS} servers; endpoints are spread over the first {MAX_SERVERS}"
                    );
                    return servers;
                }
                let other_family = addr.is_some_and(|addr| {
                    !families.is_empty() && !families.contains(&addr.is_ipv4())
                });
                if other_family {
                    continue;
                }
                let is_own = addr.is_some_and(|addr| own.contains(&addr));
                if !is_own && location != self.advertise && seen.insert(location.clone()) {
                    servers.push(location);
                }
            }
        }
        servers
    }
}

/// A location as one location per address: an address stays as it is; a name becomes one
/// location per address it resolves to, in the resolver's order. A name that does not
/// resolve (in time) stays a name, for clients to resolve.
async fn expand(location: &str) -> Vec<(String, Option<SocketAddr>)> {
    let Ok(host_port) = host_port(location) else {
        return vec![(location.to_owned(), None)];
    };
    let scheme = location
        .split_once("://")
        .map_or("grpc", |(scheme, _)| scheme);
    if let Ok(addr) = host_port.parse::<SocketAddr>() {
        return vec![(location.to_owned(), Some(addr))];
    }
    if let Some((host, _)) = host_port.rsplit_once(':') {
        if host.parse::<IpAddr>().is_ok() {
            return vec![(location.to_owned(), None)];
        }
    }
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(host_port)).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<(String, Option<SocketAddr>)> = addrs
                .take(MAX_SERVERS)
                .map(|addr| (format!("{scheme}://{addr}"), Some(addr)))
                .collect();
            if addrs.is_empty() {
                vec![(location.to_owned(), None)]
            } else {
                addrs
            }
        }
        Ok(Err(e)) => {
            tracing::warn!("peer `{location}` does not resolve ({e}); it is named as given");
            vec![(location.to_owned(), None)]
        }
        Err(_) => {
            tracing::warn!(
                "peer `{location}` did not resolve within {RESOLVE_TIMEOUT:?}; it is named as given"
            );
            vec![(location.to_owned(), None)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addresses_stay_as_given_and_this_server_is_left_out() {
        let topology = Topology::new(
            "grpc://127.0.0.1:9001".into(),
            vec![
                "grpc://127.0.0.1:9001".into(),
                "grpc://127.0.0.1:9002".into(),
                "grpc://127.0.0.1:9002".into(),
            ],
        );
        let locations = topology.locations(3).await;
        assert_eq!(
            locations,
            vec![
                vec!["grpc://127.0.0.1:9001", "grpc://127.0.0.1:9002"],
                vec!["grpc://127.0.0.1:9002", "grpc://127.0.0.1:9001"],
                vec!["grpc://127.0.0.1:9001", "grpc://127.0.0.1:9002"],
            ]
        );
    }

    #[tokio::test]
    async fn past_the_refresh_one_caller_resolves_and_the_others_use_the_last_servers() {
        let topology = Topology::new(
            "grpc://127.0.0.1:9001".into(),
            vec!["grpc://127.0.0.1:9002".into()],
        );
        let last = Arc::new(vec![
            "grpc://127.0.0.1:9001".to_owned(),
            "grpc://10.0.0.9:1".to_owned(),
        ]);
        let stale = Instant::now()
            .checked_sub(REFRESH * 2)
            .expect("a past instant");
        *topology.resolved.lock().unwrap() = Some((stale, Arc::clone(&last)));
        // Another caller is resolving: this one goes on with the last servers.
        topology.refreshing.store(true, Ordering::Release);
        assert_eq!(topology.servers().await, last);
        // None is: this one resolves, and the flag is clear again after it.
        topology.refreshing.store(false, Ordering::Release);
        assert_eq!(
            *topology.servers().await,
            vec!["grpc://127.0.0.1:9001", "grpc://127.0.0.1:9002"]
        );
        assert!(!topology.refreshing.load(Ordering::Acquire));
        // A refresh dropped half-way (a caller gone while a name resolves) clears the
        // flag too.
        let topology = Topology::new(
            "grpc://127.0.0.1:9001".into(),
            vec!["grpc://localhost:9002".into()],
        );
        *topology.resolved.lock().unwrap() = Some((stale, Arc::clone(&last)));
        let mut refresh = Box::pin(topology.servers());
        assert!(
            futures::poll!(refresh.as_mut()).is_pending(),
            "resolving a name waits"
        );
        assert!(topology.refreshing.load(Ordering::Acquire));
        drop(refresh);
        assert!(!topology.refreshing.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn without_peers_endpoints_name_no_location() {
        let topology = Topology::new("grpc://127.0.0.1:9001".into(), Vec::new());
        assert_eq!(topology.locations(2).await, vec![Vec::<String>::new(); 2]);
    }

    #[tokio::test]
    async fn a_name_becomes_its_addresses_and_an_unknown_name_stays() {
        // `localhost` resolves on every machine; this server is one of its addresses.
        let topology = Topology::new(
            "grpc://127.0.0.1:9001".into(),
            vec![
                "grpc://localhost:9001".into(),
                "grpc+tls://no-such-host.invalid:9003".into(),
            ],
        );
        let servers = topology.servers().await;
        assert_eq!(servers[0], "grpc://127.0.0.1:9001");
        assert!(!servers[1..].contains(&"grpc://127.0.0.1:9001".to_string()));
        // Nor its IPv6 twin, where `localhost` has one.
        assert!(!servers.iter().any(|s| s.contains("[::1]")), "{servers:?}");
        assert_eq!(
            servers.last().map(String::as_str),
            Some("grpc+tls://no-such-host.invalid:9003")
        );
    }
}

//! Fair shares of a bounded resource among callers: no caller holds more than its share
//! at once, so one client's stalled or endless requests cannot take what the others
//! need. A caller is its identity when the server knows it, else its address (one IP
//! address): behind a proxy (the gateway in proxy mode, nginx) every anonymous caller is
//! the proxy's address, while authenticated callers keep shares of their own. The
//! server's streams in flight and the SQL pools' connections are shared this way.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Who a share belongs to: an identity's name, or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ShareKey {
    /// A caller the server authenticated.
    Identity(Arc<str>),
    /// An anonymous caller's address.
    Peer(IpAddr),
}

impl ShareKey {
    /// The share of a call of the identity named `name`, from `peer`: the identity's
    /// when known, else the address's; none for an in-process call without either.
    pub(crate) fn of(name: Option<&str>, peer: Option<std::net::SocketAddr>) -> Option<Self> {
        match (name, peer) {
            (Some(name), _) => Some(ShareKey::Identity(Arc::from(name))),
            (None, Some(peer)) => Some(ShareKey::Peer(peer.ip())),
            (None, None) => None,
        }
    }
}

impl std::fmt::Display for ShareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShareKey::Identity(name) => write!(f, "{}", crate::error::clip(name)),
            ShareKey::Peer(ip) => write!(f, "{ip}"),
        }
    }
}

/// How much of a resource each peer holds now, and the most one may hold.
#[derive(Debug)]
pub(crate) struct Shares {
    per_peer: usize,
    held: Mutex<HashMap<ShareKey, usize>>,
}

/// One unit of a peer's share, given back when dropped.
#[derive(Debug)]
pub(crate) struct Share {
    shares: Arc<Shares>,
    key: ShareKey,
}

impl Shares {
    /// Shares of at most `per_peer` units (at least 1) each.
    pub(crate) fn new(per_peer: usize) -> Arc<Self> {
        Arc::new(Self {
            per_peer: per_peer.max(1),
            held: Mutex::default(),
        })
    }

    /// The most one peer may hold.
    pub(crate) fn per_peer(&self) -> usize {
        self.per_peer
    }

    /// One more unit for `key`, or `Err(held)` when it holds its whole share already.
    /// A call of no known caller (in-process, anonymous) is not counted.
    pub(crate) fn take(
        self: &Arc<Self>,
        key: Option<ShareKey>,
    ) -> std::result::Result<Option<Share>, usize> {
        let Some(key) = key else {
            return Ok(None);
        };
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(key.clone()).or_default();
        if *count >= self.per_peer {
            return Err(*count);
        }
        *count += 1;
        Ok(Some(Share {
            shares: Arc::clone(self),
            key,
        }))
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut held = self.shares.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_holds_at_most_its_share_and_gets_it_back() {
        let shares = Shares::new(2);
        let a = ShareKey::Peer("10.0.0.1".parse().unwrap());
        let b = ShareKey::Peer("10.0.0.2".parse().unwrap());
        let ada = ShareKey::Identity(Arc::from("ada"));
        let first = shares.take(Some(a.clone())).unwrap();
        let _second = shares.take(Some(a.clone())).unwrap();
        assert_eq!(shares.take(Some(a.clone())).unwrap_err(), 2);
        // Another peer, and an identity, have their own shares; an unknown caller is
        // not counted.
        assert!(shares.take(Some(b.clone())).unwrap().is_some());
        let _ada = shares.take(Some(ada.clone())).unwrap();
        assert!(shares.take(Some(ada)).unwrap().is_some());
        assert!(shares.take(None).unwrap().is_none());
        drop(first);
        assert!(shares.take(Some(a)).is_ok());
        drop(_second);
        assert!(shares.held.lock().unwrap().get(&b).is_none());
    }
}

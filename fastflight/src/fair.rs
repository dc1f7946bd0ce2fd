//! Fair shares of a bounded resource among peers: no peer (one IP address) holds more
//! than its share at once, so one client's stalled or endless requests cannot take what
//! the others need. The server's streams in flight and the SQLite pool's connections
//! are shared this way.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// How much of a resource each peer holds now, and the most one may hold.
#[derive(Debug)]
pub(crate) struct Shares {
    per_peer: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// One unit of a peer's share, given back when dropped.
#[derive(Debug)]
pub(crate) struct Share {
    shares: Arc<Shares>,
    peer: IpAddr,
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

    /// One more unit for `peer`, or `Err(held)` when it holds its whole share already.
    /// A call with no known peer (in-process) is not counted.
    pub(crate) fn take(
        self: &Arc<Self>,
        peer: Option<IpAddr>,
    ) -> std::result::Result<Option<Share>, usize> {
        let Some(peer) = peer else {
            return Ok(None);
        };
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(peer).or_default();
        if *count >= self.per_peer {
            return Err(*count);
        }
        *count += 1;
        Ok(Some(Share {
            shares: Arc::clone(self),
            peer,
        }))
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut held = self.shares.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.peer);
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
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = shares.take(Some(a)).unwrap();
        let _second = shares.take(Some(a)).unwrap();
        assert_eq!(shares.take(Some(a)).unwrap_err(), 2);
        // Another peer has its own share; an unknown peer is not counted.
        assert!(shares.take(Some(b)).unwrap().is_some());
        assert!(shares.take(None).unwrap().is_none());
        drop(first);
        assert!(shares.take(Some(a)).is_ok());
        drop(_second);
        assert!(shares.held.lock().unwrap().get(&b).is_none());
    }
}

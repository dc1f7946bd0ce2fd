//! Failed password checks slow their sender down. The rule:
//!
//! - **one user from one address**: after `max_failures` failures in a row (5 by
//!   default), each further attempt makes that address wait before its next password
//!   for that user is checked: 1 s, then twice as long each time, at most `max_lockout`
//!   (60 s). A guesser at one address gets about one try a minute.
//! - **one address, any user** (spraying many names) and **one user, any address**
//!   (guessing from many addresses): the same, after ten times as many failures.
//! - An address where the user logged in with a checked password within the last day
//!   is spared the user-wide and the address-wide waits (not its own pair's): an
//!   attacker who guesses from elsewhere delays only the user's logins from new
//!   addresses, each wait at most `max_lockout`, and never the tokens the user holds.
//!
//! An attempt counts as a failure from the moment it is let through, and is taken back
//! when it succeeds (or cannot be checked: the checks busy), so concurrent guesses
//! cannot all slip through before the first failure is known. A call refused while its
//! sender waits costs nothing (no hash is computed) and does not lengthen the wait.
//! Counts are forgotten a quarter of an hour after the last failure. Addresses are
//! counted by IPv4 address and by IPv6 /64 (one host's share of addresses), user names
//! by a keyed digest; each table holds at most [`MAX_TRACKED`] keys (the oldest
//! forgotten first), and each user at most [`KNOWN_PER_USER`] known addresses, so the
//! tables are bounded whatever names and addresses a peer sends.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept per table at most.
pub(crate) const MAX_TRACKED: usize = 100_000;

/// Known addresses kept per user at most (the oldest forgotten first).
pub(crate) const KNOWN_PER_USER: usize = 16;

/// How long failures are remembered after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// How long a successful login spares its address the wider waits.
const KNOWN_FOR: Duration = Duration::from_secs(24 * 3600);

/// The first wait, doubled at each further failure.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// How the failures of password checks are throttled: see the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures of one user from one address before the first wait (the address-wide
    /// and user-wide counts allow ten times as many); 0 turns throttling off.
    pub max_failures: u32,
    /// The longest wait.
    pub max_lockout: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            max_failures: 5,
            max_lockout: Duration::from_secs(60),
        }
    }
}

/// Failures of one key.
#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    last: Instant,
    /// No password of this key is checked before then.
    until: Option<Instant>,
}

/// Failures by key, bounded.
#[derive(Debug)]
struct Table<K> {
    counts: HashMap<K, Count>,
    /// Failures before the first wait.
    free: u32,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(free: u32) -> Self {
        Self {
            counts: HashMap::new(),
            free,
        }
    }

    /// How long `key` must still wait, if it must.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let until = self.counts.get(key)?.until?;
        (until > now).then(|| until - now)
    }

    /// One more failure of `key`: past the free failures, a wait doubling from 1 s.
    fn fail(&mut self, key: K, max: Duration, now: Instant) {
        if !self.counts.contains_key(&key) && self.counts.len() >= MAX_TRACKED {
            self.prune(now);
        }
        let count = self.counts.entry(key).or_insert(Count {
            failures: 0,
            last: now,
            until: None,
        });
        if now.duration_since(count.last) > FORGET_AFTER {
            count.failures = 0;
        }
        count.failures = count.failures.saturating_add(1);
        count.last = now;
        if count.failures > self.free {
            let doublings = (count.failures - self.free - 1).min(20);
            let wait = FIRST_WAIT.saturating_mul(1 << doublings).min(max);
            count.until = Some(now + wait);
        }
    }

    /// Takes one failure of `key` back; its wait ends once it is within the free ones.
    fn undo(&mut self, key: &K) {
        let free = self.free;
        if let Some(count) = self.counts.get_mut(key) {
            count.failures = count.failures.saturating_sub(1);
            if count.failures <= free {
                count.until = None;
            }
        }
    }

    fn clear(&mut self, key: &K) {
        self.counts.remove(key);
    }

    /// Forgets counts past [`FORGET_AFTER`]; if that frees nothing, the oldest tenth.
    fn prune(&mut self, now: Instant) {
        self.counts
            .retain(|_, c| now.duration_since(c.last) <= FORGET_AFTER);
        if self.counts.len() >= MAX_TRACKED {
            let mut ages: Vec<Instant> = self.counts.values().map(|c| c.last).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 10];
            self.counts.retain(|_, c| c.last > cut);
        }
    }
}

/// A user name, as the tables keep it: a keyed digest (bounded whatever its length).
type User = u64;

/// The three tables, and the addresses known good for a user.
#[derive(Debug)]
pub(crate) struct Throttle {
    rule: LoginThrottle,
    names: std::collections::hash_map::RandomState,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    pairs: Table<(User, IpAddr)>,
    peers: Table<IpAddr>,
    users: Table<User>,
    known: HashMap<User, VecDeque<(IpAddr, Instant)>>,
}

/// Why a password is not checked now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wait {
    /// How long the sender must still wait.
    pub(crate) left: Duration,
    /// Which count made it wait.
    pub(crate) reason: &'static str,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(LoginThrottle::default())
    }
}

/// The address a count is kept for: an IPv4 address, or an IPv6 address's /64.
fn counted(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1_u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

impl Throttle {
    pub(crate) fn new(rule: LoginThrottle) -> Self {
        let wide = rule.max_failures.saturating_mul(10);
        Self {
            rule,
            names: std::collections::hash_map::RandomState::new(),
            state: Mutex::new(State {
                pairs: Table::new(rule.max_failures),
                peers: Table::new(wide),
                users: Table::new(wide),
                known: HashMap::new(),
            }),
        }
    }

    pub(crate) fn rule(&self) -> LoginThrottle {
        self.rule
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn user(&self, name: &str) -> User {
        self.names.hash_one(name)
    }

    /// Lets a password of `user` from `peer` be checked now, counting it as a failure
    /// until [`Throttle::succeeded`] or [`Throttle::undone`] says otherwise; or why not.
    pub(crate) fn admit(&self, user: &str, peer: Option<IpAddr>) -> Result<(), Wait> {
        if self.rule.max_failures == 0 {
            return Ok(());
        }
        let (user, peer) = (self.user(user), peer.map(counted));
        let (max, now) = (self.rule.max_lockout, Instant::now());
        let mut state = self.state();
        let wait = |left: Option<Duration>, reason| match left {
            Some(left) => Err(Wait { left, reason }),
            None => Ok(()),
        };
        match peer {
            // In-process calls have no address: the user-wide count only.
            None => wait(state.users.wait(&user, now), "failed logins of this user")?,
            Some(peer) => {
                wait(
                    state.pairs.wait(&(user, peer), now),
                    "failed logins of this user from this address",
                )?;
                let known = state.known.get(&user).is_some_and(|addresses| {
                    addresses
                        .iter()
                        .any(|(ip, at)| *ip == peer && now.duration_since(*at) < KNOWN_FOR)
                });
                if !known {
                    wait(
                        state.peers.wait(&peer, now),
                        "failed logins from this address",
                    )?;
                    wait(
                        state.users.wait(&user, now),
                        "failed logins of this user from several addresses",
                    )?;
                }
            }
        }
        state.users.fail(user, max, now);
        if let Some(peer) = peer {
            state.pairs.fail((user, peer), max, now);
            state.peers.fail(peer, max, now);
        }
        Ok(())
    }

    /// The right password of `user` from `peer`: its attempt is taken back, its pair's
    /// count ends, and, when a password was checked (not a login remembered), the
    /// address is known good for the user.
    pub(crate) fn succeeded(&self, user: &str, peer: Option<IpAddr>, checked: bool) {
        if self.rule.max_failures == 0 {
            return;
        }
        let (user, peer) = (self.user(user), peer.map(counted));
        let now = Instant::now();
        let mut state = self.state();
        state.users.undo(&user);
        let Some(peer) = peer else {
            return;
        };
        state.pairs.clear(&(user, peer));
        state.peers.undo(&peer);
        if !checked {
            return;
        }
        if !state.known.contains_key(&user) && state.known.len() >= MAX_TRACKED {
            state.known.retain(|_, addresses| {
                addresses.retain(|(_, at)| now.duration_since(*at) < KNOWN_FOR);
                !addresses.is_empty()
            });
            if state.known.len() >= MAX_TRACKED {
                // Full of users logged in within the day: this one is not remembered.
                return;
            }
        }
        let addresses = state.known.entry(user).or_default();
        addresses.retain(|(ip, at)| *ip != peer && now.duration_since(*at) < KNOWN_FOR);
        if addresses.len() >= KNOWN_PER_USER {
            addresses.pop_front();
        }
        addresses.push_back((peer, now));
    }

    /// An attempt that could not be checked (the checks busy, a directory down): taken
    /// back, neither a failure nor a success.
    pub(crate) fn undone(&self, user: &str, peer: Option<IpAddr>) {
        if self.rule.max_failures == 0 {
            return;
        }
        let (user, peer) = (self.user(user), peer.map(counted));
        let mut state = self.state();
        state.users.undo(&user);
        if let Some(peer) = peer {
            state.pairs.undo(&(user, peer));
            state.peers.undo(&peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn waits_begin_after_the_free_failures_and_double() {
        let mut table = Table::new(3);
        let now = Instant::now();
        let max = Duration::from_secs(60);
        for _ in 0..3 {
            table.fail("k", max, now);
        }
        assert_eq!(table.wait(&"k", now), None);
        let waits: Vec<u64> = (0..8)
            .map(|_| {
                table.fail("k", max, now);
                table.wait(&"k", now).unwrap().as_secs()
            })
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        // Taken back to within the free failures: no wait.
        for _ in 0..8 {
            table.undo(&"k");
        }
        assert_eq!(table.wait(&"k", now), None);
        // Forgotten a quarter of an hour after the last failure.
        table.fail("k", max, now);
        let later = now + FORGET_AFTER + Duration::from_secs(1);
        table.fail("k", max, later);
        assert_eq!(table.wait(&"k", later), None);
    }

    /// Tries of `user` from `peer` that are let through, then fail.
    fn fail(throttle: &Throttle, user: &str, peer: Option<IpAddr>, times: usize) -> usize {
        (0..times)
            .filter(|_| throttle.admit(user, peer).is_ok())
            .count()
    }

    #[test]
    fn a_guesser_waits_and_the_user_elsewhere_does_not() {
        let throttle = Throttle::new(LoginThrottle {
            max_failures: 2,
            max_lockout: Duration::from_secs(60),
        });
        // ada logs in from home once: a known address.
        throttle.admit("ada", ip("10.0.0.1")).unwrap();
        throttle.succeeded("ada", ip("10.0.0.1"), true);
        // Three tries let through (the third sets the wait), then none.
        assert_eq!(fail(&throttle, "ada", ip("10.6.6.6"), 10), 3);
        let wait = throttle.admit("ada", ip("10.6.6.6")).unwrap_err();
        assert_eq!(wait.reason, "failed logins of this user from this address");
        // ada from home, and another user from the guesser's address, go on.
        throttle.admit("ada", ip("10.0.0.1")).unwrap();
        throttle.succeeded("ada", ip("10.0.0.1"), true);
        throttle.admit("bob", ip("10.6.6.6")).unwrap();
        throttle.succeeded("bob", ip("10.6.6.6"), true);
        // Guesses of ada from many addresses: her new addresses wait, her known one not.
        for n in 0..25 {
            fail(&throttle, "ada", ip(&format!("10.7.0.{n}")), 1);
        }
        let wait = throttle.admit("ada", ip("10.8.0.1")).unwrap_err();
        assert_eq!(
            wait.reason,
            "failed logins of this user from several addresses"
        );
        assert!(wait.left <= Duration::from_secs(60));
        assert!(throttle.admit("ada", ip("10.0.0.1")).is_ok());
        // Spraying names from one address makes the address wait for every name.
        for n in 0..25 {
            fail(&throttle, &format!("user{n}"), ip("10.9.9.9"), 1);
        }
        let wait = throttle.admit("carol", ip("10.9.9.9")).unwrap_err();
        assert_eq!(wait.reason, "failed logins from this address");
    }

    #[test]
    fn concurrent_tries_are_counted_when_let_through() {
        let throttle = Throttle::new(LoginThrottle {
            max_failures: 5,
            max_lockout: Duration::from_secs(60),
        });
        // A hundred guesses at once, none answered yet: six let through, not a hundred.
        let through = (0..100)
            .filter(|_| throttle.admit("ada", ip("10.0.0.1")).is_ok())
            .count();
        assert_eq!(through, 6);
        // A try that could not be checked is taken back.
        let throttle = Throttle::new(LoginThrottle::default());
        for _ in 0..20 {
            throttle.admit("ada", ip("10.0.0.1")).unwrap();
            throttle.undone("ada", ip("10.0.0.1"));
        }
        assert!(throttle.admit("ada", ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn addresses_of_one_ipv6_prefix_count_as_one() {
        let throttle = Throttle::new(LoginThrottle {
            max_failures: 2,
            max_lockout: Duration::from_secs(60),
        });
        for n in 1..=3 {
            throttle
                .admit("ada", ip(&format!("2001:db8::{n}")))
                .unwrap();
        }
        let wait = throttle.admit("ada", ip("2001:db8::ffff:1")).unwrap_err();
        assert_eq!(wait.reason, "failed logins of this user from this address");
        assert!(throttle.admit("ada", ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn the_tables_stay_bounded() {
        let mut table = Table::new(5);
        let now = Instant::now();
        for n in 0..(MAX_TRACKED + 10) {
            table.fail(
                n,
                Duration::from_secs(1),
                now + Duration::from_nanos(n as u64),
            );
        }
        assert!(table.counts.len() <= MAX_TRACKED, "{}", table.counts.len());
        // Known addresses: at most a few per user, the oldest forgotten.
        let throttle = Throttle::new(LoginThrottle::default());
        for n in 0..100 {
            let peer = ip(&format!("10.1.0.{n}"));
            throttle.admit("ada", peer).unwrap();
            throttle.succeeded("ada", peer, true);
        }
        let state = throttle.state();
        let known = &state.known[&throttle.user("ada")];
        assert_eq!(known.len(), KNOWN_PER_USER);
        assert_eq!(
            known.back().unwrap().0,
            "10.1.0.99".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn zero_turns_it_off() {
        let throttle = Throttle::new(LoginThrottle {
            max_failures: 0,
            max_lockout: Duration::from_secs(60),
        });
        assert_eq!(fail(&throttle, "ada", ip("10.0.0.1"), 100), 100);
    }
}

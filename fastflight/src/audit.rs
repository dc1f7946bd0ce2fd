//! What the server logs of its callers: one line for each refused request, naming the
//! route, the code, the caller's address and, once known, its identity (or the user its
//! credentials claimed), and counted as `fastflight_requests_refused_total`; streams
//! name their caller in their last line ([`crate::dispatch`]). Never a secret.

use std::net::SocketAddr;

use crate::Error;

/// Who a call is, as log lines name it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Who<'a> {
    /// The caller's address.
    pub(crate) peer: Option<SocketAddr>,
    /// The caller's name, once known (or claimed).
    pub(crate) user: Option<&'a str>,
}

impl Who<'_> {
    /// A caller of this address, not yet known.
    pub(crate) fn at(peer: Option<SocketAddr>) -> Self {
        Self { peer, user: None }
    }
}

/// [`Who`], owned: kept by a stream for its last log line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    peer: Option<SocketAddr>,
    user: Option<String>,
}

impl Caller {
    /// A caller of this address and name.
    pub(crate) fn new(peer: Option<SocketAddr>, user: Option<&str>) -> Self {
        Self {
            peer,
            user: user.map(str::to_owned),
        }
    }

    /// The caller's address.
    pub(crate) fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The caller's name, once known.
    pub(crate) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(crate) fn who(&self) -> Who<'_> {
        Who {
            peer: self.peer,
            user: self.user.as_deref(),
        }
    }
}

/// A value for a log line, `-` when absent; a peer's text clipped.
pub(crate) fn logged(value: Option<impl std::fmt::Display>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| crate::error::clip(&v.to_string()))
}

/// Logs and counts a request refused before its stream began, with its caller.
pub(crate) fn refused(route: &'static str, e: &Error, who: Who<'_>) {
    tracing::warn!(
        route,
        code = ?e.code(),
        peer = %logged(who.peer),
        user = %logged(who.user),
        error = %e,
        "request refused"
    );
    metrics::counter!(
        "fastflight_requests_refused_total",
        "route" => route,
        "code" => format!("{:?}", e.code())
    )
    .increment(1);
}

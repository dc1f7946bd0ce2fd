//! Who is calling. A call's `authorization` header holds its [`Credentials`] (`Basic`
//! user and password, or a `Bearer` token); [`Authenticator`]s check them and name an
//! [`Identity`]; the Handshake trades Basic credentials for a signed, expiring token
//! ([`token`]) that every server sharing the key accepts. Services take the caller as an
//! `Identity` argument.
//!
//! The server checks credentials in one place for every Flight RPC (the entry of
//! `FlightRoutes`) and every gateway route but `/health*`; which identity may call which
//! service is decided in the dispatch.
//!
//! What a stranger pays for and can trip: a password check runs on a few threads of its
//! own behind a short queue ([`PasswordChecks`]), at the same cost whether the user
//! exists or not; failures slow their sender down ([`LoginThrottle`]); a right password
//! is remembered for half a minute, so Basic credentials sent with every call cost one
//! check, not one per call. Tokens name the authenticator that knows their identity,
//! which is looked up again at each use (see [`token`] for their lifetime).
//!
//! ```no_run
//! use fastflight::auth::{TokensFile, UsersFile};
//! # async fn run() -> fastflight::Result<()> {
//! fastflight::Server::builder()
//!     .authenticator(UsersFile::load("users.txt")?)
//!     .authenticator(TokensFile::load("tokens.txt")?)
//!     .serve()
//!     .await
//! # }
//! ```

mod certs;
mod checks;
mod files;
mod throttle;
pub mod token;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tonic::Code;

use crate::{Error, Result};

pub use crate::wire::{Credentials, AUTHORIZATION};
pub(crate) use certs::ClientCertificates;
pub use checks::PasswordChecks;
pub use files::{hash_password, TokensFile, UsersFile};
pub use throttle::LoginThrottle;
pub use token::TokenSigner;

/// The caller of a service, as an [`Authenticator`] named it: a name and roles.
#[derive(Clone)]
pub struct Identity {
    inner: Arc<Named>,
}

struct Named {
    name: String,
    roles: Vec<String>,
    /// The kind of authenticator that named it (see [`Authenticator::kind`]).
    source: Option<String>,
    /// What its credentials are now (a digest of the stored password or token, sealed
    /// with the servers' key in tokens): a token of other credentials is refused.
    stamp: Option<String>,
}

impl PartialEq for Identity {
    /// Identities are equal when their names and roles are.
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && self.roles() == other.roles()
    }
}

impl Eq for Identity {}

impl Identity {
    /// An identity of `name` with `roles`.
    pub fn new(
        name: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            inner: Arc::new(Named {
                name: name.into(),
                roles: roles.into_iter().map(Into::into).collect(),
                source: None,
                stamp: None,
            }),
        }
    }

    /// The same identity, as named by an authenticator of `kind`.
    pub(crate) fn with_source(&self, kind: &str) -> Self {
        Self {
            inner: Arc::new(Named {
                name: self.inner.name.clone(),
                roles: self.inner.roles.clone(),
                source: Some(kind.to_owned()),
                stamp: self.inner.stamp.clone(),
            }),
        }
    }

    /// The same identity, its credentials stamped (see [`Identity::stamp`]).
    pub(crate) fn with_stamp(&self, stamp: Option<String>) -> Self {
        Self {
            inner: Arc::new(Named {
                name: self.inner.name.clone(),
                roles: self.inner.roles.clone(),
                source: self.inner.source.clone(),
                stamp,
            }),
        }
    }

    /// What its credentials are: set by the file authenticators (a digest of the stored
    /// secret), sealed with the servers' key by the server.
    pub(crate) fn stamp(&self) -> Option<&str> {
        self.inner.stamp.as_deref()
    }

    /// The name (a user, a service account).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The roles.
    pub fn roles(&self) -> &[String] {
        &self.inner.roles
    }

    /// Whether the identity has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.inner.roles.iter().any(|r| r == role)
    }

    /// The kind of authenticator that named it.
    pub(crate) fn source(&self) -> Option<&str> {
        self.inner.source.as_deref()
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name())
            .field("roles", &self.roles())
            .finish()
    }
}

/// What an authenticator knows of a name now: for the tokens of identities it named,
/// looked up again at each use of a token (so a removed user's tokens stop working and
/// a role taken away is gone at once).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Lookup {
    /// The identity as it is now (its current roles).
    Known(Identity),
    /// The name is not (or no longer) known: its tokens are refused.
    Unknown,
    /// This authenticator cannot look names up: the roles written in the token count
    /// until it expires, and renewing it asks for the credentials again.
    Unsupported,
}

/// Checks credentials. Return `Ok(Some(identity))` for credentials it knows and accepts,
/// `Ok(None)` for credentials it does not know (the next authenticator is asked), and an
/// error for credentials it knows and refuses (`Unauthenticated`) or when it cannot tell
/// (`Unavailable`: a directory server down, say).
///
/// An authenticator that computes password hashes should run them on
/// [`PasswordChecks`] (bounded threads), and for unknown users too, so neither a flood
/// nor the time an answer takes tells anything.
///
/// ```
/// use fastflight::auth::{Authenticator, Credentials, Identity};
/// use futures::future::BoxFuture;
///
/// /// Anyone whose password is their name backwards.
/// struct Backwards;
///
/// impl Authenticator for Backwards {
///     fn authenticate<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, fastflight::Result<Option<Identity>>> {
///         Box::pin(async move {
///             Ok(match credentials {
///                 Credentials::Basic { user, password } if password.chars().rev().eq(user.chars()) => {
///                     Some(Identity::new(user.clone(), ["reader"]))
///                 }
///                 _ => None,
///             })
///         })
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// The identity of `credentials`, if this authenticator knows them.
    fn authenticate<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Option<Identity>>>;

    /// A stable name of this kind of authenticator, written into the tokens of the
    /// identities it names (`users`, `tokens`, `certificates` for fastflight's own; the
    /// type's path by default).
    fn kind(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// The identity named `name` as it is now ([`Lookup::Unsupported`] by default).
    fn lookup(&self, name: &str) -> Lookup {
        let _ = name;
        Lookup::Unsupported
    }
}

/// What a service's `authorize` function returns: `bool`, or `Result<(), E>` whose
/// error (the reason) is shown to the refused caller.
#[diagnostic::on_unimplemented(
    message = "an `authorize` function returns `bool` or `Result<(), E>` with `E: Display`, not `{Self}`",
    label = "not `Allowed`"
)]
pub trait Allowed {
    /// `Ok(())` to allow the call, `Err(reason)` to refuse it.
    fn allowed(self) -> std::result::Result<(), String>;
}

impl Allowed for bool {
    fn allowed(self) -> std::result::Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("the service's authorize function denies it".to_owned())
        }
    }
}

impl<E: std::fmt::Display> Allowed for std::result::Result<(), E> {
    fn allowed(self) -> std::result::Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// What a call presents to be known: its `authorization` header, the client
/// certificate of its connection, and where it comes from.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Presented<'a> {
    /// The `authorization` header.
    pub(crate) header: Option<&'a str>,
    /// The caller's address.
    pub(crate) peer: Option<SocketAddr>,
    /// The certificates the client presented over TLS, verified against the client CA.
    pub(crate) certificates: Option<&'a ClientCertificates>,
}

/// What a server does to know its callers: its authenticators, the key of the tokens it
/// issues, the throttle of failed logins and the logins remembered. Without
/// authenticators, calls are anonymous.
#[derive(Clone, Default)]
pub(crate) struct Auth {
    authenticators: Vec<Arc<dyn Authenticator>>,
    signer: Option<TokenSigner>,
    throttle: Arc<throttle::Throttle>,
    recent: Arc<Recent>,
    /// Whether client certificates name callers.
    certificates: bool,
}

impl Auth {
    pub(crate) fn add(&mut self, authenticator: Arc<dyn Authenticator>) {
        self.authenticators.push(authenticator);
    }

    pub(crate) fn set_signer(&mut self, signer: TokenSigner) {
        self.signer = Some(signer);
    }

    pub(crate) fn set_throttle(&mut self, rule: LoginThrottle) {
        self.throttle = Arc::new(throttle::Throttle::new(rule));
    }

    /// Client certificates name callers: as users of the users file when there is one,
    /// else as identities of their own, without roles.
    pub(crate) fn accept_certificates(&mut self) {
        self.certificates = true;
        if !self.authenticators.iter().any(|a| a.kind() == "users")
            && !self.authenticators.iter().any(|a| a.kind() == certs::KIND)
        {
            self.authenticators.push(Arc::new(certs::CertificateNames));
        }
    }

    /// Whether other authenticators than certificates are configured.
    pub(crate) fn has_credentials(&self) -> bool {
        self.authenticators.iter().any(|a| a.kind() != certs::KIND)
    }

    /// Whether calls must carry credentials.
    pub(crate) fn enabled(&self) -> bool {
        !self.authenticators.is_empty() || self.signer.is_some()
    }

    /// The token signer, made with a fresh key at first use when none was given.
    pub(crate) fn signer(&mut self) -> &TokenSigner {
        self.signer.get_or_insert_with(TokenSigner::generate)
    }

    /// The caller of a request: `Ok(None)` when the server authenticates nobody;
    /// `Unauthenticated` without valid credentials. A refusal is logged on `route` with
    /// the caller's address and the user it claimed.
    pub(crate) async fn identify(
        &self,
        route: &'static str,
        presented: Presented<'_>,
    ) -> Result<Option<Identity>> {
        if !self.enabled() {
            return Ok(None);
        }
        let mut claimed = None;
        let known = self.identify_claimed(presented, &mut claimed).await;
        if let Err(e) = &known {
            crate::audit::refused(
                route,
                e,
                crate::audit::Who {
                    peer: presented.peer,
                    user: claimed.as_deref(),
                },
            );
        }
        known.map(Some)
    }

    /// [`Auth::identify`], noting the user the credentials claim.
    async fn identify_claimed(
        &self,
        presented: Presented<'_>,
        claimed: &mut Option<String>,
    ) -> Result<Identity> {
        let header = match (presented.header, presented.certificates) {
            (Some(header), _) => header,
            (None, Some(certificates)) => return self.certified(certificates, claimed),
            (None, None) => {
                let certificate = if self.authenticators.iter().any(|a| a.kind() == certs::KIND)
                    || self.certificates
                {
                    ", or a client certificate of its client CA"
                } else {
                    ""
                };
                return Err(unauthenticated(format!(
                    "this server needs credentials: `authorization: Bearer <token>` (from the Handshake) or `Basic <base64 of user:password>`{certificate}"
                )));
            }
        };
        let credentials = Credentials::parse(header)?;
        if let Credentials::Basic { user, .. } = &credentials {
            *claimed = Some(user.clone());
        }
        if let (Credentials::Bearer(token), Some(signer)) = (&credentials, &self.signer) {
            if let Some(verified) = signer.verified(token)? {
                *claimed = Some(verified.identity.name().to_owned());
                return self
                    .current(&verified.identity)
                    .map(|(identity, _)| identity);
            }
        }
        if let Credentials::Basic { user, .. } = &credentials {
            if user.len() > MAX_USER {
                return Err(unauthenticated(format!(
                    "a user name is at most {MAX_USER} bytes"
                )));
            }
        }
        self.check(&credentials, presented.peer).await
    }

    /// An identity as an authenticator of `kind` names it, its stamp sealed with the
    /// servers' key (so tokens carry no digest of a secret that the key does not hide).
    fn sealed(&self, identity: &Identity, kind: &str) -> Identity {
        let stamp = identity.stamp().map(|stamp| match &self.signer {
            Some(signer) => signer.seal(stamp),
            None => stamp.to_owned(),
        });
        identity.with_source(kind).with_stamp(stamp)
    }

    /// The caller a verified client certificate names: the user of that name when the
    /// server has a users file, else an identity of that name without roles.
    fn certified(
        &self,
        certificates: &ClientCertificates,
        claimed: &mut Option<String>,
    ) -> Result<Identity> {
        let name = certificates.name().ok_or_else(|| {
            unauthenticated(
                "the client certificate names no one: it needs a subject common name, or a DNS or e-mail alternative name",
            )
        })?;
        *claimed = Some(name.clone());
        let users: Vec<&Arc<dyn Authenticator>> = self
            .authenticators
            .iter()
            .filter(|a| a.kind() == "users")
            .collect();
        if users.is_empty() {
            if self.authenticators.iter().any(|a| a.kind() == certs::KIND) {
                return Ok(Identity::new(name, Vec::<String>::new()).with_source(certs::KIND));
            }
            return Err(unauthenticated(
                "this server does not take client certificates as credentials",
            ));
        }
        for authenticator in users {
            if let Lookup::Known(identity) = authenticator.lookup(&name) {
                return Ok(self.sealed(&identity, "users"));
            }
        }
        Err(unauthenticated(format!(
            "the client certificate names `{}`, who is not a user of this server's users file",
            crate::error::clip(&name)
        )))
    }

    /// The identity of a token (or a remembered login) as it is now: looked up again in
    /// the authenticators of the kind that named it, with its roles of now; refused when
    /// the name is gone or its credentials changed. `true` with it when it was looked
    /// up, `false` when no authenticator of its kind can look names up (the token's own
    /// roles then count until it expires).
    fn current(&self, named: &Identity) -> Result<(Identity, bool)> {
        let Some(kind) = named.source() else {
            return Err(unauthenticated(
                "the token names no authenticator (an earlier version issued it): authenticate again (Handshake)",
            ));
        };
        let mut looked = false;
        for authenticator in self.authenticators.iter().filter(|a| a.kind() == kind) {
            match authenticator.lookup(named.name()) {
                Lookup::Known(identity) => {
                    let now = self.sealed(&identity, kind);
                    if let (Some(then), Some(stamp)) = (named.stamp(), now.stamp()) {
                        if then != stamp {
                            return Err(unauthenticated(format!(
                                "the credentials of `{}` changed since this token was issued: authenticate again",
                                crate::error::clip(named.name())
                            )));
                        }
                    }
                    return Ok((now, true));
                }
                Lookup::Unknown => looked = true,
                Lookup::Unsupported => {}
            }
        }
        let exists = self.authenticators.iter().any(|a| a.kind() == kind);
        if exists && !looked {
            return Ok((named.clone(), false));
        }
        Err(unauthenticated(format!(
            "`{}` is no longer known to this server (removed from its {kind}): authenticate again",
            crate::error::clip(named.name())
        )))
    }

    /// Asks each authenticator in turn; a password goes through the throttle first.
    async fn check(&self, credentials: &Credentials, peer: Option<SocketAddr>) -> Result<Identity> {
        let basic = match credentials {
            Credentials::Basic { user, password } => Some((user.as_str(), password.as_str())),
            _ => None,
        };
        let ip = peer.map(|p| p.ip());
        if let Some((user, password)) = basic {
            if let Some(remembered) = self.recent.get(user, password) {
                if let Ok((identity, _)) = self.current(&remembered) {
                    self.throttle.succeeded(user, ip, false);
                    return Ok(identity);
                }
            }
            self.throttle.admit(user, ip).map_err(|wait| {
                crate::error::refusal(
                    Code::ResourceExhausted,
                    crate::wire::Fault::Caller,
                    format!(
                        "too many {}: the next password is checked in {} s (login throttle: {} failures, waits up to {} s)",
                        wait.reason,
                        wait.left.as_secs() + 1,
                        self.throttle.rule().max_failures,
                        self.throttle.rule().max_lockout.as_secs()
                    ),
                )
            })?;
        }
        let mut refused = None;
        for authenticator in &self.authenticators {
            match authenticator.authenticate(credentials).await {
                Ok(Some(identity)) => {
                    let identity = self.sealed(&identity, authenticator.kind());
                    if let Some((user, password)) = basic {
                        self.throttle.succeeded(user, ip, true);
                        self.recent.put(user, password, &identity);
                    }
                    return Ok(identity);
                }
                Ok(None) => {}
                Err(e) if e.code() == Code::Unauthenticated => {
                    refused = Some(e);
                    break;
                }
                // Busy or unavailable: not the caller's failure, not counted.
                Err(e) => {
                    if let Some((user, _)) = basic {
                        self.throttle.undone(user, ip);
                    }
                    return Err(e);
                }
            }
        }
        Err(refused.unwrap_or_else(|| {
            unauthenticated(match credentials {
                Credentials::Basic { .. } => "unknown user or wrong password",
                _ => "unknown or expired token",
            })
        }))
    }

    /// The Handshake: Basic credentials (or a static token) traded for a fresh signed
    /// token; a token of this server's key renewed with the identity's current roles,
    /// within the session's limit after the credentials were checked.
    pub(crate) async fn handshake(&self, presented: Presented<'_>) -> Result<(Identity, String)> {
        let signer = self.signer.as_ref().ok_or_else(|| {
            Error::status(
                Code::Unimplemented,
                "this server authenticates nobody: no Handshake needed",
            )
        })?;
        let renewed = match presented.header.map(Credentials::parse) {
            Some(Ok(Credentials::Bearer(token))) => signer.verified(&token).inspect_err(|e| {
                crate::audit::refused("flight", e, crate::audit::Who::at(presented.peer));
            })?,
            _ => None,
        };
        let Some(verified) = renewed else {
            let identity = self
                .identify("flight", presented)
                .await?
                .ok_or_else(|| unauthenticated("no credentials"))?;
            return Ok((identity.clone(), signer.issue(&identity)?));
        };
        let refused = |e: Error| {
            crate::audit::refused(
                "flight",
                &e,
                crate::audit::Who {
                    peer: presented.peer,
                    user: Some(verified.identity.name()),
                },
            );
            e
        };
        let since = token::unix_now().saturating_sub(verified.authenticated);
        let limit = signer.session_limit();
        if since > limit.as_secs() {
            return Err(refused(unauthenticated(format!(
                "the token's credentials were checked {since} s ago, past the session's limit of {} s: authenticate with the password again",
                limit.as_secs()
            ))));
        }
        let (identity, looked_up) = self.current(&verified.identity).map_err(refused)?;
        if !looked_up {
            return Err(refused(unauthenticated(format!(
                "`{}` cannot be looked up again by this server: renew with the credentials themselves",
                crate::error::clip(identity.name())
            ))));
        }
        let token = signer.issue_since(&identity, verified.authenticated)?;
        Ok((identity, token))
    }
}

/// Passwords checked right lately, remembered for [`RECENT_FOR`] by a keyed digest of
/// user and password (never the password itself): Basic credentials sent with every
/// call cost one check, not one per call.
struct Recent {
    key: ring::hmac::Key,
    logins: Mutex<std::collections::HashMap<[u8; 32], (Identity, Instant)>>,
}

/// How long a right password is remembered.
const RECENT_FOR: Duration = Duration::from_secs(30);
/// Logins remembered at most.
const RECENT_MAX: usize = 4096;

impl Default for Recent {
    fn default() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"fastflight"));
        Self {
            key,
            logins: Mutex::default(),
        }
    }
}

impl Recent {
    fn digest(&self, user: &str, password: &str) -> [u8; 32] {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password.as_bytes());
        let mut out = [0_u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    fn get(&self, user: &str, password: &str) -> Option<Identity> {
        let digest = self.digest(user, password);
        let logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        let (identity, at) = logins.get(&digest)?;
        (at.elapsed() < RECENT_FOR).then(|| identity.clone())
    }

    fn put(&self, user: &str, password: &str, identity: &Identity) {
        let digest = self.digest(user, password);
        let mut logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        if logins.len() >= RECENT_MAX {
            logins.retain(|_, (_, at)| at.elapsed() < RECENT_FOR);
            if logins.len() >= RECENT_MAX {
                logins.clear();
            }
        }
        logins.insert(digest, (identity.clone(), Instant::now()));
    }
}

/// The longest user name checked: longer ones are refused before any work.
const MAX_USER: usize = 256;

/// An `Unauthenticated` error.
pub(crate) fn unauthenticated(message: impl Into<String>) -> Error {
    Error::status(Code::Unauthenticated, message)
}

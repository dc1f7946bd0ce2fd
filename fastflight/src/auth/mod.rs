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

mod files;
pub mod token;

use std::sync::Arc;

use futures::future::BoxFuture;
use tonic::Code;

use crate::{Error, Result};

pub use crate::wire::{Credentials, AUTHORIZATION};
pub use files::{hash_password, TokensFile, UsersFile};
pub use token::TokenSigner;

/// The caller of a service, as an [`Authenticator`] named it: a name and roles.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    inner: Arc<(String, Vec<String>)>,
}

impl Identity {
    /// An identity of `name` with `roles`.
    pub fn new(
        name: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            inner: Arc::new((name.into(), roles.into_iter().map(Into::into).collect())),
        }
    }

    /// The name (a user, a service account).
    pub fn name(&self) -> &str {
        &self.inner.0
    }

    /// The roles.
    pub fn roles(&self) -> &[String] {
        &self.inner.1
    }

    /// Whether the identity has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.inner.1.iter().any(|r| r == role)
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

/// Checks credentials. Return `Ok(Some(identity))` for credentials it knows and accepts,
/// `Ok(None)` for credentials it does not know (the next authenticator is asked), and an
/// error for credentials it knows and refuses (`Unauthenticated`) or when it cannot tell
/// (`Unavailable`: a directory server down, say).
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

/// What a server does to know its callers: its authenticators and the key of the
/// tokens it issues. Without authenticators, calls are anonymous.
#[derive(Clone, Default)]
pub(crate) struct Auth {
    authenticators: Vec<Arc<dyn Authenticator>>,
    signer: Option<TokenSigner>,
}

impl Auth {
    pub(crate) fn add(&mut self, authenticator: Arc<dyn Authenticator>) {
        self.authenticators.push(authenticator);
    }

    pub(crate) fn set_signer(&mut self, signer: TokenSigner) {
        self.signer = Some(signer);
    }

    /// Whether calls must carry credentials.
    pub(crate) fn enabled(&self) -> bool {
        !self.authenticators.is_empty() || self.signer.is_some()
    }

    /// The token signer, made with a fresh key at first use when none was given.
    pub(crate) fn signer(&mut self) -> &TokenSigner {
        self.signer.get_or_insert_with(TokenSigner::generate)
    }

    /// The caller of a request with this `authorization` header: `Ok(None)` when the
    /// server authenticates nobody; `Unauthenticated` without valid credentials.
    pub(crate) async fn identify(&self, header: Option<&str>) -> Result<Option<Identity>> {
        if !self.enabled() {
            return Ok(None);
        }
        let header = header.ok_or_else(|| {
            unauthenticated(
                "this server needs credentials: `authorization: Bearer <token>` (from the Handshake) or `Basic <base64 of user:password>`",
            )
        })?;
        let credentials = Credentials::parse(header)?;
        if let (Credentials::Bearer(token), Some(signer)) = (&credentials, &self.signer) {
            if let Some(identity) = signer.verify(token)? {
                return Ok(Some(identity));
            }
        }
        self.check(&credentials).await.map(Some)
    }

    /// Asks each authenticator in turn.
    async fn check(&self, credentials: &Credentials) -> Result<Identity> {
        for authenticator in &self.authenticators {
            if let Some(identity) = authenticator.authenticate(credentials).await? {
                return Ok(identity);
            }
        }
        Err(unauthenticated(match credentials {
            Credentials::Basic { .. } => "unknown user or wrong password",
            Credentials::Bearer(_) => "unknown or expired token",
        }))
    }

    /// The Handshake: Basic credentials (or a token still valid) traded for a fresh
    /// signed token of the same identity.
    pub(crate) async fn handshake(&self, header: Option<&str>) -> Result<(Identity, String)> {
        let signer = self.signer.as_ref().ok_or_else(|| {
            Error::status(
                Code::Unimplemented,
                "this server authenticates nobody: no Handshake needed",
            )
        })?;
        let identity = self
            .identify(header)
            .await?
            .ok_or_else(|| unauthenticated("no credentials"))?;
        let token = signer.issue(&identity)?;
        Ok((identity, token))
    }
}

/// An `Unauthenticated` error.
pub(crate) fn unauthenticated(message: impl Into<String>) -> Error {
    Error::status(Code::Unauthenticated, message)
}

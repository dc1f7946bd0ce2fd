//! Signed, expiring tokens: JSON Web Tokens signed with HMAC-SHA256 (`HS256`), so any
//! server holding the same key accepts the tokens of the others, and JWT tools can read
//! them. Claims: `sub` (the identity's name), `roles`, `iat`, `exp` (seconds since 1970),
//! `src` (the kind of authenticator that knows the identity: `users`, `tokens`, ...) and
//! `auth` (when its password, static token or certificate was last checked).
//!
//! The lifetime of a token: it is valid for the signer's time to live (an hour by
//! default) on every server sharing the key. At each use the server looks its identity
//! up again in the authenticator named by `src`, so a user or a static token removed
//! there (its file is read again within two seconds of a change) is refused at its next
//! call, and a role taken away is gone from that call on; the roles written in the token
//! count only for authenticators that cannot look identities up. The Handshake renews a
//! token with the identity's current roles, never past the session's limit (twelve hours
//! by default) after the password was checked: then the password is asked again. A new
//! key (the secret file rotated) invalidates every token at once.
//!
//! Written over `ring`'s HMAC rather than a JWT crate: only HS256 is needed, and the JWT
//! crates compile every algorithm (RSA, ECDSA, EdDSA) or need a C toolchain of their own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::hmac;
use serde::{Deserialize, Serialize};

use super::{unauthenticated, Identity};
use crate::{Error, Result};

/// The header of every token: `{"alg":"HS256","typ":"JWT"}`, encoded.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// How long an issued token is valid by default.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// How long after its password was checked a token may be renewed without it, by default.
pub const DEFAULT_SESSION: Duration = Duration::from_secs(12 * 3600);

/// The longest token accepted, in bytes: longer ones are refused before any work.
const MAX_TOKEN: usize = 8 * 1024;

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    iat: u64,
    exp: u64,
    /// The kind of authenticator that knows the identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    src: Option<String>,
    /// When the identity's credentials were last checked (seconds since 1970).
    #[serde(default)]
    auth: u64,
    /// The identity's credentials when it was issued, sealed with the key (see
    /// [`TokenSigner::seal`]): a token of a password or a static token since changed is
    /// refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ver: Option<String>,
}

/// What a valid token says.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// The identity as the token names it (its roles as they were when it was issued).
    pub(crate) identity: Identity,
    /// When its credentials were last checked (seconds since 1970).
    pub(crate) authenticated: u64,
}

/// Issues and checks tokens with one HMAC key.
#[derive(Clone)]
pub struct TokenSigner {
    key: hmac::Key,
    ttl: Duration,
    session: Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("ttl", &self.ttl)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer with `secret` as its key (at least 32 bytes: share it between the servers
    /// that should accept each other's tokens).
    pub fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < 32 {
            return Err(Error::Config(format!(
                "the token key has {} bytes; it needs at least 32",
                secret.len()
            )));
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            ttl: DEFAULT_TOKEN_TTL,
            session: DEFAULT_SESSION,
        })
    }

    /// A signer with a random key: its tokens are valid on this server only, until it stops.
    pub fn generate() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, &random_fallback()));
        Self {
            key,
            ttl: DEFAULT_TOKEN_TTL,
            session: DEFAULT_SESSION,
        }
    }

    /// The key read from a file (its bytes, trailing whitespace removed).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let secret = std::fs::read(path).map_err(|e| {
            Error::Config(format!("cannot read the token key {}: {e}", path.display()))
        })?;
        let end = secret
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        Self::new(&secret[..end])
    }

    /// How long the tokens it issues are valid.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// How long after its credentials were checked a token may be renewed without them
    /// (twelve hours by default); a token issued within it stays valid for its time to
    /// live, renewable or not.
    pub fn session(mut self, session: Duration) -> Self {
        self.session = session.max(Duration::from_secs(1));
        self
    }

    /// The session's limit.
    pub(crate) fn session_limit(&self) -> Duration {
        self.session
    }

    /// A token for `identity`, valid for the signer's time to live.
    pub fn issue(&self, identity: &Identity) -> Result<String> {
        self.issue_since(identity, unix_now())
    }

    /// A token for `identity` whose credentials were checked at `authenticated`.
    pub(crate) fn issue_since(&self, identity: &Identity, authenticated: u64) -> Result<String> {
        let now = unix_now();
        let claims = Claims {
            sub: identity.name().to_owned(),
            roles: identity.roles().to_vec(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            src: identity.source().map(str::to_owned),
            auth: authenticated,
            ver: identity.stamp().map(str::to_owned),
        };
        let claims = serde_json::to_vec(&claims).map_err(|e| {
            Error::status(tonic::Code::Internal, format!("cannot write a token: {e}"))
        })?;
        let payload = B64.encode(claims);
        let signed = format!("{HEADER}.{payload}");
        let tag = hmac::sign(&self.key, signed.as_bytes());
        Ok(format!("{signed}.{}", B64.encode(tag.as_ref())))
    }

    /// A stamp of an identity's credentials, sealed with the key: what a token carries of
    /// them (it tells nothing of the secret without the key; servers sharing the key
    /// compute the same).
    pub(crate) fn seal(&self, stamp: &str) -> String {
        let tag = hmac::sign(
            &self.key,
            format!("fastflight credentials {stamp}").as_bytes(),
        );
        B64.encode(&tag.as_ref()[..12])
    }

    /// The identity of a token of this signer, as the token names it: `Ok(None)` when it
    /// is not one of its tokens (not a token of this form, or signed with another key),
    /// `Unauthenticated` when it is but has expired. (A server also looks the identity up
    /// again, so a removed user's token is refused though it verifies here.)
    pub fn verify(&self, token: &str) -> Result<Option<Identity>> {
        Ok(self.verified(token)?.map(|v| v.identity))
    }

    /// What a token of this signer says (see [`TokenSigner::verify`]).
    pub(crate) fn verified(&self, token: &str) -> Result<Option<Verified>> {
        if token.len() > MAX_TOKEN {
            return Err(unauthenticated(format!(
                "the token is longer than {MAX_TOKEN} bytes"
            )));
        }
        let Some((signed, tag)) = token.rsplit_once('.') else {
            return Ok(None);
        };
        let Some((HEADER, payload)) = signed.split_once('.') else {
            return Ok(None);
        };
        let Ok(tag) = B64.decode(tag) else {
            return Ok(None);
        };
        if hmac::verify(&self.key, signed.as_bytes(), &tag).is_err() {
            return Ok(None);
        }
        let claims: Claims = B64
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| unauthenticated("the token's claims cannot be read"))?;
        if claims.exp <= unix_now() {
            return Err(unauthenticated(
                "the token has expired: authenticate again (Handshake)",
            ));
        }
        let mut identity = Identity::new(claims.sub, claims.roles);
        if let Some(source) = &claims.src {
            identity = identity.with_source(source);
        }
        identity = identity.with_stamp(claims.ver);
        Ok(Some(Verified {
            identity,
            authenticated: claims.auth,
        }))
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A key from the time and the process, when the system has no random source (never
/// seen on the systems served).
fn random_fallback() -> [u8; 32] {
    let seed = format!("{:?}{}", SystemTime::now(), std::process::id());
    let digest = ring::digest::digest(&ring::digest::SHA256, seed.as_bytes());
    let mut key = [0_u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_with_their_key_only_and_expire() {
        let signer = TokenSigner::new(&[7_u8; 32]).unwrap();
        let ada = Identity::new("ada", ["analyst"]);
        let token = signer.issue(&ada).unwrap();
        assert_eq!(signer.verify(&token).unwrap(), Some(ada.clone()));
        // The same key in another server accepts it; another key does not know it.
        let replica = TokenSigner::new(&[7_u8; 32]).unwrap();
        assert_eq!(replica.verify(&token).unwrap(), Some(ada));
        assert_eq!(TokenSigner::generate().verify(&token).unwrap(), None);
        // A changed payload breaks the signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = B64.encode(br#"{"sub":"root","roles":["admin"],"iat":0,"exp":99999999999}"#);
        parts[1] = &forged;
        assert_eq!(signer.verify(&parts.join(".")).unwrap(), None);
        for junk in ["", "a.b", "a.b.c", "x".repeat(10_000).as_str()] {
            assert!(!matches!(signer.verify(junk), Ok(Some(_))), "{junk}");
        }
        // An expired token says so.
        let claims = Claims {
            sub: "ada".into(),
            roles: vec![],
            iat: 1,
            exp: 2,
            src: None,
            auth: 1,
            ver: None,
        };
        let signed = format!(
            "{HEADER}.{}",
            B64.encode(serde_json::to_vec(&claims).unwrap())
        );
        let tag = hmac::sign(&signer.key, signed.as_bytes());
        let old = format!("{signed}.{}", B64.encode(tag.as_ref()));
        let e = signer.verify(&old).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        assert!(TokenSigner::new(b"short").is_err());
    }
}

//! Signed, expiring tokens: JSON Web Tokens signed with HMAC-SHA256 (`HS256`), so any
//! server holding the same key accepts the tokens of the others, and JWT tools can read
//! them. Claims: `sub` (the identity's name), `roles`, `iat`, `exp` (seconds since 1970).
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

/// The longest token accepted, in bytes: longer ones are refused before any work.
const MAX_TOKEN: usize = 8 * 1024;

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    iat: u64,
    exp: u64,
}

/// Issues and checks tokens with one HMAC key.
#[derive(Clone)]
pub struct TokenSigner {
    key: hmac::Key,
    ttl: Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("ttl", &self.ttl)
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

    /// A token for `identity`, valid for the signer's time to live.
    pub fn issue(&self, identity: &Identity) -> Result<String> {
        let now = unix_now();
        let claims = Claims {
            sub: identity.name().to_owned(),
            roles: identity.roles().to_vec(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        let claims = serde_json::to_vec(&claims).map_err(|e| {
            Error::status(tonic::Code::Internal, format!("cannot write a token: {e}"))
        })?;
        let payload = B64.encode(claims);
        let signed = format!("{HEADER}.{payload}");
        let tag = hmac::sign(&self.key, signed.as_bytes());
        Ok(format!("{signed}.{}", B64.encode(tag.as_ref())))
    }

    /// The identity of a token of this signer: `Ok(None)` when it is not one of its
    /// tokens (not a token of this form, or signed with another key), `Unauthenticated`
    /// when it is but has expired.
    pub fn verify(&self, token: &str) -> Result<Option<Identity>> {
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
        Ok(Some(Identity::new(claims.sub, claims.roles)))
    }
}

fn unix_now() -> u64 {
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

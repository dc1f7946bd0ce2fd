//! Authenticators read from files: users with passwords (Basic, and so the Handshake),
//! and static bearer tokens for service accounts.

use std::collections::HashMap;
use std::path::Path;

use futures::future::BoxFuture;
use ring::digest::{digest, SHA256};

use super::{unauthenticated, Authenticator, Credentials, Identity};
use crate::{Error, Result};

/// Users and their passwords, one per line: `user:secret [role ...]`, where the secret
/// is an argon2 hash (`$argon2id$...`, as [`hash_password`] or `fastflight hash-password`
/// makes) or the password itself (accepted, with a warning at load). The secret ends at
/// the first whitespace; blank lines and lines starting with `#` are skipped.
///
/// ```text
/// # users.txt
/// ada:$argon2id$v=19$m=19456,t=2,p=1$...$... analyst
/// grace:changeme admin analyst
/// ```
pub struct UsersFile {
    users: HashMap<String, (Secret, Vec<String>)>,
}

enum Secret {
    /// An argon2 hash in PHC form.
    Hash(String),
    /// The SHA-256 of a plain password: compared digest to digest.
    Plain([u8; 32]),
}

impl UsersFile {
    /// Reads a users file; a malformed line is an error naming its number.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read(path)?;
        let mut users = HashMap::new();
        let mut plain = 0;
        for (n, line) in lines(&text) {
            let mut fields = line.split_whitespace();
            let entry = fields.next().unwrap_or_default();
            let (user, secret) = entry
                .split_once(':')
                .filter(|(user, secret)| !user.is_empty() && !secret.is_empty())
                .ok_or_else(|| malformed(path, n, "`user:secret [role ...]`"))?;
            let secret = if secret.starts_with("$argon2") {
                argon2::PasswordHash::new(secret)
                    .map_err(|e| malformed(path, n, &format!("an argon2 hash ({e})")))?;
                Secret::Hash(secret.to_owned())
            } else {
                plain += 1;
                Secret::Plain(sha256(secret))
            };
            let roles = fields.map(str::to_owned).collect();
            if users.insert(user.to_owned(), (secret, roles)).is_some() {
                return Err(malformed(path, n, "a user not named before"));
            }
        }
        if plain > 0 {
            tracing::warn!(
                file = %path.display(),
                users = plain,
                "the users file holds plain-text passwords: store argon2 hashes instead (fastflight hash-password)"
            );
        }
        Ok(Self { users })
    }
}

impl Authenticator for UsersFile {
    fn authenticate<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Option<Identity>>> {
        Box::pin(async move {
            let Credentials::Basic { user, password } = credentials else {
                return Ok(None);
            };
            let Some((secret, roles)) = self.users.get(user) else {
                return Ok(None);
            };
            let matches = match secret {
                Secret::Plain(digest) => sha256(password) == *digest,
                Secret::Hash(hash) => {
                    // Hashing takes tens of milliseconds: off the async threads.
                    let (hash, password) = (hash.clone(), password.clone());
                    tokio::task::spawn_blocking(move || verify_hash(&hash, &password))
                        .await
                        .unwrap_or(false)
                }
            };
            if matches {
                Ok(Some(Identity::new(user.clone(), roles.clone())))
            } else {
                Err(unauthenticated("unknown user or wrong password"))
            }
        })
    }
}

/// Static bearer tokens, one per line: `token name [role ...]`; blank lines and lines
/// starting with `#` are skipped. Tokens are kept as SHA-256 digests.
///
/// ```text
/// # tokens.txt
/// 4f9c2e...a1 etl-job loader
/// ```
pub struct TokensFile {
    tokens: HashMap<[u8; 32], Identity>,
}

impl TokensFile {
    /// Reads a tokens file; a malformed line is an error naming its number.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read(path)?;
        let mut tokens = HashMap::new();
        for (n, line) in lines(&text) {
            let mut fields = line.split_whitespace();
            let (Some(token), Some(name)) = (fields.next(), fields.next()) else {
                return Err(malformed(path, n, "`token name [role ...]`"));
            };
            if token.len() < 16 {
                return Err(malformed(path, n, "a token of at least 16 characters"));
            }
            tokens.insert(sha256(token), Identity::new(name, fields));
        }
        Ok(Self { tokens })
    }
}

impl Authenticator for TokensFile {
    fn authenticate<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Option<Identity>>> {
        Box::pin(async move {
            Ok(match credentials {
                Credentials::Bearer(token) => self.tokens.get(&sha256(token)).cloned(),
                Credentials::Basic { .. } => None,
            })
        })
    }
}

/// An argon2id hash of `password` in PHC form, for a users file.
pub fn hash_password(password: &str) -> Result<String> {
    use argon2::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Config(format!("cannot hash the password: {e}")))
}

fn verify_hash(hash: &str, password: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::PasswordHash::new(hash)
        .map(|hash| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

fn sha256(text: &str) -> [u8; 32] {
    let mut out = [0_u8; 32];
    out.copy_from_slice(digest(&SHA256, text.as_bytes()).as_ref());
    out
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
}

/// The lines that hold entries, with their numbers (from 1).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

fn malformed(path: &Path, line: usize, expected: &str) -> Error {
    Error::Config(format!(
        "{} line {line}: expected {expected}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("fastflight-auth-{name}-{}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[tokio::test]
    async fn users_and_tokens_files() {
        let hash = hash_password("s3cret pass").unwrap();
        let users = file(
            "users",
            &format!("# comment\n\nada:{hash} analyst\ngrace:plain:colon admin analyst\n"),
        );
        let users = UsersFile::load(&users).unwrap();
        let basic = |user: &str, password: &str| Credentials::Basic {
            user: user.into(),
            password: password.into(),
        };
        let ada = users
            .authenticate(&basic("ada", "s3cret pass"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (ada.name(), ada.roles()),
            ("ada", &["analyst".to_owned()][..])
        );
        assert!(users.authenticate(&basic("ada", "wrong")).await.is_err());
        let grace = users
            .authenticate(&basic("grace", "plain:colon"))
            .await
            .unwrap()
            .unwrap();
        assert!(grace.has_role("admin"));
        assert!(users
            .authenticate(&basic("nobody", "x"))
            .await
            .unwrap()
            .is_none());
        assert!(users
            .authenticate(&Credentials::Bearer("x".into()))
            .await
            .unwrap()
            .is_none());

        let tokens = TokensFile::load(file("tokens", "0123456789abcdef0123 etl loader\n")).unwrap();
        let etl = tokens
            .authenticate(&Credentials::Bearer("0123456789abcdef0123".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(etl.name(), "etl");
        assert!(tokens
            .authenticate(&Credentials::Bearer("nope".into()))
            .await
            .unwrap()
            .is_none());

        for (name, text, words) in [
            ("u1", "nocolon\n", "line 1"),
            ("u2", "ok:x\n:empty\n", "line 2"),
            ("u3", "a:$argon2id$broken\n", "argon2 hash"),
            ("u4", "a:x\na:y\n", "not named before"),
        ] {
            let e = UsersFile::load(file(name, text)).err().unwrap();
            assert!(e.to_string().contains(words), "{name}: {e}");
        }
        let e = TokensFile::load(file("t1", "short name\n")).err().unwrap();
        assert!(e.to_string().contains("16 characters"), "{e}");
    }
}

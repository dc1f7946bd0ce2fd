//! Authenticators read from files: users with passwords (Basic, and so the Handshake),
//! and static bearer tokens for service accounts. Each file is read again when it
//! changes (looked at no more than once a second), so removing a user, a token or a role
//! takes effect without a restart; a file that no longer reads keeps the last good
//! entries, with a warning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;
use ring::digest::{digest, SHA256};

use super::checks::PasswordChecks;
use super::{unauthenticated, Authenticator, Credentials, Identity, Lookup};
use crate::{Error, Result};

/// How often a file is looked at for changes, at most.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Users and their passwords, one per line: `user:secret [role ...]`, where the secret
/// is an argon2 hash (`$argon2id$...`, as [`hash_password`] or `fastflight hash-password`
/// makes), `!` for a user who logs in only with a client certificate, or the password
/// itself (accepted, with a warning at load). The secret ends at the first whitespace;
/// blank lines and lines starting with `#` are skipped.
///
/// ```text
/// # users.txt
/// ada:$argon2id$v=19$m=19456,t=2,p=1$...$... analyst
/// grace:changeme admin analyst
/// svc-reports:! reader
/// ```
///
/// Every password is checked at the same cost, whether the user exists or not and
/// whatever the form of its secret (unknown users and plain-text entries are checked
/// against a hash too), on a few threads of their own ([`PasswordChecks`]).
#[derive(Clone)]
pub struct UsersFile {
    users: Arc<Watched<Users>>,
    checks: PasswordChecks,
}

/// The entries of a users file.
struct Users {
    entries: HashMap<String, (Secret, Vec<String>)>,
    /// A hash of the highest cost of the file, or of the default cost: what a password
    /// of an unknown user (or of a plain-text entry) is checked against, so every check
    /// takes as long.
    decoy: Arc<str>,
}

enum Secret {
    /// An argon2 hash in PHC form.
    Hash(Arc<str>),
    /// The SHA-256 of a plain password: compared digest to digest, in constant time.
    Plain([u8; 32]),
    /// `!`: no password opens this user (a client certificate does).
    Locked,
}

impl Secret {
    /// What the secret is, for the tokens of its user: a digest, so a changed password
    /// shows (the server seals it with its key before it goes into a token).
    fn stamp(&self) -> String {
        match self {
            Secret::Hash(hash) => secret_stamp(hash.as_bytes()),
            Secret::Plain(digest) => secret_stamp(digest),
            Secret::Locked => "!".to_owned(),
        }
    }
}

/// A short digest of a stored secret.
fn secret_stamp(secret: &[u8]) -> String {
    digest(&SHA256, secret).as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl UsersFile {
    /// Reads a users file; a malformed line is an error naming its number.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            users: Arc::new(Watched::load(path.as_ref(), parse_users)?),
            checks: PasswordChecks::default(),
        })
    }

    /// Checks passwords on these threads (by default the process's pool: one thread per
    /// two cores, at most four, with a queue of four checks per thread; past that a login
    /// is refused at once with `ResourceExhausted`).
    pub fn checks(mut self, checks: PasswordChecks) -> Self {
        self.checks = checks;
        self
    }

    /// The user `name` and its roles, if the file has it, stamped with its secret.
    pub(crate) fn user(&self, name: &str) -> Option<Identity> {
        let users = self.users.current();
        users.entries.get(name).map(|(secret, roles)| {
            Identity::new(name, roles.clone()).with_stamp(Some(secret.stamp()))
        })
    }
}

fn parse_users(path: &Path, text: &str) -> Result<Users> {
    let mut entries = HashMap::new();
    let mut plain = 0;
    let mut decoy: Option<(u64, Arc<str>)> = None;
    for (n, line) in lines(text) {
        let mut fields = line.split_whitespace();
        let entry = fields.next().unwrap_or_default();
        let (user, secret) = entry
            .split_once(':')
            .filter(|(user, secret)| !user.is_empty() && !secret.is_empty())
            .ok_or_else(|| malformed(path, n, "`user:secret [role ...]`"))?;
        let secret = if secret == "!" {
            Secret::Locked
        } else if secret.starts_with("$argon2") {
            let parsed = argon2::PasswordHash::new(secret)
                .map_err(|e| malformed(path, n, &format!("an argon2 hash ({e})")))?;
            let cost = argon2::Params::try_from(&parsed)
                .map(|p| u64::from(p.m_cost()) * u64::from(p.t_cost()) * u64::from(p.p_cost()))
                .map_err(|e| malformed(path, n, &format!("argon2 parameters ({e})")))?;
            let secret: Arc<str> = Arc::from(secret);
            if decoy.as_ref().is_none_or(|(highest, _)| cost > *highest) {
                decoy = Some((cost, Arc::clone(&secret)));
            }
            Secret::Hash(secret)
        } else {
            plain += 1;
            Secret::Plain(sha256(secret))
        };
        let roles = fields.map(str::to_owned).collect();
        if entries.insert(user.to_owned(), (secret, roles)).is_some() {
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
    let decoy = match decoy {
        Some((_, hash)) => hash,
        None => default_decoy()?,
    };
    Ok(Users { entries, decoy })
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
            let users = self.users.current();
            let entry = users.entries.get(user);
            // One hash is computed whatever the entry: an unknown user, a plain-text
            // entry and a hashed one take as long.
            let (hash, plain) = match entry.map(|(secret, _)| secret) {
                Some(Secret::Hash(hash)) => (Arc::clone(hash), None),
                Some(Secret::Plain(digest)) => (Arc::clone(&users.decoy), Some(*digest)),
                Some(Secret::Locked) | None => (Arc::clone(&users.decoy), None),
            };
            let real = matches!(entry, Some((Secret::Hash(_), _)));
            let password = password.clone();
            let typed = sha256(&password);
            let hashed = self
                .checks
                .run(move || verify_hash(&hash, &password) && real)
                .await?;
            let matches = match plain {
                Some(digest) => equal(&typed, &digest),
                None => hashed,
            };
            match (entry, matches) {
                (None, _) => Ok(None),
                (Some((secret, roles)), true) => Ok(Some(
                    Identity::new(user.clone(), roles.clone()).with_stamp(Some(secret.stamp())),
                )),
                (Some(_), false) => Err(unauthenticated("unknown user or wrong password")),
            }
        })
    }

    fn kind(&self) -> &str {
        "users"
    }

    fn lookup(&self, name: &str) -> Lookup {
        match self.user(name) {
            Some(identity) => Lookup::Known(identity),
            None => Lookup::Unknown,
        }
    }
}

/// Static bearer tokens, one per line: `token name [role ...]`; blank lines and lines
/// starting with `#` are skipped. Tokens are kept as SHA-256 digests. Each line names an
/// account of its own (a name given twice is refused): a token replaced on its line
/// ends the tokens issued for it.
///
/// ```text
/// # tokens.txt
/// 4f9c2e...a1 etl-job loader
/// ```
#[derive(Clone)]
pub struct TokensFile {
    tokens: Arc<Watched<Tokens>>,
}

struct Tokens {
    by_digest: HashMap<[u8; 32], Identity>,
    by_name: HashMap<String, Identity>,
}

impl TokensFile {
    /// Reads a tokens file; a malformed line is an error naming its number.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            tokens: Arc::new(Watched::load(path.as_ref(), parse_tokens)?),
        })
    }
}

fn parse_tokens(path: &Path, text: &str) -> Result<Tokens> {
    let mut by_digest = HashMap::new();
    let mut by_name = HashMap::new();
    for (n, line) in lines(text) {
        let mut fields = line.split_whitespace();
        let (Some(token), Some(name)) = (fields.next(), fields.next()) else {
            return Err(malformed(path, n, "`token name [role ...]`"));
        };
        if token.len() < 16 {
            return Err(malformed(path, n, "a token of at least 16 characters"));
        }
        let digest = sha256(token);
        let identity = Identity::new(name, fields).with_stamp(Some(secret_stamp(&digest)));
        if by_name.insert(name.to_owned(), identity.clone()).is_some() {
            return Err(malformed(path, n, "an account not named before"));
        }
        by_digest.insert(digest, identity);
    }
    Ok(Tokens { by_digest, by_name })
}

impl Authenticator for TokensFile {
    fn authenticate<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Option<Identity>>> {
        Box::pin(async move {
            Ok(match credentials {
                Credentials::Bearer(token) => {
                    self.tokens.current().by_digest.get(&sha256(token)).cloned()
                }
                _ => None,
            })
        })
    }

    fn kind(&self) -> &str {
        "tokens"
    }

    fn lookup(&self, name: &str) -> Lookup {
        match self.tokens.current().by_name.get(name) {
            Some(identity) => Lookup::Known(identity.clone()),
            None => Lookup::Unknown,
        }
    }
}

/// A file's modification time and length, which tell a change.
type Stamp = Option<(SystemTime, u64)>;

/// A file's entries, read again when the file changes.
struct Watched<T> {
    path: PathBuf,
    parse: fn(&Path, &str) -> Result<T>,
    /// The entries, and the file's modification time and length they were read at.
    loaded: RwLock<(Arc<T>, Stamp)>,
    /// When the file was last looked at.
    looked: Mutex<Instant>,
}

impl<T> Watched<T> {
    fn load(path: &Path, parse: fn(&Path, &str) -> Result<T>) -> Result<Self> {
        let stamp = stamp(path);
        let entries = parse(path, &read(path)?)?;
        Ok(Self {
            path: path.to_owned(),
            parse,
            loaded: RwLock::new((Arc::new(entries), stamp)),
            looked: Mutex::new(Instant::now()),
        })
    }

    /// The entries now: read again first when the file changed since (looked at once a
    /// second at most, by one caller while the others use the last entries).
    fn current(&self) -> Arc<T> {
        let due = self
            .looked
            .try_lock()
            .ok()
            .filter(|looked| looked.elapsed() >= LOOK_EVERY)
            .map(|mut looked| *looked = Instant::now())
            .is_some();
        if due {
            self.reload_if_changed();
        }
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&loaded.0)
    }

    fn reload_if_changed(&self) {
        let now = stamp(&self.path);
        let last = self.loaded.read().unwrap_or_else(|p| p.into_inner()).1;
        if now == last {
            return;
        }
        match read(&self.path).and_then(|text| (self.parse)(&self.path, &text)) {
            Ok(entries) => {
                tracing::info!(file = %self.path.display(), "read again after a change");
                *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = (Arc::new(entries), now);
            }
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "the changed file cannot be read: its last good entries stay");
                // Not tried again until it changes again.
                self.loaded.write().unwrap_or_else(|p| p.into_inner()).1 = now;
            }
        }
    }
}

/// A file's modification time and length, to tell a change.
fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
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

/// Whether two digests are equal, in a time that does not depend on where they differ.
fn equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The decoy of files without hashes: a hash of the default cost, made once.
fn default_decoy() -> Result<Arc<str>> {
    static DECOY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    if let Some(decoy) = DECOY.get() {
        return Ok(Arc::clone(decoy));
    }
    let decoy: Arc<str> = Arc::from(hash_password(&random_text())?);
    Ok(Arc::clone(DECOY.get_or_init(|| decoy)))
}

/// A random text, for the decoy hash of a file without hashes.
fn random_text() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0_u8; 24];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

    /// Removed when dropped.
    fn file(name: &str, text: &str) -> tempfile::TempPath {
        let mut file = tempfile::Builder::new()
            .prefix(&format!("fastflight-auth-{name}-"))
            .tempfile()
            .unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        file.into_temp_path()
    }

    fn basic(user: &str, password: &str) -> Credentials {
        Credentials::Basic {
            user: user.into(),
            password: password.into(),
        }
    }

    #[tokio::test]
    async fn users_and_tokens_files() {
        let hash = hash_password("s3cret pass").unwrap();
        let users = file(
            "users",
            &format!(
                "# comment\n\nada:{hash} analyst\ngrace:plain:colon admin analyst\ncert:! reader\n"
            ),
        );
        let users = UsersFile::load(&users).unwrap();
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
        assert!(users.authenticate(&basic("grace", "plain")).await.is_err());
        // A user of certificates only: no password opens it, not even `!`.
        for password in ["!", "", "x"] {
            let e = users
                .authenticate(&basic("cert", password))
                .await
                .unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e}");
        }
        assert!(matches!(users.lookup("cert"), Lookup::Known(id) if id.has_role("reader")));
        assert!(matches!(users.lookup("nobody"), Lookup::Unknown));
        // The decoy is the file's one hash: an unknown user is checked against it, and
        // its own password does not open the unknown user.
        assert!(users
            .authenticate(&basic("nobody", "s3cret pass"))
            .await
            .unwrap()
            .is_none());
        assert!(users
            .authenticate(&Credentials::Bearer("x".into()))
            .await
            .unwrap()
            .is_none());

        let tokens = TokensFile::load(file("tokens", "0123456789abcdef0123 etl loader\n")).unwrap();
        let e = TokensFile::load(file(
            "tokens-twice",
            "0123456789abcdef0123 etl\nfedcba9876543210fedc etl\n",
        ))
        .err()
        .unwrap();
        assert!(e.to_string().contains("line 2"), "{e}");
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
        assert!(matches!(tokens.lookup("etl"), Lookup::Known(_)));

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

    #[tokio::test]
    async fn a_changed_file_is_read_again_and_a_broken_one_keeps_its_entries() {
        let path = file("reload", "ada:one analyst\nbob:two\n");
        let users = UsersFile::load(&path).unwrap();
        assert!(users.user("bob").is_some());
        std::thread::sleep(LOOK_EVERY + Duration::from_millis(50));
        std::fs::write(&path, "ada:one\n").unwrap();
        assert!(users.user("bob").is_none(), "bob was removed");
        assert!(
            !users.user("ada").unwrap().has_role("analyst"),
            "a role was removed"
        );
        std::thread::sleep(LOOK_EVERY + Duration::from_millis(50));
        std::fs::write(&path, "broken line without a colon\n").unwrap();
        assert!(users.user("ada").is_some(), "the last good entries stay");
    }

    #[test]
    fn digests_compare_equal_only_when_equal() {
        let a = sha256("a");
        let mut b = a;
        assert!(equal(&a, &b));
        b[31] ^= 1;
        assert!(!equal(&a, &b));
    }
}

//! Tokens that can be revoked, on real server processes: a token's identity is looked
//! up again at each use, so a user or a static token removed from its file (read again
//! within a second or two of the change) is refused at its next call, a role taken away
//! is gone at once, and renewal gives the current roles; renewal stops at the session's
//! limit; a restart with the same key keeps what is still true, and a new key ends
//! every token.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::Code;

use crate::attacks::{basic, echo_with, get_with, handshake_with, login};
use crate::support::DemoProcess;

const SQL: &str = r#"{"param_type": "fastflight.demo.SqlQuery", "query": "SELECT 1 AS one"}"#;
const TOKEN: &str = "etl-0123456789abcdef-static";

struct Files {
    users: PathBuf,
    tokens: PathBuf,
    key: PathBuf,
    /// Their folder, removed when dropped.
    _dir: tempfile::TempDir,
}

impl Files {
    fn new(name: &str) -> Self {
        let dir = crate::support::scratch_dir(&format!("tokens-{name}"));
        let files = Files {
            users: dir.path().join("users.txt"),
            tokens: dir.path().join("tokens.txt"),
            key: dir.path().join("token.key"),
            _dir: dir,
        };
        files.write_users(&["ada:lovelace sql", "bob:builder sql"]);
        std::fs::write(&files.tokens, format!("{TOKEN} etl sql\n")).unwrap();
        std::fs::write(
            &files.key,
            "a key of the servers, more than thirty-two bytes\n",
        )
        .unwrap();
        files
    }

    fn write_users(&self, lines: &[&str]) {
        write(&self.users, &lines.join("\n"));
    }

    fn serve(&self, extra: &[&str]) -> DemoProcess {
        let mut args = vec![
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--auth-users",
            self.users.to_str().unwrap(),
            "--auth-tokens",
            self.tokens.to_str().unwrap(),
            "--auth-secret-file",
            self.key.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        DemoProcess::spawn(&args, &[])
    }
}

/// Writes a file so that its next look sees a change (its time and length move).
fn write(path: &Path, text: &str) {
    std::fs::write(path, format!("{text}\n")).unwrap();
}

/// Long enough for a server to look at its files again.
async fn reread() {
    tokio::time::sleep(Duration::from_millis(1300)).await;
}

/// The roles a token names (its claims, read without checking: the server checks).
fn roles_of(bearer: &str) -> Vec<String> {
    use base64::Engine;
    let payload = bearer
        .trim_start_matches("Bearer ")
        .split('.')
        .nth(1)
        .unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&json).unwrap();
    claims["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn removed_users_tokens_and_roles_stop_working_and_renewal_reads_them_again() {
    let files = Files::new("revoked");
    let mut server = files.serve(&[]);
    let ada = login(&server.location, "ada", "lovelace").await.unwrap();
    let bob = login(&server.location, "bob", "builder").await.unwrap();
    // A static token traded for a token of the servers' key.
    let etl = handshake_with(&server.location, &format!("Bearer {TOKEN}"))
        .await
        .unwrap();
    let mut raw = crate::support::raw_client(&server.location).await;
    for token in [&ada, &bob, &etl, &format!("Bearer {TOKEN}")] {
        get_with(&mut raw, SQL, token).await.unwrap();
    }

    // ada removed, bob's role taken away, the static token removed.
    files.write_users(&["bob:builder"]);
    write(&files.tokens, "# no tokens");
    reread().await;
    let e = echo_with(&mut raw, &ada).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    assert!(e.message().contains("`ada` is no longer known"), "{e}");
    let e = get_with(&mut raw, SQL, &bob).await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::PermissionDenied,
        "bob's token lost the role at once: {e}"
    );
    echo_with(&mut raw, &bob).await.unwrap();
    for token in [&etl, &format!("Bearer {TOKEN}")] {
        let e = echo_with(&mut raw, token).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    }
    // Renewal looks the identity up: bob's renewed token has his roles of now; ada's
    // and etl's are not renewed.
    assert_eq!(roles_of(&bob), ["sql"]);
    let renewed = handshake_with(&server.location, &bob).await.unwrap();
    assert_eq!(roles_of(&renewed), Vec::<String>::new());
    for token in [&ada, &etl] {
        let e = handshake_with(&server.location, token).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    }
    // The role given back: at once, on the token bob holds.
    files.write_users(&["bob:builder sql"]);
    reread().await;
    get_with(&mut raw, SQL, &renewed).await.unwrap();
    // A new password: the tokens of the old one end.
    let old_password = login(&server.location, "bob", "builder").await.unwrap();
    files.write_users(&["bob:bricklayer sql"]);
    reread().await;
    let e = echo_with(&mut raw, &old_password).await.unwrap_err();
    assert!(e.message().contains("credentials of `bob` changed"), "{e}");
    let e = echo_with(&mut raw, &basic("bob", "builder"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    files.write_users(&["bob:builder sql"]);
    reread().await;

    // A restart with the same key: what is still true still holds, the rest not.
    drop(raw);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    server = files.serve(&[]);
    let mut raw = crate::support::raw_client(&server.location).await;
    get_with(&mut raw, SQL, &bob).await.unwrap();
    let e = echo_with(&mut raw, &ada).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");

    // A new key: every token ends.
    drop(raw);
    drop(server);
    write(
        &files.key,
        "another key of the servers, more than thirty-two bytes",
    );
    let server = files.serve(&[]);
    let mut raw = crate::support::raw_client(&server.location).await;
    for token in [&bob, &renewed] {
        let e = echo_with(&mut raw, token).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    }
    echo_with(&mut raw, &basic("bob", "builder")).await.unwrap();
}

/// The Handshake renews a token without the password only within the session's limit
/// after the password was checked: past it, the password is asked again (the token
/// itself works until it expires).
#[tokio::test]
async fn renewal_without_the_password_stops_at_the_sessions_limit() {
    let files = Files::new("session");
    let server = files.serve(&["--session-ttl", "2"]);
    let first = login(&server.location, "ada", "lovelace").await.unwrap();
    let mut renewed = handshake_with(&server.location, &first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let e = handshake_with(&server.location, &renewed)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    assert!(e.message().contains("session's limit"), "{e}");
    let mut raw = crate::support::raw_client(&server.location).await;
    echo_with(&mut raw, &renewed).await.unwrap();
    // The password opens a new session.
    renewed = login(&server.location, "ada", "lovelace").await.unwrap();
    handshake_with(&server.location, &renewed).await.unwrap();
}

//! The options of the commands: where the servers listen, what they serve with (TLS,
//! authentication, the gateway's client), and how `call` and `services` reach a server.
//! The limits' options are in `limits.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::limits::{seconds, LimitArgs};
use crate::format::Format;
use crate::rest::DEFAULT_PREFIX;
use crate::server::DEFAULT_LOCATION;
use crate::{Result, ServerBuilder};

#[derive(Debug, Args)]
pub(super) struct FlightArgs {
    /// Where the Flight server listens: grpc://HOST:PORT (port 0 picks a free port).
    #[arg(long, env = "FASTFLIGHT_FLIGHT_LOCATION", default_value = DEFAULT_LOCATION)]
    pub(super) flight_location: String,
    /// This server's location as clients reach it, named in the endpoints of partitioned requests.
    #[arg(long, env = "FASTFLIGHT_ADVERTISE")]
    pub(super) advertise: Option<String>,
    /// The other servers of the same services (comma-separated locations): partitioned requests are spread over them. A DNS name stands for every address it resolves to (a headless service).
    #[arg(long, env = "FASTFLIGHT_PEERS", value_delimiter = ',')]
    pub(super) peers: Vec<String>,
}

impl FlightArgs {
    /// The Flight server's location, advertised address and peers, applied.
    pub(super) fn apply(self, builder: ServerBuilder) -> ServerBuilder {
        let builder = builder.location(self.flight_location).peers(self.peers);
        match self.advertise {
            Some(advertise) => builder.advertise(advertise),
            None => builder,
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct RestArgs {
    /// The gateway's host.
    #[arg(long, env = "FASTFLIGHT_REST_HOST", default_value = "127.0.0.1")]
    pub(super) rest_host: String,
    /// The gateway's port (0 picks a free port).
    #[arg(long, env = "FASTFLIGHT_REST_PORT", default_value_t = 8000)]
    pub(super) rest_port: u16,
    /// The prefix of the gateway's routes.
    #[arg(long, env = "FASTFLIGHT_REST_PREFIX", default_value = DEFAULT_PREFIX)]
    pub(super) rest_prefix: String,
}

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    pub(super) limits: LimitArgs,
    /// Seconds that streams in flight may take to finish after SIGINT/SIGTERM.
    #[arg(long, env = "FASTFLIGHT_GRACE_PERIOD", default_value = "30", value_parser = seconds)]
    pub(super) grace_period: Duration,
    /// The certificate chain (PEM) of both servers: they speak TLS (grpc+tls://, https://).
    #[arg(long, env = "FASTFLIGHT_TLS_CERT", requires = "tls_key")]
    pub(super) tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "FASTFLIGHT_TLS_KEY", requires = "tls_cert")]
    pub(super) tls_key: Option<PathBuf>,
    /// Client certificates signed by this CA (PEM) name their callers (the subject's CN, else a DNS or e-mail alternative name; with --auth-users, a user of that file, with its roles).
    #[arg(long, env = "FASTFLIGHT_TLS_CLIENT_CA", requires = "tls_cert")]
    pub(super) tls_client_ca: Option<PathBuf>,
    /// Whether clients must present a certificate of --tls-client-ca: `required` (the default when neither --auth-users nor --auth-tokens is given) or `optional` (clients without one authenticate with credentials).
    #[arg(long, env = "FASTFLIGHT_TLS_CLIENT_AUTH", requires = "tls_client_ca")]
    pub(super) tls_client_auth: Option<crate::tls::ClientAuth>,
    /// Retries and circuit breaker of the gateway's calls to its Flight server (start-rest-server): none, default, aggressive or conservative.
    #[arg(long, env = "FASTFLIGHT_RESILIENCE_PRESET", default_value = "default")]
    pub(super) resilience_preset: String,
    /// HTTP/2 connections the gateway opens to its Flight server (start-rest-server), calls taking them in turn.
    #[arg(long, env = "FASTFLIGHT_CONNECTIONS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(super) connections: u16,
    /// The CA (PEM) to trust for a grpc+tls:// Flight server the gateway forwards to (start-rest-server).
    #[arg(long, env = "FASTFLIGHT_FLIGHT_TLS_CA")]
    pub(super) flight_tls_ca: Option<PathBuf>,
    /// A users file (`user:secret [role ...]` lines; argon2 hashes from `hash-password`): callers must authenticate.
    #[arg(long, env = "FASTFLIGHT_AUTH_USERS")]
    pub(super) auth_users: Option<PathBuf>,
    /// A file of static bearer tokens (`token name [role ...]` lines) for service accounts.
    #[arg(long, env = "FASTFLIGHT_AUTH_TOKENS")]
    pub(super) auth_tokens: Option<PathBuf>,
    /// The key of the tokens the Handshake issues (at least 32 bytes; servers sharing it accept each other's tokens); random when absent.
    #[arg(long, env = "FASTFLIGHT_AUTH_SECRET_FILE")]
    pub(super) auth_secret_file: Option<PathBuf>,
    /// Seconds an issued token is valid.
    #[arg(long, env = "FASTFLIGHT_TOKEN_TTL", default_value = "3600", value_parser = seconds)]
    pub(super) token_ttl: Duration,
    /// Seconds after a password (or static token, or certificate) was checked that the Handshake renews a token without it.
    #[arg(long, env = "FASTFLIGHT_SESSION_TTL", default_value = "43200", value_parser = seconds)]
    pub(super) session_ttl: Duration,
    /// Failed logins of one user from one address before each next one waits (1 s, doubling); ten times as many for one address or one user overall (0: no throttle).
    #[arg(long, env = "FASTFLIGHT_AUTH_MAX_FAILURES", default_value_t = crate::auth::LoginThrottle::default().max_failures)]
    pub(super) auth_max_failures: u32,
    /// Seconds the longest wait after failed logins lasts.
    #[arg(long, env = "FASTFLIGHT_AUTH_MAX_LOCKOUT", default_value = "60", value_parser = seconds)]
    pub(super) auth_max_lockout: Duration,
    /// Proxies in front of the servers (comma-separated addresses or networks, as 10.0.0.0/8) whose x-forwarded-for names the caller: for the login throttle, logs, fair shares and services; the header is ignored from any other peer.
    #[arg(long, env = "FASTFLIGHT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub(super) trusted_proxies: Vec<String>,
}

impl RestArgs {
    pub(super) fn addr(&self) -> String {
        if self.rest_host.contains(':') && !self.rest_host.starts_with('[') {
            format!("[{}]:{}", self.rest_host, self.rest_port)
        } else {
            format!("{}:{}", self.rest_host, self.rest_port)
        }
    }
}

impl ServeArgs {
    pub(super) fn grace(&self) -> Duration {
        self.grace_period
    }

    /// The servers' TLS, if a certificate was given.
    pub(super) fn tls(&self) -> Result<Option<crate::tls::ServerTls>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let tls = crate::tls::ServerTls::from_files(cert, key)?;
        let tls = match &self.tls_client_ca {
            Some(ca) => tls.client_ca_file(ca)?,
            None => tls,
        };
        Ok(Some(match self.tls_client_auth {
            Some(mode) => tls.client_auth(mode),
            None => tls,
        }))
    }

    /// The gateway these options ask for, in front of `proxy_to` (in-process without).
    pub(super) fn gateway(
        &self,
        rest: RestArgs,
        proxy_to: Option<String>,
    ) -> Result<super::serve::GatewayPlan> {
        Ok(super::serve::GatewayPlan {
            addr: rest.addr(),
            prefix: rest.rest_prefix,
            proxy_to,
            limits: self.limits.limits(),
            tls: self.tls()?,
            flight_tls_ca: self.flight_tls_ca.clone(),
            resilience: crate::resilience::Resilience::preset(&self.resilience_preset)?,
            connections: self.connections.into(),
            trusted_proxies: self.trusted_proxies.clone(),
        })
    }

    /// The limits, TLS and authentication, applied to a server builder.
    pub(super) fn apply(&self, mut builder: ServerBuilder) -> Result<ServerBuilder> {
        if let Some(tls) = self.tls()? {
            builder = builder.tls(tls);
        }
        if let Some(path) = &self.auth_users {
            builder = builder.authenticator(crate::auth::UsersFile::load(path)?);
        }
        if let Some(path) = &self.auth_tokens {
            builder = builder.authenticator(crate::auth::TokensFile::load(path)?);
        }
        let signer = match &self.auth_secret_file {
            Some(path) => Some(crate::auth::TokenSigner::from_file(path)?),
            None if self.auth_users.is_some() || self.auth_tokens.is_some() => {
                Some(crate::auth::TokenSigner::generate())
            }
            None => None,
        };
        if let Some(signer) = signer {
            builder = builder.token_signer(signer.ttl(self.token_ttl).session(self.session_ttl));
        }
        Ok(builder
            .limits(self.limits.limits())
            .trusted_proxies(self.trusted_proxies.iter().cloned())
            .login_throttle(crate::auth::LoginThrottle {
                max_failures: self.auth_max_failures,
                max_lockout: self.auth_max_lockout.max(Duration::from_secs(1)),
            }))
    }
}

#[derive(Debug, Args)]
pub(super) struct CallArgs {
    /// The Flight server: grpc://HOST:PORT.
    #[arg(
        long,
        env = "FASTFLIGHT_LOCATION",
        default_value = "grpc://127.0.0.1:8815"
    )]
    pub(super) location: String,
    /// The request as JSON text (`{"param_type": ..., ...}`), or `@FILE` to read it from a file.
    #[arg(env = "FASTFLIGHT_REQUEST")]
    pub(super) request: String,
    #[command(flatten)]
    pub(super) out: OutputArgs,
    #[command(flatten)]
    pub(super) credentials: CredentialArgs,
}

#[derive(Debug, Args)]
pub(super) struct SqlArgs {
    /// The Flight SQL server: grpc://HOST:PORT.
    #[arg(
        long,
        env = "FASTFLIGHT_LOCATION",
        default_value = "grpc://127.0.0.1:8815"
    )]
    pub(super) location: String,
    /// The statement (`SELECT * FROM synthetic LIMIT 10`), or `@FILE` to read it from a file.
    pub(super) statement: String,
    #[command(flatten)]
    pub(super) out: OutputArgs,
    #[command(flatten)]
    pub(super) credentials: CredentialArgs,
}

/// Where and how a result is written.
#[derive(Debug, Args)]
pub(super) struct OutputArgs {
    /// Output format; `table` when stdout is a terminal, `csv` otherwise.
    #[arg(long, value_enum, env = "FASTFLIGHT_FORMAT")]
    pub(super) format: Option<Format>,
    /// Write to this file instead of stdout.
    #[arg(long, short, env = "FASTFLIGHT_OUTPUT")]
    pub(super) output: Option<PathBuf>,
    /// Never show the progress bar (it shows only when stderr is a terminal).
    #[arg(long, env = "FASTFLIGHT_NO_PROGRESS")]
    pub(super) no_progress: bool,
    /// Print the final figures (rows, bytes, time, throughput) on stderr, terminal or not.
    #[arg(long, env = "FASTFLIGHT_STATS")]
    pub(super) stats: bool,
}

/// The password of `user`: from FASTFLIGHT_PASSWORD, or asked on the terminal (not
/// echoed).
fn password_of(user: &str) -> Result<String> {
    if let Ok(password) = std::env::var("FASTFLIGHT_PASSWORD") {
        return Ok(password);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(crate::Error::Config(format!(
            "--user {user} needs a password: set FASTFLIGHT_PASSWORD, or run on a terminal to be asked"
        )));
    }
    rpassword::prompt_password(format!("password for {user}: ")).map_err(crate::Error::Io)
}

/// How a client proves who it is to a server that authenticates its callers.
#[derive(Debug, Args)]
pub(super) struct CredentialArgs {
    /// Retries and circuit breaker: none, default, aggressive or conservative.
    #[arg(long, env = "FASTFLIGHT_RESILIENCE_PRESET", default_value = "default")]
    pub(super) resilience_preset: String,
    /// HTTP/2 connections to open to each location, calls (and a partitioned result's endpoints) taking them in turn.
    #[arg(long, env = "FASTFLIGHT_CONNECTIONS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(super) connections: u16,
    /// The CA (PEM) to trust for a grpc+tls:// location (the public roots otherwise).
    #[arg(long, env = "FASTFLIGHT_TLS_CA")]
    pub(super) tls_ca: Option<PathBuf>,
    /// A client certificate (PEM) to present to a server that takes them (its --tls-client-ca): it names the caller.
    #[arg(long, env = "FASTFLIGHT_CLIENT_CERT", requires = "client_key")]
    pub(super) client_cert: Option<PathBuf>,
    /// The private key (PEM) of --client-cert.
    #[arg(long, env = "FASTFLIGHT_CLIENT_KEY", requires = "client_cert")]
    pub(super) client_key: Option<PathBuf>,
    /// The user to authenticate as (Handshake); the password comes from FASTFLIGHT_PASSWORD, or is asked on the terminal.
    #[arg(long, env = "FASTFLIGHT_USER", conflicts_with = "token")]
    pub(super) user: Option<String>,
    /// A bearer token (a service account's, or one from a Handshake); on the command line it shows in the process list: prefer FASTFLIGHT_TOKEN or --token-file.
    #[arg(long, env = "FASTFLIGHT_TOKEN", hide_env_values = true, conflicts_with_all = ["user", "token_file"])]
    pub(super) token: Option<String>,
    /// A file holding the bearer token (its first line).
    #[arg(long, env = "FASTFLIGHT_TOKEN_FILE", conflicts_with = "user")]
    pub(super) token_file: Option<PathBuf>,
    /// Hosts besides the location's that may receive this client's token (comma-separated): the servers a partitioned result's parts are read at. A name stands for every address it resolves to.
    #[arg(long, env = "FASTFLIGHT_TRUST_HOSTS", value_delimiter = ',')]
    pub(super) trust_host: Vec<String>,
    /// Seconds another location of a partitioned result may take to connect and answer pings before its fallback is read.
    #[arg(long, env = "FASTFLIGHT_OPEN_TIMEOUT", default_value = "4", value_parser = seconds)]
    pub(super) open_timeout: Duration,
}

impl CredentialArgs {
    /// A client of `location` with these credentials and TLS.
    pub(super) async fn connect(&self, location: &str) -> Result<crate::Client> {
        let mut builder = crate::Client::builder(location)
            .resilience(crate::resilience::Resilience::preset(
                &self.resilience_preset,
            )?)
            .connections(self.connections.into())
            .trust_hosts(self.trust_host.iter().cloned())
            .open_timeout(self.open_timeout.max(Duration::from_millis(100)));
        if self.tls_ca.is_some() || self.client_cert.is_some() {
            let mut tls = crate::tls::ClientTls::new();
            if let Some(ca) = &self.tls_ca {
                tls = tls.ca_file(ca)?;
            }
            if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
                tls = tls.identity_files(cert, key)?;
            }
            builder = builder.tls(tls);
        }
        if let Some(token) = &self.token {
            warn_secret_argument("--token", "FASTFLIGHT_TOKEN or --token-file");
            builder = builder.bearer(token);
        }
        if let Some(path) = &self.token_file {
            builder = builder.bearer(&secret_file(path, "the token file")?);
        }
        if let Some(user) = &self.user {
            builder = builder.basic(user, &password_of(user)?);
        }
        builder.connect().await
    }
}

/// Warns when a secret was given as `flag` on the command line, where every user of the
/// machine reads it (`/proc/PID/cmdline`, `ps`), naming what to use `instead`.
///
/// ```no_run
/// fastflight::cli::warn_secret_argument("--postgres-url", "FASTFLIGHT_POSTGRES_URL or --postgres-url-file");
/// ```
pub fn warn_secret_argument(flag: &str, instead: &str) {
    let given = std::env::args_os().any(|arg| {
        arg.to_str()
            .is_some_and(|a| a == flag || a.starts_with(&format!("{flag}=")))
    });
    if given {
        tracing::warn!(
            "{flag} was given on the command line, where other users of this machine can read it: use {instead} instead"
        );
    }
}

/// The first line of a file holding a secret (a token, a URL with a password), trimmed;
/// an empty file is an error naming `what`.
///
/// ```no_run
/// let url = fastflight::cli::secret_file("/run/secrets/pg-url".as_ref(), "the PostgreSQL URL file")?;
/// # Ok::<(), fastflight::Error>(())
/// ```
pub fn secret_file(path: &std::path::Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::Config(format!("cannot read {what} {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return Err(crate::Error::Config(format!(
            "{what} {} is empty",
            path.display()
        )));
    }
    Ok(line.to_owned())
}

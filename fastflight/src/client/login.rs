//! Logging in: credentials traded for a token with the origin's Handshake (as pyarrow's
//! `authenticate_basic_token` does), the token renewed there shortly before it expires,
//! and the token a client may carry to the other locations it trusts.

use std::sync::Arc;

use arrow_flight::flight_service_client::FlightServiceClient;
use tonic::transport::Channel;

use super::Client;
use crate::wire::{Credentials, AUTHORIZATION};
use crate::{Error, Result};

/// Credentials traded for a token with the origin's Handshake, and the token, renewed
/// there shortly before it expires. Clones of a client share it, and so do the clients
/// of the other locations it trusts: they send the token, never what it was traded for.
pub(super) struct Login {
    /// What the Handshake presents: the user and password, or a bearer token given to
    /// the client. Sent to the origin alone.
    presents: Credentials,
    /// The origin's connection, where the Handshake is made.
    origin: FlightServiceClient<Channel>,
    /// The token and when it expires (seconds since 1970; `u64::MAX` when unknown).
    token: std::sync::RwLock<(String, u64)>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Login(..)")
    }
}

impl Login {
    /// Trades `presents` for a token at `origin`.
    async fn new(origin: &FlightServiceClient<Channel>, presents: Credentials) -> Result<Self> {
        let token = handshake(origin, &presents).await?;
        Ok(Self {
            presents,
            origin: origin.clone(),
            token: std::sync::RwLock::new(token),
        })
    }

    /// The token now.
    pub(super) fn token(&self) -> String {
        self.token.read().map(|t| t.0.clone()).unwrap_or_default()
    }

    /// Renews the token at the origin when it expires within half a minute.
    async fn fresh(&self) -> Result<()> {
        let expires = self.token.read().map_or(0, |t| t.1);
        if expires > unix_now() + 30 {
            return Ok(());
        }
        let renewed = handshake(&self.origin, &self.presents).await?;
        if let Ok(mut token) = self.token.write() {
            *token = renewed;
        }
        Ok(())
    }
}

impl Client {
    /// Trades `user` and `password` for a token with the server's Handshake (as
    /// pyarrow's `authenticate_basic_token` does), then sends the token with every call;
    /// shortly before it expires, the next call authenticates again. Wrong credentials
    /// fail here with `Unauthenticated`.
    ///
    /// ```no_run
    /// # async fn run() -> fastflight::Result<()> {
    /// let client = fastflight::Client::connect("grpc://127.0.0.1:8815")
    ///     .await?
    ///     .authenticate_basic("ada", "s3cret")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn authenticate_basic(self, user: &str, password: &str) -> Result<Self> {
        let basic = Credentials::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        };
        let login = Arc::new(Login::new(&self.inner, basic).await?);
        Ok(self.reconfigured(|options| {
            // A bearer header given before is replaced by the login's token.
            options.headers.remove(AUTHORIZATION);
            options.login = Some(login);
        }))
    }

    /// Renews the login's token when it expires within half a minute.
    pub(super) async fn fresh(&self) -> Result<()> {
        match &self.options.login {
            Some(login) => login.fresh().await,
            None => Ok(()),
        }
    }

    /// The login whose token goes to other locations: this client's own, or, for a
    /// bearer token given to it, a token the origin's Handshake issued for it (none
    /// when the origin has no Handshake: the location is then read without credentials).
    pub(super) async fn forwarded(&self) -> Result<Option<Arc<Login>>> {
        if let Some(login) = &self.options.login {
            return Ok(Some(Arc::clone(login)));
        }
        let exchanged = self
            .derived
            .exchanged
            .get_or_try_init(|| async {
                let Some(presents) = self
                    .options
                    .headers
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| Credentials::parse(v).ok())
                else {
                    return Ok(None);
                };
                match Login::new(&self.inner, presents).await {
                    Ok(login) => Ok(Some(Arc::new(login))),
                    Err(e) if e.code() == tonic::Code::Unimplemented => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(exchanged.clone())
    }
}

/// The Handshake with `presents`: the token (from the `authorization: Bearer` response
/// header, or the first response message) and when it expires.
async fn handshake(
    client: &FlightServiceClient<Channel>,
    presents: &Credentials,
) -> Result<(String, u64)> {
    let mut request =
        tonic::Request::new(futures::stream::empty::<arrow_flight::HandshakeRequest>());
    request
        .metadata_mut()
        .insert(AUTHORIZATION, secret(presents.clone())?);
    let response = client.clone().handshake(request).await?;
    let from_header = response
        .metadata()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = match from_header {
        Some(token) => token,
        None => {
            let mut messages = response.into_inner();
            let first = messages.message().await?.ok_or_else(|| {
                Error::status(tonic::Code::Unauthenticated, "the Handshake gave no token")
            })?;
            String::from_utf8(first.payload.to_vec()).map_err(|_| {
                Error::status(
                    tonic::Code::Unauthenticated,
                    "the Handshake's token is not text",
                )
            })?
        }
    };
    let expires = token_expiry(&token).unwrap_or(u64::MAX);
    Ok((token, expires))
}

/// Credentials as a header value kept out of debug output.
pub(super) fn secret(
    credentials: Credentials,
) -> Result<tonic::metadata::MetadataValue<tonic::metadata::Ascii>> {
    let mut value: tonic::metadata::MetadataValue<tonic::metadata::Ascii> = credentials
        .header_value()
        .parse()
        .map_err(|_| Error::Config("credentials must be printable ASCII".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// The `exp` claim of a JSON Web Token, read without checking it (the server does).
fn token_expiry(token: &str) -> Option<u64> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&json).ok()?["exp"].as_u64()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

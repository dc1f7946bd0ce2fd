//! What every call of a client carries: its headers, its deadline, the compression it
//! asks for and its login's token, in one [`CallOptions`] value; and the methods that
//! make a clone with other options (each through [`Client::reconfigured`], so a clone
//! never shares the clients of other locations made for other credentials).

use std::sync::Arc;
use std::time::Duration;

use super::login::{secret, Login};
use super::Client;
use crate::wire::{Compression, Credentials, AUTHORIZATION, COMPRESSION_HEADER};
use crate::{Error, Result};

/// What every call of a client carries.
#[derive(Clone, Debug, Default)]
pub(super) struct CallOptions {
    /// Headers sent with every call: the user's, and an `authorization` of a bearer
    /// token given to the client.
    pub(super) headers: tonic::metadata::MetadataMap,
    /// Every call's deadline.
    pub(super) timeout: Option<Duration>,
    /// The compression asked for.
    pub(super) compression: Option<Compression>,
    /// Credentials traded for a token, whose token goes with every call.
    pub(super) login: Option<Arc<Login>>,
}

impl CallOptions {
    /// A request with these headers, token, deadline and compression.
    pub(super) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        for entry in self.headers.iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(key, value) = entry {
                request.metadata_mut().insert(key.clone(), value.clone());
            }
        }
        if let Some(login) = &self.login {
            if let Ok(bearer) = secret(Credentials::Bearer(login.token())) {
                request.metadata_mut().insert(AUTHORIZATION, bearer);
            }
        }
        if let Some(compression) = self.compression {
            request.metadata_mut().insert(
                COMPRESSION_HEADER,
                tonic::metadata::MetadataValue::from_static(compression.header_value()),
            );
        }
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        request
    }

    /// Whether they carry credentials: a login, or any header given to the client (an
    /// `authorization`, or an API key or cookie of one's own: all are kept from
    /// locations it does not trust).
    pub(super) fn has_credentials(&self) -> bool {
        self.login.is_some() || !self.headers.is_empty()
    }

    /// The same options for a client of another location: its headers but the
    /// `authorization`, its deadline and compression, and `login` (the token it may
    /// carry there, if any).
    pub(super) fn elsewhere(&self, login: Option<Arc<Login>>) -> Self {
        let mut headers = self.headers.clone();
        headers.remove(AUTHORIZATION);
        Self {
            headers,
            timeout: self.timeout,
            compression: self.compression,
            login,
        }
    }
}

impl Client {
    /// Sends `authorization: Bearer <token>` with every call: a static token of a
    /// service account, or one from a Handshake made elsewhere. It replaces the
    /// credentials of an earlier [`Client::authenticate_basic`] on this clone.
    pub fn with_bearer(self, token: &str) -> Result<Self> {
        let value = secret(Credentials::Bearer(token.to_owned()))?;
        Ok(self.reconfigured(|options| {
            options.headers.insert(AUTHORIZATION, value);
            options.login = None;
        }))
    }

    /// Sends a header (gRPC metadata, which services read from their `Context`) with
    /// every call of this client. For one call, use a clone: clones are cheap.
    ///
    /// ```no_run
    /// # async fn run(client: fastflight::Client) -> fastflight::Result<()> {
    /// let tenant = client.clone().with_header("x-tenant", "acme")?;
    /// # Ok(()) }
    /// ```
    pub fn with_header(self, name: &str, value: &str) -> Result<Self> {
        let key = tonic::metadata::MetadataKey::from_bytes(name.as_bytes())
            .map_err(|e| Error::Config(format!("bad header name `{name}`: {e}")))?;
        let value = value
            .parse()
            .map_err(|e| Error::Config(format!("bad value for header `{name}`: {e}")))?;
        Ok(self.reconfigured(|options| {
            options.headers.insert(key, value);
        }))
    }

    /// Gives every call of this client a deadline: the server is told (`grpc-timeout`)
    /// and the call fails with `DeadlineExceeded` when it has not answered in time.
    /// For one call, use a clone.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.reconfigured(|options| options.timeout = Some(timeout))
    }

    /// Asks the server to compress the record batches of every fetch.
    ///
    /// ```no_run
    /// # async fn run() -> fastflight::Result<()> {
    /// use fastflight::client::Compression;
    /// let client = fastflight::Client::connect("grpc://127.0.0.1:8815").await?.with_compression(Compression::Lz4);
    /// # Ok(()) }
    /// ```
    pub fn with_compression(self, compression: Compression) -> Self {
        self.reconfigured(|options| options.compression = Some(compression))
    }
}

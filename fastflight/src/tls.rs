//! TLS on both ends (rustls with the `ring` provider; no OpenSSL): the server's
//! certificate and key, and the CA of the client certificates it accepts ([`ServerTls`]);
//! the CA a client trusts, and its own certificate ([`ClientTls`]). Locations with TLS
//! are written `grpc+tls://host:port`.
//!
//! ```no_run
//! use fastflight::tls::{ClientTls, ServerTls};
//! # async fn run() -> fastflight::Result<()> {
//! let tls = ServerTls::from_files("server.pem", "server.key")?;
//! tokio::spawn(fastflight::Server::builder().location("grpc+tls://127.0.0.1:8815").tls(tls).serve());
//! let client = fastflight::Client::builder("grpc+tls://127.0.0.1:8815")
//!     .tls(ClientTls::new().ca_file("ca.pem")?)
//!     .connect()
//!     .await?;
//! # Ok(()) }
//! ```

use std::path::Path;
use std::time::Duration;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
#[cfg(feature = "server")]
use tokio_rustls::rustls::pki_types::PrivateKeyDer;

use crate::{Error, Result};

/// How long a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's side of TLS: its certificate chain and key (PEM), and optionally the CA
/// of client certificates. A client certificate of that CA names its caller (see
/// [`crate::auth`]); whether a client must present one is [`ClientAuth`]: by default
/// required when nothing else (a users or tokens file) authenticates callers, optional
/// otherwise, so clients with credentials keep working without a certificate.
#[cfg(feature = "server")]
#[derive(Clone)]
pub struct ServerTls {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
    client_auth: Option<ClientAuth>,
}

/// Whether a client must present a certificate of the client CA.
#[cfg(feature = "server")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// A client without a certificate of the CA is refused in the TLS handshake.
    Required,
    /// A client may present one (it must then chain to the CA) or none, and then
    /// authenticate with credentials.
    Optional,
}

#[cfg(feature = "server")]
impl std::str::FromStr for ClientAuth {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "required" => Ok(ClientAuth::Required),
            "optional" => Ok(ClientAuth::Optional),
            other => Err(format!(
                "`{other}`: client certificates are `required` or `optional`"
            )),
        }
    }
}

#[cfg(feature = "server")]
impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("client_ca", &self.client_ca.is_some())
            .field("client_auth", &self.client_auth)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "server")]
impl ServerTls {
    /// A certificate chain and its private key, in PEM; checked here.
    pub fn from_pem(cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Result<Self> {
        let (cert, key) = (cert.into(), key.into());
        certificates(&cert, "the server certificate")?;
        PrivateKeyDer::from_pem_slice(&key)
            .map_err(|e| Error::Config(format!("the server key holds no private key: {e}")))?;
        Ok(Self {
            cert,
            key,
            client_ca: None,
            client_auth: None,
        })
    }

    /// The certificate chain and key read from PEM files.
    pub fn from_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self> {
        Self::from_pem(read(cert.as_ref())?, read(key.as_ref())?)
    }

    /// Accepts client certificates signed by this CA (PEM).
    pub fn client_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Result<Self> {
        let pem = pem.into();
        certificates(&pem, "the client CA")?;
        self.client_ca = Some(pem);
        Ok(self)
    }

    /// Accepts client certificates signed by the CA of this PEM file.
    pub fn client_ca_file(self, path: impl AsRef<Path>) -> Result<Self> {
        let pem = read(path.as_ref())?;
        self.client_ca_pem(pem)
    }

    /// Whether a client must present a certificate: [`ClientAuth::Required`], or
    /// [`ClientAuth::Optional`]; by default decided by the server (required unless other
    /// credentials are configured).
    pub fn client_auth(mut self, mode: ClientAuth) -> Self {
        self.client_auth = Some(mode);
        self
    }

    /// Whether client certificates are taken (a client CA is given).
    pub(crate) fn has_client_ca(&self) -> bool {
        self.client_ca.is_some()
    }

    /// Whether a client must present a certificate, given whether other credentials
    /// authenticate callers.
    pub(crate) fn requires_certificates(&self, other_credentials: bool) -> bool {
        self.client_ca.is_some()
            && match self.client_auth {
                Some(mode) => mode == ClientAuth::Required,
                None => !other_credentials,
            }
    }

    /// The Flight server's TLS (HTTP/2).
    pub(crate) fn tonic(&self, required: bool) -> tonic::transport::ServerTlsConfig {
        install_provider();
        let mut config = tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(&self.cert, &self.key))
            .timeout(HANDSHAKE_TIMEOUT);
        if let Some(ca) = &self.client_ca {
            config = config
                .client_ca_root(tonic::transport::Certificate::from_pem(ca))
                .client_auth_optional(!required);
        }
        config
    }

    /// The gateway's TLS (HTTP/1.1).
    #[cfg(feature = "rest")]
    pub(crate) fn acceptor(&self, required: bool) -> Result<tokio_rustls::TlsAcceptor> {
        use std::sync::Arc;
        use tokio_rustls::rustls::server::WebPkiClientVerifier;
        use tokio_rustls::rustls::{RootCertStore, ServerConfig};
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let bad = |e: &dyn std::fmt::Display| Error::Config(format!("TLS: {e}"));
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&e))?;
        let builder = match &self.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca, "the client CA")? {
                    roots.add(cert).map_err(|e| bad(&e))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if required {
                    verifier
                } else {
                    verifier.allow_unauthenticated()
                };
                let verifier = verifier.build().map_err(|e| bad(&e))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let key = PrivateKeyDer::from_pem_slice(&self.key).map_err(|e| bad(&e))?;
        let mut config = builder
            .with_single_cert(certificates(&self.cert, "the server certificate")?, key)
            .map_err(|e| bad(&e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

/// What a client trusts (a CA, PEM; without one, the usual public roots) and proves
/// (its own certificate and key, for servers that ask for client certificates).
#[derive(Clone, Default)]
pub struct ClientTls {
    ca: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    domain: Option<String>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca", &self.ca.is_some())
            .field("identity", &self.identity.is_some())
            .field("domain", &self.domain)
            .finish()
    }
}

impl ClientTls {
    /// Trust the usual public roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trust the CA of this PEM instead.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Result<Self> {
        let pem = pem.into();
        certificates(&pem, "the CA")?;
        self.ca = Some(pem);
        Ok(self)
    }

    /// Trust the CA of this PEM file instead.
    pub fn ca_file(self, path: impl AsRef<Path>) -> Result<Self> {
        let pem = read(path.as_ref())?;
        self.ca_pem(pem)
    }

    /// Present this certificate chain and key (PEM) to servers that ask for one.
    pub fn identity_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.identity = Some((cert.into(), key.into()));
        self
    }

    /// Present the certificate chain and key of these PEM files to servers that ask for
    /// one.
    pub fn identity_files(self, cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self> {
        let cert = read(cert.as_ref())?;
        certificates(&cert, "the client certificate")?;
        let key = read(key.as_ref())?;
        Ok(self.identity_pem(cert, key))
    }

    /// Check the server's certificate against this name instead of the location's host.
    pub fn domain(mut self, name: impl Into<String>) -> Self {
        self.domain = Some(name.into());
        self
    }

    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn tonic(&self) -> tonic::transport::ClientTlsConfig {
        install_provider();
        let mut config = tonic::transport::ClientTlsConfig::new().timeout(HANDSHAKE_TIMEOUT);
        config = match &self.ca {
            Some(ca) => config.ca_certificate(tonic::transport::Certificate::from_pem(ca)),
            None => config.with_webpki_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(tonic::transport::Identity::from_pem(cert, key));
        }
        if let Some(domain) = &self.domain {
            config = config.domain_name(domain.clone());
        }
        config
    }
}

/// Makes `ring` the process's rustls provider, once (rustls panics when it cannot tell
/// which provider to use).
#[cfg_attr(not(any(feature = "client", feature = "server")), allow(dead_code))]
pub(crate) fn install_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    });
}

/// The certificates of a PEM text; none is an error naming `what`.
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Config(format!("{what} is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Config(format!("{what} holds no certificate")));
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
}

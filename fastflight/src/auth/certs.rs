//! Client certificates as credentials: a certificate the server's TLS verified against
//! its client CA names its caller, by the subject's common name (CN), or without one
//! its first DNS name or e-mail address among the subject alternative names. With a
//! users file, the name must be a user of it, and gets that user's roles (a line
//! `name:! role ...` makes a user who logs in only with a certificate); without one, it
//! is an identity with no roles.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio_rustls::rustls::pki_types::CertificateDer;

use super::{Authenticator, Credentials, Identity, Lookup};
use crate::Result;

/// The certificate chain a client presented over TLS, verified in the handshake (the
/// leaf first); a request extension.
#[derive(Debug, Clone)]
pub(crate) struct ClientCertificates(pub(crate) Arc<Vec<CertificateDer<'static>>>);

/// The kind of the identities of certificates without a users file.
pub(crate) const KIND: &str = "certificates";

/// The longest name taken from a certificate.
const MAX_NAME: usize = 256;

impl ClientCertificates {
    /// The caller's name: the leaf's common name, else its first DNS name or e-mail
    /// subject alternative name; `None` when it has none, or not as text.
    pub(crate) fn name(&self) -> Option<String> {
        let leaf = self.0.first()?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
        let common = cert
            .subject()
            .iter_common_name()
            .find_map(|cn| cn.as_str().ok())
            .map(str::to_owned);
        let alternative = || {
            let names = cert.subject_alternative_name().ok()??;
            names
                .value
                .general_names
                .iter()
                .find_map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(n)
                    | x509_parser::extensions::GeneralName::RFC822Name(n) => Some((*n).to_owned()),
                    _ => None,
                })
        };
        common
            .or_else(alternative)
            .filter(|n| !n.is_empty() && n.len() <= MAX_NAME && !n.chars().any(char::is_control))
    }
}

/// The authenticator that stands for certificate identities without a users file: it
/// checks no header credentials, and cannot look names up (a certificate is presented
/// again on every connection anyway).
pub(crate) struct CertificateNames;

impl Authenticator for CertificateNames {
    fn authenticate<'a>(
        &'a self,
        _credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Option<Identity>>> {
        Box::pin(async { Ok(None) })
    }

    fn kind(&self) -> &str {
        KIND
    }

    fn lookup(&self, _name: &str) -> Lookup {
        Lookup::Unsupported
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(params: rcgen::CertificateParams) -> ClientCertificates {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        ClientCertificates(Arc::new(vec![cert.der().clone()]))
    }

    #[test]
    fn the_name_is_the_common_name_else_a_dns_or_email_name() {
        let mut with_cn = rcgen::CertificateParams::new(vec!["other.example".into()]).unwrap();
        with_cn
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ada");
        assert_eq!(chain(with_cn).name().as_deref(), Some("ada"));
        let mut email_only = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        email_only.distinguished_name = rcgen::DistinguishedName::new();
        email_only.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
            "grace@example.com".try_into().unwrap(),
        )];
        assert_eq!(
            chain(email_only).name().as_deref(),
            Some("grace@example.com")
        );
        let mut nameless = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        nameless.distinguished_name = rcgen::DistinguishedName::new();
        assert_eq!(chain(nameless).name(), None);
        assert_eq!(ClientCertificates(Arc::new(Vec::new())).name(), None);
        let junk = ClientCertificates(Arc::new(vec![CertificateDer::from(vec![
            0x30, 0x03, 1, 2, 3,
        ])]));
        assert_eq!(junk.name(), None);
    }
}

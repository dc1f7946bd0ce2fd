//! The TLS and token of the secured fastflight system: a CA and a server certificate
//! made for the run (rcgen), and a static bearer token, as files in a folder named by
//! `FASTFLIGHT_BENCH_SECURE` for the server and client processes.

use std::path::PathBuf;

/// The bearer token of the run's service account.
pub const TOKEN: &str = "bench-token-0123456789abcdef";

/// The folder of the run's TLS and token files.
pub struct Files(PathBuf);

const VAR: &str = "FASTFLIGHT_BENCH_SECURE";

impl Files {
    /// Makes the CA, the server certificate (localhost, 127.0.0.1) and the tokens file.
    pub fn create() -> Result<Self, String> {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let bad = |e: rcgen::Error| e.to_string();
        let folder =
            std::env::temp_dir().join(format!("fastflight-bench-secure-{}", std::process::id()));
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(bad)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().map_err(bad)?;
        let ca_pem = ca.self_signed(&ca_key).map_err(bad)?.pem();
        let issuer = Issuer::new(ca, ca_key);
        let server =
            CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).map_err(bad)?;
        let key = KeyPair::generate().map_err(bad)?;
        let cert = server.signed_by(&key, &issuer).map_err(bad)?.pem();
        let write = |name: &str, text: &str| {
            std::fs::write(folder.join(name), text).map_err(|e| e.to_string())
        };
        write("ca.pem", &ca_pem)?;
        write("server.pem", &cert)?;
        write("server.key", &key.serialize_pem())?;
        write("tokens.txt", &format!("{TOKEN} bench\n"))?;
        Ok(Self(folder))
    }

    /// The files named by the environment of a server or client process.
    pub fn from_env() -> Result<Self, String> {
        std::env::var_os(VAR)
            .map(|v| Self(PathBuf::from(v)))
            .ok_or_else(|| format!("{VAR} is not set"))
    }

    /// The variable and value that pass the folder to a child process.
    pub fn env(&self) -> (&'static str, &std::path::Path) {
        (VAR, &self.0)
    }

    /// A server builder with the certificate and the token.
    pub fn server(
        &self,
        builder: fastflight::ServerBuilder,
    ) -> Result<fastflight::ServerBuilder, String> {
        let tls = fastflight::tls::ServerTls::from_files(
            self.0.join("server.pem"),
            self.0.join("server.key"),
        )
        .map_err(|e| e.to_string())?;
        let tokens = fastflight::auth::TokensFile::load(self.0.join("tokens.txt"))
            .map_err(|e| e.to_string())?;
        Ok(builder
            .location("grpc+tls://127.0.0.1:0")
            .tls(tls)
            .authenticator(tokens))
    }

    /// The client's trust in the run's CA.
    pub fn client_tls(&self) -> Result<fastflight::tls::ClientTls, String> {
        fastflight::tls::ClientTls::new()
            .ca_file(self.0.join("ca.pem"))
            .map_err(|e| e.to_string())
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        if std::env::var_os(VAR).is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

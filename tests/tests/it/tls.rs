//! TLS on the Flight server and the gateway, with certificates made here (rcgen): a
//! trusted CA, a server certificate for localhost and 127.0.0.1, client certificates of
//! the CA and of a stranger. Plain and TLS peers that meet fail at once, never hang.

use crate::support::BoundedOutput;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastflight::tls::{ClientTls, ServerTls};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::services::Pairs;
use crate::support::serve_tests as serve;

/// PEM texts of a CA and a server certificate it signed; it signs client certificates.
pub struct Certs {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate of `issuer` for `sans` and the common name `cn`, and its key (PEM).
fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    sans: Vec<String>,
    cn: &str,
    purpose: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![purpose];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    (
        params.signed_by(&key, issuer).unwrap().pem(),
        key.serialize_pem(),
    )
}

impl Certs {
    /// A fresh CA and what it signs; `name` goes in the CA's common name.
    pub fn new(name: &str) -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().unwrap();
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);
        let (server_cert, server_key) = leaf(
            &issuer,
            vec!["localhost".into(), "127.0.0.1".into()],
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        Certs {
            ca: ca_pem,
            server_cert,
            server_key,
            issuer,
        }
    }

    /// A client certificate of this CA with the common name `cn`: trusting the CA,
    /// presenting it.
    pub fn client(&self, cn: &str) -> ClientTls {
        let (cert, key) = leaf(
            &self.issuer,
            vec![],
            cn,
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        self.trust().identity_pem(cert, key)
    }

    pub fn server(&self) -> ServerTls {
        ServerTls::from_pem(self.server_cert.clone(), self.server_key.clone()).unwrap()
    }

    pub fn trust(&self) -> ClientTls {
        ClientTls::new().ca_pem(self.ca.clone()).unwrap()
    }

    /// Writes the PEM files to a folder: ca.pem, server.pem, server.key.
    pub fn write(&self, folder: &std::path::Path) {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::write(folder.join("ca.pem"), &self.ca).unwrap();
        std::fs::write(folder.join("server.pem"), &self.server_cert).unwrap();
        std::fs::write(folder.join("server.key"), &self.server_key).unwrap();
    }
}

/// Connects and fetches three pairs; the error, if any, and how long it took.
async fn three_pairs(
    builder: fastflight::client::ClientBuilder,
) -> (fastflight::Result<usize>, Duration) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        let client = builder.connect().await?;
        Ok(client
            .fetch(Pairs { rows: 3 })
            .await?
            .concat()
            .await?
            .num_rows())
    })
    .await
    .expect("a TLS mismatch hung for 20 s");
    (outcome, started.elapsed())
}

#[tokio::test]
async fn the_flight_server_speaks_tls_and_mismatched_peers_fail_at_once() {
    let certs = Certs::new("fastflight test CA");
    let (location, _, _) =
        serve(|b| b.location("grpc+tls://127.0.0.1:0").tls(certs.server())).await;
    assert!(location.starts_with("grpc+tls://"), "{location}");
    let (rows, _) = three_pairs(fastflight::Client::builder(&location).tls(certs.trust())).await;
    assert_eq!(rows.unwrap(), 3);
    // The blocking client, with the same options.
    let builder = fastflight::Client::builder(&location).tls(certs.trust());
    let rows = tokio::task::spawn_blocking(move || {
        fastflight::blocking::Client::connect_with(builder)
            .unwrap()
            .fetch(Pairs { rows: 2 })
            .unwrap()
            .concat()
            .unwrap()
            .num_rows()
    })
    .await
    .unwrap();
    assert_eq!(rows, 2);
    // By name, as the certificate says.
    let named = location.replace("127.0.0.1", "localhost");
    let (rows, _) = three_pairs(fastflight::Client::builder(&named).tls(certs.trust())).await;
    assert_eq!(rows.unwrap(), 3);
    // A plain client, a client that trusts another CA, a client of the public roots.
    let plain = location.replace("grpc+tls://", "grpc://");
    for (who, builder) in [
        ("plain", fastflight::Client::builder(&plain)),
        (
            "another CA",
            fastflight::Client::builder(&location).tls(Certs::new("stranger").trust()),
        ),
        ("public roots", fastflight::Client::builder(&location)),
    ] {
        let (outcome, took) = three_pairs(builder).await;
        let e = outcome.expect_err(who);
        assert!(
            took < Duration::from_secs(10),
            "{who}: failed only after {took:?}"
        );
        assert!(!e.to_string().is_empty(), "{who}");
    }
    // A TLS client against a plain server.
    let (plain_server, _, _) = serve(|b| b).await;
    let tls_to_plain = plain_server.replace("grpc://", "grpc+tls://");
    let (outcome, took) =
        three_pairs(fastflight::Client::builder(&tls_to_plain).tls(certs.trust())).await;
    assert!(
        outcome.is_err() && took < Duration::from_secs(10),
        "{took:?}"
    );
    // TLS options on a plain location are refused before connecting.
    let e = fastflight::Client::builder(&plain)
        .tls(certs.trust())
        .connect()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("grpc+tls://"), "{e}");
    // A grpc+tls:// location without a certificate does not start.
    let e = fastflight::Server::builder()
        .location("grpc+tls://127.0.0.1:0")
        .bind()
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("--tls-cert"), "{e}");
    // A certificate file that is not one is refused by name.
    let e = ServerTls::from_pem("not a certificate", certs.server_key.clone()).unwrap_err();
    assert!(e.to_string().contains("server certificate"), "{e}");
}

/// The name a server of `auth::Hello` gives the caller of a client built with `tls`.
async fn hello_as(location: &str, tls: ClientTls) -> fastflight::Result<String> {
    use fastflight::arrow::array::AsArray;
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        let client = fastflight::Client::builder(location)
            .tls(tls)
            .connect()
            .await?;
        let batch = client.fetch(crate::auth::Hello {}).await?.concat().await?;
        Ok(batch.column(0).as_string::<i32>().value(0).to_owned())
    })
    .await
    .expect("a TLS call hung for 20 s");
    outcome
}

/// A bound server of `auth::Hello` over TLS with the CA's client certificates, and
/// `users`; its TLS.
async fn certified_server(
    certs: &Certs,
    users: Option<&str>,
) -> (fastflight::BoundServer, ServerTls) {
    let tls = certs.server().client_ca_pem(certs.ca.clone()).unwrap();
    let mut builder = fastflight::Server::builder()
        .location("grpc+tls://127.0.0.1:0")
        .registry(fastflight::Registry::global().unwrap().under("it::auth"))
        .tls(tls.clone());
    if let Some(users) = users {
        // Read here: removed after.
        let path = crate::support::scratch_file("tls-users", users);
        builder = builder.authenticator(fastflight::auth::UsersFile::load(&path).unwrap());
    }
    (builder.bind().await.unwrap(), tls)
}

/// [`certified_server`], serving: its location.
async fn certified(certs: &Certs, users: Option<&str>) -> String {
    let (server, _) = certified_server(certs, users).await;
    let location = server.location();
    tokio::spawn(server.serve());
    location
}

/// Client certificates name their callers. A client CA alone: a certificate is
/// required (no certificate, no TLS session) and its common name is the caller. With a
/// users file: certificates are optional (a client without one logs in), and a
/// certificate's name must be a user of the file, whose roles it gets. A certificate of
/// another CA is refused in the handshake either way.
#[tokio::test]
async fn client_certificates_name_their_callers_and_are_required_without_other_credentials() {
    let certs = Certs::new("fastflight test CA");
    let stranger = Certs::new("stranger");

    let location = certified(&certs, None).await;
    assert_eq!(
        hello_as(&location, certs.client("ada")).await.unwrap(),
        "ada",
        "the certificate's common name is the caller"
    );
    let e = hello_as(&location, certs.trust()).await.unwrap_err();
    assert_ne!(e.code(), tonic::Code::Ok);
    assert!(
        e.code() == tonic::Code::Unavailable,
        "no certificate: refused in the handshake, not served: {e}"
    );
    assert!(hello_as(&location, stranger.client("ada")).await.is_err());

    let hash = fastflight::auth::hash_password("lovelace").unwrap();
    let location = certified(
        &certs,
        Some(&format!("ada:{hash} analyst\ncert-only:! analyst\n")),
    )
    .await;
    assert_eq!(
        hello_as(&location, certs.client("cert-only"))
            .await
            .unwrap(),
        "cert-only"
    );
    // Not a user of the file: refused by name, though the CA signed it.
    let e = hello_as(&location, certs.client("mallory"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e}");
    assert!(
        e.to_string().contains("`mallory`, who is not a user"),
        "{e}"
    );
    // Without a certificate: the password opens it (and `!` opens nothing).
    let client = fastflight::Client::builder(&location)
        .tls(certs.trust())
        .basic("ada", "lovelace")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        crate::support::rows_of(client.fetch(crate::auth::Hello {}).await).await,
        1
    );
    let e = fastflight::Client::builder(&location)
        .tls(certs.trust())
        .basic("cert-only", "!")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e}");
    // The certificate's user has the file's roles: the analysts' service opens.
    let client = fastflight::Client::builder(&location)
        .tls(certs.client("cert-only"))
        .connect()
        .await
        .unwrap();
    assert_eq!(
        crate::support::rows_of(client.fetch(crate::auth::Secret { rows: 2 }).await).await,
        2
    );
    assert!(hello_as(&location, stranger.client("ada")).await.is_err());
}

/// A TLS client of the gateway: one HTTP/1.1 request, the status and the body.
pub async fn https(url: &str, method: &str, body: &str, ca: &str) -> Result<(u16, String), String> {
    https_as(url, method, body, ca, None).await
}

/// [`https`], presenting a client certificate and key (PEM) when given.
pub async fn https_as(
    url: &str,
    method: &str,
    body: &str,
    ca: &str,
    identity: Option<(&str, &str)>,
) -> Result<(u16, String), String> {
    use http_body_util::BodyExt;
    use rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rest = url.trim_start_matches("https://");
    let (addr, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => config
            .with_client_auth_cert(
                rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => config.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("/{path}"))
        .header("host", "localhost")
        .header("accept", "text/csv")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[tokio::test]
async fn the_gateway_speaks_https() {
    let certs = Certs::new("fastflight test CA");
    let server = crate::support::test_services(Arc::default())
        .bind()
        .await
        .unwrap();
    let gateway = fastflight::rest::Gateway::new(fastflight::rest::Source::local(&server))
        .tls(certs.server())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = gateway.url();
    assert!(url.starts_with("https://"), "{url}");
    tokio::spawn(gateway.serve());
    tokio::spawn(server.serve());
    let (status, body) = https(
        &format!("{url}/stream"),
        "POST",
        r#"{"param_type": "tests.Pairs", "rows": 4}"#,
        &certs.ca,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().count(), 5, "{body}");
    // Plain HTTP to the HTTPS port gets no answer but a closed connection, at once.
    let plain = url.replace("https://", "http://");
    let started = Instant::now();
    let answer = reqwest::Client::new()
        .get(format!("{plain}/services"))
        .timeout(Duration::from_secs(20))
        .send()
        .await;
    assert!(answer.is_err(), "plain HTTP was answered: {answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    // A client that does not trust the CA is refused in the handshake.
    let e = https(
        &format!("{url}/services"),
        "GET",
        "",
        &Certs::new("stranger").ca,
    )
    .await
    .unwrap_err();
    assert!(
        e.to_lowercase().contains("certificate") || e.contains("issuer"),
        "{e}"
    );
}

/// The command line over TLS: `start-all --tls-cert --tls-key` prints grpc+tls:// and
/// https:// addresses; `call --tls-ca` trusts the test CA, and without it the call fails
/// naming the certificate.
#[test]
fn the_command_line_serves_and_calls_over_tls() {
    let scratch = crate::support::scratch_dir("cli-tls");
    let folder = scratch.path();
    let certs = Certs::new("cli CA");
    certs.write(folder);
    let path = |name: &str| folder.join(name).to_str().unwrap().to_owned();
    let server = crate::support::DemoProcess::start_all(
        &[
            "--tls-cert",
            &path("server.pem"),
            "--tls-key",
            &path("server.key"),
        ],
        &[],
    );
    assert!(
        server.location.starts_with("grpc+tls://"),
        "{}",
        server.location
    );
    assert!(server.gateway.clone().unwrap().starts_with("https://"));
    let request = r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 12}"#;
    let call = |extra: &[&str]| {
        let mut args = vec![
            "call",
            "--location",
            &server.location,
            request,
            "--format",
            "csv",
        ];
        args.extend_from_slice(extra);
        std::process::Command::new(crate::support::demo_binary())
            .args(&args)
            .bounded_output()
            .unwrap()
    };
    let out = call(&["--tls-ca", &path("ca.pem")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 13);
    let out = call(&[]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        e.contains("certificate") || e.contains("issuer") || e.contains("tls"),
        "{e}"
    );
    // A certificate without its key does not start.
    let lone = std::process::Command::new(crate::support::demo_binary())
        .args([
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
            "--tls-cert",
            &path("server.pem"),
        ])
        .bounded_output()
        .unwrap();
    assert!(!lone.status.success());
    assert!(
        String::from_utf8_lossy(&lone.stderr).contains("--tls-key"),
        "{}",
        String::from_utf8_lossy(&lone.stderr)
    );
}

/// Client certificates on the command line: with `--tls-client-ca` alone, `call` without
/// a certificate is refused in the handshake and with one (`--client-cert`) is served;
/// `--tls-client-auth optional` with a users file lets a password in without one.
#[test]
fn the_command_line_takes_client_certificates() {
    let scratch = crate::support::scratch_dir("cli-mtls");
    let folder = scratch.path();
    let certs = Certs::new("cli mTLS CA");
    certs.write(folder);
    let (cert, key) = leaf(
        &certs.issuer,
        vec![],
        "ada",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    std::fs::write(folder.join("ada.pem"), cert).unwrap();
    std::fs::write(folder.join("ada.key"), key).unwrap();
    std::fs::write(folder.join("users.txt"), "ada:lovelace\n").unwrap();
    let path = |name: &str| folder.join(name).to_str().unwrap().to_owned();
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "start-flight-server",
            "--flight-location",
            "grpc+tls://127.0.0.1:0",
        ];
        let files = [
            "--tls-cert".to_owned(),
            path("server.pem"),
            "--tls-key".to_owned(),
            path("server.key"),
            "--tls-client-ca".to_owned(),
            path("ca.pem"),
        ];
        args.extend(files.iter().map(String::as_str));
        args.extend_from_slice(extra);
        crate::support::DemoProcess::spawn(&args, &[])
    };
    let call = |location: &str, extra: &[&str], env: &[(&str, &str)]| {
        std::process::Command::new(crate::support::demo_binary())
            .args(["call", "--location", location, "--tls-ca", &path("ca.pem")])
            .args(["--format", "csv"])
            .args(extra)
            .arg(r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 3}"#)
            .envs(env.iter().copied())
            .bounded_output()
            .unwrap()
    };
    let ada = [
        "--client-cert".to_owned(),
        path("ada.pem"),
        "--client-key".to_owned(),
        path("ada.key"),
    ];
    let ada: Vec<&str> = ada.iter().map(String::as_str).collect();
    // Its rows, or its error.
    let served = |out: std::process::Output| {
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).lines().count() - 1)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    let required = serve(&[]);
    assert!(
        served(call(&required.location, &[], &[])).is_err(),
        "served without a certificate"
    );
    assert_eq!(served(call(&required.location, &ada, &[])), Ok(3));

    let optional = serve(&[
        "--tls-client-auth",
        "optional",
        "--auth-users",
        &path("users.txt"),
    ]);
    let password = [("FASTFLIGHT_PASSWORD", "lovelace")];
    assert_eq!(
        served(call(&optional.location, &["--user", "ada"], &password)),
        Ok(3)
    );
    let e = served(call(&optional.location, &[], &[])).unwrap_err();
    assert!(
        e.contains("needs credentials") && e.contains("client certificate"),
        "{e}"
    );
    assert_eq!(served(call(&optional.location, &ada, &[])), Ok(3));
}

/// The gateway over HTTPS takes client certificates as the Flight port does: required
/// with a client CA alone (no certificate, no TLS session), the certificate's name the
/// caller; with a users file, optional, the name a user of the file.
#[tokio::test]
async fn the_gateway_takes_client_certificates_as_the_flight_port_does() {
    let certs = Certs::new("gateway mTLS CA");
    let (ada_cert, ada_key) = leaf(
        &certs.issuer,
        vec![],
        "ada",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let (eve_cert, eve_key) = leaf(
        &certs.issuer,
        vec![],
        "eve",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let ticket = r#"{"param_type": "auth.Hello"}"#;
    for users in [None, Some("ada:lovelace analyst\n")] {
        let (server, tls) = certified_server(&certs, users).await;
        let gateway = fastflight::rest::Gateway::new(fastflight::rest::Source::local(&server))
            .tls(tls)
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let url = format!("{}/stream", gateway.url());
        tokio::spawn(gateway.serve());
        tokio::spawn(server.serve());
        let (status, body) = https_as(&url, "POST", ticket, &certs.ca, Some((&ada_cert, &ada_key)))
            .await
            .unwrap();
        assert_eq!((status, body.trim()), (200, "who\nada"), "{users:?}");
        let without = https_as(&url, "POST", ticket, &certs.ca, None).await;
        match users {
            // Required: the handshake (or the first request on it) fails.
            None => assert!(without.is_err(), "{without:?}"),
            Some(_) => assert_eq!(without.unwrap().0, 401),
        }
        let eve = https_as(&url, "POST", ticket, &certs.ca, Some((&eve_cert, &eve_key))).await;
        match users {
            None => assert_eq!(eve.unwrap(), (200, "who\neve\n".to_owned())),
            Some(_) => assert_eq!(eve.unwrap().0, 401, "eve is not a user of the file"),
        }
    }
}

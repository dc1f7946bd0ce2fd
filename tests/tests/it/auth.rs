//! Authentication and authorization on every route: the Handshake (as pyarrow's
//! `authenticate_basic_token` makes it), bearer tokens (issued, static, expired),
//! per-service roles and `authorize` functions, and listings cut to what a caller may
//! call, on the Flight routes and the gateway alike.

use std::time::Duration;

use arrow_flight::{Action, Criteria, FlightDescriptor, Ticket};
use fastflight::arrow::array::{ArrayRef, StringArray};
use fastflight::arrow::record_batch::RecordBatch;
use fastflight::auth::{hash_password, TokenSigner, TokensFile, UsersFile};
use fastflight::prelude::*;
use tonic::Code;

use crate::support::raw_client as raw;

/// One row: who called.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "auth.Hello")]
pub struct Hello {}

#[data_service]
async fn hello(_req: Hello, who: Identity) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::iter([Ok(row(who.name()))]).boxed())
}

/// For analysts only, and never more than 100 rows.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "auth.Secret")]
pub struct Secret {
    pub rows: usize,
}

fn at_most_100(who: &Identity, req: &Secret) -> Result<(), String> {
    if req.rows > 100 {
        return Err(format!("{} may read 100 rows at most", who.name()));
    }
    Ok(())
}

fn secret_schema() -> fastflight::arrow::datatypes::SchemaRef {
    row("x").schema()
}

#[data_service(roles = ["analyst"], authorize = at_most_100, schema = secret_schema)]
async fn secret(req: Secret) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::iter((0..req.rows).map(|i| Ok(row(&i.to_string())))).boxed())
}

fn row(text: &str) -> RecordBatch {
    RecordBatch::try_from_iter([(
        "who",
        std::sync::Arc::new(StringArray::from(vec![text])) as ArrayRef,
    )])
    .unwrap()
}

const KEY: &[u8] = b"a shared key of more than thirty-two bytes";
const TOKEN: &str = "etl-0123456789abcdef";

/// A file of its own for each server: files are read again when they change, and the
/// tests' servers run at once.
/// Removed when dropped (once the server read it: it keeps what it read).
fn file(name: &str, text: &str) -> tempfile::TempPath {
    crate::support::scratch_file(&format!("auth-{name}"), text)
}

/// A server of this module's services with users ada (analyst, hashed password) and bob
/// (plain password, no role), the static token of `etl` (analyst), and the shared key.
async fn secured() -> (String, String) {
    secured_with(fastflight::auth::token::DEFAULT_TOKEN_TTL).await
}

/// [`secured`] with tokens valid for `ttl`.
async fn secured_with(ttl: Duration) -> (String, String) {
    let users = file(
        "users",
        &format!(
            "ada:{} analyst\nbob:builder\n",
            hash_password("lovelace").unwrap()
        ),
    );
    let tokens = file("tokens", &format!("{TOKEN} etl analyst\n"));
    let server = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(fastflight::Registry::global().unwrap().under("it::auth"))
        .authenticator(UsersFile::load(users).unwrap())
        .authenticator(TokensFile::load(tokens).unwrap())
        .token_signer(TokenSigner::new(KEY).unwrap().ttl(ttl))
        // The matrix sends many wrong passwords from one address: the throttle has its
        // own tests (`attacks`).
        .login_throttle(fastflight::auth::LoginThrottle {
            max_failures: 1000,
            ..Default::default()
        })
        .bind()
        .await
        .unwrap();
    crate::support::serve_with_gateway(server).await
}

/// The credentials of one row of the matrix, as an `authorization` header value.
async fn header_of(location: &str, who: &str) -> Option<String> {
    let basic = |user: &str, password: &str| {
        fastflight::auth::Credentials::Basic {
            user: user.into(),
            password: password.into(),
        }
        .header_value()
    };
    match who {
        "none" => None,
        "wrong password" => Some(basic("ada", "babbage")),
        "garbage" => Some("Bearer not-a-token".into()),
        "expired" => {
            let signer = TokenSigner::new(KEY).unwrap().ttl(Duration::from_secs(1));
            let token = signer.issue(&Identity::new("ada", ["analyst"])).unwrap();
            tokio::time::sleep(Duration::from_millis(2100)).await;
            Some(format!("Bearer {token}"))
        }
        "ada" | "bob" => {
            let password = if who == "ada" { "lovelace" } else { "builder" };
            let mut raw = raw(location).await;
            let mut request = tonic::Request::new(futures::stream::empty());
            request
                .metadata_mut()
                .insert("authorization", basic(who, password).parse().unwrap());
            let response = raw.handshake(request).await.unwrap();
            let bearer = response
                .metadata()
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            // The token comes as a message too, for clients that read it there.
            let first = response.into_inner().message().await.unwrap().unwrap();
            assert_eq!(
                format!(
                    "Bearer {}",
                    String::from_utf8(first.payload.to_vec()).unwrap()
                ),
                bearer
            );
            Some(bearer)
        }
        "etl" => Some(format!("Bearer {TOKEN}")),
        other => panic!("{other}"),
    }
}

fn with<T>(message: T, header: &Option<String>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = header {
        request
            .metadata_mut()
            .insert("authorization", value.parse().unwrap());
    }
    request
}

/// The code of each route for one caller: DoGet, GetFlightInfo, GetSchema (Secret of
/// `rows`), and the services ListFlights and list_services show.
async fn flight_routes(
    location: &str,
    header: &Option<String>,
    rows: usize,
) -> (Vec<Code>, Option<Vec<String>>) {
    let mut raw = raw(location).await;
    let ticket = format!(r#"{{"param_type": "auth.Secret", "rows": {rows}}}"#);
    let code = |r: Result<(), tonic::Status>| r.err().map_or(Code::Ok, |s| s.code());
    let mut codes = Vec::new();
    let got = raw.do_get(with(Ticket::new(ticket.clone()), header)).await;
    let got = match got {
        Ok(response) => {
            let mut stream = response.into_inner();
            let mut result = Ok(());
            loop {
                match stream.message().await {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            result
        }
        Err(e) => Err(e),
    };
    codes.push(code(got));
    let descriptor = FlightDescriptor::new_cmd(ticket.clone());
    codes.push(code(
        raw.get_flight_info(with(descriptor.clone(), header))
            .await
            .map(drop),
    ));
    codes.push(code(
        raw.get_schema(with(descriptor, header)).await.map(drop),
    ));
    let listed = match raw.list_flights(with(Criteria::default(), header)).await {
        Ok(response) => {
            let mut names = Vec::new();
            let mut stream = response.into_inner();
            while let Some(info) = stream.message().await.unwrap() {
                names
                    .push(String::from_utf8(info.flight_descriptor.unwrap().cmd.to_vec()).unwrap());
            }
            names.sort();
            Some(names)
        }
        Err(e) => {
            codes.push(e.code());
            None
        }
    };
    let action = raw
        .do_action(with(Action::new("list_services", ""), header))
        .await;
    codes.push(code(action.map(drop)));
    (codes, listed)
}

/// The gateway's status for a stream of Secret of `rows`, and its listing.
async fn gateway_routes(
    url: &str,
    header: &Option<String>,
    rows: usize,
) -> (u16, u16, Option<String>, Vec<String>) {
    let http = reqwest::Client::new();
    let mut post = http.post(format!("{url}/stream")).body(format!(
        r#"{{"param_type": "auth.Secret", "rows": {rows}}}"#
    ));
    let mut list = http.get(format!("{url}/services"));
    if let Some(value) = header {
        post = post.header("authorization", value);
        list = list.header("authorization", value);
    }
    let streamed = post.send().await.unwrap();
    let stream_status = streamed.status().as_u16();
    let challenge = streamed
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let listed = list.send().await.unwrap();
    let list_status = listed.status().as_u16();
    let names = if list_status == 200 {
        let body: serde_json::Value = listed.json().await.unwrap();
        let mut names: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    } else {
        Vec::new()
    };
    (stream_status, list_status, challenge, names)
}

#[tokio::test]
async fn every_route_checks_credentials_and_rights() {
    use Code::*;
    let (location, url) = secured().await;
    let both = vec!["auth.Hello".to_owned(), "auth.Secret".to_owned()];
    let open = vec!["auth.Hello".to_owned()];
    for who in ["none", "wrong password", "garbage", "expired"] {
        let header = header_of(&location, who).await;
        let (codes, listed) = flight_routes(&location, &header, 5).await;
        assert_eq!(
            codes,
            vec![Unauthenticated; 5],
            "{who}: DoGet, GetFlightInfo, GetSchema, ListFlights, DoAction"
        );
        assert_eq!(listed, None, "{who}");
        let (stream, list, challenge, _) = gateway_routes(&url, &header, 5).await;
        assert_eq!((stream, list), (401, 401), "{who}: the gateway");
        assert!(challenge.unwrap().contains("Bearer"), "{who}");
    }
    for (who, expected, listing) in [
        ("ada", vec![Ok, Ok, Ok, Ok], &both),
        ("etl", vec![Ok, Ok, Ok, Ok], &both),
        (
            "bob",
            vec![PermissionDenied, PermissionDenied, PermissionDenied, Ok],
            &open,
        ),
    ] {
        let header = header_of(&location, who).await;
        let (codes, listed) = flight_routes(&location, &header, 5).await;
        assert_eq!(
            codes, expected,
            "{who}: DoGet, GetFlightInfo, GetSchema, DoAction"
        );
        assert_eq!(listed.as_ref(), Some(listing), "{who}: ListFlights");
        let (stream, list, _, names) = gateway_routes(&url, &header, 5).await;
        let expected_stream = if who == "bob" { 403 } else { 200 };
        assert_eq!((stream, list), (expected_stream, 200), "{who}: the gateway");
        assert_eq!(&names, listing, "{who}: the gateway's listing");
    }
    // The service's own authorize function: a right role, a request it refuses.
    let header = header_of(&location, "ada").await;
    let (codes, _) = flight_routes(&location, &header, 500).await;
    assert_eq!(
        codes,
        vec![PermissionDenied, PermissionDenied, PermissionDenied, Ok]
    );
    let (stream, _, _, _) = gateway_routes(&url, &header, 500).await;
    assert_eq!(stream, 403);
    let mut raw = raw(&location).await;
    let e = raw
        .do_get(with(
            Ticket::new(r#"{"param_type": "auth.Secret", "rows": 500}"#),
            &header,
        ))
        .await
        .map(drop)
        .unwrap_err();
    assert!(
        e.message().contains("ada may read 100 rows at most"),
        "{}",
        e.message()
    );
    // Health answers without credentials.
    let health = reqwest::get(format!(
        "{}/health/live",
        url.trim_end_matches("/fastflight")
    ))
    .await
    .unwrap();
    assert_eq!(health.status(), 200);
}

/// The client's Handshake: the service sees who called; wrong credentials fail at once.
#[tokio::test]
async fn the_client_authenticates_with_a_handshake_or_a_token() {
    let (location, _) = secured().await;
    let client = fastflight::Client::connect(&location).await.unwrap();
    let e = client
        .clone()
        .authenticate_basic("ada", "babbage")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    let e = client.fetch(Hello {}).await.map(drop).unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    let ada = client
        .clone()
        .authenticate_basic("ada", "lovelace")
        .await
        .unwrap();
    let batch = ada.fetch(Hello {}).await.unwrap().concat().await.unwrap();
    let name = batch
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .value(0)
        .to_owned();
    assert_eq!(name, "ada");
    assert_eq!(
        crate::support::rows_of(ada.fetch(Secret { rows: 3 }).await).await,
        3
    );
    let etl = client.clone().with_bearer(TOKEN).unwrap();
    assert_eq!(etl.list_services().await.unwrap().len(), 2);
    // The blocking client the same way.
    let location2 = location.clone();
    tokio::task::spawn_blocking(move || {
        let blocking = fastflight::blocking::Client::connect(&location2)
            .unwrap()
            .authenticate_basic("bob", "builder")
            .unwrap();
        let e = blocking.fetch(Secret { rows: 1 }).map(drop).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e}");
        assert_eq!(
            blocking
                .fetch(Hello {})
                .unwrap()
                .concat()
                .unwrap()
                .num_rows(),
            1
        );
    })
    .await
    .unwrap();
}

/// The gateway in proxy mode authenticates nobody itself: it forwards each caller's
/// `authorization` header, and its Flight server decides. Its health routes answer
/// without credentials.
#[tokio::test]
async fn a_proxy_gateway_forwards_the_callers_credentials() {
    let (location, _) = secured().await;
    let gateway =
        fastflight::rest::Gateway::new(fastflight::rest::Source::remote(&location).await.unwrap())
            .bind("127.0.0.1:0")
            .await
            .unwrap();
    let url = gateway.url();
    tokio::spawn(gateway.serve());
    let both = vec!["auth.Hello".to_owned(), "auth.Secret".to_owned()];
    let open = vec!["auth.Hello".to_owned()];
    for (who, stream_status, list_status, names) in [
        ("none", 401, 401, &Vec::new()),
        ("wrong password", 401, 401, &Vec::new()),
        ("bob", 403, 200, &open),
        ("ada", 200, 200, &both),
        ("etl", 200, 200, &both),
    ] {
        let header = header_of(&location, who).await;
        let (stream, list, _, listed) = gateway_routes(&url, &header, 5).await;
        assert_eq!((stream, list), (stream_status, list_status), "{who}");
        assert_eq!(&listed, names, "{who}");
    }
    let base = url.trim_end_matches("/fastflight");
    for route in ["/health", "/health/live", "/health/ready"] {
        let answer = reqwest::get(format!("{base}{route}")).await.unwrap();
        assert_eq!(answer.status(), 200, "{route}");
    }
}

/// A client's token is renewed before it expires: tokens of two seconds, a call after
/// three, and the call goes through (a token past its time is refused, as the matrix
/// shows).
#[tokio::test]
async fn the_client_renews_its_token_before_it_expires() {
    let (location, _) = secured_with(Duration::from_secs(2)).await;
    let ada = fastflight::Client::connect(&location)
        .await
        .unwrap()
        .authenticate_basic("ada", "lovelace")
        .await
        .unwrap();
    assert_eq!(crate::support::rows_of(ada.fetch(Hello {}).await).await, 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(crate::support::rows_of(ada.fetch(Hello {}).await).await, 1);
    assert_eq!(ada.list_services().await.unwrap().len(), 2);
}

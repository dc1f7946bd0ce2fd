//! The clients a client keeps for the other locations of a partitioned result carry the
//! credentials of the client that reads: a clone with other credentials, or one that
//! authenticated as someone else, never reads a part as the first caller.

use fastflight::arrow::array::{ArrayRef, AsArray, StringArray, UInt32Array};
use fastflight::arrow::record_batch::RecordBatch;
use fastflight::auth::{hash_password, TokenSigner, TokensFile, UsersFile};
use fastflight::prelude::*;

/// `parts` parts, each one row naming its caller.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema, Clone)]
#[flight(name = "credentials.WhoPerPart")]
pub struct WhoPerPart {
    pub parts: u32,
    #[serde(default)]
    pub part: u32,
}

impl WhoPerPart {
    pub fn split(&self) -> Vec<WhoPerPart> {
        (0..self.parts)
            .map(|part| WhoPerPart { parts: 1, part })
            .collect()
    }
}

#[data_service(partitions = WhoPerPart::split, ordered)]
async fn who_per_part(req: WhoPerPart, who: Identity) -> fastflight::Result<BatchStream> {
    let row = RecordBatch::try_from_iter([
        (
            "who",
            std::sync::Arc::new(StringArray::from(vec![who.name().to_owned()])) as ArrayRef,
        ),
        (
            "part",
            std::sync::Arc::new(UInt32Array::from(vec![req.part])),
        ),
    ])?;
    Ok(futures::stream::iter([Ok(row)]).boxed())
}

const KEY: &[u8] = b"another shared key of over thirty-two bytes";
const TOKEN: &str = "etl-fedcba9876543210";

/// A server of this module's service on a free port, with user ada, the static token of
/// `etl`, the shared key (each accepts the other's issued tokens) and these peers.
async fn server(peers: &[String]) -> String {
    // Read when the server is built: removed after.
    let dir = crate::support::scratch_dir("credentials");
    let users = dir.path().join("users.txt");
    let tokens = dir.path().join("tokens.txt");
    // One users file for both servers, as replicas have: a token of one server names
    // the credentials it was issued for, which the other must have too.
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = HASH.get_or_init(|| hash_password("lovelace").unwrap());
    std::fs::write(&users, format!("ada:{hash}\n")).unwrap();
    std::fs::write(&tokens, format!("{TOKEN} etl\n")).unwrap();
    let server = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(
            fastflight::Registry::global()
                .unwrap()
                .under("it::credentials"),
        )
        .authenticator(UsersFile::load(users).unwrap())
        .authenticator(TokensFile::load(tokens).unwrap())
        .token_signer(TokenSigner::new(KEY).unwrap())
        .peers(peers.to_vec())
        .bind()
        .await
        .unwrap();
    let location = server.location();
    tokio::spawn(server.serve());
    location
}

/// Each part's caller, by part.
async fn callers(client: &fastflight::Client) -> Vec<(u32, String)> {
    let batches = client
        .fetch(WhoPerPart { parts: 4, part: 0 })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut callers = Vec::new();
    for batch in &batches {
        let who = batch.column(0).as_string::<i32>();
        let part = batch
            .column(1)
            .as_primitive::<fastflight::arrow::datatypes::UInt32Type>();
        for row in 0..batch.num_rows() {
            callers.push((part.value(row), who.value(row).to_owned()));
        }
    }
    callers
}

#[tokio::test]
async fn a_clone_with_other_credentials_reads_every_part_as_itself() {
    let b = server(&[]).await;
    let a = server(std::slice::from_ref(&b)).await;

    // Some parts are at the other server: read there with clients the origin keeps.
    let etl = fastflight::Client::connect(&a)
        .await
        .unwrap()
        .with_bearer(TOKEN)
        .unwrap();
    let info = etl
        .flight_info(&WhoPerPart { parts: 4, part: 0 })
        .await
        .unwrap();
    assert!(
        info.endpoint
            .iter()
            .any(|e| e.location.first().is_some_and(|l| l.uri == b)),
        "no part is read first at the peer: the test would prove nothing"
    );
    let everyone = |who: &str| (0..4).map(|p| (p, who.to_owned())).collect::<Vec<_>>();
    assert_eq!(callers(&etl).await, everyone("etl"));

    // A clone that authenticates as ada reads every part as ada, the peer's parts too,
    // though the first client already keeps a client of the peer.
    let ada = etl
        .clone()
        .authenticate_basic("ada", "lovelace")
        .await
        .unwrap();
    assert_eq!(callers(&ada).await, everyone("ada"));
    // A clone with the bearer token again reads as etl; the first is unchanged.
    let etl_again = ada.clone().with_bearer(TOKEN).unwrap();
    assert_eq!(callers(&etl_again).await, everyone("etl"));
    assert_eq!(callers(&etl).await, everyone("etl"));
    assert_eq!(callers(&ada).await, everyone("ada"));

    // Without credentials, a clone is refused at its first part rather than read as
    // anyone: the kept clients carry no one's token to it.
    let nobody = fastflight::Client::connect(&a).await.unwrap();
    let refused = nobody.fetch(WhoPerPart { parts: 4, part: 0 }).await;
    let error = match refused {
        Ok(stream) => stream.collect().await.map(|_| ()).unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(
        tonic::Status::from(error).code(),
        tonic::Code::Unauthenticated
    );
}

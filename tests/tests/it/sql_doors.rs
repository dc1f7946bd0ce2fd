//! Flight SQL beyond one statement: `CancelFlightInfo` (and who may cancel what), the
//! session options and their cookie, a `LIMIT` over a partitioned statement, the JDBC
//! driver's call sequence with every answer checked against the specification's
//! schema, the other doors (the Rust client, the gateway's `/sql`, the CLI's `sql`),
//! and arbitrary Flight SQL messages, none of which may panic the server or be
//! answered `Internal`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use fastflight::arrow::array::{AsArray, RecordBatch};
use fastflight::arrow_flight::sql::client::FlightSqlServiceClient;
use fastflight::arrow_flight::sql::{
    Any, CommandGetDbSchemas, CommandGetTables, CommandPreparedStatementQuery,
    CommandStatementQuery, SqlInfo, TicketStatementQuery,
};
use fastflight::arrow_flight::{
    Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus, FlightDescriptor,
    FlightInfo, Ticket,
};
use fastflight::prelude::*;
use fastflight::sql::session::{
    CloseSessionRequest, CloseSessionResult, ErrorValue, GetSessionOptionsRequest,
    GetSessionOptionsResult, OptionValue, SessionOptionValue, SetSessionOptionsRequest,
    SetSessionOptionsResult,
};
use futures::{StreamExt, TryStreamExt};
use prost::Message as _;
use tonic::Code;

use crate::sql::flight_sql::{read, rows, sql_client, SqlClient};

const DEADLINE: Duration = Duration::from_secs(20);

/// Two services of one table name in two schemas: a name alone is ambiguous.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "sql.doors.a.Twin")]
pub struct TwinA {}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "sql.doors.b.Twin")]
pub struct TwinB {}

#[derive(ArrowRow, Debug, Clone, PartialEq)]
pub struct Which {
    pub schema: String,
}

#[data_service]
pub async fn twin_a(_req: TwinA) -> impl Stream<Item = Which> {
    futures::stream::iter([Which { schema: "a".into() }])
}

#[data_service]
pub async fn twin_b(_req: TwinB) -> impl Stream<Item = Which> {
    futures::stream::iter([Which { schema: "b".into() }])
}

/// A Flight SQL client of the server at `location`.
async fn sql_at(location: &str) -> SqlClient {
    let channel = tonic::transport::Channel::from_shared(location.replace("grpc://", "http://"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightSqlServiceClient::new(channel)
}

/// [`sql_at`], logged in as `user` by the Handshake.
async fn sql_as(location: &str, user: &str, password: &str) -> SqlClient {
    let mut sql = sql_at(location).await;
    sql.handshake(user, password).await.unwrap();
    sql
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} within {DEADLINE:?}"))
}

/// The one result of an action, with the response's headers.
async fn action(
    sql: &mut SqlClient,
    kind: &str,
    body: Vec<u8>,
) -> Result<bytes::Bytes, tonic::Status> {
    let mut results = sql
        .do_action(Action::new(kind, body))
        .await
        .map_err(tonic::Status::from)?;
    let first = results.next().await.expect("one result")?;
    Ok(first.body)
}

fn cancel_request(info: &FlightInfo) -> Vec<u8> {
    CancelFlightInfoRequest::new(info.clone()).encode_to_vec()
}

fn status_of(body: &bytes::Bytes) -> CancelStatus {
    let result = CancelFlightInfoResult::decode(body.clone()).unwrap();
    CancelStatus::try_from(result.status).unwrap()
}

async fn soon(flag: &std::sync::atomic::AtomicBool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    flag.load(Ordering::SeqCst)
}

mod cancel {
    use super::*;

    #[tokio::test]
    async fn cancel_flight_info_ends_the_read_stops_the_service_and_refuses_the_ticket_after() {
        let server = crate::support::start().await;
        let mut sql = sql_client(&server).await;
        let info = sql
            .execute("SELECT * FROM tests.slow".into(), None)
            .await
            .unwrap();
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        let mut stream = within("DoGet", sql.do_get(ticket.clone())).await.unwrap();
        within("a first batch", stream.next())
            .await
            .unwrap()
            .unwrap();
        // GetFlightInfo ran the service once for its schema: those marks are cleared.
        server
            .probes
            .context_cancelled
            .store(false, Ordering::SeqCst);
        server.probes.stream_dropped.store(false, Ordering::SeqCst);

        let body = action(&mut sql, "CancelFlightInfo", cancel_request(&info))
            .await
            .unwrap();
        assert_eq!(status_of(&body), CancelStatus::Cancelled);
        // The read ends with `Cancelled`, not as a whole result.
        let end = within("the read's end", async {
            loop {
                match stream.next().await {
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break Some(e),
                    None => break None,
                }
            }
        })
        .await
        .expect("the cancelled read ends with an error");
        let status = tonic::Status::from(end);
        assert_eq!(status.code(), Code::Cancelled, "{status}");
        assert!(status.message().contains("CancelFlightInfo"), "{status}");
        assert!(
            soon(&server.probes.context_cancelled).await,
            "the service is cancelled"
        );
        assert!(
            soon(&server.probes.stream_dropped).await,
            "the service's stream is dropped"
        );

        // The cancelled ticket is refused; the statement executed again is read.
        let again = sql.do_get(ticket).await.map(|_| ()).unwrap_err();
        let again = tonic::Status::from(again);
        assert_eq!(again.code(), Code::Cancelled, "{again}");
        assert!(again.message().contains("execute it again"), "{again}");
        let info = sql
            .execute("SELECT * FROM tests.slow".into(), None)
            .await
            .unwrap();
        let mut stream = within(
            "DoGet",
            sql.do_get(info.endpoint[0].ticket.clone().unwrap()),
        )
        .await
        .unwrap();
        within("a first batch", stream.next())
            .await
            .unwrap()
            .unwrap();

        // A FlightInfo of JSON tickets is not cancellable; a body that is no request
        // is refused by name.
        let client = crate::support::client(&server).await;
        let json = client
            .flight_client()
            .get_flight_info(FlightDescriptor::new_cmd(r#"{"param_type": "tests.Slow"}"#))
            .await
            .unwrap()
            .into_inner();
        let body = action(&mut sql, "CancelFlightInfo", cancel_request(&json))
            .await
            .unwrap();
        assert_eq!(status_of(&body), CancelStatus::NotCancellable);
        let e = action(&mut sql, "CancelFlightInfo", vec![0xff, 0x01])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.message().contains("CancelFlightInfoRequest"), "{e}");
        let e = action(
            &mut sql,
            "CancelFlightInfo",
            CancelFlightInfoRequest { info: None }.encode_to_vec(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.message().contains("names no FlightInfo"), "{e}");
    }

    #[tokio::test]
    async fn a_caller_cannot_cancel_another_caller_s_statement() {
        let users = crate::support::scratch_file("sql-doors-users", "ann:first\nbob:second\n");
        let server = fastflight::Server::builder()
            .location("grpc://127.0.0.1:0")
            .registry(
                fastflight::Registry::global()
                    .unwrap()
                    .select(["tests.Slow"])
                    .unwrap(),
            )
            .state(std::sync::Arc::new(crate::services::Probes::default()))
            .authenticator(fastflight::auth::UsersFile::load(&users).unwrap())
            .bind()
            .await
            .unwrap();
        let (location, _gateway) = crate::support::serve_with_gateway(server).await;
        let mut ann = sql_as(&location, "ann", "first").await;
        let mut bob = sql_as(&location, "bob", "second").await;
        let info = ann
            .execute("SELECT * FROM tests.slow".into(), None)
            .await
            .unwrap();
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        let mut stream = within("DoGet", ann.do_get(ticket.clone())).await.unwrap();
        within("a first batch", stream.next())
            .await
            .unwrap()
            .unwrap();
        // Bob's cancel of Ann's FlightInfo stops nothing of hers.
        let body = action(&mut bob, "CancelFlightInfo", cancel_request(&info))
            .await
            .unwrap();
        assert_eq!(status_of(&body), CancelStatus::Cancelled);
        for _ in 0..3 {
            within("Ann's next batch", stream.next())
                .await
                .expect("Ann's read goes on")
                .expect("Ann's read is not cancelled by Bob");
        }
        drop(stream);
        let mut again = within("DoGet", ann.do_get(ticket)).await.unwrap();
        within("Ann's ticket is still hers", again.next())
            .await
            .unwrap()
            .unwrap();
        // Without credentials, nothing is answered at all.
        let mut anonymous = sql_at(&location).await;
        let e = action(&mut anonymous, "CancelFlightInfo", cancel_request(&info))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    }
}

mod sessions {
    use super::*;

    fn text(value: &str) -> SessionOptionValue {
        SessionOptionValue {
            option_value: Some(OptionValue::StringValue(value.into())),
        }
    }

    /// `SetSessionOptions` of `options`: what it refused, and the cookie it set.
    async fn set(
        raw: &mut fastflight::arrow_flight::flight_service_client::FlightServiceClient<
            tonic::transport::Channel,
        >,
        options: &[(&str, SessionOptionValue)],
        cookie: Option<&str>,
    ) -> Result<(SetSessionOptionsResult, String), tonic::Status> {
        let request = SetSessionOptionsRequest {
            session_options: options
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        };
        let mut call =
            tonic::Request::new(Action::new("SetSessionOptions", request.encode_to_vec()));
        if let Some(cookie) = cookie {
            call.metadata_mut()
                .insert("cookie", cookie.parse().unwrap());
        }
        let response = raw.do_action(call).await?;
        let cookie = response
            .metadata()
            .get("set-cookie")
            .expect("a cookie is set")
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body = response.into_inner().next().await.unwrap()?.body;
        Ok((SetSessionOptionsResult::decode(body).unwrap(), cookie))
    }

    async fn get(
        raw: &mut fastflight::arrow_flight::flight_service_client::FlightServiceClient<
            tonic::transport::Channel,
        >,
        cookie: Option<&str>,
    ) -> GetSessionOptionsResult {
        let mut call = tonic::Request::new(Action::new(
            "GetSessionOptions",
            GetSessionOptionsRequest {}.encode_to_vec(),
        ));
        if let Some(cookie) = cookie {
            call.metadata_mut()
                .insert("cookie", cookie.parse().unwrap());
        }
        let body = raw
            .do_action(call)
            .await
            .unwrap()
            .into_inner()
            .next()
            .await
            .unwrap()
            .unwrap()
            .body;
        GetSessionOptionsResult::decode(body).unwrap()
    }

    /// The `which` column of a statement run with `cookie`.
    async fn which(
        location: &str,
        sql: &str,
        cookie: Option<&str>,
    ) -> Result<String, tonic::Status> {
        let mut client = sql_at(location).await;
        if let Some(cookie) = cookie {
            client.set_header("cookie", cookie);
        }
        let info = client
            .execute(sql.into(), None)
            .await
            .map_err(tonic::Status::from)?;
        // The ticket carries the schema: read without the cookie.
        let mut plain = sql_at(location).await;
        let batches = read(&mut plain, info).await;
        Ok(batches[0].column(0).as_string::<i32>().value(0).to_owned())
    }

    #[tokio::test]
    async fn a_session_s_default_schema_travels_in_its_cookie_and_resolves_names_alone() {
        let server = crate::support::start().await;
        let mut raw = crate::support::raw_client(&server.location).await;
        assert!(get(&mut raw, None).await.session_options.is_empty());

        // Unknown names and bad values are refused one by one; the rest is set.
        let (result, cookie) = set(
            &mut raw,
            &[
                ("catalog", text("FASTFLIGHT")),
                ("schema", text("sql.doors.b")),
                ("colour", text("blue")),
                (
                    "catalog_of_old",
                    SessionOptionValue {
                        option_value: Some(OptionValue::BoolValue(true)),
                    },
                ),
            ],
            None,
        )
        .await
        .unwrap();
        let refused = |name: &str| {
            result
                .errors
                .get(name)
                .and_then(|e| ErrorValue::try_from(e.value).ok())
        };
        assert_eq!(result.errors.len(), 2, "{:?}", result.errors);
        assert_eq!(refused("colour"), Some(ErrorValue::InvalidName));
        assert_eq!(refused("catalog_of_old"), Some(ErrorValue::InvalidName));
        let options = get(&mut raw, Some(&cookie)).await.session_options;
        assert_eq!(options.get("catalog"), Some(&text("fastflight")));
        assert_eq!(options.get("schema"), Some(&text("sql.doors.b")));

        // Values this server does not have are refused, and keep what was set.
        let (result, kept) = set(
            &mut raw,
            &[
                ("schema", text("nowhere")),
                ("catalog", text("other")),
                (
                    "schema",
                    SessionOptionValue {
                        option_value: Some(OptionValue::Int64Value(3)),
                    },
                ),
            ],
            Some(&cookie),
        )
        .await
        .unwrap();
        assert_eq!(
            result
                .errors
                .values()
                .map(|e| ErrorValue::try_from(e.value).unwrap())
                .collect::<Vec<_>>(),
            vec![ErrorValue::InvalidValue; result.errors.len()]
        );
        assert_eq!(result.errors.len(), 2, "{:?}", result.errors);
        assert_eq!(get(&mut raw, Some(&kept)).await.session_options, options);

        // A name alone in two schemas: refused without a session, found with one.
        let e = which(&server.location, "SELECT * FROM twin", None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.message().contains("several schemas"), "{e}");
        assert_eq!(
            which(&server.location, "SELECT * FROM twin", Some(&cookie))
                .await
                .unwrap(),
            "b"
        );
        // A qualified name is the one it names, whatever the session.
        assert_eq!(
            which(
                &server.location,
                "SELECT * FROM \"sql.doors.a\".twin",
                Some(&cookie)
            )
            .await
            .unwrap(),
            "a"
        );
        // A prepared statement keeps the schema of its session.
        let mut prepared_in = sql_at(&server.location).await;
        prepared_in.set_header("cookie", cookie.clone());
        let mut prepared = prepared_in
            .prepare("SELECT * FROM twin".into(), None)
            .await
            .unwrap();
        let info = prepared.execute().await.unwrap();
        let mut plain = sql_at(&server.location).await;
        let batches = read(&mut plain, info).await;
        assert_eq!(batches[0].column(0).as_string::<i32>().value(0), "b");

        // A cookie this server did not make is no session; closing clears it.
        assert!(get(&mut raw, Some("fastflight_session=bm90IGpzb24"))
            .await
            .session_options
            .is_empty());
        let e = which(
            &server.location,
            "SELECT * FROM twin",
            Some("fastflight_session=%%%"),
        )
        .await
        .unwrap_err();
        assert!(e.message().contains("several schemas"), "{e}");
        let mut call = tonic::Request::new(Action::new(
            "CloseSession",
            CloseSessionRequest {}.encode_to_vec(),
        ));
        call.metadata_mut()
            .insert("cookie", cookie.parse().unwrap());
        let response = raw.do_action(call).await.unwrap();
        let cleared = response
            .metadata()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        let body = response.into_inner().next().await.unwrap().unwrap().body;
        assert_eq!(
            CloseSessionResult::decode(body).unwrap().status,
            1,
            "CLOSED"
        );

        // Bounded: too many options, or a value too long.
        let many: Vec<(String, SessionOptionValue)> =
            (0..17).map(|i| (format!("o{i}"), text("x"))).collect();
        let many: Vec<(&str, SessionOptionValue)> =
            many.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let e = set(&mut raw, &many, None).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.message().contains("16"), "{e}");
        let long = "s".repeat(10_000);
        let (result, _) = set(&mut raw, &[("schema", text(&long))], None)
            .await
            .unwrap();
        assert_eq!(
            result.errors.get("schema").map(|e| e.value),
            Some(ErrorValue::InvalidValue as i32)
        );
    }
}

#[tokio::test]
async fn a_limit_over_a_partitioned_statement_is_read_from_one_endpoint_and_counted_once() {
    let server = crate::support::start().await;
    let mut sql = sql_client(&server).await;
    for (limit, expected) in [(7, 7), (5_000, 5_000), (20_000, 10_000)] {
        let info = sql
            .execute(
                format!("SELECT id FROM synthetic(rows => 10000, partitions => 4) LIMIT {limit}"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(info.endpoint.len(), 1, "LIMIT {limit}");
        let batches = read(&mut sql, info).await;
        assert_eq!(rows(&batches), expected, "LIMIT {limit}");
        // The rows of the parts in order: the first `expected` ids.
        let ids: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_primitive::<fastflight::arrow::datatypes::Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(
            ids,
            (0..expected as i64).collect::<Vec<_>>(),
            "LIMIT {limit}"
        );
    }
}

/// JDBC's sequence when a tool connects and runs a query, each answer's schema the
/// specification's (arrow-flight's builders') and each FlightInfo's schema that of its
/// DoGet.
#[tokio::test]
async fn the_jdbc_driver_s_call_sequence_is_answered_in_the_spec_s_schemas() {
    use fastflight::arrow_flight::sql::metadata::SqlInfoDataBuilder;
    use fastflight::arrow_flight::sql::{CommandGetCatalogs, CommandGetTableTypes};

    let server = crate::support::start().await;
    let mut sql = sql_client(&server).await;
    let check = |what: &str,
                 info: &FlightInfo,
                 batches: &[RecordBatch],
                 spec: &fastflight::arrow::datatypes::Schema| {
        let announced = info.clone().try_decode_schema().unwrap();
        assert_eq!(
            &announced, spec,
            "{what}: the FlightInfo's schema is the spec's"
        );
        for batch in batches {
            assert_eq!(
                batch.schema().as_ref(),
                spec,
                "{what}: the batches' schema is the spec's"
            );
        }
    };

    let info = sql
        .get_sql_info(vec![
            SqlInfo::FlightSqlServerName,
            SqlInfo::FlightSqlServerVersion,
            SqlInfo::FlightSqlServerArrowVersion,
            SqlInfo::FlightSqlServerReadOnly,
            SqlInfo::SqlIdentifierQuoteChar,
            SqlInfo::SqlKeywords,
        ])
        .await
        .unwrap();
    let batches = read(&mut sql, info.clone()).await;
    check("GetSqlInfo", &info, &batches, SqlInfoDataBuilder::schema());
    assert_eq!(rows(&batches), 6, "every info asked is answered");

    let info = sql.get_catalogs().await.unwrap();
    let batches = read(&mut sql, info.clone()).await;
    check(
        "GetCatalogs",
        &info,
        &batches,
        &CommandGetCatalogs {}.into_builder().schema(),
    );

    let info = sql
        .get_db_schemas(CommandGetDbSchemas {
            catalog: Some("fastflight".into()),
            db_schema_filter_pattern: Some("%".into()),
        })
        .await
        .unwrap();
    let batches = read(&mut sql, info.clone()).await;
    check(
        "GetDbSchemas",
        &info,
        &batches,
        &CommandGetDbSchemas::default().into_builder().schema(),
    );
    let schemas: Vec<&str> = batches
        .iter()
        .flat_map(|b| b.column(1).as_string::<i32>().iter().flatten())
        .collect();
    assert!(schemas.contains(&"fastflight.demo"), "{schemas:?}");

    let command = CommandGetTables {
        catalog: Some("fastflight".into()),
        db_schema_filter_pattern: Some("fastflight.demo".into()),
        table_name_filter_pattern: Some("%".into()),
        table_types: vec![],
        include_schema: true,
    };
    let info = sql.get_tables(command.clone()).await.unwrap();
    let batches = read(&mut sql, info.clone()).await;
    check(
        "GetTables",
        &info,
        &batches,
        &command.into_builder().schema(),
    );
    let tables: Vec<&str> = batches
        .iter()
        .flat_map(|b| b.column(2).as_string::<i32>().iter().flatten())
        .collect();
    assert!(tables.contains(&"synthetic"), "{tables:?}");

    let info = sql.get_table_types().await.unwrap();
    let batches = read(&mut sql, info.clone()).await;
    check(
        "GetTableTypes",
        &info,
        &batches,
        &CommandGetTableTypes {}.into_builder().schema(),
    );

    // JDBC prepares every statement, and takes an empty dataset schema for an update.
    let mut prepared = sql
        .prepare(
            "SELECT id, value FROM synthetic(rows => 50, seed => 3)".into(),
            None,
        )
        .await
        .unwrap();
    let dataset = prepared.dataset_schema().unwrap().clone();
    let names: Vec<&str> = dataset.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "value"]);
    assert!(prepared.parameter_schema().unwrap().fields().is_empty());
    let info = prepared.execute().await.unwrap();
    let batches = read(&mut sql, info.clone()).await;
    check("the prepared statement", &info, &batches, &dataset);
    assert_eq!(rows(&batches), 50);
    prepared.close().await.unwrap();
}

mod doors {
    use super::*;
    use crate::support::BoundedOutput as _;

    // Threads of its own: the CLI's child process is waited for on this one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_rust_client_the_gateway_and_the_cli_send_statements() {
        let server = crate::support::start().await;
        let client = crate::support::client(&server).await;
        let statement = "SELECT id FROM synthetic(rows => 1000, partitions => 3) WHERE seed = 2";
        let batches = client
            .sql(statement)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            1000
        );
        assert_eq!(batches[0].schema().fields().len(), 1);
        let location = server.location.clone();
        let limited: usize = tokio::task::spawn_blocking(move || {
            fastflight::blocking::Client::connect(&location)
                .unwrap()
                .sql("SELECT * FROM synthetic(rows => 1000) LIMIT 10")
                .unwrap()
                .map(|b| b.unwrap().num_rows())
                .sum()
        })
        .await
        .unwrap();
        assert_eq!(limited, 10);
        let e = client
            .sql("SELECT * FROM nowhere")
            .await
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.to_string().contains("no table nowhere"), "{e}");

        // The gateway's `/sql`, in-process: CSV by `Accept`, errors as JSON bodies.
        let http = reqwest::Client::new();
        let answer = http
            .post(format!("{}/sql", server.gateway))
            .header("accept", "text/csv")
            .body("SELECT id, value FROM synthetic(rows => 5, seed => 1)")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let text = answer.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id,value");
        assert_eq!(lines.len(), 6, "{text}");
        let refused = http
            .post(format!("{}/sql", server.gateway))
            .body("SELECT * FROM synthetic(rows => 5) ORDER BY id")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "InvalidArgument");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ORDER BY"),
            "{body}"
        );
        let refused = http
            .post(format!("{}/sql", server.gateway))
            .body(vec![0xff, 0xfe])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);

        // The CLI's `sql`, against the same server.
        let out = std::process::Command::new(crate::support::demo_binary())
            .args([
                "sql",
                "--location",
                &server.location,
                "--format",
                "csv",
                "SELECT id FROM synthetic(rows => 4)",
            ])
            .env("RUST_LOG", "warn")
            .bounded_output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "id\n0\n1\n2\n3\n");
        let out = std::process::Command::new(crate::support::demo_binary())
            .args([
                "sql",
                "--location",
                &server.location,
                "SELECT * FROM nowhere",
            ])
            .env("RUST_LOG", "warn")
            .bounded_output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("no table nowhere"), "{stderr}");
    }

    /// The proxy gateway sends the statement to its Flight server as Flight SQL.
    #[tokio::test]
    async fn the_proxy_gateway_forwards_statements_as_flight_sql() {
        let server = crate::support::start().await;
        let proxy = fastflight::rest::Gateway::new(
            fastflight::rest::Source::remote(&server.location)
                .await
                .unwrap(),
        )
        .bind("127.0.0.1:0")
        .await
        .unwrap();
        let url = proxy.url();
        let serving = tokio::spawn(proxy.serve());
        let answer = reqwest::Client::new()
            .post(format!("{url}/sql"))
            .header("accept", "application/x-ndjson")
            .body("SELECT id FROM synthetic(rows => 3, partitions => 2)")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let text = answer.text().await.unwrap();
        let mut ids: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        ids.sort_by_key(|v| v["id"].as_u64());
        assert_eq!(
            ids,
            vec![
                serde_json::json!({"id": 0}),
                serde_json::json!({"id": 1}),
                serde_json::json!({"id": 2})
            ]
        );
        serving.abort();
    }
}

/// Arbitrary Flight SQL messages at GetFlightInfo, DoGet and DoAction: every one is
/// answered or refused, never with `Internal` or `Unknown`, and the server stays up.
#[tokio::test]
async fn arbitrary_flight_sql_messages_are_refused_without_a_panic() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, TestRunner};

    let server = crate::support::start().await;
    let mut raw = crate::support::raw_client(&server.location).await;
    let kinds = [
        "CommandStatementQuery",
        "CommandPreparedStatementQuery",
        "TicketStatementQuery",
        "CommandGetTables",
        "CommandGetDbSchemas",
        "CommandGetSqlInfo",
        "CommandGetXdbcTypeInfo",
        "CommandStatementUpdate",
        "Nothing",
    ];
    let handles = [
        r#"{"sql": "SELECT * FROM synthetic(rows => 2)"}"#.to_owned(),
        r#"{"sql": "SELECT * FROM synthetic(rows => 2)", "parts": [{"param_type": "x"}]}"#
            .to_owned(),
        r#"{"sql": "SELECT * FROM synthetic(rows => 2)", "part": {"param_type": "tests.Slow"}}"#
            .to_owned(),
        r#"{"sql": "SELECT * FROM synthetic(rows => 2)", "part": 7, "run": -1}"#.to_owned(),
        r#"{"sql": "SELECT * FROM synthetic WHERE rows = ?", "params": [[1,2]]}"#.to_owned(),
        r#"{"sql": "SELECT * FROM twin", "schema": "../etc"}"#.to_owned(),
        format!(r#"{{"sql": "{}"}}"#, "(".repeat(5000)),
        "not json".to_owned(),
    ];
    let strategy = (
        0..kinds.len(),
        proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        0..handles.len(),
        proptest::bool::ANY,
    );
    let mut runner = TestRunner::new(Config {
        cases: 200,
        ..Config::default()
    });
    let mut bad = Vec::new();
    for _ in 0..200 {
        let (kind, noise, handle, noisy) = strategy.new_tree(&mut runner).unwrap().current();
        let handle = handles[handle].clone().into_bytes();
        let value = match kinds[kind] {
            "CommandStatementQuery" => CommandStatementQuery {
                query: String::from_utf8_lossy(&noise).into_owned(),
                transaction_id: None,
            }
            .encode_to_vec(),
            "CommandPreparedStatementQuery" => CommandPreparedStatementQuery {
                prepared_statement_handle: handle.clone().into(),
            }
            .encode_to_vec(),
            "TicketStatementQuery" => TicketStatementQuery {
                statement_handle: handle.clone().into(),
            }
            .encode_to_vec(),
            _ => noise.clone(),
        };
        let value = if noisy {
            let mut v = value;
            v.extend_from_slice(&noise);
            v
        } else {
            value
        };
        let any = Any {
            type_url: format!(
                "type.googleapis.com/arrow.flight.protocol.sql.{}",
                kinds[kind]
            ),
            value: value.into(),
        }
        .encode_to_vec();
        let answers = [
            raw.get_flight_info(FlightDescriptor::new_cmd(any.clone()))
                .await
                .map(|_| ()),
            match raw.do_get(Ticket::new(any.clone())).await {
                Ok(stream) => within("a DoGet's end", stream.into_inner().try_collect::<Vec<_>>())
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            },
            raw.do_action(Action::new(
                [
                    "CancelFlightInfo",
                    "SetSessionOptions",
                    "CreatePreparedStatement",
                ][kind % 3],
                any.clone(),
            ))
            .await
            .map(|_| ()),
        ];
        for answer in answers {
            if let Err(e) = answer {
                if matches!(e.code(), Code::Internal | Code::Unknown) {
                    bad.push(format!("{}: {e}", kinds[kind]));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    // Still up, and answering.
    let mut sql = sql_client(&server).await;
    let info = sql
        .execute("SELECT * FROM synthetic(rows => 2)".into(), None)
        .await
        .unwrap();
    assert_eq!(rows(&read(&mut sql, info).await), 2);
}

/// Roles and `authorize` hold for statements as for JSON tickets: a table the caller may
/// not call is not listed, not named among the known tables, and refused when named.
#[tokio::test]
async fn statements_are_refused_as_json_tickets_are_and_listings_show_what_a_caller_may_call() {
    use fastflight::auth::{hash_password, UsersFile};
    let users = crate::support::scratch_file(
        "sql-doors-roles",
        &format!(
            "ada:{} analyst\nbob:builder\n",
            hash_password("lovelace").unwrap()
        ),
    );
    let server = fastflight::Server::builder()
        .location("grpc://127.0.0.1:0")
        .registry(
            fastflight::Registry::global()
                .unwrap()
                .select(["auth.Secret", "auth.Hello"])
                .unwrap(),
        )
        .authenticator(UsersFile::load(&users).unwrap())
        .bind()
        .await
        .unwrap();
    let (location, _gateway) = crate::support::serve_with_gateway(server).await;
    let mut ada = sql_as(&location, "ada", "lovelace").await;
    let mut bob = sql_as(&location, "bob", "builder").await;
    let tables = |batches: Vec<RecordBatch>| -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(2)
                    .as_string::<i32>()
                    .iter()
                    .flatten()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let info = ada.get_tables(CommandGetTables::default()).await.unwrap();
    assert_eq!(tables(read(&mut ada, info).await), ["hello", "secret"]);
    let info = bob.get_tables(CommandGetTables::default()).await.unwrap();
    assert_eq!(tables(read(&mut bob, info).await), ["hello"]);

    // Ada may read 100 rows at most; Bob none at all.
    let info = ada
        .execute("SELECT * FROM auth.secret(rows => 3)".into(), None)
        .await
        .unwrap();
    assert_eq!(rows(&read(&mut ada, info).await), 3);
    let e = tonic::Status::from(
        ada.execute("SELECT * FROM secret WHERE rows = 500".into(), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    assert!(e.message().contains("ada may read 100 rows at most"), "{e}");
    let e = tonic::Status::from(
        bob.execute("SELECT * FROM auth.secret(rows => 3)".into(), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    // The same refusal as Bob's JSON ticket gets.
    let mut raw = crate::support::raw_client(&location).await;
    let mut request = tonic::Request::new(FlightDescriptor::new_cmd(
        r#"{"param_type": "auth.Secret", "rows": 3}"#,
    ));
    let header = fastflight::auth::Credentials::Basic {
        user: "bob".into(),
        password: "builder".into(),
    }
    .header_value();
    request
        .metadata_mut()
        .insert("authorization", header.parse().unwrap());
    let json = raw.get_flight_info(request).await.unwrap_err();
    assert_eq!(json.code(), e.code());
    // A ticket of Ada's statement is refused to Bob too.
    let info = ada
        .execute("SELECT * FROM auth.secret(rows => 3)".into(), None)
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let e = tonic::Status::from(bob.do_get(ticket).await.map(|_| ()).unwrap_err());
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    // An unknown name lists only what Bob may call.
    let e = tonic::Status::from(
        bob.execute("SELECT * FROM nowhere".into(), None)
            .await
            .unwrap_err(),
    );
    assert!(e.message().contains("the tables are: auth.hello"), "{e}");
    assert!(!e.message().contains("secret"), "{e}");
    // A statement above max_request_bytes is refused by that limit, before it is read.
    let big = format!("SELECT * FROM hello WHERE x = '{}'", "x".repeat(10 << 20));
    let e = tonic::Status::from(ada.execute(big, None).await.unwrap_err());
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    assert!(e.message().contains("max_request_bytes"), "{e}");
}

/// Every Flight SQL answer is counted and logged as a stream, the metadata commands'
/// under their names, a statement's under its service's.
#[tokio::test]
async fn metadata_answers_and_statements_have_the_log_line_of_every_stream() {
    let log = crate::support::scratch_file("sql-doors-log", "");
    let server = crate::support::DemoProcess::spawn_with_stderr(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc://127.0.0.1:0",
        ],
        &[("RUST_LOG", "info"), ("NO_COLOR", "1")],
        std::fs::File::create(&log).unwrap().into(),
    );
    let mut sql = sql_at(&server.location).await;
    let info = sql.get_tables(CommandGetTables::default()).await.unwrap();
    let tables = rows(&read(&mut sql, info).await);
    let info = sql
        .execute("SELECT id FROM synthetic(rows => 7)".into(), None)
        .await
        .unwrap();
    assert_eq!(rows(&read(&mut sql, info).await), 7);
    let lines = |text: &str, what: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("stream ended") && l.contains(what))
            .map(str::to_owned)
            .collect()
    };
    let mut text = String::new();
    let deadline = std::time::Instant::now() + DEADLINE;
    while std::time::Instant::now() < deadline {
        text = std::fs::read_to_string(&log).unwrap();
        if !lines(&text, "request=CommandGetTables").is_empty()
            && !lines(&text, "rows=7 ").is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metadata = lines(&text, "request=CommandGetTables");
    assert_eq!(metadata.len(), 1, "{text}");
    assert!(metadata[0].contains("route=\"sql\""), "{}", metadata[0]);
    assert!(
        metadata[0].contains(&format!("rows={tables} ")),
        "{}",
        metadata[0]
    );
    let statement = lines(&text, "request=fastflight.demo.SyntheticParams");
    assert!(
        statement
            .iter()
            .any(|l| l.contains("route=\"sql\"") && l.contains("rows=7 ")),
        "{text}"
    );
}

//! SQL statements planned over the services' catalog: table names, table functions,
//! filters on request fields, projections, limits, parameters, and every refusal
//! naming what it refused.

use fastflight::prelude::*;
use fastflight::sql::catalog::{Catalog, Table};
use fastflight::sql::plan::{plan, Plan};
use serde_json::json;

#[derive(ArrowRow, Debug, Clone, PartialEq)]
pub struct Quote {
    pub symbol: String,
    pub price: f64,
    pub side: String,
}

/// A service with a required field, a list, and a field with a default.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "sql.test.QuotesParams", rows = Quote)]
pub struct QuotesParams {
    pub symbol: String,
    pub sides: Option<Vec<String>>,
    #[serde(default)]
    pub depth: u32,
}

#[data_service]
pub async fn sql_quotes(req: QuotesParams) -> impl Stream<Item = Quote> {
    let sides = req.sides.unwrap_or_else(|| vec!["buy".into()]);
    futures::stream::iter((0..req.depth.max(1)).flat_map(move |i| {
        let symbol = req.symbol.clone();
        sides.clone().into_iter().map(move |side| Quote {
            symbol: symbol.clone(),
            price: f64::from(i),
            side,
        })
    }))
}

/// A service whose request has no required field: a plain table too.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "sql.test.Counter")]
pub struct Counter {
    #[serde(default)]
    pub upto: u64,
}

#[data_service]
pub async fn sql_counter(req: Counter) -> impl Stream<Item = Quote> {
    futures::stream::iter((0..req.upto).map(|i| Quote {
        symbol: format!("S{i}"),
        price: i as f64,
        side: "sell".into(),
    }))
}

fn catalog() -> Catalog {
    let registry = fastflight::Registry::global()
        .unwrap()
        .select(["sql.test.QuotesParams", "sql.test.Counter"])
        .unwrap();
    Catalog::new(&registry).unwrap()
}

fn planned(sql: &str) -> Plan {
    plan(sql, &catalog(), |_| true).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn refused(sql: &str) -> String {
    let e = plan(sql, &catalog(), |_| true).expect_err(sql);
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{sql}: {e}");
    e.to_string()
}

#[test]
fn every_service_is_a_table_named_from_its_registered_name() {
    let catalog = catalog();
    let names: Vec<String> = catalog.tables().iter().map(Table::qualified).collect();
    assert_eq!(names, ["\"sql.test\".counter", "\"sql.test\".quotes"]);
    assert_eq!(catalog.schemas(), ["sql.test"]);
    let counter = &catalog.tables()[0];
    assert!(counter.plain());
    assert!(!catalog.tables()[1].plain());
    assert_eq!(
        catalog.tables()[1].result_schema().unwrap(),
        Quote::schema()
    );
    // The whole global registry (the demo's services too) has no two tables alike.
    Catalog::new(fastflight::Registry::global().unwrap()).unwrap();
}

#[test]
fn a_table_is_found_by_name_qualified_or_not_and_quoted_exactly() {
    for sql in [
        "SELECT * FROM counter",
        "SELECT * FROM COUNTER",
        "select * from \"counter\"",
        "SELECT * FROM \"sql.test\".counter",
        "SELECT * FROM sql.test.counter",
        "SELECT * FROM fastflight.sql.test.counter",
        "SELECT * FROM fastflight.\"sql.test\".\"counter\"",
    ] {
        assert_eq!(planned(sql).table.service, "sql.test.Counter", "{sql}");
    }
    let e = refused("SELECT * FROM \"COUNTER\"");
    assert!(
        e.contains(
            "no table \"COUNTER\"; the tables are: \"sql.test\".counter, \"sql.test\".quotes"
        ),
        "{e}"
    );
    let e = refused("SELECT * FROM other.counter");
    assert!(e.contains("no table other.counter"), "{e}");
    // Only the tables the caller may see are listed.
    let e = plan("SELECT * FROM nowhere", &catalog(), |t| t.name == "counter")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the tables are: \"sql.test\".counter") && !e.contains("quotes"),
        "{e}"
    );
}

#[test]
fn arguments_and_filters_on_request_fields_become_the_request() {
    let p = planned("SELECT * FROM quotes(symbol => 'ACME', depth => 3)");
    assert_eq!(
        p.request,
        json!({"symbol": "ACME", "depth": 3})
            .as_object()
            .unwrap()
            .clone()
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&p.ticket()).unwrap(),
        json!({"param_type": "sql.test.QuotesParams", "symbol": "ACME", "depth": 3})
    );
    // Positional, in field order.
    let p = planned("SELECT * FROM quotes('ACME', ARRAY['buy', 'sell'], 2)");
    assert_eq!(
        p.request,
        json!({"symbol": "ACME", "sides": ["buy", "sell"], "depth": 2})
            .as_object()
            .unwrap()
            .clone()
    );
    // WHERE conjuncts on request fields, the list field by IN, either side of `=`.
    let p = planned(
        "SELECT * FROM quotes q WHERE q.symbol = 'ACME' AND sides IN ('buy') AND (2 = depth)",
    );
    assert_eq!(
        p.request,
        json!({"symbol": "ACME", "sides": ["buy"], "depth": 2})
            .as_object()
            .unwrap()
            .clone()
    );
    // The same value twice is one; two values are refused, naming both.
    planned("SELECT * FROM quotes(symbol => 'A') WHERE symbol = 'A'");
    let e = refused("SELECT * FROM quotes(symbol => 'A') WHERE symbol = 'B'");
    assert!(
        e.contains("`symbol` of quotes is given twice: \"A\" and \"B\""),
        "{e}"
    );
    // Negative and decimal numbers, booleans and NULL pass as JSON; the request's own
    // decoding judges them (as for a JSON ticket).
    let p = planned("SELECT * FROM counter WHERE upto = -5");
    assert_eq!(p.request["upto"], json!(-5));
    let p = planned("SELECT * FROM quotes(symbol => NULL, depth => 1.5)");
    assert_eq!(p.request["symbol"], json!(null));
    assert_eq!(p.request["depth"], json!(1.5));
}

#[test]
fn a_missing_required_field_says_how_to_give_it() {
    let e = refused("SELECT * FROM quotes");
    assert!(
        e.contains("quotes needs its request field symbol: give it as arguments (`quotes(symbol => ..)`) or in WHERE (`WHERE symbol = ..`)"),
        "{e}"
    );
    let e = refused("SELECT * FROM quotes(nope => 1)");
    assert!(
        e.contains("quotes has no argument `nope`; its arguments: symbol String, sides Option<Vec<String>> (optional), depth u32 (optional)"),
        "{e}"
    );
    let e = refused("SELECT * FROM quotes('A', NULL, 1, 2)");
    assert!(e.contains("quotes takes 3 arguments"), "{e}");
}

#[test]
fn columns_limits_and_aliases_are_planned_against_the_result() {
    let p = planned("SELECT price, Symbol AS s FROM quotes('A') LIMIT 5");
    assert_eq!(p.limit, Some(5));
    let schema = p.output_schema(&Quote::schema()).unwrap();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["price", "s"]);
    let batch = Quote::to_batch(&[Quote {
        symbol: "A".into(),
        price: 1.5,
        side: "buy".into(),
    }])
    .unwrap();
    let projected = p.project(&batch, &schema).unwrap();
    assert_eq!(projected.num_columns(), 2);
    assert_eq!(projected.column(0), batch.column(1));
    assert_eq!(projected.column(1), batch.column(0));
    assert!(planned("SELECT * FROM counter LIMIT 0").limit == Some(0));
    let e = refused("SELECT volume FROM quotes('A')");
    assert!(
        e.contains("the result of quotes has no column `volume`; its columns: symbol, price, side"),
        "{e}"
    );
    let e = refused("SELECT * FROM counter LIMIT -1");
    assert!(e.contains("a limit is a whole number of rows"), "{e}");
    let e = refused("SELECT * FROM counter LIMIT 10 OFFSET 5");
    assert!(e.contains("OFFSET is not supported"), "{e}");
}

#[test]
fn parameters_are_bound_in_order() {
    let mut p = planned("SELECT * FROM quotes WHERE symbol = ? AND depth = ?");
    assert_eq!(p.parameters.len(), 2);
    let e = p.bind(&[json!("A")]).unwrap_err().to_string();
    assert!(
        e.contains("the statement has 2 parameters, 1 were bound"),
        "{e}"
    );
    p.bind(&[json!("A"), json!(4)]).unwrap();
    assert_eq!(
        p.request,
        json!({"symbol": "A", "depth": 4})
            .as_object()
            .unwrap()
            .clone()
    );
    let mut p = planned("SELECT * FROM quotes(symbol => $2, depth => $1)");
    p.bind(&[json!(7), json!("B")]).unwrap();
    assert_eq!(p.request["symbol"], json!("B"));
    assert_eq!(p.request["depth"], json!(7));
    let e = refused("SELECT * FROM quotes(symbol => $0)");
    assert!(e.contains("parameters are `?` or `$1` to `$1024`"), "{e}");
}

#[test]
fn what_a_plan_cannot_answer_is_refused_by_name() {
    for (sql, says) in [
        ("SELECT * FROM quotes('A') WHERE price > 3", "a filter on `price`, a column of the result, is not answered: only the request fields of quotes can be filtered"),
        ("SELECT * FROM quotes('A') WHERE side = 'buy'", "a filter on `side`, a column of the result"),
        ("SELECT * FROM quotes WHERE symbol = 'A' OR symbol = 'B'", "uses OR"),
        ("SELECT * FROM counter WHERE upto > 3", "compares with `>`"),
        ("SELECT * FROM counter WHERE upto IN (1, 2)", "`upto IN (..)`: `upto` is not a list"),
        ("SELECT * FROM counter WHERE nothing = 1", "counter has no request field `nothing`"),
        ("SELECT * FROM counter WHERE upto = upto", "compares no column with a value"),
        ("SELECT * FROM counter WHERE upto = 1 + 2", "`1 + 2` is not a literal"),
        ("SELECT * FROM counter ORDER BY upto", "ORDER BY is not supported"),
        ("SELECT count(*) FROM counter", "the expression `count(*)` in SELECT"),
        ("SELECT DISTINCT symbol FROM counter", "DISTINCT is not supported"),
        ("SELECT symbol FROM counter GROUP BY symbol", "GROUP BY is not supported"),
        ("SELECT * FROM counter a JOIN counter b ON a.upto = b.upto", "JOIN is not supported"),
        ("SELECT * FROM counter, quotes('A')", "reading several tables"),
        ("SELECT * FROM (SELECT * FROM counter)", "FROM anything but a table"),
        ("SELECT * FROM counter UNION SELECT * FROM counter", "UNION is not supported"),
        ("WITH c AS (SELECT * FROM counter) SELECT * FROM c", "WITH is not supported"),
        ("SELECT 1", "FROM is missing"),
        ("INSERT INTO counter VALUES (1)", "only SELECT is answered, this server is read-only (got INSERT)"),
        ("DROP TABLE counter", "(got DROP)"),
        ("SELECT * FROM counter; SELECT * FROM counter", "2 statements: send one at a time"),
        ("", "no statement"),
        ("SELEC * FROM counter", "does not parse"),
        ("SELECT * FROM counter WHERE", "does not parse"),
    ] {
        let e = refused(sql);
        assert!(e.contains(says), "{sql}: {e}");
    }
    // The parser says where.
    let e = refused("SELECT * FROM counter WHERE upto = = 1");
    assert!(e.contains("Line: 1, Column"), "{e}");
}

#[test]
fn hostile_statements_are_bounded() {
    // Nesting past the parser's depth: an error, not a stack overflow.
    let deep = format!(
        "SELECT * FROM counter WHERE upto = {}1{}",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    let e = refused(&deep);
    assert!(e.contains("does not parse"), "{e}");
    // A statement above the size limit is refused by its size, unparsed.
    let big = format!(
        "SELECT * FROM counter WHERE upto = '{}'",
        "x".repeat(10 << 20)
    );
    let e = refused(&big);
    assert!(e.contains("above the limit of 65536"), "{e}");
    // Arbitrary bytes as SQL: an error or a plan, never a panic.
    let mut x: u64 = 1;
    for _ in 0..2_000 {
        let sql: String = (0..40)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let pieces = [
                    "SELECT", "*", "FROM", "counter", "quotes", "WHERE", "=", "'a'", "(", ")", ",",
                    "AND", "IN", "?", "$1", "LIMIT", "1", "=>", ".", "\"", "-", "ARRAY[", "]",
                ];
                pieces[(x >> 33) as usize % pieces.len()]
            })
            .collect::<Vec<_>>()
            .join(" ");
        if let Err(e) = plan(&sql, &catalog(), |_| true) {
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{sql}: {e}");
        }
    }
}

mod metadata {
    use super::*;
    use fastflight::arrow::array::{Array, AsArray};
    use fastflight::arrow_flight::sql::{
        CommandGetDbSchemas, CommandGetSqlInfo, CommandGetTables, CommandGetXdbcTypeInfo, SqlInfo,
    };
    use fastflight::sql::metadata;

    fn strings(batch: &fastflight::arrow::array::RecordBatch, column: &str) -> Vec<String> {
        batch
            .column_by_name(column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", batch.schema()))
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap_or_default().to_owned())
            .collect()
    }

    fn names(batch: &fastflight::arrow::array::RecordBatch) -> Vec<String> {
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[test]
    fn catalogs_schemas_tables_and_types_are_answered_in_the_spec_s_columns() {
        let catalog = catalog();
        let all: Vec<&Table> = catalog.tables().iter().collect();
        let batch = metadata::catalogs().unwrap();
        assert_eq!(names(&batch), ["catalog_name"]);
        assert_eq!(strings(&batch, "catalog_name"), ["fastflight"]);

        let batch = metadata::db_schemas(CommandGetDbSchemas::default(), &all).unwrap();
        assert_eq!(names(&batch), ["catalog_name", "db_schema_name"]);
        assert_eq!(strings(&batch, "db_schema_name"), ["sql.test"]);
        let none = CommandGetDbSchemas {
            catalog: None,
            db_schema_filter_pattern: Some("other%".into()),
        };
        assert_eq!(metadata::db_schemas(none, &all).unwrap().num_rows(), 0);

        let with_schema = CommandGetTables {
            include_schema: true,
            ..Default::default()
        };
        let batch = metadata::tables(with_schema, &all).unwrap();
        assert_eq!(
            names(&batch),
            [
                "catalog_name",
                "db_schema_name",
                "table_name",
                "table_type",
                "table_schema"
            ]
        );
        assert_eq!(strings(&batch, "table_name"), ["counter", "quotes"]);
        assert_eq!(strings(&batch, "table_type"), ["TABLE", "TABLE FUNCTION"]);
        // Each table's schema, as Arrow IPC: the row type's.
        let ipc = batch
            .column_by_name("table_schema")
            .unwrap()
            .as_binary::<i32>();
        let schema =
            fastflight::arrow::ipc::convert::try_schema_from_ipc_buffer(ipc.value(1)).unwrap();
        assert_eq!(schema, *Quote::schema());
        // Filtered by name pattern and type.
        let functions = CommandGetTables {
            table_name_filter_pattern: Some("q%".into()),
            table_types: vec!["TABLE FUNCTION".into()],
            ..Default::default()
        };
        let batch = metadata::tables(functions, &all).unwrap();
        assert_eq!(strings(&batch, "table_name"), ["quotes"]);
        assert_eq!(names(&batch).len(), 4, "no schema column unless asked");
        // Only what the caller may see is listed.
        let visible: Vec<&Table> = all
            .iter()
            .copied()
            .filter(|t| t.name == "counter")
            .collect();
        let batch = metadata::tables(CommandGetTables::default(), &visible).unwrap();
        assert_eq!(strings(&batch, "table_name"), ["counter"]);

        let batch = metadata::table_types().unwrap();
        assert_eq!(names(&batch), ["table_type"]);
        assert_eq!(strings(&batch, "table_type"), ["TABLE", "TABLE FUNCTION"]);
    }

    #[test]
    fn sql_info_and_types_are_answered_for_tools_to_browse() {
        let batch = metadata::sql_info(CommandGetSqlInfo::default()).unwrap();
        assert_eq!(names(&batch), ["info_name", "value"]);
        assert!(batch.num_rows() > 40, "{} infos", batch.num_rows());
        let asked = CommandGetSqlInfo {
            info: vec![
                SqlInfo::FlightSqlServerName as u32,
                SqlInfo::FlightSqlServerReadOnly as u32,
                SqlInfo::SqlIdentifierQuoteChar as u32,
            ],
        };
        let batch = metadata::sql_info(asked).unwrap();
        assert_eq!(batch.num_rows(), 3);
        let info = batch
            .column(0)
            .as_primitive::<fastflight::arrow::datatypes::UInt32Type>();
        assert_eq!(info.values().to_vec(), [0, 3, 504]);
        let value = batch.column(1);
        let union = value
            .as_any()
            .downcast_ref::<fastflight::arrow::array::UnionArray>()
            .unwrap();
        // The name is a string (type id 0), read-only a boolean (type id 1).
        assert_eq!(union.type_id(0), 0);
        assert_eq!(union.value(0).as_string::<i32>().value(0), "fastflight");
        assert_eq!(union.type_id(1), 1);
        assert!(union.value(1).as_boolean().value(0));
        assert_eq!(union.value(2).as_string::<i32>().value(0), "\"");

        let batch = metadata::xdbc_type_info(CommandGetXdbcTypeInfo::default()).unwrap();
        let types = strings(&batch, "type_name");
        assert!(
            types.contains(&"VARCHAR".to_owned()) && types.contains(&"BIGINT".to_owned()),
            "{types:?}"
        );
        assert_eq!(
            names(&batch)[..3],
            ["type_name", "data_type", "column_size"]
        );
    }
}

/// Flight SQL on a real server, read by arrow-flight's own Flight SQL client.
pub(crate) mod flight_sql {
    use super::*;
    use fastflight::arrow::array::{AsArray, RecordBatch};
    use fastflight::arrow::datatypes::Float64Type;
    use fastflight::arrow_flight::sql::client::FlightSqlServiceClient;
    use fastflight::arrow_flight::sql::{
        CommandGetTables, CommandStatementUpdate, ProstMessageExt, SqlInfo,
    };
    use fastflight::arrow_flight::{FlightDescriptor, FlightInfo, Ticket};
    use futures::TryStreamExt;
    use prost::Message as _;
    use std::time::Duration;

    pub(crate) type SqlClient = FlightSqlServiceClient<tonic::transport::Channel>;

    pub(crate) async fn sql_client(server: &crate::support::TestServer) -> SqlClient {
        let url = server.location.replace("grpc://", "http://");
        let channel = tonic::transport::Channel::from_shared(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        FlightSqlServiceClient::new(channel)
    }

    /// Every endpoint of `info` read whole, under a deadline.
    pub(crate) async fn read(client: &mut SqlClient, info: FlightInfo) -> Vec<RecordBatch> {
        let mut batches = Vec::new();
        for endpoint in info.endpoint {
            let ticket = endpoint.ticket.expect("an endpoint's ticket");
            let stream = tokio::time::timeout(Duration::from_secs(20), client.do_get(ticket))
                .await
                .expect("DoGet answers in time")
                .unwrap();
            let part: Vec<RecordBatch> =
                tokio::time::timeout(Duration::from_secs(20), stream.try_collect())
                    .await
                    .expect("the result ends in time")
                    .unwrap();
            batches.extend(part);
        }
        batches
    }

    pub(crate) fn rows(batches: &[RecordBatch]) -> usize {
        batches.iter().map(RecordBatch::num_rows).sum()
    }

    #[tokio::test]
    async fn a_statement_is_answered_through_the_dispatch_cut_to_its_columns_and_limit() {
        let server = crate::support::start().await;
        let mut sql = sql_client(&server).await;
        let info = sql
            .execute(
                "SELECT price, symbol AS s FROM quotes(symbol => 'ACME', depth => 4) LIMIT 3"
                    .into(),
                None,
            )
            .await
            .unwrap();
        let schema = info.clone().try_decode_schema().unwrap();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["price", "s"]);
        assert_eq!(info.endpoint.len(), 1);
        let batches = read(&mut sql, info).await;
        assert_eq!(rows(&batches), 3);
        let prices: Vec<f64> = batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Float64Type>().values().to_vec())
            .collect();
        assert_eq!(prices, [0.0, 1.0, 2.0]);
        assert_eq!(batches[0].schema().field(1).name(), "s");
        assert_eq!(batches[0].column(1).as_string::<i32>().value(0), "ACME");
        // The same rows as the JSON ticket's, for the same request.
        let client = crate::support::client(&server).await;
        let quotes: Vec<Quote> = client
            .quotes_params(QuotesParams {
                symbol: "ACME".into(),
                sides: None,
                depth: 4,
            })
            .await
            .unwrap()
            .collect_vec()
            .await
            .unwrap();
        assert_eq!(
            quotes.iter().take(3).map(|q| q.price).collect::<Vec<_>>(),
            prices
        );

        // LIMIT stops an endless service: the answer ends at once.
        let info = sql
            .execute(
                "SELECT * FROM counter(upto => 1000000000000) LIMIT 2".into(),
                None,
            )
            .await
            .unwrap();
        assert_eq!(rows(&read(&mut sql, info).await), 2);

        // A partitioned service: one endpoint per part, every row once.
        let info = sql
            .execute(
                "SELECT id FROM synthetic(rows => 10000, partitions => 4)".into(),
                None,
            )
            .await
            .unwrap();
        assert_eq!(info.endpoint.len(), 4);
        let batches = read(&mut sql, info).await;
        assert_eq!(rows(&batches), 10_000);
        assert_eq!(batches[0].num_columns(), 1);
    }

    #[tokio::test]
    async fn metadata_is_answered_for_tools_to_browse() {
        let server = crate::support::start().await;
        let mut sql = sql_client(&server).await;
        let info = sql.get_catalogs().await.unwrap();
        let batches = read(&mut sql, info).await;
        assert_eq!(
            batches[0].column(0).as_string::<i32>().value(0),
            "fastflight"
        );
        let info = sql
            .get_tables(CommandGetTables {
                include_schema: true,
                db_schema_filter_pattern: Some("sql.test".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let batches = read(&mut sql, info).await;
        let names: Vec<&str> = batches[0]
            .column(2)
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect();
        assert_eq!(names, ["counter", "quotes"]);
        let info = sql
            .get_sql_info(vec![SqlInfo::FlightSqlServerName])
            .await
            .unwrap();
        assert_eq!(rows(&read(&mut sql, info).await), 1);
        let info = sql.get_table_types().await.unwrap();
        assert_eq!(rows(&read(&mut sql, info).await), 2);
    }

    #[tokio::test]
    async fn bad_statements_and_commands_are_refused_by_name() {
        let server = crate::support::start().await;
        let mut sql = sql_client(&server).await;
        let e = sql
            .execute("SELECT * FROM nowhere".into(), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no table nowhere") && e.contains("invalid argument"),
            "{e}"
        );
        let e = sql
            .execute("SELECT * FROM quotes(symbol => 5)".into(), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("symbol"),
            "the request's own decoding names the field: {e}"
        );
        let e = sql
            .execute("SELECT * FROM counter".into(), Some("tx".into()))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("no transactions"), "{e}");
        // A command it does not answer.
        let channel =
            tonic::transport::Channel::from_shared(server.location.replace("grpc://", "http://"))
                .unwrap()
                .connect()
                .await
                .unwrap();
        let mut flight =
            fastflight::arrow_flight::flight_service_client::FlightServiceClient::new(channel);
        let update = CommandStatementUpdate {
            query: "DELETE FROM counter".into(),
            transaction_id: None,
        };
        let e = flight
            .get_flight_info(FlightDescriptor::new_cmd(update.as_any().encode_to_vec()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unimplemented, "{e}");
        // A ticket that is neither JSON nor a command; a handle this server did not make.
        let e = flight
            .do_get(Ticket::new(vec![0xff, 0x00, 0x13]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
        assert!(
            e.message()
                .contains("neither a JSON request (invalid ticket: the ticket is not valid JSON"),
            "{e}"
        );
        let forged = fastflight::arrow_flight::sql::TicketStatementQuery {
            statement_handle: "not json".into(),
        };
        let e = flight
            .do_get(Ticket::new(forged.as_any().encode_to_vec()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
        assert!(e.message().contains("not one this server made"), "{e}");
        // A forged handle of more parts than any service splits into: refused before any
        // part is opened.
        let forged = fastflight::arrow_flight::sql::TicketStatementQuery {
            statement_handle: serde_json::to_vec(&json!({
                "sql": "SELECT * FROM counter LIMIT 1",
                "parts": vec![json!({"param_type": "sql.test.Counter"}); 1025]
            }))
            .unwrap()
            .into(),
        };
        let e = flight
            .do_get(Ticket::new(forged.as_any().encode_to_vec()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
        assert!(
            e.message().contains("names 1025 parts; at most 1024"),
            "{e}"
        );
        // A handle naming a part of another service is only a JSON ticket: served (or
        // refused) as that ticket would be, its columns checked.
        let forged = fastflight::arrow_flight::sql::TicketStatementQuery {
            statement_handle: serde_json::to_vec(&json!({
                "sql": "SELECT symbol FROM counter",
                "part": {"param_type": "no.such.Service"}
            }))
            .unwrap()
            .into(),
        };
        let e = flight
            .do_get(Ticket::new(forged.as_any().encode_to_vec()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound, "{e}");
    }
}

mod prepared {
    use super::flight_sql::{read, rows, sql_client, SqlClient};
    use fastflight::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, UInt64Array};
    use fastflight::arrow::datatypes::{DataType, Float64Type};
    use std::sync::Arc;

    type Prepared =
        fastflight::arrow_flight::sql::client::PreparedStatement<tonic::transport::Channel>;

    /// The statement of a symbol and a depth, prepared.
    async fn prepare_quotes(sql: &mut SqlClient) -> Prepared {
        sql.prepare(
            "SELECT price FROM quotes WHERE symbol = ? AND depth = ?".into(),
            None,
        )
        .await
        .unwrap()
    }

    fn params(symbols: &[&str], depths: &[u64]) -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "symbol",
                Arc::new(StringArray::from(symbols.to_vec())) as ArrayRef,
            ),
            (
                "depth",
                Arc::new(UInt64Array::from(depths.to_vec())) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[tokio::test]
    async fn a_prepared_statement_has_both_schemas_and_takes_its_parameters_by_doput() {
        let server = crate::support::start().await;
        let mut sql = sql_client(&server).await;
        let mut prepared = prepare_quotes(&mut sql).await;
        let dataset = prepared.dataset_schema().unwrap().clone();
        assert_eq!(dataset.fields().len(), 1);
        assert_eq!(dataset.field(0).name(), "price");
        let parameters = prepared.parameter_schema().unwrap().clone();
        let kinds: Vec<(&str, &DataType)> = parameters
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        assert_eq!(
            kinds,
            [("symbol", &DataType::Utf8), ("depth", &DataType::UInt64)]
        );
        prepared.set_parameters(params(&["ZZ"], &[3])).unwrap();
        let info = prepared.execute().await.unwrap();
        let batches = read(&mut sql, info).await;
        let prices: Vec<f64> = batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Float64Type>().values().to_vec())
            .collect();
        assert_eq!(prices, [0.0, 1.0, 2.0]);
        // Bound again, the same prepared statement answers for the new values.
        prepared.set_parameters(params(&["YY"], &[1])).unwrap();
        let info = prepared.execute().await.unwrap();
        assert_eq!(rows(&read(&mut sql, info).await), 1);
        prepared.close().await.unwrap();

        // Without parameters.
        let mut plain = sql
            .prepare("SELECT * FROM counter(upto => 2)".into(), None)
            .await
            .unwrap();
        assert_eq!(plain.parameter_schema().unwrap().fields().len(), 0);
        assert_eq!(plain.dataset_schema().unwrap().fields().len(), 3);
        let info = plain.execute().await.unwrap();
        assert_eq!(rows(&read(&mut sql, info).await), 2);
    }

    #[tokio::test]
    async fn bad_bindings_are_refused_naming_what_is_wrong() {
        let server = crate::support::start().await;
        let mut sql = sql_client(&server).await;
        let mut prepared = prepare_quotes(&mut sql).await;
        // Two rows for a query.
        prepared
            .set_parameters(params(&["A", "B"], &[1, 2]))
            .unwrap();
        let e = prepared.execute().await.unwrap_err().to_string();
        assert!(e.contains("bind one row of parameters"), "{e}");
        // One value of two.
        let one = RecordBatch::try_from_iter([(
            "symbol",
            Arc::new(StringArray::from(vec!["A"])) as ArrayRef,
        )])
        .unwrap();
        prepared.set_parameters(one).unwrap();
        let e = prepared.execute().await.unwrap_err().to_string();
        assert!(
            e.contains("the statement has 2 parameters, 1 were bound"),
            "{e}"
        );
        // A value the request's field does not take: named by the request's decoding.
        let wrong = RecordBatch::try_from_iter([
            ("symbol", Arc::new(StringArray::from(vec!["A"])) as ArrayRef),
            (
                "depth",
                Arc::new(StringArray::from(vec!["deep"])) as ArrayRef,
            ),
        ])
        .unwrap();
        prepared.set_parameters(wrong).unwrap();
        let e = prepared.execute().await.unwrap_err().to_string();
        assert!(e.contains("field `depth`"), "{e}");
        // Executed without its parameters bound.
        let mut unbound = sql
            .prepare("SELECT price FROM quotes WHERE symbol = ?".into(), None)
            .await
            .unwrap();
        let e = unbound.execute().await.unwrap_err().to_string();
        assert!(
            e.contains("the statement has 1 parameter, 0 were bound"),
            "{e}"
        );
        // Preparing what cannot be planned fails at once.
        let e = sql
            .prepare("SELECT * FROM quotes ORDER BY price".into(), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("ORDER BY is not supported"), "{e}");
    }
}

/// DoPut is bounded before use: how many messages, and how long between them.
mod bounded_put {
    use super::*;
    use fastflight::arrow::array::{ArrayRef, RecordBatch, StringArray};
    use fastflight::arrow_flight::encode::FlightDataEncoderBuilder;
    use fastflight::arrow_flight::sql::{CommandPreparedStatementQuery, ProstMessageExt};
    use fastflight::arrow_flight::FlightDescriptor;
    use futures::{StreamExt, TryStreamExt};
    use prost::Message as _;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// A server of the SQL test services whose clients may stall for `stall`.
    async fn server(stall: Duration) -> String {
        let registry = fastflight::Registry::global()
            .unwrap()
            .select(["sql.test.QuotesParams", "sql.test.Counter"])
            .unwrap();
        let bound = fastflight::Server::builder()
            .location("grpc://127.0.0.1:0")
            .registry(registry)
            .stall_timeout(Some(stall))
            .bind()
            .await
            .unwrap();
        crate::support::serve_with_gateway(bound).await.0
    }

    /// The descriptor of a DoPut binding the parameters of `SELECT .. WHERE symbol = ?`:
    /// its handle is the statement itself (stateless, as any prepare gives it).
    fn descriptor() -> FlightDescriptor {
        let handle =
            serde_json::to_vec(&json!({"sql": "SELECT price FROM quotes WHERE symbol = ?"}))
                .unwrap();
        let command = CommandPreparedStatementQuery {
            prepared_statement_handle: handle.into(),
        };
        FlightDescriptor::new_cmd(command.as_any().encode_to_vec())
    }

    #[tokio::test]
    async fn a_doput_of_endless_empty_batches_is_refused_by_its_count() {
        let location = server(Duration::from_secs(30)).await;
        let descriptor = descriptor();
        let empty = RecordBatch::try_from_iter([(
            "symbol",
            Arc::new(StringArray::from(Vec::<&str>::new())) as ArrayRef,
        )])
        .unwrap();
        // The schema, then 40 empty batches (which arrow-flight's encoder would leave out).
        let mut messages = fastflight::arrow_flight::utils::batches_to_flight_data(
            &empty.schema(),
            std::iter::repeat_n(&empty, 40),
        )
        .unwrap();
        messages[0].flight_descriptor = Some(descriptor);
        assert!(messages.len() > 17, "{} messages sent", messages.len());
        let mut raw = crate::support::raw_client(&location).await;
        let e = tokio::time::timeout(
            Duration::from_secs(20),
            raw.do_put(futures::stream::iter(messages)),
        )
        .await
        .expect("answered in time")
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
        assert!(e.message().contains("more than 16 batches"), "{e}");
    }

    #[tokio::test]
    async fn a_doput_that_stops_sending_is_cut_past_the_stall_timeout() {
        let location = server(Duration::from_millis(500)).await;
        let descriptor = descriptor();
        let one = RecordBatch::try_from_iter([(
            "symbol",
            Arc::new(StringArray::from(vec!["A"])) as ArrayRef,
        )])
        .unwrap();
        // The schema, then nothing: the stream stays open and silent.
        let schema_only: Vec<_> = FlightDataEncoderBuilder::new()
            .with_flight_descriptor(Some(descriptor))
            .with_schema(one.schema())
            .build(futures::stream::empty())
            .try_collect()
            .await
            .unwrap();
        let silent = futures::stream::iter(schema_only).chain(futures::stream::pending());
        let mut raw = crate::support::raw_client(&location).await;
        let started = Instant::now();
        let e = tokio::time::timeout(Duration::from_secs(20), raw.do_put(silent))
            .await
            .expect("cut in time")
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::DeadlineExceeded, "{e}");
        assert!(e.message().contains("stall_timeout"), "{e}");
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
}

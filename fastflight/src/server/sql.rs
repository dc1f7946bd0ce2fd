//! Flight SQL on the Flight port (the `flight-sql` feature): a descriptor's command or
//! a ticket that is not a JSON object is a packed Flight SQL command. A statement is
//! planned ([`crate::sql::plan`]) into a JSON ticket that the dispatch serves as any
//! other — the same authentication, admission, limits, shares and log line — and its
//! result cut to the columns and rows asked for; the metadata commands are answered
//! from the catalog, listing only what the caller may call.
//!
//! A statement's handle is the statement itself (with its bound parameters and, for a
//! part of a partitioned result, that part's ticket): any replica can answer it, and
//! nothing is kept between calls.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::sql::{Any, Command, ProstMessageExt, TicketStatementQuery};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo, Ticket};
use futures::StreamExt;
use prost::Message as _;
use serde_json::Value;
use tonic::Status;

use super::flight::FlightHandler;
use super::routes::FlightRoutes;
use crate::dispatch::ResultStream;
use crate::service::Context;
use crate::sql::catalog::{Catalog, Table};
use crate::sql::metadata;
use crate::sql::plan::{plan, Plan};
use crate::Error;

/// A statement as its handle carries it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Handle {
    /// The statement.
    sql: String,
    /// Its parameters' values, bound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    params: Vec<Value>,
    /// The ticket of one part of a partitioned result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    part: Option<Value>,
}

impl Handle {
    fn encode(&self) -> Result<bytes::Bytes, Status> {
        serde_json::to_vec(self)
            .map(bytes::Bytes::from)
            .map_err(|e| Status::internal(e.to_string()))
    }

    fn decode(bytes: &[u8]) -> Result<Self, Status> {
        serde_json::from_slice(bytes).map_err(|e| {
            Status::invalid_argument(format!(
                "the statement handle is not one this server made: {}",
                crate::error::clip(&e.to_string())
            ))
        })
    }
}

/// The Flight SQL command packed in `bytes`; bytes that are no Flight SQL message are
/// refused with what the JSON codec says of them too.
fn command(bytes: &[u8]) -> Result<Command, Status> {
    let neither = || {
        let json = match crate::ticket::decode(bytes) {
            Err(e) => e.to_string(),
            Ok(_) => "a JSON request".to_owned(),
        };
        Status::invalid_argument(format!(
            "the request is neither a JSON request ({json}) nor a Flight SQL command"
        ))
    };
    let any = Any::decode(bytes).map_err(|_| neither())?;
    if !any
        .type_url
        .starts_with("type.googleapis.com/arrow.flight.protocol.sql.")
    {
        return Err(neither());
    }
    Command::try_from(any).map_err(|e| {
        Status::invalid_argument(format!(
            "not a Flight SQL command this server knows: {}",
            crate::error::clip(&e.to_string())
        ))
    })
}

/// The tables `ctx`'s caller may call.
fn visible<'a>(catalog: &'a Catalog, ctx: &Context) -> Vec<&'a Table> {
    catalog
        .tables()
        .iter()
        .filter(|t| t.entry.visible_to(ctx.identity()))
        .collect()
}

/// The plan of a statement for `ctx`'s caller, its parameters bound.
fn planned(catalog: &Catalog, sql: &str, params: &[Value], ctx: &Context) -> Result<Plan, Status> {
    let mut plan = plan(sql, catalog, |t| t.entry.visible_to(ctx.identity()))?;
    if !plan.parameters.is_empty() || !params.is_empty() {
        plan.bind(params)?;
    }
    Ok(plan)
}

/// The answer of a metadata command, `None` for a command that is not one.
fn metadata_batch(
    command: Command,
    catalog: &Catalog,
    ctx: &Context,
) -> Option<crate::Result<RecordBatch>> {
    Some(match command {
        Command::CommandGetSqlInfo(c) => metadata::sql_info(c),
        Command::CommandGetXdbcTypeInfo(c) => metadata::xdbc_type_info(c),
        Command::CommandGetCatalogs(_) => metadata::catalogs(),
        Command::CommandGetDbSchemas(c) => metadata::db_schemas(c, &visible(catalog, ctx)),
        Command::CommandGetTables(c) => metadata::tables(c, &visible(catalog, ctx)),
        Command::CommandGetTableTypes(_) => metadata::table_types(),
        _ => return None,
    })
}

/// Keys, imports, exports and cross references: none, answered as empty results.
fn empty_metadata(command: &Command) -> Option<SchemaRef> {
    match command {
        Command::CommandGetPrimaryKeys(_) => Some(primary_keys_schema()),
        Command::CommandGetExportedKeys(_)
        | Command::CommandGetImportedKeys(_)
        | Command::CommandGetCrossReference(_) => Some(foreign_keys_schema()),
        _ => None,
    }
}

/// The schema of `CommandGetPrimaryKeys`' answer.
fn primary_keys_schema() -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    std::sync::Arc::new(Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_name", DataType::Utf8, true),
        Field::new("key_sequence", DataType::Int32, false),
    ]))
}

/// The schema of the answers of the foreign-key commands.
fn foreign_keys_schema() -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    std::sync::Arc::new(Schema::new(vec![
        Field::new("pk_catalog_name", DataType::Utf8, true),
        Field::new("pk_db_schema_name", DataType::Utf8, true),
        Field::new("pk_table_name", DataType::Utf8, false),
        Field::new("pk_column_name", DataType::Utf8, false),
        Field::new("fk_catalog_name", DataType::Utf8, true),
        Field::new("fk_db_schema_name", DataType::Utf8, true),
        Field::new("fk_table_name", DataType::Utf8, false),
        Field::new("fk_column_name", DataType::Utf8, false),
        Field::new("key_sequence", DataType::Int32, false),
        Field::new("fk_key_name", DataType::Utf8, true),
        Field::new("pk_key_name", DataType::Utf8, true),
        Field::new("update_rule", DataType::UInt8, false),
        Field::new("delete_rule", DataType::UInt8, false),
    ]))
}

fn unanswered(command: &Command) -> Status {
    Status::unimplemented(format!(
        "{} is not answered: this server answers queries (statements and prepared statements) and the metadata commands",
        command.type_url()
    ))
}

impl FlightHandler {
    /// GetFlightInfo of a Flight SQL command: a statement's endpoints (one per part of
    /// its service's result, spread as for a JSON request) and its schema; a metadata
    /// command's schema, and one endpoint whose ticket is the command.
    pub(super) async fn sql_info(
        &self,
        descriptor: FlightDescriptor,
        ctx: Context,
        with_schema: bool,
    ) -> Result<FlightInfo, Status> {
        let command = command(&descriptor.cmd)?;
        let info = FlightInfo::new()
            .with_descriptor(descriptor.clone())
            .with_total_records(-1)
            .with_total_bytes(-1);
        let metadata = match metadata_batch(command.clone(), &self.sql, &ctx) {
            Some(batch) => Some(batch?.schema()),
            None => empty_metadata(&command),
        };
        if let Some(schema) = metadata {
            // One endpoint, whose ticket is the command itself.
            return info
                .try_with_schema(&schema)
                .map_err(|e| Status::internal(e.to_string()))
                .map(|info| {
                    info.with_endpoint(
                        FlightEndpoint::new().with_ticket(Ticket::new(descriptor.cmd)),
                    )
                });
        }
        let Command::CommandStatementQuery(query) = command else {
            return Err(unanswered(&command));
        };
        if query.transaction_id.is_some() {
            return Err(Status::invalid_argument(
                "this server has no transactions: send the statement without one",
            ));
        }
        let plan = planned(&self.sql, &query.query, &[], &ctx)?;
        let parts = self
            .dispatcher
            .plan(&plan.ticket(), ctx, with_schema)
            .await?;
        let mut info = info.with_ordered(parts.ordered);
        if let Some(schema) = &parts.schema {
            info = info
                .try_with_schema(plan.output_schema(schema)?.as_ref())
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        let several = parts.parts.len() > 1;
        let locations = self.topology.locations(parts.parts.len()).await;
        for (part, locations) in parts.parts.into_iter().zip(locations) {
            let handle = Handle {
                sql: query.query.clone(),
                params: Vec::new(),
                part: if several {
                    Some(
                        serde_json::from_slice(&part)
                            .map_err(|e| Status::internal(e.to_string()))?,
                    )
                } else {
                    None
                },
            };
            let ticket = TicketStatementQuery {
                statement_handle: handle.encode()?,
            };
            let mut endpoint =
                FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec()));
            for location in locations {
                endpoint = endpoint.with_location(location);
            }
            info = info.with_endpoint(endpoint);
        }
        Ok(info)
    }
}

impl FlightRoutes {
    /// DoGet of a Flight SQL ticket: a statement's result (through the dispatch, cut to
    /// its columns and limit), or a metadata command's answer.
    pub(super) async fn sql_result(
        &self,
        ticket: &[u8],
        ctx: Context,
    ) -> Result<ResultStream, Status> {
        let command = command(ticket)?;
        if let Some(batch) = metadata_batch(command.clone(), &self.sql, &ctx) {
            let batch = batch?;
            return Ok(ResultStream {
                schema: batch.schema(),
                batches: futures::stream::iter([Ok(batch)]).boxed(),
            });
        }
        if let Some(schema) = empty_metadata(&command) {
            return Ok(ResultStream {
                schema,
                batches: futures::stream::empty().boxed(),
            });
        }
        let Command::TicketStatementQuery(ticket) = command else {
            return Err(unanswered(&command));
        };
        let handle = Handle::decode(&ticket.statement_handle)?;
        let plan = planned(&self.sql, &handle.sql, &handle.params, &ctx)?;
        let json = match &handle.part {
            Some(part) => bytes::Bytes::from(part.to_string()),
            None => plan.ticket(),
        };
        let result = self.dispatcher.open(&json, ctx, "sql").await?;
        let schema = plan.output_schema(&result.schema)?;
        Ok(ResultStream {
            schema: schema.clone(),
            batches: cut(result.batches, plan, schema),
        })
    }
}

/// The batches cut to the plan's columns, and ended after its limit (the service's
/// stream dropped then, which stops it).
fn cut(
    batches: crate::service::BatchStream,
    plan: Plan,
    schema: SchemaRef,
) -> crate::service::BatchStream {
    let left = plan.limit;
    futures::stream::unfold(
        (batches, plan, schema, left),
        |(mut batches, plan, schema, left)| async move {
            if left == Some(0) {
                return None;
            }
            let batch = match batches.next().await? {
                Ok(batch) => batch,
                Err(e) => return Some((Err(e), (batches, plan, schema, left))),
            };
            let batch = match plan.project(&batch, &schema) {
                Ok(batch) => batch,
                Err(e) => return Some((Err(e), (batches, plan, schema, Some(0)))),
            };
            let rows = batch.num_rows() as u64;
            let (batch, left) = match left {
                Some(n) if rows > n => (batch.slice(0, n as usize), Some(0)),
                Some(n) => (batch, Some(n - rows)),
                None => (batch, None),
            };
            Some((Ok::<_, Error>(batch), (batches, plan, schema, left)))
        },
    )
    .boxed()
}

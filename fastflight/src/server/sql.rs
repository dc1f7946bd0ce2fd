//! Flight SQL on the Flight port (the `flight-sql` feature): a descriptor's command or
//! a ticket that is not a JSON object is a packed Flight SQL command. A statement is
//! planned ([`crate::sql::plan`]) into a JSON ticket that the dispatch serves as any
//! other — the same authentication, admission, limits, shares and log line — and its
//! result cut to the columns and rows asked for; the metadata commands are answered
//! from the catalog, listing only what the caller may call.
//!
//! A statement's handle is the statement itself (with its bound parameters, its
//! session's default schema and, for a part of a partitioned result, that part's
//! ticket): any replica can answer it, and nothing is kept between calls but the
//! statements being read, for `CancelFlightInfo` ([`crate::sql::running`]).

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::datatypes::{DataType, Field, Schema};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, Command, DoPutPreparedStatementResult,
    ProstMessageExt, TicketStatementQuery,
};
use arrow_flight::{
    Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus, FlightData,
    FlightDescriptor, FlightEndpoint, FlightInfo, PutResult, Ticket,
};
use futures::StreamExt;
use prost::Message as _;
use serde_json::Value;
use tonic::Status;

use super::flight::{
    FlightHandler, CANCEL_FLIGHT_INFO, CLOSE_PREPARED_STATEMENT, CREATE_PREPARED_STATEMENT,
};
use super::routes::FlightRoutes;
use crate::dispatch::ResultStream;
use crate::service::Context;
use crate::sql::catalog::{Catalog, Table};
use crate::sql::metadata;
use crate::sql::plan::{plan_in, Parameter, Plan};
use crate::sql::session::{self, Session};
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
    /// The tickets of every part, read here one after another: a partitioned result
    /// under a `LIMIT`, which only one reader can count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parts: Vec<Value>,
    /// The default schema of table names alone (the session's, when prepared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    /// Which execution of the statement (a GetFlightInfo) a ticket is of, so that
    /// cancelling one leaves the others be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<u64>,
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
        .filter(|t| may_see(t, ctx))
        .collect()
}

/// Whether `ctx`'s caller may see `table` listed (as listings of services decide).
fn may_see(table: &Table, ctx: &Context) -> bool {
    table.entry.visible_to(ctx.identity())
}

/// The plan of a statement for `ctx`'s caller, table names alone looked up in
/// `schema` first, its parameters bound.
fn planned(
    catalog: &Catalog,
    sql: &str,
    schema: Option<&str>,
    params: &[Value],
    ctx: &Context,
) -> Result<Plan, Status> {
    let mut plan = plan_in(sql, catalog, schema, |t| may_see(t, ctx))?;
    if !plan.parameters.is_empty() || !params.is_empty() {
        plan.bind(params)?;
    }
    Ok(plan)
}

/// The session options the caller's cookie carries.
fn session_of(ctx: &Context) -> Session {
    Session::from_cookies(ctx.header("cookie"))
}

/// Whose statements a caller may cancel: its user's, else its address's.
fn owner(ctx: &Context) -> String {
    match (ctx.identity(), ctx.peer()) {
        (Some(identity), _) => format!("user:{}", identity.name()),
        (None, Some(peer)) => format!("peer:{}", peer.ip()),
        (None, None) => String::new(),
    }
}

/// A fresh execution id.
fn run_id() -> u64 {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 8];
    // A failed draw leaves zeros: the tickets of that execution share their key with
    // other such ones, which only widens what one cancel stops to the same caller's.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    u64::from_le_bytes(bytes)
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
        let metadata = match metadata_batch(command.clone(), &self.sql.catalog, &ctx) {
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
        let (sql, params, schema) = match command {
            Command::CommandStatementQuery(query) => {
                no_transaction(query.transaction_id.as_ref())?;
                (query.query, Vec::new(), session_of(&ctx).schema)
            }
            Command::CommandPreparedStatementQuery(prepared) => {
                let handle = Handle::decode(&prepared.prepared_statement_handle)?;
                (handle.sql, handle.params, handle.schema)
            }
            other => return Err(unanswered(&other)),
        };
        let plan = planned(&self.sql.catalog, &sql, schema.as_deref(), &params, &ctx)?;
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
        let run = run_id();
        let handle = |part: Option<Value>, parts: Vec<Value>| Handle {
            sql: sql.clone(),
            params: params.clone(),
            part,
            parts,
            schema: schema.clone(),
            run: Some(run),
        };
        let mut tickets: Vec<Value> = Vec::with_capacity(parts.parts.len());
        for part in &parts.parts {
            tickets
                .push(serde_json::from_slice(part).map_err(|e| Status::internal(e.to_string()))?);
        }
        // A limit over several parts: one reader, here, counts the rows of all. Else one
        // endpoint per part, spread over the topology; a single part's ticket is the
        // statement's own.
        let several = tickets.len() > 1;
        let endpoints: Vec<(Handle, Vec<String>)> = if several && plan.limit.is_some() {
            vec![(handle(None, tickets), Vec::new())]
        } else {
            let locations = self.topology.locations(tickets.len()).await;
            tickets
                .into_iter()
                .zip(locations)
                .map(|(part, locations)| (handle(several.then_some(part), Vec::new()), locations))
                .collect()
        };
        for (handle, locations) in endpoints {
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

    /// A Flight SQL action: `CreatePreparedStatement` (the handle is the statement; its
    /// result's schema and its parameters' schema filled), `ClosePreparedStatement`
    /// (nothing is kept, so nothing to free), `CancelFlightInfo`, and the session
    /// options; the answer's body, and a cookie to set.
    pub(super) async fn sql_action(
        &self,
        action: Action,
        ctx: Context,
    ) -> Result<(bytes::Bytes, Option<String>), Status> {
        let kind = action.r#type.clone();
        let wrong =
            |what: &str| Status::invalid_argument(format!("the body of {kind} is not a{what}"));
        let body = action.body;
        let packed = || {
            Any::decode(body.clone()).map_err(|e| {
                Status::invalid_argument(format!(
                    "the body of {kind} is not a packed Flight SQL message: {e}"
                ))
            })
        };
        match action.r#type.as_str() {
            CREATE_PREPARED_STATEMENT => {
                let request: ActionCreatePreparedStatementRequest = packed()?
                    .unpack()
                    .ok()
                    .flatten()
                    .ok_or_else(|| wrong("n ActionCreatePreparedStatementRequest"))?;
                no_transaction(request.transaction_id.as_ref())?;
                let schema = session_of(&ctx).schema;
                // Its parameters are bound later, by DoPut.
                let plan = plan_in(&request.query, &self.sql.catalog, schema.as_deref(), |t| {
                    may_see(t, &ctx)
                })?;
                let dataset = match plan.table.result_schema() {
                    Some(schema) => plan.output_schema(&schema)?,
                    // Known only once the service runs, which needs its parameters.
                    None if plan.parameters.is_empty() => {
                        let schema = self.dispatcher.schema(&plan.ticket(), ctx, true).await?;
                        plan.output_schema(&schema)?
                    }
                    None => std::sync::Arc::new(Schema::empty()),
                };
                let result = ActionCreatePreparedStatementResult {
                    prepared_statement_handle: Handle {
                        sql: request.query,
                        params: Vec::new(),
                        part: None,
                        parts: Vec::new(),
                        schema,
                        run: None,
                    }
                    .encode()?,
                    dataset_schema: super::flight::schema_bytes(&dataset)?,
                    parameter_schema: super::flight::schema_bytes(&parameter_schema(&plan))?,
                };
                Ok((bytes::Bytes::from(result.as_any().encode_to_vec()), None))
            }
            CLOSE_PREPARED_STATEMENT => {
                let _: ActionClosePreparedStatementRequest = packed()?
                    .unpack()
                    .ok()
                    .flatten()
                    .ok_or_else(|| wrong("n ActionClosePreparedStatementRequest"))?;
                Ok((bytes::Bytes::new(), None))
            }
            CANCEL_FLIGHT_INFO => {
                let request = CancelFlightInfoRequest::decode(body.clone())
                    .map_err(|_| wrong(" CancelFlightInfoRequest"))?;
                let info = request.info.ok_or_else(|| {
                    Status::invalid_argument("CancelFlightInfo names no FlightInfo")
                })?;
                let status = self.cancel(&info, &ctx);
                let result = CancelFlightInfoResult::new(status);
                Ok((bytes::Bytes::from(result.encode_to_vec()), None))
            }
            session::SET_SESSION_OPTIONS => {
                let request = session::SetSessionOptionsRequest::decode(body.clone())
                    .map_err(|_| wrong(" SetSessionOptionsRequest"))?;
                if request.session_options.len() > MAX_SESSION_OPTIONS {
                    return Err(Status::invalid_argument(format!(
                        "{} session options, above the {MAX_SESSION_OPTIONS} a session may set",
                        request.session_options.len()
                    )));
                }
                let mut session = session_of(&ctx);
                let result = session.set(request, &self.sql.catalog);
                Ok((
                    bytes::Bytes::from(result.encode_to_vec()),
                    Some(session.set_cookie()),
                ))
            }
            session::GET_SESSION_OPTIONS => {
                session::GetSessionOptionsRequest::decode(body.clone())
                    .map_err(|_| wrong(" GetSessionOptionsRequest"))?;
                let result = session_of(&ctx).get();
                Ok((bytes::Bytes::from(result.encode_to_vec()), None))
            }
            session::CLOSE_SESSION => {
                session::CloseSessionRequest::decode(body.clone())
                    .map_err(|_| wrong(" CloseSessionRequest"))?;
                let result = session::CloseSessionResult {
                    status: session::CloseStatus::Closed as i32,
                };
                Ok((
                    bytes::Bytes::from(result.encode_to_vec()),
                    Some(Session::clear_cookie()),
                ))
            }
            other => Err(Status::invalid_argument(format!(
                "unknown Flight SQL action `{}`",
                crate::error::clip(other)
            ))),
        }
    }

    /// Cancels the statement whose FlightInfo is `info`: its reads on this server are
    /// ended (their services cancelled) and its tickets refused after. A FlightInfo of
    /// JSON tickets is not cancellable (its reads end when their client drops them).
    fn cancel(&self, info: &FlightInfo, ctx: &Context) -> CancelStatus {
        let owner = owner(ctx);
        let mut statements = 0;
        for endpoint in &info.endpoint {
            let Some(ticket) = &endpoint.ticket else {
                continue;
            };
            if !matches!(
                command(&ticket.ticket),
                Ok(Command::TicketStatementQuery(_))
            ) {
                continue;
            }
            statements += 1;
            let key = self.sql.running.key(&owner, &ticket.ticket);
            self.sql.running.cancel(key);
        }
        if statements == 0 {
            CancelStatus::NotCancellable
        } else {
            CancelStatus::Cancelled
        }
    }

    /// DoPut of a prepared statement's parameters: one row, its columns the parameters
    /// in order; the answer is the statement's new handle, its values bound.
    pub(super) async fn sql_put(
        &self,
        request: tonic::Request<tonic::Streaming<FlightData>>,
    ) -> Result<PutResult, Status> {
        let ctx = Self::context(&request);
        let mut messages = request.into_inner();
        let first = messages
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("DoPut sent no message"))?;
        let descriptor = first
            .flight_descriptor
            .clone()
            .ok_or_else(|| Status::invalid_argument("DoPut's first message has no descriptor"))?;
        // A JSON request, or anything but a Flight SQL command: nothing is written.
        let command = match command(&descriptor.cmd) {
            Ok(command) if !crate::ticket::is_json_object(&descriptor.cmd) => command,
            _ => {
                return Err(Status::unimplemented(
                    "DoPut is not offered for writing: fastflight services are read-only (DoPut binds a prepared statement's parameters)",
                ))
            }
        };
        let Command::CommandPreparedStatementQuery(prepared) = command else {
            return Err(unanswered(&command));
        };
        let handle = Handle::decode(&prepared.prepared_statement_handle)?;
        let messages = futures::stream::once(async { Ok(first) })
            .chain(messages)
            .map(|m| m.map_err(arrow_flight::error::FlightError::from));
        let mut batches =
            arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(messages);
        // Bounded before use: how many messages (each one within `max_request_bytes`),
        // and how long the client may leave the server waiting for the next.
        let stall = self.dispatcher.limits().stall_timeout;
        let mut row: Option<RecordBatch> = None;
        let mut seen = 0;
        loop {
            let next = match stall {
                Some(limit) => tokio::time::timeout(limit, batches.next())
                    .await
                    .map_err(|_| {
                        Status::deadline_exceeded(format!(
                            "the parameters stopped arriving for longer than stall_timeout ({limit:?})"
                        ))
                    })?,
                None => batches.next().await,
            };
            let Some(batch) = next else { break };
            let batch = batch.map_err(|e| {
                Status::invalid_argument(format!("the parameters are not an Arrow stream: {e}"))
            })?;
            seen += 1;
            if seen > MAX_PARAMETER_BATCHES {
                return Err(Status::invalid_argument(format!(
                    "the parameters came in more than {MAX_PARAMETER_BATCHES} batches: send one row in one batch"
                )));
            }
            match (batch.num_rows(), &row) {
                (0, _) => {}
                (1, None) => row = Some(batch),
                (n, _) => {
                    return Err(Status::invalid_argument(format!(
                        "bind one row of parameters to a query, not {} or more",
                        n + usize::from(row.is_some())
                    )))
                }
            }
        }
        let values = match &row {
            Some(row) => row_values(row)?,
            None => Vec::new(),
        };
        // The statement and its values checked now, so a bad one is refused here.
        planned(
            &self.sql.catalog,
            &handle.sql,
            handle.schema.as_deref(),
            &values,
            &ctx,
        )?;
        let result = DoPutPreparedStatementResult {
            prepared_statement_handle: Some(
                Handle {
                    sql: handle.sql,
                    params: values,
                    part: None,
                    parts: Vec::new(),
                    schema: handle.schema,
                    run: None,
                }
                .encode()?,
            ),
        };
        Ok(PutResult {
            app_metadata: result.encode_to_vec().into(),
        })
    }
}

/// The most options one `SetSessionOptions` may set.
const MAX_SESSION_OPTIONS: usize = 16;

/// The most messages of parameters one DoPut may send (one row is bound; empty batches
/// beside it are let be, up to this many).
const MAX_PARAMETER_BATCHES: usize = 16;

/// A statement sent in a transaction: refused, there are none.
fn no_transaction(id: Option<&bytes::Bytes>) -> Result<(), Status> {
    match id {
        Some(_) => Err(Status::invalid_argument(
            "this server has no transactions: send the statement without one",
        )),
        None => Ok(()),
    }
}

/// The values of a one-row batch, column by column, as JSON.
fn row_values(row: &RecordBatch) -> Result<Vec<Value>, Status> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer
        .write(row)
        .and_then(|_| writer.finish())
        .map_err(|e| Status::invalid_argument(format!("a parameter cannot be read: {e}")))?;
    let objects: Vec<serde_json::Map<String, Value>> = serde_json::from_slice(&writer.into_inner())
        .map_err(|e| Status::internal(e.to_string()))?;
    let object = objects.into_iter().next().unwrap_or_default();
    Ok(row
        .schema()
        .fields()
        .iter()
        .map(|f| object.get(f.name()).cloned().unwrap_or(Value::Null))
        .collect())
}

/// The parameters' schema: one column per parameter, in order, named by its request
/// field and typed as the field's Rust type suggests (text otherwise).
fn parameter_schema(plan: &Plan) -> Schema {
    let mut parameters: Vec<&Parameter> = plan.parameters.iter().collect();
    parameters.sort_by_key(|p| p.index);
    parameters.dedup_by_key(|p| p.index);
    let fields: Vec<Field> = parameters
        .into_iter()
        .map(|p| {
            let ty = plan
                .table
                .fields
                .iter()
                .find(|f| f.name == p.field)
                .map_or("String", |f| f.ty);
            Field::new(&p.field, parameter_type(ty), true)
        })
        .collect();
    Schema::new(fields)
}

fn parameter_type(ty: &str) -> DataType {
    match crate::sql::plan::without_option(ty).as_str() {
        "i8" | "i16" | "i32" | "i64" | "isize" => DataType::Int64,
        "u8" | "u16" | "u32" | "u64" | "usize" => DataType::UInt64,
        "f32" | "f64" => DataType::Float64,
        "bool" => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

impl FlightRoutes {
    /// DoGet of a Flight SQL ticket: a statement's result (through the dispatch, cut to
    /// its columns and limit), or a metadata command's answer.
    pub(super) async fn sql_result(
        &self,
        raw: &[u8],
        ctx: Context,
    ) -> Result<ResultStream, Status> {
        let command = command(raw)?;
        // A metadata answer is counted and logged as every stream is, under its
        // command's name.
        let metadata = |schema: SchemaRef, batches: crate::service::BatchStream| {
            let url = command.type_url();
            let name = url.rsplit('.').next().unwrap_or(url);
            ResultStream {
                schema,
                batches: crate::dispatch::accounted(
                    "sql",
                    name,
                    batches,
                    ctx.cancellation_token().drop_guard(),
                    None,
                    ctx.caller(),
                ),
            }
        };
        if let Some(batch) = metadata_batch(command.clone(), &self.sql.catalog, &ctx) {
            let batch = batch?;
            return Ok(metadata(
                batch.schema(),
                futures::stream::iter([Ok(batch)]).boxed(),
            ));
        }
        if let Some(schema) = empty_metadata(&command) {
            return Ok(metadata(schema, futures::stream::empty().boxed()));
        }
        let Command::TicketStatementQuery(ticket) = command else {
            return Err(unanswered(&command));
        };
        let handle = Handle::decode(&ticket.statement_handle)?;
        let plan = planned(
            &self.sql.catalog,
            &handle.sql,
            handle.schema.as_deref(),
            &handle.params,
            &ctx,
        )?;
        // Registered for `CancelFlightInfo` while it is read; a cancelled one is refused.
        let key = self.sql.running.key(&owner(&ctx), raw);
        let run = self.sql.running.start(key).ok_or_else(|| {
            Status::cancelled("the statement was cancelled (CancelFlightInfo): execute it again")
        })?;
        // Parts in a handle are a peer's value: no more than a service may split into.
        if handle.parts.len() > crate::dispatch::MAX_PARTITIONS {
            return Err(Status::invalid_argument(format!(
                "the statement handle names {} parts; at most {} are served",
                handle.parts.len(),
                crate::dispatch::MAX_PARTITIONS
            )));
        }
        let mut parts = handle.parts.into_iter();
        let (first, rest) = match (&handle.part, parts.next()) {
            (Some(part), _) => (bytes::Bytes::from(part.to_string()), None),
            (None, Some(first)) => (bytes::Bytes::from(first.to_string()), Some(parts)),
            (None, None) => (plan.ticket(), None),
        };
        let result = self.dispatcher.open(&first, ctx.child(), "sql").await?;
        let mut batches = result.batches;
        if let Some(rest) = rest {
            // The other parts, each opened once the one before has ended.
            let dispatcher = self.dispatcher.clone();
            let later = futures::stream::iter(rest)
                .then(move |part| {
                    let (dispatcher, ctx) = (dispatcher.clone(), ctx.child());
                    async move {
                        let ticket = bytes::Bytes::from(part.to_string());
                        match dispatcher.open(&ticket, ctx, "sql").await {
                            Ok(result) => result.batches,
                            Err(e) => futures::stream::iter([Err(e)]).boxed(),
                        }
                    }
                })
                .flatten();
            batches = batches.chain(later).boxed();
        }
        let schema = plan.output_schema(&result.schema)?;
        Ok(ResultStream {
            schema: schema.clone(),
            batches: cancellable(crate::sql::cut(batches, plan, schema), run),
        })
    }
}

/// The batches, ended with `Cancelled` once the statement is cancelled (the services'
/// streams dropped then, which stops them).
fn cancellable(
    batches: crate::service::BatchStream,
    run: crate::sql::running::Run,
) -> crate::service::BatchStream {
    futures::stream::unfold(Some((batches, run)), |state| async move {
        let (mut batches, run) = state?;
        let token = run.token().clone();
        tokio::select! {
            biased;
            () = token.cancelled() => Some((
                Err(Error::from(Status::cancelled(
                    "the statement was cancelled (CancelFlightInfo)",
                ))),
                None,
            )),
            next = batches.next() => {
                let next = next?;
                Some((next, Some((batches, run))))
            }
        }
    })
    .boxed()
}

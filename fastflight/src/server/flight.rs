//! The Flight RPCs other than DoGet (GetFlightInfo, GetSchema, ListFlights, actions),
//! answered over the dispatch; the RPCs not offered say so.

use arrow::datatypes::Schema;
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaAsIpc, SchemaResult, Ticket,
};
use futures::stream::{self, BoxStream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::dispatch::Dispatcher;
use crate::service::Context;

/// The actions a server answers (DoAction), with their descriptions.
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "list_services",
        "JSON array of the registered services: request name, handler, fields",
    ),
    (
        "endpoints",
        "the FlightInfo of the request JSON in the body, without its schema (no service runs): its endpoints, one per part, and whether they are ordered",
    ),
    (
        "health",
        "JSON object {\"status\": \"ok\", \"services\": N, \"streams_in_flight\": N}",
    ),
];

/// The actions of Flight SQL a server with the `flight-sql` feature answers too.
#[cfg(feature = "flight-sql")]
pub(super) const SQL_ACTIONS: &[(&str, &str)] = &[
    (
        CREATE_PREPARED_STATEMENT,
        "Flight SQL: prepares a statement (its handle is the statement itself: any replica answers it)",
    ),
    (
        CLOSE_PREPARED_STATEMENT,
        "Flight SQL: closes a prepared statement (nothing is kept)",
    ),
    (
        CANCEL_FLIGHT_INFO,
        "stops the statement a FlightInfo names, and refuses its tickets after (statements only)",
    ),
    (
        crate::sql::session::SET_SESSION_OPTIONS,
        "the session's default `catalog` and `schema`, carried in a cookie (nothing is kept)",
    ),
    (
        crate::sql::session::GET_SESSION_OPTIONS,
        "the session's options, from its cookie",
    ),
    (
        crate::sql::session::CLOSE_SESSION,
        "ends the session (its cookie cleared)",
    ),
];

#[cfg(feature = "flight-sql")]
pub(super) const CREATE_PREPARED_STATEMENT: &str = "CreatePreparedStatement";
#[cfg(feature = "flight-sql")]
pub(super) const CLOSE_PREPARED_STATEMENT: &str = "ClosePreparedStatement";
#[cfg(feature = "flight-sql")]
pub(super) const CANCEL_FLIGHT_INFO: &str = "CancelFlightInfo";

/// The Flight RPCs other than DoGet, over the dispatch; [`super::FlightRoutes`] serves them.
#[derive(Clone)]
pub(super) struct FlightHandler {
    pub(super) dispatcher: Dispatcher,
    pub(super) topology: std::sync::Arc<super::peers::Topology>,
    /// What Flight SQL commands are answered from.
    #[cfg_attr(not(feature = "flight-sql"), allow(dead_code))]
    pub(super) sql: super::SqlState,
}

impl FlightHandler {
    /// A request's FlightInfo: its endpoints (one per part, spread over the topology),
    /// whether they are ordered, and its schema when `schema` (else none, and no service
    /// runs: the `endpoints` action).
    async fn info(
        &self,
        descriptor: FlightDescriptor,
        ctx: Context,
        schema: bool,
    ) -> Result<FlightInfo, Status> {
        let cmd = cmd_of(&descriptor)?.to_vec();
        #[cfg(feature = "flight-sql")]
        if !crate::ticket::is_json_object(&cmd) {
            return self.sql_info(descriptor, ctx, schema).await;
        }
        let plan = self.dispatcher.plan(&cmd, ctx, schema).await?;
        let mut info = FlightInfo::new();
        if let Some(schema) = &plan.schema {
            info = info
                .try_with_schema(schema)
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        let mut info = info
            .with_descriptor(descriptor)
            .with_ordered(plan.ordered)
            .with_total_records(-1)
            .with_total_bytes(-1);
        let locations = self.topology.locations(plan.parts.len()).await;
        for (part, locations) in plan.parts.into_iter().zip(locations) {
            let mut endpoint = FlightEndpoint::new().with_ticket(Ticket::new(part));
            for location in locations {
                endpoint = endpoint.with_location(location);
            }
            info = info.with_endpoint(endpoint);
        }
        Ok(info)
    }

    pub(super) fn new(
        dispatcher: Dispatcher,
        topology: super::peers::Topology,
        sql: super::SqlState,
    ) -> Self {
        Self {
            dispatcher,
            topology: std::sync::Arc::new(topology),
            sql,
        }
    }

    /// The body of an action's one result, and a cookie to set with it.
    async fn action(
        &self,
        action: Action,
        who: Context,
    ) -> Result<(bytes::Bytes, Option<String>), Status> {
        let body = match action.r#type.as_str() {
            "list_services" => {
                json_bytes(&self.dispatcher.registry().services_for(who.identity()))?
            }
            "endpoints" => {
                let descriptor = FlightDescriptor::new_cmd(action.body);
                let info = self.info(descriptor, who, false).await?;
                bytes::Bytes::from(prost::Message::encode_to_vec(&info))
            }
            "health" => json_bytes(&serde_json::json!({
                "status": "ok",
                "services": self.dispatcher.registry().services_for(who.identity()).len(),
                "streams_in_flight": self.dispatcher.in_flight(),
                "ready": self.dispatcher.readiness().is_ok(),
            }))?,
            #[cfg(feature = "flight-sql")]
            name if SQL_ACTIONS.iter().any(|(n, _)| *n == name) => {
                return self.sql_action(action, who).await;
            }
            other => {
                #[cfg(feature = "flight-sql")]
                let known = ACTIONS.iter().chain(SQL_ACTIONS);
                #[cfg(not(feature = "flight-sql"))]
                let known = ACTIONS.iter();
                let known: Vec<&str> = known.map(|(name, _)| *name).collect();
                return Err(Status::invalid_argument(format!(
                    "unknown action `{}`; known actions: {}",
                    crate::error::clip(other),
                    known.join(", ")
                )));
            }
        };
        Ok((body, None))
    }

    pub(super) fn context<T>(request: &Request<T>) -> Context {
        Context::of(
            request.metadata().clone(),
            request.remote_addr(),
            request.extensions().get::<crate::auth::Identity>().cloned(),
        )
    }
}

/// A refusal of one of these RPCs, logged with its caller.
fn logged<T>(caller: &crate::audit::Caller, answer: Result<T, Status>) -> Result<T, Status> {
    answer.inspect_err(|status| {
        crate::audit::refused("flight", &crate::Error::from(status.clone()), caller.who());
    })
}

fn cmd_of(descriptor: &FlightDescriptor) -> Result<&[u8], Status> {
    if descriptor.r#type != arrow_flight::flight_descriptor::DescriptorType::Cmd as i32 {
        return Err(Status::invalid_argument(
            "the descriptor must be a CMD descriptor holding the request JSON",
        ));
    }
    Ok(&descriptor.cmd)
}

pub(super) fn schema_bytes(schema: &Schema) -> Result<bytes::Bytes, Status> {
    let ipc: arrow_flight::IpcMessage = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(ipc.0)
}

fn json_bytes<T: serde::Serialize>(value: &T) -> Result<bytes::Bytes, Status> {
    serde_json::to_vec(value)
        .map(bytes::Bytes::from)
        .map_err(|e| Status::internal(e.to_string()))
}

type Boxed<T> = BoxStream<'static, Result<T, Status>>;

#[tonic::async_trait]
impl FlightService for FlightHandler {
    type HandshakeStream = Boxed<HandshakeResponse>;
    type ListFlightsStream = Boxed<FlightInfo>;
    type DoGetStream = Boxed<FlightData>;
    type DoPutStream = Boxed<PutResult>;
    type DoExchangeStream = Boxed<FlightData>;
    type DoActionStream = Boxed<arrow_flight::Result>;
    type ListActionsStream = Boxed<ActionType>;

    /// Never called: [`super::FlightRoutes`] answers DoGet on its copy-free route
    /// before the generated service sees it.
    async fn do_get(
        &self,
        _request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        Err(Status::internal(
            "DoGet reached the generated service; it is answered by FlightRoutes",
        ))
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ctx = Self::context(&request);
        let caller = ctx.caller();
        let info = logged(&caller, self.info(request.into_inner(), ctx, true).await)?;
        Ok(Response::new(info))
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        let ctx = Self::context(&request);
        let caller = ctx.caller();
        let descriptor = request.into_inner();
        let cmd = logged(&caller, cmd_of(&descriptor))?;
        let schema = logged(
            &caller,
            self.dispatcher
                .schema(cmd, ctx, false)
                .await
                .map_err(Status::from),
        )?;
        Ok(Response::new(SchemaResult {
            schema: schema_bytes(&schema)?,
        }))
    }

    async fn list_flights(
        &self,
        request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        let empty = Schema::empty();
        let who = Self::context(&request);
        let infos: Vec<Result<FlightInfo, Status>> = self
            .dispatcher
            .registry()
            .entries()
            .iter()
            .filter(|entry| entry.visible_to(who.identity()))
            .map(|entry| {
                let schema = (entry.schema)();
                let schema = schema.as_deref().unwrap_or(&empty);
                Ok(FlightInfo::new()
                    .try_with_schema(schema)
                    .map_err(|e| Status::internal(e.to_string()))?
                    .with_descriptor(FlightDescriptor::new_cmd(entry.name().as_bytes().to_vec()))
                    .with_total_records(-1)
                    .with_total_bytes(-1)
                    .with_app_metadata(json_bytes(&entry.info())?))
            })
            .collect();
        Ok(Response::new(stream::iter(infos).boxed()))
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        let who = Self::context(&request);
        let caller = who.caller();
        let action = request.into_inner();
        let (body, cookie) = logged(&caller, self.action(action, who).await)?;
        let mut response =
            Response::new(stream::once(async move { Ok(arrow_flight::Result::new(body)) }).boxed());
        if let Some(cookie) = cookie {
            let value = cookie
                .parse::<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>()
                .map_err(|_| Status::internal("the cookie is not a header value"))?;
            response.metadata_mut().insert("set-cookie", value);
        }
        Ok(response)
    }

    async fn list_actions(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        #[cfg(feature = "flight-sql")]
        let actions = ACTIONS.iter().chain(SQL_ACTIONS);
        #[cfg(not(feature = "flight-sql"))]
        let actions = ACTIONS.iter();
        let actions = actions.map(|(name, description)| {
            Ok(ActionType {
                r#type: (*name).to_owned(),
                description: (*description).to_owned(),
            })
        });
        Ok(Response::new(stream::iter(actions).boxed()))
    }

    /// Basic credentials (the `authorization` header, as pyarrow's
    /// `authenticate_basic_token` sends them; the request messages are read and ignored)
    /// traded for a signed token: in the `authorization: Bearer` response header and as
    /// the payload of the one response message.
    async fn handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        let auth = self.dispatcher.auth();
        let header = request
            .metadata()
            .get(crate::auth::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let peer = request.remote_addr();
        let presented = crate::auth::Presented {
            header,
            peer,
            certificates: request
                .extensions()
                .get::<crate::auth::ClientCertificates>(),
        };
        let (identity, token) = auth.handshake(presented).await?;
        tracing::info!(
            user = %crate::error::clip(identity.name()),
            peer = %peer.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            "handshake: token issued"
        );
        let mut messages = request.into_inner();
        let payload = bytes::Bytes::from(token.clone());
        let answer = futures::stream::once(async move {
            // The client's messages (none, for pyarrow) are drained, up to a few.
            let mut drained = 0;
            while drained < 16 && matches!(messages.message().await, Ok(Some(_))) {
                drained += 1;
            }
            Ok(HandshakeResponse {
                protocol_version: 0,
                payload,
            })
        });
        let mut response = Response::new(answer.boxed());
        let value = format!("Bearer {token}")
            .parse::<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>()
            .map_err(|_| Status::internal("the token is not a header value"))?;
        response
            .metadata_mut()
            .insert(crate::auth::AUTHORIZATION, value);
        Ok(response)
    }

    async fn poll_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        Err(Status::unimplemented(
            "PollFlightInfo is not offered: use GetFlightInfo",
        ))
    }

    /// With the `flight-sql` feature, a prepared statement's parameters; nothing else
    /// is written.
    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        #[cfg(feature = "flight-sql")]
        {
            let caller = Self::context(&request).caller();
            let result = logged(&caller, self.sql_put(request).await)?;
            Ok(Response::new(stream::iter([Ok(result)]).boxed()))
        }
        #[cfg(not(feature = "flight-sql"))]
        {
            let _ = request;
            Err(Status::unimplemented(
                "DoPut is not offered: fastflight services are read-only",
            ))
        }
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(Status::unimplemented("DoExchange is not offered"))
    }
}

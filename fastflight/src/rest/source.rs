//! Where the gateway's results come from: the dispatch of this process, or a Flight
//! server reached as the caller (its credentials and its address forwarded).

use std::net::SocketAddr;

use axum::body::Bytes;
use futures::StreamExt;

use crate::dispatch::{self, Dispatcher, ResultStream};
use crate::listing::ServiceInfo;
use crate::service::Context;
use crate::{Client, Result};

/// Where the gateway gets its results: the services of this process, or a Flight
/// server elsewhere.
#[derive(Clone)]
pub struct Source(pub(super) Origin);

#[derive(Clone)]
pub(super) enum Origin {
    Local(Dispatcher),
    Remote(Box<Client>),
}

impl Source {
    /// The services of a bound server of this process (same registry, same state),
    /// called directly through the same dispatch as its Flight routes.
    pub fn local(server: &crate::BoundServer) -> Self {
        Source(Origin::Local(server.dispatcher()))
    }

    /// A remote Flight server at `grpc://host:port` (or `grpc+tls://`, trusting the
    /// public roots), reached through [`Client`].
    pub async fn remote(location: &str) -> Result<Self> {
        Ok(Self::client(Client::connect(location).await?))
    }

    /// A remote Flight server reached through a client made elsewhere (with its own TLS
    /// settings); the callers' `authorization` headers are forwarded with each call.
    pub fn client(client: Client) -> Self {
        Source(Origin::Remote(Box::new(client)))
    }

    /// The result of a SQL statement: planned here over this process's services, or
    /// sent to the Flight server as Flight SQL.
    #[cfg(feature = "flight-sql")]
    pub(super) async fn sql(&self, statement: &str, ctx: Context) -> Result<ResultStream> {
        match &self.0 {
            Origin::Local(dispatcher) => {
                let catalog = crate::sql::catalog::Catalog::new(dispatcher.registry())?;
                let plan = crate::sql::plan::plan(statement, &catalog, |t| {
                    t.entry.visible_to(ctx.identity())
                })
                .inspect_err(|e| crate::audit::refused("http", e, ctx.who()))?;
                let result = dispatcher.open(&plan.ticket(), ctx, "http").await?;
                let schema = plan.output_schema(&result.schema)?;
                Ok(ResultStream {
                    schema: schema.clone(),
                    batches: crate::sql::cut(result.batches, plan, schema),
                })
            }
            Origin::Remote(client) => {
                let (stream, forwarded) = forward_as(
                    client,
                    Ok("sql".to_owned()),
                    statement.as_bytes(),
                    &ctx,
                    |client, statement| async move {
                        client.sql(&String::from_utf8_lossy(&statement)).await
                    },
                )
                .await?;
                Ok(ResultStream {
                    schema: stream.schema(),
                    batches: forwarded.accounted(stream.boxed()),
                })
            }
        }
    }

    pub(super) async fn open(&self, body: &[u8], ctx: Context) -> Result<ResultStream> {
        match &self.0 {
            Origin::Local(dispatcher) => dispatcher.open(body, ctx, "http").await,
            Origin::Remote(client) => {
                let (stream, forwarded) =
                    forward(client, body, &ctx, |client, ticket| async move {
                        client.fetch_ticket(ticket).await
                    })
                    .await?;
                Ok(ResultStream {
                    schema: stream.schema(),
                    batches: forwarded.accounted(stream.boxed()),
                })
            }
        }
    }

    /// The services listed for a caller: in-process, those its identity may see; in
    /// proxy mode, what the Flight server lists for its `authorization` header.
    pub(super) async fn services(
        &self,
        who: Option<&crate::auth::Identity>,
        authorization: Option<&str>,
        caller: Option<SocketAddr>,
    ) -> Result<Vec<ServiceInfo>> {
        match &self.0 {
            Origin::Local(dispatcher) => Ok(dispatcher.registry().services_for(who)),
            Origin::Remote(client) => {
                as_caller(client, authorization, caller)?
                    .list_services()
                    .await
            }
        }
    }
}

/// The proxy's client with the caller's credentials, which its Flight server checks,
/// and the caller's address in `x-forwarded-for` (believed by a Flight server that
/// trusts this gateway: `--trusted-proxies`).
pub(super) fn as_caller(
    client: &Client,
    authorization: Option<&str>,
    caller: Option<SocketAddr>,
) -> Result<Client> {
    let mut client = client.clone();
    if let Some(value) = authorization {
        client = client.with_header(crate::auth::AUTHORIZATION, value)?;
    }
    if let Some(caller) = caller {
        client = client.with_header(crate::proxies::FORWARDED_FOR, &caller.ip().to_string())?;
    }
    Ok(client)
}

/// A call forwarded to the Flight server: its body refused here when it is not a ticket
/// (with the server's own errors, before any hop), then fetched as its caller; the
/// stream fetched is counted under the ticket's name by [`Forwarded::accounted`].
pub(super) async fn forward<S, F, Fut>(
    client: &Client,
    body: &[u8],
    ctx: &Context,
    fetch: F,
) -> Result<(S, Forwarded)>
where
    F: FnOnce(Client, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<S>>,
{
    let name = crate::ticket::decode(body).map(|t| t.param_type);
    forward_as(client, name, body, ctx, fetch).await
}

/// [`forward`] of a body counted under `name` (refused with its error).
pub(super) async fn forward_as<S, F, Fut>(
    client: &Client,
    name: Result<String>,
    body: &[u8],
    ctx: &Context,
    fetch: F,
) -> Result<(S, Forwarded)>
where
    F: FnOnce(Client, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<S>>,
{
    let cancel_on_drop = ctx.cancellation_token().drop_guard();
    let who = ctx.who();
    let name = name.inspect_err(|e| crate::audit::refused("http", e, who))?;
    let caller = as_caller(client, ctx.header(crate::auth::AUTHORIZATION), ctx.peer())?;
    let stream = fetch(caller, Bytes::copy_from_slice(body))
        .await
        .inspect_err(|e| crate::audit::refused("http", e, who))?;
    let forwarded = Forwarded {
        name,
        cancel_on_drop,
        caller: ctx.caller(),
    };
    Ok((stream, forwarded))
}

/// What a forwarded call's stream is counted under.
pub(super) struct Forwarded {
    name: String,
    cancel_on_drop: tokio_util::sync::DropGuard,
    caller: crate::audit::Caller,
}

impl Forwarded {
    /// The stream counted and timed as the dispatch counts its own; dropping it cancels
    /// the call.
    pub(super) fn accounted<T: dispatch::Measured + Send + 'static>(
        self,
        items: futures::stream::BoxStream<'static, Result<T>>,
    ) -> futures::stream::BoxStream<'static, Result<T>> {
        dispatch::accounted(
            "http",
            &self.name,
            items,
            self.cancel_on_drop,
            None,
            self.caller,
        )
    }
}

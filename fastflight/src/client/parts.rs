//! Reading a result spread over several endpoints (a partitioned request's
//! `FlightInfo`): every endpoint is read whole, from the first of its locations that
//! answers, a few at once; one that fails midway is read again from the start, so the
//! caller gets each endpoint's rows exactly once, or an error. A location is read with
//! the client's credentials only when it trusts it ([`crate::trust`]): the others are
//! passed over for the endpoint's next location, and a location that does not connect
//! or answer its pings within the open timeout gives way to the next too.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow_flight::{FlightDescriptor, FlightInfo};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use prost::Message;

use super::{Client, RecordBatchStream};
use crate::{Error, Result};

impl Client {
    /// Fetches a request through GetFlightInfo and reads every endpoint of the answer:
    /// a few at once, each from the first of its locations that answers (the next when
    /// one is down, this server when it names none), an endpoint that fails midway read
    /// again as a whole (its partial batches dropped, so no row is lost or doubled);
    /// batches in endpoint order when the server says `ordered`, else as endpoints end.
    ///
    /// The endpoints come from the server's `endpoints` action (GetFlightInfo without the
    /// schema, so no service runs before the reads); a server without it is asked
    /// GetFlightInfo.
    pub async fn fetch_spread(&self, ticket: impl Into<Bytes>) -> Result<RecordBatchStream> {
        let ticket = ticket.into();
        let info = match self.action_with("endpoints", ticket.clone()).await {
            Ok(body) => FlightInfo::decode(body).map_err(|e| {
                Error::status(tonic::Code::Internal, format!("bad endpoints answer: {e}"))
            })?,
            // Servers without the action (other Flight servers, earlier versions) say so
            // in one of these ways.
            Err(e)
                if matches!(e.code(), tonic::Code::Unimplemented | tonic::Code::Unknown)
                    || (e.code() == tonic::Code::InvalidArgument
                        && e.to_string().contains("unknown action")) =>
            {
                self.info_of(FlightDescriptor::new_cmd(ticket)).await?
            }
            Err(e) => return Err(e),
        };
        read(self, info).await
    }

    /// Whether this client may read `location` with its credentials (see
    /// [`crate::trust`]); always for a client without credentials.
    pub(super) async fn trusts(&self, location: &str) -> Result<()> {
        if !self.options.has_credentials() {
            return Ok(());
        }
        self.trust.check(self.origin.as_deref(), location).await
    }

    /// A client of another location with this client's TLS, settings and, when the
    /// location is trusted, its token: the login's (renewed at the origin), or one the
    /// origin issued for a bearer token given to this client. Never its password or the
    /// bearer token itself.
    async fn at(&self, location: &str) -> Result<Client> {
        self.trusts(location).await?;
        let login = if self.options.has_credentials() {
            self.forwarded().await?
        } else {
            None
        };
        let mut builder = Client::builder(location)
            .connections(self.more.len() + 1)
            .open_timeout(self.open_timeout);
        builder.liveness = true;
        if let Some(tls) = &self.tls {
            builder = builder.tls(tls.clone());
        }
        let mut client = builder.connect().await?;
        client.options = self.options.elsewhere(login);
        client.open_timeout = self.open_timeout;
        Ok(client)
    }
}

/// Clients of other locations a client keeps at most.
const MAX_LOCATIONS: usize = 256;

/// Endpoints read at once.
pub const PARALLEL_ENDPOINTS: usize = 4;

/// Times an endpoint is tried over its locations before its error is the result's.
const ROUNDS: usize = 2;

/// The batches of every endpoint of `info`.
pub(super) async fn read(client: &Client, info: FlightInfo) -> Result<RecordBatchStream> {
    // Without a schema (the `endpoints` action), the parts' own schema is the result's.
    let schema: Option<SchemaRef> = if info.schema.is_empty() {
        None
    } else {
        Some(Arc::new(info.clone().try_decode_schema().map_err(|e| {
            Error::status(
                tonic::Code::Internal,
                format!("the FlightInfo's schema: {e}"),
            )
        })?))
    };
    let clients = Arc::new(Clients {
        origin: client.clone(),
    });
    // One endpoint streams as it comes (nothing to keep apart): from its first location
    // that opens.
    if let [endpoint] = info.endpoint.as_slice() {
        let ticket = endpoint
            .ticket
            .clone()
            .ok_or_else(|| Error::status(tonic::Code::Internal, "an endpoint without a ticket"))?
            .ticket;
        let locations: Vec<String> = endpoint.location.iter().map(|l| l.uri.clone()).collect();
        return clients.open_endpoint(ticket, &locations).await;
    }
    let parts = info.endpoint.into_iter().map(move |endpoint| {
        let clients = Arc::clone(&clients);
        async move {
            let ticket = endpoint
                .ticket
                .ok_or_else(|| {
                    Error::status(tonic::Code::Internal, "an endpoint without a ticket")
                })?
                .ticket;
            let locations: Vec<String> = endpoint.location.into_iter().map(|l| l.uri).collect();
            clients.read_endpoint(ticket, &locations).await
        }
    });
    let parts = futures::stream::iter(parts);
    let mut parts = if info.ordered {
        parts.buffered(PARALLEL_ENDPOINTS).boxed()
    } else {
        parts.buffer_unordered(PARALLEL_ENDPOINTS).boxed()
    };
    let (schema, parts) = match schema {
        Some(schema) => (schema, parts),
        // The first part read gives the schema; it goes first still.
        None => match parts.next().await {
            Some(first) => {
                let first = first?;
                let schema = first.0.clone();
                let first = futures::stream::once(async { Ok(first) });
                (schema, first.chain(parts).boxed())
            }
            None => (Arc::new(arrow::datatypes::Schema::empty()), parts),
        },
    };
    // Every part must have the result's schema: a part of another is an error, not a
    // stream whose batches disagree with its schema.
    let expected = Arc::clone(&schema);
    let batches = parts
        .and_then(move |(schema, batches)| {
            let same = *schema == *expected;
            let expected = Arc::clone(&expected);
            async move {
                if same {
                    Ok(batches)
                } else {
                    Err(Error::status(
                        tonic::Code::Internal,
                        format!(
                            "the parts of the result disagree: one has schema {schema:?}, the result {expected:?}"
                        ),
                    ))
                }
            }
        })
        .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
        .try_flatten()
        .boxed();
    Ok(RecordBatchStream::new(schema, batches))
}

/// One client per location, made at first use with the origin's TLS and credentials,
/// and kept by the origin (and its clones) for the next reads.
struct Clients {
    origin: Client,
}

impl Clients {
    /// Whether the origin's credentials may go to `location` (the origin itself: yes);
    /// a location they may not go to is passed over for the endpoint's next one.
    async fn trusted(&self, location: Option<&str>) -> Result<()> {
        let Some(location) = location else {
            return Ok(());
        };
        self.origin.trusts(location).await.inspect_err(|e| {
            tracing::warn!(location, error = %e, "a location of the result is passed over");
        })
    }

    async fn at(&self, location: Option<&str>) -> Result<Client> {
        let Some(location) = location else {
            return Ok(self.origin.clone());
        };
        if let Some(client) = self.origin.derived.located.lock().await.get(location) {
            return Ok(client.clone());
        }
        // Connected outside the lock: a slow location does not hold up the others.
        let client = self.origin.at(location).await?;
        let mut known = self.origin.derived.located.lock().await;
        if let Some(first) = known.get(location) {
            return Ok(first.clone());
        }
        // Bounded: a server names at most its peers, but a client may meet many servers.
        if known.len() >= MAX_LOCATIONS {
            known.clear();
        }
        known.insert(location.to_owned(), client.clone());
        Ok(client)
    }

    /// One endpoint opened at the first of its locations that answers, streamed.
    async fn open_endpoint(
        &self,
        ticket: bytes::Bytes,
        locations: &[String],
    ) -> Result<RecordBatchStream> {
        let mut last = None;
        for location in candidates(locations) {
            if let Err(e) = self.trusted(location).await {
                last = Some(e);
                continue;
            }
            let opened = async { self.at(location).await?.fetch_ticket(ticket.clone()).await };
            match opened.await {
                Ok(stream) => return Ok(stream),
                Err(e) if retryable(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::status(tonic::Code::Unavailable, "no location answered")))
    }

    /// One endpoint's batches, whole: its locations in turn (the origin when it names
    /// none), each attempt read to its end before any batch is kept.
    async fn read_endpoint(
        &self,
        ticket: bytes::Bytes,
        locations: &[String],
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let candidates = candidates(locations);
        let mut last = None;
        for _ in 0..ROUNDS {
            for location in &candidates {
                if let Err(e) = self.trusted(*location).await {
                    last = Some(e);
                    continue;
                }
                let attempt = async {
                    let client = self.at(*location).await?;
                    let stream = client.fetch_ticket(ticket.clone()).await?;
                    let schema = stream.schema();
                    Ok::<_, Error>((schema, stream.collect().await?))
                };
                match attempt.await {
                    Ok(batches) => return Ok(batches),
                    Err(e) if retryable(&e) => {
                        tracing::warn!(
                            location = location.unwrap_or("the origin"),
                            error = %e,
                            "an endpoint failed; reading it again elsewhere"
                        );
                        last = Some(e);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::status(tonic::Code::Unavailable, "no location answered")))
    }
}

/// The locations to try: the endpoint's, or the origin when it names none.
fn candidates(locations: &[String]) -> Vec<Option<&str>> {
    if locations.is_empty() {
        vec![None]
    } else {
        locations.iter().map(|l| Some(l.as_str())).collect()
    }
}

/// Errors of the way, not of the request (a server down, a connection cut, which the
/// transport reports as `Cancelled`): another location may succeed. Nothing else cancels
/// an endpoint's read: dropping the result drops the reads with it.
fn retryable(e: &Error) -> bool {
    // What the server marks as the call's own (a statement cancelled, say) would meet
    // the same fate elsewhere; a service without its database may find one there.
    let callers = matches!(e, Error::Status(s) if crate::wire::Fault::of(s) == Some(crate::wire::Fault::Caller));
    match e.code() {
        tonic::Code::Unavailable => true,
        tonic::Code::Unknown | tonic::Code::Aborted | tonic::Code::Cancelled => !callers,
        _ => false,
    }
}

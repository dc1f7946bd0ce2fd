//! `POST {prefix}/stream`: the request checked, then the result as a body of Arrow IPC
//! (the batches' buffers, or a proxied server's messages, by reference), CSV or NDJSON.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::{Stream, StreamExt};

use super::errors::{error_body, ApiError};
use super::source::{forward, Origin};
use super::Gateway;
use crate::format::{self, BatchWriter, ChunkSink, Format};
use crate::service::Context;
use crate::{Client, Error, Result};

/// What a body asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Door {
    /// A ticket's JSON (`/stream`).
    Ticket,
    /// A SQL statement (`/sql`).
    #[cfg(feature = "flight-sql")]
    Sql,
}

/// `POST {prefix}/stream`: the ticket JSON in the body, the result in the format `Accept`
/// names.
pub(super) async fn stream(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    version: axum::http::Version,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    answer_body(
        gateway,
        peer,
        version,
        identity,
        headers,
        body,
        Door::Ticket,
    )
    .await
}

/// `POST {prefix}/sql`: a SQL statement in the body (`SELECT * FROM synthetic LIMIT
/// 10`), the result in the format `Accept` names, as for `/stream`.
#[cfg(feature = "flight-sql")]
pub(super) async fn sql(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    version: axum::http::Version,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    answer_body(gateway, peer, version, identity, headers, body, Door::Sql).await
}

async fn answer_body(
    gateway: Gateway,
    peer: SocketAddr,
    version: axum::http::Version,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
    door: Door,
) -> Result<Response, ApiError> {
    let identity = identity.map(|axum::Extension(identity)| identity);
    let who = crate::audit::Caller::new(Some(peer), identity.as_ref().map(|i| i.name()));
    // HTTP/1.0 has no chunked encoding: a stream cut by an error would end as a clean
    // close, and its reader could take a partial result for a whole one.
    if version < axum::http::Version::HTTP_11 {
        let e = Error::status(
            tonic::Code::InvalidArgument,
            "a stream needs HTTP/1.1 or later, which can mark a cut stream; HTTP/1.0 cannot",
        );
        return Ok(refused(StatusCode::HTTP_VERSION_NOT_SUPPORTED, &e, &who));
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
            let e = if too_large {
                Error::status(
                    tonic::Code::ResourceExhausted,
                    format!(
                        "a request body above {} bytes is refused (max_request_bytes)",
                        gateway.limits.max_request_bytes
                    ),
                )
            } else {
                Error::status(tonic::Code::InvalidArgument, rejection.body_text())
            };
            return Ok(refused(rejection.status(), &e, &who));
        }
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::from_accept(accept).ok_or_else(|| {
        Error::status(
            tonic::Code::InvalidArgument,
            format!(
                "cannot answer `Accept: {}`; available: application/vnd.apache.arrow.stream (default), text/csv, application/x-ndjson",
                accept.unwrap_or_default()
            ),
        )
    });
    let format = match format {
        Ok(format) => format,
        Err(e) => {
            return Ok(refused(StatusCode::NOT_ACCEPTABLE, &e, &who));
        }
    };
    let ctx = Context::of(
        tonic::metadata::MetadataMap::from_headers(headers),
        Some(peer),
        identity,
    );
    let result = match door {
        Door::Ticket => {
            if let (Origin::Remote(client), Format::Arrow) = (&gateway.source.0, format) {
                return relay(client, &body, ctx).await;
            }
            gateway.source.open(&body, ctx).await?
        }
        #[cfg(feature = "flight-sql")]
        Door::Sql => {
            let statement = std::str::from_utf8(&body).map_err(|_| {
                Error::status(
                    tonic::Code::InvalidArgument,
                    "the statement is not UTF-8 text",
                )
            })?;
            gateway.source.sql(statement, ctx).await?
        }
    };
    Ok(if format == Format::Arrow {
        // The batches' own buffers go out by reference: no copy into a writer.
        let chunks = crate::ipc::body::IpcChunks::new(&result.schema)?;
        answer(format, chunked(result.batches, chunks))
    } else {
        answer(
            format,
            chunked(result.batches, Written::new(format, &result.schema)?),
        )
    })
}

/// A request refused before any work, with an HTTP status of its own, and logged.
fn refused(status: StatusCode, e: &Error, who: &crate::audit::Caller) -> Response {
    crate::audit::refused("http", e, who.who());
    (status, Json(error_body(e))).into_response()
}

/// A streamed answer in `format`.
fn answer(format: Format, chunks: impl Stream<Item = Result<Bytes>> + Send + 'static) -> Response {
    (
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// The proxy's Arrow answer: the Flight server's messages written as an Arrow IPC stream
/// as they come, framed around their bodies, the batches never decoded or encoded
/// again.
async fn relay(client: &Client, body: &[u8], ctx: Context) -> Result<Response, ApiError> {
    let (messages, forwarded) = forward(client, body, &ctx, |client, ticket| async move {
        client.fetch_messages(ticket).await
    })
    .await?;
    Ok(answer(
        Format::Arrow,
        chunked(forwarded.accounted(messages), Relayed),
    ))
}

/// How the items of a stream become body chunks.
trait Chunks<T> {
    /// The chunks of one item.
    fn item(&mut self, item: T) -> Result<Vec<Bytes>>;
    /// The chunks that close the body.
    fn end(&mut self) -> Result<Vec<Bytes>>;
    /// The last chunks before a body cut by `error`.
    fn failed(&mut self, _error: &Error) -> Vec<Bytes> {
        Vec::new()
    }
}

impl Chunks<arrow::record_batch::RecordBatch> for crate::ipc::body::IpcChunks {
    fn item(&mut self, batch: arrow::record_batch::RecordBatch) -> Result<Vec<Bytes>> {
        self.batch(&batch)
    }
    fn end(&mut self) -> Result<Vec<Bytes>> {
        self.finish()
    }
}

/// The Flight server's messages relayed as IPC stream messages.
struct Relayed;

impl Chunks<arrow_flight::FlightData> for Relayed {
    fn item(&mut self, message: arrow_flight::FlightData) -> Result<Vec<Bytes>> {
        let [head, body] = crate::ipc::body::ipc_message(&message)?;
        Ok(if body.is_empty() {
            vec![head]
        } else {
            vec![head, body]
        })
    }
    fn end(&mut self) -> Result<Vec<Bytes>> {
        Ok(vec![Bytes::from_static(crate::ipc::IPC_END)])
    }
}

/// Batches written by a [`BatchWriter`] (CSV, NDJSON, Arrow IPC copied): the chunks are
/// what it wrote since the last; a cut NDJSON body ends with a line `{"error": ...}`.
struct Written {
    format: Format,
    writer: Option<Box<dyn BatchWriter>>,
    sink: ChunkSink,
    /// What the writer wrote before the first batch (a CSV header, say).
    head: Option<Bytes>,
}

impl Written {
    fn new(format: Format, schema: &arrow::datatypes::SchemaRef) -> Result<Self> {
        let sink = ChunkSink::default();
        let writer = format::writer(format, schema, sink.clone())?;
        let head = Some(sink.take());
        Ok(Self {
            format,
            writer: Some(writer),
            sink,
            head,
        })
    }

    /// What was written since the last call (the head first).
    fn taken(&mut self) -> Vec<Bytes> {
        self.head
            .take()
            .into_iter()
            .chain([self.sink.take()])
            .collect()
    }
}

impl Chunks<arrow::record_batch::RecordBatch> for Written {
    fn item(&mut self, batch: arrow::record_batch::RecordBatch) -> Result<Vec<Bytes>> {
        match self.writer.as_mut() {
            Some(writer) => writer.write(&batch)?,
            None => {
                return Err(Error::status(
                    tonic::Code::Internal,
                    "the body was finished",
                ))
            }
        }
        Ok(self.taken())
    }
    fn end(&mut self) -> Result<Vec<Bytes>> {
        if let Some(writer) = self.writer.take() {
            writer.finish()?;
        }
        Ok(self.taken())
    }
    fn failed(&mut self, error: &Error) -> Vec<Bytes> {
        let mut last = self.taken();
        if self.format == Format::Json {
            let mut line = serde_json::to_vec(&error_body(error)).unwrap_or_default();
            line.push(b'\n');
            last.push(Bytes::from(line));
        }
        last
    }
}

/// How long a body cut by an error waits before the cut, for what was sent to leave.
const CUT_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// The body chunks of a stream of items, each item's in turn and then the closing
/// ones. An error (of the stream, or of making its chunks) ends the body abnormally:
/// the connection is cut before the last chunk, so a client never takes a partial
/// result for a complete one.
fn chunked<T: Send + 'static>(
    items: futures::stream::BoxStream<'static, Result<T>>,
    chunks: impl Chunks<T> + Send + 'static,
) -> impl Stream<Item = Result<Bytes>> + Send {
    struct State<T, C> {
        items: Option<futures::stream::BoxStream<'static, Result<T>>>,
        pending: std::collections::VecDeque<Bytes>,
        failed: Option<Error>,
        chunks: C,
    }
    let state = State {
        items: Some(items),
        pending: std::collections::VecDeque::new(),
        failed: None,
        chunks,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(chunk) = state.pending.pop_front() {
                return Some((Ok(chunk), state));
            }
            if let Some(failed) = state.failed.take() {
                tokio::time::sleep(CUT_AFTER).await;
                return Some((Err(failed), state));
            }
            let items = state.items.as_mut()?;
            let made = match items.next().await {
                Some(Ok(item)) => state.chunks.item(item),
                Some(Err(e)) => Err(e),
                None => {
                    state.items = None;
                    state.chunks.end()
                }
            };
            match made {
                Ok(chunks) => state
                    .pending
                    .extend(chunks.into_iter().filter(|c| !c.is_empty())),
                Err(failed) => {
                    state.items = None;
                    state.pending.clear();
                    let last = state.chunks.failed(&failed);
                    state
                        .pending
                        .extend(last.into_iter().filter(|c| !c.is_empty()));
                    state.failed = Some(failed);
                }
            }
        }
    })
}

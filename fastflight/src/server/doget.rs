//! DoGet without copies: each record batch goes out as the gRPC frames of its
//! `FlightData`, whose body is the Arrow buffers themselves, handed to HTTP/2 as they
//! are. The generated service would copy every buffer twice on the way (arrow-ipc into
//! one body vector, prost into tonic's encode buffer).
//!
//! A `FlightData` frame is: the gRPC prefix (`0`, length as u32 big-endian), the
//! protobuf fields `data_header` (2) and `data_body` (1000); the small parts are
//! written into one buffer, the body buffers follow by reference.

use std::convert::Infallible;
use std::task::{Context as TaskContext, Poll};

use arrow::datatypes::SchemaRef;
use arrow::ipc::writer::{IpcWriteOptions, StreamEncoder};
use arrow::record_batch::RecordBatch;
use arrow_flight::Ticket;
use bytes::{BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::stream::{self, Stream, StreamExt};
use http_body::Frame;
use http_body_util::BodyExt;
use prost::Message as _;
use tonic::server::NamedService;
use tonic::Status;

use super::flight::{write_options, FlightHandler};
use crate::service::{BatchStream, Context};
use crate::stream_log::{count_rows, Logged};

const DO_GET: &str = "/arrow.flight.protocol.FlightService/DoGet";
/// Body pieces below this size are copied into the frame before them.
const COPY_BELOW: usize = 16 * 1024;
/// Chunks below this size go out as DATA frames of at most [`GATHERED_FRAME`] bytes.
const SPLIT_BELOW: usize = 4 * 1024;
/// HTTP/2 (h2, over a socket with vectored writes, as TCP is) copies a DATA frame this
/// small into its write buffer, next to the frames before and after it (the trailers
/// among them); a larger one it writes by reference and must flush before the next
/// frame. So a small answer typically leaves in one socket write.
const GATHERED_FRAME: usize = 255;
/// Tickets are small; a request body above this is refused.
const MAX_TICKET: usize = 4 * 1024 * 1024;

type HttpRequest = http::Request<tonic::body::Body>;
type HttpResponse = http::Response<tonic::body::Body>;

/// The Flight service with DoGet answered by [`FlightHandler::do_get_frames`]; every
/// other method goes to the generated service.
#[derive(Clone)]
pub(crate) struct Routes<S> {
    pub(crate) generated: S,
    pub(crate) handler: FlightHandler,
}

impl<S> NamedService for Routes<S> {
    const NAME: &'static str = "arrow.flight.protocol.FlightService";
}

impl<S> tonic::codegen::Service<HttpRequest> for Routes<S>
where
    S: tonic::codegen::Service<HttpRequest, Response = HttpResponse, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<HttpResponse, Infallible>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.generated.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        if request.uri().path() == DO_GET {
            let handler = self.handler.clone();
            Box::pin(async move { Ok(handler.do_get_frames(request).await) })
        } else {
            Box::pin(self.generated.call(request))
        }
    }
}

impl FlightHandler {
    /// DoGet as an HTTP response: decode the ticket, open the result, stream its frames.
    pub(crate) async fn do_get_frames(&self, request: HttpRequest) -> HttpResponse {
        match self.do_get_stream(request).await {
            Ok(response) => response,
            Err(status) => status.into_http(),
        }
    }

    async fn do_get_stream(&self, request: HttpRequest) -> Result<HttpResponse, Status> {
        let (parts, body) = request.into_parts();
        let ticket = read_ticket(body).await?;
        let metadata = tonic::metadata::MetadataMap::from_headers(parts.headers);
        let options = write_options(&metadata)?;
        let peer = parts
            .extensions
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr());
        let ctx = Context::new(metadata, peer);
        let cancel_on_drop = ctx.cancellation_token().drop_guard();
        let (name, result) = self.open(&ticket.ticket, ctx).await.inspect_err(|e| {
            tracing::warn!(code = ?e.code(), error = %e, "request refused");
        })?;
        let (batches, rows) = count_rows(result.batches);
        let has_dictionaries = result
            .schema
            .flattened_fields()
            .iter()
            .any(|f| matches!(f.data_type(), arrow::datatypes::DataType::Dictionary(..)));
        let frames = if has_dictionaries {
            // Dictionary ids must agree between schema and batches: the generated
            // encoder's path (with its copies) keeps them consistent.
            encoded_frames(result.schema, batches, options, self.max_flight_data_size()).boxed()
        } else {
            frames(result.schema, batches, options)?.boxed()
        };
        let logged = Logged::new(
            frames,
            "flight",
            name,
            rows,
            |frame: &Frame<Bytes>| frame.data_ref().map_or(0, Bytes::len),
            cancel_on_drop,
        );
        let body = http_body_util::StreamBody::new(logged);
        http::Response::builder()
            .header(http::header::CONTENT_TYPE, "application/grpc")
            .body(tonic::body::Body::new(body))
            .map_err(|e| Status::internal(e.to_string()))
    }
}

/// The ticket of a DoGet request body: one uncompressed gRPC message, read until the
/// body ends (or says it has ended once the message is whole).
async fn read_ticket(mut body: tonic::body::Body) -> Result<Ticket, Status> {
    let mut bytes = BytesMut::new();
    while !(message_len(&bytes).is_some_and(|len| bytes.len() >= 5 + len)
        && http_body::Body::is_end_stream(&body))
    {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => {
                return Err(Status::invalid_argument(format!(
                    "cannot read the DoGet request: {e}"
                )))
            }
            None => break,
        }
        if bytes.len() > MAX_TICKET + 5 {
            return Err(Status::resource_exhausted(format!(
                "a DoGet request above {MAX_TICKET} bytes is refused"
            )));
        }
    }
    let len = message_len(&bytes)
        .ok_or_else(|| Status::invalid_argument("the DoGet request holds no message"))?;
    if bytes[0] != 0 {
        return Err(Status::unimplemented(
            "compressed DoGet requests are not accepted",
        ));
    }
    let message = bytes
        .get(5..5 + len)
        .ok_or_else(|| Status::invalid_argument("the DoGet request message is cut short"))?;
    Ticket::decode(message).map_err(|e| Status::invalid_argument(format!("bad DoGet request: {e}")))
}

/// The length of the gRPC message whose 5-byte prefix starts `bytes`, once it is there.
fn message_len(bytes: &[u8]) -> Option<usize> {
    let prefix = bytes.get(..5)?;
    Some(u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize)
}

/// The frames of one result: the schema (with the first batch, or alone for a result
/// of no rows), each batch, then the trailers (`grpc-status` 0, or the error that ended
/// the stream, with its code). For schemas without dictionaries, where `StreamEncoder`
/// writes exactly: the schema message on its first call, then one record batch message.
fn frames(
    schema: SchemaRef,
    batches: BatchStream,
    options: IpcWriteOptions,
) -> Result<impl Stream<Item = Result<Frame<Bytes>, Status>> + Send, Status> {
    let encoder = StreamEncoder::try_new_with_options(&schema, options)
        .map_err(|e| Status::internal(format!("cannot encode the schema: {e}")))?;
    let body = stream::unfold(Some((encoder, batches, true)), |state| async move {
        let (mut encoder, mut batches, first) = state?;
        let frames = match batches.next().await {
            Some(Ok(batch)) => match batch_frames(&mut encoder, &batch, first) {
                Ok(frames) => {
                    return Some((
                        stream::iter(frames.into_iter().map(Ok)).left_stream(),
                        Some((encoder, batches, false)),
                    ))
                }
                Err(status) => vec![trailers(&status)],
            },
            Some(Err(e)) => vec![trailers(&Status::from(e))],
            None if first => match schema_frames(encoder) {
                Ok(mut frames) => {
                    frames.push(trailers(&Status::ok("")));
                    frames
                }
                Err(status) => vec![trailers(&status)],
            },
            None => vec![trailers(&Status::ok(""))],
        };
        Some((stream::iter(frames).right_stream(), None))
    })
    .flatten();
    Ok(body)
}

/// The frames of a result encoded by arrow-flight's encoder, each `FlightData` copied
/// into its frame by prost.
fn encoded_frames(
    schema: SchemaRef,
    batches: BatchStream,
    options: IpcWriteOptions,
    max_flight_data_size: usize,
) -> impl Stream<Item = Result<Frame<Bytes>, Status>> + Send {
    use futures::TryStreamExt;
    let encoded = arrow_flight::encode::FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .with_options(options)
        .with_max_flight_data_size(max_flight_data_size)
        .build(batches.map_err(arrow_flight::error::FlightError::from));
    let mut ended = false;
    encoded
        .map(|item| match item {
            Ok(data) => {
                let mut frame = BytesMut::with_capacity(data.encoded_len() + 5);
                frame.put_u8(0);
                frame.put_u32(data.encoded_len() as u32);
                data.encode(&mut frame)
                    .map_err(|e| Status::internal(e.to_string()))?;
                Ok(Frame::data(frame.freeze()))
            }
            Err(e) => trailers(&Status::from(crate::Error::from(e))),
        })
        .chain(stream::once(async { trailers(&Status::ok("")) }))
        .take_while(move |item| {
            let keep = !ended;
            ended = ended || item.as_ref().map_or(true, |frame| frame.is_trailers());
            futures::future::ready(keep)
        })
}

fn trailers(status: &Status) -> Result<Frame<Bytes>, Status> {
    let mut headers = http::HeaderMap::new();
    status.add_header(&mut headers)?;
    Ok(Frame::trailers(headers))
}

/// The `FlightData` frames of one batch, preceded by the schema's on the first call.
fn batch_frames(
    encoder: &mut StreamEncoder,
    batch: &RecordBatch,
    first: bool,
) -> Result<Vec<Frame<Bytes>>, Status> {
    let buffers = encoder
        .encode(batch)
        .map_err(|e| Status::internal(format!("cannot encode a batch: {e}")))?;
    let mut segments = Segments::new(buffers);
    let mut frames = FrameWriter::default();
    if first {
        let schema = segments
            .metadata()?
            .ok_or_else(|| Status::internal("the IPC encoder wrote no schema"))?;
        frames.message(&schema, Vec::new());
    }
    let metadata = segments
        .metadata()?
        .ok_or_else(|| Status::internal("the IPC encoder wrote no batch"))?;
    frames.message(&metadata, segments.rest());
    Ok(frames.finish())
}

/// The schema frame of a result without batches.
fn schema_frames(encoder: StreamEncoder) -> Result<Vec<Result<Frame<Bytes>, Status>>, Status> {
    let buffers = encoder
        .finish()
        .map_err(|e| Status::internal(format!("cannot encode the schema: {e}")))?;
    let schema = Segments::new(buffers)
        .metadata()?
        .ok_or_else(|| Status::internal("the IPC encoder wrote no schema"))?;
    let mut frames = FrameWriter::default();
    frames.message(&schema, Vec::new());
    Ok(frames.finish().into_iter().map(Ok).collect())
}

/// Gathers messages into as few HTTP/2 data chunks as it can without copying large
/// buffers: small pieces (prefixes, metadata, padding, short buffers, whole small
/// messages) are copied together; a large buffer goes by reference as a chunk of its own.
#[derive(Default)]
struct FrameWriter {
    pending: BytesMut,
    frames: Vec<Frame<Bytes>>,
}

impl FrameWriter {
    fn message(&mut self, metadata: &[u8], body: Vec<Bytes>) {
        let body_len: usize = body.iter().map(Bytes::len).sum();
        self.pending.reserve(metadata.len() + 32);
        put_message(&mut self.pending, metadata, body_len);
        for segment in body {
            if segment.len() < COPY_BELOW {
                self.pending.put_slice(&segment);
            } else {
                self.flush();
                self.frames.push(Frame::data(segment));
            }
        }
    }

    /// Moves the gathered small pieces into frames: one, or (when small) several
    /// of at most [`GATHERED_FRAME`] bytes, slices of one buffer.
    fn flush(&mut self) {
        let mut chunk = self.pending.split().freeze();
        if chunk.len() < SPLIT_BELOW {
            while chunk.len() > GATHERED_FRAME {
                self.frames
                    .push(Frame::data(chunk.split_to(GATHERED_FRAME)));
            }
        }
        if !chunk.is_empty() {
            self.frames.push(Frame::data(chunk));
        }
    }

    fn finish(mut self) -> Vec<Frame<Bytes>> {
        self.flush();
        self.frames
    }
}

/// Where the body of a message starts, counted from the start of its protobuf message:
/// a multiple of this, so a reader whose message starts at an aligned address gets
/// aligned Arrow buffers it need not copy. tonic's decoder usually places a large
/// message at the start of a fresh buffer (whenever it must grow or cannot reuse it).
const BODY_ALIGNMENT: usize = 16;

/// Writes the gRPC prefix and the protobuf fields of a `FlightData` up to the body bytes:
/// `data_header` (field 2) whole, and the key and length of `data_body` (field 1000).
/// The header is followed by as many zero bytes as put the body at [`BODY_ALIGNMENT`]
/// (the IPC format pads metadata with zeros too; readers ignore them).
fn put_message(out: &mut BytesMut, header: &[u8], body_len: usize) {
    let body_key = if body_len > 0 {
        2 + varint_len(body_len)
    } else {
        0
    };
    let field = |header_len: usize| 1 + varint_len(header_len) + header_len;
    let mut header_len = header.len();
    if body_len > 0 {
        while (field(header_len) + body_key) % BODY_ALIGNMENT != 0 {
            header_len += 1;
        }
    }
    let message_len = field(header_len) + body_key + body_len;
    out.put_u8(0);
    out.put_u32(message_len as u32);
    out.put_u8(0x12);
    put_varint(out, header_len);
    out.put_slice(header);
    out.put_bytes(0, header_len - header.len());
    if body_len > 0 {
        out.put_slice(&[0xc2, 0x3e]);
        put_varint(out, body_len);
    }
}

fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_varint(out: &mut BytesMut, mut v: usize) {
    while v >= 0x80 {
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// The IPC stream segments of [`StreamEncoder`], read back: a message's prefix and
/// metadata (small, copied), and the body (the buffers, by reference).
struct Segments {
    segments: std::collections::VecDeque<Bytes>,
}

impl Segments {
    fn new(buffers: Vec<arrow::buffer::Buffer>) -> Self {
        Self {
            segments: buffers.into_iter().map(Bytes::from_owner).collect(),
        }
    }

    /// `n` bytes, copied.
    fn copy(&mut self, mut n: usize) -> Result<Vec<u8>, Status> {
        let mut out = Vec::with_capacity(n);
        while n > 0 {
            let mut front = self.segments.pop_front().ok_or_else(|| {
                Status::internal("the IPC encoder's output ended inside a message")
            })?;
            if front.len() > n {
                self.segments.push_front(front.split_off(n));
            }
            n -= front.len();
            out.extend_from_slice(&front);
        }
        Ok(out)
    }

    /// The next message's flatbuffer metadata; `None` at the end-of-stream marker.
    fn metadata(&mut self) -> Result<Option<Vec<u8>>, Status> {
        let prefix = self.copy(8)?;
        if prefix[..4] != [0xff; 4] {
            return Err(Status::internal(
                "the IPC encoder wrote no continuation marker",
            ));
        }
        let len = i32::from_le_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]).max(0) as usize;
        if len == 0 {
            return Ok(None);
        }
        self.copy(len).map(Some)
    }

    /// Everything left: the body of the last message.
    fn rest(self) -> Vec<Bytes> {
        self.segments
            .into_iter()
            .filter(|b| !b.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message decodes as the `FlightData` it stands for, with its body at an
    /// offset of the message that is a multiple of [`BODY_ALIGNMENT`].
    #[test]
    fn bodies_start_aligned() {
        for header_len in [0, 1, 7, 8, 120, 127, 128, 129, 200, 16_383, 16_384] {
            for body_len in [1, 15, 16, 127, 128, 16_384, 2_097_151, 2_097_152, 3_000_000] {
                let header: Vec<u8> = (0..header_len).map(|i| (i % 251) as u8 + 1).collect();
                let body = vec![7_u8; body_len];
                let mut out = BytesMut::new();
                put_message(&mut out, &header, body_len);
                let body_at = out.len() - 5;
                out.put_slice(&body);
                let len = message_len(&out).expect("a prefix");
                assert_eq!(len + 5, out.len(), "header {header_len}, body {body_len}");
                assert_eq!(
                    body_at % BODY_ALIGNMENT,
                    0,
                    "header {header_len}, body {body_len}"
                );
                let data = arrow_flight::FlightData::decode(&out[5..]).expect("a FlightData");
                assert_eq!(&data.data_header[..header_len], &header[..]);
                assert!(data.data_header[header_len..].iter().all(|b| *b == 0));
                assert!(data.data_header.len() - header_len < BODY_ALIGNMENT);
                assert_eq!(data.data_body, body);
            }
        }
    }

    /// A message without a body is written without padding.
    #[test]
    fn schema_messages_are_not_padded() {
        let mut out = BytesMut::new();
        put_message(&mut out, &[1, 2, 3], 0);
        let data = arrow_flight::FlightData::decode(&out[5..]).expect("a FlightData");
        assert_eq!(&data.data_header[..], &[1, 2, 3]);
        assert!(data.data_body.is_empty());
    }

    /// Small answers go out in frames HTTP/2 gathers into its write buffer; large
    /// buffers by reference, in order, nothing lost.
    #[test]
    fn small_pieces_are_gathered_large_ones_referenced() {
        let mut writer = FrameWriter::default();
        writer.message(&[9; 600], vec![Bytes::from(vec![1; 300])]);
        let frames = writer.finish();
        assert!(frames.len() > 1);
        let mut all = Vec::new();
        for frame in &frames {
            let data = frame.data_ref().expect("data");
            assert!(data.len() <= GATHERED_FRAME);
            all.extend_from_slice(data);
        }
        assert_eq!(message_len(&all).map(|l| l + 5), Some(all.len()));

        let large = Bytes::from(vec![2; COPY_BELOW * 4]);
        let mut writer = FrameWriter::default();
        writer.message(&[9; 64], vec![Bytes::from(vec![1; 8]), large.clone()]);
        let frames = writer.finish();
        let last = frames.last().and_then(|f| f.data_ref()).expect("data");
        assert_eq!(
            last.as_ptr(),
            large.as_ptr(),
            "the large buffer goes by reference"
        );
        let total: usize = frames
            .iter()
            .filter_map(|f| f.data_ref())
            .map(Bytes::len)
            .sum();
        let first = frames[0].data_ref().expect("data");
        assert_eq!(message_len(first).map(|l| l + 5), Some(total));
    }

    /// Gathered chunks below [`SPLIT_BELOW`] become frames of at most
    /// [`GATHERED_FRAME`] bytes; larger ones stay one frame.
    #[test]
    fn split_boundaries() {
        for len in [1, 254, 255, 256, 511, 4095, 4096, 4097, 20_000] {
            let mut writer = FrameWriter::default();
            writer.pending.put_bytes(1, len);
            let frames = writer.finish();
            let sizes: Vec<usize> = frames
                .iter()
                .filter_map(|f| f.data_ref())
                .map(Bytes::len)
                .collect();
            assert_eq!(sizes.iter().sum::<usize>(), len);
            if len < SPLIT_BELOW {
                assert!(
                    sizes.iter().all(|s| *s <= GATHERED_FRAME),
                    "{len}: {sizes:?}"
                );
            } else {
                assert_eq!(sizes, [len]);
            }
        }
    }
}

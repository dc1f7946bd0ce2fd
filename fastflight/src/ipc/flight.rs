//! Arrow IPC as Flight `FlightData` frames, without copies: each record batch goes out
//! as the gRPC messages of its `FlightData`, whose body is the Arrow buffers themselves,
//! handed to HTTP/2 as they are. (The generated service would copy every buffer twice
//! on the way: arrow-ipc into one body vector, prost into tonic's encode buffer.)
//!
//! A `FlightData` message is the protobuf fields `data_header` (2) and `data_body`
//! (1000); the small parts are written into one buffer, the body buffers follow by
//! reference. A batch larger than the server's `max_flight_data_size` is sent as
//! several messages of fewer rows.

use arrow::datatypes::{DataType, SchemaRef};
use arrow::ipc::writer::{IpcWriteOptions, StreamEncoder};
use arrow::record_batch::RecordBatch;
use bytes::{BufMut, Bytes, BytesMut};
use futures::stream::{self, Stream, StreamExt};
use http_body::Frame;
use prost::Message as _;
use tonic::Status;

use super::grpc::{put_prefix, put_varint, trailers, varint_len};
use super::Gathered;
use crate::service::BatchStream;
use crate::wire::{Compression, COMPRESSION_HEADER};

/// Chunks below this size go out as DATA frames of at most [`GATHERED_FRAME`] bytes.
const SPLIT_BELOW: usize = 4 * 1024;
/// HTTP/2 (h2, over a socket with vectored writes, as TCP is) copies a DATA frame this
/// small into its write buffer, next to the frames before and after it (the trailers
/// among them); a larger one it writes by reference and must flush before the next
/// frame. So a small answer typically leaves in one socket write.
const GATHERED_FRAME: usize = 255;

/// The response frames of a stream.
pub(crate) type Frames = stream::BoxStream<'static, Result<Frame<Bytes>, Status>>;

/// The IPC options a DoGet asks for: compression through the [`COMPRESSION_HEADER`]
/// header (`lz4`, `zstd` or `none`).
pub(crate) fn write_options(
    metadata: &tonic::metadata::MetadataMap,
) -> Result<IpcWriteOptions, Status> {
    let value = metadata
        .get(COMPRESSION_HEADER)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let codec = match Compression::from_header(value)? {
        None => return Ok(IpcWriteOptions::default()),
        Some(Compression::Lz4) => arrow::ipc::CompressionType::LZ4_FRAME,
        Some(Compression::Zstd) => arrow::ipc::CompressionType::ZSTD,
    };
    if !cfg!(feature = "ipc-compression") {
        return Err(Status::unimplemented(
            "this server was built without IPC compression (cargo feature `ipc-compression`)",
        ));
    }
    IpcWriteOptions::default()
        .try_with_compression(Some(codec))
        .map_err(|e| Status::internal(e.to_string()))
}

/// The frames of one result: the schema (with the first batch, or alone for a result
/// of no rows), each batch (split where above `max_flight_data_size`), then the
/// trailers (`grpc-status` 0, or the error that ended the stream, with its code).
pub(crate) fn frames(
    schema: SchemaRef,
    batches: BatchStream,
    options: IpcWriteOptions,
    max_flight_data_size: usize,
) -> Result<Frames, Status> {
    let has_dictionaries = schema
        .flattened_fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Dictionary(..)));
    if has_dictionaries {
        // Dictionary ids must agree between schema and batches, and each dictionary goes
        // before the batches that use it: arrow-flight's encoder (with its copies) does it.
        return Ok(encoded_frames(schema, batches, options, max_flight_data_size).boxed());
    }
    copy_free_frames(schema, batches, options, max_flight_data_size).map(StreamExt::boxed)
}

/// For schemas without dictionaries, where `StreamEncoder` writes exactly: the schema
/// message on its first call, then one record batch message.
fn copy_free_frames(
    schema: SchemaRef,
    batches: BatchStream,
    options: IpcWriteOptions,
    max_flight_data_size: usize,
) -> Result<impl Stream<Item = Result<Frame<Bytes>, Status>> + Send, Status> {
    let encoder = StreamEncoder::try_new_with_options(&schema, options)
        .map_err(|e| Status::internal(format!("cannot encode the schema: {e}")))?;
    let body = stream::unfold(Some((encoder, batches, true)), move |state| async move {
        let (mut encoder, mut batches, first) = state?;
        let frames = match batches.next().await {
            Some(Ok(batch)) => {
                match batch_frames(&mut encoder, &batch, first, max_flight_data_size) {
                    Ok(frames) => {
                        return Some((
                            stream::iter(frames.into_iter().map(Ok)).left_stream(),
                            Some((encoder, batches, false)),
                        ))
                    }
                    Err(status) => vec![trailers(&status)],
                }
            }
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
        // Send the dictionaries as they are (the encoder's default turns them into values).
        .with_dictionary_handling(arrow_flight::encode::DictionaryHandling::Resend)
        .build(batches.map_err(arrow_flight::error::FlightError::from));
    let mut ended = false;
    encoded
        .map(|item| match item {
            Ok(data) => {
                let mut frame = BytesMut::with_capacity(data.encoded_len() + 5);
                put_prefix(&mut frame, data.encoded_len())?;
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

/// The batch cut into pieces of about `max_flight_data_size` bytes of buffers each (as
/// arrow-flight's encoder cuts them); the batch itself when it fits.
fn split(batch: &RecordBatch, max_flight_data_size: usize) -> Vec<RecordBatch> {
    let size: usize = batch
        .columns()
        .iter()
        .map(|c| c.get_buffer_memory_size())
        .sum();
    let pieces = size.div_ceil(max_flight_data_size.max(1)).max(1);
    if pieces == 1 || batch.num_rows() < 2 {
        return vec![batch.clone()];
    }
    let rows_per_piece = batch.num_rows().div_ceil(pieces).max(1);
    (0..batch.num_rows())
        .step_by(rows_per_piece)
        .map(|offset| batch.slice(offset, rows_per_piece.min(batch.num_rows() - offset)))
        .collect()
}

/// The `FlightData` frames of one batch (one message per piece of at most
/// `max_flight_data_size`), preceded by the schema's on the first call.
fn batch_frames(
    encoder: &mut StreamEncoder,
    batch: &RecordBatch,
    first: bool,
    max_flight_data_size: usize,
) -> Result<Vec<Frame<Bytes>>, Status> {
    let mut frames = FrameWriter::default();
    for (i, piece) in split(batch, max_flight_data_size).iter().enumerate() {
        let buffers = encoder
            .encode(piece)
            .map_err(|e| Status::internal(format!("cannot encode a batch: {e}")))?;
        let mut segments = Segments::new(buffers);
        if first && i == 0 {
            let schema = segments
                .metadata()?
                .ok_or_else(|| Status::internal("the IPC encoder wrote no schema"))?;
            frames.message(&schema, Vec::new())?;
        }
        let metadata = segments
            .metadata()?
            .ok_or_else(|| Status::internal("the IPC encoder wrote no batch"))?;
        frames.message(&metadata, segments.rest())?;
    }
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
    frames.message(&schema, Vec::new())?;
    Ok(frames.finish().into_iter().map(Ok).collect())
}

/// Gathers messages into as few HTTP/2 data chunks as it can without copying large
/// buffers: small pieces (prefixes, metadata, padding, short buffers, whole small
/// messages) are copied together; a large buffer goes by reference as a chunk of its own.
#[derive(Default)]
struct FrameWriter {
    gathered: Gathered,
}

impl FrameWriter {
    fn message(&mut self, metadata: &[u8], body: Vec<Bytes>) -> Result<(), Status> {
        let body_len: usize = body.iter().map(Bytes::len).sum();
        let pending = self.gathered.pending();
        pending.reserve(metadata.len() + 32);
        put_message(pending, metadata, body_len)?;
        for segment in body {
            self.gathered.push(segment);
        }
        Ok(())
    }

    /// The frames: each chunk one, but a small one (below [`SPLIT_BELOW`]) several of
    /// at most [`GATHERED_FRAME`] bytes, slices of one buffer.
    fn finish(self) -> Vec<Frame<Bytes>> {
        let mut frames = Vec::new();
        for mut chunk in self.gathered.into_chunks() {
            if chunk.len() < SPLIT_BELOW {
                while chunk.len() > GATHERED_FRAME {
                    frames.push(Frame::data(chunk.split_to(GATHERED_FRAME)));
                }
            }
            if !chunk.is_empty() {
                frames.push(Frame::data(chunk));
            }
        }
        frames
    }
}

/// Where the body of a message starts, counted from the start of its protobuf message:
/// a multiple of this, so a reader whose message starts at an aligned address gets
/// aligned Arrow buffers it need not copy. tonic's decoder usually places a large
/// message at the start of a fresh buffer (whenever it must grow or cannot reuse it).
const BODY_ALIGNMENT: usize = 16;

/// Writes the gRPC prefix (refusing a message above 4 GiB) and the protobuf fields of a `FlightData` up to the body bytes:
/// `data_header` (field 2) whole, and the key and length of `data_body` (field 1000).
/// The header is followed by as many zero bytes as put the body at [`BODY_ALIGNMENT`]
/// (the IPC format pads metadata with zeros too; readers ignore them).
fn put_message(out: &mut BytesMut, header: &[u8], body_len: usize) -> Result<(), Status> {
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
    put_prefix(out, message_len)?;
    out.put_u8(0x12);
    put_varint(out, header_len);
    out.put_slice(header);
    out.put_bytes(0, header_len - header.len());
    if body_len > 0 {
        out.put_slice(&[0xc2, 0x3e]);
        put_varint(out, body_len);
    }
    Ok(())
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
    use crate::ipc::grpc::message_len;

    /// Every message decodes as the `FlightData` it stands for, with its body at an
    /// offset of the message that is a multiple of [`BODY_ALIGNMENT`].
    #[test]
    fn bodies_start_aligned() {
        for header_len in [0, 1, 7, 8, 120, 127, 128, 129, 200, 16_383, 16_384] {
            for body_len in [1, 15, 16, 127, 128, 16_384, 2_097_151, 2_097_152, 3_000_000] {
                let header: Vec<u8> = (0..header_len).map(|i| (i % 251) as u8 + 1).collect();
                let body = vec![7_u8; body_len];
                let mut out = BytesMut::new();
                put_message(&mut out, &header, body_len).unwrap();
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
        put_message(&mut out, &[1, 2, 3], 0).unwrap();
        let data = arrow_flight::FlightData::decode(&out[5..]).expect("a FlightData");
        assert_eq!(&data.data_header[..], &[1, 2, 3]);
        assert!(data.data_body.is_empty());
    }

    /// Small answers go out in frames HTTP/2 gathers into its write buffer; large
    /// buffers by reference, in order, nothing lost.
    #[test]
    fn small_pieces_are_gathered_large_ones_referenced() {
        let mut writer = FrameWriter::default();
        writer
            .message(&[9; 600], vec![Bytes::from(vec![1; 300])])
            .unwrap();
        let frames = writer.finish();
        assert!(frames.len() > 1);
        let mut all = Vec::new();
        for frame in &frames {
            let data = frame.data_ref().expect("data");
            assert!(data.len() <= GATHERED_FRAME);
            all.extend_from_slice(data);
        }
        assert_eq!(message_len(&all).map(|l| l + 5), Some(all.len()));

        let large = Bytes::from(vec![2; crate::ipc::GATHER_BELOW * 4]);
        let mut writer = FrameWriter::default();
        writer
            .message(&[9; 64], vec![Bytes::from(vec![1; 8]), large.clone()])
            .unwrap();
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
            writer.gathered.pending().put_bytes(1, len);
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

    /// A batch above the limit goes out as several messages of fewer rows, in order,
    /// every row once; one that fits stays whole.
    #[test]
    fn batches_above_the_limit_are_split_by_rows() {
        use arrow::array::{Array, Int64Array};
        let values = Int64Array::from_iter_values(0..10_000);
        let batch = RecordBatch::try_from_iter([("n", std::sync::Arc::new(values) as _)]).unwrap();
        assert_eq!(split(&batch, 1 << 20).len(), 1);
        let pieces = split(&batch, 8_000);
        assert!(pieces.len() >= 10, "{} pieces", pieces.len());
        let rows: Vec<i64> = pieces
            .iter()
            .flat_map(|p| {
                let a = p
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .clone();
                (0..a.len()).map(move |i| a.value(i)).collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(rows, (0..10_000).collect::<Vec<_>>());
        let one_row = batch.slice(0, 1);
        assert_eq!(split(&one_row, 1).len(), 1, "a single row cannot be cut");
    }
}

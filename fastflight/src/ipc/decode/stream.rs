//! Reading an Arrow IPC stream that arrives in pieces (the gateway's Arrow answer, an
//! HTTP body) into record batches, with the Flight client's decoding and checks.
//!
//! ```
//! use fastflight::arrow::array::{ArrayRef, Int64Array};
//! use fastflight::arrow::ipc::writer::StreamWriter;
//! use fastflight::arrow::record_batch::RecordBatch;
//! use fastflight::ipc::IpcStreamDecoder;
//!
//! let batch = RecordBatch::try_from_iter([(
//!     "id",
//!     std::sync::Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
//! )])?;
//! let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema())?;
//! writer.write(&batch)?;
//! writer.finish()?;
//! let stream = bytes::Bytes::from(writer.into_inner()?);
//!
//! // The stream in pieces of 7 bytes, as a network might deliver it.
//! let mut decoder = IpcStreamDecoder::new();
//! let mut rows = 0;
//! for start in (0..stream.len()).step_by(7) {
//!     let mut piece = stream.slice(start..stream.len().min(start + 7));
//!     while let Some(batch) = decoder.decode(&mut piece)? {
//!         rows += batch.num_rows();
//!     }
//! }
//! decoder.finish()?;
//! assert_eq!(rows, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::{Buf, Bytes, BytesMut};

use super::{malformed, Messages, Read};
use crate::Result;

/// The largest IPC metadata (flatbuffer header) of one message that is accepted.
pub const MAX_METADATA_BYTES: usize = 16 << 20;

/// What is read next.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Stage {
    /// The 4-byte continuation marker (or, in the legacy format, the length).
    #[default]
    Marker,
    /// The 4-byte length of the metadata.
    Length,
    /// The metadata, of this many bytes.
    Metadata(usize),
    /// The body, of this many bytes.
    Body(usize),
    /// The end-of-stream marker was read.
    Ended,
}

/// At most this much is reserved ahead for a body split over pieces (a batch's message
/// is at most 64 MiB); a longer one grows as its bytes come.
const MAX_RESERVED: usize = 64 << 20;

/// Decodes an Arrow IPC stream fed in pieces of any size into record batches.
///
/// Each message is checked as the Flight client checks it: every buffer within its
/// body, every batch fully validated, a second schema or a batch before the schema
/// refused. A body that arrives whole in one piece is used where it lies; one split
/// over pieces is gathered once. [`IpcStreamDecoder::finish`] refuses a stream cut
/// short: one without its end-of-stream marker.
#[derive(Default)]
pub struct IpcStreamDecoder {
    messages: Messages,
    stage: Stage,
    /// The bytes of the part being read, where it spans pieces.
    pending: BytesMut,
    /// The metadata of the message whose body is being read.
    metadata: Bytes,
}

impl std::fmt::Debug for IpcStreamDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpcStreamDecoder")
            .field("schema", &self.messages.schema())
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl IpcStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stream's schema, once its first message has been read.
    pub fn schema(&self) -> Option<SchemaRef> {
        self.messages.schema().cloned()
    }

    /// Reads from `piece` until a batch is complete (returned) or `piece` is used up
    /// (`None`; feed the next piece). Call it again with the same piece while it returns
    /// batches.
    pub fn decode(&mut self, piece: &mut Bytes) -> Result<Option<RecordBatch>> {
        while !piece.is_empty() {
            let wanted = match self.stage {
                Stage::Marker | Stage::Length => 4,
                Stage::Metadata(n) | Stage::Body(n) => n,
                Stage::Ended => {
                    return Err(malformed(format!(
                        "{} bytes follow its end-of-stream marker",
                        piece.len()
                    )))
                }
            };
            let Some(part) = self.take(piece, wanted) else {
                continue;
            };
            let body = match self.stage {
                Stage::Marker | Stage::Length => {
                    let word = u32::from_le_bytes([part[0], part[1], part[2], part[3]]);
                    self.stage = match (self.stage, word) {
                        (Stage::Marker, 0xFFFF_FFFF) => Stage::Length,
                        (_, 0) => Stage::Ended,
                        (_, length) if length as usize > MAX_METADATA_BYTES => {
                            return Err(malformed(format!(
                                "a message's metadata of {length} bytes is over the limit of {MAX_METADATA_BYTES}"
                            )))
                        }
                        (_, length) => Stage::Metadata(length as usize),
                    };
                    continue;
                }
                Stage::Metadata(_) => {
                    let message = arrow::ipc::root_as_message(&part)
                        .map_err(|e| malformed(format!("its IPC header is not valid: {e}")))?;
                    let length = usize::try_from(message.bodyLength()).map_err(|_| {
                        malformed(format!(
                            "a message's body length is negative ({})",
                            message.bodyLength()
                        ))
                    })?;
                    self.metadata = part;
                    if length > 0 {
                        self.stage = Stage::Body(length);
                        continue;
                    }
                    Bytes::new()
                }
                Stage::Body(_) | Stage::Ended => part,
            };
            self.stage = Stage::Marker;
            let metadata = std::mem::take(&mut self.metadata);
            if let Some(Read::Batch(batch)) = self.messages.decode(&metadata, body)? {
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }

    /// Whether the stream ended whole: its end-of-stream marker read, nothing pending.
    pub fn finish(&self) -> Result<()> {
        match self.stage {
            Stage::Ended => Ok(()),
            _ => Err(malformed(
                "it ended without its end-of-stream marker: it may be cut short".to_owned(),
            )),
        }
    }

    /// The part of `wanted` bytes, once all have come: taken from `piece` where it lies
    /// whole there, else gathered in `pending` (`None` until complete).
    fn take(&mut self, piece: &mut Bytes, wanted: usize) -> Option<Bytes> {
        if self.pending.is_empty() && piece.len() >= wanted {
            return Some(piece.split_to(wanted));
        }
        if self.pending.is_empty() {
            self.pending = BytesMut::with_capacity(wanted.min(MAX_RESERVED));
        }
        let n = piece.len().min(wanted - self.pending.len());
        self.pending.extend_from_slice(&piece[..n]);
        piece.advance(n);
        (self.pending.len() == wanted).then(|| std::mem::take(&mut self.pending).freeze())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, DictionaryArray, Int64Array, ListArray, StringArray, UInt16Array,
    };
    use arrow::datatypes::Int32Type;
    use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
    use arrow::ipc::MetadataVersion;

    use super::*;

    fn batches() -> Vec<RecordBatch> {
        (0..3_i64)
            .map(|k| {
                let keys = UInt16Array::from_iter_values((0..50).map(|i| (i % 3) as u16));
                let dictionary = DictionaryArray::new(
                    keys,
                    Arc::new(StringArray::from(vec!["red", "grün", "青"])),
                );
                let list = ListArray::from_iter_primitive::<Int32Type, _, _>(
                    (0..50).map(|i| (i % 4 != 0).then(|| vec![Some(i), None, Some(i * 2)])),
                );
                RecordBatch::try_from_iter([
                    (
                        "id",
                        Arc::new(Int64Array::from_iter_values(k * 50..k * 50 + 50)) as ArrayRef,
                    ),
                    (
                        "name",
                        Arc::new(StringArray::from_iter(
                            (0..50).map(|i| (i % 5 != 0).then(|| format!("n-{k}-{i}-é"))),
                        )),
                    ),
                    ("colour", Arc::new(dictionary)),
                    ("list", Arc::new(list)),
                ])
                .expect("batch")
            })
            .collect()
    }

    fn stream(options: IpcWriteOptions) -> Bytes {
        let batches = batches();
        let mut writer =
            StreamWriter::try_new_with_options(Vec::new(), &batches[0].schema(), options)
                .expect("writer");
        for batch in &batches {
            writer.write(batch).expect("write");
        }
        writer.finish().expect("finish");
        Bytes::from(writer.into_inner().expect("bytes"))
    }

    /// Feeds `stream` in pieces of `size`; the batches, and whether it ended whole.
    fn read(stream: &Bytes, size: usize) -> Result<Vec<RecordBatch>> {
        let mut decoder = IpcStreamDecoder::new();
        let mut batches = Vec::new();
        for start in (0..stream.len()).step_by(size) {
            let mut piece = stream.slice(start..stream.len().min(start + size));
            while let Some(batch) = decoder.decode(&mut piece)? {
                batches.push(batch);
            }
        }
        decoder.finish()?;
        Ok(batches)
    }

    #[test]
    fn a_stream_in_pieces_of_any_size_reads_whole() {
        let legacy = IpcWriteOptions::try_new(8, true, MetadataVersion::V4).expect("options");
        for stream in [stream(IpcWriteOptions::default()), stream(legacy)] {
            for size in [1, 3, 7, 64, 1000, 4096, stream.len()] {
                assert_eq!(
                    read(&stream, size).expect("read"),
                    batches(),
                    "pieces of {size}"
                );
            }
        }
    }

    #[test]
    fn a_stream_cut_short_anywhere_is_refused() {
        let stream = stream(IpcWriteOptions::default());
        for cut in 0..stream.len() {
            let error = read(&stream.slice(..cut), 97)
                .expect_err("cut short")
                .to_string();
            assert!(
                error.contains("end-of-stream marker"),
                "cut at {cut}: {error}"
            );
        }
    }

    #[test]
    fn bytes_after_the_end_and_oversized_metadata_are_refused_by_name() {
        let mut longer = stream(IpcWriteOptions::default()).to_vec();
        longer.extend_from_slice(b"more");
        let error = read(&Bytes::from(longer), 512)
            .expect_err("trailing")
            .to_string();
        assert!(error.contains("follow its end-of-stream marker"), "{error}");

        let mut huge = vec![0xFF; 4];
        huge.extend_from_slice(&(MAX_METADATA_BYTES as u32 + 1).to_le_bytes());
        let error = read(&Bytes::from(huge), 3).expect_err("huge").to_string();
        assert!(error.contains("over the limit"), "{error}");
    }

    /// Corrupted streams (a byte changed anywhere): an error or the batches, never a panic.
    #[test]
    fn a_corrupted_stream_never_panics() {
        let stream = stream(IpcWriteOptions::default());
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let (mut refused, mut read_whole) = (0, 0);
        for _ in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bytes = stream.to_vec();
            let at = (state % bytes.len() as u64) as usize;
            bytes[at] ^= ((state >> 32) % 255 + 1) as u8;
            match read(&Bytes::from(bytes), 333) {
                Ok(_) => read_whole += 1,
                Err(_) => refused += 1,
            }
        }
        assert!(
            refused > 100 && read_whole > 100,
            "refused {refused}, read {read_whole}"
        );
    }
}

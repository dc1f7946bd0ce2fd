//! The client's reading of a DoGet's Flight messages into record batches: the schema
//! first, then dictionaries and batches.
//!
//! A batch keeps its buffers where they arrived: its body is sliced, not copied, and
//! only a buffer misaligned for its type is copied (each on its own). Every batch is
//! fully validated (offsets, UTF-8, dictionary keys), since its bytes come from a peer;
//! flat batches by [`flat`], the others by arrow's decoder. Every buffer a header names
//! is checked to lie within its body first (arrow's decoder would panic on one that
//! does not).

mod flat;
pub mod stream;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow::array::ArrayRef;
use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::{read_dictionary, RecordBatchDecoder};
use arrow::ipc::MessageHeader;
use arrow::record_batch::RecordBatch;
use arrow_flight::FlightData;
use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::{Error, Result};

/// One decoded message of a stream.
pub(crate) enum Read {
    Schema(SchemaRef),
    Batch(RecordBatch),
}

/// The messages of one DoGet, decoded in order.
pub(crate) struct Decoder<S> {
    messages: S,
    state: Messages,
}

impl<S> Decoder<S> {
    pub(crate) fn new(messages: S) -> Self {
        Self {
            messages,
            state: Messages::default(),
        }
    }
}

/// What a stream's earlier messages left for its later ones: the schema, dictionaries.
#[derive(Default)]
pub(crate) struct Messages {
    schema: Option<SchemaRef>,
    dictionaries: HashMap<i64, ArrayRef>,
}

impl Messages {
    /// The schema, if it has come.
    pub(crate) fn schema(&self) -> Option<&SchemaRef> {
        self.schema.as_ref()
    }

    /// The schema, a batch, or nothing (a dictionary, or a message with no header).
    pub(crate) fn decode(&mut self, header: &[u8], body: Bytes) -> Result<Option<Read>> {
        let message = arrow::ipc::root_as_message(header)
            .map_err(|e| malformed(format!("its IPC header is not valid: {e}")))?;
        // The body by reference (a slice of the received message); the decoders copy a
        // buffer only where it is misaligned for its type.
        let body = Buffer::from(body);
        match message.header_type() {
            MessageHeader::NONE => Ok(None),
            MessageHeader::Schema => {
                if self.schema.is_some() {
                    return Err(malformed("it sent a second schema".to_owned()));
                }
                let schema = message
                    .header_as_schema()
                    .ok_or_else(|| malformed("a schema message has no schema".to_owned()))?;
                let schema = Arc::new(
                    unpanicked(|| arrow::ipc::convert::try_fb_to_schema(schema))
                        .map_err(|e| malformed(format!("its schema cannot be read: {e}")))?,
                );
                self.schema = Some(Arc::clone(&schema));
                Ok(Some(Read::Schema(schema)))
            }
            MessageHeader::DictionaryBatch => {
                let schema = self.schema.as_ref().ok_or_else(|| {
                    malformed("it sent a dictionary before the schema".to_owned())
                })?;
                let batch = message
                    .header_as_dictionary_batch()
                    .ok_or_else(|| malformed("a dictionary has no header".to_owned()))?;
                in_bounds(
                    batch
                        .data()
                        .and_then(|d| d.buffers())
                        .into_iter()
                        .flat_map(|v| v.iter()),
                    body.len(),
                )?;
                let dictionaries = &mut self.dictionaries;
                unpanicked(|| {
                    read_dictionary(&body, batch, schema, dictionaries, &message.version())
                })
                .map_err(|e| malformed(format!("a dictionary cannot be read: {e}")))?;
                Ok(None)
            }
            MessageHeader::RecordBatch => {
                let schema = self.schema.as_ref().ok_or_else(|| {
                    Error::status(
                        tonic::Code::Internal,
                        "the server sent a record batch before the schema",
                    )
                })?;
                let batch_header = message
                    .header_as_record_batch()
                    .ok_or_else(|| malformed("a record batch has no header".to_owned()))?;
                in_bounds(
                    batch_header.buffers().into_iter().flat_map(|v| v.iter()),
                    body.len(),
                )?;
                let batch = match flat::batch(schema, &batch_header, &body) {
                    Some(batch) => batch,
                    None => unpanicked(|| {
                        RecordBatchDecoder::try_new(
                            &body,
                            batch_header,
                            Arc::clone(schema),
                            &self.dictionaries,
                            &message.version(),
                        )
                        .and_then(RecordBatchDecoder::read_record_batch)
                    }),
                }
                .map_err(|e| malformed(format!("a record batch cannot be read: {e}")))?;
                Ok(Some(Read::Batch(batch)))
            }
            other => Err(malformed(format!(
                "it sent an unexpected message ({})",
                other.variant_name().unwrap_or("unknown")
            ))),
        }
    }
}

/// Arrow's decoders, with a panic on malformed input (a buffer length that is not a
/// whole number of values, say) turned into an error: the input came from a peer.
fn unpanicked<T>(
    decode: impl FnOnce() -> std::result::Result<T, arrow::error::ArrowError>,
) -> std::result::Result<T, arrow::error::ArrowError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|_| {
        Err(arrow::error::ArrowError::IpcError(
            "the message made the decoder panic".to_owned(),
        ))
    })
}

/// Every buffer a header names lies within the body.
fn in_bounds<'a>(buffers: impl Iterator<Item = &'a arrow::ipc::Buffer>, body: usize) -> Result<()> {
    for (i, buffer) in buffers.enumerate() {
        let end = usize::try_from(buffer.offset())
            .ok()
            .zip(usize::try_from(buffer.length()).ok())
            .and_then(|(offset, length)| offset.checked_add(length));
        if end.is_none_or(|end| end > body) {
            return Err(malformed(format!(
                "buffer {i} (offset {}, length {}) lies outside the message body of {body} bytes",
                buffer.offset(),
                buffer.length()
            )));
        }
    }
    Ok(())
}

fn malformed(what: String) -> Error {
    Error::status(
        tonic::Code::Internal,
        format!("the server's stream is malformed: {what}"),
    )
}

impl<S> Stream for Decoder<S>
where
    S: Stream<Item = std::result::Result<FlightData, tonic::Status>> + Unpin,
{
    type Item = Result<Read>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let data = match self.messages.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(data))) => data,
                Poll::Ready(Some(Err(status))) => return Poll::Ready(Some(Err(status.into()))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            match self.state.decode(&data.data_header, data.data_body) {
                Ok(Some(decoded)) => return Poll::Ready(Some(Ok(decoded))),
                Ok(None) => continue,
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}

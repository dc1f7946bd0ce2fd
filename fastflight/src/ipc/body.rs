//! Arrow IPC for HTTP bodies (the gateway's answers): a result's batches as an IPC
//! stream in chunks over the batches' own buffers ([`IpcChunks`]), and a Flight message
//! relayed as an IPC stream message without decoding it ([`ipc_message`]).

use arrow::record_batch::RecordBatch;

use crate::Result;

/// One Flight message as an encapsulated Arrow IPC stream message, without decoding it:
/// the prefix and metadata (padded to 8 bytes) as one small chunk, and the body as it
/// came, not copied.
pub(crate) fn ipc_message(message: &arrow_flight::FlightData) -> Result<[bytes::Bytes; 2]> {
    let header = &message.data_header;
    if header.is_empty() {
        return Err(crate::Error::status(
            tonic::Code::Internal,
            "a Flight message without IPC metadata",
        ));
    }
    let padded = header.len().div_ceil(8) * 8;
    let length = i32::try_from(padded)
        .map_err(|_| crate::Error::status(tonic::Code::Internal, "IPC metadata above 2 GiB"))?;
    let mut head = Vec::with_capacity(8 + padded);
    head.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    head.extend_from_slice(&length.to_le_bytes());
    head.extend_from_slice(header);
    head.resize(8 + padded, 0);
    Ok([bytes::Bytes::from(head), message.data_body.clone()])
}

/// An Arrow IPC stream of `batches` as body chunks, without copying the batches: the
/// encoder's buffers (the Arrow buffers themselves, for uncompressed batches) go by
/// reference; pieces below 16 KiB (prefixes, metadata, small buffers) are gathered into
/// one chunk, so a chunked HTTP body is not made of many tiny chunks. The schema goes
/// with the first batch (or alone, for a result of no rows), dictionaries before the
/// batches that use them.
pub(crate) struct IpcChunks {
    encoder: Option<arrow::ipc::writer::StreamEncoder>,
}

impl IpcChunks {
    pub(crate) fn new(schema: &arrow::datatypes::Schema) -> Result<Self> {
        Ok(Self {
            encoder: Some(arrow::ipc::writer::StreamEncoder::try_new(schema)?),
        })
    }

    /// The chunks of one batch (the schema's before the first).
    pub(crate) fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<bytes::Bytes>> {
        let encoder = self.encoder.as_mut().ok_or_else(|| {
            crate::Error::status(tonic::Code::Internal, "the IPC stream was finished")
        })?;
        Ok(Self::gather(encoder.encode(batch)?))
    }

    /// The chunks that end the stream.
    pub(crate) fn finish(&mut self) -> Result<Vec<bytes::Bytes>> {
        match self.encoder.take() {
            Some(encoder) => Ok(Self::gather(encoder.finish()?)),
            None => Ok(Vec::new()),
        }
    }

    fn gather(buffers: Vec<arrow::buffer::Buffer>) -> Vec<bytes::Bytes> {
        let mut gathered = super::Gathered::default();
        for buffer in buffers {
            gathered.push(bytes::Bytes::from_owner(buffer));
        }
        gathered.into_chunks()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    /// Flight messages framed one by one read back, with a reader of the IPC stream
    /// format, as the batches they carry.
    #[tokio::test]
    async fn flight_messages_framed_are_an_ipc_stream() {
        use futures::TryStreamExt;
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..1000)) as ArrayRef,
            ),
            (
                "name",
                Arc::new(StringArray::from_iter_values(
                    (0..1000).map(|i| format!("n{i}")),
                )) as ArrayRef,
            ),
        ])
        .unwrap();
        let messages: Vec<arrow_flight::FlightData> =
            arrow_flight::encode::FlightDataEncoderBuilder::new()
                .build(futures::stream::iter([
                    Ok(batch.clone()),
                    Ok(batch.slice(10, 7)),
                ]))
                .try_collect()
                .await
                .unwrap();
        let mut stream = Vec::new();
        for message in &messages {
            for chunk in ipc_message(message).unwrap() {
                stream.extend_from_slice(&chunk);
            }
        }
        stream.extend_from_slice(crate::ipc::IPC_END);
        let reader =
            arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(stream), None).unwrap();
        let read: Vec<RecordBatch> = reader.collect::<std::result::Result<_, _>>().unwrap();
        assert_eq!(read, [batch.clone(), batch.slice(10, 7)]);
        // A message without metadata is refused, not framed.
        assert!(ipc_message(&arrow_flight::FlightData::default()).is_err());

        // Batches through IpcChunks: large buffers by reference, one stream.
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..10_000)) as ArrayRef,
            ),
            (
                "name",
                Arc::new(StringArray::from_iter_values(
                    (0..10_000).map(|i| format!("n{i}")),
                )) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut chunks = IpcChunks::new(&batch.schema()).unwrap();
        let mut stream = Vec::new();
        let first = chunks.batch(&batch).unwrap();
        assert!(first.len() >= 2, "the large buffers go by reference");
        for chunk in first
            .into_iter()
            .chain(chunks.batch(&batch.slice(10, 7)).unwrap())
            .chain(chunks.finish().unwrap())
        {
            stream.extend_from_slice(&chunk);
        }
        let reader =
            arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(stream), None).unwrap();
        let read: Vec<RecordBatch> = reader.collect::<std::result::Result<_, _>>().unwrap();
        assert_eq!(read, [batch.clone(), batch.slice(10, 7)]);
        // No batch: the schema alone, then the end.
        let mut empty = IpcChunks::new(&batch.schema()).unwrap();
        let stream: Vec<u8> = empty.finish().unwrap().concat();
        let reader =
            arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(stream), None).unwrap();
        assert_eq!(reader.schema(), batch.schema());
        assert_eq!(reader.count(), 0);
    }
}

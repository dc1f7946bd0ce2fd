//! gRPC framing over HTTP/2, as DoGet needs it: a request body's one message, the
//! 5-byte length prefix of each response message, protobuf varints, and the trailers
//! that end a response with its status.

use bytes::{BufMut, Bytes, BytesMut};
use http_body::Frame;
use http_body_util::BodyExt;
use tonic::Status;

/// The gRPC message prefix: a compression flag and the length as u32 big-endian.
pub(crate) const PREFIX_LEN: usize = 5;

/// The one uncompressed message of a request body of at most `max` bytes, read until
/// the body ends (or says it has ended once the message is whole).
pub(crate) async fn read_message(
    mut body: tonic::body::Body,
    max: usize,
    what: &str,
) -> Result<Bytes, Status> {
    let mut bytes = BytesMut::new();
    while !(message_len(&bytes).is_some_and(|len| bytes.len() >= PREFIX_LEN + len)
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
                    "cannot read the {what} request: {e}"
                )))
            }
            None => break,
        }
        if bytes.len() > max + PREFIX_LEN || message_len(&bytes).is_some_and(|len| len > max) {
            return Err(Status::resource_exhausted(format!(
                "a {what} request message above {max} bytes is refused (max_request_bytes)"
            )));
        }
    }
    let len = message_len(&bytes)
        .ok_or_else(|| Status::invalid_argument(format!("the {what} request holds no message")))?;
    if bytes[0] != 0 {
        return Err(Status::unimplemented(format!(
            "compressed {what} requests are not accepted"
        )));
    }
    if bytes.len() < PREFIX_LEN + len {
        return Err(Status::invalid_argument(format!(
            "the {what} request message is cut short"
        )));
    }
    Ok(bytes.freeze().slice(PREFIX_LEN..PREFIX_LEN + len))
}

/// The length of the gRPC message whose prefix starts `bytes`, once it is there.
pub(crate) fn message_len(bytes: &[u8]) -> Option<usize> {
    let prefix = bytes.get(..PREFIX_LEN)?;
    Some(u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize)
}

/// Writes the prefix of an uncompressed message of `len` bytes; a message that does
/// not fit the prefix's u32 length is refused, never truncated.
pub(crate) fn put_prefix(out: &mut BytesMut, len: usize) -> Result<(), Status> {
    let len = u32::try_from(len).map_err(|_| {
        Status::resource_exhausted(format!(
            "a message of {len} bytes is above gRPC's limit of {} bytes; lower the server's max_flight_data_size or the service's batch size",
            u32::MAX
        ))
    })?;
    out.put_u8(0);
    out.put_u32(len);
    Ok(())
}

/// The trailers that end a response: `grpc-status` 0, or the error with its code.
pub(crate) fn trailers(status: &Status) -> Result<Frame<Bytes>, Status> {
    let mut headers = http::HeaderMap::new();
    status.add_header(&mut headers)?;
    Ok(Frame::trailers(headers))
}

/// The number of bytes of `v` as a protobuf varint.
pub(crate) fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Writes `v` as a protobuf varint.
pub(crate) fn put_varint(out: &mut BytesMut, mut v: usize) {
    while v >= 0x80 {
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: Vec<Vec<u8>>) -> tonic::body::Body {
        let frames = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(c)))),
        );
        tonic::body::Body::new(http_body_util::StreamBody::new(frames))
    }

    fn message(payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_prefix(&mut out, payload.len()).unwrap();
        out.put_slice(payload);
        out.to_vec()
    }

    #[tokio::test]
    async fn a_message_split_over_frames_is_read_whole() {
        let whole = message(b"hello ticket");
        let (a, b) = whole.split_at(3);
        let read = read_message(body(vec![a.to_vec(), b.to_vec()]), 64, "DoGet")
            .await
            .unwrap();
        assert_eq!(&read[..], b"hello ticket");
    }

    #[tokio::test]
    async fn bad_bodies_are_refused_with_reasons() {
        let e = read_message(body(vec![]), 64, "DoGet").await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("holds no message"), "{}", e.message());

        let cut = message(b"0123456789");
        let e = read_message(body(vec![cut[..8].to_vec()]), 64, "DoGet")
            .await
            .unwrap_err();
        assert!(e.message().contains("cut short"), "{}", e.message());

        // The prefix alone announces too much: refused before the bytes arrive.
        let mut big = BytesMut::new();
        put_prefix(&mut big, 1 << 30).unwrap();
        let e = read_message(body(vec![big.to_vec()]), 64, "DoGet")
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.message().contains("above 64 bytes"), "{}", e.message());

        let mut compressed = message(b"x");
        compressed[0] = 1;
        let e = read_message(body(vec![compressed]), 64, "DoGet")
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unimplemented);
    }

    #[test]
    fn lengths_beyond_u32_are_refused_not_truncated() {
        let mut out = BytesMut::new();
        let e = put_prefix(&mut out, u32::MAX as usize + 1).unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(out.is_empty());
        put_prefix(&mut out, u32::MAX as usize).unwrap();
        assert_eq!(message_len(&out), Some(u32::MAX as usize));
    }

    #[test]
    fn varints() {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, usize::MAX >> 1] {
            let mut out = BytesMut::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            let mut slice = &out[..];
            assert_eq!(
                prost::encoding::decode_varint(&mut slice).unwrap(),
                v as u64
            );
        }
    }
}

//! The Arrow IPC wire format, both ways, in one place (as tonic's codec and
//! arrow-flight keep their encode and decode halves side by side):
//!
//! - writing: `flight.rs`, a result as Flight `FlightData` frames over the batches' own
//!   buffers (the server's DoGet); `body.rs`, a result as an IPC stream in chunks, and a
//!   Flight message as an IPC stream message (the gateway's answers); `grpc.rs`, gRPC's
//!   message framing they go in (and a request's one message, read);
//! - reading: `decode/`, a DoGet's messages into batches, every buffer bounds-checked
//!   and every batch validated (`flat.rs` for flat columns), and the same over an IPC
//!   stream arriving in pieces ([`IpcStreamDecoder`], `decode/stream.rs`).
//!
//! Both halves gather small pieces into one chunk and pass large buffers by reference
//! (`Gathered`).

#[cfg(feature = "rest")]
pub(crate) mod body;
#[cfg(feature = "client")]
pub(crate) mod decode;
#[cfg(feature = "server")]
pub(crate) mod flight;
#[cfg(feature = "server")]
pub(crate) mod grpc;

#[cfg(feature = "client")]
pub use decode::stream::{IpcStreamDecoder, MAX_METADATA_BYTES};

/// The end of an Arrow IPC stream: a continuation marker and a zero length.
#[cfg_attr(not(feature = "rest"), allow(dead_code))]
pub(crate) const IPC_END: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

/// Pieces below this size are copied together; larger ones go by reference.
#[cfg_attr(not(any(feature = "server", feature = "rest")), allow(dead_code))]
pub(crate) const GATHER_BELOW: usize = 16 * 1024;

/// Pieces of bytes gathered into as few chunks as can be without copying large ones:
/// pieces below [`GATHER_BELOW`] are copied together, a larger one is a chunk of its
/// own, by reference.
#[derive(Default)]
#[cfg_attr(not(any(feature = "server", feature = "rest")), allow(dead_code))]
pub(crate) struct Gathered {
    pending: bytes::BytesMut,
    chunks: Vec<bytes::Bytes>,
}

#[cfg_attr(not(any(feature = "server", feature = "rest")), allow(dead_code))]
impl Gathered {
    /// Copies `small` in with the pending pieces.
    pub(crate) fn copy(&mut self, small: &[u8]) {
        self.pending.extend_from_slice(small);
    }

    /// The pending pieces, for a writer that adds to them in place.
    pub(crate) fn pending(&mut self) -> &mut bytes::BytesMut {
        &mut self.pending
    }

    /// A piece: copied in when small, else a chunk of its own after the pending ones.
    pub(crate) fn push(&mut self, piece: bytes::Bytes) {
        if piece.len() < GATHER_BELOW {
            self.copy(&piece);
        } else {
            self.flush();
            self.chunks.push(piece);
        }
    }

    /// The pending pieces as a chunk.
    pub(crate) fn flush(&mut self) {
        if !self.pending.is_empty() {
            self.chunks.push(self.pending.split().freeze());
        }
    }

    /// Every chunk, the pending pieces last; gathering starts again.
    pub(crate) fn take_chunks(&mut self) -> Vec<bytes::Bytes> {
        self.flush();
        std::mem::take(&mut self.chunks)
    }

    /// Every chunk, the pending pieces last.
    pub(crate) fn into_chunks(mut self) -> Vec<bytes::Bytes> {
        self.take_chunks()
    }
}

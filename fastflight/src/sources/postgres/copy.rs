//! Binary COPY's framing: the signature, the header, tuples split from chunks as they
//! arrive, each field's bytes handed to the column builders.

use tonic::Code;

use super::columns::Batcher;
use crate::{Error, Result};

/// Tuples of a binary COPY stream, fed chunk by chunk (a tuple may span chunks).
#[derive(Default)]
pub(super) struct CopyTuples {
    header_read: bool,
    ended: bool,
    /// The start of a tuple whose end has not come yet.
    pending: Vec<u8>,
    /// Each field of the tuple being read: where it is, and whether it is not NULL.
    spans: Vec<(usize, usize, bool)>,
}

const COPY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

impl CopyTuples {
    pub(super) fn ended(&self) -> bool {
        self.ended
    }

    pub(super) fn feed(&mut self, chunk: &[u8], batcher: &mut Batcher) -> Result<()> {
        if self.pending.is_empty() {
            let used = self.parse(chunk, batcher)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(chunk);
            let used = self.parse(&joined, batcher)?;
            joined.drain(..used);
            self.pending = joined;
        }
        Ok(())
    }

    /// Parses whole tuples of `data`; how many bytes they took.
    pub(super) fn parse(&mut self, data: &[u8], batcher: &mut Batcher) -> Result<usize> {
        let bad = |what: &str| Error::status(Code::Internal, format!("bad COPY stream: {what}"));
        let mut at = 0;
        if !self.header_read {
            if data.len() < 19 {
                return Ok(0);
            }
            if &data[..11] != COPY_SIGNATURE {
                return Err(bad("no PGCOPY signature"));
            }
            let extension = u32::from_be_bytes([data[15], data[16], data[17], data[18]]) as usize;
            if data.len() < 19 + extension {
                return Ok(0);
            }
            at = 19 + extension;
            self.header_read = true;
        }
        while at + 2 <= data.len() && !self.ended {
            let fields = i16::from_be_bytes([data[at], data[at + 1]]);
            if fields == -1 {
                self.ended = true;
                return Ok(at + 2);
            }
            if fields as usize != batcher.width() {
                return Err(bad("a tuple of another width"));
            }
            // Find the tuple's end first: it is parsed only when whole.
            let mut end = at + 2;
            let spans = &mut self.spans;
            spans.clear();
            let mut whole = true;
            for _ in 0..fields {
                if end + 4 > data.len() {
                    whole = false;
                    break;
                }
                let len =
                    i32::from_be_bytes([data[end], data[end + 1], data[end + 2], data[end + 3]]);
                end += 4;
                if len < 0 {
                    spans.push((end, end, false));
                    continue;
                }
                let len = len as usize;
                if end + len > data.len() {
                    whole = false;
                    break;
                }
                spans.push((end, end + len, true));
                end += len;
            }
            if !whole {
                break;
            }
            let spans = &self.spans;
            batcher.row(|i| {
                let (from, to, present) = spans[i];
                Ok(present.then(|| &data[from..to]))
            })?;
            at = end;
        }
        Ok(at)
    }
}

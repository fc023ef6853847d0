//! [`FrameScanner`]: frame boundaries checked in a stream that is forwarded untouched.

use super::{FrameError, FrameHeader, HEADER_LEN};

/// Checks frame boundaries in a stream without keeping any of it: for forwarding frames
/// untouched while still enforcing the flag and length rules (F1, F3).
#[derive(Clone, Debug)]
pub struct FrameScanner {
    max_len: usize,
    header: [u8; HEADER_LEN],
    have: usize,
    remaining: usize,
    messages: u64,
    data_only: bool,
    trailer_frames: u64,
}

impl FrameScanner {
    /// A scanner that refuses payloads longer than `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            header: [0; HEADER_LEN],
            have: 0,
            remaining: 0,
            messages: 0,
            data_only: false,
            trailer_frames: 0,
        }
    }

    /// Also refuses trailer frames (0x80, 0x81), as [`FrameError::UnknownFlag`]: for
    /// streams that carry messages only (a request body, a native gRPC response body),
    /// where a trailer frame would be forged.
    #[must_use]
    pub fn data_only(mut self) -> Self {
        self.data_only = true;
        self
    }

    /// Walks `chunk`, which continues the stream where the last one ended.
    pub fn scan(&mut self, mut chunk: &[u8]) -> Result<(), FrameError> {
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let n = self.remaining.min(chunk.len());
                self.remaining -= n;
                chunk = &chunk[n..];
                continue;
            }
            // A header wholly inside the chunk (the usual case) is read where it is.
            if self.have == 0
                && let Some((header, rest)) = chunk.split_first_chunk::<HEADER_LEN>()
            {
                chunk = rest;
                self.begin(*header)?;
                continue;
            }
            let n = (HEADER_LEN - self.have).min(chunk.len());
            self.header[self.have..self.have + n].copy_from_slice(&chunk[..n]);
            self.have += n;
            chunk = &chunk[n..];
            if self.have == HEADER_LEN {
                self.begin(self.header)?;
            }
        }
        Ok(())
    }

    /// Starts the frame of `header`. On an error the header stays as read, so
    /// [`Self::finish`] reports the frame as unfinished.
    fn begin(&mut self, header: [u8; HEADER_LEN]) -> Result<(), FrameError> {
        let parsed = FrameHeader::parse(header, self.max_len).and_then(|h| {
            if self.data_only && h.kind.is_trailers() {
                Err(FrameError::UnknownFlag(header[0]))
            } else {
                Ok(h)
            }
        });
        let parsed = match parsed {
            Ok(h) => h,
            Err(e) => {
                self.header = header;
                self.have = HEADER_LEN;
                return Err(e);
            }
        };
        self.have = 0;
        self.remaining = parsed.len;
        if parsed.kind.is_trailers() {
            self.trailer_frames += 1;
        } else {
            self.messages += 1;
        }
        Ok(())
    }

    /// Data frames (messages) whose header has been seen.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Trailer frames (flag 0x80 or 0x81) whose header has been seen.
    pub fn trailer_frames(&self) -> u64 {
        self.trailer_frames
    }

    /// Call at end of stream: an error if a frame was left unfinished.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.remaining > 0 || self.have > 0 {
            Err(FrameError::Truncated {
                have: self.have,
                need: None,
            })
        } else {
            Ok(())
        }
    }
}

//! Frames: 1 flag byte, a 4-byte big-endian length, then the payload (docs/protocol.md F1-F3).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use core::fmt;

/// Length of a frame header: the flag byte and the 4-byte length.
pub const HEADER_LEN: usize = 5;

/// The default limit on one frame's payload: 4 MiB, as in gRPC.
pub const DEFAULT_MAX_FRAME_LEN: usize = 4 * 1024 * 1024;

/// Flag bit 0x01: the payload is compressed.
const FLAG_COMPRESSED: u8 = 0x01;
/// Flag bit 0x80: the payload is a trailer block.
const FLAG_TRAILERS: u8 = 0x80;

/// What a frame carries, from its flag byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// 0x00: one message.
    Data,
    /// 0x01: one compressed message.
    CompressedData,
    /// 0x80: the trailer block that ends a gRPC-Web response.
    Trailers,
    /// 0x81: a compressed trailer block.
    CompressedTrailers,
}

impl FrameKind {
    /// The flag byte for this kind.
    pub const fn flag(self) -> u8 {
        match self {
            Self::Data => 0,
            Self::CompressedData => FLAG_COMPRESSED,
            Self::Trailers => FLAG_TRAILERS,
            Self::CompressedTrailers => FLAG_TRAILERS | FLAG_COMPRESSED,
        }
    }

    /// The kind for a flag byte, or `None` for a flag gRPC-Web does not define.
    pub const fn from_flag(flag: u8) -> Option<Self> {
        match flag {
            0x00 => Some(Self::Data),
            0x01 => Some(Self::CompressedData),
            0x80 => Some(Self::Trailers),
            0x81 => Some(Self::CompressedTrailers),
            _ => None,
        }
    }

    /// True for 0x80 and 0x81.
    pub const fn is_trailers(self) -> bool {
        matches!(self, Self::Trailers | Self::CompressedTrailers)
    }

    /// True for 0x01 and 0x81.
    pub const fn is_compressed(self) -> bool {
        matches!(self, Self::CompressedData | Self::CompressedTrailers)
    }
}

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// What the frame carries.
    pub kind: FrameKind,
    /// Payload length in bytes.
    pub len: usize,
}

impl FrameHeader {
    /// Parses a 5-byte header, checking the flag and the length limit.
    pub fn parse(header: [u8; HEADER_LEN], max_len: usize) -> Result<Self, FrameError> {
        let kind = FrameKind::from_flag(header[0]).ok_or(FrameError::UnknownFlag(header[0]))?;
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if len > max_len {
            return Err(FrameError::TooLarge { len, max: max_len });
        }
        Ok(Self { kind, len })
    }

    /// The 5 header bytes.
    pub fn encode(self) -> [u8; HEADER_LEN] {
        encode_header(self.kind, self.len)
    }
}

/// One complete frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What the frame carries.
    pub kind: FrameKind,
    /// The payload, without the header.
    pub payload: Bytes,
}

/// Why a byte stream is not a valid series of frames.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The flag byte is none of 0x00, 0x01, 0x80, 0x81.
    UnknownFlag(u8),
    /// The declared payload length is above the limit.
    TooLarge {
        /// Declared length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The stream ended inside a frame.
    Truncated {
        /// Bytes of the unfinished frame that did arrive (header included).
        have: usize,
        /// Bytes the frame needed (header included), when the header was complete.
        need: Option<usize>,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFlag(flag) => write!(f, "invalid gRPC-Web frame flag 0x{flag:02x}"),
            Self::TooLarge { len, max } => {
                write!(
                    f,
                    "message of {len} bytes is larger than the limit of {max} bytes"
                )
            }
            Self::Truncated {
                have,
                need: Some(need),
            } => write!(
                f,
                "stream ended inside a frame: {have} of {need} bytes (header included)"
            ),
            Self::Truncated { have, need: None } => write!(
                f,
                "stream ended inside a frame header: {have} of {HEADER_LEN} bytes"
            ),
        }
    }
}

impl core::error::Error for FrameError {}

/// The 5 header bytes for a frame of `len` payload bytes.
///
/// # Panics
///
/// Panics if `len` does not fit in 32 bits; no frame that large is ever valid.
pub fn encode_header(kind: FrameKind, len: usize) -> [u8; HEADER_LEN] {
    let len = u32::try_from(len).expect("gRPC frame length fits in u32");
    let l = len.to_be_bytes();
    [kind.flag(), l[0], l[1], l[2], l[3]]
}

/// A whole frame: header followed by `payload`.
pub fn encode_frame(kind: FrameKind, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER_LEN + payload.len());
    out.put_slice(&encode_header(kind, payload.len()));
    out.put_slice(payload);
    out.freeze()
}

/// An incremental frame decoder: push chunks split anywhere, pull whole frames.
///
/// The decoder checks each header as soon as its 5 bytes are in, so an unknown flag or an
/// oversized length is reported before any of the payload is buffered (F3). Payloads that
/// arrive inside one pushed chunk are returned without copying;
/// [`FrameDecoder::next_frame_parts`] returns any payload without copying, as the parts of
/// the chunks that hold it.
#[derive(Debug)]
pub struct FrameDecoder {
    max_len: usize,
    buf: BytesMut,
    chunks: alloc::collections::VecDeque<Bytes>,
    buffered: usize,
    header: Option<FrameHeader>,
}

impl FrameDecoder {
    /// A decoder that refuses payloads longer than `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            buf: BytesMut::new(),
            chunks: alloc::collections::VecDeque::new(),
            buffered: 0,
            header: None,
        }
    }

    /// Adds input. Empty chunks are ignored.
    pub fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.buffered += chunk.len();
            self.chunks.push_back(chunk);
        }
    }

    /// Bytes pushed but not yet returned in a frame.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// True when no partial frame is pending.
    pub fn is_idle(&self) -> bool {
        self.buffered == 0 && self.header.is_none()
    }

    /// The header of the next frame, as soon as its 5 bytes are in (before its payload);
    /// `Ok(None)` when more input is needed. Lets a caller refuse a frame by its kind or
    /// length without buffering its payload; [`FrameDecoder::next_frame`] then returns it.
    ///
    /// After an error the decoder's state is unspecified; stop using it.
    pub fn next_header(&mut self) -> Result<Option<FrameHeader>, FrameError> {
        if let Some(h) = self.header {
            return Ok(Some(h));
        }
        if self.buffered < HEADER_LEN {
            return Ok(None);
        }
        let mut raw = [0u8; HEADER_LEN];
        self.copy_out(&mut raw);
        let h = FrameHeader::parse(raw, self.max_len)?;
        self.header = Some(h);
        Ok(Some(h))
    }

    /// The next complete frame, `Ok(None)` when more input is needed.
    ///
    /// After an error the decoder's state is unspecified; stop using it.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let Some(header) = self.next_header()? else {
            return Ok(None);
        };
        if self.buffered < header.len {
            return Ok(None);
        }
        self.header = None;
        let payload = self.take(header.len);
        Ok(Some(Frame {
            kind: header.kind,
            payload,
        }))
    }

    /// Like [`FrameDecoder::next_frame`], but the payload is appended to `out` as the
    /// parts of the pushed chunks that hold it, none copied (nothing for an empty
    /// payload), and the frame's header is returned.
    ///
    /// After an error the decoder's state is unspecified; stop using it.
    pub fn next_frame_parts(
        &mut self,
        out: &mut impl Extend<Bytes>,
    ) -> Result<Option<FrameHeader>, FrameError> {
        let Some(header) = self.next_header()? else {
            return Ok(None);
        };
        if self.buffered < header.len {
            return Ok(None);
        }
        self.header = None;
        self.buffered -= header.len;
        let mut remaining = header.len;
        while remaining > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if front.len() > remaining {
                out.extend(Some(front.split_to(remaining)));
                break;
            }
            remaining -= front.len();
            out.extend(self.chunks.pop_front());
        }
        Ok(Some(header))
    }

    /// Call at end of input: an error if a frame was left unfinished.
    pub fn finish(&self) -> Result<(), FrameError> {
        match self.header {
            Some(h) => Err(FrameError::Truncated {
                have: HEADER_LEN + self.buffered,
                need: Some(HEADER_LEN + h.len),
            }),
            None if self.buffered > 0 => Err(FrameError::Truncated {
                have: self.buffered,
                need: None,
            }),
            None => Ok(()),
        }
    }

    fn copy_out(&mut self, dst: &mut [u8]) {
        let mut filled = 0;
        while filled < dst.len() {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let n = front.len().min(dst.len() - filled);
            dst[filled..filled + n].copy_from_slice(&front[..n]);
            front.advance(n);
            filled += n;
            if front.is_empty() {
                self.chunks.pop_front();
            }
        }
        self.buffered -= filled;
    }

    fn take(&mut self, len: usize) -> Bytes {
        self.buffered -= len;
        if len == 0 {
            return Bytes::new();
        }
        // Fast path: the payload lies within the front chunk, so no copy.
        if let Some(front) = self.chunks.front_mut()
            && front.len() >= len
        {
            let out = front.split_to(len);
            if front.is_empty() {
                self.chunks.pop_front();
            }
            return out;
        }
        self.buf.reserve(len);
        let mut remaining = len;
        while remaining > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let n = front.len().min(remaining);
            self.buf.put_slice(&front[..n]);
            front.advance(n);
            remaining -= n;
            if front.is_empty() {
                self.chunks.pop_front();
            }
        }
        self.buf.split().freeze()
    }
}

mod scanner;

pub use scanner::FrameScanner;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests_support;

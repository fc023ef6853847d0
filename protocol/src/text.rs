//! `grpc-web-text`: the body is base64 (standard alphabet, padded), rules R5, S3, K4.
//!
//! The decoder is incremental: it takes input split anywhere, decodes every complete
//! 4-character group at once, and accepts a padded group anywhere (so several padded
//! segments joined back to back decode as one stream). ASCII whitespace is skipped.
//! The encoder writes each piece of output as its own padded segment, so a receiver can
//! decode what it has without waiting for more.
//!
//! With the `fast-text` feature (the proxy) both directions use `base64-simd`, which picks
//! the CPU's SIMD instructions at run time and has a scalar fallback; input it refuses
//! (whitespace, padding inside a block) goes through the character-by-character rules
//! above, which decide every result.

use alloc::vec::Vec;
#[cfg(feature = "fast-text")]
use base64_simd::Out;
use bytes::{BufMut, Bytes, BytesMut};
use core::fmt;
#[cfg(feature = "fast-text")]
use core::mem::MaybeUninit;

const INVALID: u8 = 0xFF;
const PAD: u8 = 0xFE;
const SPACE: u8 = 0xFD;

#[cfg(any(feature = "fast-text", test))]
const fn decode_table() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t[b'=' as usize] = PAD;
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[0x0c] = SPACE;
    t
}

#[cfg(feature = "fast-text")]
static TABLE: [u8; 256] = decode_table();
#[cfg(feature = "fast-text")]
const TABLE_CONST: [u8; 256] = decode_table();

/// A character's sextet, or [`INVALID`], [`PAD`] or [`SPACE`]: from [`TABLE`].
#[cfg(feature = "fast-text")]
fn class(byte: u8) -> u8 {
    TABLE[usize::from(byte)]
}

/// [`class`] without the 256-byte table (builds that count bytes).
#[cfg(not(feature = "fast-text"))]
fn class(byte: u8) -> u8 {
    class_by_ranges(byte)
}

/// The decode table's entry for `byte`, from the alphabet's ranges.
#[cfg(any(not(feature = "fast-text"), test))]
fn class_by_ranges(byte: u8) -> u8 {
    match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        b'=' => PAD,
        b' ' | b'\t' | b'\n' | b'\r' | 0x0c => SPACE,
        _ => INVALID,
    }
}

/// Why a text body is not valid base64.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextError {
    /// A byte outside the base64 alphabet (and not whitespace).
    InvalidByte {
        /// Offset of the byte in the whole stream.
        offset: u64,
        /// The byte.
        byte: u8,
    },
    /// `=` where it cannot be: in the first two places of a group, or followed by data
    /// inside the same group.
    InvalidPadding {
        /// Offset of the offending byte in the whole stream.
        offset: u64,
    },
    /// The stream ended inside a 4-character group.
    Incomplete {
        /// Characters of the unfinished group.
        leftover: u8,
    },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidByte { offset, byte } if byte.is_ascii_graphic() => write!(
                f,
                "invalid base64 in grpc-web-text body: '{}' at offset {offset}",
                *byte as char
            ),
            Self::InvalidByte { offset, byte } => write!(
                f,
                "invalid base64 in grpc-web-text body: byte 0x{byte:02x} at offset {offset}"
            ),
            Self::InvalidPadding { offset } => write!(
                f,
                "invalid base64 padding in grpc-web-text body at offset {offset}"
            ),
            Self::Incomplete { leftover } => write!(
                f,
                "grpc-web-text body ends inside a base64 group ({leftover} of 4 characters); \
                 the body must be padded base64"
            ),
        }
    }
}

impl core::error::Error for TextError {}

/// Incremental base64 decoder for `grpc-web-text` bodies.
#[derive(Clone, Debug, Default)]
pub struct Base64Decoder {
    /// Sextets of the group in progress.
    group: [u8; 4],
    /// Characters (data or `=`) of the group in progress.
    len: u8,
    /// How many of them are `=`.
    pad: u8,
    /// Bytes consumed so far (for error offsets).
    offset: u64,
}

impl Base64Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `input`, appending whole bytes to `out`.
    ///
    /// Characters of an unfinished group are kept for the next call. After an error the
    /// decoder must not be used again.
    pub fn decode(&mut self, input: &[u8], out: &mut BytesMut) -> Result<(), TextError> {
        out.reserve(input.len() / 4 * 3 + 3);
        self.decode_into(input, out)
    }

    /// [`Base64Decoder::decode`] into a `Vec`.
    pub fn decode_to_vec(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), TextError> {
        out.reserve(input.len() / 4 * 3 + 3);
        self.decode_into(input, out)
    }

    fn decode_into<B: BufMut>(&mut self, input: &[u8], out: &mut B) -> Result<(), TextError> {
        let mut i = 0;
        // Where the fast path may try SIMD again: not inside a block it failed on, so
        // input that fails it often (whitespace) costs each byte one failed try at most.
        let mut simd_from = 0;
        while i < input.len() {
            // Fast path: at a group boundary, decode the run of whole groups of plain
            // alphabet characters ahead straight into the output.
            if self.len == 0 && i + 4 <= input.len() {
                let (done, failed_until) = decode_groups(&input[i..], out, i >= simd_from);
                if let Some(end) = failed_until {
                    simd_from = i + end;
                }
                if done > 0 {
                    i += done;
                    continue;
                }
            }
            let byte = input[i];
            let offset = self.offset + i as u64;
            i += 1;
            match class(byte) {
                SPACE => {}
                INVALID => return Err(TextError::InvalidByte { offset, byte }),
                PAD => {
                    if self.len < 2 {
                        return Err(TextError::InvalidPadding { offset });
                    }
                    self.pad += 1;
                    self.push_sextet(0, out);
                }
                sextet => {
                    if self.pad > 0 {
                        return Err(TextError::InvalidPadding { offset });
                    }
                    self.push_sextet(sextet, out);
                }
            }
        }
        self.offset += input.len() as u64;
        Ok(())
    }

    /// Call at end of input: an error if a group was left unfinished.
    pub fn finish(&self) -> Result<(), TextError> {
        if self.len == 0 {
            Ok(())
        } else {
            Err(TextError::Incomplete { leftover: self.len })
        }
    }

    /// True when no partial group is pending.
    pub fn is_aligned(&self) -> bool {
        self.len == 0
    }

    fn push_sextet<B: BufMut>(&mut self, sextet: u8, out: &mut B) {
        // `len` is below 4 here; the mask keeps a bounds-check panic out of the code.
        self.group[usize::from(self.len & 3)] = sextet;
        self.len += 1;
        if self.len == 4 {
            let [a, b, c, d] = self.group;
            let n =
                (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
            let be = n.to_be_bytes();
            // At most two padding characters: keep 1 to 3 bytes, never a panic.
            out.put_slice(&be[1..4 - usize::from(self.pad.min(2))]);
            self.len = 0;
            self.pad = 0;
        }
    }
}

/// Without the `fast-text` feature: no fast path (its tables are 4 KB), every character
/// goes through [`class`].
#[cfg(not(feature = "fast-text"))]
fn decode_groups<B: BufMut>(_input: &[u8], _out: &mut B, _simd: bool) -> (usize, Option<usize>) {
    (0, None)
}

/// Decodes whole 4-character groups from the start of `input` into `out`: blocks of
/// groups by SIMD (when `simd`), each a padded base64 string on its own (so a padded
/// group may end it); from the first block SIMD refuses (whitespace, padding inside, an
/// invalid byte, bits after the padding that are not zero), by [`decode_table_groups`],
/// which stops before the first group that is not all plain alphabet characters. Returns
/// the input bytes consumed and, when SIMD refused a block, where that block ends.
///
/// What SIMD decodes, the character-by-character path decodes the same, padding in a
/// block's last group included.
#[cfg(feature = "fast-text")]
fn decode_groups<B: BufMut>(input: &[u8], out: &mut B, simd: bool) -> (usize, Option<usize>) {
    const BLOCK: usize = 4096;
    // Not zeroed: the decoder writes what it returns.
    let mut buf = [MaybeUninit::<u8>::uninit(); BLOCK / 4 * 3];
    let mut consumed = 0;
    if simd {
        for block in input.chunks(BLOCK) {
            let block = &block[..block.len() / 4 * 4];
            if block.is_empty() {
                return (consumed, None);
            }
            let Ok(decoded) = base64_simd::STANDARD.decode(block, Out::from_uninit_slice(&mut buf))
            else {
                let done = decode_table_groups(block, out);
                return (consumed + done, Some(consumed + block.len()));
            };
            out.put_slice(decoded);
            consumed += block.len();
            if block.len() < BLOCK {
                break;
            }
        }
        return (consumed, None);
    }
    (decode_table_groups(input, out), None)
}

/// Decodes whole 4-character groups of plain alphabet characters from the start of
/// `input` into `out`, stopping before the first group that holds anything else (padding,
/// whitespace, an invalid byte) or is incomplete. Returns the input bytes consumed.
#[cfg(feature = "fast-text")]
fn decode_table_groups<B: BufMut>(input: &[u8], out: &mut B) -> usize {
    // Decoded through a buffer on the stack, a block at a time: no zeroing of the output.
    const GROUPS: usize = 256;
    let mut buf = [0u8; GROUPS * 3];
    let mut consumed = 0;
    for block in input.chunks(GROUPS * 4) {
        let mut decoded = 0;
        for (src, dst) in block.chunks_exact(4).zip(buf.chunks_exact_mut(3)) {
            // Each character's sextet already in place; anything else sets the top bit.
            let n = SHIFTED[0][src[0] as usize]
                | SHIFTED[1][src[1] as usize]
                | SHIFTED[2][src[2] as usize]
                | SHIFTED[3][src[3] as usize];
            if n & BAD != 0 {
                break;
            }
            let be = n.to_be_bytes();
            dst.copy_from_slice(&be[1..]);
            decoded += 1;
        }
        out.put_slice(&buf[..decoded * 3]);
        consumed += decoded * 4;
        if decoded * 4 < block.len() {
            break;
        }
    }
    consumed
}

/// Marks a character that is not a plain alphabet character in [`SHIFTED`].
#[cfg(feature = "fast-text")]
const BAD: u32 = 1 << 31;

/// [`TABLE`] with each sextet shifted to its place in a group's 24 bits (one table per
/// position in the group), so a group decodes with four lookups and three ORs.
#[cfg(feature = "fast-text")]
const fn shifted_tables() -> [[u32; 256]; 4] {
    let mut t = [[BAD; 256]; 4];
    let mut c = 0;
    while c < 256 {
        let v = TABLE_CONST[c];
        if v < 64 {
            let mut pos = 0;
            while pos < 4 {
                t[pos][c] = (v as u32) << (18 - 6 * pos);
                pos += 1;
            }
        }
        c += 1;
    }
    t
}

#[cfg(feature = "fast-text")]
static SHIFTED: [[u32; 256]; 4] = shifted_tables();

/// Decodes a complete text body in one go.
pub fn decode_all(input: &[u8]) -> Result<Bytes, TextError> {
    let mut decoder = Base64Decoder::new();
    let mut out = BytesMut::new();
    decoder.decode(input, &mut out)?;
    decoder.finish()?;
    Ok(out.freeze())
}

mod encode;

pub use encode::{encode_compact, encode_segment, encode_segment_into, encoded_len};

#[cfg(test)]
mod tests;

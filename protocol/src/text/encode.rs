//! The encoder: each piece of output a padded base64 segment of its own.

use alloc::vec::Vec;
#[cfg(not(feature = "fast-text"))]
use base64::Engine as _;
#[cfg(not(feature = "fast-text"))]
use base64::engine::general_purpose::STANDARD;
#[cfg(feature = "fast-text")]
use base64_simd::Out;
use bytes::{BufMut, Bytes, BytesMut};
#[cfg(feature = "fast-text")]
use core::mem::MaybeUninit;

/// Length of the padded base64 encoding of `len` bytes.
pub const fn encoded_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// Appends `data` to `out` as one padded base64 segment.
pub fn encode_segment_into(data: &[u8], out: &mut BytesMut) {
    // Encoded through a buffer on the stack, a block at a time (no zeroing of the
    // output); every block but the last is a whole number of 3-byte groups, so the blocks
    // join into one segment.
    out.reserve(encoded_len(data.len()));
    #[cfg(feature = "fast-text")]
    {
        const BLOCK: usize = 3072;
        let mut buf = [MaybeUninit::<u8>::uninit(); encoded_len(BLOCK)];
        for block in data.chunks(BLOCK) {
            // `buf` holds the encoding of a whole block: no panic.
            let written = base64_simd::STANDARD.encode(block, Out::from_uninit_slice(&mut buf));
            out.put_slice(written);
        }
    }
    #[cfg(not(feature = "fast-text"))]
    {
        const BLOCK: usize = 768;
        let mut buf = [0u8; encoded_len(BLOCK)];
        for block in data.chunks(BLOCK) {
            let written = STANDARD
                .encode_slice(block, &mut buf)
                .expect("buffer sized by encoded_len");
            out.put_slice(&buf[..written]);
        }
    }
}

/// `data` as one padded base64 segment.
pub fn encode_segment(data: &[u8]) -> Bytes {
    #[cfg(feature = "fast-text")]
    {
        // Written straight into its own allocation, which becomes the `Bytes` (no copy).
        let mut out = Vec::with_capacity(encoded_len(data.len()));
        base64_simd::STANDARD.encode_append(data, &mut out);
        Bytes::from(out)
    }
    #[cfg(not(feature = "fast-text"))]
    {
        let mut out = BytesMut::with_capacity(encoded_len(data.len()));
        encode_segment_into(data, &mut out);
        out.freeze()
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends `data` to `out` as standard-alphabet base64, padded (one segment, as
/// [`encode_segment`] writes it) or unpadded (as [`crate::metadata::encode_bin`]).
///
/// A compact encoder without the `base64` crate's engine and its panicking paths, for
/// callers that count code size (the wasm runtime); [`encode_segment_into`] is faster
/// for large bodies.
///
/// ```
/// let mut out = Vec::new();
/// grpcweb_protocol::text::encode_compact(b"hi", true, &mut out);
/// assert_eq!(out, b"aGk=");
/// ```
pub fn encode_compact(data: &[u8], padded: bool, out: &mut Vec<u8>) {
    out.reserve(encoded_len(data.len()));
    for chunk in data.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]);
            } else if padded {
                out.push(b'=');
            }
        }
    }
}

//! Protobuf base-128 varints: the one encoder and decoder the project's hand-rolled
//! message readers and writers share (status details, health checks, load generators).

use alloc::vec::Vec;

/// Appends `value` as a varint (1 to 10 bytes).
pub fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads one varint from the front of `input`, returning it and the bytes after it.
/// `None` when the input ends inside the varint or the varint is longer than 10 bytes.
pub fn take(input: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((value, input.get(i + 1..)?));
        }
    }
    None
}

/// The number of bytes [`put`] writes for `value`.
pub const fn len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_edge_values() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put(&mut out, value);
            assert_eq!(out.len(), len(value), "{value}");
            out.push(0xaa);
            assert_eq!(take(&out), Some((value, &[0xaa][..])), "{value}");
        }
    }

    #[test]
    fn refuses_truncated_and_overlong() {
        assert_eq!(take(&[]), None);
        assert_eq!(take(&[0x80]), None);
        assert_eq!(take(&[0xff; 11]), None);
        assert_eq!(take(&[0x96, 0x01]), Some((150, &[][..])));
    }
}

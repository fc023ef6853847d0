//! `grpc-message` percent-encoding (S8): UTF-8, with bytes outside 0x20-0x7E and `%`
//! written as `%XX`. Decoding never fails.

use alloc::string::String;
use alloc::vec::Vec;

/// Percent-encodes a status message for the `grpc-message` header or trailer.
pub fn encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for &b in message.as_bytes() {
        if (0x20..=0x7E).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Decodes a `grpc-message` value. A `%` not followed by two hex digits is kept as is;
/// bytes that are not valid UTF-8 after decoding become U+FFFD.
pub fn decode(value: &[u8]) -> String {
    match String::from_utf8(decode_bytes(value)) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// [`decode`] without the UTF-8 step: the bytes the message stands for (UTF-8 when the
/// sender followed S8), for callers that decode text themselves (the wasm client's
/// TypeScript uses `TextDecoder`).
pub fn decode_bytes(value: &[u8]) -> Vec<u8> {
    // Decoded over a copy, which never grows: no `Vec` growth code in the wasm client.
    let mut out = value.to_vec();
    let (mut read, mut write) = (0, 0);
    while let Some(&b) = value.get(read) {
        read += 1;
        let mut byte = b;
        if b == b'%' {
            let pair = hex(value.get(read)) << 4 | hex(value.get(read + 1));
            if pair < 0x100 {
                byte = pair as u8;
                read += 2;
            }
        }
        if let Some(slot) = out.get_mut(write) {
            *slot = byte;
        }
        write += 1;
    }
    out.truncate(write);
    out
}

/// A hex digit's value; 0x100 for anything else (or no byte), so that a pair with any
/// non-digit is 0x100 or more.
fn hex(b: Option<&u8>) -> u32 {
    match b.map_or(0, |&b| u32::from(b)) {
        b @ 0x30..=0x39 => b - 0x30,
        b => match b | 0x20 {
            l @ 0x61..=0x66 => l - 0x61 + 10,
            _ => 0x100,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_outside_printable_ascii_and_percent() {
        assert_eq!(encode("plain text"), "plain text");
        assert_eq!(encode("100%"), "100%25");
        assert_eq!(encode("a\nb\tc"), "a%0Ab%09c");
        assert_eq!(encode("\u{1F600}"), "%F0%9F%98%80");
        assert_eq!(encode("\u{7f}"), "%7F");
    }

    #[test]
    fn decodes_leniently() {
        assert_eq!(decode(b"a%0Ab"), "a\nb");
        assert_eq!(decode(b"%f0%9f%98%80"), "\u{1F600}");
        assert_eq!(decode(b"100%"), "100%");
        assert_eq!(decode(b"%zz%4"), "%zz%4");
        assert_eq!(decode(b"%FF"), "\u{FFFD}");
        assert_eq!(decode(b"%"), "%");
        assert_eq!(decode(b"%4g%G1%@1%`1%41%4a%4F"), "%4g%G1%@1%`1AJO");
    }

    proptest::proptest! {
        #[test]
        fn any_string_round_trips_as_a_header_value(message in proptest::prelude::any::<String>()) {
            let encoded = encode(&message);
            proptest::prop_assert!(http::HeaderValue::from_str(&encoded).is_ok());
            proptest::prop_assert_eq!(decode(encoded.as_bytes()), message);
        }

        #[test]
        fn decoding_never_fails(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn round_trips_unicode_and_whitespace() {
        let msg = "\t\ttest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
        assert_eq!(decode(encode(msg).as_bytes()), msg);
    }
}

//! Binary (`-bin`) metadata values (S9): base64, padded or not on input, unpadded on
//! output; several values may share one header, separated by `,`.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use core::fmt;

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A `-bin` value that is not base64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinValueError;

impl fmt::Display for BinValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("binary metadata value is not valid base64")
    }
}

impl core::error::Error for BinValueError {}

/// True for names of binary metadata.
pub fn is_bin_name(name: &str) -> bool {
    name.len() > 4 && name.as_bytes()[name.len() - 4..].eq_ignore_ascii_case(b"-bin")
}

/// Decodes a `-bin` header value into its values (split on `,`).
pub fn decode_bin(value: &[u8]) -> Result<Vec<Bytes>, BinValueError> {
    value
        .split(|&b| b == b',')
        .map(|part| {
            let part = part.trim_ascii();
            ENGINE
                .decode(part)
                .map(Bytes::from)
                .map_err(|_| BinValueError)
        })
        .collect()
}

/// Encodes one binary value, unpadded.
pub fn encode_bin(value: &[u8]) -> String {
    ENGINE.encode(value)
}

/// The same as [`decode_bin`] (same values accepted, same result), written without the
/// `base64` crate's engine, for callers that count code size (the wasm runtime).
pub fn decode_bin_compact(value: &[u8]) -> Result<Vec<Bytes>, BinValueError> {
    value
        .split(|&b| b == b',')
        .map(|part| decode_part(part.trim_ascii()).map(Bytes::from))
        .collect()
}

/// The same as [`encode_bin`]: unpadded base64, written without the `base64` crate's
/// engine, for callers that count code size (the wasm runtime).
pub fn encode_bin_compact(value: &[u8]) -> String {
    let mut out = Vec::new();
    crate::text::encode_compact(value, false, &mut out);
    // The base64 alphabet is ASCII.
    out.into_iter().map(char::from).collect()
}

/// One base64 value, padded or not, trailing bits allowed (as `ENGINE` decodes).
fn decode_part(part: &[u8]) -> Result<Vec<u8>, BinValueError> {
    let data = part
        .strip_suffix(b"==")
        .or_else(|| part.strip_suffix(b"="))
        .unwrap_or(part);
    let pad = part.len() - data.len();
    // Padding only after a short last group, and never past the group's end.
    let rem = data.len() % 4;
    if rem == 1 || (pad > 0 && (rem == 0 || rem + pad > 4)) {
        return Err(BinValueError);
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in data {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(BinValueError),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_padded_unpadded_and_lists() {
        assert_eq!(
            decode_bin(b"AQI=").unwrap(),
            vec![Bytes::from_static(&[1, 2])]
        );
        assert_eq!(
            decode_bin(b"AQI").unwrap(),
            vec![Bytes::from_static(&[1, 2])]
        );
        assert_eq!(
            decode_bin(b"AQI=, AwQ").unwrap(),
            vec![Bytes::from_static(&[1, 2]), Bytes::from_static(&[3, 4])]
        );
        assert_eq!(decode_bin(b"").unwrap(), vec![Bytes::new()]);
        assert_eq!(decode_bin(b"A"), Err(BinValueError));
        assert_eq!(decode_bin(b"!!!!"), Err(BinValueError));
    }

    #[test]
    fn compact_matches_engine_on_examples() {
        for v in [
            &b"AQI="[..],
            b"AQI",
            b"AQI=, AwQ",
            b"",
            b"A",
            b"!!!!",
            b"AQ==",
            b"AQ=",
            b"AQI==",
            b"AQID=",
            b"====",
            b"A===",
            b"QQ=x",
            b"AQ=I",
            b" AQI ,",
            b"AQJ",
        ] {
            assert_eq!(decode_bin_compact(v), decode_bin(v), "{v:?}");
        }
        assert_eq!(encode_bin_compact(&[1, 2]), "AQI");
    }

    proptest::proptest! {
        #[test]
        fn compact_decoder_agrees_with_engine(value in "[AQIw/+=, !]{0,12}") {
            proptest::prop_assert_eq!(decode_bin_compact(value.as_bytes()), decode_bin(value.as_bytes()));
        }

        #[test]
        fn compact_encoder_agrees_with_engine(value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            proptest::prop_assert_eq!(encode_bin_compact(&value), encode_bin(&value));
            let mut padded = Vec::new();
            crate::text::encode_compact(&value, true, &mut padded);
            proptest::prop_assert_eq!(&padded[..], &crate::text::encode_segment(&value)[..]);
            let back = decode_bin_compact(&padded).unwrap();
            proptest::prop_assert_eq!(&back[0][..], &value[..]);
        }
    }

    #[test]
    fn encodes_unpadded() {
        assert_eq!(encode_bin(&[1, 2]), "AQI");
        assert_eq!(encode_bin(&[0xab, 0xab, 0xab]), "q6ur");
        assert!(is_bin_name("x-grpc-test-echo-trailing-bin"));
        assert!(is_bin_name("X-Foo-BIN"));
        assert!(!is_bin_name("-bin"));
        assert!(!is_bin_name("x-binary"));
    }
}

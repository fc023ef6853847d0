//! Binary (`-bin`) metadata values (S9): base64, padded or not on input, unpadded on
//! output; several values may share one header, separated by `,`.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use std::fmt;

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

impl std::error::Error for BinValueError {}

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
    fn encodes_unpadded() {
        assert_eq!(encode_bin(&[1, 2]), "AQI");
        assert_eq!(encode_bin(&[0xab, 0xab, 0xab]), "q6ur");
        assert!(is_bin_name("x-grpc-test-echo-trailing-bin"));
        assert!(is_bin_name("X-Foo-BIN"));
        assert!(!is_bin_name("-bin"));
        assert!(!is_bin_name("x-binary"));
    }
}

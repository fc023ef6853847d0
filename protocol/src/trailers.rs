//! The trailer block carried in a 0x80 frame: `name:value\r\n` per entry (S4, K1).

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;

/// Why a trailer block could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrailerError {
    /// A line has no `:`.
    MissingColon {
        /// 0-based line index.
        line: usize,
    },
    /// A name is not a valid header name.
    InvalidName {
        /// 0-based line index.
        line: usize,
    },
    /// A value holds bytes a header value cannot.
    InvalidValue {
        /// 0-based line index.
        line: usize,
    },
}

impl fmt::Display for TrailerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingColon { line } => write!(f, "trailer line {line} has no ':'"),
            Self::InvalidName { line } => write!(f, "trailer line {line} has an invalid name"),
            Self::InvalidValue { line } => write!(f, "trailer line {line} has an invalid value"),
        }
    }
}

impl std::error::Error for TrailerError {}

/// Encodes trailers as the payload of a 0x80 frame.
///
/// Names are lower-case (as `HeaderName` always is), one `name:value\r\n` line per entry,
/// duplicates as separate lines in their order.
pub fn encode(trailers: &HeaderMap) -> Bytes {
    let mut out = BytesMut::with_capacity(estimate_len(trailers));
    encode_into(trailers, &mut out);
    out.freeze()
}

/// Appends the trailer block to `out`.
pub fn encode_into(trailers: &HeaderMap, out: &mut BytesMut) {
    for (name, value) in trailers {
        out.put_slice(name.as_str().as_bytes());
        out.put_u8(b':');
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
}

/// The exact encoded length of `trailers`.
pub fn estimate_len(trailers: &HeaderMap) -> usize {
    trailers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 3)
        .sum()
}

/// Parses a trailer block.
///
/// Accepts `name:value` and `name: value`, names in any letter case, lines ended by `\r\n`
/// or a bare `\n`, with or without the final line ending; blank lines are skipped;
/// duplicates are kept in order.
pub fn parse(block: &[u8]) -> Result<HeaderMap, TrailerError> {
    let mut map = HeaderMap::new();
    for (line_no, line) in block.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(TrailerError::MissingColon { line: line_no })?;
        let name = trim(&line[..colon]);
        let value = trim(&line[colon + 1..]);
        let name = HeaderName::from_bytes(&name.to_ascii_lowercase())
            .map_err(|_| TrailerError::InvalidName { line: line_no })?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| TrailerError::InvalidValue { line: line_no })?;
        map.append(name, value);
    }
    Ok(map)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lower_case_lines_with_duplicates_in_order() {
        let mut map = HeaderMap::new();
        map.insert("grpc-status", HeaderValue::from_static("0"));
        map.append("x-dup", HeaderValue::from_static("a"));
        map.append("x-dup", HeaderValue::from_static("b"));
        assert_eq!(
            &encode(&map)[..],
            b"grpc-status:0\r\nx-dup:a\r\nx-dup:b\r\n"
        );
        assert_eq!(estimate_len(&map), encode(&map).len());
    }

    #[test]
    fn parses_every_spelling() {
        let cases: &[&[u8]] = &[
            b"grpc-status:0\r\ngrpc-message:ok\r\n",
            b"grpc-status: 0\r\ngrpc-message: ok",
            b"Grpc-Status:0\r\nGRPC-MESSAGE:  ok  \r\n",
            b"grpc-status:0\ngrpc-message:ok\n",
            b"\r\ngrpc-status:0\r\n\r\ngrpc-message:ok\r\n\r\n",
        ];
        for case in cases {
            let map = parse(case).unwrap();
            assert_eq!(map.get("grpc-status").unwrap(), "0", "{case:?}");
            assert_eq!(map.get("grpc-message").unwrap(), "ok", "{case:?}");
            assert_eq!(map.len(), 2);
        }
    }

    #[test]
    fn keeps_duplicates_and_colons_in_values() {
        let map = parse(b"x-a:1\r\nx-a:2\r\nx-url:http://h:1/p\r\n").unwrap();
        let all: Vec<_> = map.get_all("x-a").iter().collect();
        assert_eq!(all, ["1", "2"]);
        assert_eq!(map.get("x-url").unwrap(), "http://h:1/p");
    }

    #[test]
    fn rejects_malformed_lines() {
        assert_eq!(
            parse(b"grpc-status 0\r\n"),
            Err(TrailerError::MissingColon { line: 0 })
        );
        assert_eq!(
            parse(b"ok:1\r\nbad name:1"),
            Err(TrailerError::InvalidName { line: 1 })
        );
        assert_eq!(parse(b":1"), Err(TrailerError::InvalidName { line: 0 }));
        assert_eq!(
            parse(b"x:a\x00b"),
            Err(TrailerError::InvalidValue { line: 0 })
        );
    }

    #[test]
    fn empty_block_is_empty_map() {
        assert!(parse(b"").unwrap().is_empty());
        assert!(encode(&HeaderMap::new()).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn parse_inverts_encode(
            entries in proptest::collection::vec(("[a-z0-9-]{1,12}", "[ -~\\t\u{80}-\u{ff}]{0,20}"), 0..8),
        ) {
            let mut map = HeaderMap::new();
            for (name, value) in &entries {
                // HTTP/2 field values never start or end with whitespace (RFC 9113
                // 8.2.1), and parse trims it, so only trimmed values round-trip.
                let value: Vec<u8> = value.chars().map(|c| c as u8).collect();
                let value = trim(&value);
                map.append(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_bytes(value).unwrap(),
                );
            }
            let block = encode(&map);
            proptest::prop_assert_eq!(block.len(), estimate_len(&map));
            proptest::prop_assert_eq!(parse(&block).unwrap(), map);
        }
    }
}

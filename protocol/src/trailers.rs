//! The trailer block carried in a 0x80 frame: `name:value\r\n` per entry (S4, K1).

#[cfg(feature = "http")]
use bytes::{BufMut, Bytes, BytesMut};
use core::fmt;
#[cfg(feature = "http")]
use http::{HeaderMap, HeaderName, HeaderValue};

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

impl core::error::Error for TrailerError {}

/// Encodes trailers as the payload of a 0x80 frame.
///
/// Names are lower-case (as `HeaderName` always is), one `name:value\r\n` line per entry,
/// duplicates as separate lines in their order.
#[cfg(feature = "http")]
pub fn encode(trailers: &HeaderMap) -> Bytes {
    let mut out = BytesMut::with_capacity(estimate_len(trailers));
    encode_into(trailers, &mut out);
    out.freeze()
}

/// Appends the trailer block to `out`.
#[cfg(feature = "http")]
pub fn encode_into(trailers: &HeaderMap, out: &mut BytesMut) {
    for (name, value) in trailers {
        out.put_slice(name.as_str().as_bytes());
        out.put_u8(b':');
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
}

/// The exact encoded length of `trailers`.
#[cfg(feature = "http")]
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
#[cfg(feature = "http")]
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

/// Iterates over the entries of a trailer block without building a [`HeaderMap`]: each
/// item is `(name, value)` borrowed from `block`, in order, duplicates kept.
///
/// The block is read exactly as [`parse`] reads it and the same entries are accepted or
/// rejected (with the same [`TrailerError`]), but names keep the letter case they had on
/// the wire: compare them with [`str::eq_ignore_ascii_case`] or lower-case them. This is
/// the light path for clients (the wasm runtime) that need no `http` header types.
/// After an error the iterator ends.
///
/// ```
/// let block = b"Grpc-Status: 0\r\nx-a:1\r\n";
/// let entries: Vec<_> = grpcweb_protocol::trailers::entries(block)
///     .collect::<Result<_, _>>()
///     .unwrap();
/// assert_eq!(entries, [("Grpc-Status", &b"0"[..]), ("x-a", &b"1"[..])]);
/// ```
pub fn entries(block: &[u8]) -> Entries<'_> {
    Entries(raw_entries(block))
}

/// [`entries`] with names as bytes: the same entries, accepted or rejected alike, without
/// a UTF-8 conversion (names are checked to be header-name tokens, so they are ASCII).
/// For the wasm client, which hands bytes to TypeScript and counts its code size.
///
/// ```
/// let entries: Vec<_> = grpcweb_protocol::trailers::raw_entries(b"a: 1\n")
///     .collect::<Result<_, _>>()
///     .unwrap();
/// assert_eq!(entries, [(&b"a"[..], &b"1"[..])]);
/// ```
pub fn raw_entries(block: &[u8]) -> RawEntries<'_> {
    RawEntries {
        rest: Some(block),
        line_no: 0,
        failed: false,
    }
}

/// The iterator returned by [`entries`].
#[derive(Clone, Debug)]
pub struct Entries<'a>(RawEntries<'a>);

impl<'a> Iterator for Entries<'a> {
    type Item = Result<(&'a str, &'a [u8]), TrailerError>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.0.next()?;
        let line = self.0.line_no.saturating_sub(1);
        Some(entry.and_then(|(name, value)| {
            // Token bytes are ASCII.
            let name =
                core::str::from_utf8(name).map_err(|_| TrailerError::InvalidName { line })?;
            Ok((name, value))
        }))
    }
}

/// The iterator returned by [`raw_entries`].
#[derive(Clone, Debug)]
pub struct RawEntries<'a> {
    /// The lines not read yet; `None` after the last one.
    rest: Option<&'a [u8]>,
    line_no: usize,
    failed: bool,
}

impl<'a> Iterator for RawEntries<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), TrailerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let rest = self.rest?;
            let (line, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i + 1..)),
                None => (rest, None),
            };
            self.rest = next;
            let line_no = self.line_no;
            self.line_no += 1;
            // A `\r` before the `\n` is whitespace too.
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let entry = parse_entry(line, line_no);
            self.failed = entry.is_err();
            return Some(entry);
        }
    }
}

/// One non-blank line, validated as `HeaderName::from_bytes` and
/// `HeaderValue::from_bytes` would.
fn parse_entry(line: &[u8], line_no: usize) -> Result<(&[u8], &[u8]), TrailerError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(TrailerError::MissingColon { line: line_no })?;
    let name = trim(&line[..colon]);
    let value = trim(&line[colon + 1..]);
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.iter().all(|&b| is_token(b)) {
        return Err(TrailerError::InvalidName { line: line_no });
    }
    if !value
        .iter()
        .all(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
    {
        return Err(TrailerError::InvalidValue { line: line_no });
    }
    Ok((name, value))
}

/// The longest name `HeaderName` accepts.
const MAX_NAME_LEN: usize = (1 << 16) - 1;

/// An RFC 9110 `tchar`: the bytes a header name may hold.
fn is_token(b: u8) -> bool {
    TOKEN
        .get(usize::from(b >> 5))
        .is_some_and(|w| w >> (b & 31) & 1 == 1)
}

/// The `tchar` bytes as a bitmap, bit `b & 31` of word `b >> 5`: 16 bytes of data rather
/// than a chain of range comparisons in the wasm client.
const TOKEN: [u32; 4] = {
    let mut t = [0u32; 4];
    let mut b = 0u8;
    while b < 128 {
        let tchar = b.is_ascii_alphanumeric()
            || matches!(b, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^'..=b'`' | b'|' | b'~');
        if tchar {
            t[(b >> 5) as usize] |= 1 << (b & 31);
        }
        b += 1;
    }
    t
};

/// `s` without the spaces and tabs around it: a field value's optional whitespace (RFC
/// 9110), the only whitespace a header or trailer value can hold.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let text = |b: &u8| *b != b' ' && *b != b'\t';
    let start = s.iter().position(text).unwrap_or(s.len());
    let end = s.iter().rposition(text).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
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
    fn tokens_are_rfc_9110_tchars() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_token(b), tchar, "{b:#04x}");
        }
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

    #[test]
    fn entries_keep_order_case_and_duplicates() {
        let block = b"\r\nGrpc-Status: 0\r\nx-a:1\nx-a: 2 \r\n\r\nx-url:http://h:1/p";
        let got: Vec<_> = entries(block).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got,
            [
                ("Grpc-Status", &b"0"[..]),
                ("x-a", &b"1"[..]),
                ("x-a", &b"2"[..]),
                ("x-url", &b"http://h:1/p"[..]),
            ]
        );
        assert_eq!(entries(b"").count(), 0);
    }

    #[test]
    fn entries_reject_like_parse_and_stop() {
        let mut it = entries(b"ok:1\r\nbad name:1\r\nx:2");
        assert_eq!(it.next(), Some(Ok(("ok", &b"1"[..]))));
        assert_eq!(it.next(), Some(Err(TrailerError::InvalidName { line: 1 })));
        assert_eq!(it.next(), None);
        assert_eq!(
            entries(b"x:a\x00b").next(),
            Some(Err(TrailerError::InvalidValue { line: 0 }))
        );
        assert_eq!(
            entries(b"grpc-status 0").next(),
            Some(Err(TrailerError::MissingColon { line: 0 }))
        );
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

        #[test]
        fn entries_agree_with_parse(block in proptest::collection::vec(
            proptest::sample::select(b"aZ0-_ :\r\n\t\x00\x7f\xc3(@".to_vec()), 0..40)) {
            let from_entries: Result<Vec<(String, Vec<u8>)>, TrailerError> = entries(&block)
                .map(|e| e.map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec())))
                .collect();
            match (parse(&block), from_entries) {
                (Ok(map), Ok(list)) => {
                    let map: Vec<(String, Vec<u8>)> = map
                        .iter()
                        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                        .collect();
                    // HeaderMap groups duplicates by name; compare as multisets.
                    let (mut a, mut b) = (map, list);
                    a.sort();
                    b.sort();
                    proptest::prop_assert_eq!(a, b);
                }
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a, b),
                (a, b) => proptest::prop_assert!(false, "parse {:?} vs entries {:?}", a, b),
            }
        }
    }
}

//! `grpc-status-details-bin`: a serialized `google.rpc.Status` whose `details` are
//! `google.protobuf.Any` messages (docs/protocol.md K6). A reader of the three fields clients
//! need, so no protobuf library is needed to report error details.

use crate::varint;
use alloc::vec::Vec;

/// One `google.protobuf.Any` from the details.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Any {
    /// `type.googleapis.com/full.Name`, as sent (bytes: the wasm client hands it to
    /// TypeScript without a UTF-8 check).
    pub type_url: Vec<u8>,
    /// The serialized message.
    pub value: Vec<u8>,
}

/// The `details` (field 3) of a serialized `google.rpc.Status`; `None` when the bytes
/// are not a valid message. Its code and message are not read: they travel in
/// `grpc-status` and `grpc-message`.
///
/// ```
/// // code 5, one Any { type_url: "t/x", value: [1] }
/// let bytes = [0x08, 5, 0x1a, 8, 0x0a, 3, b't', b'/', b'x', 0x12, 1, 1];
/// let details = grpcweb_protocol::details::decode(&bytes).unwrap();
/// assert_eq!((&details[0].type_url[..], &details[0].value[..]), (&b"t/x"[..], &[1][..]));
/// ```
pub fn decode(bytes: &[u8]) -> Option<Vec<Any>> {
    entries(bytes)
        .map(|entry| {
            entry.map(|(type_url, value)| Any {
                type_url: type_url.to_vec(),
                value: value.to_vec(),
            })
        })
        .collect()
}

/// [`decode`] without copies: each detail's `(type_url, value)` in order, borrowed from
/// `bytes`. A malformed message yields `None` (then nothing more): [`decode`] refuses the
/// whole message then, so take the entries only once every one is `Some`.
pub fn entries(bytes: &[u8]) -> Entries<'_> {
    Entries(Some(Reader(bytes)))
}

/// One detail: `(type_url, value)`.
pub type Detail<'a> = (&'a [u8], &'a [u8]);

/// The iterator of [`entries`].
#[derive(Clone, Debug)]
pub struct Entries<'a>(Option<Reader<'a>>);

impl<'a> Iterator for Entries<'a> {
    type Item = Option<Detail<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = next_any(self.0.as_mut()?);
        match entry {
            Ok(Some(any)) => Some(Some(any)),
            Ok(None) => {
                self.0 = None;
                None
            }
            Err(()) => {
                self.0 = None;
                Some(None)
            }
        }
    }
}

/// The next `details` entry of a `google.rpc.Status`: `Ok(None)` at the end, `Err(())`
/// when malformed.
fn next_any<'a>(r: &mut Reader<'a>) -> Result<Option<Detail<'a>>, ()> {
    while let Some((key, bytes)) = r.field()? {
        if key == (3 << 3) | 2 {
            return decode_any(bytes).map(Some).ok_or(());
        }
    }
    Ok(None)
}

/// A `google.protobuf.Any`: `type_url` (1) and `value` (2), the last of each counting.
fn decode_any(bytes: &[u8]) -> Option<Detail<'_>> {
    let (mut type_url, mut value): (&[u8], &[u8]) = (&[], &[]);
    let mut r = Reader(bytes);
    while let Some((key, bytes)) = r.field().ok()? {
        match key {
            0x0a => type_url = bytes,
            0x12 => value = bytes,
            _ => {}
        }
    }
    Some((type_url, value))
}

#[derive(Clone, Debug)]
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The next field: its key (number and wire type) and, for a length-delimited one,
    /// its bytes (else empty). `Ok(None)` at the end, `Err(())` on malformed input. One
    /// function for every field, so the wasm client carries one copy of it.
    #[inline(never)]
    fn field(&mut self) -> Result<Option<(u64, &'a [u8])>, ()> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint().ok_or(())?;
        if key >> 3 == 0 {
            return Err(());
        }
        let bytes = match key & 7 {
            0 => self.varint().map(|_| &[][..]),
            1 => self.take(8),
            2 => self
                .varint()
                .and_then(|n| self.take(usize::try_from(n).ok()?)),
            5 => self.take(4),
            _ => None,
        };
        Ok(Some((key, bytes.ok_or(())?)))
    }

    fn varint(&mut self) -> Option<u64> {
        let (value, rest) = varint::take(self.0)?;
        self.0 = rest;
        Some(value)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_status_with_details() {
        // code 3, message "bad", one Any { "t/x", [1, 2] }, and an unknown fixed32 field.
        let mut any = vec![0x0a, 3, b't', b'/', b'x', 0x12, 2, 1, 2];
        let mut bytes = vec![0x08, 3, 0x12, 3, b'b', b'a', b'd', 0x1a, any.len() as u8];
        bytes.append(&mut any);
        bytes.extend_from_slice(&[0x25, 0, 0, 0, 0]);
        assert_eq!(
            decode(&bytes).unwrap(),
            [Any {
                type_url: b"t/x".to_vec(),
                value: vec![1, 2]
            }]
        );
    }

    #[test]
    fn skips_every_wire_type_it_does_not_read() {
        // Any { fixed64 field 1 (not a type_url), type_url "t", fixed32 5, varint 6, value [7] }
        let mut any = vec![
            0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 1, b't', 0x2d, 0, 0, 0, 0,
        ];
        any.extend_from_slice(&[0x30, 0x80, 0x01, 0x12, 1, 7]);
        // Status { field 3 as a varint (skipped), an unknown LEN field 4, details: [any] }
        let mut bytes = vec![0x18, 1, 0x22, 2, 0x1a, 0, 0x1a, any.len() as u8];
        bytes.extend_from_slice(&any);
        assert_eq!(
            entries(&bytes).collect::<Vec<_>>(),
            [Some((&b"t"[..], &[7][..]))]
        );
        assert_eq!(decode(&[0x1a, 2, 0x0b, 0]), None, "a group in an Any");
    }

    #[test]
    fn reads_the_js_tests_edge_status_as_typescript_does() {
        // js-tests/test/support/scripted-server.ts EDGE_STATUS_DETAILS, which the
        // TypeScript reader (client-wasm/npm/src/details.ts) must read the same way.
        let edge = [
            0x18, 0x01, 0x25, 0, 0, 0, 0, 0x1a, 0x13, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 1, 0x78,
            0x0a, 5, b'a', b'/', b'O', b'n', b'e', 0x1a, 0x0f, 0x12, 0, 0x30, 0x80, 0x01, 0x0a, 5,
            b'b', b'/', b'T', b'w', b'o', 0x12, 1, 9,
        ];
        assert_eq!(
            entries(&edge).collect::<Vec<_>>(),
            [
                Some((&b"a/One"[..], &[][..])),
                Some((&b"b/Two"[..], &[9][..]))
            ]
        );
        let mut bad = edge.to_vec();
        bad.extend_from_slice(&[0x12, 5, b'a']);
        assert_eq!(decode(&bad), None);
    }

    #[test]
    fn malformed_input() {
        let mut neg = vec![0x08];
        neg.extend_from_slice(&[0xff; 9]);
        neg.push(0x01);
        assert_eq!(decode(&neg), Some(vec![]), "a negative code is skipped");
        assert_eq!(decode(&[0x12, 5, b'a']), None, "truncated string");
        assert_eq!(decode(&[0x0b]), None, "group wire type");
        assert_eq!(decode(&[0x00]), None, "field 0");
        assert_eq!(decode(&[]), Some(vec![]));
    }

    #[test]
    fn entries_borrow_and_stop_at_the_first_malformed_field() {
        let any = [0x1a, 5, 0x0a, 1, b't', 0x12, 0];
        assert_eq!(
            entries(&any).collect::<Vec<_>>(),
            [Some((&b"t"[..], &b""[..]))]
        );
        let mut bad = any.to_vec();
        bad.extend_from_slice(&[0x12, 5, b'a']);
        bad.extend_from_slice(&any);
        assert_eq!(
            entries(&bad).collect::<Vec<_>>(),
            [Some((&b"t"[..], &b""[..])), None],
            "nothing after the error"
        );
    }
}

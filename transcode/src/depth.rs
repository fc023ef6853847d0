//! How deep a backend's message nests once its `Any`s are opened. Decoding holds plain
//! nesting to prost's 100 levels, but writing JSON decodes each `Any`'s payload on its
//! own, with a fresh limit, and writes it recursively: a message of `Any`s inside `Any`s
//! (some 45 bytes a level) would overflow the stack. So the wire bytes are walked first,
//! without decoding or copying, through the fields the descriptor says are messages, as
//! decoding reads them: the occurrences of a singular message field merge (their bytes
//! read one after another), an `Any` takes its last `type_url` and `value`, and groups
//! and unknown fields are skipped the way prost skips them.

use std::collections::BTreeMap;

use prost::encoding::{WireType, decode_key, decode_varint};
use prost_reflect::{Kind, MessageDescriptor};

/// Most messages nested in one another below the top one, `Any` payloads counted as the
/// messages they hold (prost's limit for plain protobuf nesting).
pub(crate) const MAX_DEPTH: u32 = 100;

/// Checks that `bytes`, a `desc` message, nests at most [`MAX_DEPTH`] messages deep.
/// Bytes that do not parse are refused too (decoding would refuse them).
pub(crate) fn check(desc: &MessageDescriptor, bytes: &[u8]) -> Result<(), String> {
    open(desc, &[bytes], MAX_DEPTH + 1).map_err(|e| match e {
        Walk::TooDeep => format!("messages nest deeper than {MAX_DEPTH} levels"),
        Walk::Malformed => "malformed protobuf".to_owned(),
    })
}

#[derive(Debug)]
enum Walk {
    TooDeep,
    Malformed,
}

/// One `desc` message made of `parts` (the occurrences that merge into it), `left` levels
/// allowed from here.
fn open(desc: &MessageDescriptor, parts: &[&[u8]], left: u32) -> Result<(), Walk> {
    let left = left.checked_sub(1).ok_or(Walk::TooDeep)?;
    if desc.full_name() == "google.protobuf.Any" {
        return any(desc, parts, left);
    }
    // Singular message fields, by number: their occurrences, merged when walked.
    let mut singular: BTreeMap<u32, (MessageDescriptor, Vec<&[u8]>)> = BTreeMap::new();
    for &part in parts {
        let mut buf = part;
        while !buf.is_empty() {
            let (number, wire) = decode_key(&mut buf).map_err(|_| Walk::Malformed)?;
            let field = desc.get_field(number);
            let message = match field.as_ref().map(|f| f.kind()) {
                Some(Kind::Message(m)) => Some(m),
                _ => None,
            };
            let value = match wire {
                WireType::LengthDelimited => length_delimited(&mut buf)?,
                WireType::StartGroup => group(&mut buf, number, MAX_DEPTH)?,
                WireType::EndGroup => return Err(Walk::Malformed),
                other => {
                    skip_scalar(&mut buf, other)?;
                    continue;
                }
            };
            let (Some(field), Some(m)) = (field, message) else {
                continue;
            };
            if field.is_list() || field.is_map() {
                // Each element (each map entry) is a message of its own.
                open(&m, &[value], left)?;
            } else {
                singular
                    .entry(number)
                    .or_insert_with(|| (m, Vec::new()))
                    .1
                    .push(value);
            }
        }
    }
    for (m, occurrences) in singular.values() {
        open(m, occurrences, left)?;
    }
    Ok(())
}

/// An `Any` made of `parts`: its last `type_url` and last `value`; the payload, when the
/// pool knows its type, opened as that message one level further down.
fn any(desc: &MessageDescriptor, parts: &[&[u8]], left: u32) -> Result<(), Walk> {
    let (mut type_url, mut value): (&[u8], &[u8]) = (&[], &[]);
    for &part in parts {
        let mut buf = part;
        while !buf.is_empty() {
            let (number, wire) = decode_key(&mut buf).map_err(|_| Walk::Malformed)?;
            match wire {
                WireType::LengthDelimited => {
                    let field = length_delimited(&mut buf)?;
                    match number {
                        1 => type_url = field,
                        2 => value = field,
                        _ => {}
                    }
                }
                WireType::StartGroup => {
                    group(&mut buf, number, MAX_DEPTH)?;
                }
                WireType::EndGroup => return Err(Walk::Malformed),
                other => skip_scalar(&mut buf, other)?,
            }
        }
    }
    let name = type_url.rsplit(|&b| b == b'/').next().unwrap_or_default();
    let inner = std::str::from_utf8(name)
        .ok()
        .and_then(|name| desc.parent_pool().get_message_by_name(name));
    match inner {
        Some(inner) => open(&inner, &[value], left),
        None => Ok(()),
    }
}

/// A length-delimited field's bytes.
fn length_delimited<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], Walk> {
    let len = decode_varint(buf).map_err(|_| Walk::Malformed)?;
    let len = usize::try_from(len).map_err(|_| Walk::Malformed)?;
    let (field, rest) = buf.split_at_checked(len).ok_or(Walk::Malformed)?;
    *buf = rest;
    Ok(field)
}

/// A group's content (its start key just read), up to its matching end key, which is
/// consumed. Groups nest at most `left` deep.
fn group<'a>(buf: &mut &'a [u8], number: u32, left: u32) -> Result<&'a [u8], Walk> {
    let left = left.checked_sub(1).ok_or(Walk::TooDeep)?;
    let start = *buf;
    loop {
        let before = buf.len();
        let (n, wire) = decode_key(buf).map_err(|_| Walk::Malformed)?;
        match wire {
            WireType::EndGroup if n == number => return Ok(&start[..start.len() - before]),
            WireType::EndGroup => return Err(Walk::Malformed),
            WireType::StartGroup => {
                group(buf, n, left)?;
            }
            WireType::LengthDelimited => {
                length_delimited(buf)?;
            }
            other => skip_scalar(buf, other)?,
        }
    }
}

fn skip_scalar(buf: &mut &[u8], wire: WireType) -> Result<(), Walk> {
    let n = match wire {
        WireType::Varint => {
            decode_varint(buf).map_err(|_| Walk::Malformed)?;
            return Ok(());
        }
        WireType::SixtyFourBit => 8,
        WireType::ThirtyTwoBit => 4,
        _ => return Err(Walk::Malformed),
    };
    *buf = buf.get(n..).ok_or(Walk::Malformed)?;
    Ok(())
}

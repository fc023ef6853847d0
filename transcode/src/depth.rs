//! How deep a backend's message nests once its `Any`s are opened. Decoding holds plain
//! nesting to prost's 100 levels, but writing JSON decodes each `Any`'s payload on its
//! own, with a fresh limit, and writes it recursively: a message of `Any`s inside `Any`s
//! (some 45 bytes a level) would overflow the stack. So the wire bytes are walked first,
//! without decoding or copying, through the fields the descriptor says are messages.

use prost::encoding::{WireType, decode_key, decode_varint};
use prost_reflect::{Kind, MessageDescriptor};

/// Most messages nested in one another, `Any` payloads counted as the messages they
/// hold (prost's limit for plain protobuf nesting).
pub(crate) const MAX_DEPTH: u32 = 100;

/// Checks that `bytes`, a `desc` message, nests at most [`MAX_DEPTH`] messages deep.
/// Malformed bytes pass: decoding then says what is wrong with them.
pub(crate) fn check(desc: &MessageDescriptor, bytes: &[u8]) -> Result<(), String> {
    match open(desc, &mut { bytes }, None, MAX_DEPTH) {
        Err(Walk::TooDeep) => Err(format!("messages nest deeper than {MAX_DEPTH} levels")),
        Ok(()) | Err(Walk::Malformed) => Ok(()),
    }
}

enum Walk {
    TooDeep,
    Malformed,
}

/// One `desc` message, `left` levels allowed from here: its fields from `buf` to its end,
/// or (a group, `group` its field number) to its end-group key.
fn open(
    desc: &MessageDescriptor,
    buf: &mut &[u8],
    group: Option<u32>,
    left: u32,
) -> Result<(), Walk> {
    let left = left.checked_sub(1).ok_or(Walk::TooDeep)?;
    if group.is_none() && desc.full_name() == "google.protobuf.Any" {
        return any(desc, std::mem::take(buf), left);
    }
    while !buf.is_empty() {
        let (number, wire) = decode_key(buf).map_err(|_| Walk::Malformed)?;
        let message = || match desc.get_field(number).map(|f| f.kind()) {
            Some(Kind::Message(m)) => Some(m),
            _ => None,
        };
        match wire {
            WireType::Varint => {
                decode_varint(buf).map_err(|_| Walk::Malformed)?;
            }
            WireType::SixtyFourBit => skip(buf, 8)?,
            WireType::ThirtyTwoBit => skip(buf, 4)?,
            WireType::LengthDelimited => {
                let len = decode_varint(buf).map_err(|_| Walk::Malformed)?;
                let len = usize::try_from(len).map_err(|_| Walk::Malformed)?;
                let (field, rest) = buf.split_at_checked(len).ok_or(Walk::Malformed)?;
                *buf = rest;
                if let Some(m) = message() {
                    open(&m, &mut { field }, None, left)?;
                }
            }
            WireType::StartGroup => match message() {
                Some(m) => open(&m, buf, Some(number), left)?,
                // A group the descriptor does not know: its fields are walked as unknown.
                None => open(desc, buf, Some(number), left)?,
            },
            WireType::EndGroup if group == Some(number) => return Ok(()),
            WireType::EndGroup => return Err(Walk::Malformed),
        }
    }
    match group {
        Some(_) => Err(Walk::Malformed),
        None => Ok(()),
    }
}

/// An `Any`'s fields: its payload, when the pool knows its type, opened as that message
/// one level further down.
fn any(desc: &MessageDescriptor, mut buf: &[u8], left: u32) -> Result<(), Walk> {
    let (mut type_url, mut value): (&[u8], &[u8]) = (&[], &[]);
    while !buf.is_empty() {
        let (number, wire) = decode_key(&mut buf).map_err(|_| Walk::Malformed)?;
        match wire {
            WireType::LengthDelimited => {
                let len = decode_varint(&mut buf).map_err(|_| Walk::Malformed)?;
                let len = usize::try_from(len).map_err(|_| Walk::Malformed)?;
                let (field, rest) = buf.split_at_checked(len).ok_or(Walk::Malformed)?;
                buf = rest;
                match number {
                    1 => type_url = field,
                    2 => value = field,
                    _ => {}
                }
            }
            WireType::Varint => {
                decode_varint(&mut buf).map_err(|_| Walk::Malformed)?;
            }
            WireType::SixtyFourBit => skip(&mut buf, 8)?,
            WireType::ThirtyTwoBit => skip(&mut buf, 4)?,
            WireType::StartGroup | WireType::EndGroup => return Err(Walk::Malformed),
        }
    }
    let name = type_url.rsplit(|&b| b == b'/').next().unwrap_or_default();
    let inner = std::str::from_utf8(name)
        .ok()
        .and_then(|name| desc.parent_pool().get_message_by_name(name));
    match inner {
        Some(inner) => open(&inner, &mut { value }, None, left),
        None => Ok(()),
    }
}

fn skip(buf: &mut &[u8], n: usize) -> Result<(), Walk> {
    *buf = buf.get(n..).ok_or(Walk::Malformed)?;
    Ok(())
}

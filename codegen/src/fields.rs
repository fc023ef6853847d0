//! One field's TS type and field-table entries.

use prost_types::FieldDescriptorProto;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::field_options::JsType;

use crate::editions::{Features, Presence};
use crate::error::Error;
use crate::file_gen::FileGen;
use crate::index::{TypeKind, is_proto2};
use crate::options::Int64;

/// Resolved TS facts about one field.
#[derive(Debug)]
pub(crate) struct FieldType {
    /// TS type of one value (the element type of a list, the value type of a map).
    pub(crate) ts: String,
    /// Field-table entries besides no, name, proto, json and kind.
    pub(crate) table: Vec<String>,
    /// "scalar", "enum", "message" or "map".
    pub(crate) kind: &'static str,
    /// A wrapper message field generated as its plain value (`unwrap_wrappers`): a scalar
    /// with explicit presence, whose codec (`wrapperField`) writes the wrapper.
    pub(crate) unwrapped: bool,
}

/// The scalar type a `google/protobuf/wrappers.proto` message wraps.
fn wrapped(type_name: &str) -> Option<Type> {
    Some(match type_name.strip_prefix(".google.protobuf.")? {
        "DoubleValue" => Type::Double,
        "FloatValue" => Type::Float,
        "Int64Value" => Type::Int64,
        "UInt64Value" => Type::Uint64,
        "Int32Value" => Type::Int32,
        "UInt32Value" => Type::Uint32,
        "BoolValue" => Type::Bool,
        "StringValue" => Type::String,
        "BytesValue" => Type::Bytes,
        _ => return None,
    })
}

/// With `unwrap_wrappers`, the wrapped type of a singular wrapper field outside a oneof
/// (as protobuf-es unwraps them; extensions keep the message).
fn unwrap(g: &FileGen<'_>, f: &FieldDescriptorProto) -> Option<Type> {
    let in_oneof = f.oneof_index.is_some() && f.proto3_optional != Some(true);
    if !g.ctx.options.unwrap_wrappers
        || f.r#type() != Type::Message
        || f.label() == Label::Repeated
        || in_oneof
        || f.extendee.is_some()
    {
        return None;
    }
    wrapped(f.type_name())
}

/// The resolved editions features of a field (`fq` is `pkg.Msg.field`), or `None` for
/// proto2 and proto3 files.
pub(crate) fn features(g: &FileGen<'_>, fq: &str) -> Option<Features> {
    if g.ctx.editions.is_editions_file(g.file.name()) {
        g.ctx.editions.field(fq)
    } else {
        None
    }
}

/// Whether a repeated field is written packed.
pub(crate) fn packed(g: &FileGen<'_>, f: &FieldDescriptorProto, fq: &str) -> bool {
    let packable = !matches!(
        f.r#type(),
        Type::String | Type::Bytes | Type::Message | Type::Group
    );
    if let Some(features) = features(g, fq) {
        return packable && features.packed;
    }
    let explicit = f.options.as_ref().and_then(|o| o.packed);
    packable && explicit.unwrap_or(!is_proto2(g.file))
}

/// Whether a singular scalar or enum field tracks presence.
pub(crate) fn explicit_presence(g: &FileGen<'_>, f: &FieldDescriptorProto, fq: &str) -> bool {
    if let Some(features) = features(g, fq) {
        return features.presence != Presence::Implicit;
    }
    f.proto3_optional == Some(true) || (is_proto2(g.file) && f.label() == Label::Optional)
}

/// Whether a field is proto2 `required` (or editions `LEGACY_REQUIRED`).
pub(crate) fn required(g: &FileGen<'_>, f: &FieldDescriptorProto, fq: &str) -> bool {
    f.label() == Label::Required
        || features(g, fq).is_some_and(|x| x.presence == Presence::LegacyRequired)
}

fn scalar(t: Type) -> Option<(u8, &'static str)> {
    Some(match t {
        Type::Double => (1, "number"),
        Type::Float => (2, "number"),
        Type::Int64 => (3, "long"),
        Type::Uint64 => (4, "long"),
        Type::Int32 => (5, "number"),
        Type::Fixed64 => (6, "long"),
        Type::Fixed32 => (7, "number"),
        Type::Bool => (8, "boolean"),
        Type::String => (9, "string"),
        Type::Bytes => (12, "Uint8Array"),
        Type::Uint32 => (13, "number"),
        Type::Sfixed32 => (15, "number"),
        Type::Sfixed64 => (16, "long"),
        Type::Sint32 => (17, "number"),
        Type::Sint64 => (18, "long"),
        Type::Group | Type::Message | Type::Enum => return None,
    })
}

/// The representation of a 64-bit field: `jstype` wins over the plugin option. Files in
/// google/protobuf always use bigint so the runtime's well-known-type helpers agree.
fn int64_of(g: &FileGen<'_>, f: &FieldDescriptorProto) -> Int64 {
    if g.file.package() == "google.protobuf" {
        return Int64::BigInt;
    }
    match f
        .options
        .as_ref()
        .and_then(|o| o.jstype)
        .map(JsType::try_from)
    {
        Some(Ok(JsType::JsString)) => Int64::String,
        Some(Ok(JsType::JsNumber)) => Int64::Number,
        Some(Ok(JsType::JsNormal)) => Int64::BigInt,
        _ => g.ctx.options.int64,
    }
}

/// Whether the runtime reads and writes a scalar type (by its id) with `wideScalar`: the
/// 64-bit integers, fixed32, sfixed32, float and double.
fn is_wide(id: u8) -> bool {
    matches!(id, 1 | 2 | 3 | 4 | 6 | 7 | 15 | 16 | 18)
}

/// Adds the codec of 64-bit, fixed32 and floating-point values to a field table, once.
fn push_wide(g: &mut FileGen<'_>, table: &mut Vec<String>) {
    let entry = format!("W: {}", g.imports.runtime("wideScalar"));
    if !table.contains(&entry) {
        table.push(entry);
    }
}

fn scalar_entry(
    g: &mut FileGen<'_>,
    f: &FieldDescriptorProto,
    t: Type,
    table: &mut Vec<String>,
    ctx: &str,
) -> Result<String, Error> {
    let (id, ts) = scalar(t).ok_or_else(|| Error::new(format!("{ctx}: not a scalar")))?;
    table.push(format!("T: {id}"));
    if is_wide(id) {
        // The codec of these types, which only apps with such fields bundle.
        push_wide(g, table);
    }
    if ts == "long" {
        let repr = int64_of(g, f);
        if repr != Int64::BigInt {
            table.push(format!("L: {}", repr.repr()));
        }
        return Ok(repr.ts_type().to_owned());
    }
    let verify = match features(g, ctx) {
        Some(features) => features.utf8_verify,
        None => !is_proto2(g.file),
    };
    if t == Type::String && !verify {
        table.push("noUtf8Check: true".to_owned());
    }
    Ok(ts.to_owned())
}

/// Resolves a message or enum type name to its local TS name (importing it when it
/// lives in another file); enums also give the name of their reflection const.
pub(crate) fn type_ref(
    g: &mut FileGen<'_>,
    type_name: &str,
    ctx: &str,
) -> Result<(String, TypeKind), Error> {
    let entry = g.ctx.index.get(type_name, ctx)?.clone();
    if entry.file == g.file.name() {
        return Ok((entry.ts_name, entry.kind));
    }
    let module = g.ctx.import_path(&g.out_path, &entry.file);
    let alias = g.imports.import(&module, &entry.ts_name);
    if matches!(entry.kind, TypeKind::Enum { .. }) {
        let info = format!("{}$", entry.ts_name);
        if g.imports
            .import_as(&module, &info, &format!("{alias}$"))
            .is_none()
        {
            return Err(Error::new(format!(
                "{ctx}: cannot import enum {type_name} without a name clash"
            )));
        }
    }
    Ok((alias, entry.kind))
}

/// The TS type, kind and table entries of a field's value (of a map's value when
/// `in_map`: always length-prefixed, and its codec checks closed enums itself).
fn value_entry(
    g: &mut FileGen<'_>,
    f: &FieldDescriptorProto,
    table: &mut Vec<String>,
    ctx: &str,
    in_map: bool,
) -> Result<(String, &'static str), Error> {
    match f.r#type() {
        Type::Enum => {
            let (name, kind) = type_ref(g, f.type_name(), ctx)?;
            table.push(format!("E: () => {name}$"));
            if matches!(kind, TypeKind::Enum { closed: true }) && !in_map {
                // The reader of closed enums, which only apps with such fields bundle.
                table.push(format!("X: {}", g.imports.runtime("closedEnum")));
            }
            Ok((name, "enum"))
        }
        Type::Message | Type::Group => {
            let (name, _) = type_ref(g, f.type_name(), ctx)?;
            table.push(format!("M: () => {name}"));
            let delimited = features(g, ctx).is_some_and(|x| x.delimited);
            // Map values are always length-prefixed, whatever message_encoding says.
            if (f.r#type() == Type::Group || delimited) && !in_map {
                table.push("delimited: true".to_owned());
                // The group codec, which only apps with groups bundle.
                table.push(format!("X: {}", g.imports.runtime("groupField")));
            }
            Ok((name, "message"))
        }
        t => Ok((scalar_entry(g, f, t, table, ctx)?, "scalar")),
    }
}

/// Resolves the TS type and table entries of a field.
pub(crate) fn field_type(
    g: &mut FileGen<'_>,
    f: &FieldDescriptorProto,
    ctx: &str,
) -> Result<FieldType, Error> {
    let mut table = Vec::new();
    if f.r#type() == Type::Message && f.label() == Label::Repeated {
        let entry = g.ctx.index.get(f.type_name(), ctx)?.clone();
        if let TypeKind::Message {
            map_entry: Some(kv),
        } = entry.kind
        {
            let (key, value) = *kv;
            let (k, _) = scalar(key.r#type())
                .ok_or_else(|| Error::new(format!("{ctx}: map key must be a scalar")))?;
            table.push(format!("K: {k}"));
            if is_wide(k) {
                push_wide(g, &mut table);
            }
            let (ts, _) = value_entry(g, &value, &mut table, ctx, true)?;
            // The map codec, which only apps with map fields bundle.
            table.push(format!("X: {}", g.imports.runtime("mapField")));
            return Ok(FieldType {
                ts,
                table,
                kind: "map",
                unwrapped: false,
            });
        }
    }
    if let Some(t) = unwrap(g, f) {
        let ts = scalar_entry(g, f, t, &mut table, ctx)?;
        // The wrapped value is a field of wrappers.proto (proto3): UTF-8 is checked.
        table.retain(|e| e != "noUtf8Check: true");
        // The wrapper codec, which only apps with such fields bundle.
        table.push(format!("X: {}", g.imports.runtime("wrapperField")));
        return Ok(FieldType {
            ts,
            table,
            kind: "scalar",
            unwrapped: true,
        });
    }
    let (ts, kind) = value_entry(g, f, &mut table, ctx, false)?;
    Ok(FieldType {
        ts,
        table,
        kind,
        unwrapped: false,
    })
}

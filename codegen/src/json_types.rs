//! `json_types=true`: a type per message and enum describing what the runtime's `toJson`
//! returns for it (`toJson(Foo, msg) as FooJson`), written after the file's other
//! declarations. Types only: nothing is added to a bundle.

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto};

use crate::error::Error;
use crate::file_gen::FileGen;
use crate::index::TypeKind;
use crate::names::{is_identifier, json_name, string_literal};

/// Doubles and floats: a number, or the strings JSON uses for NaN and the infinities.
const FLOAT_JSON: &str = "number | \"NaN\" | \"Infinity\" | \"-Infinity\"";

/// The JSON types of every message and enum of the file, in declaration order.
pub(crate) fn generate(g: &mut FileGen<'_>) -> Result<(), Error> {
    let file = g.file;
    let scope = file.package().to_owned();
    for e in &file.enum_type {
        enum_json(g, e, &scope)?;
    }
    for m in &file.message_type {
        message_json(g, m, &scope)?;
    }
    Ok(())
}

fn qualify(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

/// The JSON form of a well-known type that has its own mapping.
fn wkt_json(g: &mut FileGen<'_>, fq: &str) -> Option<String> {
    let ts = match fq {
        "google.protobuf.Timestamp"
        | "google.protobuf.Duration"
        | "google.protobuf.FieldMask"
        | "google.protobuf.Int64Value"
        | "google.protobuf.UInt64Value"
        | "google.protobuf.StringValue"
        | "google.protobuf.BytesValue" => "string".to_owned(),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => "number".to_owned(),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => FLOAT_JSON.to_owned(),
        "google.protobuf.BoolValue" => "boolean".to_owned(),
        "google.protobuf.Struct" | "google.protobuf.Any" => {
            g.imports.runtime_type("JsonObject").to_owned()
        }
        "google.protobuf.Value" => g.imports.runtime_type("JsonValue").to_owned(),
        "google.protobuf.ListValue" => format!("{}[]", g.imports.runtime_type("JsonValue")),
        _ => return None,
    };
    Some(ts)
}

fn enum_json(g: &mut FileGen<'_>, e: &EnumDescriptorProto, scope: &str) -> Result<(), Error> {
    let fq = qualify(scope, e.name());
    let entry = g.ctx.index.get(&format!(".{fq}"), &fq)?.clone();
    let ty = if fq == "google.protobuf.NullValue" {
        "null".to_owned()
    } else {
        let mut names: Vec<String> = e.value.iter().map(|v| string_literal(v.name())).collect();
        // An open enum's unknown numbers are written as numbers.
        if matches!(entry.kind, TypeKind::Enum { closed: false }) {
            names.push("number".to_owned());
        }
        names.join(" | ")
    };
    g.body
        .types(0, &format!("/** JSON form of the enum {fq}. */"));
    g.body
        .types(0, &format!("export type {} = {ty};", entry.json_name));
    g.body.types(0, "");
    Ok(())
}

fn message_json(g: &mut FileGen<'_>, m: &DescriptorProto, scope: &str) -> Result<(), Error> {
    if m.options.as_ref().and_then(|o| o.map_entry) == Some(true) {
        return Ok(());
    }
    let fq = qualify(scope, m.name());
    let name = g.ctx.index.get(&format!(".{fq}"), &fq)?.json_name.clone();
    g.body.types(
        0,
        &format!("/** JSON form of the message {fq}: what `toJson` returns. */"),
    );
    if let Some(ts) = wkt_json(g, &fq) {
        g.body.types(0, &format!("export type {name} = {ts};"));
    } else if m.field.is_empty() {
        g.body
            .types(0, &format!("export type {name} = Record<string, never>;"));
    } else {
        g.body.types(0, &format!("export type {name} = {{"));
        // Two fields may share a JSON name (proto2, editions `json_format =
        // LEGACY_BEST_EFFORT`): one key, typed as either field's value.
        let mut keys: Vec<(String, Vec<String>)> = Vec::new();
        for f in &m.field {
            let ctx = format!("{fq}.{}", f.name());
            let ty = field_json(g, f, &ctx)?;
            let key = f.json_name.clone().unwrap_or_else(|| json_name(f.name()));
            match keys.iter_mut().find(|(k, _)| *k == key) {
                Some((_, types)) if types.contains(&ty) => {}
                Some((_, types)) => types.push(ty),
                None => keys.push((key, vec![ty])),
            }
        }
        for (key, types) in keys {
            let key = if is_identifier(&key) {
                key
            } else {
                string_literal(&key)
            };
            g.body.types(1, &format!("{key}?: {};", types.join(" | ")));
        }
        g.body.types(0, "};");
    }
    g.body.types(0, "");
    for e in &m.enum_type {
        enum_json(g, e, &fq)?;
    }
    for n in &m.nested_type {
        message_json(g, n, &fq)?;
    }
    Ok(())
}

/// A field's JSON type: lists are arrays, maps objects keyed by strings.
fn field_json(g: &mut FileGen<'_>, f: &FieldDescriptorProto, ctx: &str) -> Result<String, Error> {
    if f.r#type() == Type::Message && f.label() == Label::Repeated {
        let entry = g.ctx.index.get(f.type_name(), ctx)?.clone();
        if let TypeKind::Message {
            map_entry: Some(kv),
        } = entry.kind
        {
            let value = value_json(g, &kv.1, ctx)?;
            return Ok(format!("{{ [key: string]: {value} }}"));
        }
    }
    let value = value_json(g, f, ctx)?;
    if f.label() == Label::Repeated {
        Ok(if value.contains(' ') {
            format!("({value})[]")
        } else {
            format!("{value}[]")
        })
    } else {
        Ok(value)
    }
}

fn value_json(g: &mut FileGen<'_>, f: &FieldDescriptorProto, ctx: &str) -> Result<String, Error> {
    Ok(match f.r#type() {
        Type::Double | Type::Float => FLOAT_JSON.to_owned(),
        Type::Int64 | Type::Uint64 | Type::Fixed64 | Type::Sfixed64 | Type::Sint64 => {
            "string".to_owned()
        }
        Type::Int32 | Type::Uint32 | Type::Fixed32 | Type::Sfixed32 | Type::Sint32 => {
            "number".to_owned()
        }
        Type::Bool => "boolean".to_owned(),
        Type::String | Type::Bytes => "string".to_owned(),
        Type::Enum | Type::Message | Type::Group => json_ref(g, f.type_name(), ctx)?,
    })
}

/// The local name of another type's JSON type, imported when it lives in another file.
fn json_ref(g: &mut FileGen<'_>, type_name: &str, ctx: &str) -> Result<String, Error> {
    let entry = g.ctx.index.get(type_name, ctx)?.clone();
    if entry.file == g.file.name() {
        return Ok(entry.json_name);
    }
    let module = g.ctx.import_path(&g.out_path, &entry.file);
    Ok(g.imports.import_type(&module, &entry.json_name))
}

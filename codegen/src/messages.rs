//! `<name>_pb.ts`: message interfaces, enums and the field tables the runtime codec reads
//! (then the file's extensions, see `extensions`).

use std::collections::{HashMap, HashSet};

use prost_types::field_descriptor_proto::Label;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

use crate::context::Context;
use crate::error::Error;
use crate::fields::{FieldType, explicit_presence, field_type, packed, required};
use crate::file_gen::FileGen;
use crate::index::TypeKind;
use crate::names::{
    enum_members, is_identifier, json_name, property_name, snake_case, string_literal,
};
use crate::options::{Descriptors, EnumPrefix};
use crate::printer::{Generated, Out};

// Source paths (descriptor.proto field numbers) used to find comments.
const FILE_MESSAGE: i32 = 4;
const FILE_ENUM: i32 = 5;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_ENUM: i32 = 4;
const MESSAGE_ONEOF: i32 = 8;
const ENUM_VALUE: i32 = 2;

/// Generates the `_pb.ts` file of `file`.
pub(crate) fn generate(ctx: &Context<'_>, file: &FileDescriptorProto) -> Result<Generated, Error> {
    let mut g = FileGen::new(ctx, file);
    let declared: HashSet<String> = ctx
        .index
        .declared_in(file.name(), ctx.options.json_types)
        .collect();
    for name in &declared {
        g.imports.declare(name);
    }
    let file_desc = (ctx.options.descriptors == Descriptors::Embed).then(|| {
        let mut name = crate::descriptors::const_name(file.name());
        while declared.contains(&name) {
            name.push('$');
        }
        g.imports.declare(&name);
        name
    });
    let scope = file.package().to_owned();
    for (i, e) in file.enum_type.iter().enumerate() {
        g.enum_(e, &scope, &[FILE_ENUM, i as i32])?;
    }
    for (i, m) in file.message_type.iter().enumerate() {
        g.message(m, &scope, &[FILE_MESSAGE, i as i32])?;
    }
    crate::extensions::generate(&mut g)?;
    if let Some(name) = file_desc {
        crate::descriptors::generate(&mut g, &name)?;
    }
    if ctx.options.json_types {
        crate::json_types::generate(&mut g)?;
    }
    let mut head = Out::default();
    crate::preamble::header_out(&mut head, ctx, file);
    g.imports.print_out(&mut head, ctx.options.runtime());
    head.all(0, "");
    Ok(Generated::join(head, g.body))
}

fn path_with(path: &[i32], more: &[i32]) -> Vec<i32> {
    let mut p = path.to_vec();
    p.extend_from_slice(more);
    p
}

fn qualify(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

fn property_key(name: &str) -> String {
    if is_identifier(name) {
        name.to_owned()
    } else {
        string_literal(name)
    }
}

/// `name`, or `name$`, `name$$`... when already used.
fn unique(used: &mut HashSet<String>, name: String) -> String {
    let mut name = name;
    while used.contains(&name) {
        name.push('$');
    }
    used.insert(name.clone());
    name
}

fn wrap_union(ts: &str) -> String {
    if ts.contains(' ') {
        format!("({ts})")
    } else {
        ts.to_owned()
    }
}

impl FileGen<'_> {
    fn enum_(&mut self, e: &EnumDescriptorProto, scope: &str, path: &[i32]) -> Result<(), Error> {
        let fq = qualify(scope, e.name());
        let entry = self.ctx.index.get(&format!(".{fq}"), &fq)?;
        let name = entry.ts_name.clone();
        let closed = matches!(entry.kind, TypeKind::Enum { closed: true });
        let comment = self.comments.get(path).to_owned();
        let deprecated = e.options.as_ref().and_then(|o| o.deprecated) == Some(true);
        self.body.doc(0, &comment, deprecated);
        // TS: an enum; declarations: the same enum declared; JS: the object tsc makes of
        // it (members, then number -> name), as a literal that bundlers can drop.
        self.body.ts.line(0, &format!("export enum {name} {{"));
        self.body
            .dts
            .line(0, &format!("export declare enum {name} {{"));
        self.body.js.line(0, &format!("export const {name} = {{"));
        let mut pairs = Vec::new();
        let mut reverse = Vec::new();
        let names: Vec<&str> = e.value.iter().map(|v| v.name()).collect();
        let strip = self.ctx.options.enum_prefix == EnumPrefix::Strip;
        let members = enum_members(e.name(), &names, strip);
        for (i, (v, member)) in e.value.iter().zip(&members).enumerate() {
            let c = self
                .comments
                .get(&path_with(path, &[ENUM_VALUE, i as i32]))
                .to_owned();
            let dep = v.options.as_ref().and_then(|o| o.deprecated) == Some(true);
            self.body.doc(1, &c, dep);
            self.body
                .types(1, &format!("{} = {},", property_key(member), v.number()));
            self.body
                .js
                .line(1, &format!("{}: {},", property_key(member), v.number()));
            pairs.push(format!("[{}, {}]", v.number(), string_literal(v.name())));
            // A later alias of a number wins its reverse entry, as in a TS enum.
            let key = string_literal(&v.number().to_string());
            reverse.retain(|(k, _): &(String, String)| *k != key);
            reverse.push((key, string_literal(member)));
        }
        for (k, v) in &reverse {
            self.body.js.line(1, &format!("{k}: {v},"));
        }
        self.body.types(0, "}");
        self.body.js.line(0, "};");
        let enum_type = self.imports.runtime("enumType");
        let enum_ty = self.imports.runtime_type("EnumType");
        let closed = if closed { ", true" } else { "" };
        self.body
            .all(0, &format!("/** Reflection info of the enum {fq}. */"));
        let value = format!(
            "/*@__PURE__*/ {enum_type}({}, [{}]{closed});",
            string_literal(&fq),
            pairs.join(", ")
        );
        self.body
            .ts
            .line(0, &format!("export const {name}$: {enum_ty} = {value}"));
        self.body
            .js
            .line(0, &format!("export const {name}$ = {value}"));
        self.body
            .dts
            .line(0, &format!("export declare const {name}$: {enum_ty};"));
        self.body.all(0, "");
        Ok(())
    }

    fn message(&mut self, m: &DescriptorProto, scope: &str, path: &[i32]) -> Result<(), Error> {
        if m.options.as_ref().and_then(|o| o.map_entry) == Some(true) {
            return Ok(());
        }
        let fq = qualify(scope, m.name());
        let name = self.ctx.index.get(&format!(".{fq}"), &fq)?.ts_name.clone();
        let comment = self.comments.get(path).to_owned();
        let deprecated = m.options.as_ref().and_then(|o| o.deprecated) == Some(true);
        self.body.doc_types(0, &comment, deprecated);
        self.body.types(0, &format!("export interface {name} {{"));
        let mut table = Vec::new();
        let mut oneof_props: HashMap<i32, String> = HashMap::new();
        // Property names in use: proto2 allows `foo_bar` next to `fooBar`.
        let mut used = HashSet::new();
        let mut has_required = false;
        for (i, f) in m.field.iter().enumerate() {
            let ctx_name = format!("{fq}.{}", f.name());
            let ft = field_type(self, f, &ctx_name)?;
            let oneof = f.oneof_index.filter(|_| f.proto3_optional != Some(true));
            let prop = match oneof {
                // A oneof member's name is its `case`, not a property of the message.
                Some(_) => property_name(f.name()),
                None => unique(&mut used, property_name(f.name())),
            };
            let json = f.json_name.clone().unwrap_or_else(|| json_name(f.name()));
            let mut entry = vec![
                format!("no: {}", f.number()),
                format!("name: {}", string_literal(&prop)),
            ];
            // The table is part of every bundle that uses the message, so what the runtime
            // can work out is left out: `proto` when it is `name` in snake_case, `json`
            // when it equals `name`, and `kind` (from K, M and E).
            if f.name() != snake_case(&prop) {
                entry.push(format!("proto: {}", string_literal(f.name())));
            }
            if json != prop {
                entry.push(format!("json: {}", string_literal(&json)));
            }
            entry.extend(ft.table.iter().cloned());
            let repeated = f.label() == Label::Repeated && ft.kind != "map";
            if repeated {
                entry.push("repeated: true".to_owned());
                if packed(self, f, &ctx_name) {
                    entry.push("packed: true".to_owned());
                }
            }
            if let Some(o) = oneof {
                let decl = m.oneof_decl.get(o as usize).ok_or_else(|| {
                    Error::new(format!("{ctx_name}: oneof_index {o} out of range"))
                })?;
                let first = !oneof_props.contains_key(&o);
                let oprop = oneof_props
                    .entry(o)
                    .or_insert_with(|| unique(&mut used, property_name(decl.name())))
                    .clone();
                entry.push(format!("oneof: {}", string_literal(&oprop)));
                table.push(entry);
                if first {
                    self.oneof(m, o, &oprop, path, &fq)?;
                }
                continue;
            }
            let required = required(self, f, &ctx_name);
            let opt = !required
                && !repeated
                && ft.kind != "message"
                && ft.kind != "map"
                && (ft.unwrapped || explicit_presence(self, f, &ctx_name));
            if required {
                has_required = true;
                entry.push("req: true".to_owned());
            } else if opt {
                entry.push("opt: true".to_owned());
            }
            if let Some(d) = &f.default_value {
                entry.push(format!("def: {}", string_literal(d)));
            }
            let fdoc = self
                .comments
                .get(&path_with(path, &[MESSAGE_FIELD, i as i32]))
                .to_owned();
            let fdep = f.options.as_ref().and_then(|o| o.deprecated) == Some(true);
            self.body.doc_types(1, &fdoc, fdep);
            let optional = (ft.kind == "message" && !repeated) || required || opt;
            let ty = if ft.kind == "map" {
                format!("{{ [key: string]: {} }}", ft.ts)
            } else if repeated {
                format!("{}[]", wrap_union(&ft.ts))
            } else {
                ft.ts.clone()
            };
            let q = if optional { "?" } else { "" };
            self.body
                .types(1, &format!("{}{q}: {ty};", property_key(&prop)));
            table.push(entry);
        }
        self.body.types(
            1,
            "/** Fields this schema does not know, kept as raw bytes. */",
        );
        self.body.types(1, "$unknown?: Uint8Array;");
        self.body.types(0, "}");
        self.body.types(0, "");
        let message_type = self.imports.runtime("messageType");
        let mt = self.imports.runtime_type("MessageType");
        self.body.all(
            0,
            &format!("/** Codec and reflection info of the message {fq}. */"),
        );
        let fq_lit = string_literal(&fq);
        self.body.ts.line(
            0,
            &format!(
                "export const {name}: {mt}<{name}> = /*@__PURE__*/ {message_type}<{name}>({fq_lit}, () => ["
            ),
        );
        self.body.js.line(
            0,
            &format!("export const {name} = /*@__PURE__*/ {message_type}({fq_lit}, () => ["),
        );
        self.body
            .dts
            .line(0, &format!("export declare const {name}: {mt}<{name}>;"));
        for entry in table {
            self.body.code(1, &format!("{{ {} }},", entry.join(", ")));
        }
        // The binary check of required fields, which only apps using such messages bundle.
        if has_required {
            let check = self.imports.runtime("checkRequired");
            self.body.code(0, &format!("], {check});"));
        } else {
            self.body.code(0, "]);");
        }
        self.body.all(0, "");
        for (i, e) in m.enum_type.iter().enumerate() {
            self.enum_(e, &fq, &path_with(path, &[MESSAGE_ENUM, i as i32]))?;
        }
        for (i, n) in m.nested_type.iter().enumerate() {
            let npath = path_with(path, &[MESSAGE_NESTED, i as i32]);
            self.message(n, &fq, &npath)?;
        }
        Ok(())
    }

    /// Prints a oneof as a discriminated union property.
    fn oneof(
        &mut self,
        m: &DescriptorProto,
        index: i32,
        prop: &str,
        path: &[i32],
        fq: &str,
    ) -> Result<(), Error> {
        let comment = self
            .comments
            .get(&path_with(path, &[MESSAGE_ONEOF, index]))
            .to_owned();
        self.body.doc_types(1, &comment, false);
        self.body.types(1, &format!("{}:", property_key(prop)));
        for (i, f) in m.field.iter().enumerate() {
            if f.oneof_index != Some(index) || f.proto3_optional == Some(true) {
                continue;
            }
            let FieldType { ts, .. } = field_type(self, f, &format!("{fq}.{}", f.name()))?;
            let fdoc = self
                .comments
                .get(&path_with(path, &[MESSAGE_FIELD, i as i32]))
                .to_owned();
            let fdep = f.options.as_ref().and_then(|o| o.deprecated) == Some(true);
            self.body.doc_types(2, &fdoc, fdep);
            let case = string_literal(&property_name(f.name()));
            self.body
                .types(2, &format!("| {{ case: {case}; value: {ts} }}"));
        }
        self.body
            .types(2, "| { case: undefined; value?: undefined };");
        Ok(())
    }
}

//! Extensions: one exported descriptor per `extend` field of a file and of its messages,
//! `export const extInt32: Extension<Foo, number> = extension("pkg.ext_int32", () => Foo,
//! { no: 100, T: 5 })`, after the file's messages. The runtime's `getExtension` and
//! friends take it; values live in the extendee's unknown fields.

use prost_types::field_descriptor_proto::Label;
use prost_types::{DescriptorProto, FieldDescriptorProto};

use crate::error::Error;
use crate::fields::{field_type, packed, type_ref};
use crate::file_gen::FileGen;
use crate::names::string_literal;

// Source paths (descriptor.proto field numbers) used to find comments.
const FILE_MESSAGE: i32 = 4;
const FILE_EXTENSION: i32 = 7;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_EXTENSION: i32 = 6;

/// Writes the descriptors of every extension `g`'s file declares.
pub(crate) fn generate(g: &mut FileGen<'_>) -> Result<(), Error> {
    let file = g.file;
    let scope = file.package().to_owned();
    for (i, f) in file.extension.iter().enumerate() {
        extension(g, f, &scope, &[FILE_EXTENSION, i as i32])?;
    }
    for (i, m) in file.message_type.iter().enumerate() {
        in_message(g, m, &scope, &[FILE_MESSAGE, i as i32])?;
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

fn in_message(
    g: &mut FileGen<'_>,
    m: &DescriptorProto,
    scope: &str,
    path: &[i32],
) -> Result<(), Error> {
    let fq = qualify(scope, m.name());
    for (i, f) in m.extension.iter().enumerate() {
        let mut p = path.to_vec();
        p.extend_from_slice(&[MESSAGE_EXTENSION, i as i32]);
        extension(g, f, &fq, &p)?;
    }
    for (i, n) in m.nested_type.iter().enumerate() {
        let mut p = path.to_vec();
        p.extend_from_slice(&[MESSAGE_NESTED, i as i32]);
        in_message(g, n, &fq, &p)?;
    }
    Ok(())
}

fn extension(
    g: &mut FileGen<'_>,
    f: &FieldDescriptorProto,
    scope: &str,
    path: &[i32],
) -> Result<(), Error> {
    let fq = qualify(scope, f.name());
    let name = g.ctx.index.extension(&format!(".{fq}"))?.to_owned();
    let (extendee, _) = type_ref(g, f.extendee(), &fq)?;
    let ft = field_type(g, f, &fq)?;
    let mut entry = vec![format!("no: {}", f.number())];
    entry.extend(ft.table.iter().cloned());
    let repeated = f.label() == Label::Repeated;
    let value = if repeated {
        entry.push("repeated: true".to_owned());
        if packed(g, f, &fq) {
            entry.push("packed: true".to_owned());
        }
        if ft.ts.contains(' ') {
            format!("({})[]", ft.ts)
        } else {
            format!("{}[]", ft.ts)
        }
    } else {
        ft.ts.clone()
    };
    if let Some(d) = &f.default_value {
        entry.push(format!("def: {}", string_literal(d)));
    }
    let comment = g.comments.get(path).to_owned();
    let deprecated = f.options.as_ref().and_then(|o| o.deprecated) == Some(true);
    let extendee_fq = f.extendee().trim_start_matches('.');
    let about = format!("Extension {fq} of {extendee_fq}.");
    let doc = if comment.trim().is_empty() {
        about
    } else {
        format!("{}\n\n{about}", comment.trim_end())
    };
    g.body.doc(0, &doc, deprecated);
    let make = g.imports.runtime("extension");
    let ty = g.imports.runtime_type("Extension");
    let args = format!(
        "({}, () => {extendee}, {{ {} }});",
        string_literal(&fq),
        entry.join(", ")
    );
    let generic = format!("{extendee}, {value}");
    g.body.ts.line(
        0,
        &format!("export const {name}: {ty}<{generic}> = /*@__PURE__*/ {make}<{generic}>{args}"),
    );
    g.body.js.line(
        0,
        &format!("export const {name} = /*@__PURE__*/ {make}{args}"),
    );
    g.body
        .dts
        .line(0, &format!("export declare const {name}: {ty}<{generic}>;"));
    g.body.all(0, "");
    Ok(())
}

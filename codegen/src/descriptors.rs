//! `descriptors=embed`: every `_pb` module exports its file's descriptor,
//! `export const file_a_b: FileDesc = /*@__PURE__*/ fileDesc("<base64>")`, the serialized
//! `FileDescriptorProto` without its `source_code_info`. Custom options (extensions of
//! `google.protobuf.*Options`) stay in it as the options' unknown fields, which the
//! runtime's `getOption` reads with the extension machinery. `fileDesc` and `FileDesc`
//! come from `grpcweb-client/reflect`, so the package's main entry point stays as it was.
//!
//! prost-types drops unknown fields, custom options among them, so the bytes are taken
//! from the encoded request ([`crate::raw_files::RawFiles`]), never re-encoded.

use base64::Engine as _;

use crate::error::Error;
use crate::file_gen::FileGen;
use crate::names::string_literal;

/// The name of a file's descriptor const: `file_` and the path without `.proto`, every
/// character that is not a letter or digit as `_` (`a/b-c.proto` -> `file_a_b_c`), as
/// protobuf-es names it.
pub(crate) fn const_name(proto: &str) -> String {
    let stem = proto.strip_suffix(".proto").unwrap_or(proto);
    let mut name = String::from("file_");
    name.extend(
        stem.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    name
}

/// Writes the file's descriptor const (with `descriptors=embed`).
pub(crate) fn generate(g: &mut FileGen<'_>, name: &str) -> Result<(), Error> {
    let bytes = g.ctx.raw_files.embedded(g.file.name())?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
    // From the package's `reflect` entry point (it bundles the descriptor.proto types).
    let module = format!("{}/reflect", g.ctx.options.runtime());
    let make = g.imports.import(&module, "fileDesc");
    let ty = g.imports.import_type(&module, "FileDesc");
    g.body.doc(
        0,
        &format!(
            "Descriptor of {} (`descriptors=embed`): read custom options with `getOption`, resolve names with `createFileRegistry`.",
            g.file.name()
        ),
        false,
    );
    let call = format!("/*@__PURE__*/ {make}({});", string_literal(&b64));
    g.body
        .ts
        .line(0, &format!("export const {name}: {ty} = {call}"));
    g.body.js.line(0, &format!("export const {name} = {call}"));
    g.body
        .dts
        .line(0, &format!("export declare const {name}: {ty};"));
    g.body.all(0, "");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_protobuf_es() {
        assert_eq!(const_name("a/b-c.proto"), "file_a_b_c");
        assert_eq!(
            const_name("google/protobuf/timestamp.proto"),
            "file_google_protobuf_timestamp"
        );
    }
}

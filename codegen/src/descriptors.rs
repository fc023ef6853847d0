//! `descriptors=embed`: every `_pb` module exports its file's descriptor,
//! `export const file_a_b: FileDesc = /*@__PURE__*/ fileDesc("<base64>")`, the serialized
//! `FileDescriptorProto` without its `source_code_info`. Custom options (extensions of
//! `google.protobuf.*Options`) stay in it as the options' unknown fields, which the
//! runtime's `getOption` reads with the extension machinery. `fileDesc` and `FileDesc`
//! come from `grpcweb-client/reflect`, so the package's main entry point stays as it was.
//!
//! prost-types drops unknown fields, custom options among them, so the bytes are taken
//! from the encoded request ([`RawFiles::decode`]), never re-encoded.

use std::collections::HashMap;

use base64::Engine as _;
use prost::Message as _;

use crate::error::Error;
use crate::file_gen::FileGen;
use crate::names::string_literal;

/// `FileDescriptorProto.source_code_info`, left out of embedded descriptors.
const SOURCE_CODE_INFO: u64 = 9;

#[derive(Clone, PartialEq, prost::Message)]
struct Request {
    #[prost(bytes = "vec", repeated, tag = "15")]
    proto_file: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FileName {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
}

/// The encoded `FileDescriptorProto`s of a request, by file name.
#[derive(Debug, Default)]
pub(crate) struct RawFiles {
    files: HashMap<String, Vec<u8>>,
}

impl RawFiles {
    /// Reads the files of an encoded `CodeGeneratorRequest`.
    pub(crate) fn decode(request: &[u8]) -> Result<Self, Error> {
        let request = Request::decode(request)
            .map_err(|e| Error::new(format!("cannot decode the CodeGeneratorRequest: {e}")))?;
        let mut files = HashMap::new();
        for bytes in request.proto_file {
            let name = FileName::decode(bytes.as_slice())
                .map_err(|e| Error::new(format!("cannot decode a FileDescriptorProto: {e}")))?
                .name
                .unwrap_or_default();
            files.insert(name, bytes);
        }
        Ok(RawFiles { files })
    }

    /// The bytes to embed for `file`: its descriptor without `source_code_info`.
    fn embedded(&self, file: &str) -> Result<Vec<u8>, Error> {
        let bytes = self.files.get(file).ok_or_else(|| {
            Error::new(format!(
                "{file}: descriptors=embed needs the encoded request (the plugin binary, or run())"
            ))
        })?;
        without_field(bytes, SOURCE_CODE_INFO)
            .ok_or_else(|| Error::new(format!("{file}: malformed FileDescriptorProto")))
    }
}

/// `bytes` (an encoded message) without the records of field `no`; None when malformed.
fn without_field(bytes: &[u8], no: u64) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (key, after_key) = grpcweb_protocol::varint::take(rest)?;
        let after = match key & 7 {
            0 => grpcweb_protocol::varint::take(after_key)?.1,
            1 => after_key.get(8..)?,
            2 => {
                let (len, body) = grpcweb_protocol::varint::take(after_key)?;
                body.get(usize::try_from(len).ok()?..)?
            }
            5 => after_key.get(4..)?,
            // Groups do not occur at the top level of a FileDescriptorProto.
            _ => return None,
        };
        if key >> 3 != no {
            out.extend_from_slice(&rest[..rest.len() - after.len()]);
        }
        rest = after;
    }
    Some(out)
}

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

    #[test]
    fn drops_one_field() {
        // name = "a" (1), source_code_info = {} (9), package = "p" (2)
        let bytes = [0x0a, 1, b'a', 0x4a, 0, 0x12, 1, b'p'];
        assert_eq!(
            without_field(&bytes, SOURCE_CODE_INFO),
            Some(vec![0x0a, 1, b'a', 0x12, 1, b'p'])
        );
        assert_eq!(without_field(&[0x0a, 5, b'a'], 9), None);
        assert_eq!(without_field(&[0x0b], 9), None);
    }
}

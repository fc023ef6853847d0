//! The encoded `FileDescriptorProto`s of a `CodeGeneratorRequest`, as the request carried
//! them: prost-types drops unknown fields (custom options among them), so what
//! `descriptors=embed` writes is taken from these bytes, never re-encoded.

use std::collections::HashMap;

use prost::Message as _;

use crate::error::Error;

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
    pub(crate) fn embedded(&self, file: &str) -> Result<Vec<u8>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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

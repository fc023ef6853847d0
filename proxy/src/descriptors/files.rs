//! Which fetched files can go into a pool: a file whose imports are neither fetched nor
//! in the backend's descriptor files is left out, with its dependents, and named in the log.

use grpcweb_transcode::DescriptorPool;
use std::collections::BTreeMap;

use super::fetch::RawFile;

/// The files of `fetched` whose imports (transitively) are in `fetched` or `base`; each
/// file left out is logged for `backend` with the import it lacks.
pub(super) fn usable(
    backend: &str,
    base: &DescriptorPool,
    mut fetched: BTreeMap<String, RawFile>,
) -> Vec<RawFile> {
    // Drop files with a missing import until none is left: each pass removes at least one
    // file or ends, so at most as many passes as files.
    loop {
        let missing = fetched.iter().find_map(|(name, file)| {
            file.dependency
                .iter()
                .find(|d| !fetched.contains_key(*d) && base.get_file_by_name(d).is_none())
                .map(|d| (name.clone(), d.clone()))
        });
        let Some((name, import)) = missing else {
            break;
        };
        tracing::warn!(
            backend,
            file = name.as_str(),
            import = import.as_str(),
            "server reflection: the file imports one the backend's reflection does not serve; its services are left out"
        );
        fetched.remove(&name);
    }
    fetched.into_values().collect()
}

/// The files as one serialized `FileDescriptorSet` (field 1, `repeated FileDescriptorProto
/// file`), to read with their options kept.
pub(super) fn encode_set(files: &[RawFile]) -> Vec<u8> {
    let mut out = Vec::with_capacity(files.iter().map(|f| f.bytes.len() + 6).sum());
    for file in files {
        out.push(0x0a);
        grpcweb_protocol::varint::put(&mut out, file.bytes.len() as u64);
        out.extend_from_slice(&file.bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use prost_types::{FileDescriptorProto, FileDescriptorSet};

    fn raw(name: &str, deps: &[&str]) -> (String, RawFile) {
        let file = FileDescriptorProto {
            name: Some(name.to_owned()),
            dependency: deps.iter().map(|d| (*d).to_owned()).collect(),
            ..FileDescriptorProto::default()
        };
        let raw = RawFile {
            dependency: file.dependency.clone(),
            bytes: file.encode_to_vec(),
        };
        (name.to_owned(), raw)
    }

    #[test]
    fn files_missing_an_import_are_left_out_with_their_dependents() {
        let fetched = BTreeMap::from([
            raw("a.proto", &[]),
            raw("b.proto", &["a.proto", "gone.proto"]),
            raw("c.proto", &["b.proto"]),
            raw("d.proto", &["a.proto", "base.proto"]),
        ]);
        let mut base = DescriptorPool::new();
        base.add_file_descriptor_proto(FileDescriptorProto {
            name: Some("base.proto".to_owned()),
            ..FileDescriptorProto::default()
        })
        .unwrap();
        let kept = usable("b", &base, fetched);
        let set = FileDescriptorSet::decode(encode_set(&kept).as_slice()).unwrap();
        let names: Vec<_> = set.file.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["a.proto", "d.proto"]);
        let mut pool = base.clone();
        pool.decode_file_descriptor_set(encode_set(&kept).as_slice())
            .unwrap();
    }
}

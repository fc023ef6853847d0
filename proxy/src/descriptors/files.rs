//! Which fetched files can go into a pool: those of the listed services and what they
//! import; a file whose imports are neither fetched nor in the base pool is left out, with
//! its dependents, and named in the log.
//!
//! The base pool is the backend's descriptor files and the well-known types. Two repairs
//! for grpc-js, whose reflection serves files that protobufjs made: a fetched file that
//! only restates types the base has under another name (protobufjs's one
//! `google_protobuf.proto` for the whole package, not valid as it is) is replaced by the
//! base's files, and a file that names types of another file without importing it gets
//! the import. A repaired file is re-encoded, its own custom options lost (protobufjs had
//! dropped them anyway).

use grpcweb_transcode::DescriptorPool;
use prost::Message as _;
use prost_types::{DescriptorProto, FileDescriptorProto};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::fetch::RawFile;
use super::public;

/// The files of `fetched` that define one of `services` or that those import
/// (transitively), whose imports are in `fetched` or `base`; each file left out for a
/// missing import is logged for `backend` with the import it lacks. Public imports are
/// made plain ([`public::flatten`]). What is wrong when the files are refused whole.
pub(super) fn usable(
    backend: &str,
    base: &DescriptorPool,
    services: &[String],
    mut fetched: BTreeMap<String, RawFile>,
) -> Result<Vec<RawFile>, String> {
    repair_imports(base, &mut fetched);
    // Servers may send more than was asked (grpc-js sends every file it has), and those
    // files need not be complete.
    let mut wanted: Vec<&String> = fetched
        .iter()
        .filter(|(_, f)| f.services.iter().any(|s| services.contains(s)))
        .map(|(name, _)| name)
        .collect();
    let mut reachable = BTreeSet::new();
    while let Some(name) = wanted.pop() {
        if reachable.insert(name.clone())
            && let Some(file) = fetched.get(name)
        {
            wanted.extend(file.dependency.iter());
        }
    }
    fetched.retain(|name, _| reachable.contains(name));
    public::flatten(&mut fetched, |name| base.get_file_by_name(name).is_some())?;
    drop_missing_imports(backend, base, &mut fetched);
    Ok(fetched.into_values().collect())
}

/// Leaves out each file with an import neither in `fetched` nor in `base`, then the files
/// importing those, and so on: one visit per file and import.
fn drop_missing_imports(
    backend: &str,
    base: &DescriptorPool,
    fetched: &mut BTreeMap<String, RawFile>,
) {
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut missing: Vec<(String, String)> = Vec::new();
    for (name, file) in fetched.iter() {
        for import in &file.dependency {
            if fetched.contains_key(import) {
                dependents.entry(import).or_default().push(name);
            } else if base.get_file_by_name(import).is_none() {
                missing.push((name.clone(), import.clone()));
            }
        }
    }
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    while let Some((name, import)) = missing.pop() {
        if !dropped.insert(name.clone()) {
            continue;
        }
        tracing::warn!(
            backend,
            file = name.as_str(),
            import = import.as_str(),
            "server reflection: the file imports one the backend's reflection does not serve; its services are left out"
        );
        for &dependent in dependents.get(name.as_str()).into_iter().flatten() {
            if !dropped.contains(dependent) {
                missing.push((dependent.to_owned(), name.clone()));
            }
        }
    }
    fetched.retain(|name, _| !dropped.contains(name));
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

/// Drops the fetched files (not in `base` by name) that define only types `base` has,
/// and makes each file import the files that define the types it names.
fn repair_imports(base: &DescriptorPool, fetched: &mut BTreeMap<String, RawFile>) {
    let protos: BTreeMap<String, FileDescriptorProto> = fetched
        .iter()
        .filter_map(|(name, f)| {
            Some((
                name.clone(),
                FileDescriptorProto::decode(f.bytes.as_slice()).ok()?,
            ))
        })
        .collect();
    // Where each type is defined: the base's files first.
    let mut defined: HashMap<String, String> = base
        .all_messages()
        .map(|m| (m.full_name().to_owned(), m.parent_file().name().to_owned()))
        .chain(
            base.all_enums()
                .map(|e| (e.full_name().to_owned(), e.parent_file().name().to_owned())),
        )
        .collect();
    for (name, proto) in &protos {
        let symbols = file_symbols(proto);
        if base.get_file_by_name(name).is_none()
            && !symbols.is_empty()
            && symbols.iter().all(|s| defined.contains_key(s))
        {
            tracing::debug!(
                file = name.as_str(),
                "server reflection: read from the well-known types"
            );
            fetched.remove(name);
            continue;
        }
        for symbol in symbols {
            defined.entry(symbol).or_insert_with(|| name.clone());
        }
    }
    for (name, proto) in &protos {
        if !fetched.contains_key(name) {
            continue;
        }
        let mut imports: BTreeSet<String> = proto
            .dependency
            .iter()
            .filter(|d| {
                fetched.contains_key(*d)
                    || base.get_file_by_name(d).is_some()
                    || !protos.contains_key(*d)
            })
            .cloned()
            .collect();
        let before = imports.clone();
        for n in file_references(proto) {
            if let Some(f) = defined.get(n.trim_start_matches('.'))
                && f != name
            {
                imports.insert(f.clone());
            }
        }
        if imports == before && imports.len() == proto.dependency.len() {
            continue;
        }
        tracing::debug!(
            file = name.as_str(),
            ?imports,
            "server reflection: imports repaired"
        );
        let mut proto = proto.clone();
        proto.dependency = imports.into_iter().collect();
        proto.public_dependency.clear();
        proto.weak_dependency.clear();
        if let Some(file) = fetched.get_mut(name) {
            file.dependency = proto.dependency.clone();
            file.public_dependency.clear();
            file.bytes = proto.encode_to_vec();
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The full names of the messages and enums `file` defines.
fn file_symbols(file: &FileDescriptorProto) -> Vec<String> {
    fn message(prefix: &str, m: &DescriptorProto, out: &mut Vec<String>) {
        let name = join(prefix, m.name());
        for nested in &m.nested_type {
            message(&name, nested, out);
        }
        out.extend(m.enum_type.iter().map(|e| join(&name, e.name())));
        out.push(name);
    }
    let mut out = Vec::new();
    for m in &file.message_type {
        message(file.package(), m, &mut out);
    }
    out.extend(
        file.enum_type
            .iter()
            .map(|e| join(file.package(), e.name())),
    );
    out
}

/// The type names `file` refers to (fields, extensions, methods).
fn file_references(file: &FileDescriptorProto) -> Vec<&str> {
    fn message<'a>(m: &'a DescriptorProto, out: &mut Vec<&'a str>) {
        for f in m.field.iter().chain(&m.extension) {
            out.extend([f.type_name(), f.extendee()]);
        }
        for nested in &m.nested_type {
            message(nested, out);
        }
    }
    let mut out = Vec::new();
    for m in &file.message_type {
        message(m, &mut out);
    }
    for f in &file.extension {
        out.extend([f.type_name(), f.extendee()]);
    }
    for s in &file.service {
        for m in &s.method {
            out.extend([m.input_type(), m.output_type()]);
        }
    }
    out.retain(|n| !n.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::field_descriptor_proto::{Label, Type};
    use prost_types::{
        FieldDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
    };

    fn raw(name: &str, deps: &[&str]) -> (String, RawFile) {
        let file = FileDescriptorProto {
            name: Some(name.to_owned()),
            dependency: deps.iter().map(|d| (*d).to_owned()).collect(),
            ..FileDescriptorProto::default()
        };
        let raw = RawFile {
            dependency: file.dependency.clone(),
            public_dependency: Vec::new(),
            services: vec![format!("{name}.Service")],
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
            raw("unasked.proto", &[]),
        ]);
        let services: Vec<String> = ["b.proto", "c.proto", "d.proto"]
            .iter()
            .map(|f| format!("{f}.Service"))
            .collect();
        let mut base = DescriptorPool::new();
        base.add_file_descriptor_proto(FileDescriptorProto {
            name: Some("base.proto".to_owned()),
            ..FileDescriptorProto::default()
        })
        .unwrap();
        let kept = usable("b", &base, &services, fetched).unwrap();
        let set = FileDescriptorSet::decode(encode_set(&kept).as_slice()).unwrap();
        let names: Vec<_> = set.file.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["a.proto", "d.proto"]);
        let mut pool = base.clone();
        pool.decode_file_descriptor_set(encode_set(&kept).as_slice())
            .unwrap();
    }

    fn message(name: &str, field_type: Option<&str>) -> DescriptorProto {
        DescriptorProto {
            name: Some(name.to_owned()),
            field: field_type
                .map(|t| FieldDescriptorProto {
                    name: Some("at".to_owned()),
                    number: Some(1),
                    label: Some(Label::Optional as i32),
                    r#type: Some(Type::Message as i32),
                    type_name: Some(t.to_owned()),
                    ..FieldDescriptorProto::default()
                })
                .into_iter()
                .collect(),
            ..DescriptorProto::default()
        }
    }

    /// What grpc-js serves: every google.protobuf type in one file of its own name, and a
    /// service file that uses one without importing it.
    #[test]
    fn grpc_js_files_get_the_well_known_types_and_their_imports() {
        let wkt = FileDescriptorProto {
            name: Some("google_protobuf.proto".to_owned()),
            package: Some("google.protobuf".to_owned()),
            syntax: Some("proto3".to_owned()),
            message_type: vec![message("Timestamp", None), message("Empty", None)],
            ..FileDescriptorProto::default()
        };
        let service = FileDescriptorProto {
            name: Some("acme_v1.proto".to_owned()),
            package: Some("acme.v1".to_owned()),
            syntax: Some("proto3".to_owned()),
            message_type: vec![message("Req", Some(".google.protobuf.Timestamp"))],
            service: vec![ServiceDescriptorProto {
                name: Some("Svc".to_owned()),
                method: vec![MethodDescriptorProto {
                    name: Some("Get".to_owned()),
                    input_type: Some(".acme.v1.Req".to_owned()),
                    output_type: Some(".google.protobuf.Empty".to_owned()),
                    ..MethodDescriptorProto::default()
                }],
                ..ServiceDescriptorProto::default()
            }],
            ..FileDescriptorProto::default()
        };
        let fetched = BTreeMap::from([wkt, service].map(|f| {
            let raw = RawFile {
                dependency: Vec::new(),
                public_dependency: Vec::new(),
                services: f
                    .service
                    .iter()
                    .map(|s| join(f.package(), s.name()))
                    .collect(),
                bytes: f.encode_to_vec(),
            };
            (f.name().to_owned(), raw)
        }));
        let base = DescriptorPool::global();
        let kept = usable("b", &base, &["acme.v1.Svc".to_owned()], fetched).unwrap();
        let set = FileDescriptorSet::decode(encode_set(&kept).as_slice()).unwrap();
        assert_eq!(set.file.len(), 1);
        assert_eq!(
            set.file[0].dependency,
            [
                "google/protobuf/empty.proto",
                "google/protobuf/timestamp.proto"
            ]
        );
        let mut pool = base.clone();
        pool.decode_file_descriptor_set(encode_set(&kept).as_slice())
            .unwrap();
        assert!(pool.get_service_by_name("acme.v1.Svc").is_some());
    }

    /// A file descriptor of `name` importing `deps`, publicly those at `public`.
    fn public_raw(name: &str, deps: &[&str], public: &[i32]) -> (String, RawFile) {
        let file = FileDescriptorProto {
            name: Some(name.to_owned()),
            package: Some(name.trim_end_matches(".proto").to_owned()),
            dependency: deps.iter().map(|d| (*d).to_owned()).collect(),
            public_dependency: public.to_vec(),
            message_type: vec![message("M", None)],
            ..FileDescriptorProto::default()
        };
        let raw = RawFile {
            dependency: file.dependency.clone(),
            public_dependency: public
                .iter()
                .map(|&i| file.dependency[i as usize].clone())
                .collect(),
            services: vec![format!("{name}.Service")],
            bytes: file.encode_to_vec(),
        };
        (name.to_owned(), raw)
    }

    /// prost-reflect follows public imports recursively without guarding against cycles:
    /// a file that publicly imports itself, or two that publicly import each other, would
    /// overflow the stack and abort the proxy.
    #[test]
    fn public_import_cycles_do_not_overflow_the_stack() {
        for fetched in [
            BTreeMap::from([public_raw("a.proto", &["a.proto"], &[0])]),
            BTreeMap::from([
                public_raw("a.proto", &["b.proto"], &[0]),
                public_raw("b.proto", &["a.proto"], &[0]),
            ]),
        ] {
            let base = DescriptorPool::new();
            let kept = usable("b", &base, &["a.proto.Service".to_owned()], fetched).unwrap();
            let mut pool = base.clone();
            // Refused or not: it returns.
            let _ = pool.decode_file_descriptor_set(encode_set(&kept).as_slice());
        }
    }

    /// What a public import is for still works: `x` imports `p`, which publicly imports
    /// `q`, and `x` names `q`'s type.
    #[test]
    fn public_imports_still_resolve() {
        let (q, q_raw) = public_raw("q.proto", &[], &[]);
        let (p, p_raw) = public_raw("p.proto", &["q.proto"], &[0]);
        let x = FileDescriptorProto {
            name: Some("x.proto".to_owned()),
            package: Some("x".to_owned()),
            dependency: vec!["p.proto".to_owned()],
            message_type: vec![message("Uses", Some(".q.M"))],
            ..FileDescriptorProto::default()
        };
        let x_raw = RawFile {
            dependency: x.dependency.clone(),
            public_dependency: Vec::new(),
            services: vec!["x.S".to_owned()],
            bytes: x.encode_to_vec(),
        };
        let fetched = BTreeMap::from([(q, q_raw), (p, p_raw), ("x.proto".to_owned(), x_raw)]);
        let base = DescriptorPool::new();
        let kept = usable("b", &base, &["x.S".to_owned()], fetched).unwrap();
        assert_eq!(kept.len(), 3);
        let mut pool = base.clone();
        pool.decode_file_descriptor_set(encode_set(&kept).as_slice())
            .unwrap();
        assert!(pool.get_message_by_name("x.Uses").is_some());
    }

    /// A long chain of imports ending in a missing one is dropped in linear time (the
    /// chain is 50 000 files; one pass per dropped file takes many minutes).
    #[test]
    fn a_long_chain_with_a_missing_import_is_dropped_quickly() {
        const N: usize = 50_000;
        let mut fetched = BTreeMap::new();
        for i in 0..N {
            let dep = format!("f{}.proto", i + 1);
            let (name, raw) = raw(&format!("f{i}.proto"), &[dep.as_str()]);
            fetched.insert(name, raw);
        }
        let started = std::time::Instant::now();
        let kept = usable(
            "b",
            &DescriptorPool::new(),
            &["f0.proto.Service".to_owned()],
            fetched,
        )
        .unwrap();
        assert!(kept.is_empty());
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
}

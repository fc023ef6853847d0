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
mod tests;

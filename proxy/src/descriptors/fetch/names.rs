//! What the full names of a reflected file cost to build (the fetch's name budget).

use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

/// The bytes of the full names `file` makes the proxy build: every service, method,
/// message, field, oneof, extension, enum and enum value has one, and each repeats its
/// package's and its parents' names, so a long package with many short names costs their
/// product, far more than the file's own bytes.
pub(super) fn name_bytes(file: &FileDescriptorProto) -> u64 {
    let package = len(file.package());
    total([
        total(file.service.iter().map(|s| {
            let full = scoped(package, s.name());
            full.saturating_add(names(full, s.method.iter().map(|m| m.name())))
        })),
        total(file.enum_type.iter().map(|e| enumeration(package, e))),
        total(file.message_type.iter().map(|m| message(package, m))),
        names(package, file.extension.iter().map(|f| f.name())),
    ])
}

/// A message in `scope`: its name, its fields', extensions' and oneofs', its enums' and
/// its nested messages'.
fn message(scope: u64, m: &DescriptorProto) -> u64 {
    let full = scoped(scope, m.name());
    let own = m
        .field
        .iter()
        .chain(&m.extension)
        .map(|f| f.name())
        .chain(m.oneof_decl.iter().map(|o| o.name()));
    total([
        full,
        names(full, own),
        total(m.enum_type.iter().map(|e| enumeration(full, e))),
        total(m.nested_type.iter().map(|n| message(full, n))),
    ])
}

/// An enum in `scope`: its name, and its values beside it (protobuf scopes them so).
fn enumeration(scope: u64, e: &EnumDescriptorProto) -> u64 {
    scoped(scope, e.name()).saturating_add(names(scope, e.value.iter().map(|v| v.name())))
}

/// `scope.name` for each name.
fn names<'a>(scope: u64, names: impl Iterator<Item = &'a str>) -> u64 {
    total(names.map(|name| scoped(scope, name)))
}

/// The length of `scope.name`.
fn scoped(scope: u64, name: &str) -> u64 {
    scope.saturating_add(1).saturating_add(len(name))
}

fn len(s: &str) -> u64 {
    u64::try_from(s.len()).unwrap_or(u64::MAX)
}

fn total(parts: impl IntoIterator<Item = u64>) -> u64 {
    parts.into_iter().fold(0, u64::saturating_add)
}

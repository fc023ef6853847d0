//! Indexes of the request: every message, enum and extension by fully-qualified name,
//! and the comments of one file by source path.

use std::collections::HashMap;

use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};

use crate::editions::EditionsIndex;
use crate::error::Error;
use crate::names::{NameScope, lower_camel};

/// What a fully-qualified type name refers to.
#[derive(Debug, Clone)]
pub(crate) enum TypeKind {
    /// A message; map entries carry their key and value fields.
    Message {
        map_entry: Option<Box<(FieldDescriptorProto, FieldDescriptorProto)>>,
    },
    /// An enum; closed enums keep unknown numbers out of their fields.
    Enum { closed: bool },
}

/// One message or enum of the request.
#[derive(Debug, Clone)]
pub(crate) struct TypeEntry {
    /// The .proto file that declares it.
    pub(crate) file: String,
    /// Its exported TS name (`Outer_Inner`, escaped).
    pub(crate) ts_name: String,
    /// The name of its JSON type with `json_types` (`Outer_InnerJson`).
    pub(crate) json_name: String,
    pub(crate) kind: TypeKind,
}

/// The file being indexed, and its types in the order they claim names.
struct FileCtx<'a> {
    file: &'a FileDescriptorProto,
    editions: &'a EditionsIndex,
    proto2: bool,
    /// (nesting depth, fully-qualified name, flattened name, is an enum)
    declared: Vec<(usize, String, String, bool)>,
}

/// Every type of every file in the request, by fully-qualified name with a leading dot.
#[derive(Debug, Default)]
pub(crate) struct TypeIndex {
    types: HashMap<String, TypeEntry>,
    /// Extensions by fully-qualified name with a leading dot: (file, exported TS name).
    extensions: HashMap<String, (String, String)>,
}

/// Whether a file's enums are closed and its strings unchecked (proto2 semantics).
pub(crate) fn is_proto2(file: &FileDescriptorProto) -> bool {
    matches!(file.syntax.as_deref(), None | Some("" | "proto2"))
}

impl TypeIndex {
    /// Indexes all files; `editions` gives the features of editions files' enums.
    pub(crate) fn build(files: &[FileDescriptorProto], editions: &EditionsIndex) -> Self {
        let mut index = TypeIndex::default();
        for file in files {
            let prefix = match file.package() {
                "" => String::new(),
                p => format!(".{p}"),
            };
            let mut ctx = FileCtx {
                file,
                editions,
                proto2: is_proto2(file),
                declared: Vec::new(),
            };
            for e in &file.enum_type {
                index.add_enum(&mut ctx, &prefix, "", 0, e);
            }
            for m in &file.message_type {
                index.add_message(&mut ctx, &prefix, "", 0, m);
            }
            index.add_extensions(&mut ctx, &prefix, "", 0, &file.extension);
            // Shallower declarations first (a stable sort keeps declaration order), so
            // a nested `A.B` never takes the name of a top-level `A_B`.
            ctx.declared.sort_by_key(|d| d.0);
            let mut scope = NameScope::default();
            for (_, fq, local, is_enum) in &ctx.declared {
                let name = scope.claim(local, *is_enum);
                if let Some(entry) = index.types.get_mut(fq) {
                    entry.ts_name = name;
                } else if let Some(entry) = index.extensions.get_mut(fq) {
                    entry.1 = name;
                }
            }
            // JSON types (`json_types`) give way to the types themselves.
            for (_, fq, _, _) in &ctx.declared {
                if let Some(entry) = index.types.get_mut(fq) {
                    entry.json_name = scope.claim(&format!("{}Json", entry.ts_name), false);
                }
            }
        }
        index
    }

    fn add_enum(
        &mut self,
        ctx: &mut FileCtx<'_>,
        prefix: &str,
        ts_prefix: &str,
        depth: usize,
        e: &EnumDescriptorProto,
    ) {
        let fq = format!("{prefix}.{}", e.name());
        // proto2 enums are closed, proto3 ones open; editions say so per enum.
        let closed = match ctx.editions.enum_(&fq[1..]) {
            Some(features) if ctx.editions.is_editions_file(ctx.file.name()) => {
                features.closed_enum
            }
            _ => ctx.proto2,
        };
        let local = format!("{ts_prefix}{}", e.name());
        ctx.declared.push((depth, fq.clone(), local, true));
        self.types.insert(
            fq,
            TypeEntry {
                file: ctx.file.name().to_owned(),
                ts_name: String::new(),
                json_name: String::new(),
                kind: TypeKind::Enum { closed },
            },
        );
    }

    fn add_message(
        &mut self,
        ctx: &mut FileCtx<'_>,
        prefix: &str,
        ts_prefix: &str,
        depth: usize,
        m: &DescriptorProto,
    ) {
        let file = ctx.file.name();
        let fq = format!("{prefix}.{}", m.name());
        let ts_local = format!("{ts_prefix}{}", m.name());
        let map_entry = if m.options.as_ref().and_then(|o| o.map_entry) == Some(true) {
            let key = m.field.iter().find(|f| f.number() == 1).cloned();
            let value = m.field.iter().find(|f| f.number() == 2).cloned();
            key.zip(value).map(Box::new)
        } else {
            None
        };
        // Map entries generate nothing, so they claim no name.
        if map_entry.is_none() {
            ctx.declared
                .push((depth, fq.clone(), ts_local.clone(), false));
        }
        let nested_prefix = format!("{ts_local}_");
        for e in &m.enum_type {
            self.add_enum(ctx, &fq, &nested_prefix, depth + 1, e);
        }
        for n in &m.nested_type {
            self.add_message(ctx, &fq, &nested_prefix, depth + 1, n);
        }
        self.add_extensions(ctx, &fq, &nested_prefix, depth + 1, &m.extension);
        self.types.insert(
            fq,
            TypeEntry {
                file: file.to_owned(),
                ts_name: String::new(),
                json_name: String::new(),
                kind: TypeKind::Message { map_entry },
            },
        );
    }

    /// Extensions declared in a file or a message (`ts_prefix` is the message's flattened
    /// name and `_`): the field name in lowerCamelCase after the prefix (`ext_int32` ->
    /// `extInt32`, `Account_owner`; protobuf-es keeps the .proto name, `ext_int32`).
    fn add_extensions(
        &mut self,
        ctx: &mut FileCtx<'_>,
        prefix: &str,
        ts_prefix: &str,
        depth: usize,
        fields: &[FieldDescriptorProto],
    ) {
        for f in fields {
            let fq = format!("{prefix}.{}", f.name());
            let local = format!("{ts_prefix}{}", lower_camel(f.name()));
            ctx.declared.push((depth, fq.clone(), local, false));
            self.extensions
                .insert(fq, (ctx.file.name().to_owned(), String::new()));
        }
    }

    /// The exported TS name of an extension (`.pkg.ext`).
    pub(crate) fn extension(&self, fq: &str) -> Result<&str, Error> {
        self.extensions
            .get(fq)
            .map(|(_, name)| name.as_str())
            .ok_or_else(|| Error::new(format!("unknown extension {fq}")))
    }

    /// The names a file declares: its types, its enums' reflection consts, its
    /// extensions, and with `json` the types' JSON types.
    pub(crate) fn declared_in<'a>(
        &'a self,
        file: &'a str,
        json: bool,
    ) -> impl Iterator<Item = String> + 'a {
        self.types
            .values()
            .filter(move |t| t.file == file && !t.ts_name.is_empty())
            .flat_map(move |t| {
                let mut names = vec![t.ts_name.clone()];
                if matches!(t.kind, TypeKind::Enum { .. }) {
                    names.push(format!("{}$", t.ts_name));
                }
                if json {
                    names.push(t.json_name.clone());
                }
                names
            })
            .chain(
                self.extensions
                    .values()
                    .filter(move |(f, name)| f == file && !name.is_empty())
                    .map(|(_, name)| name.clone()),
            )
    }

    /// Looks up a type name as it appears in a field or method (`.pkg.Name`).
    pub(crate) fn get(&self, type_name: &str, context: &str) -> Result<&TypeEntry, Error> {
        self.types
            .get(type_name)
            .ok_or_else(|| Error::new(format!("{context}: unknown type {type_name}")))
    }
}

/// The comments of one file, by source path (see `SourceCodeInfo.Location.path`).
#[derive(Debug, Default)]
pub(crate) struct Comments {
    by_path: HashMap<Vec<i32>, String>,
}

impl Comments {
    /// Collects leading comments (trailing ones when there is no leading comment).
    pub(crate) fn of(file: &FileDescriptorProto) -> Self {
        let mut by_path = HashMap::new();
        if let Some(info) = &file.source_code_info {
            for loc in &info.location {
                let text = match (&loc.leading_comments, &loc.trailing_comments) {
                    (Some(l), _) if !l.trim().is_empty() => l.clone(),
                    (_, Some(t)) if !t.trim().is_empty() => t.clone(),
                    _ => continue,
                };
                by_path.entry(loc.path.clone()).or_insert(text);
            }
        }
        Comments { by_path }
    }

    /// The comment at `path`, or "".
    pub(crate) fn get(&self, path: &[i32]) -> &str {
        self.by_path.get(path).map_or("", String::as_str)
    }
}

/// The generated module path (no extension) for a .proto file and a suffix.
pub(crate) fn module_path(proto: &str, suffix: &str) -> String {
    let stem = proto.strip_suffix(".proto").unwrap_or(proto);
    format!("{stem}{suffix}")
}

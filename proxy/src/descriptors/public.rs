//! Public imports made plain: each fetched file imports, directly, every file its imports
//! make visible through `import public`, and has no public import left. What a file can
//! name is unchanged, and prost-reflect, which follows public imports recursively with
//! no guard against cycles (a file that publicly imports itself overflows the stack) and
//! no memo (a ladder of public imports takes exponential time), never follows one.
//!
//! Only the import fields of a file's bytes are rewritten, so its options stay. The work
//! is held to [`MAX_STEPS`] per fetch.

use grpcweb_protocol::varint;
use std::collections::{BTreeMap, BTreeSet};

use super::fetch::RawFile;

/// Most public imports followed in one fetch, all files together.
const MAX_STEPS: usize = 1 << 20;

/// `FileDescriptorProto.dependency`, a string (wire type 2).
const DEPENDENCY_KEY: u8 = (3 << 3) | 2;
/// `FileDescriptorProto.public_dependency`.
const PUBLIC_DEPENDENCY: u64 = 10;

/// Rewrites every file of `fetched` with a public import, or whose imports have one.
/// Files whose name `in_base` owns are the base's: the pool reads the base's copy, and the
/// base's public imports are trusted. A file whose bytes do not parse is left out.
pub(super) fn flatten(
    fetched: &mut BTreeMap<String, RawFile>,
    in_base: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let mut steps = 0;
    let mut rewrites = Vec::new();
    for (name, file) in fetched.iter() {
        if in_base(name) {
            continue;
        }
        let direct: BTreeSet<&str> = file.dependency.iter().map(String::as_str).collect();
        let mut seen = direct.clone();
        let mut added = Vec::new();
        let mut queue: Vec<&str> = direct.iter().copied().collect();
        while let Some(import) = queue.pop() {
            let Some(imported) = fetched.get(import).filter(|_| !in_base(import)) else {
                continue;
            };
            for public in &imported.public_dependency {
                steps += 1;
                if steps > MAX_STEPS {
                    return Err(format!("more than {MAX_STEPS} public imports to follow"));
                }
                if seen.insert(public.as_str()) {
                    added.push(public.clone());
                    queue.push(public.as_str());
                }
            }
        }
        if !added.is_empty() || !file.public_dependency.is_empty() {
            rewrites.push((name.clone(), added));
        }
    }
    for (name, added) in rewrites {
        let Some(file) = fetched.get_mut(&name) else {
            continue;
        };
        match plain_imports(&file.bytes, &added) {
            Some(bytes) => {
                file.bytes = bytes;
                file.dependency.extend(added);
                file.public_dependency.clear();
            }
            None => {
                fetched.remove(&name);
            }
        }
    }
    Ok(())
}

/// `file` (a serialized `FileDescriptorProto`) without its public imports and with the
/// imports `added`; `None` when its top-level fields do not parse.
fn plain_imports(file: &[u8], added: &[String]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(file.len() + added.iter().map(|a| a.len() + 6).sum::<usize>());
    let mut rest = file;
    while !rest.is_empty() {
        let (key, value) = varint::take(rest)?;
        let after = match key & 7 {
            0 => varint::take(value)?.1,
            1 => value.get(8..)?,
            2 => {
                let (len, bytes) = varint::take(value)?;
                bytes.get(usize::try_from(len).ok()?..)?
            }
            5 => value.get(4..)?,
            _ => return None,
        };
        if key >> 3 != PUBLIC_DEPENDENCY {
            out.extend_from_slice(&rest[..rest.len() - after.len()]);
        }
        rest = after;
    }
    for name in added {
        out.push(DEPENDENCY_KEY);
        varint::put(&mut out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use prost_types::FileDescriptorProto;

    #[test]
    fn public_imports_become_plain_and_the_rest_stays() {
        let file = FileDescriptorProto {
            name: Some("p.proto".to_owned()),
            dependency: vec!["q.proto".to_owned(), "r.proto".to_owned()],
            public_dependency: vec![1],
            weak_dependency: vec![0],
            options: Some(prost_types::FileOptions {
                java_package: Some("j".to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let bytes = plain_imports(&file.encode_to_vec(), &["s.proto".to_owned()]).unwrap();
        let got = FileDescriptorProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(got.dependency, ["q.proto", "r.proto", "s.proto"]);
        assert!(got.public_dependency.is_empty());
        assert_eq!(got.weak_dependency, [0]);
        assert_eq!(got.options, file.options);
        assert_eq!(plain_imports(b"\x0a\x05ab", &[]), None);
        assert_eq!(plain_imports(b"\x0b", &[]), None);
    }

    fn raw(dependency: Vec<String>, public: bool) -> RawFile {
        RawFile {
            public_dependency: if public {
                dependency.clone()
            } else {
                Vec::new()
            },
            dependency,
            services: Vec::new(),
            bytes: Vec::new(),
        }
    }

    /// 1100 files that each publicly import the same 1000: the top file that imports
    /// them all would follow 1 100 000 public imports.
    #[test]
    fn following_public_imports_is_held_to_the_budget() {
        let shared: Vec<String> = (0..1000).map(|i| format!("s{i}.proto")).collect();
        let mut fetched: BTreeMap<String, RawFile> = shared
            .iter()
            .map(|name| (name.clone(), raw(Vec::new(), false)))
            .collect();
        let middle: Vec<String> = (0..1100).map(|i| format!("m{i}.proto")).collect();
        for name in &middle {
            fetched.insert(name.clone(), raw(shared.clone(), true));
        }
        fetched.insert("top.proto".to_owned(), raw(middle, false));
        let error = flatten(&mut fetched, |_| false).unwrap_err();
        assert!(error.contains("1048576"), "{error}");
    }
}

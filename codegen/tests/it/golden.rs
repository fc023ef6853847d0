//! Golden tests: generate TypeScript for fixture protos (compiled in-process with protox)
//! and compare with the checked-in files under `tests/golden/<case>[,<options>]/`.
//! `UPDATE_GOLDEN=1 cargo test -p protoc-gen-grpcweb-ts --test it golden` rewrites them
//! (and then fails, so a blessed run is never mistaken for a passing one).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use prost::Message as _;
use prost_types::compiler::code_generator_response::File;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};

/// Case directory name (options after the first comma) -> protos, relative to `protos/`.
const CASES: &[(&str, &[&str])] = &[
    (
        "interop",
        &[
            "grpc/testing/test.proto",
            "grpc/testing/messages.proto",
            "grpc/testing/empty.proto",
        ],
    ),
    // test.proto declares services only: its empty test_pb.ts is kept.
    (
        "interop,keep_empty_files=true",
        &[
            "grpc/testing/test.proto",
            "grpc/testing/messages.proto",
            "grpc/testing/empty.proto",
        ],
    ),
    ("all_types", &["codegen/all_types.proto"]),
    ("all_types,wkt=generate", &["codegen/all_types.proto"]),
    ("all_types,json_types=true", &["codegen/all_types.proto"]),
    ("proto2,json_types=true", &["codegen/proto2.proto"]),
    (
        "all_types,int64=string,import_extension=none",
        &["codegen/all_types.proto"],
    ),
    (
        "all_types,int64=number,import_extension=ts",
        &["codegen/all_types.proto"],
    ),
    ("proto2", &["codegen/proto2.proto"]),
    (
        "names",
        &[
            "codegen/names.proto",
            "codegen/other/types.proto",
            "codegen/clash.proto",
        ],
    ),
    ("flatten", &["codegen/flatten.proto"]),
    ("options,descriptors=embed", &["codegen/options.proto"]),
    ("options", &["codegen/options.proto"]),
    (
        "options,descriptors=embed,target=js+dts",
        &["codegen/options.proto"],
    ),
    ("wrappers,unwrap_wrappers=true", &["codegen/wrappers.proto"]),
    (
        "extensions",
        &["codegen/extensions.proto", "codegen/extensions_other.proto"],
    ),
    (
        "extensions,target=js+dts",
        &["codegen/extensions.proto", "codegen/extensions_other.proto"],
    ),
    (
        "interop,target=js+dts",
        &[
            "grpc/testing/test.proto",
            "grpc/testing/messages.proto",
            "grpc/testing/empty.proto",
        ],
    ),
    ("all_types,target=js+dts", &["codegen/all_types.proto"]),
    (
        "proto2,target=js+dts,json_types=true",
        &["codegen/proto2.proto"],
    ),
    (
        "names,target=js+dts",
        &["codegen/names.proto", "codegen/other/types.proto"],
    ),
    (
        "enum_prefix,enum_prefix=strip",
        &["codegen/enum_prefix.proto"],
    ),
];

/// The well-known types `grpcweb-client/wkt` exports: client-wasm/npm/src/wkt/ holds the
/// plugin's output for them (generated in place, importing the runtime relatively).
const RUNTIME_WKT: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A `FileDescriptorSet` whose files stay encoded (prost-types would drop their custom
/// options, which `descriptors=embed` embeds).
#[derive(Clone, PartialEq, prost::Message)]
struct RawSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

/// The encoded request, as protoc would send it: the files as protox encodes them.
fn request(files: &[&str], parameter: &str) -> Vec<u8> {
    let mut compiler = protox::Compiler::new([root().join("protos")]).expect("protox compiler");
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(files).expect("fixture protos compile");
    let mut bytes = CodeGeneratorRequest {
        file_to_generate: files.iter().map(|f| (*f).to_owned()).collect(),
        parameter: (!parameter.is_empty()).then(|| parameter.to_owned()),
        proto_file: Vec::new(),
        compiler_version: None,
    }
    .encode_to_vec();
    let set = RawSet::decode(compiler.encode_file_descriptor_set().as_slice()).expect("set");
    for file in set.file {
        // CodeGeneratorRequest.proto_file (15), length-delimited.
        bytes.push(15 << 3 | 2);
        prost::encoding::encode_varint(file.len() as u64, &mut bytes);
        bytes.extend_from_slice(&file);
    }
    bytes
}

fn existing_files(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            existing_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "ts" || e == "js") {
            let rel = path.strip_prefix(base).expect("under base");
            let rel = rel.to_string_lossy().replace('\\', "/");
            // Generated files live in a directory of their package; files at the root
            // (client-wasm/npm/src/wkt/index.ts) are written by hand.
            if rel.contains('/') {
                out.insert(rel);
            }
        }
    }
}

#[test]
fn golden_files_match() {
    let mut cases: Vec<Case> = CASES
        .iter()
        .map(|(case, files)| {
            let dir = root().join("codegen/tests/golden").join(case);
            (
                dir,
                vec![(case.split_once(',').map_or("", |(_, o)| o), *files)],
            )
        })
        .collect();
    // runtime_module is a specifier taken as is, so plugin.proto (one folder deeper)
    // has its own request (which writes descriptor.proto again: the first request's wins).
    cases.push((
        root().join("client-wasm/npm/src/wkt"),
        vec![
            (
                "wkt=generate,runtime_module=../../runtime.js,json_types=true",
                RUNTIME_WKT,
            ),
            (
                "wkt=generate,runtime_module=../../../runtime.js,json_types=true",
                &["google/protobuf/compiler/plugin.proto"],
            ),
        ],
    ));
    check(&cases);
}

/// A golden folder and the requests (parameter, files) whose output it holds.
type Case = (PathBuf, Vec<(&'static str, &'static [&'static str])>);

fn check(cases: &[Case]) {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut problems = Vec::new();
    for (dir, requests) in cases {
        let case = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut generated = Vec::new();
        for (parameter, files) in requests {
            let response = CodeGeneratorResponse::decode(
                protoc_gen_grpcweb_ts::run(&request(files, parameter)).as_slice(),
            )
            .expect("response");
            assert_eq!(response.error, None, "case {case}");
            for file in response.file {
                if !generated.iter().any(|g: &File| g.name == file.name) {
                    generated.push(file);
                }
            }
        }
        let mut stale = BTreeSet::new();
        existing_files(dir, dir, &mut stale);
        for file in &generated {
            let name = file.name.clone().expect("file name");
            let content = file.content.clone().expect("file content");
            stale.remove(&name);
            let path = dir.join(&name);
            let expected = fs::read_to_string(&path).unwrap_or_default();
            if expected != content {
                if update {
                    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                    fs::write(&path, &content).expect("write golden");
                }
                problems.push(format!("{case}/{name} differs"));
            }
        }
        for name in stale {
            if update {
                fs::remove_file(dir.join(&name)).expect("remove stale golden");
            }
            problems.push(format!("{case}/{name} is no longer generated"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        if update {
            "goldens rewritten: review the diff and run again"
        } else {
            "run with UPDATE_GOLDEN=1 to rewrite, then review the diff"
        }
    );
}

//! What [`usable`] keeps from hostile and repaired fetches.

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

/// A ladder of public imports (`a{i}` publicly imports `b{i}` and `c{i}`, which both
/// publicly import `a{i+1}`), imported bottom first by one file: prost-reflect walks
/// every path of it, 2^40 of them.
#[test]
fn a_ladder_of_public_imports_is_read_in_linear_time() {
    const LEVELS: usize = 40;
    let mut fetched = BTreeMap::new();
    let mut all = Vec::new();
    for i in (0..LEVELS).rev() {
        let next = format!("a{}.proto", i + 1);
        let rung: &[&str] = if i + 1 < LEVELS {
            &[next.as_str()]
        } else {
            &[]
        };
        let public: &[i32] = if rung.is_empty() { &[] } else { &[0] };
        for side in ["b", "c"] {
            let name = format!("{side}{i}.proto");
            fetched.insert(name.clone(), public_raw(&name, rung, public).1);
            all.push(name);
        }
        let (b, c) = (format!("b{i}.proto"), format!("c{i}.proto"));
        let name = format!("a{i}.proto");
        fetched.insert(name.clone(), public_raw(&name, &[&b, &c], &[0, 1]).1);
        all.push(name);
    }
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let (top, top_raw) = public_raw("top.proto", &all, &[]);
    fetched.insert(top, top_raw);
    let base = DescriptorPool::new();
    let kept = usable("b", &base, &["top.proto.Service".to_owned()], fetched).unwrap();
    assert_eq!(kept.len(), 3 * LEVELS + 1);
    let mut pool = base.clone();
    pool.decode_file_descriptor_set(encode_set(&kept).as_slice())
        .unwrap();
}

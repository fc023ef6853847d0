#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use super::*;
use prost_types::{DescriptorProto, EnumDescriptorProto, ServiceDescriptorProto};

fn answer(files: &[FileDescriptorProto]) -> v1::ServerReflectionResponse {
    v1::ServerReflectionResponse {
        message_response: Some(MessageResponse::FileDescriptorResponse(
            v1::FileDescriptorResponse {
                file_descriptor_proto: files.iter().map(Message::encode_to_vec).collect(),
            },
        )),
        ..Default::default()
    }
}

fn file(name: &str, package: String, services: usize) -> FileDescriptorProto {
    FileDescriptorProto {
        name: Some(name.to_owned()),
        package: Some(package),
        service: (0..services)
            .map(|i| ServiceDescriptorProto {
                name: Some(format!("Svc{i}")),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn full_names_count_their_package_and_parents() {
    use prost_types::{
        EnumValueDescriptorProto, FieldDescriptorProto, MethodDescriptorProto, OneofDescriptorProto,
    };
    let named = |n: &str| Some(n.to_owned());
    let mut f = file("a.proto", "pkg".into(), 2);
    f.service[0].method = vec![MethodDescriptorProto {
        name: named("Go"),
        ..Default::default()
    }];
    f.message_type = vec![DescriptorProto {
        name: named("M"),
        field: vec![FieldDescriptorProto {
            name: named("f"),
            ..Default::default()
        }],
        oneof_decl: vec![OneofDescriptorProto {
            name: named("o"),
            ..Default::default()
        }],
        nested_type: vec![DescriptorProto {
            name: named("N"),
            ..Default::default()
        }],
        enum_type: vec![EnumDescriptorProto {
            name: named("E"),
            value: vec![EnumValueDescriptorProto {
                name: named("V"),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }];
    // pkg.Svc0, pkg.Svc0.Go, pkg.Svc1; pkg.M, pkg.M.f, pkg.M.o, pkg.M.E, pkg.M.V, pkg.M.N
    assert_eq!(name_bytes(&f), 8 + 11 + 8 + 5 + 7 + 7 + 7 + 7 + 7);
}

/// Many one-letter fields under a long package cost as much as many services.
#[test]
fn fields_under_a_long_package_count_too() {
    use prost_types::FieldDescriptorProto;
    let mut f = file("f.proto", "p".repeat(1 << 20), 0);
    f.message_type = vec![DescriptorProto {
        name: Some("M".into()),
        field: (0..100)
            .map(|i| FieldDescriptorProto {
                name: Some(format!("f{i}")),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }];
    assert!(name_bytes(&f) > 100 << 20);
    let mut files = BTreeMap::new();
    let mut left = MAX_NAME_BYTES;
    assert!(take_files(answer(&[f]), &mut files, &mut left).is_err());
}

/// A file sent again (imports come with every answer) is counted once.
#[test]
fn a_file_sent_again_is_counted_once() {
    let mut files = BTreeMap::new();
    let mut left = MAX_NAME_BYTES;
    let f = file("dup.proto", "pkg".into(), 1);
    take_files(answer(std::slice::from_ref(&f)), &mut files, &mut left).unwrap();
    let after_one = left;
    take_files(answer(&[f]), &mut files, &mut left).unwrap();
    assert_eq!(left, after_one);
}

/// A file of a few MiB whose long package is repeated in every service's full name would
/// make the proxy build gigabytes of names: refused, naming the budget.
#[test]
fn files_whose_names_would_blow_up_are_refused() {
    let mut files = BTreeMap::new();
    let mut left = MAX_NAME_BYTES;
    let ok = answer(&[file("small.proto", "pkg".into(), 3)]);
    assert!(matches!(take_files(ok, &mut files, &mut left), Ok(None)));
    assert_eq!(
        files["small.proto"].services,
        ["pkg.Svc0", "pkg.Svc1", "pkg.Svc2"]
    );

    // 1 MiB of package and 100 services: 100 MiB of names from a ~1 MiB file.
    let big = answer(&[file("big.proto", "p".repeat(1 << 20), 100)]);
    let err = take_files(big, &mut files, &mut left).unwrap_err();
    assert!(
        err.to_string()
            .contains("full names would take over 64 MiB"),
        "{err}"
    );
    assert!(!files.contains_key("big.proto"));
}

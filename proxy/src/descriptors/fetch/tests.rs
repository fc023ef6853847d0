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
    let mut f = file("a.proto", "pkg".into(), 2);
    f.message_type = vec![DescriptorProto {
        name: Some("M".into()),
        nested_type: vec![DescriptorProto {
            name: Some("N".into()),
            ..Default::default()
        }],
        enum_type: vec![EnumDescriptorProto {
            name: Some("E".into()),
            ..Default::default()
        }],
        ..Default::default()
    }];
    // pkg.Svc0, pkg.Svc1, pkg.M, pkg.M.N, pkg.M.E
    assert_eq!(name_bytes(&f), 8 + 8 + 5 + 7 + 7);
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
        ["pkg.S0", "pkg.S1", "pkg.S2"]
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

//! Our `protos/grpc/testing` must be wire-compatible with the upstream interop protos.
//!
//! The upstream copies live outside the project (`../shared/ref-protos`, or the directory
//! named by `GRPCWEB_REF_PROTOS`); when they are absent there is nothing to compare with
//! and the check says so and passes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use prost_types::{DescriptorProto, FileDescriptorSet};

const OURS: [&str; 3] = [
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
];

fn messages(fds: &FileDescriptorSet) -> BTreeMap<String, &DescriptorProto> {
    fds.file
        .iter()
        .flat_map(|f| {
            f.message_type
                .iter()
                .map(move |m| (format!("{}.{}", f.package(), m.name()), m))
        })
        .collect()
}

#[test]
fn ours_are_wire_compatible_with_upstream() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let ours = protox::compile(OURS, [manifest.join("../protos")]).unwrap();

    let reference = std::env::var_os("GRPCWEB_REF_PROTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../shared/ref-protos"));
    if !reference.join("src/proto/grpc/testing/test.proto").exists() {
        eprintln!(
            "no reference protos at {}; nothing to compare",
            reference.display()
        );
        return;
    }
    let theirs = protox::compile(["src/proto/grpc/testing/test.proto"], [&reference]).unwrap();

    // Every message and field of ours exists upstream with the same number, type and label.
    let upstream = messages(&theirs);
    let declared = messages(&ours);
    assert_eq!(declared.len(), 11, "{:?}", declared.keys());
    for (name, message) in declared {
        let other = upstream
            .get(&name)
            .unwrap_or_else(|| panic!("{name} not upstream"));
        for field in &message.field {
            let same = other
                .field
                .iter()
                .find(|f| f.number() == field.number())
                .unwrap_or_else(|| panic!("{name}.{} number not upstream", field.name()));
            assert_eq!(same.name(), field.name(), "{name} field {}", field.number());
            assert_eq!(same.r#type(), field.r#type(), "{name}.{}", field.name());
            assert_eq!(same.label(), field.label(), "{name}.{}", field.name());
            assert_eq!(
                same.type_name(),
                field.type_name(),
                "{name}.{}",
                field.name()
            );
        }
    }

    // Enums: same values under the same numbers.
    let enums = |fds: &FileDescriptorSet| -> BTreeMap<String, Vec<(String, i32)>> {
        fds.file
            .iter()
            .flat_map(|f| f.enum_type.iter())
            .map(|e| {
                let values = e.value.iter().map(|v| (v.name().to_owned(), v.number()));
                (e.name().to_owned(), values.collect())
            })
            .collect()
    };
    let upstream_enums = enums(&theirs);
    for (name, values) in enums(&ours) {
        let other = &upstream_enums[&name];
        for value in values {
            assert!(other.contains(&value), "{name}: {value:?} not upstream");
        }
    }

    // Services: same methods, same types, same streaming shape.
    let services = |fds: &FileDescriptorSet| -> BTreeMap<String, Vec<String>> {
        fds.file
            .iter()
            .flat_map(|f| f.service.iter())
            .map(|s| {
                let methods = s.method.iter().map(|m| {
                    format!(
                        "{}({}{}) -> {}{}",
                        m.name(),
                        if m.client_streaming() { "stream " } else { "" },
                        m.input_type(),
                        if m.server_streaming() { "stream " } else { "" },
                        m.output_type()
                    )
                });
                (s.name().to_owned(), methods.collect())
            })
            .collect()
    };
    let upstream_services = services(&theirs);
    let ours = services(&ours);
    assert_eq!(ours.len(), 2);
    for (name, methods) in ours {
        assert_eq!(upstream_services[&name], methods, "service {name}");
    }
}

//! JSON <-> protobuf for grpc.testing.TestService's messages.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use grpcweb_transcode::{Descriptors, JsonOptions, MethodCodec, TranscodeError};

fn descriptors() -> Descriptors {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../protos");
    let set = protox::Compiler::new([root])
        .unwrap()
        .include_imports(true)
        .open_files(["grpc/testing/test.proto"])
        .unwrap()
        .encode_file_descriptor_set();
    let dir = std::env::temp_dir().join(format!("transcode-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("test-{n}.binpb"));
    std::fs::write(&path, set).unwrap();
    Descriptors::load(&[path]).unwrap()
}

fn unary() -> MethodCodec {
    let d = descriptors();
    let m = d
        .method("/grpc.testing.TestService/UnaryCall")
        .unwrap()
        .clone();
    MethodCodec::new(m, JsonOptions::default())
}

#[test]
fn json_round_trips_through_protobuf() {
    let codec = unary();
    let proto = codec
        .request_to_proto(
            br#"{"responseSize": 3, "payload": {"body": "AAEC"}, "fillUsername": true}"#,
        )
        .unwrap();
    assert!(!proto.is_empty());
    // The request's bytes read back as a response would be another type; read the same
    // bytes as the input type by building a request codec of the reverse direction.
    let d = descriptors();
    let input = d
        .pool()
        .get_message_by_name("grpc.testing.SimpleRequest")
        .unwrap();
    let message = prost_reflect::DynamicMessage::decode(input, proto.as_slice()).unwrap();
    let json = JsonOptions::default().to_json(&message).unwrap();
    assert_eq!(
        String::from_utf8(json).unwrap(),
        r#"{"responseSize":3,"payload":{"body":"AAEC"},"fillUsername":true}"#
    );
}

#[test]
fn proto_field_names_are_read_too() {
    assert!(unary().request_to_proto(br#"{"response_size": 3}"#).is_ok());
}

#[test]
fn errors_name_the_field() {
    let codec = unary();
    let err = codec
        .request_to_proto(br#"{"payload": {"body": 5}}"#)
        .unwrap_err();
    let TranscodeError::BadJson { field, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(field, "payload.body");
    assert!(err.to_string().contains("payload.body"), "{err}");
    let err = codec.request_to_proto(br#"{"nope": 1}"#).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let err = codec
        .request_to_proto(br#"{"responseSize": 1"#)
        .unwrap_err();
    assert!(matches!(err, TranscodeError::BadJson { .. }), "{err:?}");
    let err = codec.request_to_proto(br#"{} x"#).unwrap_err();
    assert!(matches!(err, TranscodeError::BadJson { .. }), "{err:?}");
    let ignoring = MethodCodec::new(
        codec.method().clone(),
        JsonOptions {
            ignore_unknown_fields: true,
            ..JsonOptions::default()
        },
    );
    assert!(ignoring.request_to_proto(br#"{"nope": 1}"#).is_ok());
}

#[test]
fn deeply_nested_json_is_refused_without_a_crash() {
    let codec = unary();
    let deep = "[".repeat(100_000);
    assert!(codec.request_to_proto(deep.as_bytes()).is_err());
    let deep = format!("{}1{}", r#"{"payload":"#.repeat(10_000), "}".repeat(10_000));
    assert!(codec.request_to_proto(deep.as_bytes()).is_err());
}

#[test]
fn a_response_that_does_not_decode_is_an_internal_error() {
    let err = unary().response_to_json(&[0xff, 0xff]).unwrap_err();
    assert_eq!(err.code(), grpcweb_protocol::Code::Internal);
}

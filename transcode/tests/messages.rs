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

/// `google.protobuf.Any` nested in itself `levels` deep, the innermost holding an empty
/// `wrap.v1.Empty`.
fn nested_any(levels: usize) -> Vec<u8> {
    use prost::Message as _;
    let mut bytes = prost_types::Any {
        type_url: "type.googleapis.com/wrap.v1.Empty".to_owned(),
        value: Vec::new(),
    }
    .encode_to_vec();
    for _ in 1..levels {
        bytes = prost_types::Any {
            type_url: "type.googleapis.com/google.protobuf.Any".to_owned(),
            value: bytes,
        }
        .encode_to_vec();
    }
    bytes
}

/// `nested_any(levels)` with an unknown empty group (field 3) added to the outer `Any`:
/// decoding keeps it, so the depth check must read past it.
fn nested_any_with_a_group(levels: usize) -> Vec<u8> {
    let mut bytes = nested_any(levels);
    bytes.extend_from_slice(&[0x1b, 0x1c]); // field 3 start group, end group
    bytes
}

/// A `wrap.v1.Holder { Any any = 1; }` whose `any` field comes twice: a short `Any` that
/// names the `Any` type, then one with only the deep chain as its value. Decoding merges
/// them into one `Any` of that type holding the chain.
fn merged_holder(levels: usize) -> Vec<u8> {
    use prost::Message as _;
    let first = prost_types::Any {
        type_url: "type.googleapis.com/google.protobuf.Any".to_owned(),
        value: Vec::new(),
    }
    .encode_to_vec();
    let second = prost_types::Any {
        type_url: String::new(),
        value: nested_any(levels),
    }
    .encode_to_vec();
    let mut out = Vec::new();
    for part in [first, second] {
        out.push(0x0a); // field 1, length-delimited
        prost::encoding::encode_varint(part.len() as u64, &mut out);
        out.extend_from_slice(&part);
    }
    out
}

/// A method that answers a `google.protobuf.Any`.
fn any_codec() -> MethodCodec {
    any_codec_of("/wrap.v1.Wrap/Get")
}

/// A method of wrap.proto: `Get` answers an `Any`, `Hold` a `Holder` of one.
fn any_codec_of(path: &str) -> MethodCodec {
    let dir = std::env::temp_dir().join(format!("transcode-any-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("wrap.proto"),
        "syntax = \"proto3\";\npackage wrap.v1;\nimport \"google/protobuf/any.proto\";\n\
         message Empty {}\nmessage Holder { google.protobuf.Any any = 1; }\n\
         service Wrap {\n  rpc Get(Empty) returns (google.protobuf.Any);\n\
           rpc Hold(Empty) returns (Holder);\n}\n",
    )
    .unwrap();
    let set = protox::Compiler::new([dir.as_path()])
        .unwrap()
        .include_imports(true)
        .open_files(["wrap.proto"])
        .unwrap()
        .encode_file_descriptor_set();
    let file = dir.join("wrap.binpb");
    std::fs::write(&file, set).unwrap();
    let d = Descriptors::load(&[file]).unwrap();
    let m = d.method(path).unwrap().clone();
    MethodCodec::new(m, JsonOptions::default())
}

/// An `Any` holds a whole message, which JSON writes out; one holding an `Any` holding
/// an `Any`... (45 bytes a level) is refused as INTERNAL at the nesting limit, never a
/// stack overflow.
#[test]
fn anys_nested_past_the_limit_are_an_internal_error() {
    let codec = any_codec();
    let json = codec.response_to_json(&nested_any(5)).unwrap();
    assert!(
        String::from_utf8(json)
            .unwrap()
            .contains("google.protobuf.Any")
    );
    for levels in [150, 2_000] {
        let Err(err) = codec.response_to_json(&nested_any(levels)) else {
            panic!("{levels} levels of Any written as JSON");
        };
        assert_eq!(err.code(), grpcweb_protocol::Code::Internal, "{levels}");
        assert!(err.to_string().contains("nest deeper"), "{levels}: {err}");
    }
    // Read as decoding reads them: an unknown group does not end the check, and the
    // occurrences of a singular field merge.
    assert!(codec.response_to_json(&nested_any_with_a_group(5)).is_ok());
    let Err(err) = codec.response_to_json(&nested_any_with_a_group(150)) else {
        panic!("150 levels of Any behind a group written as JSON");
    };
    assert!(err.to_string().contains("nest deeper"), "{err}");
    let holder = any_codec_of("/wrap.v1.Wrap/Hold");
    assert!(holder.response_to_json(&merged_holder(5)).is_ok());
    let Err(err) = holder.response_to_json(&merged_holder(150)) else {
        panic!("150 levels of Any in a merged field written as JSON");
    };
    assert!(err.to_string().contains("nest deeper"), "{err}");
}

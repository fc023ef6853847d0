//! gRPC-Web and native gRPC calls with JSON messages (`application/grpc-web+json`,
//! `application/grpc-web-text+json`, `application/grpc+json`) through the proxy to the
//! tonic interop server, which speaks protobuf only: the proxy transcodes with the
//! descriptor set given by `--descriptor-set` (built here from protos/ with protox).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_proxy::Config;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Mode, Reply, WebClient};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

const UNARY: &str = "/grpc.testing.TestService/UnaryCall";
const STREAMING: &str = "/grpc.testing.TestService/StreamingOutputCall";

/// grpc.testing's descriptor set, written to a file of its own.
pub(crate) fn descriptor_set(root_files: &[&str]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../protos");
    let set = protox::Compiler::new([root])
        .unwrap()
        .include_imports(true)
        .open_files(root_files)
        .unwrap()
        .encode_file_descriptor_set();
    let dir = std::env::temp_dir().join(format!("grpcweb-json-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("set-{}.binpb", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, set).unwrap();
    path
}

fn with_descriptors(config: &mut Config) {
    config.descriptor_sets = vec![descriptor_set(&["grpc/testing/test.proto"])];
}

fn json_ct(mode: Mode) -> &'static str {
    match mode {
        Mode::Binary => "application/grpc-web+json",
        Mode::Text => "application/grpc-web-text+json",
    }
}

fn json(bytes: &Bytes) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}: {bytes:?}"))
}

#[tokio::test]
async fn unary_json_calls_are_transcoded_both_ways() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let client = WebClient::new(version);
        for mode in [Mode::Binary, Mode::Text] {
            let res = client
                .call(proxy.addr, UNARY)
                .mode(mode)
                .content_type(json_ct(mode))
                .message(
                    r#"{"responseSize": 4, "fillUsername": false, "payload": {"body": "AAEC"}}"#,
                )
                .send()
                .await
                .unwrap();
            let label = format!("{version:?} {mode:?}");
            assert_eq!(res.status, 200, "{label}");
            assert_eq!(
                res.grpc_status(),
                Some(Code::Ok),
                "{label}: {:?}",
                res.status()
            );
            assert_eq!(res.content_type(), Some(json_ct(mode)), "{label}");
            let messages = res.message_payloads();
            assert_eq!(messages.len(), 1, "{label}");
            // Four zero bytes, base64 in JSON (bytes fields are base64 in proto3 JSON).
            assert_eq!(
                json(&messages[0]),
                serde_json::json!({"payload": {"body": "AAAAAA=="}}),
                "{label}"
            );
        }
    }
}

#[tokio::test]
async fn server_streaming_json_calls_get_a_json_message_per_response() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    for mode in [Mode::Binary, Mode::Text] {
        let res = WebClient::new(HttpVersion::H1)
            .call(proxy.addr, STREAMING)
            .mode(mode)
            .content_type(json_ct(mode))
            .message(r#"{"responseParameters": [{"size": 1}, {"size": 2}, {"size": 3}]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
        let bodies: Vec<_> = res
            .message_payloads()
            .iter()
            .map(|m| json(m)["payload"]["body"].clone())
            .collect();
        assert_eq!(bodies, ["AA==", "AAA=", "AAAA"], "{mode:?}");
    }
}

#[tokio::test]
async fn native_grpc_json_calls_are_transcoded_too() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, UNARY)
        .content_type("application/grpc+json")
        .header("te", "trailers")
        .message(r#"{"responseSize": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.content_type(), Some("application/grpc+json"));
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    assert_eq!(
        json(&res.message_payloads()[0]),
        serde_json::json!({"payload": {"body": "AAA="}})
    );
}

#[tokio::test]
async fn backend_statuses_reach_json_clients() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, UNARY)
        .content_type("application/grpc-web+json")
        .message(r#"{"responseStatus": {"code": 5, "message": "no such thing"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::NotFound));
    assert_eq!(res.grpc_message().as_deref(), Some("no such thing"));
}

#[tokio::test]
async fn a_method_missing_from_the_descriptors_is_unimplemented() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"")]))
        .await
        .unwrap();
    // Descriptors, but not of this service.
    let proxy = support::proxy(&backend.url(), |c| {
        c.descriptor_sets = vec![descriptor_set(&["examples/demo.proto"])];
    })
    .await;
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, UNARY)
        .content_type("application/grpc-web+json")
        .message("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented));
    let message = res.grpc_message().unwrap();
    assert!(
        message.contains("no descriptor for method /grpc.testing.TestService/UnaryCall"),
        "{message}"
    );
    assert!(message.contains("--descriptor-set"), "{message}");
    assert!(backend.requests().is_empty());
    // Protobuf calls need no descriptors.
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, UNARY)
        .message("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
}

#[tokio::test]
async fn malformed_json_is_invalid_argument_naming_the_field_and_never_forwarded() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"")]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    let cases = [
        (r#"{"payload": {"body": 5}}"#, "payload.body"),
        (r#"{"responseSize": "many"}"#, "responseSize"),
        (r#"{"noSuchField": 1}"#, "noSuchField"),
        (r#"{"responseSize": 1"#, "invalid JSON request"),
        ("not json", "invalid JSON request"),
    ];
    for mode in [Mode::Binary, Mode::Text] {
        for (body, named) in cases {
            let res = WebClient::new(HttpVersion::H1)
                .call(proxy.addr, UNARY)
                .mode(mode)
                .content_type(json_ct(mode))
                .message(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.grpc_status(), Some(Code::InvalidArgument), "{body}");
            let message = res.grpc_message().unwrap();
            assert!(message.contains(named), "{body}: {message}");
        }
    }
    assert!(backend.requests().is_empty(), "nothing reached the backend");
}

#[tokio::test]
async fn the_message_size_limit_holds_json_requests_as_sent() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"")]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        with_descriptors(c);
        c.limits.max_message_size = 64;
    })
    .await;
    // 10 bytes of protobuf, 70 of JSON: over the limit as sent.
    let body = format!(
        r#"{{"payload": {{"body": "AAAAAAAA"}}, "responseSize": 1{}}}"#,
        " ".repeat(20)
    );
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, UNARY)
        .content_type("application/grpc-web+json")
        .message(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::ResourceExhausted));
    assert!(backend.requests().is_empty());
}

#[tokio::test]
async fn a_backend_message_that_does_not_decode_is_internal() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"\xff\xff\xff")]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, UNARY)
        .content_type("application/grpc-web+json")
        .message("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Internal));
    let message = res.grpc_message().unwrap();
    assert!(message.contains("grpc.testing.SimpleResponse"), "{message}");
    // The backend got protobuf.
    let req = &backend.requests()[0];
    assert_eq!(req.header("content-type"), Some("application/grpc+proto"));
    assert_eq!(req.messages().unwrap(), [Bytes::new()]);
}

#[tokio::test]
async fn descriptor_sets_are_checked_at_start_naming_key_and_file() {
    let mut config = Config::with_backend("http://127.0.0.1:1");
    config.descriptor_sets = vec![PathBuf::from("no/such/set.binpb")];
    let err = config.validate().unwrap_err();
    assert_eq!(err.key(), "descriptor_sets[0]");
    assert!(err.to_string().contains("no/such/set.binpb"), "{err}");
    let junk = std::env::temp_dir().join(format!("grpcweb-junk-{}.binpb", std::process::id()));
    std::fs::write(&junk, b"\xff\xff not a descriptor set").unwrap();
    let mut config = Config::with_backend("http://127.0.0.1:1");
    config.backends[0].descriptor_sets = vec![junk.clone()];
    let err = config.validate().unwrap_err();
    assert_eq!(err.key(), "backends[0].descriptor_sets[0]");
    assert!(err.to_string().contains("FileDescriptorSet"), "{err}");
    let _ = std::fs::remove_file(junk);
}

#[test]
fn check_config_names_the_descriptor_set_at_fault() {
    let bin = env!("CARGO_BIN_EXE_grpcweb-proxy");
    let good = descriptor_set(&["grpc/testing/test.proto"]);
    let out = std::process::Command::new(bin)
        .args(["--check-config", "--backend", "http://127.0.0.1:1"])
        .arg("--descriptor-set")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = std::process::Command::new(bin)
        .args(["--check-config", "--backend", "http://127.0.0.1:1"])
        .arg("--descriptor-set")
        .arg(&good)
        .args(["--descriptor-set", "missing.binpb"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("descriptor_sets[1]"), "{stderr}");
    assert!(stderr.contains("missing.binpb"), "{stderr}");
}

#[tokio::test]
async fn a_malformed_later_message_of_a_client_stream_ends_the_call_invalid_argument() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, "/grpc.testing.TestService/StreamingInputCall")
        .content_type("application/grpc+json")
        .header("te", "trailers")
        .message(r#"{"payload": {"body": "AAAA"}}"#)
        .message(r#"{"payload": {"body": 7}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.grpc_status(),
        Some(Code::InvalidArgument),
        "{:?}",
        res.status()
    );
    assert!(res.grpc_message().unwrap().contains("payload.body"));
    // Both well-formed: the backend counts the bytes.
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, "/grpc.testing.TestService/StreamingInputCall")
        .content_type("application/grpc+json")
        .header("te", "trailers")
        .message(r#"{"payload": {"body": "AAAA"}}"#)
        .message(r#"{"payload": {"body": "AA=="}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    assert_eq!(
        json(&res.message_payloads()[0]),
        serde_json::json!({"aggregatedPayloadSize": 4})
    );
}

#[test]
fn the_config_file_takes_descriptor_sets_at_the_top_and_per_backend() {
    let config = Config::from_toml(
        r#"
descriptor_sets = ["all.binpb"]

[[backends]]
name = "a"
endpoints = ["http://127.0.0.1:1"]
descriptor_sets = ["a.binpb", "b.binpb"]
"#,
    )
    .unwrap();
    assert_eq!(config.descriptor_sets, [PathBuf::from("all.binpb")]);
    assert_eq!(
        config.backends[0].descriptor_sets,
        [PathBuf::from("a.binpb"), PathBuf::from("b.binpb")]
    );
    let good = descriptor_set(&["grpc/testing/test.proto"]);
    let mut config = config;
    config.descriptor_sets = vec![good];
    let err = config.validate().unwrap_err();
    assert_eq!(err.key(), "backends[0].descriptor_sets[0]");
    assert!(err.to_string().contains("a.binpb"), "{err}");
}

#[tokio::test]
async fn json_calls_ask_the_backend_for_uncompressed_messages() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, UNARY)
        .content_type("application/grpc+json")
        .header("te", "trailers")
        .header("grpc-accept-encoding", "gzip")
        .message("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    let req = &backend.requests()[0];
    assert_eq!(req.header("grpc-accept-encoding"), Some("identity"));
    // Compressed JSON messages: json_compression.rs.
}

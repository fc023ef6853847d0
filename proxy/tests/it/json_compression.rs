//! Compressed JSON request messages (frame flag 1): the proxy reads gzip, as named by
//! `grpc-encoding` (the connectrpc conformance suite's gRPC-Web client sends them), and
//! sends the backend uncompressed protobuf; anything else it cannot read is refused
//! before the backend.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::json_calls::descriptor_set;
use crate::support;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use grpcweb_proxy::Config;
use grpcweb_test_support::{Code, FakeBackend, FrameKind, HttpVersion, Mode, Reply, WebClient};
use std::io::Write as _;

const UNARY: &str = "/grpc.testing.TestService/UnaryCall";

fn with_descriptors(config: &mut Config) {
    config.descriptor_sets = vec![descriptor_set(&["grpc/testing/test.proto"])];
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn gzipped_json_messages_are_read_and_sent_on_uncompressed() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    for mode in [Mode::Binary, Mode::Text] {
        let ct = match mode {
            Mode::Binary => "application/grpc-web+json",
            Mode::Text => "application/grpc-web-text+json",
        };
        let res = WebClient::new(HttpVersion::H1)
            .call(proxy.addr, UNARY)
            .mode(mode)
            .content_type(ct)
            .header("grpc-encoding", "gzip")
            .frame(FrameKind::CompressedData, gzip(br#"{"responseSize": 3}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.grpc_status(),
            Some(Code::Ok),
            "{mode:?}: {:?}",
            res.status()
        );
        let body: serde_json::Value = serde_json::from_slice(&res.message_payloads()[0]).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"payload": {"body": "AAAA"}}),
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn the_backend_gets_the_gzipped_json_as_plain_protobuf() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), with_descriptors).await;
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, UNARY)
        .content_type("application/grpc-web+json")
        .header("grpc-encoding", "gzip")
        .frame(FrameKind::CompressedData, gzip(br#"{"responseSize": 2}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    let req = &backend.requests()[0];
    assert_eq!(req.header("grpc-encoding"), None);
    // responseSize (field 2, varint) = 2, in a frame with flag 0.
    assert_eq!(req.messages().unwrap(), [Bytes::from_static(&[0x10, 0x02])]);
}

#[tokio::test]
async fn compressed_json_the_proxy_cannot_read_never_reaches_the_backend() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |config| {
        with_descriptors(config);
        config.limits.max_message_size = 1024;
    })
    .await;
    struct Case {
        label: &'static str,
        encoding: Option<&'static str>,
        payload: Vec<u8>,
        code: Code,
        says: &'static str,
    }
    let cases = [
        // gRPC: a compressed message with no grpc-encoding is a protocol error.
        Case {
            label: "no encoding",
            encoding: None,
            payload: gzip(b"{}"),
            code: Code::Internal,
            says: "grpc-encoding",
        },
        Case {
            label: "an encoding the proxy does not read",
            encoding: Some("snappy"),
            payload: b"{}".to_vec(),
            code: Code::Unimplemented,
            says: "snappy",
        },
        Case {
            label: "not gzip",
            encoding: Some("gzip"),
            payload: b"{}".to_vec(),
            code: Code::Internal,
            says: "gzip",
        },
        Case {
            label: "over max_message_size once decompressed",
            encoding: Some("gzip"),
            payload: gzip(&vec![b' '; 64 * 1024]),
            code: Code::ResourceExhausted,
            says: "1024",
        },
    ];
    for case in cases {
        let mut call = WebClient::new(HttpVersion::H1)
            .call(proxy.addr, UNARY)
            .content_type("application/grpc-web+json");
        if let Some(encoding) = case.encoding {
            call = call.header("grpc-encoding", encoding);
        }
        let res = call
            .frame(FrameKind::CompressedData, case.payload)
            .send()
            .await
            .unwrap();
        let label = case.label;
        assert_eq!(
            res.grpc_status(),
            Some(case.code),
            "{label}: {:?}",
            res.status()
        );
        let message = res.grpc_message().unwrap_or_default();
        assert!(message.contains(case.says), "{label}: {message:?}");
    }
    assert_eq!(backend.requests().len(), 0);
}

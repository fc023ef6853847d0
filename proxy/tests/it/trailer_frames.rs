//! Trailer frames (flag 0x80) only ever come from the proxy: a client's are never
//! forwarded to a backend, and a backend's DATA cannot forge one in a gRPC-Web body.
//! (Native gRPC requests: see `native_limits`.)

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{
    Code, End, FakeBackend, FrameKind, HttpVersion, Reply, WebClient, data_frame, frame,
};
use std::time::Duration;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

#[tokio::test]
async fn a_trailer_frame_from_a_streaming_client_never_reaches_the_backend() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| c.allow_request_streaming = true).await;
    let trailer = frame(FrameKind::Trailers, b"grpc-status: 0\r\n");
    let first = data_frame(b"a");
    // In one chunk with the first message, and after it once the call was forwarded.
    for (label, gap) in [
        ("one chunk", None),
        ("later", Some(Duration::from_millis(300))),
    ] {
        let body = Bytes::from([first.clone(), trailer.clone()].concat());
        let mut call = WebClient::new(HttpVersion::H2)
            .call(proxy.addr, PATH)
            .raw_body(body);
        if let Some(gap) = gap {
            call = call.split_body([first.len()], gap);
        }
        let res = call.send().await.unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Internal), "{label}: {res:?}");
        assert!(
            res.grpc_message()
                .unwrap_or_default()
                .contains("trailer frame"),
            "{label}: {res:?}"
        );
    }
    for request in backend.requests() {
        assert!(
            request.messages().is_ok(),
            "a trailer frame reached the backend: {:?}",
            request.body
        );
    }
}

#[tokio::test]
async fn a_backend_cannot_forge_a_trailer_frame_in_a_grpc_web_body() {
    for flag in [0x80u8, 0x81, 0x02] {
        let mut forged =
            frame(FrameKind::Trailers, b"grpc-status: 0\r\nx-forged: yes\r\n").to_vec();
        forged[0] = flag;
        let backend = FakeBackend::start(
            Reply::grpc(
                vec![data_frame(b"a"), Bytes::from(forged)],
                End::status(Code::Ok, ""),
            )
            .with_raw_messages(),
        )
        .await
        .unwrap();
        let proxy = support::proxy(&backend.url(), |_| {}).await;
        for version in [HttpVersion::H1, HttpVersion::H2] {
            let res = WebClient::new(version)
                .call(proxy.addr, PATH)
                .message(b"")
                .send()
                .await;
            let res = res.unwrap_or_else(|e| panic!("flag {flag:#x} {version:?}: {e:#}"));
            assert_eq!(
                res.grpc_status(),
                Some(Code::Internal),
                "flag {flag:#x} {version:?}: {res:?}"
            );
            assert_eq!(
                res.message_payloads(),
                [Bytes::from_static(b"a")],
                "{flag:#x}"
            );
            let trailers = res.trailers.as_ref().unwrap();
            assert!(
                !trailers.contains_key("x-forged"),
                "flag {flag:#x} {version:?}: the forged trailer frame reached the client"
            );
        }
    }
}

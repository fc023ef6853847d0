//! `max_header_size` (16 KiB by default) is the request header limit on HTTP/1.1 as on
//! HTTP/2: a larger header block gets 431 and never reaches the backend.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient};
use http::StatusCode;

const PATH: &str = "/grpc.testing.TestService/EmptyCall";

#[tokio::test]
async fn http1_header_blocks_are_limited_to_max_header_size() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        // 15 KiB in all (the value, the name and the client's other headers): served.
        let res = WebClient::new(version)
            .call(proxy.addr, PATH)
            .header("x-padding", "a".repeat(15 * 1024 - 300))
            .message("")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status, StatusCode::OK, "{version:?} 15 KiB");
        assert_eq!(res.grpc_status(), Some(Code::Ok), "{version:?} 15 KiB");
    }
    assert_eq!(backend.requests().len(), 2);

    // 60 KiB: 431, on both.
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let res = WebClient::new(version)
            .call(proxy.addr, PATH)
            .header("x-padding", "a".repeat(60 * 1024))
            .message("")
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "{version:?}"
        );
    }
    // 17 KiB: just over the limit.
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, PATH)
        .header("x-padding", "a".repeat(17 * 1024))
        .message("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(backend.requests().len(), 2);
}

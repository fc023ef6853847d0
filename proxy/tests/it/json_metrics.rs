//! Metrics of JSON and REST calls: a mode of their own in `grpcweb_calls_total`, and REST
//! calls counted under the gRPC method their binding maps to, not their HTTP path.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::rest_calls::{echo_server, send, with_echo_descriptors};
use crate::support::{self, scrape};

use bytes::Bytes;
use grpcweb_interop::transcoding_pb::{EchoRequest, EchoResponse};
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Mode, Reply, WebClient};
use http::Method;
use prost::Message as _;
use std::net::SocketAddr;

const PLAIN: &str = "/grpcweb.transcoding.v1.EchoService/Plain";

#[tokio::test]
async fn json_and_rest_calls_count_in_modes_of_their_own_under_their_method() {
    let backend = echo_server().await;
    let proxy = support::proxy(&backend.url(), |c| {
        with_echo_descriptors(c);
        c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let admin = proxy.admin.unwrap();

    for (version, mode, content_type) in [
        (HttpVersion::H1, Mode::Binary, "application/grpc-web+json"),
        (
            HttpVersion::H1,
            Mode::Text,
            "application/grpc-web-text+json",
        ),
        (HttpVersion::H2, Mode::Binary, "application/grpc-web+json"),
    ] {
        let res = WebClient::new(version)
            .call(proxy.addr, PLAIN)
            .mode(mode)
            .content_type(content_type)
            .message(r#"{"label": "x"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok), "{content_type}");
    }
    for path in ["/v1/shelves/7", "/v1/shelves/8"] {
        let res = send(&proxy, Method::GET, path, "").await;
        assert_eq!(res.status, 200, "{path}: {:?}", res.raw_body);
    }
    let res = send(&proxy, Method::GET, "/v1/fail/5", "").await;
    assert_eq!(res.status, 404);
    let res = send(&proxy, Method::GET, "/v2/nothing", "").await;
    assert_eq!(res.status, 404);

    let text = scrape(admin).await;
    let service = "grpcweb.transcoding.v1.EchoService";
    for line in [
        format!(
            r#"grpcweb_calls_total{{service="{service}",method="Plain",code="OK",mode="grpc-web+json"}} 2"#
        ),
        format!(
            r#"grpcweb_calls_total{{service="{service}",method="Plain",code="OK",mode="grpc-web-text+json"}} 1"#
        ),
        format!(
            r#"grpcweb_calls_total{{service="{service}",method="GetShelf",code="OK",mode="rest"}} 2"#
        ),
        format!(
            r#"grpcweb_calls_total{{service="{service}",method="Fail",code="NOT_FOUND",mode="rest"}} 1"#
        ),
        // No binding takes it: not a REST call of any method.
        r#"grpcweb_calls_total{service="other",method="other",code="NOT_FOUND",mode="other"} 1"#
            .to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(!text.contains("/v1/"), "no HTTP path as a label:\n{text}");
}

#[tokio::test]
async fn native_grpc_json_calls_count_as_grpc_json() {
    let backend = echo_server().await;
    let proxy = support::proxy(&backend.url(), |c| {
        with_echo_descriptors(c);
        c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let admin = proxy.admin.unwrap();
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, PLAIN)
        .content_type("application/grpc+json")
        .header("te", "trailers")
        .message(r#"{"label": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));
    let text = scrape(admin).await;
    let line = r#"grpcweb_calls_total{service="grpcweb.transcoding.v1.EchoService",method="Plain",code="OK",mode="grpc+json"} 1"#;
    assert!(
        text.lines().any(|l| l == line),
        "missing {line:?} in:\n{text}"
    );
}

/// A server-streaming REST call counts under its gRPC method in mode `rest`, with the
/// status its stream ended with, even as the first call of its method: a stream that
/// ends well, one with no message, and one that fails after its first message.
#[tokio::test]
async fn server_streaming_rest_calls_count_under_their_method() {
    let backend = echo_server().await;
    let proxy = support::proxy(&backend.url(), |c| {
        with_echo_descriptors(c);
        c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    for path in ["/v1/shelves?nested.count=3", "/v1/shelves"] {
        let res = send(&proxy, Method::GET, path, "").await;
        assert_eq!(res.status, 200, "{path}: {:?}", res.raw_body);
    }
    let text = scrape(proxy.admin.unwrap()).await;
    let line = r#"grpcweb_calls_total{service="grpcweb.transcoding.v1.EchoService",method="ListShelves",code="OK",mode="rest"} 2"#;
    assert!(
        text.lines().any(|l| l == line),
        "missing {line:?} in:\n{text}"
    );
    assert!(
        !text.contains(r#"grpcweb_calls_total{service="other""#),
        "{text}"
    );

    // The backend fails the stream after its first message: counted with that status.
    let message = EchoResponse {
        request: Some(EchoRequest::default()),
        ..EchoResponse::default()
    };
    let backend = FakeBackend::start(Reply::error_after(
        vec![Bytes::from(message.encode_to_vec())],
        Code::Aborted,
        "stopped",
    ))
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        with_echo_descriptors(c);
        c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let res = send(&proxy, Method::GET, "/v1/shelves", "").await;
    assert_eq!(res.status, 200);
    let text = scrape(proxy.admin.unwrap()).await;
    let line = r#"grpcweb_calls_total{service="grpcweb.transcoding.v1.EchoService",method="ListShelves",code="ABORTED",mode="rest"} 1"#;
    assert!(
        text.lines().any(|l| l == line),
        "missing {line:?} in:\n{text}"
    );
}

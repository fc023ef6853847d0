//! Only gRPC method paths reach a backend (`/<dotted identifier>/<identifier>`, no
//! query): everything else is answered UNIMPLEMENTED by the proxy, for gRPC-Web and
//! native gRPC, whatever the routes say.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_proxy::{RouteConfig, RouteMatch};
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient};
use http::StatusCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BAD_PATHS: [&str; 16] = [
    "/admin",
    "/",
    "/a/b/c",
    "/acme.Svc/Method/extra",
    "/acme.Svc/../admin",
    "/acme.Svc/..",
    "/../acme.Svc/Method",
    "//acme.Svc/Method",
    "/acme.Svc//Method",
    "/acme.Svc%2FMethod/x",
    "/acme.Svc/Method%2F",
    "/acme.Svc/Method?x=1",
    "/acme.Svc/Method?",
    "/acme..Svc/Method",
    "/acme.Svc/1Method",
    "/acme-x.Svc/Method",
];

/// The proxy in front of one backend, with each kind of route: none (everything goes to
/// the one backend), a package route, and `all = true`.
fn route_kinds() -> [(&'static str, Vec<RouteConfig>); 3] {
    let route = |matches| RouteConfig {
        matches,
        backend: "default".into(),
        max_duration: None,
        allow_request_streaming: None,
    };
    [
        ("no routes", vec![]),
        ("package", vec![route(RouteMatch::Package("acme".into()))]),
        ("all", vec![route(RouteMatch::All)]),
    ]
}

#[tokio::test]
async fn only_grpc_method_paths_reach_the_backend() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"ok")]))
        .await
        .unwrap();
    for (kind, routes) in route_kinds() {
        let proxy = support::proxy(&backend.url(), |c| c.routes = routes).await;
        for version in [HttpVersion::H1, HttpVersion::H2] {
            let client = WebClient::new(version);
            for content_type in ["application/grpc-web+proto", "application/grpc"] {
                if version == HttpVersion::H1 && content_type == "application/grpc" {
                    // hyper's client does not read HTTP/1.1 trailers: checked below on
                    // the headers alone.
                    continue;
                }
                for path in BAD_PATHS {
                    let res = client
                        .call(proxy.addr, path)
                        .content_type(content_type)
                        .message(b"m")
                        .send()
                        .await
                        .unwrap();
                    let what = format!("{kind} {version:?} {content_type} {path}");
                    assert_eq!(res.status, StatusCode::OK, "{what}");
                    assert_eq!(res.grpc_status(), Some(Code::Unimplemented), "{what}");
                    let message = res.grpc_message().unwrap_or_default();
                    assert!(
                        message.contains("not a gRPC method path"),
                        "{what}: {message}"
                    );
                }
            }
        }
        // The real thing still goes through.
        let res = WebClient::new(HttpVersion::H2)
            .call(proxy.addr, "/acme.v1.Svc/Method_2")
            .message(b"m")
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok), "{kind}");
    }
    let forwarded: Vec<String> = backend
        .requests()
        .iter()
        .map(|r| r.uri.path_and_query().unwrap().to_string())
        .collect();
    assert_eq!(forwarded, ["/acme.v1.Svc/Method_2"; 3]);
}

/// Targets only a raw HTTP/1.1 request line can carry (a space, an absolute URL with
/// another path, a bare `*`) are refused too. (A `#fragment` never gets this far: the
/// `http` crate drops it from the target.)
#[tokio::test]
async fn raw_request_targets_are_refused() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"ok")]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    for target in [
        "/acme.Svc/Me thod",
        "/acme.Svc/Method%20x",
        "http://127.0.0.1/admin",
        "http://127.0.0.1/acme.Svc/Method/x",
        "*",
    ] {
        let mut conn = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        let head = format!(
            "POST {target} HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc\r\n\
             content-length: 6\r\nconnection: close\r\n\r\n\0\0\0\0\x01m"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(
            answer.starts_with("http/1.1 400") || answer.contains("grpc-status: 12"),
            "{target}: {answer}"
        );
    }
    assert!(backend.requests().is_empty(), "{:?}", backend.requests());
}

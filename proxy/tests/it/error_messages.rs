//! What the client reads in `grpc-message` when a backend fails says what went wrong, never
//! the backend's address, an OS error or the backend's error page (issue 11, item 10).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Mode, Reason, Reply, WebClient};

use std::net::SocketAddr;
use std::time::Duration;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

/// Words that give away internals: addresses, socket and resolver errors, HTML.
const LEAKS: [&str; 10] = [
    "127.0.0.1",
    "http://",
    "os error",
    "refused",
    "dns",
    "lookup",
    "<",
    "secret",
    "h2 protocol",
    "broken pipe",
];

/// Every client flavour: gRPC-Web over both HTTP versions and both modes, native gRPC.
async fn statuses(proxy: SocketAddr) -> Vec<(String, Option<Code>, String)> {
    let mut out = Vec::new();
    for version in [HttpVersion::H1, HttpVersion::H2] {
        for mode in [Mode::Binary, Mode::Text] {
            let res = WebClient::new(version)
                .call(proxy, PATH)
                .mode(mode)
                .message(b"x")
                .send()
                .await
                .unwrap();
            out.push((
                format!("{version:?} {mode:?}"),
                res.grpc_status(),
                res.grpc_message().unwrap_or_default(),
            ));
        }
    }
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy, PATH)
        .content_type("application/grpc")
        .message(b"x")
        .send()
        .await
        .unwrap();
    out.push((
        "native".to_owned(),
        res.grpc_status(),
        res.grpc_message().unwrap_or_default(),
    ));
    out
}

fn assert_clean(label: &str, message: &str, also: &[&str]) {
    let lower = message.to_lowercase();
    for leak in LEAKS.iter().chain(also) {
        assert!(
            !lower.contains(&leak.to_lowercase()),
            "{label}: {message:?} gives away {leak:?}"
        );
    }
}

#[tokio::test]
async fn backend_down_says_unavailable_without_address_or_os_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    drop(listener);
    let proxy = support::proxy(&format!("http://127.0.0.1:{port}"), |_| {}).await;
    for (label, code, message) in statuses(proxy.addr).await {
        assert_eq!(code, Some(Code::Unavailable), "{label}");
        assert!(
            message.contains("backend unavailable"),
            "{label}: {message:?}"
        );
        assert_clean(&label, &message, &[&port]);
    }
}

#[tokio::test]
async fn unresolvable_backend_host_is_not_named() {
    let proxy = support::proxy("http://backend-secret-host.invalid:47321", |c| {
        c.backends[0].connect_timeout = Duration::from_secs(2);
    })
    .await;
    for (label, code, message) in statuses(proxy.addr).await {
        assert_eq!(code, Some(Code::Unavailable), "{label}");
        assert_clean(
            &label,
            &message,
            &["backend-secret-host", "47321", "invalid"],
        );
    }
}

#[tokio::test]
async fn html_error_page_is_not_quoted() {
    let page = "<html><body>secret stack trace at db.internal:5432</body></html>";
    let backend = FakeBackend::start(Reply::http(500, "text/html", page))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    let port = backend.addr.port().to_string();
    for (label, code, message) in statuses(proxy.addr).await {
        assert_eq!(code, Some(Code::Unknown), "{label}");
        assert!(message.contains("HTTP 500"), "{label}: {message:?}");
        assert_clean(&label, &message, &["db.internal", "stack", &port]);
    }
    // Nor is the page passed on to a native gRPC client: it gets a trailers-only status.
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, PATH)
        .content_type("application/grpc")
        .message(b"x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert!(res.raw_body.is_empty(), "{:?}", res.raw_body);
    assert_eq!(res.header("content-type"), Some("application/grpc"));
}

#[tokio::test]
async fn reset_before_the_response_does_not_name_the_backend() {
    // A backend that resets every stream before its response headers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((tcp, _)) = listener.accept().await {
            connections.spawn(async move {
                let Ok(mut conn) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((_, mut respond))) = conn.accept().await {
                    respond.send_reset(Reason::INTERNAL_ERROR);
                }
            });
        }
    });
    let proxy = support::proxy(&format!("http://{addr}"), |_| {}).await;
    for (label, code, message) in statuses(proxy.addr).await {
        assert_eq!(code, Some(Code::Internal), "{label}");
        assert!(message.contains("INTERNAL_ERROR"), "{label}: {message:?}");
        assert_clean(&label, &message, &[&addr.port().to_string()]);
    }
    backend.abort();
}

#[tokio::test]
async fn backend_connection_lost_mid_stream_is_not_detailed() {
    let backend = FakeBackend::start(Reply::forever("tick", Duration::from_millis(20)))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    let port = backend.addr.port().to_string();
    let mut stream = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, PATH)
        .message(b"x")
        .send_streaming()
        .await
        .unwrap();
    assert!(stream.next_message().await.unwrap().is_some());
    drop(backend);
    let res = stream.finish().await.unwrap();
    assert_eq!(
        res.grpc_status(),
        Some(Code::Unavailable),
        "{:?}",
        res.status()
    );
    let message = res.grpc_message().unwrap();
    assert!(
        message.contains("connection to the backend lost"),
        "{message:?}"
    );
    assert_clean("mid-stream", &message, &[&port, "error"]);
}

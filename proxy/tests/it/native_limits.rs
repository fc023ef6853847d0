//! Native gRPC calls through the proxy are held to the same per-call limits as gRPC-Web
//! ones: the deadline cap (`max_timeout`, a route's `max_duration`), `body_read_timeout`
//! for each message, `max_message_size`, and no trailer frames in a request. Driven by a
//! raw h2 client whose request body never ends, so that only the proxy can end the call.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_proxy::{Config, RouteConfig, RouteMatch};
use grpcweb_test_support::{
    Cancellation, Code, FakeBackend, FrameKind, Reply, data_frame, frame, within,
};
use h2::client::{ResponseFuture, SendRequest};
use h2::{Reason, SendStream};
use http::{Method, Request};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

/// An h2 connection to the proxy, driven by a task that ends with the test.
async fn connect(addr: SocketAddr) -> SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// Starts a native gRPC call with these extra headers and sends `first` without ending
/// the body. Keep the returned stream: the body stays open as long as the test wants.
async fn open_call(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    first: Bytes,
) -> (SendStream<Bytes>, ResponseFuture) {
    let send = connect(addr).await;
    let mut send = send.ready().await.unwrap();
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{addr}{PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (response, mut body) = send.send_request(request.body(()).unwrap(), false).unwrap();
    body.send_data(first, false).unwrap();
    (body, response)
}

/// The call's status: from trailers-only headers, or from the trailers after the body.
async fn status(response: ResponseFuture) -> (Code, String) {
    let res = response.await.unwrap();
    let (parts, mut body) = res.into_parts();
    let trailers = match parts.headers.contains_key("grpc-status") {
        true => parts.headers,
        false => {
            while let Some(data) = body.data().await {
                let data = data.unwrap();
                let _ = body.flow_control().release_capacity(data.len());
            }
            body.trailers().await.unwrap().expect("trailers")
        }
    };
    let code = trailers
        .get("grpc-status")
        .and_then(|v| Code::parse(v.as_bytes()))
        .expect("grpc-status");
    let message = trailers
        .get("grpc-message")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    (code, message)
}

async fn start(tweak: impl FnOnce(&mut Config)) -> (FakeBackend, support::Running) {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"ok")]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), tweak).await;
    (backend, proxy)
}

/// The backend's record of the call being cancelled.
async fn cancelled(backend: &FakeBackend) -> Cancellation {
    within(Duration::from_secs(10), backend.cancelled())
        .await
        .expect("the backend stream was never cancelled")
}

#[tokio::test]
async fn max_timeout_ends_a_native_call_whose_body_never_ends() {
    let (backend, proxy) = start(|c| c.limits.max_timeout = Some(Duration::from_millis(300))).await;
    // With no grpc-timeout, and with a longer one: both capped.
    for headers in [&[][..], &[("grpc-timeout", "100S")][..]] {
        let (_body, response) = open_call(proxy.addr, headers, data_frame(b"x")).await;
        let (code, _) = within(Duration::from_secs(10), status(response))
            .await
            .expect("the call outlived max_timeout");
        assert_eq!(code, Code::DeadlineExceeded, "{headers:?}");
    }
    let cancellation = cancelled(&backend).await;
    assert_eq!(cancellation.path, PATH);
    assert!(backend.requests().is_empty());
}

#[tokio::test]
async fn a_routes_max_duration_ends_a_native_call() {
    let (backend, proxy) = start(|c| {
        let name = c.backends[0].name.clone();
        c.routes = vec![RouteConfig {
            matches: RouteMatch::Package("grpc.testing".into()),
            backend: name,
            max_duration: Some(Duration::from_millis(300)),
            allow_request_streaming: None,
        }];
    })
    .await;
    let (_body, response) = open_call(proxy.addr, &[], data_frame(b"x")).await;
    let (code, _) = within(Duration::from_secs(10), status(response))
        .await
        .expect("the call outlived its route's max_duration");
    assert_eq!(code, Code::DeadlineExceeded);
    cancelled(&backend).await;
}

#[tokio::test]
async fn a_native_message_sent_halfway_ends_at_the_body_read_timeout() {
    let (backend, proxy) = start(|c| c.limits.body_read_timeout = Duration::from_millis(300)).await;
    // A whole message, then the first 3 bytes of a 10-byte one, then nothing.
    let mut first = data_frame(b"whole").to_vec();
    first.extend_from_slice(&data_frame(b"0123456789")[..8]);
    let (_body, response) = open_call(proxy.addr, &[], Bytes::from(first)).await;
    let (code, message) = within(Duration::from_secs(10), status(response))
        .await
        .expect("a half-sent message held the call open");
    assert_eq!(code, Code::DeadlineExceeded, "{message}");
    assert!(message.contains("request message"), "{message}");
    cancelled(&backend).await;
}

#[tokio::test]
async fn max_message_size_applies_to_native_request_frames() {
    let (backend, proxy) = start(|c| c.limits.max_message_size = 1024).await;
    let mut first = data_frame(b"small").to_vec();
    // A frame that announces 2 KiB: refused from its header.
    first.extend_from_slice(&[0, 0, 0, 0x08, 0x00]);
    first.extend_from_slice(&[7; 100]);
    let (_body, response) = open_call(proxy.addr, &[], Bytes::from(first)).await;
    let (code, message) = within(Duration::from_secs(10), status(response))
        .await
        .expect("an oversized native message held the call open");
    assert_eq!(code, Code::ResourceExhausted, "{message}");
    assert!(message.contains("2048"), "{message}");
    let cancellation = cancelled(&backend).await;
    assert_ne!(cancellation.reason, Some(Reason::NO_ERROR));
}

#[tokio::test]
async fn a_trailer_frame_in_a_native_request_is_refused_not_forwarded() {
    let (backend, proxy) = start(|_| {}).await;
    let body = [
        data_frame(b"x"),
        frame(FrameKind::Trailers, b"grpc-status: 0\r\n"),
    ]
    .concat();
    let (mut send, response) = open_call(proxy.addr, &[], Bytes::from(body)).await;
    // The body ends: forwarded as it is, the backend would answer OK.
    send.send_data(Bytes::new(), true).unwrap();
    let (code, message) = within(Duration::from_secs(10), status(response))
        .await
        .unwrap();
    assert_eq!(code, Code::Internal, "{message}");
    assert!(message.contains("0x80"), "{message}");
    for request in backend.requests() {
        assert!(
            request.messages().is_ok(),
            "a trailer frame reached the backend: {:?}",
            request.body
        );
    }
}

#[tokio::test]
async fn max_timeout_ends_a_native_stream_in_its_trailers() {
    let backend = FakeBackend::start(Reply::forever(
        Bytes::from_static(b"tick"),
        Duration::from_millis(20),
    ))
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.limits.max_timeout = Some(Duration::from_millis(300));
    })
    .await;
    let (mut send, response) =
        open_call(proxy.addr, &[("grpc-timeout", "1H")], data_frame(b"x")).await;
    send.send_data(Bytes::new(), true).unwrap();
    let res = within(Duration::from_secs(10), response)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !res.headers().contains_key("grpc-status"),
        "not trailers-only"
    );
    let mut body = res.into_body();
    let trailers = within(Duration::from_secs(10), async {
        while let Some(data) = body.data().await {
            let data = data.unwrap();
            let _ = body.flow_control().release_capacity(data.len());
        }
        body.trailers().await.unwrap().expect("trailers")
    })
    .await
    .expect("the stream outlived max_timeout");
    assert_eq!(trailers.get("grpc-status").unwrap(), "4", "{trailers:?}");
    cancelled(&backend).await;
    // The backend was told the capped deadline.
    let timeout = backend.requests()[0]
        .header("grpc-timeout")
        .map(str::to_owned);
    assert_eq!(timeout.as_deref(), Some("300000u"));
}

#[tokio::test]
async fn a_trailers_only_answer_stays_trailers_only() {
    let backend = FakeBackend::start(Reply::trailers_only(Code::NotFound, "no such thing"))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.limits.max_timeout = Some(Duration::from_secs(10));
    })
    .await;
    let (mut send, response) = open_call(proxy.addr, &[], data_frame(b"x")).await;
    send.send_data(Bytes::new(), true).unwrap();
    let res = within(Duration::from_secs(10), response)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.headers().get("grpc-status").unwrap(), "5");
    // END_STREAM on the headers: gRPC clients read a status from headers only then.
    assert!(res.body().is_end_stream(), "headers without END_STREAM");
}

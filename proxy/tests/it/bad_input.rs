//! Every malformed request gets a clear status from the proxy and never reaches the
//! backend (docs/protocol.md R4, R5, F1-F3, D1).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{
    Code, FakeBackend, FrameKind, HttpVersion, Mode, Reply, WebClient, data_frame, frame,
};
use http::{Method, StatusCode};
use std::time::Duration;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

struct Expect {
    http: StatusCode,
    code: Code,
    message_contains: &'static str,
}

async fn check(
    name: &str,
    build: impl Fn(&WebClient, std::net::SocketAddr) -> grpcweb_test_support::CallBuilder,
    expect: Expect,
) {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"unexpected")]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |c| c.limits.max_message_size = 1024).await;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let client = WebClient::new(version);
        let res = build(&client, proxy.addr)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} {version:?}: {e:#}"));
        assert_eq!(res.status, expect.http, "{name} {version:?}: HTTP status");
        assert_eq!(
            res.grpc_status(),
            Some(expect.code),
            "{name} {version:?}: {:?}",
            res.status()
        );
        let message = res.grpc_message().unwrap_or_default();
        assert!(
            message.contains(expect.message_contains),
            "{name} {version:?}: message {message:?} should mention {:?}",
            expect.message_contains
        );
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        backend.requests().is_empty(),
        "{name}: a malformed request reached the backend"
    );
    assert_eq!(
        backend.connections(),
        0,
        "{name}: the proxy should not even connect"
    );
}

fn bad_request(message_contains: &'static str) -> Expect {
    Expect {
        http: StatusCode::BAD_REQUEST,
        code: Code::Internal,
        message_contains,
    }
}

#[tokio::test]
async fn invalid_base64_character() {
    check(
        "bad base64",
        |c, a| {
            c.call(a, PATH)
                .mode(Mode::Text)
                .raw_body(Bytes::from_static(b"AAAA*AAA"))
        },
        bad_request("invalid base64"),
    )
    .await;
}

#[tokio::test]
async fn unpadded_text_body() {
    // One empty message is AAAAAAA= padded; without the '=' the body ends mid-group.
    check(
        "unpadded",
        |c, a| {
            c.call(a, PATH)
                .mode(Mode::Text)
                .raw_body(Bytes::from_static(b"AAAAAAA"))
        },
        bad_request("padded base64"),
    )
    .await;
}

#[tokio::test]
async fn misplaced_padding() {
    check(
        "padding",
        |c, a| {
            c.call(a, PATH)
                .mode(Mode::Text)
                .raw_body(Bytes::from_static(b"A==="))
        },
        bad_request("padding"),
    )
    .await;
}

#[tokio::test]
async fn unknown_flag_byte() {
    check(
        "unknown flag",
        |c, a| {
            c.call(a, PATH)
                .raw_body(Bytes::from_static(&[0x02, 0, 0, 0, 1, 7]))
        },
        bad_request("flag 0x02"),
    )
    .await;
}

#[tokio::test]
async fn truncated_frame() {
    check(
        "truncated payload",
        |c, a| {
            c.call(a, PATH)
                .raw_body(Bytes::from_static(&[0, 0, 0, 0, 10, 1, 2, 3]))
        },
        bad_request("ended inside a frame"),
    )
    .await;
    check(
        "truncated header",
        |c, a| c.call(a, PATH).raw_body(Bytes::from_static(&[0, 0, 0])),
        bad_request("frame header"),
    )
    .await;
}

#[tokio::test]
async fn oversized_frame_is_refused_from_its_header() {
    // The header claims 4 GiB; the proxy must refuse it without waiting for (or
    // allocating) the payload.
    check(
        "oversized",
        |c, a| {
            c.call(a, PATH)
                .raw_body(Bytes::from_static(&[0, 0xff, 0xff, 0xff, 0xff]))
        },
        Expect {
            http: StatusCode::OK,
            code: Code::ResourceExhausted,
            message_contains: "larger than the limit of 1024",
        },
    )
    .await;
    check(
        "oversized text",
        |c, a| c.call(a, PATH).mode(Mode::Text).message(vec![0u8; 2000]),
        Expect {
            http: StatusCode::OK,
            code: Code::ResourceExhausted,
            message_contains: "2000 bytes",
        },
    )
    .await;
}

#[tokio::test]
async fn message_at_the_limit_passes() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"ok")]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |c| c.limits.max_message_size = 1024).await;
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, PATH)
        .message(vec![7u8; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));
    assert_eq!(backend.requests()[0].messages().unwrap()[0].len(), 1024);
}

#[tokio::test]
async fn wrong_content_type() {
    check(
        "json",
        |c, a| {
            c.call(a, PATH)
                .content_type("application/json")
                .raw_body(Bytes::from_static(b"{}"))
        },
        Expect {
            http: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: Code::Internal,
            message_contains: "application/json",
        },
    )
    .await;
    check(
        "none",
        |c, a| c.call(a, PATH).content_type("").raw_body(data_frame(b"")),
        Expect {
            http: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: Code::Internal,
            message_contains: "content-type",
        },
    )
    .await;
}

#[tokio::test]
async fn wrong_method() {
    check(
        "GET",
        |c, a| c.call(a, PATH).method(Method::GET),
        Expect {
            http: StatusCode::METHOD_NOT_ALLOWED,
            code: Code::Unimplemented,
            message_contains: "GET",
        },
    )
    .await;
    check(
        "PUT",
        |c, a| c.call(a, PATH).method(Method::PUT).message(b"x"),
        Expect {
            http: StatusCode::METHOD_NOT_ALLOWED,
            code: Code::Unimplemented,
            message_contains: "POST",
        },
    )
    .await;
}

#[tokio::test]
async fn malformed_grpc_timeout() {
    for bad in ["1.5S", "123456789m", "10x", "S"] {
        check(
            bad,
            |c, a| c.call(a, PATH).header("grpc-timeout", bad).message(b"x"),
            bad_request("grpc-timeout"),
        )
        .await;
    }
}

#[tokio::test]
async fn trailer_frame_in_a_request_is_malformed() {
    check(
        "request trailers",
        |c, a| {
            let body = [data_frame(b"a"), frame(FrameKind::Trailers, b"x:y\r\n")].concat();
            c.call(a, PATH).raw_body(Bytes::from(body))
        },
        bad_request("trailer frame"),
    )
    .await;
}

#[tokio::test]
async fn a_call_carries_exactly_one_message() {
    let unimplemented = |n: &'static str| Expect {
        http: StatusCode::OK,
        code: Code::Unimplemented,
        message_contains: n,
    };
    check(
        "no message",
        |c, a| c.call(a, PATH).raw_body(Bytes::new()),
        unimplemented("sent 0"),
    )
    .await;
    check(
        "two messages",
        |c, a| {
            c.call(a, PATH)
                .raw_body(Bytes::from([data_frame(b"a"), data_frame(b"b")].concat()))
        },
        unimplemented("sent 2"),
    )
    .await;
    check(
        "two messages, text",
        |c, a| c.call(a, PATH).mode(Mode::Text).message(b"a").message(b"b"),
        unimplemented("sent 2"),
    )
    .await;
}

#[tokio::test]
async fn request_streaming_when_allowed_passes_every_message_over_http2() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| c.allow_request_streaming = true).await;
    let body = Bytes::from([data_frame(b"a"), data_frame(b"b"), data_frame(b"c")].concat());
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, PATH)
        .raw_body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));
    let got = backend.requests()[0].messages().unwrap();
    assert_eq!(
        got,
        [
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b"),
            Bytes::from_static(b"c")
        ]
    );
}

#[tokio::test]
async fn client_that_stops_sending_gets_408_not_a_hang() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.limits.body_read_timeout = Duration::from_millis(300)
    })
    .await;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let start = std::time::Instant::now();
        // Half a frame, and the body stays open.
        let res = WebClient::new(version)
            .call(proxy.addr, PATH)
            .raw_body(Bytes::from_static(&[0, 0, 0, 0, 9, 1, 2]))
            .keep_body_open()
            .send()
            .await
            .unwrap();
        assert_eq!(res.status, StatusCode::REQUEST_TIMEOUT, "{version:?}");
        assert_eq!(
            res.grpc_status(),
            Some(Code::DeadlineExceeded),
            "{version:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(3));
    }
    assert!(backend.requests().is_empty());
}

#[tokio::test]
async fn oversized_later_message_in_a_streamed_request_is_resource_exhausted() {
    let backend = FakeBackend::start(Reply::hang()).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.allow_request_streaming = true;
        c.limits.max_message_size = 1024;
    })
    .await;
    // The first message is forwarded at once; the second claims more than the limit.
    let first = data_frame(b"fine");
    let body = Bytes::from([&first[..], &[0, 0, 0, 0x10, 0]].concat());
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, PATH)
        .raw_body(body)
        .split_body([first.len()], Duration::from_millis(200))
        .keep_body_open()
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.grpc_status(),
        Some(Code::ResourceExhausted),
        "{:?}",
        res.status()
    );
    assert!(
        res.grpc_message().unwrap().contains("4096 bytes"),
        "{:?}",
        res.grpc_message()
    );
    let cancel = grpcweb_test_support::within(Duration::from_secs(5), backend.cancelled())
        .await
        .unwrap();
    assert_eq!(cancel.path, PATH, "the backend stream is reset");
}

//! Request streaming (client-streaming and bidi calls over gRPC-Web): forwarded message
//! by message, in binary and text, over HTTP/2 and HTTP/1.1 chunked bodies; enabled
//! globally or per route; every request message held to the call's limits (its size,
//! the call's deadline, the time to arrive whole, the idle time between messages).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_interop::pb;
use grpcweb_proxy::{Config, RouteConfig, RouteMatch};
use grpcweb_test_support::{
    Code, FakeBackend, HttpVersion, Mode, Reply, WebClient, data_frame, within,
};
use prost::Message as _;
use std::time::{Duration, Instant};

const FULL_DUPLEX: &str = "/grpc.testing.TestService/FullDuplexCall";
const STREAMING_INPUT: &str = "/grpc.testing.TestService/StreamingInputCall";
const VERSIONS: [HttpVersion; 2] = [HttpVersion::H1, HttpVersion::H2];
const MODES: [Mode; 2] = [Mode::Binary, Mode::Text];

/// A FullDuplexCall request asking for one response of `size` bytes.
fn ping(size: i32) -> pb::StreamingOutputCallRequest {
    pb::StreamingOutputCallRequest {
        response_parameters: vec![pb::ResponseParameters {
            size,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn response_size(message: &Bytes) -> usize {
    let res = pb::StreamingOutputCallResponse::decode(message.clone()).unwrap();
    res.payload.map_or(0, |p| p.body.len())
}

/// Sends a message, reads its answer, then sends the next: each answer comes before the
/// next message is written, so the backend got every message on its own, as it was sent.
async fn ping_pong(proxy: std::net::SocketAddr, version: HttpVersion, mode: Mode) {
    let label = format!("{version:?} {mode:?}");
    let (call, mut writer) = WebClient::new(version)
        .call(proxy, FULL_DUPLEX)
        .mode(mode)
        .body_writer();
    writer.message_proto(&ping(1)).unwrap();
    let mut stream = call.send_streaming().await.unwrap();
    assert_eq!(stream.status, 200, "{label}");
    for size in 1..=4 {
        let message = stream.next_message().await.unwrap();
        let message = message.unwrap_or_else(|| panic!("{label}: no answer to ping {size}"));
        assert_eq!(response_size(&message), size as usize, "{label}");
        if size < 4 {
            writer.message_proto(&ping(size + 1)).unwrap();
        }
    }
    writer.finish();
    let res = stream.finish().await.unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{label}: {res:?}");
    assert_eq!(res.messages.len(), 4, "{label}");
}

#[tokio::test]
async fn full_duplex_ping_pong_over_http2_and_http1_chunked_in_binary_and_text() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| c.allow_request_streaming = true).await;
    for version in VERSIONS {
        for mode in MODES {
            within(
                Duration::from_secs(20),
                ping_pong(proxy.addr, version, mode),
            )
            .await
            .unwrap();
        }
    }
}

#[tokio::test]
async fn client_streaming_sums_every_message_sent_over_time() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| c.allow_request_streaming = true).await;
    for version in VERSIONS {
        for mode in MODES {
            let (call, mut writer) = WebClient::new(version)
                .call(proxy.addr, STREAMING_INPUT)
                .mode(mode)
                .body_writer();
            let sizes = [3usize, 0, 70_000, 11];
            let request = |n: usize| pb::StreamingInputCallRequest {
                payload: Some(pb::Payload {
                    r#type: 0,
                    body: vec![7; n],
                }),
                ..Default::default()
            };
            writer.message_proto(&request(sizes[0])).unwrap();
            let sender = tokio::spawn(async move {
                for n in &sizes[1..] {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    writer.message_proto(&request(*n)).unwrap();
                }
                writer.finish();
            });
            let res = call.send().await.unwrap();
            sender.await.unwrap();
            assert_eq!(res.grpc_status(), Some(Code::Ok), "{version:?} {mode:?}");
            let got: Vec<pb::StreamingInputCallResponse> = res.decode_messages().unwrap();
            assert_eq!(
                got[0].aggregated_payload_size, 70_014,
                "{version:?} {mode:?}"
            );
        }
    }
}

fn route(service: &str, allow: Option<bool>) -> RouteConfig {
    RouteConfig {
        matches: RouteMatch::Service(service.to_owned()),
        backend: "default".to_owned(),
        max_duration: None,
        allow_request_streaming: allow,
    }
}

/// Two messages in one body, on `path`: OK when the route streams, UNIMPLEMENTED when not.
async fn two_messages(proxy: std::net::SocketAddr, path: &str) -> Option<Code> {
    let body = Bytes::from([data_frame(b""), data_frame(b"")].concat());
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy, path)
        .raw_body(body)
        .send()
        .await
        .unwrap();
    res.grpc_status()
}

#[tokio::test]
async fn a_route_turns_request_streaming_on_or_off_over_the_global_setting() {
    let backend = support::interop_server(false).await;
    let tweak = |global: bool| {
        move |c: &mut Config| {
            c.allow_request_streaming = global;
            c.routes = vec![
                route("grpc.testing.TestService", Some(!global)),
                route("grpc.testing.UnimplementedService", None),
            ];
        }
    };
    // Off globally, on for TestService.
    let proxy = support::proxy(&backend.url(), tweak(false)).await;
    ping_pong(proxy.addr, HttpVersion::H2, Mode::Binary).await;
    assert_eq!(
        two_messages(proxy.addr, STREAMING_INPUT).await,
        Some(Code::Ok)
    );
    // The other route keeps the global setting.
    assert_eq!(
        two_messages(
            proxy.addr,
            "/grpc.testing.UnimplementedService/UnimplementedCall"
        )
        .await,
        Some(Code::Unimplemented)
    );
    // On globally, off for TestService.
    let proxy = support::proxy(&backend.url(), tweak(true)).await;
    let body = Bytes::from([data_frame(b""), data_frame(b"")].concat());
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, STREAMING_INPUT)
        .raw_body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented), "{res:?}");
    assert!(
        res.grpc_message()
            .unwrap()
            .contains("exactly one request message"),
        "{res:?}"
    );
    // The backend's own answer (its UnimplementedService), not the proxy's refusal.
    let res = WebClient::new(HttpVersion::H2)
        .call(
            proxy.addr,
            "/grpc.testing.UnimplementedService/UnimplementedCall",
        )
        .raw_body(Bytes::from([data_frame(b""), data_frame(b"")].concat()))
        .send()
        .await
        .unwrap();
    // UNIMPLEMENTED without a message, as tonic answers it; the proxy's refusal has one.
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented), "{res:?}");
    assert_eq!(res.grpc_message(), None, "{res:?}");
}

#[tokio::test]
async fn a_client_silent_after_a_message_is_ended_by_the_request_idle_timeout() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.allow_request_streaming = true;
        c.limits.request_idle_timeout = Duration::from_millis(300);
    })
    .await;
    for version in VERSIONS {
        for mode in MODES {
            let label = format!("{version:?} {mode:?}");
            let (call, writer) = WebClient::new(version)
                .call(proxy.addr, FULL_DUPLEX)
                .mode(mode)
                .body_writer();
            let start = Instant::now();
            writer.message(b"one").unwrap();
            // And then nothing, the body left open.
            let res = call.send().await.unwrap();
            let took = start.elapsed();
            drop(writer);
            assert_eq!(
                res.grpc_status(),
                Some(Code::DeadlineExceeded),
                "{label}: {res:?}"
            );
            assert!(
                res.grpc_message()
                    .unwrap()
                    .contains("no request message within 300ms"),
                "{label}: {res:?}"
            );
            assert!(
                took >= Duration::from_millis(300) && took < Duration::from_secs(3),
                "{label}: {took:?}"
            );
        }
    }
    let cancellations = within(Duration::from_secs(5), async {
        loop {
            let c = backend.cancellations();
            if c.len() == 4 {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert!(cancellations.iter().all(|c| c.path == FULL_DUPLEX));
}

#[tokio::test]
async fn messages_sent_within_the_idle_timeout_keep_the_stream_going_past_it() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| {
        c.allow_request_streaming = true;
        c.limits.request_idle_timeout = Duration::from_millis(400);
    })
    .await;
    for version in VERSIONS {
        let (call, mut writer) = WebClient::new(version)
            .call(proxy.addr, FULL_DUPLEX)
            .body_writer();
        writer.message_proto(&ping(1)).unwrap();
        let mut stream = call.send_streaming().await.unwrap();
        // Six messages 200 ms apart: 1.2 s in all, three times the idle timeout.
        for size in 1..=6 {
            let message = stream.next_message().await.unwrap().unwrap();
            assert_eq!(response_size(&message), size as usize, "{version:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            if size < 6 {
                writer.message_proto(&ping(size + 1)).unwrap();
            }
        }
        writer.finish();
        let res = stream.finish().await.unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok), "{version:?}: {res:?}");
    }
}

#[tokio::test]
async fn a_later_message_not_received_whole_within_the_body_read_timeout_is_deadline_exceeded() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.allow_request_streaming = true;
        c.limits.body_read_timeout = Duration::from_millis(300);
        c.limits.request_idle_timeout = Duration::from_secs(60);
    })
    .await;
    for version in VERSIONS {
        let (call, writer) = WebClient::new(version)
            .call(proxy.addr, FULL_DUPLEX)
            .body_writer();
        let start = Instant::now();
        writer.message(b"one").unwrap();
        // Half of a second message: its header says 9 bytes, 2 come.
        writer
            .raw(Bytes::from_static(&[0, 0, 0, 0, 9, 1, 2]))
            .unwrap();
        let res = call.send().await.unwrap();
        drop(writer);
        assert_eq!(
            res.grpc_status(),
            Some(Code::DeadlineExceeded),
            "{version:?}: {res:?}"
        );
        assert!(
            res.grpc_message().unwrap().contains("not received whole"),
            "{version:?}: {res:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(3), "{version:?}");
    }
}

#[tokio::test]
async fn an_oversized_later_message_is_resource_exhausted_over_http1_and_in_text() {
    let backend = FakeBackend::start(Reply::hang()).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.allow_request_streaming = true;
        c.limits.max_message_size = 1024;
    })
    .await;
    for version in VERSIONS {
        for mode in MODES {
            let (call, writer) = WebClient::new(version)
                .call(proxy.addr, FULL_DUPLEX)
                .mode(mode)
                .body_writer();
            writer.message(b"fine").unwrap();
            writer.message(vec![0u8; 1025]).unwrap();
            let res = call.send().await.unwrap();
            drop(writer);
            assert_eq!(
                res.grpc_status(),
                Some(Code::ResourceExhausted),
                "{version:?} {mode:?}: {res:?}"
            );
            assert!(
                res.grpc_message().unwrap().contains("1025 bytes"),
                "{res:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_deadline_ends_a_request_stream_that_is_still_sending() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| {
        c.allow_request_streaming = true;
        c.limits.max_timeout = Some(Duration::from_millis(600));
    })
    .await;
    for version in VERSIONS {
        let (call, writer) = WebClient::new(version)
            .call(proxy.addr, FULL_DUPLEX)
            .body_writer();
        let start = Instant::now();
        writer.message_proto(&ping(1)).unwrap();
        let mut stream = call.send_streaming().await.unwrap();
        // Answers keep coming while messages are sent, until the deadline.
        let mut answers = 0;
        while let Some(message) = stream.next_message().await.unwrap() {
            assert_eq!(response_size(&message), 1);
            answers += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = writer.message_proto(&ping(1));
        }
        let took = start.elapsed();
        let res = stream.finish().await.unwrap();
        assert_eq!(
            res.grpc_status(),
            Some(Code::DeadlineExceeded),
            "{version:?}: {res:?}"
        );
        assert!(answers >= 3, "{version:?}: {answers} answers");
        assert!(
            took >= Duration::from_millis(550) && took < Duration::from_secs(3),
            "{version:?}: {took:?}"
        );
    }
}

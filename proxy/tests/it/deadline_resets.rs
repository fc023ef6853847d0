//! A backend that enforces `grpc-timeout` itself (grpc-go) resets the stream with CANCEL
//! and no status when the deadline passes. The proxy enforces the same deadline (docs/protocol.md
//! D1), and whichever of the two fires first, the client gets DEADLINE_EXCEEDED; a CANCEL
//! well before the deadline stays CANCELLED (S7).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{
    Code, FakeBackend, HttpVersion, Mode, Reason, Reply, WebClient, WebResponse,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

const UNARY: &str = "/grpc.testing.TestService/UnaryCall";
const STREAMING: &str = "/grpc.testing.TestService/StreamingOutputCall";
const TIMEOUT: Duration = Duration::from_millis(300);
/// The backend resets this long after the request reached it: a few ms before the
/// proxy's own timer fires (its clock started a little earlier, when the request reached
/// the proxy), so the reset usually arrives first, as a backend's timer can.
const AT_DEADLINE: Duration = Duration::from_millis(296);
const WELL_BEFORE: Duration = Duration::from_millis(50);

#[tokio::test]
async fn unary_reset_at_the_deadline_is_deadline_exceeded() {
    let backend = ResetBeforeHeaders::start(AT_DEADLINE).await;
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    for (version, mode) in combos() {
        let label = format!("{version:?} {mode:?}");
        let res = call(proxy.addr, UNARY, version, mode).await;
        assert_eq!(
            res.grpc_status(),
            Some(Code::DeadlineExceeded),
            "{label}: {:?}",
            res.status()
        );
        assert!(res.message_payloads().is_empty(), "{label}");
    }
}

#[tokio::test]
async fn streaming_reset_at_the_deadline_is_deadline_exceeded_after_the_messages() {
    let reply = Reply::reset_after(vec![Bytes::from_static(b"one")], Reason::CANCEL)
        .with_interval(AT_DEADLINE);
    let backend = FakeBackend::start(reply).await.unwrap();
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    for (version, mode) in combos() {
        let label = format!("{version:?} {mode:?}");
        let res = call(proxy.addr, STREAMING, version, mode).await;
        assert_eq!(res.message_payloads(), ["one"], "{label}");
        assert_eq!(
            res.grpc_status(),
            Some(Code::DeadlineExceeded),
            "{label}: {:?}",
            res.status()
        );
    }
}

#[tokio::test]
async fn a_reset_well_before_the_deadline_stays_cancelled() {
    let unary = ResetBeforeHeaders::start(WELL_BEFORE).await;
    let streaming = FakeBackend::start(
        Reply::reset_after(vec![Bytes::from_static(b"one")], Reason::CANCEL)
            .with_interval(WELL_BEFORE),
    )
    .await
    .unwrap();
    let unary_proxy = support::proxy(&unary.url(), |_| {}).await;
    let streaming_proxy = support::proxy(&streaming.url(), |_| {}).await;
    for (version, mode) in combos() {
        let label = format!("{version:?} {mode:?}");
        let res = call(unary_proxy.addr, UNARY, version, mode).await;
        assert_eq!(res.grpc_status(), Some(Code::Cancelled), "{label} unary");
        let res = call(streaming_proxy.addr, STREAMING, version, mode).await;
        assert_eq!(res.message_payloads(), ["one"], "{label}");
        assert_eq!(
            res.grpc_status(),
            Some(Code::Cancelled),
            "{label} streaming"
        );
    }
}

fn combos() -> Vec<(HttpVersion, Mode)> {
    let mut out = Vec::new();
    for v in [HttpVersion::H1, HttpVersion::H2] {
        for m in [Mode::Binary, Mode::Text] {
            out.push((v, m));
        }
    }
    out
}

async fn call(proxy: SocketAddr, path: &str, version: HttpVersion, mode: Mode) -> WebResponse {
    WebClient::new(version)
        .call(proxy, path)
        .mode(mode)
        .header("grpc-timeout", format!("{}m", TIMEOUT.as_millis()))
        .message(b"x")
        .send()
        .await
        .unwrap()
}

/// A native gRPC server that answers nothing and resets every stream with CANCEL `after`
/// its request arrived, before any response headers: what grpc-go does when a unary
/// call's deadline passes while its handler runs.
struct ResetBeforeHeaders {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ResetBeforeHeaders {
    async fn start(after: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                connections.spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(tcp).await else {
                        return;
                    };
                    let mut streams = tokio::task::JoinSet::new();
                    while let Some(Ok((_, mut respond))) = conn.accept().await {
                        streams.spawn(async move {
                            tokio::time::sleep(after).await;
                            respond.send_reset(h2::Reason::CANCEL);
                        });
                    }
                });
            }
        });
        Self { addr, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ResetBeforeHeaders {
    fn drop(&mut self) {
        self.task.abort();
    }
}

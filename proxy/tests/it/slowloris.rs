//! Slowloris and silent sockets: `header_read_timeout` runs from accept until the first
//! request's headers are complete, whatever the connection is doing meanwhile (nothing,
//! half a preface, an HTTP/2 handshake without a request, a TLS handshake never started),
//! so silent connections cannot keep `max_connections` slots for `idle_timeout`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient, within};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const PATH: &str = "/grpc.testing.TestService/EmptyCall";
/// Small in tests; `idle_timeout` stays at its 5 minutes, so a connection only closes in
/// time if the header timeout closed it.
const HEADER_TIMEOUT: Duration = Duration::from_millis(400);
/// Generous: "closed, not held until idle_timeout".
const CLOSED_WITHIN: Duration = Duration::from_secs(8);

pub(crate) const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
pub(crate) const H2_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

async fn backend() -> FakeBackend {
    FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap()
}

fn slow(c: &mut grpcweb_proxy::Config) {
    c.limits.header_read_timeout = HEADER_TIMEOUT;
}

/// Reads (and discards what the proxy says) until the proxy closes the connection.
pub(crate) async fn until_closed(mut io: impl AsyncRead + Unpin) -> usize {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match io.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

async fn assert_closed(name: &str, addr: SocketAddr, send: &[u8]) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(send).await.unwrap();
    within(CLOSED_WITHIN, until_closed(&mut tcp))
        .await
        .unwrap_or_else(|e| panic!("{name}: the proxy kept the connection: {e}"));
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed() {
    let backend = backend().await;
    let proxy = support::proxy(&backend.url(), slow).await;
    let proxy_addr = proxy.addr;
    let mut preface_and_settings = H2_PREFACE.to_vec();
    preface_and_settings.extend_from_slice(H2_SETTINGS);
    let cases: [(&'static str, Vec<u8>); 5] = [
        ("silent socket", Vec::new()),
        ("partial h2 preface", b"PRI * HTTP/2.0\r\n".to_vec()),
        ("h2 preface + SETTINGS, no HEADERS", preface_and_settings),
        (
            "h1 request line, no end of headers",
            b"POST / HTTP/1.1\r\nhost: a\r\n".to_vec(),
        ),
        ("one byte", b"P".to_vec()),
    ];
    // All at once: each must close on its own timer.
    let mut checks = tokio::task::JoinSet::new();
    for (name, send) in cases {
        checks.spawn(async move { assert_closed(name, proxy_addr, &send).await });
    }
    while let Some(done) = checks.join_next().await {
        done.unwrap();
    }
    assert!(backend.requests().is_empty());
}

/// An HTTP/2 client that connected but sent no request is told to go (GOAWAY) before the
/// connection closes, so a well-behaved one reconnects instead of failing a call.
#[tokio::test]
async fn an_h2_connection_without_requests_gets_a_goaway() {
    let backend = backend().await;
    let proxy = support::proxy(&backend.url(), slow).await;
    let mut tcp = TcpStream::connect(proxy.addr).await.unwrap();
    tcp.write_all(H2_PREFACE).await.unwrap();
    tcp.write_all(H2_SETTINGS).await.unwrap();
    let mut bytes = Vec::new();
    within(CLOSED_WITHIN, tcp.read_to_end(&mut bytes))
        .await
        .unwrap()
        .ok();
    let mut kinds = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 9 {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        kinds.push(rest[3]);
        rest = &rest[(9 + len).min(rest.len())..];
    }
    assert!(kinds.contains(&7), "no GOAWAY among frames {kinds:?}");
}

/// A HEADERS that never ends (no END_HEADERS, no CONTINUATION) is no request either.
#[tokio::test]
async fn h2_headers_without_end_headers_are_closed() {
    let backend = backend().await;
    let proxy = support::proxy(&backend.url(), slow).await;
    let mut send = H2_PREFACE.to_vec();
    send.extend_from_slice(H2_SETTINGS);
    // HEADERS, stream 1, END_STREAM only: `:method: GET` (indexed 2), then nothing more.
    send.extend_from_slice(&[0, 0, 1, 1, 0x01, 0, 0, 0, 1, 0x82]);
    assert_closed("HEADERS without END_HEADERS", proxy.addr, &send).await;
}

/// A connection that made a call has proved itself: it is not cut by the header timeout
/// (HTTP/2 keeps it for `idle_timeout`). One raw HTTP/2 connection, whose driver ends if
/// the proxy closes it (a pooled client would reconnect and hide the close).
#[tokio::test]
async fn a_connection_with_a_call_is_kept() {
    let backend = backend().await;
    let proxy = support::proxy(&backend.url(), slow).await;
    let (mut send, driver) = support::raw_h2(proxy.addr).await;
    let mut call = async || {
        let body = support::raw_h2_call(&mut send, proxy.addr, PATH, b"").await;
        assert!(
            body.windows(15).any(|w| w == b"grpc-status:0\r\n"),
            "{body:?}"
        );
    };
    call().await;
    tokio::time::sleep(HEADER_TIMEOUT * 3).await;
    assert!(!driver.is_finished(), "the connection was closed");
    call().await;
    assert!(!driver.is_finished(), "the connection was closed");
    assert_eq!(backend.connections(), 1);
}

/// With every slot held by a silent socket, a real client waits only until they are cut.
#[tokio::test]
async fn silent_sockets_do_not_lock_out_clients() {
    let backend = backend().await;
    let proxy = support::proxy(&backend.url(), |c| {
        slow(c);
        c.limits.max_connections = 4;
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(proxy.addr).await.unwrap());
    }
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let res = WebClient::new(version)
            .call(proxy.addr, PATH)
            .message("")
            .timeout(CLOSED_WITHIN)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{version:?}: not served while silent sockets wait: {e}"));
        assert_eq!(res.grpc_status(), Some(Code::Ok), "{version:?}");
    }
    for s in &mut silent {
        within(CLOSED_WITHIN, until_closed(s)).await.unwrap();
    }
}

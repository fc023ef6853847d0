//! HTTP/2 abuse against the proxy's own listener, with frames written by hand: rapid
//! reset (before and after the backend has the call), SETTINGS, PING, CONTINUATION and
//! empty DATA floods, header lists over the limit. Each must end in a bounded state
//! (GOAWAY, a refused or reset stream, a closed connection, or served), leave no call in
//! flight, and leave the proxy answering other clients.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;
use crate::support::admin_get;

use bytes::{Buf as _, Bytes, BytesMut};
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient, data_frame, within};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";
const WAIT: Duration = Duration::from_secs(10);

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;
const CANCEL: u32 = 0x8;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK integer with a 7-bit prefix (no Huffman flag).
fn hpack_int(n: usize, out: &mut Vec<u8>) {
    if n < 127 {
        out.push(u8::try_from(n).unwrap());
        return;
    }
    out.push(127);
    let mut rest = n - 127;
    while rest >= 128 {
        out.push(u8::try_from(rest % 128).unwrap() | 0x80);
        rest /= 128;
    }
    out.push(u8::try_from(rest).unwrap());
}

/// A literal header field without indexing, new name.
fn literal(name: &str, value: &str) -> Vec<u8> {
    let mut out = vec![0];
    hpack_int(name.len(), &mut out);
    out.extend_from_slice(name.as_bytes());
    hpack_int(value.len(), &mut out);
    out.extend_from_slice(value.as_bytes());
    out
}

/// The header block of a gRPC-Web unary call.
fn request_block() -> Vec<u8> {
    [
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", "proxy.test"),
        (":path", PATH),
        ("content-type", "application/grpc-web+proto"),
    ]
    .iter()
    .flat_map(|(n, v)| literal(n, v))
    .collect()
}

/// A request: HEADERS (END_HEADERS), then its one message with END_STREAM.
fn request(stream: u32) -> Vec<u8> {
    let mut out = frame(HEADERS, END_HEADERS, stream, &request_block());
    out.extend(frame(DATA, END_STREAM, stream, &data_frame(b"")));
    out
}

struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Bytes,
}

/// A hand-driven HTTP/2 client connection.
struct Raw {
    tcp: TcpStream,
    buf: BytesMut,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Self {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(crate::slowloris::H2_PREFACE).await.unwrap();
        tcp.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
        Self {
            tcp,
            buf: BytesMut::new(),
        }
    }

    /// Writes `bytes`; `false` if the proxy closed the connection meanwhile.
    async fn send(&mut self, bytes: &[u8]) -> bool {
        self.tcp.write_all(bytes).await.is_ok()
    }

    /// The next frame; `None` once the connection is closed.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if self.buf.len() >= 9 {
                let len = usize::from(self.buf[0]) << 16
                    | usize::from(self.buf[1]) << 8
                    | usize::from(self.buf[2]);
                if self.buf.len() >= 9 + len {
                    let head = self.buf.split_to(9);
                    let payload = self.buf.split_to(len).freeze();
                    return Some(Frame {
                        kind: head[3],
                        flags: head[4],
                        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]])
                            & 0x7fff_ffff,
                        payload,
                    });
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// How a connection under attack ended up.
#[derive(Debug, Default)]
struct Outcome {
    /// The GOAWAY error code, if one came.
    goaway: Option<u32>,
    /// The connection was closed.
    closed: bool,
    /// Streams answered with HEADERS (`:status` in them).
    answered: Vec<u32>,
    /// Streams reset by the proxy, with the code.
    reset: Vec<(u32, u32)>,
    settings_acks: usize,
    pongs: usize,
}

/// Reads what the proxy says until it closes, sends GOAWAY, or `done` says enough.
async fn watch(raw: &mut Raw, done: impl Fn(&Outcome) -> bool) -> Outcome {
    let mut out = Outcome::default();
    let run = async {
        while !done(&out) {
            let Some(f) = raw.next().await else {
                out.closed = true;
                return;
            };
            match f.kind {
                GOAWAY => {
                    let mut p = f.payload.clone();
                    if p.len() >= 8 {
                        p.advance(4);
                        out.goaway = Some(p.get_u32());
                    }
                    return;
                }
                HEADERS if f.stream != 0 => out.answered.push(f.stream),
                RST_STREAM if f.payload.len() == 4 => {
                    let code = u32::from_be_bytes(f.payload[..4].try_into().unwrap());
                    out.reset.push((f.stream, code));
                }
                SETTINGS if f.flags & ACK != 0 => out.settings_acks += 1,
                PING if f.flags & ACK != 0 => out.pongs += 1,
                _ => {}
            }
        }
    };
    within(WAIT, run)
        .await
        .expect("the proxy neither answered nor closed");
    out
}

fn gauge(text: &str, name: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// After an attack: nothing left in flight, and another client is served.
async fn still_serving(proxy: &support::Running) {
    let admin = proxy.admin.unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        text = admin_get(admin, "/metrics").await.1;
        if gauge(&text, "grpcweb_in_flight_calls") == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gauge(&text, "grpcweb_in_flight_calls"), Some(0), "{text}");
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let res = WebClient::new(version)
            .call(proxy.addr, "/grpc.testing.TestService/EmptyCall")
            .message("")
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok), "{version:?}");
    }
}

async fn setup(reply: Reply) -> (FakeBackend, support::Running) {
    let backend = FakeBackend::start(move |req: &grpcweb_test_support::RecordedRequest| {
        if req.path().ends_with("/EmptyCall") {
            Reply::ok(vec![Bytes::new()])
        } else {
            reply.clone()
        }
    })
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    (backend, proxy)
}

/// HEADERS then RST_STREAM at once, thousands of times (CVE-2023-44487): the proxy
/// stops the connection (GOAWAY) long before it has started thousands of calls.
#[tokio::test]
async fn rapid_reset_before_the_backend() {
    let (backend, proxy) = setup(Reply::hang()).await;
    let mut raw = Raw::connect(proxy.addr).await;
    let mut flood = Vec::new();
    let streams = 5000u32;
    for i in 0..streams {
        let id = 2 * i + 1;
        flood.extend(frame(HEADERS, END_HEADERS, id, &request_block()));
        flood.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
    }
    raw.send(&flood).await;
    let outcome = watch(&mut raw, |_| false).await;
    assert!(outcome.goaway.is_some() || outcome.closed, "{outcome:?}");
    still_serving(&proxy).await;
    // Whatever reached the backend was cancelled there.
    let forwarded = backend
        .requests()
        .iter()
        .filter(|r| r.path() == PATH)
        .count();
    let cancelled = backend
        .cancellations()
        .iter()
        .filter(|c| c.path == PATH)
        .count();
    assert!(
        cancelled >= forwarded,
        "{forwarded} forwarded, {cancelled} cancelled"
    );
    assert!(forwarded < 1000, "{forwarded} calls reached the backend");
}

/// Calls the backend already has, then reset, 50 at a time: each is reset at the backend
/// too, and a connection that keeps doing it is closed (the rapid reset that h2's own
/// limit, on streams reset before they are accepted, does not see).
#[tokio::test]
async fn rapid_reset_after_the_backend() {
    let (backend, proxy) = setup(Reply::hang()).await;
    let mut raw = Raw::connect(proxy.addr).await;
    let per_round = 50u32;
    let mut next_id = 1u32;
    let mut stopped = None;
    for round in 0..40u32 {
        let ids: Vec<u32> = (0..per_round).map(|i| next_id + 2 * i).collect();
        next_id += 2 * per_round;
        let mut bytes = Vec::new();
        for id in &ids {
            bytes.extend(request(*id));
        }
        let want = backend.requests().len() + ids.len();
        if !raw.send(&bytes).await
            || within(Duration::from_secs(3), backend.wait_for_requests(want))
                .await
                .is_err()
        {
            stopped = Some(round);
            break;
        }
        let mut resets = Vec::new();
        for id in &ids {
            resets.extend(frame(RST_STREAM, 0, *id, &CANCEL.to_be_bytes()));
        }
        if !raw.send(&resets).await {
            stopped = Some(round);
            break;
        }
    }
    let forwarded = backend.requests().len();
    assert!(
        stopped.is_some(),
        "{forwarded} calls forwarded and reset: the connection was never stopped"
    );
    let outcome = watch(&mut raw, |_| false).await;
    assert!(outcome.goaway.is_some() || outcome.closed, "{outcome:?}");
    assert!(
        forwarded <= 600,
        "{forwarded} calls forwarded before the connection was stopped"
    );
    let cancelled = async {
        loop {
            if backend.cancellations().len() >= forwarded {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    within(WAIT, cancelled).await.unwrap_or_else(|e| {
        panic!(
            "{} of {forwarded} forwarded streams reset at the backend: {e}",
            backend.cancellations().len()
        )
    });
    still_serving(&proxy).await;
}

/// A flood of control frames that each demand an answer, never reading the answers.
async fn control_flood(kind: u8, payload: &[u8]) {
    let (_backend, proxy) = setup(Reply::ok(vec![Bytes::new()])).await;
    let mut raw = Raw::connect(proxy.addr).await;
    let one = frame(kind, 0, 0, payload);
    let flood: Vec<u8> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * 100_000)
        .collect();
    // The proxy may stop reading (backpressure) or close: both are fine, a hang is not.
    let sent = within(WAIT, raw.send(&flood)).await;
    let outcome = match sent {
        Ok(true) => {
            let mut req = request(1);
            raw.send(&std::mem::take(&mut req)).await;
            watch(&mut raw, |o| o.answered.contains(&1)).await
        }
        // Blocked: the proxy stopped reading. Or closed.
        _ => watch(&mut raw, |_| false).await,
    };
    assert!(
        outcome.goaway.is_some() || outcome.closed || outcome.answered == [1],
        "{outcome:?}"
    );
    still_serving(&proxy).await;
}

#[tokio::test]
async fn settings_flood() {
    control_flood(SETTINGS, &[]).await;
}

#[tokio::test]
async fn ping_flood() {
    control_flood(PING, &[0; 8]).await;
}

/// HEADERS without END_HEADERS, then CONTINUATION after CONTINUATION: refused once over
/// the header limit, never buffered without bound.
#[tokio::test]
async fn continuation_flood() {
    for empty in [false, true] {
        let (backend, proxy) = setup(Reply::ok(vec![Bytes::new()])).await;
        let mut raw = Raw::connect(proxy.addr).await;
        raw.send(&frame(HEADERS, END_STREAM, 1, &request_block()))
            .await;
        let piece = if empty {
            Vec::new()
        } else {
            literal("x-flood", &"a".repeat(1000))
        };
        let one = frame(CONTINUATION, 0, 1, &piece);
        let run = async {
            for _ in 0..2000 {
                if !raw.send(&one.repeat(50)).await {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(WAIT, run).await;
        let outcome = watch(&mut raw, |o| !o.reset.is_empty() || !o.answered.is_empty()).await;
        assert!(
            outcome.goaway.is_some() || outcome.closed || !outcome.reset.is_empty(),
            "empty={empty}: {outcome:?}"
        );
        assert!(backend.requests().iter().all(|r| r.path() != PATH));
        still_serving(&proxy).await;
    }
}

/// A header list over `max_header_size` (16 KiB): refused, never forwarded.
#[tokio::test]
async fn header_list_over_the_limit() {
    let (backend, proxy) = setup(Reply::ok(vec![Bytes::new()])).await;
    let mut raw = Raw::connect(proxy.addr).await;
    let mut block = request_block();
    for i in 0..40 {
        block.extend(literal(&format!("x-big-{i}"), &"a".repeat(1000)));
    }
    let mut pieces = block.chunks(16_000).peekable();
    let mut bytes = frame(HEADERS, 0, 1, pieces.next().unwrap());
    while let Some(piece) = pieces.next() {
        let flags = if pieces.peek().is_none() {
            END_HEADERS
        } else {
            0
        };
        bytes.extend(frame(CONTINUATION, flags, 1, piece));
    }
    bytes.extend(frame(DATA, END_STREAM, 1, &data_frame(b"")));
    raw.send(&bytes).await;
    let outcome = watch(&mut raw, |o| !o.reset.is_empty() || !o.answered.is_empty()).await;
    assert!(
        outcome.goaway.is_some()
            || outcome.closed
            || !outcome.reset.is_empty()
            || outcome.answered == [1],
        "{outcome:?}"
    );
    assert!(backend.requests().iter().all(|r| r.path() != PATH));
    still_serving(&proxy).await;
}

/// A stream that sends only empty DATA frames, a hundred thousand of them.
#[tokio::test]
async fn empty_data_flood() {
    let (_backend, proxy) = setup(Reply::ok(vec![Bytes::new()])).await;
    let mut raw = Raw::connect(proxy.addr).await;
    raw.send(&frame(HEADERS, END_HEADERS, 1, &request_block()))
        .await;
    let one = frame(DATA, 0, 1, &[]);
    let run = async {
        for _ in 0..1000 {
            if !raw.send(&one.repeat(100)).await {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(WAIT, run).await;
    raw.send(&frame(DATA, END_STREAM, 1, &data_frame(b"")))
        .await;
    // h2 itself answers a run of small DATA frames with GOAWAY (ENHANCE_YOUR_CALM).
    let outcome = watch(&mut raw, |o| !o.reset.is_empty() || !o.answered.is_empty()).await;
    assert!(
        outcome.goaway.is_some() || outcome.closed || outcome.answered == [1],
        "{outcome:?}"
    );
    still_serving(&proxy).await;
}

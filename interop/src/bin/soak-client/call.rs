//! One call: the request, the response read as far as its kind says, and how it ended;
//! the [`Driver`] that runs calls and keeps the tallies.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bytes::Bytes;
use grpcweb_protocol::response::{Event, ResponseDecoder, ResponseError};
use grpcweb_protocol::{Code, Status};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prost::Message as _;

use crate::mix::{Http, Kind, MIX, Shape, pick, request_body};

/// Longest a call may take before the client gives up on it (an unexpected outcome).
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest response frame accepted.
const MAX_FRAME: usize = 8 << 20;
/// Bytes of a response body kept for quoting when it turns out malformed.
const SEEN_LIMIT: usize = 1 << 20;

/// How one call ended.
#[derive(Debug)]
enum Outcome {
    Ok,
    /// The client dropped the call itself, as the kind asks.
    ClientAbort,
    Status(Status),
    /// Not HTTP 200 and no `grpc-status` header.
    Http(u16),
    Transport(String),
    Timeout,
    /// The body ended without a status: what had arrived.
    NoStatus(String),
    /// A status OK but not the messages asked for, or an undecodable body.
    BadResponse(String),
}

impl Outcome {
    fn label(&self) -> String {
        match self {
            Self::Ok => "OK".to_owned(),
            Self::ClientAbort => "CLIENT_ABORT".to_owned(),
            Self::Status(s) => s.code.name().to_owned(),
            Self::Http(code) => format!("HTTP_{code}"),
            Self::Transport(_) => "TRANSPORT_ERROR".to_owned(),
            Self::Timeout => "CLIENT_TIMEOUT".to_owned(),
            Self::NoStatus(_) => "NO_STATUS".to_owned(),
            Self::BadResponse(_) => "BAD_RESPONSE".to_owned(),
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Status(s) => s.message.clone(),
            Self::Transport(m) | Self::BadResponse(m) | Self::NoStatus(m) => m.clone(),
            _ => String::new(),
        }
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Connections, request bodies and tallies, shared by every call.
#[derive(Debug)]
pub(crate) struct Driver {
    target: SocketAddr,
    h2: Vec<HttpClient>,
    h1: HttpClient,
    next_h2: AtomicUsize,
    /// Request bodies, by index in [`MIX`].
    bodies: Vec<Bytes>,
    pub(crate) counts: Mutex<BTreeMap<(usize, String), u64>>,
    pub(crate) events: Option<Mutex<BufWriter<File>>>,
    /// Durations of OK unary calls, in 100 µs buckets (the last one is "longer").
    pub(crate) latency: Mutex<Vec<u64>>,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) started: AtomicU64,
}

impl Driver {
    /// A driver for the proxy at `target` with `connections` HTTP/2 connections, writing
    /// event lines to `events` when given.
    pub(crate) fn new(
        target: SocketAddr,
        connections: usize,
        events: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let h2 = (0..connections.max(1))
            .map(|_| {
                Client::builder(TokioExecutor::new())
                    .http2_only(true)
                    .build_http()
            })
            .collect();
        let events = match events {
            Some(path) => Some(Mutex::new(BufWriter::new(
                File::create(path).with_context(|| format!("creating {}", path.display()))?,
            ))),
            None => None,
        };
        Ok(Self {
            target,
            h2,
            h1: Client::builder(TokioExecutor::new()).build_http(),
            next_h2: AtomicUsize::new(0),
            bodies: MIX.iter().map(request_body).collect(),
            counts: Mutex::new(BTreeMap::new()),
            events,
            latency: Mutex::new(vec![0; 100_001]),
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
        })
    }

    /// Runs call number `n` of the mix and records how it ended.
    pub(crate) async fn call(&self, n: u64) {
        let k = pick(n);
        let kind = &MIX[k];
        let start_ms = unix_ms();
        let start = Instant::now();
        let outcome = match tokio::time::timeout(CALL_TIMEOUT, self.exchange(k)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Timeout,
        };
        let elapsed = start.elapsed();
        if matches!(outcome, Outcome::Ok) && matches!(kind.shape, Shape::Unary { .. }) {
            let bucket = (elapsed.as_micros() / 100).min(100_000) as usize;
            if let Ok(mut l) = self.latency.lock() {
                l[bucket] += 1;
            }
        }
        let label = outcome.label();
        if !matches!(outcome, Outcome::Ok | Outcome::ClientAbort)
            && let Some(events) = &self.events
            && let Ok(mut w) = events.lock()
        {
            let message = outcome.message().replace(['\t', '\n'], " ");
            let _ = writeln!(
                w,
                "{label}\t{}\t{start_ms}\t{}\t{message}",
                kind.name,
                unix_ms()
            );
        }
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry((k, label)).or_default() += 1;
        }
    }

    /// Sends the request of kind `k` and reads the answer as far as the kind says.
    async fn exchange(&self, k: usize) -> Outcome {
        let kind = &MIX[k];
        let method = match kind.shape {
            Shape::Unary { .. } => "UnaryCall",
            Shape::Stream { .. } => "StreamingOutputCall",
        };
        let content_type = if kind.text {
            "application/grpc-web-text+proto"
        } else {
            "application/grpc-web+proto"
        };
        let request = http::Request::post(format!(
            "http://{}/grpc.testing.TestService/{method}",
            self.target
        ))
        .header("content-type", content_type)
        .header("x-grpc-web", "1")
        .body(Full::new(self.bodies[k].clone()));
        let request = match request {
            Ok(r) => r,
            Err(e) => return Outcome::Transport(e.to_string()),
        };
        let client = match kind.http {
            Http::H2 => {
                let i = self.next_h2.fetch_add(1, Ordering::Relaxed) % self.h2.len();
                &self.h2[i]
            }
            Http::H1 => &self.h1,
        };
        let response = match client.request(request).await {
            Ok(r) => r,
            Err(e) => return Outcome::Transport(error_chain(&e)),
        };
        if let Some(status) = Status::from_header_map(response.headers()) {
            return Outcome::Status(status);
        }
        if response.status() != http::StatusCode::OK {
            return Outcome::Http(response.status().as_u16());
        }
        let (parts, body) = response.into_parts();
        read_body(kind, &parts.headers, body).await
    }
}

/// Reads a gRPC-Web response body with the protocol's response decoder: its messages,
/// the trailer frame, then the end of the body.
async fn read_body(
    kind: &Kind,
    headers: &http::HeaderMap,
    mut body: hyper::body::Incoming,
) -> Outcome {
    let mut decoder = ResponseDecoder::new(MAX_FRAME);
    let entries: Vec<_> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    decoder.headers(200, entries.iter().copied());
    let mut messages = Vec::new();
    let mut received = 0;
    // The body so far (up to a limit), quoted when it turns out malformed.
    let mut seen = Vec::new();
    loop {
        while let Some(event) = decoder.next_event() {
            match event {
                Event::Message(m) => {
                    messages.push(Bytes::copy_from_slice(m));
                    if let Shape::Stream {
                        abort_after: Some(n),
                        ..
                    } = kind.shape
                        && messages.len() >= n
                    {
                        // Dropping the body resets the stream (HTTP/2) or closes the
                        // connection (HTTP/1.1).
                        return Outcome::ClientAbort;
                    }
                }
                Event::Trailers(_) | Event::CompressedMessage(_) => {}
                Event::End(end) if end.code == Code::Ok => return check(kind, &messages),
                Event::End(end) => return Outcome::Status(Status::new(end.code, end.message())),
                Event::Error(ResponseError::NoStatus) => {
                    return Outcome::NoStatus(format!(
                        "body ended after {received} bytes without a status: {} whole \
                         messages; {}",
                        messages.len(),
                        excerpt(&seen)
                    ));
                }
                Event::Error(e) => {
                    return Outcome::BadResponse(format!("{e}; {}", excerpt(&seen)));
                }
            }
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                // HTTP trailers are skipped: gRPC-Web puts the status in the body.
                if let Ok(data) = frame.into_data() {
                    received += data.len();
                    if seen.len() < SEEN_LIMIT {
                        seen.extend_from_slice(&data[..data.len().min(SEEN_LIMIT - seen.len())]);
                    }
                    decoder.push(&data);
                }
            }
            Some(Err(e)) => return Outcome::Transport(error_chain(&e)),
            None => decoder.end(),
        }
    }
}

/// OK, when the messages are the ones asked for.
fn check(kind: &Kind, messages: &[Bytes]) -> Outcome {
    let (want, size) = match kind.shape {
        Shape::Unary { size } => (1, size),
        Shape::Stream { count, size, .. } => (count, size as usize),
    };
    if messages.len() != want {
        return Outcome::BadResponse(format!("{} messages, want {want}", messages.len()));
    }
    // SimpleResponse and StreamingOutputCallResponse both carry `payload` as field 1 or
    // 1: read just the payload body length.
    for m in messages {
        let got = match kind.shape {
            Shape::Unary { .. } => grpcweb_interop::pb::SimpleResponse::decode(m.as_ref())
                .map(|r| r.payload.map_or(0, |p| p.body.len())),
            Shape::Stream { .. } => {
                grpcweb_interop::pb::StreamingOutputCallResponse::decode(m.as_ref())
                    .map(|r| r.payload.map_or(0, |p| p.body.len()))
            }
        };
        match got {
            Ok(n) if n == size => {}
            Ok(n) => return Outcome::BadResponse(format!("payload of {n} bytes, want {size}")),
            Err(e) => return Outcome::BadResponse(format!("decode: {e}")),
        }
    }
    Outcome::Ok
}

/// The size, the first bytes and the last bytes of a body, in hex, for event lines.
fn excerpt(body: &[u8]) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let head = &body[..body.len().min(8)];
    let tail = &body[body.len().saturating_sub(48)..];
    format!(
        "received {} bytes, first {} last {}",
        body.len(),
        hex(head),
        hex(tail)
    )
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

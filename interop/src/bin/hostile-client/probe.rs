//! The normal calls made during an attack: a 1 KiB `UnaryCall`, gRPC-Web binary over h2c,
//! each on a new connection, started at a fixed rate (open loop, so a stalled call does
//! not hold back the next one).

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::{Bytes, BytesMut};
use grpcweb_interop::pb;
use grpcweb_protocol::framing::{FrameDecoder, FrameKind, encode_frame};
use grpcweb_protocol::{Code, Status, trailers};
use prost::Message as _;
use tokio::net::TcpStream;

/// Longest a probe call may take before it counts as an error.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Payload size of the probe's request and response.
const PAYLOAD: usize = 1024;
/// Largest response frame the probe reads.
const MAX_FRAME: usize = 1 << 20;

/// What the probe measured.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    calls: u64,
    errors: u64,
    /// Durations of the calls that succeeded.
    ok: Vec<Duration>,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ok = self.ok.clone();
        ok.sort_unstable();
        let at = |q: f64| -> f64 {
            if ok.is_empty() {
                return f64::NAN;
            }
            let i = ((ok.len() as f64 * q).ceil() as usize).clamp(1, ok.len()) - 1;
            ok[i].as_secs_f64() * 1000.0
        };
        write!(
            f,
            "calls={} ok={} errors={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
            self.calls,
            ok.len(),
            self.errors,
            at(0.50),
            at(0.99),
            at(1.0)
        )
    }
}

/// Starts `rate` calls per second for `duration` and waits for them.
pub(crate) async fn run(target: SocketAddr, rate: f64, duration: Duration) -> Stats {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let every = Duration::from_secs_f64(1.0 / rate.clamp(0.1, 1000.0));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    while started.elapsed() < duration {
        ticker.tick().await;
        let stats = stats.clone();
        calls.spawn(async move {
            let start = Instant::now();
            let result = call(target).await;
            if let Ok(mut s) = stats.lock() {
                s.calls += 1;
                if result.is_ok() {
                    s.ok.push(start.elapsed());
                }
            }
        });
    }
    // Each call ends by CALL_TIMEOUT.
    while calls.join_next().await.is_some() {}
    let mut stats = stats
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    stats.errors = stats.calls - stats.ok.len() as u64;
    stats
}

/// One probe call, on a connection of its own; `Err` unless it ends with status OK and
/// the payload asked for, within [`CALL_TIMEOUT`].
pub(crate) async fn call(target: SocketAddr) -> anyhow::Result<()> {
    tokio::time::timeout(CALL_TIMEOUT, exchange(target))
        .await
        .context("timed out")?
}

async fn exchange(target: SocketAddr) -> anyhow::Result<()> {
    let mut client = connect(target).await?;
    let request = pb::SimpleRequest {
        response_size: PAYLOAD as i32,
        payload: Some(pb::Payload {
            body: vec![0; PAYLOAD],
            ..pb::Payload::default()
        }),
        ..pb::SimpleRequest::default()
    };
    let body = encode_frame(FrameKind::Data, &request.encode_to_vec());
    let (response, mut send) = client.send_request(
        grpc_web_request(target, "/grpc.testing.TestService/UnaryCall")?,
        false,
    )?;
    send.send_data(body, true)?;
    let response = response.await?;
    if let Some(status) = Status::from_header_map(response.headers()) {
        bail!("status {:?} in the headers", status.code);
    }
    if response.status() != http::StatusCode::OK {
        bail!("HTTP {}", response.status());
    }
    let body = read_to_end(response.into_body(), 4 * MAX_FRAME).await?;
    let mut frames = FrameDecoder::new(MAX_FRAME);
    frames.push(body);
    let mut messages = 0;
    while let Some(frame) = frames.next_frame()? {
        match frame.kind {
            FrameKind::Data => {
                let reply = pb::SimpleResponse::decode(frame.payload)?;
                if reply.payload.map_or(0, |p| p.body.len()) != PAYLOAD {
                    bail!("wrong payload size");
                }
                messages += 1;
            }
            FrameKind::Trailers => {
                let status = Status::from_entries(trailers::entries(&frame.payload).flatten())
                    .context("a trailer frame without grpc-status")?;
                if status.code != Code::Ok || messages != 1 {
                    bail!("status {:?} after {messages} messages", status.code);
                }
                return Ok(());
            }
            other => bail!("unexpected frame {other:?}"),
        }
    }
    bail!("the body ended without a trailer frame")
}

/// An h2c connection to `target` (prior knowledge), driven by a task of its own that ends
/// when the returned handle and its streams are dropped.
pub(crate) async fn connect(target: SocketAddr) -> anyhow::Result<h2::client::SendRequest<Bytes>> {
    let tcp = TcpStream::connect(target).await?;
    tcp.set_nodelay(true)?;
    let (client, connection) = h2::client::handshake(tcp).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client.ready().await?)
}

/// A gRPC-Web binary POST to `path` on `target`, headers only.
pub(crate) fn grpc_web_request(
    target: SocketAddr,
    path: &str,
) -> anyhow::Result<http::Request<()>> {
    Ok(http::Request::post(format!("http://{target}{path}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(())?)
}

/// The response body, up to `limit` bytes, releasing flow-control capacity as it reads.
pub(crate) async fn read_to_end(mut body: h2::RecvStream, limit: usize) -> anyhow::Result<Bytes> {
    let mut out = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if out.len() + chunk.len() > limit {
            bail!("response body over {limit} bytes");
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

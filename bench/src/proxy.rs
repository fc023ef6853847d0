//! The proxy benchmark (`cargo xtask bench`): the ways of reaching the TestService that
//! it compares, CPU readings of their processes, one measured unary run; the idle-stream
//! measurement ([`idle`]) and the report ([`report`]).

pub mod idle;
pub mod report;

use anyhow::Result;

use crate::h2load::{Http, Load};
use crate::procfs::{cpu_ticks, ticks_per_sec};
use crate::requests::{Bodies, Wire};
use report::UnaryRow;

/// Who answers, for the ratio columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The backend itself, no hop.
    Direct,
    /// nginx `grpc_pass` in front of the backend.
    Nginx,
    /// Every other path.
    Other,
}

/// Connections and streams per connection for throughput runs (64 calls in flight).
pub const CLIENTS: u32 = 8;
/// Streams per connection for throughput runs.
pub const STREAMS_PER_CLIENT: u32 = 8;
/// The unary payload sizes measured, in bytes.
pub const PAYLOADS: [usize; 4] = [16, 1024, 65_536, 1 << 20];
/// A payload's calls to each path are split into this many rounds, taken in turn across
/// the paths, so that a machine busier at one moment weighs on every path alike.
pub const ROUNDS: u32 = 3;

/// One way of reaching the TestService.
#[derive(Debug)]
pub struct Target {
    /// The row's name in the tables.
    pub label: &'static str,
    /// `127.0.0.1:PORT` of the server that answers.
    pub addr: String,
    /// HTTP/2 or HTTP/1.1.
    pub http: Http,
    /// What the path sends.
    pub wire: Wire,
    /// Who answers, for the ratio columns.
    pub role: Role,
    /// The proxy's processes (none for direct and in-process paths).
    pub proxy: Vec<u32>,
    /// The process of the backend (the server itself for in-process paths).
    pub backend: u32,
}

/// Fewer calls for bigger messages, so that every run takes a few seconds.
pub fn calls_for(payload: usize, quick: bool) -> u32 {
    let calls = match payload {
        0..=4096 => 20_000,
        4097..=131_072 => 4_000,
        _ => 400,
    };
    if quick { calls / 4 } else { calls }
}

/// The URL of `method` of the TestService behind `t`.
pub fn url(t: &Target, method: &str) -> String {
    format!("http://{}/grpc.testing.TestService/{method}", t.addr)
}

/// CPU ticks of a target's proxy and backend at one moment.
#[derive(Debug)]
pub struct Cpu {
    proxy: Option<u64>,
    backend: Option<u64>,
}

impl Cpu {
    /// The CPU ticks of `t`'s processes now.
    pub fn read(t: &Target) -> Self {
        Self {
            proxy: (!t.proxy.is_empty()).then(|| cpu_ticks(&t.proxy)).flatten(),
            backend: cpu_ticks(&[t.backend]),
        }
    }

    /// (proxy, backend) CPU µs per unit of work since `self`.
    pub fn per_call(&self, t: &Target, units: f64) -> (Option<f64>, Option<f64>) {
        let now = Self::read(t);
        let us = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 * 1e6 / ticks_per_sec() / units),
            _ => None,
        };
        (us(self.proxy, now.proxy), us(self.backend, now.backend))
    }
}

/// A warm-up, then `calls` unary calls of `payload` bytes: calls/s, latency, and the CPU
/// per call of the proxy and the backend.
pub fn measure_unary(t: &Target, bodies: &Bodies, payload: usize, calls: u32) -> Result<UnaryRow> {
    let (clients, streams) = match t.http {
        Http::H2 => (CLIENTS, STREAMS_PER_CLIENT),
        // As many calls in flight, one per connection.
        Http::H1 => (CLIENTS * STREAMS_PER_CLIENT, 1),
    };
    let load = |calls| Load {
        url: url(t, "UnaryCall"),
        http: t.http,
        content_type: t.wire.content_type(),
        body: bodies.for_wire(t.wire),
        calls,
        clients,
        streams,
        rps: None,
        log: None,
    };
    // A short warm-up, then the measured run.
    load((calls / 20).max(64)).run()?;
    let before = Cpu::read(t);
    let summary = load(calls).run()?;
    let (proxy_cpu_us, backend_cpu_us) = before.per_call(t, f64::from(calls));
    Ok(UnaryRow {
        label: t.label,
        role: t.role,
        payload,
        summary,
        proxy_cpu_us,
        backend_cpu_us,
    })
}

//! The ways of reaching the TestService that the benchmark compares, the request bodies,
//! CPU readings from `/proc`, and one measured unary run.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Role;
use super::load::{self, Http, Load, cpu_ticks, ticks_per_sec};
use super::report::UnaryRow;

/// Connections and streams per connection for throughput runs (64 calls in flight).
pub(super) const CLIENTS: u32 = 8;
pub(super) const STREAMS_PER_CLIENT: u32 = 8;
pub(super) const PAYLOADS: [usize; 4] = [16, 1024, 65_536, 1 << 20];

/// What a path sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wire {
    Grpc,
    WebBinary,
    WebText,
}

impl Wire {
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Self::Grpc => "application/grpc",
            Self::WebBinary => "application/grpc-web+proto",
            Self::WebText => "application/grpc-web-text+proto",
        }
    }
}

/// One way of reaching the TestService.
#[derive(Debug)]
pub(super) struct Target {
    pub(super) label: &'static str,
    pub(super) addr: String,
    pub(super) http: Http,
    pub(super) wire: Wire,
    pub(super) role: Role,
    /// The proxy's processes (none for direct and in-process paths).
    pub(super) proxy: Vec<u32>,
    pub(super) backend: u32,
}

pub(super) fn calls_for(payload: usize, quick: bool) -> u32 {
    let calls = match payload {
        0..=4096 => 20_000,
        4097..=131_072 => 4_000,
        _ => 400,
    };
    if quick { calls / 4 } else { calls }
}

pub(super) fn url(t: &Target, method: &str) -> String {
    format!("http://{}/grpc.testing.TestService/{method}", t.addr)
}

/// A request body written in binary and in text form.
#[derive(Debug)]
pub(super) struct Bodies {
    pub(super) binary: PathBuf,
    pub(super) text: PathBuf,
}

impl Bodies {
    pub(super) fn write(dir: &Path, name: &str, msg: &[u8]) -> Result<Self> {
        let frame = load::frame(msg);
        let binary = dir.join(format!("{name}.bin"));
        std::fs::write(&binary, &frame)?;
        let text = dir.join(format!("{name}.txt"));
        std::fs::write(&text, load::base64(&frame))?;
        Ok(Self { binary, text })
    }

    pub(super) fn for_wire(&self, wire: Wire) -> &Path {
        match wire {
            Wire::WebText => &self.text,
            _ => &self.binary,
        }
    }
}

/// CPU ticks of a target's proxy and backend at one moment.
#[derive(Debug)]
pub(super) struct Cpu {
    proxy: Option<u64>,
    backend: Option<u64>,
}

impl Cpu {
    pub(super) fn read(t: &Target) -> Self {
        Self {
            proxy: (!t.proxy.is_empty()).then(|| cpu_ticks(&t.proxy)).flatten(),
            backend: cpu_ticks(&[t.backend]),
        }
    }

    /// (proxy, backend) CPU µs per unit of work since `self`.
    pub(super) fn per_call(&self, t: &Target, units: f64) -> (Option<f64>, Option<f64>) {
        let now = Self::read(t);
        let us = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 * 1e6 / ticks_per_sec() / units),
            _ => None,
        };
        (us(self.proxy, now.proxy), us(self.backend, now.backend))
    }
}

pub(super) fn measure_unary(
    t: &Target,
    bodies: &Bodies,
    payload: usize,
    calls: u32,
) -> Result<UnaryRow> {
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

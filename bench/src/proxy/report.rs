//! The benchmark's tables, written into BENCHMARKS.md between the proxy markers.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::Role;
use crate::h2load::Summary;
use crate::markdown::{date, write_section};

const BEGIN: &str = "<!-- proxy:begin (written by cargo xtask bench) -->";
const END: &str = "<!-- proxy:end -->";

/// One path and payload size of the unary table.
#[derive(Debug)]
pub struct UnaryRow {
    /// The path's name.
    pub label: &'static str,
    /// Who answers, for the ratio columns.
    pub role: Role,
    /// Request and response payload, in bytes.
    pub payload: usize,
    /// What h2load measured.
    pub summary: Summary,
    /// The proxy's CPU per call, in µs (none without a proxy).
    pub proxy_cpu_us: Option<f64>,
    /// The backend's CPU per call, in µs.
    pub backend_cpu_us: Option<f64>,
}

impl UnaryRow {
    /// One row from the rounds of one path: CPU and time summed over the rounds, divided
    /// by their calls; the mean latency weighted by calls; the spread of the widest round.
    pub fn combine(rounds: Vec<UnaryRow>) -> Option<UnaryRow> {
        let calls = |r: &UnaryRow| (r.summary.succeeded + r.summary.failed) as f64;
        let total: f64 = rounds.iter().map(calls).sum();
        let first = rounds.first()?;
        let seconds: f64 = rounds
            .iter()
            .map(|r| calls(r) / r.summary.calls_per_sec.max(f64::MIN_POSITIVE))
            .sum();
        let weighted = |f: &dyn Fn(&UnaryRow) -> Option<f64>| -> Option<f64> {
            let mut sum = 0.0;
            for r in &rounds {
                sum += f(r)? * calls(r);
            }
            (total > 0.0).then(|| sum / total)
        };
        Some(UnaryRow {
            label: first.label,
            role: first.role,
            payload: first.payload,
            summary: Summary {
                calls_per_sec: if seconds > 0.0 { total / seconds } else { 0.0 },
                mean_ms: weighted(&|r| Some(r.summary.mean_ms)).unwrap_or(f64::NAN),
                sd_ms: rounds.iter().map(|r| r.summary.sd_ms).fold(0.0, f64::max),
                succeeded: rounds.iter().map(|r| r.summary.succeeded).sum(),
                failed: rounds.iter().map(|r| r.summary.failed).sum(),
            },
            proxy_cpu_us: weighted(&|r| r.proxy_cpu_us),
            backend_cpu_us: weighted(&|r| r.backend_cpu_us),
        })
    }
}

/// One path of the fixed-rate latency table.
#[derive(Debug)]
pub struct LatencyRow {
    /// The path's name.
    pub label: &'static str,
    /// Who answers, for the added-latency columns.
    pub role: Role,
    /// Calls per second sent.
    pub rate: u32,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
    /// Calls that failed.
    pub failed: u64,
}

/// One path of the server-streaming table.
#[derive(Debug)]
pub struct StreamRow {
    /// The path's name.
    pub label: &'static str,
    /// Messages streamed.
    pub messages: f64,
    /// Streamed messages per second.
    pub messages_per_sec: f64,
    /// The proxy's CPU per message, in µs (none without a proxy).
    pub proxy_cpu_us_per_message: Option<f64>,
    /// The backend's CPU per message, in µs.
    pub backend_cpu_us_per_message: Option<f64>,
    /// Calls that failed.
    pub failed: u64,
}

impl StreamRow {
    /// One row from the rounds of one path: messages per second over the rounds' time,
    /// CPU per message over their messages.
    pub fn combine(rounds: Vec<StreamRow>) -> Option<StreamRow> {
        let first = rounds.first()?;
        let messages: f64 = rounds.iter().map(|r| r.messages).sum();
        let seconds: f64 = rounds
            .iter()
            .map(|r| r.messages / r.messages_per_sec.max(f64::MIN_POSITIVE))
            .sum();
        let weighted = |f: fn(&StreamRow) -> Option<f64>| -> Option<f64> {
            let mut sum = 0.0;
            for r in &rounds {
                sum += f(r)? * r.messages;
            }
            (messages > 0.0).then(|| sum / messages)
        };
        Some(StreamRow {
            label: first.label,
            messages,
            messages_per_sec: if seconds > 0.0 {
                messages / seconds
            } else {
                0.0
            },
            proxy_cpu_us_per_message: weighted(|r| r.proxy_cpu_us_per_message),
            backend_cpu_us_per_message: weighted(|r| r.backend_cpu_us_per_message),
            failed: rounds.iter().map(|r| r.failed).sum(),
        })
    }
}

/// The proxy holding many idle server streams.
#[derive(Debug)]
pub struct IdleResult {
    /// Streams asked for.
    pub streams: u32,
    /// The proxy's in-flight gauge: its highest reading, and its reading 10 s in.
    pub peak_open: u64,
    /// The in-flight gauge 10 s in.
    pub open_at_10s: u64,
    /// Proxy RSS before the streams, in KiB.
    pub before_kib: u64,
    /// Highest proxy RSS while they were open, in KiB.
    pub peak_kib: u64,
    /// HTTP 200s h2load saw.
    pub succeeded: u64,
    /// How long h2load ran.
    pub seconds: f64,
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// A `--quick` run (a subset).
    pub quick: bool,
    /// The unary table.
    pub unary: Vec<UnaryRow>,
    /// The fixed-rate latency table.
    pub latency: Vec<LatencyRow>,
    /// The server-streaming table.
    pub streams: Vec<StreamRow>,
    /// The idle-stream reading (not in quick runs).
    pub idle: Option<IdleResult>,
    /// Paths left out, and why.
    pub notes: Vec<String>,
    /// How long the run took.
    pub seconds: u64,
    /// The machine's load average at the end.
    pub load_average: Option<String>,
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} {unit}"))
}

/// Two decimals: CPU per streamed message is about a microsecond.
fn us2(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2} µs"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".to_owned(),
    }
}

fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b if b >= 1024 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

impl Report {
    fn markdown(&self) -> String {
        let mut t = String::new();
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let _ = writeln!(t, "{BEGIN}\n## Proxy\n");
        let _ = writeln!(
            t,
            "Measured {} with `cargo xtask bench`{} on {cores} cores shared by the backend, the \
             proxies and the load generator (load average at the end: {}; the run took {} s). \
             Release builds of `interop-server` (tonic, the backend of every proxy) and \
             `grpcweb-proxy`; nginx {} with `grpc_pass` and upstream keepalive (it cannot \
             translate gRPC-Web, so it carries native gRPC); grpcwebproxy v0.15.0 (its plain \
             listener speaks HTTP/1.1 only); tonic-web and our layer in-process in front of the \
             same TestService. Load from h2load: 8 connections x 8 streams over HTTP/2, or 64 \
             connections over HTTP/1.1, each path's calls in {} rounds taken in turn across \
             the paths (each round after a warm-up). CPU per call is user+system time from \
             /proc over the rounds divided by their calls: the proxy's (all of nginx's \
             processes), and the backend's (for in-process rows, the one server process); \
             calls/s are the calls over the rounds' time. Compare rows of one run with each \
             other, not across runs.\n",
            date(),
            if self.quick { " (quick subset)" } else { "" },
            self.load_average.as_deref().unwrap_or("?"),
            self.seconds,
            nginx_version().as_deref().unwrap_or("(not run)"),
            super::ROUNDS,
        );
        let _ = writeln!(t, "### Unary calls\n");
        let _ = writeln!(
            t,
            "| path | payload | calls/s | vs direct | vs nginx | mean latency | proxy CPU per call | vs nginx | backend CPU per call | failed |"
        );
        let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.unary {
            let find = |role| {
                self.unary
                    .iter()
                    .find(|d| d.payload == r.payload && d.role == role)
            };
            let direct = find(Role::Direct);
            let nginx = find(Role::Nginx);
            let _ = writeln!(
                t,
                "| {} | {} | {:.0} | {} | {} | {:.2} ms ± {:.2} | {} | {} | {} | {} |",
                r.label,
                size(r.payload),
                r.summary.calls_per_sec,
                ratio(
                    Some(r.summary.calls_per_sec),
                    direct.map(|d| d.summary.calls_per_sec)
                ),
                ratio(
                    Some(r.summary.calls_per_sec),
                    nginx.map(|d| d.summary.calls_per_sec)
                ),
                r.summary.mean_ms,
                r.summary.sd_ms,
                opt(r.proxy_cpu_us, "µs"),
                ratio(r.proxy_cpu_us, nginx.and_then(|n| n.proxy_cpu_us)),
                opt(r.backend_cpu_us, "µs"),
                r.summary.failed,
            );
        }
        if let Some(rate) = self.latency.first().map(|l| l.rate) {
            let _ = writeln!(
                t,
                "\n### Latency at a fixed rate\n\n1 KiB unary calls at {rate} calls/s (4 \
                 connections, one call at a time each) in {} rounds taken in turn across the \
                 paths; percentiles over all the rounds' calls from h2load's per-request log. \
                 Added is the path's percentile less the direct path's; \"vs nginx\" divides \
                 that by nginx's.\n",
                super::ROUNDS,
            );
            let _ = writeln!(
                t,
                "| path | p50 | p99 | added p50 | vs nginx | added p99 | vs nginx | failed |"
            );
            let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|");
            let of = |role| self.latency.iter().find(|l| l.role == role);
            let (direct, nginx) = (of(Role::Direct), of(Role::Nginx));
            // A path's percentile less the direct path's (none for the direct path).
            let added = |l: Option<&LatencyRow>, p: fn(&LatencyRow) -> f64| {
                let (l, d) = (l?, direct?);
                (l.role != Role::Direct).then(|| p(l) - p(d))
            };
            let p50: fn(&LatencyRow) -> f64 = |r| r.p50_ms;
            let p99: fn(&LatencyRow) -> f64 = |r| r.p99_ms;
            let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2} ms"));
            for l in &self.latency {
                let _ = writeln!(
                    t,
                    "| {} | {:.2} ms | {:.2} ms | {} | {} | {} | {} | {} |",
                    l.label,
                    l.p50_ms,
                    l.p99_ms,
                    ms(added(Some(l), p50)),
                    ratio(added(Some(l), p50), added(nginx, p50)),
                    ms(added(Some(l), p99)),
                    ratio(added(Some(l), p99), added(nginx, p99)),
                    l.failed
                );
            }
        }
        if !self.streams.is_empty() {
            let _ = writeln!(
                t,
                "\n### Server streaming\n\nStreamingOutputCall, 1000 responses of 1 KiB per \
                 call, 4 connections x 4 calls in flight (HTTP/2 paths only), in {} rounds taken \
                 in turn across the paths.\n",
                super::ROUNDS,
            );
            let _ = writeln!(
                t,
                "| path | messages/s | proxy CPU per message | backend CPU per message | failed |"
            );
            let _ = writeln!(t, "|---|---:|---:|---:|---:|");
            for s in &self.streams {
                let _ = writeln!(
                    t,
                    "| {} | {:.0} | {} | {} | {} |",
                    s.label,
                    s.messages_per_sec,
                    us2(s.proxy_cpu_us_per_message),
                    us2(s.backend_cpu_us_per_message),
                    s.failed
                );
            }
        }
        if let Some(idle) = &self.idle {
            let _ = writeln!(
                t,
                "\n### Idle streams\n\n{} server streams held open through `grpcweb-proxy` \
                 (gRPC-Web binary, 20 HTTP/2 connections; each stream's one response comes \
                 after 15 s): at most {} open at once by the proxy's in-flight gauge, {} still \
                 open 10 s in; proxy RSS {:.1} MB before, {:.1} MB at the peak ({:.1} KB per \
                 stream asked for); h2load saw {} HTTP 200s (a stream that ends early with a \
                 gRPC error counts too) in {:.1} s.",
                idle.streams,
                idle.peak_open,
                idle.open_at_10s,
                idle.before_kib as f64 / 1024.0,
                idle.peak_kib as f64 / 1024.0,
                idle.peak_kib.saturating_sub(idle.before_kib) as f64
                    / f64::from(idle.streams.max(1)),
                idle.succeeded,
                idle.seconds
            );
        }
        for note in &self.notes {
            let _ = writeln!(t, "\nNote: {note}");
        }
        let _ = writeln!(t, "{END}");
        t
    }

    /// Writes the section into BENCHMARKS.md at `root`.
    pub fn write(&self, root: &Path) -> Result<()> {
        write_section(root, BEGIN, END, &[], &self.markdown())
    }
}

fn nginx_version() -> Option<String> {
    let out = Command::new("nginx").arg("-v").output().ok()?;
    // nginx prints its version on stderr: "nginx version: nginx/1.22.1".
    let text = String::from_utf8_lossy(&out.stderr);
    text.trim().rsplit('/').next().map(str::to_owned)
}

#[cfg(test)]
mod tests;

//! The soak section of BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::Report;
use crate::markdown::{date, write_section};

const BEGIN: &str = "<!-- soak:begin (written by cargo xtask soak) -->";
const END: &str = "<!-- soak:end -->";
/// The section goes after the proxy benchmark's when it is not there yet.
const AFTER: &str = "<!-- proxy:end -->";

/// The section for the run `r`, markers included.
pub(super) fn section(r: &Report) -> String {
    let mut t = String::new();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let command = if r.seconds == 600.0 {
        "cargo xtask soak".to_owned()
    } else {
        format!("cargo xtask soak --seconds {}", r.seconds)
    };
    let verdict = if r.checks.iter().all(|c| c.ok) {
        "every check passed"
    } else {
        "SOME CHECKS FAILED"
    };
    let _ = writeln!(t, "{BEGIN}\n## Soak\n");
    let _ = writeln!(
        t,
        "Run {} with `{command}` on {cores} cores shared by the load driver, the proxy \
         and the backend (load average at the end: {}): {verdict}. Release builds of \
         `interop-server` behind `grpcweb-proxy`; `soak-client` measured the peak of its \
         mix (closed loop, {} calls in flight, {:.0} s): {:.0} calls/s; then sent the \
         mix at {:.0} calls/s for {:.0} s ({} calls, {} skipped; unary p50 {:.1} ms, \
         p99 {:.1} ms). The mix: gRPC-Web binary and text unary calls of 16 B, 1 KiB \
         and 64 KiB over HTTP/2 and HTTP/1.1 (81 %), server streams of 3-5 messages \
         10 ms apart (15 %), and streams of 1000 messages 20 ms apart that the client \
         drops after 2 (9 %). {}.\n",
        date(),
        r.load_average.as_deref().unwrap_or("?"),
        super::PEAK_CONCURRENCY,
        r.peak.seconds,
        r.peak.calls_per_sec,
        r.rate,
        r.load.seconds,
        r.load.finished,
        r.load.skipped,
        r.load.p50_ms,
        r.load.p99_ms,
        r.restart_text()
    );
    let _ = writeln!(t, "| outcome | calls |\n|---|---:|");
    for (label, n) in r.outcome_rows() {
        let _ = writeln!(t, "| {label} | {n} |");
    }
    for e in &r.examples {
        let _ = writeln!(t, "\nExample: {}", e.replace('|', "\\|"));
    }
    let _ = writeln!(
        t,
        "\nThe proxy, read from /proc every {} s: before the load, {} s into it, the \
         highest reading, and {} s after the load ended (the backend is a new process \
         after the restart). The proxy's in-flight gauge read at most {:.0} during the \
         load.\n",
        super::SAMPLE_EVERY.as_secs(),
        r.warm_at_s.round(),
        super::SETTLE.as_secs(),
        r.max_in_flight()
    );
    let _ = writeln!(
        t,
        "| | before the load | after warm-up | max | end |\n|---|---:|---:|---:|---:|"
    );
    for (what, idle, warm, max, end) in r.resource_rows() {
        let _ = writeln!(t, "| {what} | {idle} | {warm} | {max} | {end} |");
    }
    let _ = writeln!(
        t,
        "\nAfter the load: CPU backend {:.2} %, proxy {:.2} % of a core; the proxy's \
         admin /metrics: {} calls in flight, {} client connections, {} calls counted \
         CLIENT_GONE.\n",
        r.backend_idle_cpu_pct,
        r.proxy_idle_cpu_pct,
        opt(r.in_flight_end),
        opt(r.connections_end),
        opt(r.client_gone)
    );
    let _ = writeln!(t, "| check | result |\n|---|---|");
    for c in &r.checks {
        let mark = if c.ok { "ok" } else { "**FAILED**" };
        let _ = writeln!(t, "| {} | {mark}: {} |", c.name, c.detail);
    }
    let _ = writeln!(t, "{END}");
    t
}

/// Writes the section for the run `r` into BENCHMARKS.md at `root`: in place of the
/// previous one, or after the proxy section (at the end when there is none).
pub(super) fn write(root: &Path, r: &Report) -> Result<()> {
    write_section(root, BEGIN, END, &[AFTER], &section(r))
}

/// `current` with the soak section replaced by `section`, as [`write`] does it.
#[cfg(test)]
pub(super) fn splice(current: &str, section: &str) -> String {
    crate::markdown::splice(current, BEGIN, END, &[AFTER], section)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "?".to_owned(), |v| format!("{v}"))
}

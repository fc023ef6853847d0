//! The endurance run (`cargo xtask soak`): its parameters, what it found (the driver's
//! tallies, the restart window, the `/proc` readings), the pass/fail checks ([`checks`]);
//! printed as a table and written into BENCHMARKS.md between the soak markers.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};

mod checks;
mod markdown;

pub use checks::checks;

/// Share of the measured peak the run sends.
pub const LOAD_FRACTION: f64 = 0.7;
/// Length of the peak measurement.
pub const PEAK_SECONDS: f64 = 10.0;
/// Calls in flight while measuring the peak.
pub const PEAK_CONCURRENCY: u32 = 256;
/// Time between two readings of `/proc`.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How long the backend stays down.
pub const DOWN_FOR: Duration = Duration::from_secs(2);
/// After the new backend listens, how long failing calls still count as the restart's:
/// the proxy's default health check runs every 5 s.
pub const RECOVERY_GRACE: Duration = Duration::from_secs(6);
/// Pause between the end of the load and the final readings.
pub const SETTLE: Duration = Duration::from_secs(10);
/// The driver's label for a call it dropped itself.
const CLIENT_ABORT: &str = "CLIENT_ABORT";

/// What one `soak-client` run printed.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// How long the driver ran.
    pub seconds: f64,
    /// Calls that ended.
    pub finished: u64,
    /// Calls due that the driver could not start in time.
    pub skipped: u64,
    /// Finished calls per second.
    pub calls_per_sec: f64,
    /// Median unary latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile unary latency, in milliseconds.
    pub p99_ms: f64,
    /// (kind, outcome label, calls).
    pub counts: Vec<(String, String, u64)>,
}

impl Tally {
    /// Parses the `summary k=v ...` line and the `count KIND OUTCOME N` lines.
    pub fn parse(lines: &[String]) -> Result<Self> {
        let mut t = Self::default();
        let summary = lines
            .iter()
            .find_map(|l| l.strip_prefix("summary "))
            .context("soak-client printed no summary line")?;
        for pair in summary.split_whitespace() {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let number = || value.parse::<f64>().unwrap_or(f64::NAN);
            match key {
                "seconds" => t.seconds = number(),
                "finished" => t.finished = value.parse().unwrap_or(0),
                "skipped" => t.skipped = value.parse().unwrap_or(0),
                "calls_per_sec" => t.calls_per_sec = number(),
                "unary_p50_ms" => t.p50_ms = number(),
                "unary_p99_ms" => t.p99_ms = number(),
                _ => {}
            }
        }
        for line in lines.iter().filter_map(|l| l.strip_prefix("count ")) {
            let mut f = line.split_whitespace();
            if let (Some(kind), Some(outcome), Some(Ok(n))) =
                (f.next(), f.next(), f.next().map(str::parse))
            {
                t.counts.push((kind.to_owned(), outcome.to_owned(), n));
            }
        }
        Ok(t)
    }

    fn total(&self, outcome: &str) -> u64 {
        self.counts
            .iter()
            .filter(|(_, o, _)| o == outcome)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// Calls the client dropped itself.
    pub fn client_aborts(&self) -> u64 {
        self.total(CLIENT_ABORT)
    }

    /// Calls the client gave up on (its own timeout).
    pub fn timeouts(&self) -> u64 {
        self.total("CLIENT_TIMEOUT")
    }

    /// Calls that ended neither OK nor in the client's own abort.
    fn failed(&self) -> u64 {
        self.finished - self.total("OK") - self.client_aborts()
    }
}

/// The proxy (and backend) at one moment.
#[derive(Debug, Default, Clone)]
pub struct Sample {
    /// Proxy RSS, in KiB.
    pub proxy_rss_kib: u64,
    /// Proxy open descriptors.
    pub proxy_fds: u64,
    /// Backend RSS, in KiB.
    pub backend_rss_kib: u64,
    /// The proxy's in-flight gauge (NaN when unreadable).
    pub in_flight: f64,
}

/// The backend restart and the failures it explains.
#[derive(Debug, Default, Clone)]
pub struct Restart {
    /// Seconds into the load.
    pub at_s: f64,
    /// When the backend was killed (Unix ms).
    pub kill_ms: u64,
    /// When the new backend listened (Unix ms).
    pub ready_ms: u64,
    /// UNAVAILABLE for calls in flight at the kill.
    pub in_flight: u64,
    /// UNAVAILABLE for calls started after the kill, up to the grace after the restart.
    pub later: u64,
    /// When the last UNAVAILABLE of the window ended, relative to the restart (ms).
    pub last_after_ready_ms: Option<i64>,
}

impl Restart {
    /// A restart with no failures counted yet.
    pub fn new(at_s: f64, kill_ms: u64, ready_ms: u64) -> Self {
        Self {
            at_s,
            kill_ms,
            ready_ms,
            ..Self::default()
        }
    }
}

/// One pass/fail check.
#[derive(Debug)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// The figures behind the verdict.
    pub detail: String,
}

impl Check {
    /// A check and its verdict.
    pub fn new(name: &'static str, ok: bool, detail: String) -> Self {
        Self { name, ok, detail }
    }
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// How long the load ran, as asked.
    pub seconds: f64,
    /// The peak measurement.
    pub peak: Tally,
    /// Calls per second sent during the load.
    pub rate: f64,
    /// The load run.
    pub load: Tally,
    /// The backend restart, once it happened.
    pub restart: Option<Restart>,
    /// Unexpected outcomes of the load by label, and a few examples.
    pub unexpected: BTreeMap<String, u64>,
    /// A few of the unexpected outcomes, as lines for the report.
    pub examples: Vec<String>,
    /// The readings before any load.
    pub idle: Sample,
    /// The readings after warm-up.
    pub warm: Option<Sample>,
    /// Seconds into the load when `warm` was read.
    pub warm_at_s: f64,
    /// The readings during the load.
    pub samples: Vec<Sample>,
    /// The readings after the settle.
    pub end: Sample,
    /// Backend CPU during the settle, in percent of a core.
    pub backend_idle_cpu_pct: f64,
    /// Proxy CPU during the settle, in percent of a core.
    pub proxy_idle_cpu_pct: f64,
    /// The proxy's in-flight gauge at the end.
    pub in_flight_end: Option<f64>,
    /// The proxy's client connections at the end.
    pub connections_end: Option<f64>,
    /// Calls the proxy counted as CLIENT_GONE.
    pub client_gone: Option<f64>,
    /// The machine's load average at the end.
    pub load_average: Option<String>,
    /// The verdicts ([`checks`]).
    pub checks: Vec<Check>,
}

impl Report {
    /// Sorts the driver's event lines (`OUTCOME\tKIND\tSTART_MS\tEND_MS\tMESSAGE`) into
    /// the restart's UNAVAILABLEs and the unexpected rest.
    pub fn classify(&mut self, events: &str, grace: Duration) {
        let grace_ms = grace.as_millis() as u64;
        let mut seen = 0;
        for line in events.lines() {
            let mut f = line.splitn(5, '\t');
            let (Some(label), Some(kind), Some(start), Some(end)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            let message = f.next().unwrap_or("");
            let start: u64 = start.parse().unwrap_or(0);
            let end: u64 = end.parse().unwrap_or(0);
            seen += 1;
            if label == "UNAVAILABLE"
                && let Some(r) = &mut self.restart
                && end >= r.kill_ms
                && start <= r.ready_ms + grace_ms
            {
                if start < r.kill_ms {
                    r.in_flight += 1;
                } else {
                    r.later += 1;
                }
                let after = end as i64 - r.ready_ms as i64;
                r.last_after_ready_ms = r.last_after_ready_ms.max(Some(after));
                continue;
            }
            *self.unexpected.entry(label.to_owned()).or_default() += 1;
            // A few of each kind of failure.
            let prefix = format!("{label} on ");
            let shown = self
                .examples
                .iter()
                .filter(|e| e.starts_with(&prefix))
                .count();
            if shown < 2 && self.examples.len() < 12 {
                let at = self.restart.as_ref().map_or_else(String::new, |r| {
                    format!(
                        ", started {:+.1} s from the kill",
                        (start as f64 - r.kill_ms as f64) / 1000.0
                    )
                });
                self.examples.push(format!(
                    "{label} on {kind} after {} ms{at}: {message}",
                    end.saturating_sub(start)
                ));
            }
        }
        // Calls the driver counted but wrote no line for (it should not happen).
        let missing = self.load.failed().saturating_sub(seen);
        if missing > 0 {
            *self.unexpected.entry("UNLOGGED".to_owned()).or_default() += missing;
        }
        // The peak run has no restart: every failure there is unexpected.
        for (_, outcome, n) in &self.peak.counts {
            if outcome != "OK" && outcome != CLIENT_ABORT {
                *self
                    .unexpected
                    .entry(format!("{outcome} (peak run)"))
                    .or_default() += n;
            }
        }
    }

    /// Unexpected outcomes in all.
    pub fn unexpected_total(&self) -> u64 {
        self.unexpected.values().sum()
    }

    fn max(&self, f: impl Fn(&Sample) -> u64) -> u64 {
        self.samples.iter().map(f).max().unwrap_or(0)
    }

    /// The outcome rows: (outcome, calls).
    fn outcome_rows(&self) -> Vec<(String, u64)> {
        let mut rows = vec![
            ("OK".to_owned(), self.load.total("OK")),
            (
                "CANCELLED by the client's own abort (expected)".to_owned(),
                self.load.client_aborts(),
            ),
        ];
        if let Some(r) = &self.restart {
            rows.push((
                "UNAVAILABLE, in flight at the backend kill (expected)".to_owned(),
                r.in_flight,
            ));
            rows.push((
                "UNAVAILABLE, started while the backend was down or recovering (expected)"
                    .to_owned(),
                r.later,
            ));
        }
        for (label, n) in &self.unexpected {
            rows.push((format!("{label} (unexpected)"), *n));
        }
        rows
    }

    /// The highest reading of the proxy's in-flight gauge during the load.
    fn max_in_flight(&self) -> f64 {
        self.samples
            .iter()
            .map(|s| s.in_flight)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    }

    /// (what, idle start, after warm-up, max, end) for the proxy, and the backend's
    /// memory (a new process after the restart).
    fn resource_rows(&self) -> [(&'static str, u64, u64, u64, u64); 3] {
        let warm = self.warm.clone().unwrap_or_default();
        [
            (
                "proxy RSS (KiB)",
                self.idle.proxy_rss_kib,
                warm.proxy_rss_kib,
                self.max(|s| s.proxy_rss_kib),
                self.end.proxy_rss_kib,
            ),
            (
                "proxy open fds",
                self.idle.proxy_fds,
                warm.proxy_fds,
                self.max(|s| s.proxy_fds),
                self.end.proxy_fds,
            ),
            (
                "backend RSS (KiB)",
                self.idle.backend_rss_kib,
                warm.backend_rss_kib,
                self.max(|s| s.backend_rss_kib),
                self.end.backend_rss_kib,
            ),
        ]
    }

    fn restart_text(&self) -> String {
        let Some(r) = &self.restart else {
            return "no backend restart".to_owned();
        };
        let last = match r.last_after_ready_ms {
            Some(ms) if ms > 0 => {
                format!("the last UNAVAILABLE of the restart ended {ms} ms after that")
            }
            _ => "no UNAVAILABLE ended after that".to_owned(),
        };
        format!(
            "backend killed (SIGKILL) at {:.0} s of the load and listening again on the same \
             port {} ms later; {last}",
            r.at_s,
            r.ready_ms.saturating_sub(r.kill_ms),
        )
    }

    /// Prints the results and the checks to the console.
    pub fn print(&self) {
        println!(
            "\nsoak: {:.0} s at {:.0} calls/s ({:.0} % of the peak {:.0} calls/s), {} calls, \
             {} skipped; unary p50 {:.1} ms, p99 {:.1} ms",
            self.load.seconds,
            self.rate,
            self.rate / self.peak.calls_per_sec.max(1.0) * 100.0,
            self.peak.calls_per_sec,
            self.load.finished,
            self.load.skipped,
            self.load.p50_ms,
            self.load.p99_ms
        );
        println!("{}", self.restart_text());
        println!("\n{:<78} {:>10}", "outcome", "calls");
        for (label, n) in self.outcome_rows() {
            println!("{label:<78} {n:>10}");
        }
        for e in &self.examples {
            println!("  e.g. {e}");
        }
        println!(
            "\n{:<18} {:>10} {:>13} {:>10} {:>10}",
            "", "idle start", "after warm-up", "max", "end"
        );
        for (what, idle, warm, max, end) in self.resource_rows() {
            println!("{what:<18} {idle:>10} {warm:>13} {max:>10} {end:>10}");
        }
        println!(
            "in flight at most {:.0} during the load; CPU during the settle: backend {:.2} %, \
             proxy {:.2} % of a core; load average {}",
            self.max_in_flight(),
            self.backend_idle_cpu_pct,
            self.proxy_idle_cpu_pct,
            self.load_average.as_deref().unwrap_or("?")
        );
        println!();
        for c in &self.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            println!("[{mark}] {}: {}", c.name, c.detail);
        }
    }

    /// Writes the section into BENCHMARKS.md at `root`.
    pub fn write(&self, root: &Path) -> Result<()> {
        markdown::write(root, self)
    }
}

#[cfg(test)]
mod tests;

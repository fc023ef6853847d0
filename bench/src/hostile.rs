//! The report of `cargo xtask bench hostile` (the proxy under attack), its section of
//! BENCHMARKS.md: one row per attack next to the baseline, then what each attack did as
//! the attacker saw it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::markdown::{date, write_section};

const BEGIN: &str = "<!-- hostile:begin (written by cargo xtask bench hostile) -->";
const END: &str = "<!-- hostile:end -->";
/// The section goes after the soak section, or after the proxy one, when it is not there
/// yet.
const AFTER: [&str; 2] = ["<!-- soak:end -->", "<!-- proxy:end -->"];

/// The normal calls of one run, from `hostile-client`'s `probe` line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Probe {
    /// Normal calls made.
    pub calls: u64,
    /// Normal calls that failed or took over 3 s.
    pub errors: u64,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
    /// Slowest call, in milliseconds.
    pub max_ms: f64,
}

impl Probe {
    /// `calls=N ok=N errors=N p50_ms=X p99_ms=X max_ms=X`; missing fields read as 0 (NaN
    /// for latencies).
    pub fn parse(line: &str) -> Self {
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        };
        let count = |key| field(key).and_then(|v| v.parse().ok()).unwrap_or(0);
        let ms = |key| field(key).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        Self {
            calls: count("calls"),
            errors: count("errors"),
            p50_ms: ms("p50_ms"),
            p99_ms: ms("p99_ms"),
            max_ms: ms("max_ms"),
        }
    }
}

/// One attack's readings.
#[derive(Debug, Default)]
pub struct Row {
    /// What the table calls the attack.
    pub label: &'static str,
    /// What the attacker saw (`hostile-client`'s `attack` line).
    pub attack: String,
    /// Proxy RSS before the attack, in KiB.
    pub rss_before_kib: u64,
    /// Highest VmRSS read while the attack ran.
    pub rss_peak_kib: u64,
    /// VmHWM: the kernel's peak, between readings too.
    pub hwm_kib: u64,
    /// Proxy RSS after the attack, in KiB.
    pub rss_after_kib: u64,
    /// Proxy descriptors before the attack.
    pub fds_before: u64,
    /// Most proxy descriptors read while it ran.
    pub fds_peak: u64,
    /// Proxy descriptors after the attack.
    pub fds_after: u64,
    /// The normal calls made during the attack.
    pub probe: Probe,
    /// `ok=N of=N`: calls made once the attack had stopped.
    pub after_calls: String,
    /// The proxy process was still running at the end.
    pub alive: bool,
    /// What went wrong with the run itself (an overrun, a killed proxy).
    pub notes: Vec<String>,
}

impl Row {
    /// One line for the console.
    pub fn summary(&self) -> String {
        format!(
            "RSS {} / {} / {}, fds {} / {} / {}, normal calls {} ms, {} of {} failed, after: {}",
            mib(self.rss_before_kib),
            mib(self.peak_kib()),
            mib(self.rss_after_kib),
            self.fds_before,
            self.fds_peak,
            self.fds_after,
            latency(&self.probe),
            self.probe.errors,
            self.probe.calls,
            self.after_text()
        )
    }

    fn peak_kib(&self) -> u64 {
        self.rss_peak_kib.max(self.hwm_kib)
    }

    fn after_text(&self) -> String {
        if !self.alive {
            return "**proxy gone**".to_owned();
        }
        let field = |key: &str| {
            self.after_calls
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("?")
                .to_owned()
        };
        format!("{} of {} OK", field("ok"), field("of"))
    }
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// A `--quick` run (shorter attacks).
    pub quick: bool,
    /// How long each attack ran.
    pub seconds_per_attack: u32,
    /// Normal calls started per second.
    pub probe_rate: u32,
    /// The baseline, then one row per attack.
    pub rows: Vec<Row>,
    /// How long the run took.
    pub seconds: u64,
    /// The machine's load average at the end.
    pub load_average: Option<String>,
}

impl Report {
    /// The section, markers included.
    pub fn markdown(&self) -> String {
        let mut t = String::new();
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let _ = writeln!(t, "{BEGIN}\n## Hostile load\n");
        let _ = writeln!(
            t,
            "Measured {} with `cargo xtask bench hostile{}` on {cores} cores shared by the \
             backend, the proxy and the attacker (load average at the end: {}; the run took \
             {} s). For the baseline and for each attack, a fresh release `grpcweb-proxy` \
             (default settings unless the row says otherwise) in front of a fresh release \
             `interop-server`, on loopback. `hostile-client` runs the attack for {} s while \
             it starts {} normal calls a second: a 1 KiB `UnaryCall`, gRPC-Web binary over \
             h2c, each on a new connection; a call that fails or takes over 3 s counts as \
             failed. The proxy's resident memory and open descriptors are read from /proc \
             every 100 ms; the peak RSS is the highest of those readings and the kernel's \
             VmHWM. \"After\" is read 3 s after the attack stopped, once the attacker has \
             exited; the last column is 3 normal calls made 1 s after the attack stopped. \
             Compare each row with the baseline row of the same run.\n",
            date(),
            if self.quick { " --quick" } else { "" },
            self.load_average.as_deref().unwrap_or("?"),
            self.seconds,
            self.seconds_per_attack,
            self.probe_rate,
        );
        let _ = writeln!(
            t,
            "| attack | proxy RSS before / peak / after | fds before / peak / after | normal calls p50 / p99 / max | normal calls failed | after the attack |"
        );
        let _ = writeln!(t, "|---|---|---|---|---:|---|");
        for r in &self.rows {
            let _ = writeln!(
                t,
                "| {} | {} / {} / {} | {} / {} / {} | {} ms | {} of {} | {}{} |",
                r.label,
                mib(r.rss_before_kib),
                mib(r.peak_kib()),
                mib(r.rss_after_kib),
                r.fds_before,
                r.fds_peak,
                r.fds_after,
                latency(&r.probe),
                r.probe.errors,
                r.probe.calls,
                r.after_text(),
                r.notes.iter().map(|n| format!("; {n}")).collect::<String>()
            );
        }
        let _ = writeln!(t, "\nWhat each attack did, as the attacker saw it:\n");
        for (i, r) in self.rows.iter().enumerate() {
            let attack = if r.attack.is_empty() {
                "(no report from the attacker)"
            } else {
                &r.attack
            };
            let _ = writeln!(t, "{}. {}: {}", i + 1, r.label, attack.replace('|', "\\|"));
        }
        let _ = writeln!(t, "{END}");
        t
    }

    /// Writes the section into BENCHMARKS.md at `root`.
    pub fn write(&self, root: &Path) -> Result<()> {
        write_section(root, BEGIN, END, &AFTER, &self.markdown())
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn latency(p: &Probe) -> String {
    let ms = |v: f64| {
        if v.is_nan() {
            "-".to_owned()
        } else {
            format!("{v:.1}")
        }
    };
    format!("{} / {} / {}", ms(p.p50_ms), ms(p.p99_ms), ms(p.max_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_probe_lines() {
        let p = Probe::parse("calls=160 ok=158 errors=2 p50_ms=1.25 p99_ms=3.00 max_ms=NaN");
        assert_eq!((p.calls, p.errors), (160, 2));
        assert!((p.p50_ms - 1.25).abs() < 1e-9 && p.max_ms.is_nan());
        assert_eq!(latency(&p), "1.2 / 3.0 / -");
        assert_eq!(Probe::parse("").calls, 0);
    }

    #[test]
    fn the_section_has_a_row_per_attack() {
        let report = Report {
            rows: vec![Row {
                label: "flood",
                attack: "sent a | b".to_owned(),
                rss_before_kib: 1024,
                rss_peak_kib: 2048,
                hwm_kib: 4096,
                alive: true,
                after_calls: "ok=3 of=3".to_owned(),
                probe: Probe::parse("calls=2 errors=1 p50_ms=1 p99_ms=2 max_ms=3"),
                ..Row::default()
            }],
            ..Report::default()
        };
        let md = report.markdown();
        assert!(md.starts_with(BEGIN) && md.trim_end().ends_with(END));
        assert!(md.contains(
            "| flood | 1.0 MiB / 4.0 MiB / 0.0 MiB | 0 / 0 / 0 | 1.0 / 2.0 / 3.0 ms | 1 of 2 | 3 of 3 OK |"
        ));
        assert!(md.contains("1. flood: sent a \\| b"));
    }
}

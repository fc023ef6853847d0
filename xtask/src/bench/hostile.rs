//! `cargo xtask bench hostile`: the proxy under attack. For the baseline and then for each
//! attack, a fresh release `interop-server` and `grpcweb-proxy` are started;
//! `hostile-client` (interop/src/bin) runs the attack for a bounded time while it makes
//! normal calls through the proxy at a fixed rate, and this task reads the proxy's
//! resident memory and open descriptors from `/proc` every [`SAMPLE_EVERY`]. The table
//! (peaks, what is left after the attack, the normal calls' latency and failures next to
//! the baseline's) goes into BENCHMARKS.md between the hostile markers.
//!
//! `--quick` (or `GRPCWEB_BENCH_QUICK=1`) runs each attack for [`QUICK_SECONDS`]
//! instead of [`SECONDS`]; `--only ATTACK` runs the baseline and that attack and prints
//! the section instead of writing it.
//!
//! # Limitations
//! Attacker, proxy and backend share the machine's cores, so the normal calls' latency
//! during a CPU-heavy flood also measures the attacker. A proxy whose resident memory
//! passes [`RSS_CEILING_KIB`] is killed (the row says so) rather than let it take the
//! machine.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use grpcweb_bench::hostile::{Probe, Report, Row};
use grpcweb_bench::procfs::{fds, load_average, peak_rss_kib, rss_kib};

use super::driver::Driver;
use crate::children::{Children, free_port};
use crate::run::{target_dir, workspace_root};

/// Length of each attack, and of the baseline.
const SECONDS: u32 = 8;
const QUICK_SECONDS: u32 = 3;
/// Normal calls started per second during each run.
const PROBE_RATE: u32 = 20;
/// Time between two readings of `/proc`.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Pause after the attacker exits before the "after" readings.
const SETTLE: Duration = Duration::from_secs(2);
/// Longest the attacker may run beyond its attack before it is killed.
const OVERRUN: Duration = Duration::from_secs(20);
/// A proxy using more than this much memory is killed (4 GiB).
const RSS_CEILING_KIB: u64 = 4 << 20;

/// One run: the attack's name for `hostile-client --attack`, what the table calls it,
/// and the proxy's settings for it.
#[derive(Debug)]
struct Case {
    attack: &'static str,
    label: &'static str,
    /// Extra `grpcweb-proxy` flags.
    flags: &'static [&'static str],
    /// A config file for the proxy (TOML), for keys without a flag.
    config: Option<&'static str>,
}

/// The baseline, then the attacks.
const CASES: [Case; 9] = [
    Case {
        attack: "none",
        label: "none (baseline)",
        flags: &[],
        config: None,
    },
    Case {
        attack: "empty-frames",
        label: "24 bodies of 851,968 empty frames",
        flags: &[],
        config: None,
    },
    Case {
        attack: "native-endless",
        label: "native gRPC bodies that never end (--max-timeout-ms 1000)",
        flags: &["--max-timeout-ms", "1000"],
        config: None,
    },
    Case {
        attack: "slow-readers",
        label: "8 slow readers of a 16 MiB stream",
        flags: &[],
        config: None,
    },
    Case {
        attack: "metrics",
        label: "metrics poisoning",
        flags: &[],
        config: None,
    },
    Case {
        attack: "slowloris",
        label: "slowloris (--max-connections 64, header_read_timeout 2s)",
        flags: &["--max-connections", "64"],
        config: Some("[limits]\nheader_read_timeout = \"2s\"\n"),
    },
    Case {
        attack: "rapid-reset",
        label: "HTTP/2 rapid reset",
        flags: &[],
        config: None,
    },
    Case {
        attack: "settings-ping",
        label: "SETTINGS and PING flood",
        flags: &[],
        config: None,
    },
    Case {
        attack: "zero-data",
        label: "zero-length DATA flood",
        flags: &[],
        config: None,
    },
];

/// Options of `cargo xtask bench hostile`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Shorter attacks.
    pub(crate) quick: bool,
    /// Only the baseline and this attack, printed, not written.
    pub(crate) only: Option<String>,
}

/// `[--quick] [--only ATTACK]`.
pub(crate) fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--only" => {
                let name = args.next().context("--only needs an attack name")?;
                if !CASES.iter().any(|c| c.attack == name) {
                    let names: Vec<&str> = CASES.iter().map(|c| c.attack).collect();
                    bail!("--only: no attack {name:?} (one of {})", names.join(", "));
                }
                options.only = Some(name.clone());
            }
            other => bail!("unknown argument to `bench hostile`: {other:?}"),
        }
    }
    Ok(options)
}

pub(crate) fn run(options: &Options) -> Result<()> {
    let quick = options.quick || std::env::var_os("GRPCWEB_BENCH_QUICK").is_some_and(|v| v != "0");
    let seconds = if quick { QUICK_SECONDS } else { SECONDS };
    let root = workspace_root();
    super::build_release(&root)?;
    let bin_dir = target_dir(&root).join("release");
    let work = target_dir(&root).join("bench-hostile");
    std::fs::create_dir_all(&work)?;
    let started = Instant::now();
    let mut report = Report {
        quick,
        seconds_per_attack: seconds,
        probe_rate: PROBE_RATE,
        ..Report::default()
    };
    let chosen = CASES.iter().filter(|c| {
        c.attack == "none" || options.only.as_ref().is_none_or(|only| only == c.attack)
    });
    for case in chosen {
        println!("\n== {} ==", case.label);
        let row = run_case(case, &bin_dir, &work, seconds)
            .with_context(|| format!("attack {}", case.attack))?;
        println!("{}", row.summary());
        report.rows.push(row);
    }
    report.seconds = started.elapsed().as_secs();
    report.load_average = load_average();
    if options.only.is_some() {
        print!("{}", report.markdown());
        return Ok(());
    }
    report.write(&root)
}

/// Starts a backend and a proxy for `case`, runs the attacker against them while reading
/// `/proc`, and stops them.
fn run_case(case: &Case, bin_dir: &Path, work: &Path, seconds: u32) -> Result<Row> {
    let mut children = Children::default();
    // The attacks make the proxy log a line per refused connection or stream.
    children
        .env
        .push(("RUST_LOG".to_owned(), "error".to_owned()));
    let backend = children.start(bin_dir, "interop-server", &["--port", "0"])?;
    let admin = format!("127.0.0.1:{}", free_port()?);
    let backend_url = format!("http://{backend}");
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        &admin,
        "--backend",
        &backend_url,
    ];
    args.extend(case.flags);
    let config_path = work.join(format!("{}.toml", case.attack));
    let config_arg = config_path.display().to_string();
    if let Some(config) = case.config {
        std::fs::write(&config_path, config)?;
        args.extend(["--config", &config_arg]);
    }
    let proxy = children.start(bin_dir, "grpcweb-proxy", &args)?;
    let pid = children.pid("grpcweb-proxy").context("proxy pid")?;
    let mut row = Row {
        label: case.label,
        rss_before_kib: rss_kib(pid).unwrap_or(0),
        fds_before: fds(pid).unwrap_or(0),
        ..Row::default()
    };

    let mut driver = Driver::start(
        bin_dir,
        "hostile-client",
        &[
            "--target".to_owned(),
            proxy,
            "--admin".to_owned(),
            admin,
            "--attack".to_owned(),
            case.attack.to_owned(),
            "--seconds".to_owned(),
            seconds.to_string(),
            "--probe-rate".to_owned(),
            PROBE_RATE.to_string(),
        ],
    )?;
    let deadline = Instant::now() + Duration::from_secs(u64::from(seconds)) + OVERRUN;
    while !driver.done()? {
        if Instant::now() >= deadline {
            row.notes
                .push("the attacker overran and was killed".to_owned());
            break;
        }
        let rss = rss_kib(pid).unwrap_or(0);
        row.rss_peak_kib = row.rss_peak_kib.max(rss);
        row.fds_peak = row.fds_peak.max(fds(pid).unwrap_or(0));
        row.hwm_kib = peak_rss_kib(pid).unwrap_or(row.hwm_kib);
        if rss > RSS_CEILING_KIB {
            row.notes.push(format!("proxy killed at {} MiB", rss >> 10));
            drop(children);
            return Ok(row);
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    let lines = if driver.done()? {
        driver.finish()?
    } else {
        drop(driver);
        Vec::new()
    };
    std::thread::sleep(SETTLE);
    row.alive = rss_kib(pid).is_some();
    row.rss_after_kib = rss_kib(pid).unwrap_or(0);
    row.fds_after = fds(pid).unwrap_or(0);
    row.hwm_kib = peak_rss_kib(pid).unwrap_or(row.hwm_kib);
    for line in &lines {
        if let Some(rest) = line.strip_prefix("probe ") {
            row.probe = Probe::parse(rest);
        } else if let Some(rest) = line.strip_prefix("after ") {
            row.after_calls = rest.to_owned();
        } else if let Some(rest) = line.strip_prefix("attack ") {
            row.attack = rest.to_owned();
        }
    }
    drop(children);
    Ok(row)
}

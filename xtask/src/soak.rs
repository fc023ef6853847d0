//! `cargo xtask soak`: the endurance run (not a test, not in CI); its parameters, checks
//! and report are in `grpcweb_bench::soak`. Release builds of
//! `interop-server` (the backend) and `grpcweb-proxy` in front of it; `soak-client`
//! (interop/src/bin) first measures the peak of its call mix through the proxy, then
//! sends that mix at [`LOAD_FRACTION`] of the peak for the whole run: gRPC-Web binary and
//! text unary calls of several sizes over HTTP/2 and HTTP/1.1, server streams, and
//! streams it aborts itself. Halfway through, the backend gets SIGKILL and is started
//! again on the same port [`DOWN_FOR`] later.
//!
//! Every call is classified: OK; UNAVAILABLE in the restart window (from the kill to
//! [`RECOVERY_GRACE`] after the new backend listens) is expected; so is the client's own
//! abort; anything else is unexpected. Every [`SAMPLE_EVERY`] the proxy's resident memory
//! and open descriptors are read from `/proc`; after the load stops and [`SETTLE`] passes
//! they are compared with the readings after warm-up, and the admin `/metrics` must show
//! no call in flight. The backend must be idle during the settle: an aborted stream the
//! proxy failed to cancel keeps the backend sending for 20 s. Any failed check makes the
//! task fail; the results go into BENCHMARKS.md between the soak markers.
//!
//! # Limitations
//! Linux only (`/proc`). The load driver, the proxy and the backend share one machine, so
//! "70 % of peak" is 70 % of what the three together reach, and other work on the machine
//! moves it.

mod procs;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use grpcweb_bench::metrics;
use grpcweb_bench::procfs::{fds, load_average, rss_kib, ticks_of as cpu_ticks, ticks_per_sec};
use grpcweb_bench::soak::{
    DOWN_FOR, LOAD_FRACTION, PEAK_CONCURRENCY, PEAK_SECONDS, RECOVERY_GRACE, Report, Restart,
    SAMPLE_EVERY, SETTLE, Sample, Tally, checks,
};

use crate::bench::driver::Driver;
use crate::children::{Children, free_port};
use crate::run::{target_dir, workspace_root};
use procs::Backend;

/// Options of `cargo xtask soak`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// How long the load runs, after the peak measurement.
    pub(crate) duration: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(600),
        }
    }
}

pub(crate) fn run(options: &Options) -> Result<()> {
    let seconds = options.duration.as_secs_f64();
    let root = workspace_root();
    crate::bench::build_release(&root)?;
    let bin_dir = target_dir(&root).join("release");
    let work = target_dir(&root).join("soak");
    std::fs::create_dir_all(&work)?;
    let events = work.join("events.tsv");

    let mut backend = Backend::start(&bin_dir, 0)?;
    let backend_port = backend.port()?;
    let admin = format!("127.0.0.1:{}", free_port()?);
    let mut children = Children::default();
    children
        .env
        .push(("RUST_LOG".to_owned(), "warn".to_owned()));
    let proxy = children.start(
        &bin_dir,
        "grpcweb-proxy",
        &[
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            &admin,
            "--backend",
            &format!("http://{}", backend.addr),
        ],
    )?;
    let proxy_pid = children.pid("grpcweb-proxy").context("proxy pid")?;
    let mut report = Report {
        seconds,
        ..Report::default()
    };
    let sample = |backend: &Backend| Sample {
        proxy_rss_kib: rss_kib(proxy_pid).unwrap_or(0),
        proxy_fds: fds(proxy_pid).unwrap_or(0),
        backend_rss_kib: rss_kib(backend.pid()).unwrap_or(0),
        in_flight: metrics::read(&admin, "grpcweb_in_flight_calls").unwrap_or(f64::NAN),
    };
    report.idle = sample(&backend);

    // The peak of the same mix, closed loop.
    let peak = Driver::start(
        &bin_dir,
        "soak-client",
        &[
            "--target".to_owned(),
            proxy.clone(),
            "--seconds".to_owned(),
            PEAK_SECONDS.to_string(),
            "--concurrency".to_owned(),
            PEAK_CONCURRENCY.to_string(),
        ],
    )?
    .finish()?;
    report.peak = Tally::parse(&peak)?;
    report.rate = (report.peak.calls_per_sec * LOAD_FRACTION).round();
    println!(
        "peak {:.0} calls/s; running {:.0} calls/s for {:.0} s",
        report.peak.calls_per_sec, report.rate, seconds
    );

    let warm_up = (seconds / 10.0).clamp(5.0, 30.0);
    let restart_at = Duration::from_secs_f64(seconds / 2.0);
    let load_started = Instant::now();
    let mut driver = Driver::start(
        &bin_dir,
        "soak-client",
        &[
            "--target".to_owned(),
            proxy.clone(),
            "--seconds".to_owned(),
            seconds.to_string(),
            "--rate".to_owned(),
            report.rate.to_string(),
            "--events".to_owned(),
            events.display().to_string(),
        ],
    )?;
    let mut next_sample = Instant::now();
    let mut restart = None;
    while !driver.done()? {
        if Instant::now() >= next_sample {
            let s = sample(&backend);
            let into_load = load_started.elapsed().as_secs_f64();
            if report.warm.is_none() && into_load >= warm_up {
                report.warm = Some(s.clone());
                report.warm_at_s = into_load;
            }
            report.samples.push(s);
            next_sample += SAMPLE_EVERY;
        }
        if restart.is_none() && load_started.elapsed() >= restart_at {
            let at_s = load_started.elapsed().as_secs_f64();
            let (new, r) = restart_backend(&bin_dir, backend, backend_port, at_s)?;
            backend = new;
            restart = Some(r);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let load = driver.finish()?;
    report.load = Tally::parse(&load)?;
    report.restart = restart;

    // Idle: the backend should do nothing, the proxy should let go of everything.
    let hz = ticks_per_sec();
    let (b0, p0) = (cpu_ticks(backend.pid()), cpu_ticks(proxy_pid));
    let settle_start = Instant::now();
    std::thread::sleep(SETTLE);
    let secs = settle_start.elapsed().as_secs_f64();
    let pct = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / hz / secs * 100.0,
        _ => f64::NAN,
    };
    report.backend_idle_cpu_pct = pct(b0, cpu_ticks(backend.pid()));
    report.proxy_idle_cpu_pct = pct(p0, cpu_ticks(proxy_pid));
    report.end = sample(&backend);
    let page = metrics::page(&admin).context("reading the proxy's /metrics")?;
    report.in_flight_end = metrics::sum(&page, "grpcweb_in_flight_calls", &[]);
    report.connections_end = metrics::sum(&page, "grpcweb_client_connections", &[]);
    report.client_gone = metrics::sum(&page, "grpcweb_calls_total", &["code=\"CLIENT_GONE\""]);
    report.load_average = load_average();
    drop(children);
    drop(backend);

    let text = std::fs::read_to_string(&events).unwrap_or_default();
    report.classify(&text, RECOVERY_GRACE);
    report.checks = checks(&report);
    report.print();
    report.write(&root)?;
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name)
        .collect();
    if !failed.is_empty() {
        bail!("soak checks failed: {}", failed.join("; "));
    }
    Ok(())
}

/// SIGKILLs the backend, waits [`DOWN_FOR`], starts a new one on the same port.
fn restart_backend(
    bin_dir: &Path,
    backend: Backend,
    port: u16,
    at_s: f64,
) -> Result<(Backend, Restart)> {
    let kill_ms = procs::unix_ms();
    println!("killing the backend (SIGKILL)");
    backend.kill();
    std::thread::sleep(DOWN_FOR);
    // The port is ours again at once (the listener sets SO_REUSEADDR), unless something
    // else took it meanwhile: try for a few seconds.
    let mut tries = 0;
    let new = loop {
        match Backend::start(bin_dir, port) {
            Ok(b) => break b,
            Err(e) if tries < 10 => {
                tries += 1;
                println!("restart failed ({e:#}); retrying");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => return Err(e.context(format!("restarting the backend on port {port}"))),
        }
    };
    let ready_ms = procs::unix_ms();
    println!(
        "backend back on port {port} after {} ms",
        ready_ms - kill_ms
    );
    Ok((new, Restart::new(at_s, kill_ms, ready_ms)))
}

/// `--minutes N` or `--seconds N` (fractions allowed).
pub(crate) fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let scale = match arg.as_str() {
            "--minutes" => 60.0,
            "--seconds" => 1.0,
            other => bail!("unknown argument to `soak`: {other:?}"),
        };
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a number"))?;
        let n: f64 = value
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n > 0.0)
            .with_context(|| format!("{arg}: not a positive number: {value:?}"))?;
        options.duration = Duration::from_secs_f64(n * scale);
    }
    if options.duration < Duration::from_secs(20) {
        bail!("a soak run needs at least 20 s (warm-up, restart, recovery)");
    }
    Ok(options)
}

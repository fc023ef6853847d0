//! `soak-client`: the load driver of `cargo xtask soak`. It sends a fixed mix of
//! gRPC-Web calls to `grpc.testing.TestService` through a proxy (binary and text unary
//! calls of several sizes over HTTP/2 and HTTP/1.1, server streams, and streams it aborts
//! itself after a few messages) and classifies how each call ended.
//!
//! With `--rate` it starts that many calls per second whatever the proxy does (open
//! loop); without it `--concurrency` calls run back to back (closed loop), which measures
//! the peak. At the end it prints `summary key=value ...` and one `count KIND OUTCOME N`
//! line per kind and outcome. With `--events FILE` every call that ended neither OK nor
//! in the client's own abort gets a line `OUTCOME\tKIND\tSTART_MS\tEND_MS\tMESSAGE`
//! (Unix milliseconds), so the caller can tell failures during a backend restart from
//! the others.
//!
//! # Limitations
//! One process, one machine: at high rates it competes with the proxy for CPU, and a
//! call's latency includes waiting for this process's scheduler.

mod call;
mod mix;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Parser;

use call::Driver;
use mix::MIX;

/// Calls in flight at most in open-loop mode; calls due beyond it are skipped and counted.
const MAX_IN_FLIGHT: usize = 8192;

/// Drive a gRPC-Web soak mix through a proxy.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The proxy's address.
    #[arg(long)]
    target: SocketAddr,
    /// How long to send calls, in seconds.
    #[arg(long)]
    seconds: f64,
    /// Calls started per second (open loop). Without it: closed loop at --concurrency.
    #[arg(long)]
    rate: Option<f64>,
    /// Calls in flight in closed-loop mode.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// HTTP/2 connections to the proxy (HTTP/1.1 calls use a pool of their own).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Where to write one line per call that ended neither OK nor in its own abort.
    #[arg(long)]
    events: Option<PathBuf>,
}

/// The `q` quantile of the latency buckets, in milliseconds.
fn quantile(buckets: &[u64], q: f64) -> f64 {
    let total: u64 = buckets.iter().sum();
    let want = ((total as f64 * q).ceil() as u64).max(1);
    let mut seen = 0;
    for (i, n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= want {
            return (i as f64 + 1.0) / 10.0;
        }
    }
    f64::NAN
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let driver = Arc::new(Driver::new(
        args.target,
        args.connections,
        args.events.as_deref(),
    )?);
    let duration = Duration::from_secs_f64(args.seconds.max(0.0));
    let started = Instant::now();
    let skipped = match args.rate {
        Some(rate) => open_loop(&driver, rate, duration).await,
        None => closed_loop(&driver, args.concurrency, duration).await,
    };
    let sent_for = started.elapsed().as_secs_f64();
    // Let the calls in flight finish (each ends by CALL_TIMEOUT at the latest).
    while driver.in_flight.load(Ordering::Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(events) = &driver.events
        && let Ok(mut w) = events.lock()
    {
        w.flush()?;
    }
    let counts = driver.counts.lock().map(|c| c.clone()).unwrap_or_default();
    let finished: u64 = counts.values().sum();
    let latency = driver.latency.lock().map(|l| l.clone()).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "summary seconds={sent_for:.2} started={} finished={finished} skipped={skipped} \
         calls_per_sec={:.1} unary_p50_ms={:.1} unary_p99_ms={:.1}",
        driver.started.load(Ordering::Relaxed),
        finished as f64 / sent_for.max(1e-9),
        quantile(&latency, 0.50),
        quantile(&latency, 0.99),
    )?;
    for ((k, label), n) in &counts {
        writeln!(out, "count {} {label} {n}", MIX[*k].name)?;
    }
    out.flush()?;
    Ok(())
}

/// Starts `rate` calls per second for `duration`; returns how many were skipped because
/// [`MAX_IN_FLIGHT`] calls were still running.
async fn open_loop(driver: &Arc<Driver>, rate: f64, duration: Duration) -> u64 {
    let start = tokio::time::Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut due_total, mut skipped, mut progress) = (0u64, 0u64, 10u64);
    loop {
        ticker.tick().await;
        let elapsed = start.elapsed();
        if elapsed >= duration {
            return skipped;
        }
        if elapsed.as_secs() >= progress {
            println!(
                "t={progress}s started={} in_flight={} skipped={skipped}",
                driver.started.load(Ordering::Relaxed),
                driver.in_flight.load(Ordering::Relaxed)
            );
            progress += 10;
        }
        let due = (elapsed.as_secs_f64() * rate) as u64;
        while due_total < due {
            due_total += 1;
            if driver.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                skipped += 1;
                continue;
            }
            spawn_call(driver);
        }
    }
}

/// Keeps `concurrency` calls running back to back for `duration`.
async fn closed_loop(driver: &Arc<Driver>, concurrency: usize, duration: Duration) -> u64 {
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let driver = driver.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = driver.started.fetch_add(1, Ordering::Relaxed);
                    driver.call(n).await;
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    0
}

fn spawn_call(driver: &Arc<Driver>) {
    let driver = driver.clone();
    driver.in_flight.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let n = driver.started.fetch_add(1, Ordering::Relaxed);
        driver.call(n).await;
        driver.in_flight.fetch_sub(1, Ordering::Relaxed);
    });
}

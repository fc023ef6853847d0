//! `hostile-client`: the attacker of `cargo xtask bench hostile`. It runs one attack on a
//! proxy for a bounded time while a probe makes normal calls through the same proxy, then
//! checks that the proxy still answers once the attack has stopped.
//!
//! The probe starts a 1 KiB `UnaryCall` (gRPC-Web binary over h2c) every
//! `1 / --probe-rate` seconds, each on a connection of its own as a new visitor would, so
//! a full connection table shows as well as a stalled backend connection; a call that
//! fails or takes longer than [`probe::CALL_TIMEOUT`] is an error.
//!
//! Output, one line each: `probe calls=N ok=N errors=N p50_ms=X p99_ms=X max_ms=X`
//! (latencies of the calls that succeeded), `after ok=N of=N` (calls made one second
//! after the attack stopped), and `attack TEXT`: what the attacker saw, for a person.
//! Attacks are bounded in time, connections and streams; every socket is on loopback.
//!
//! # Limitations
//! The attacker, the probe, the proxy and the backend share one machine: an attack that
//! burns CPU here slows the probe by competing for the cores as well as through the proxy.

mod attacks;
mod probe;

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use attacks::Attack;

/// How long after the attack the recovery calls are made.
const SETTLE: Duration = Duration::from_secs(1);
/// Recovery calls.
const AFTER_CALLS: u32 = 3;

/// Attack a gRPC-Web proxy while measuring normal calls through it.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The proxy's address.
    #[arg(long)]
    target: SocketAddr,
    /// The proxy's admin listener (for the metrics attack).
    #[arg(long)]
    admin: Option<SocketAddr>,
    /// The attack (`none` for the baseline).
    #[arg(long, value_enum)]
    attack: Attack,
    /// How long the attack and the probe run, in seconds.
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// Probe calls started per second.
    #[arg(long, default_value_t = 20.0)]
    probe_rate: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let duration = Duration::from_secs_f64(args.seconds.clamp(0.5, 600.0));
    let ctx = attacks::Context {
        target: args.target,
        admin: args.admin,
        until: tokio::time::Instant::now() + duration,
    };
    let probe = tokio::spawn(probe::run(args.target, args.probe_rate, duration));
    // Every attack returns by its deadline; the timeout is a backstop. Its sockets live in
    // its tasks, which end with it (a JoinSet aborts what is left when dropped).
    let note = match tokio::time::timeout(
        duration + Duration::from_secs(5),
        attacks::run(args.attack, &ctx),
    )
    .await
    {
        Ok(Ok(note)) => note,
        Ok(Err(e)) => format!("attack failed: {e:#}"),
        Err(_) => "attack did not stop in time".to_owned(),
    };
    let stats = probe.await?;
    tokio::time::sleep(SETTLE).await;
    let mut after = 0;
    for _ in 0..AFTER_CALLS {
        if probe::call(args.target).await.is_ok() {
            after += 1;
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "probe {stats}")?;
    writeln!(out, "after ok={after} of={AFTER_CALLS}")?;
    writeln!(out, "attack {}", note.replace('\n', " "))?;
    out.flush()?;
    Ok(())
}

//! The proxy's memory while it holds many idle server streams.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::report::IdleResult;
use crate::h2load::{Http, Load};
use crate::metrics;
use crate::procfs::rss_kib;
use crate::requests::{Bodies, Wire, streaming_request};

/// Idle streams held open through the proxy.
pub const IDLE_STREAMS: u32 = 10_000;

/// Holds [`IDLE_STREAMS`] server streams open through the proxy (gRPC-Web binary over
/// h2c, 20 connections; each stream's one response comes after 15 s) and reads the
/// proxy's resident memory and its in-flight gauge (admin listener `admin`) while they are
/// open.
pub fn idle_streams(work: &Path, proxy: &str, admin: &str, proxy_pid: u32) -> Result<IdleResult> {
    let bodies = Bodies::write(work, "idle", &streaming_request(1, 16, 15_000_000))?;
    let before_kib = rss_kib(proxy_pid).unwrap_or(0);
    let body = bodies.binary.clone();
    let url = format!("http://{proxy}/grpc.testing.TestService/StreamingOutputCall");
    let started = Instant::now();
    let handle = std::thread::spawn(move || {
        Load {
            url,
            http: Http::H2,
            content_type: Wire::WebBinary.content_type(),
            body: &body,
            calls: IDLE_STREAMS,
            clients: 20,
            streams: IDLE_STREAMS / 20,
            rps: None,
            log: None,
        }
        .run()
    });
    let mut peak_kib = before_kib;
    let mut peak_open = 0.0f64;
    let mut open_at_10s = 0.0f64;
    while started.elapsed() < Duration::from_secs(12) && !handle.is_finished() {
        std::thread::sleep(Duration::from_millis(500));
        peak_kib = peak_kib.max(rss_kib(proxy_pid).unwrap_or(0));
        let open = metrics::read(admin, "grpcweb_in_flight_calls").unwrap_or(0.0);
        peak_open = peak_open.max(open);
        if started.elapsed() >= Duration::from_secs(10) && open_at_10s == 0.0 {
            open_at_10s = open;
        }
    }
    let summary = handle
        .join()
        .map_err(|_| anyhow::anyhow!("the idle-stream load panicked"))??;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{IDLE_STREAMS} idle streams: proxy RSS {before_kib} KiB before, {peak_kib} KiB peak; \
         at most {peak_open} open, {open_at_10s} after 10 s; h2load done in {seconds:.1} s",
    );
    Ok(IdleResult {
        streams: IDLE_STREAMS,
        peak_open: peak_open as u64,
        open_at_10s: open_at_10s as u64,
        before_kib,
        peak_kib,
        succeeded: summary.succeeded,
        seconds,
    })
}

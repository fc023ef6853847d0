//! The pass/fail checks of a finished soak run, with their tolerances.

use super::{Check, Report};

/// Open descriptors the proxy may hold at the end beyond those it had before any load.
const FD_TOLERANCE: u64 = 5;
/// Growth of the proxy's resident memory allowed from after warm-up to the end.
const RSS_TOLERANCE: f64 = 0.20;
/// Most CPU the backend may use while idle during the settle, in percent of one core.
const BACKEND_IDLE_CPU_PCT: f64 = 2.0;

/// The pass/fail checks of a finished run.
pub fn checks(r: &Report) -> Vec<Check> {
    let mut checks = Vec::new();
    let unexpected = r.unexpected_total();
    checks.push(Check::new(
        "no unexpected outcome",
        unexpected == 0,
        format!("{unexpected} unexpected"),
    ));
    checks.push(Check::new(
        "the driver started every call due",
        r.load.skipped == 0,
        format!("{} skipped", r.load.skipped),
    ));
    checks.push(Check::new(
        "the backend restart happened",
        r.restart.is_some(),
        String::new(),
    ));
    let in_flight = r.in_flight_end.unwrap_or(f64::NAN);
    checks.push(Check::new(
        "no call in flight at the end (admin /metrics)",
        in_flight == 0.0,
        format!("grpcweb_in_flight_calls {in_flight}"),
    ));
    let conns = r.connections_end.unwrap_or(f64::NAN);
    checks.push(Check::new(
        "no client connection left at the end",
        conns == 0.0,
        format!("grpcweb_client_connections {conns}"),
    ));
    let fd_limit = r.idle.proxy_fds + FD_TOLERANCE;
    checks.push(Check::new(
        "proxy fds back to the start",
        r.end.proxy_fds <= fd_limit,
        format!(
            "{} at the end, {} before the load (limit {fd_limit})",
            r.end.proxy_fds, r.idle.proxy_fds
        ),
    ));
    let warm = r
        .warm
        .as_ref()
        .map_or(r.idle.proxy_rss_kib, |w| w.proxy_rss_kib);
    let rss_limit = (warm as f64 * (1.0 + RSS_TOLERANCE)) as u64;
    checks.push(Check::new(
        "proxy RSS flat",
        r.end.proxy_rss_kib <= rss_limit,
        format!(
            "{} KiB at the end, {warm} KiB after warm-up (limit {rss_limit} KiB)",
            r.end.proxy_rss_kib
        ),
    ));
    checks.push(Check::new(
        "aborted streams cancelled at the backend (backend idle after the load)",
        r.backend_idle_cpu_pct <= BACKEND_IDLE_CPU_PCT,
        format!(
            "backend CPU {:.2} % of a core over the settle (limit {BACKEND_IDLE_CPU_PCT} %)",
            r.backend_idle_cpu_pct
        ),
    ));
    // A call can end at the proxy (say, as the backend dies) just as the client drops it:
    // then the two count it differently. Hence a small tolerance.
    let aborts = (r.peak.client_aborts() + r.load.client_aborts() + r.load.timeouts()) as f64;
    let gone = r.client_gone.unwrap_or(f64::NAN);
    let slack = (aborts * 0.001).ceil() + 10.0;
    checks.push(Check::new(
        "the proxy saw the client aborts (CLIENT_GONE)",
        (gone - aborts).abs() <= slack,
        format!("CLIENT_GONE {gone}, client aborts and timeouts {aborts} (tolerance {slack})"),
    ));
    checks
}

//! Samples from a Prometheus `/metrics` page (the proxy's admin listener), fetched with a
//! plain HTTP/1.1 request.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

/// The page at `http://addr/metrics`, headers included; `None` when it cannot be read
/// within 2 s.
pub fn page(addr: &str) -> Option<String> {
    let mut conn = TcpStream::connect(addr).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    conn.write_all(b"GET /metrics HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")
        .ok()?;
    let mut page = String::new();
    conn.read_to_string(&mut page).ok()?;
    Some(page)
}

/// The sum of the samples of metric `name` (any labels) whose labels contain every one of
/// `labels` (`key="value"`); `None` when there is none.
pub fn sum(page: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (label_set, value) = match rest.strip_prefix('{') {
            Some(r) => match r.split_once("} ") {
                Some(pair) => pair,
                None => continue,
            },
            None => match rest.strip_prefix(' ') {
                Some(v) => ("", v),
                None => continue,
            },
        };
        if !labels.iter().all(|l| label_set.contains(l)) {
            continue;
        }
        if let Ok(v) = value.trim().parse::<f64>() {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// The value of the metric `name` (all its samples added) on the page at `addr`.
pub fn read(addr: &str, name: &str) -> Option<f64> {
    sum(&page(addr)?, name, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_metric_samples() {
        let page = "# HELP grpcweb_in_flight_calls x\n\
                    grpcweb_in_flight_calls 3\n\
                    grpcweb_in_flight_calls_other 9\n\
                    grpcweb_calls_total{service=\"s\",code=\"OK\",mode=\"grpc-web\"} 5\n\
                    grpcweb_calls_total{service=\"s\",code=\"CLIENT_GONE\",mode=\"grpc-web\"} 2\n\
                    grpcweb_calls_total{service=\"s\",code=\"CLIENT_GONE\",mode=\"grpc-web-text\"} 1\n";
        assert_eq!(sum(page, "grpcweb_in_flight_calls", &[]), Some(3.0));
        assert_eq!(
            sum(page, "grpcweb_calls_total", &["code=\"CLIENT_GONE\""]),
            Some(3.0)
        );
        assert_eq!(sum(page, "grpcweb_calls_total", &[]), Some(8.0));
        assert_eq!(sum(page, "grpcweb_nothing", &[]), None);
    }
}

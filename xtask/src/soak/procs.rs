//! The processes of a soak run: the backend (which the run kills and restarts), and what
//! `/proc` and the proxy's admin `/metrics` say about them. The load driver runs as a
//! [`crate::bench::driver::Driver`].

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};

use crate::run::display;

/// How long a started backend may take to print `listening on ADDR`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// `interop-server`, killed when dropped.
#[derive(Debug)]
pub(super) struct Backend {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub(super) addr: String,
}

impl Backend {
    /// Starts `bin_dir/interop-server --port PORT` (0: a free one) and waits for its
    /// `listening on` line.
    pub(super) fn start(bin_dir: &Path, port: u16) -> Result<Self> {
        let mut cmd = Command::new(bin_dir.join("interop-server"));
        cmd.args(["--port", &port.to_string()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        println!("$ {}", display(&cmd));
        let mut child = cmd.spawn().context("starting interop-server")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match line.trim_end().strip_prefix("listening on ") {
                    Some(addr) => {
                        let _ = tx.send(addr.to_owned());
                    }
                    None => println!("[interop-server] {line}"),
                }
            }
        });
        let mut backend = Self {
            child,
            addr: String::new(),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => backend.addr = addr,
            Err(_) => bail!("interop-server printed no `listening on` line (see above)"),
        }
        Ok(backend)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port it listens on.
    pub(super) fn port(&self) -> Result<u16> {
        self.addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .with_context(|| format!("no port in {:?}", self.addr))
    }

    /// SIGKILL, then reap.
    pub(super) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (the proxy's admin listener does not report the
/// one it got).
pub(super) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Milliseconds since the Unix epoch (the driver's event lines use the same clock).
pub(super) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The Prometheus page at `http://addr/metrics`.
pub(super) fn metrics_page(addr: &str) -> Option<String> {
    let mut conn = TcpStream::connect(addr).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    conn.write_all(b"GET /metrics HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n")
        .ok()?;
    let mut page = String::new();
    conn.read_to_string(&mut page).ok()?;
    Some(page)
}

/// The sum of the samples of metric `name` (any labels) whose labels contain every one of
/// `labels` (`key="value"`); `None` when there is none.
pub(super) fn metric_sum(page: &str, name: &str, labels: &[&str]) -> Option<f64> {
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
        assert_eq!(metric_sum(page, "grpcweb_in_flight_calls", &[]), Some(3.0));
        assert_eq!(
            metric_sum(page, "grpcweb_calls_total", &["code=\"CLIENT_GONE\""]),
            Some(3.0)
        );
        assert_eq!(metric_sum(page, "grpcweb_calls_total", &[]), Some(8.0));
        assert_eq!(metric_sum(page, "grpcweb_nothing", &[]), None);
    }
}

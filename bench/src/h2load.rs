//! Load generation with h2load: one run, its summary parsed; request bodies; latency
//! percentiles from h2load's per-request log; CPU time from `/proc`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::run::probe;

/// How h2load talks to the server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Http {
    /// HTTP/2 cleartext, prior knowledge.
    H2,
    /// HTTP/1.1 (h2load `--h1`).
    H1,
}

/// One h2load run.
#[derive(Debug)]
pub(crate) struct Load<'a> {
    pub(crate) url: String,
    pub(crate) http: Http,
    pub(crate) content_type: &'a str,
    pub(crate) body: &'a Path,
    pub(crate) calls: u32,
    pub(crate) clients: u32,
    pub(crate) streams: u32,
    /// Calls per second per client (h2load `--rps`), for latency runs.
    pub(crate) rps: Option<u32>,
    /// Where h2load writes one line per request, for percentiles.
    pub(crate) log: Option<&'a Path>,
}

/// What one run measured.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Summary {
    pub(crate) calls_per_sec: f64,
    pub(crate) mean_ms: f64,
    pub(crate) sd_ms: f64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
}

impl Load<'_> {
    pub(crate) fn run(&self) -> Result<Summary> {
        let mut cmd = Command::new("h2load");
        cmd.args([
            "-n",
            &self.calls.to_string(),
            "-c",
            &self.clients.to_string(),
        ]);
        match self.http {
            Http::H2 => {
                cmd.args(["-m", &self.streams.to_string()]);
            }
            Http::H1 => {
                cmd.arg("--h1");
            }
        }
        if let Some(rps) = self.rps {
            cmd.arg(format!("--rps={rps}"));
        }
        if let Some(log) = self.log {
            cmd.arg(format!("--log-file={}", log.display()));
        }
        cmd.arg("-d").arg(self.body).args([
            "-H",
            &format!("content-type: {}", self.content_type),
            "-H",
            "te: trailers",
        ]);
        cmd.arg(&self.url);
        let out = cmd.output().context("running h2load")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "h2load failed: {}{stdout}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        parse(&stdout).with_context(|| format!("h2load output:\n{stdout}"))
    }
}

/// The summary lines of h2load's output.
pub(crate) fn parse(out: &str) -> Option<Summary> {
    let rate = out.lines().find(|l| l.starts_with("finished in"))?;
    let calls_per_sec = rate
        .split(", ")
        .nth(1)?
        .strip_suffix(" req/s")?
        .parse()
        .ok()?;
    let requests = out.lines().find(|l| l.starts_with("requests:"))?;
    let count = |what: &str| -> Option<u64> {
        requests
            .split(", ")
            .find(|p| p.ends_with(what))?
            .trim_end_matches(what)
            .trim()
            .parse()
            .ok()
    };
    let times = out.lines().find(|l| l.starts_with("time for request:"))?;
    let fields: Vec<&str> = times.split_whitespace().collect();
    // time for request: MIN MAX MEAN SD +/-SD
    Some(Summary {
        calls_per_sec,
        mean_ms: millis(fields.get(5)?)?,
        sd_ms: millis(fields.get(6)?)?,
        succeeded: count(" succeeded")?,
        failed: count(" failed")?,
    })
}

fn millis(v: &str) -> Option<f64> {
    if let Some(us) = v.strip_suffix("us") {
        return us.parse::<f64>().ok().map(|n| n / 1000.0);
    }
    if let Some(ms) = v.strip_suffix("ms") {
        return ms.parse().ok();
    }
    v.strip_suffix('s')
        .and_then(|s| s.parse::<f64>().ok())
        .map(|n| n * 1000.0)
}

/// (p50, p99) in milliseconds from an h2load `--log-file` (start µs, status, duration µs
/// per line), over the requests that got a 200.
pub(crate) fn percentiles(log: &str) -> Option<(f64, f64)> {
    let mut durations: Vec<u64> = log
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let _start = f.next()?;
            (f.next()? == "200").then_some(())?;
            f.next()?.trim().parse().ok()
        })
        .collect();
    if durations.is_empty() {
        return None;
    }
    durations.sort_unstable();
    let at = |q: f64| {
        let i = ((durations.len() as f64 * q).ceil() as usize).clamp(1, durations.len()) - 1;
        durations[i] as f64 / 1000.0
    };
    Some((at(0.50), at(0.99)))
}

/// utime + stime of a process and its children still running, in clock ticks.
pub(crate) fn cpu_ticks(pids: &[u32]) -> Option<u64> {
    pids.iter().map(|&pid| ticks_of(pid)).sum()
}

/// utime + stime of one process, in clock ticks.
pub(crate) fn ticks_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A process's open file descriptors.
pub(crate) fn fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// A process's resident set, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// A process's peak resident set over its life ("high water mark"), in KiB.
pub(crate) fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// A `kB` field of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The process and its direct children (nginx's workers).
pub(crate) fn with_children(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        pids.extend(
            children
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    pids
}

/// Clock ticks per second (`getconf CLK_TCK`).
pub(crate) fn ticks_per_sec() -> f64 {
    probe(Command::new("getconf").arg("CLK_TCK"))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// `SimpleRequest { response_size = n, payload = { body = n bytes } }`.
pub(crate) fn simple_request(n: usize) -> Vec<u8> {
    let mut payload = vec![0x12];
    varint(&mut payload, n as u64);
    payload.extend(std::iter::repeat_n(0u8, n));
    let mut msg = vec![0x10];
    varint(&mut msg, n as u64);
    msg.push(0x1a);
    varint(&mut msg, payload.len() as u64);
    msg.extend(payload);
    msg
}

/// `StreamingOutputCallRequest` asking for `count` responses of `size` bytes, each after
/// `interval_us`.
pub(crate) fn streaming_request(count: usize, size: u32, interval_us: u32) -> Vec<u8> {
    let mut params = Vec::new();
    params.push(0x08);
    varint(&mut params, u64::from(size));
    if interval_us > 0 {
        params.push(0x10);
        varint(&mut params, u64::from(interval_us));
    }
    let mut msg = Vec::new();
    for _ in 0..count {
        msg.push(0x12);
        varint(&mut msg, params.len() as u64);
        msg.extend(&params);
    }
    msg
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One gRPC (and gRPC-Web) data frame holding `msg`.
pub(crate) fn frame(msg: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend((msg.len() as u32).to_be_bytes());
    out.extend(msg);
    out
}

/// Padded standard base64, for `grpc-web-text` bodies.
pub(crate) fn base64(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_h2load_output() {
        let out = "finished in 1.23s, 16260.16 req/s, 17.56MB/s\nrequests: 20000 total, 20000 started, 20000 done, 19998 succeeded, 2 failed, 0 errored, 0 timeout\ntime for request:   253us    11.32ms      1.90ms      1050us    68.81%\n";
        let s = parse(out).unwrap();
        assert!((s.calls_per_sec - 16260.16).abs() < 0.01);
        assert!((s.mean_ms - 1.90).abs() < 1e-9);
        assert!((s.sd_ms - 1.05).abs() < 1e-9);
        assert_eq!((s.succeeded, s.failed), (19998, 2));
    }

    #[test]
    fn percentiles_of_successful_requests() {
        let mut log = String::new();
        for i in 1..=100 {
            log.push_str(&format!("1\t200\t{}\n", i * 1000));
        }
        log.push_str("1\t503\t999999999\n");
        assert_eq!(percentiles(&log), Some((50.0, 99.0)));
        assert_eq!(percentiles(""), None);
    }

    #[test]
    fn encodes_requests_and_base64() {
        assert_eq!(simple_request(1), [0x10, 1, 0x1a, 3, 0x12, 1, 0]);
        assert_eq!(streaming_request(2, 1, 0), [0x12, 2, 8, 1, 0x12, 2, 8, 1]);
        assert_eq!(streaming_request(1, 1, 1), [0x12, 4, 8, 1, 0x10, 1]);
        assert_eq!(frame(&[7]), [0, 0, 0, 0, 1, 7]);
        assert_eq!(base64(b"f"), b"Zg==");
        assert_eq!(base64(b"foobar"), b"Zm9vYmFy");
    }
}

#[cfg(test)]
mod proc_tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        assert!(fds(pid).is_some_and(|n| n > 0));
        let rss = rss_kib(pid);
        assert!(rss.is_some_and(|n| n > 0));
        // Read after it: the peak can only have grown since (other tests allocate).
        assert!(peak_rss_kib(pid) >= rss);
        assert!(ticks_of(pid).is_some());
    }
}

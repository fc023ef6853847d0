//! Load generation with h2load (Debian's nghttp2-client): one run and its summary
//! parsed, latency percentiles from its per-request log.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// How h2load talks to the server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Http {
    /// HTTP/2 cleartext, prior knowledge.
    H2,
    /// HTTP/1.1 (h2load `--h1`).
    H1,
}

/// One h2load run.
#[derive(Debug)]
pub struct Load<'a> {
    /// `http://ADDR/package.Service/Method`.
    pub url: String,
    /// HTTP/2 or HTTP/1.1.
    pub http: Http,
    /// The request's `content-type`.
    pub content_type: &'a str,
    /// The file holding the request body (h2load `-d`).
    pub body: &'a Path,
    /// Calls in all (h2load `-n`).
    pub calls: u32,
    /// Connections (h2load `-c`).
    pub clients: u32,
    /// Concurrent streams per connection (h2load `-m`; HTTP/2 only).
    pub streams: u32,
    /// Calls per second per client (h2load `--rps`), for latency runs.
    pub rps: Option<u32>,
    /// Where h2load writes one line per request, for percentiles.
    pub log: Option<&'a Path>,
}

/// What one run measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    /// Completed calls per second over the run.
    pub calls_per_sec: f64,
    /// Mean time per call, in milliseconds.
    pub mean_ms: f64,
    /// Standard deviation of the time per call, in milliseconds.
    pub sd_ms: f64,
    /// Calls answered with HTTP 200 (h2load's "succeeded").
    pub succeeded: u64,
    /// Calls h2load counted as failed.
    pub failed: u64,
}

impl Load<'_> {
    /// Runs h2load and parses its summary; fails when h2load fails.
    pub fn run(&self) -> Result<Summary> {
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
pub fn parse(out: &str) -> Option<Summary> {
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
pub fn percentiles(log: &str) -> Option<(f64, f64)> {
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
}

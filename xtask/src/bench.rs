//! `cargo xtask bench`: a first proxy benchmark (not a test). Release builds of
//! `interop-server` and `grpcweb-proxy`; h2load (Debian's nghttp2-client) sends UnaryCall
//! over HTTP/2 to the backend directly, through the proxy as native gRPC, and through the
//! proxy as gRPC-Web (binary and text); the table goes into BENCHMARKS.md between markers.
//!
//! # Limitations
//! One machine runs the backend, the proxy and the load generator, so the figures compare
//! paths with each other, not with another machine's. h2load reports mean latency, not
//! percentiles. Peers (nginx, grpcwebproxy, tonic-web) and HTTP/1.1 load are still to come.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::demo::Children;
use crate::run::{cargo, has_tool, probe, run as run_cmd, target_dir, workspace_root};

const CALLS: u32 = 20_000;
const CLIENTS: u32 = 8;
const STREAMS_PER_CLIENT: u32 = 8;
const BEGIN: &str = "<!-- proxy:begin (written by cargo xtask bench) -->";
const END: &str = "<!-- proxy:end -->";

/// One measured run.
#[derive(Debug)]
struct Sample {
    path: &'static str,
    payload: usize,
    calls_per_sec: f64,
    mean_ms: f64,
    sd_ms: f64,
    failed: u64,
    proxy_cpu_us_per_call: Option<f64>,
}

pub(crate) fn run() -> Result<()> {
    let root = workspace_root();
    if !has_tool("h2load") {
        run_cmd(Command::new("apt-get").arg("update"))?;
        run_cmd(Command::new("apt-get").args(["install", "-y", "nghttp2-client"]))?;
    }
    run_cmd(cargo().current_dir(&root).args([
        "build",
        "--release",
        "-p",
        "grpcweb-proxy",
        "-p",
        "grpcweb-interop",
        "--bins",
    ]))?;
    let bin_dir = target_dir(&root).join("release");
    let mut children = Children::default();
    // No per-call access log while measuring.
    children
        .env
        .push(("RUST_LOG".to_owned(), "warn".to_owned()));
    let backend = children.start(&bin_dir, "interop-server", &["--port", "0"])?;
    let proxy = children.start(
        &bin_dir,
        "grpcweb-proxy",
        &[
            "--listen",
            "127.0.0.1:0",
            "--backend",
            &format!("http://{backend}"),
        ],
    )?;
    let proxy_pid = children.pid("grpcweb-proxy").context("proxy pid")?;
    let work = target_dir(&root).join("bench");
    std::fs::create_dir_all(&work)?;

    let mut samples = Vec::new();
    for payload in [16usize, 1024, 65_536] {
        let frame = frame(&simple_request(payload));
        let binary = work.join(format!("unary-{payload}.bin"));
        std::fs::write(&binary, &frame)?;
        let text = work.join(format!("unary-{payload}.txt"));
        std::fs::write(&text, base64(&frame))?;
        let paths: [(&'static str, &str, &str, &Path, bool); 4] = [
            (
                "direct gRPC (no hop)",
                &backend,
                "application/grpc",
                &binary,
                false,
            ),
            (
                "grpcweb-proxy, native gRPC passthrough",
                &proxy,
                "application/grpc",
                &binary,
                true,
            ),
            (
                "grpcweb-proxy, gRPC-Web binary",
                &proxy,
                "application/grpc-web+proto",
                &binary,
                true,
            ),
            (
                "grpcweb-proxy, gRPC-Web text",
                &proxy,
                "application/grpc-web-text+proto",
                &text,
                true,
            ),
        ];
        for (path, addr, content_type, body, via_proxy) in paths {
            // A short warm-up, then the measured run.
            h2load(addr, content_type, body, 1000)?;
            let cpu_before = cpu_ticks(proxy_pid);
            let out = h2load(addr, content_type, body, CALLS)?;
            let cpu_after = cpu_ticks(proxy_pid);
            let (calls_per_sec, mean_ms, sd_ms, failed) =
                parse(&out).with_context(|| format!("h2load output:\n{out}"))?;
            let proxy_cpu_us_per_call = match (via_proxy, cpu_before, cpu_after) {
                (true, Some(b), Some(a)) => {
                    Some((a - b) as f64 * 1e6 / ticks_per_sec() / f64::from(CALLS))
                }
                _ => None,
            };
            println!("{path}, {payload} B: {calls_per_sec:.0} calls/s, mean {mean_ms:.2} ms");
            samples.push(Sample {
                path,
                payload,
                calls_per_sec,
                mean_ms,
                sd_ms,
                failed,
                proxy_cpu_us_per_call,
            });
        }
    }
    drop(children);
    write_table(&root, &samples)
}

fn h2load(addr: &str, content_type: &str, body: &Path, calls: u32) -> Result<String> {
    let out = Command::new("h2load")
        .args([
            "-n",
            &calls.to_string(),
            "-c",
            &CLIENTS.to_string(),
            "-m",
            &STREAMS_PER_CLIENT.to_string(),
        ])
        .arg("-d")
        .arg(body)
        .args([
            "-H",
            &format!("content-type: {content_type}"),
            "-H",
            "te: trailers",
        ])
        .arg(format!("http://{addr}/grpc.testing.TestService/UnaryCall"))
        .output()
        .context("running h2load")?;
    if !out.status.success() {
        bail!("h2load failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// (calls/s, mean ms, sd ms, failed) from h2load's summary.
fn parse(out: &str) -> Option<(f64, f64, f64, u64)> {
    let rate = out.lines().find(|l| l.starts_with("finished in"))?;
    let calls_per_sec = rate
        .split(", ")
        .nth(1)?
        .strip_suffix(" req/s")?
        .parse()
        .ok()?;
    let requests = out.lines().find(|l| l.starts_with("requests:"))?;
    let failed = requests
        .split(", ")
        .find(|p| p.ends_with(" failed"))?
        .trim_end_matches(" failed")
        .trim()
        .parse()
        .ok()?;
    let times = out.lines().find(|l| l.starts_with("time for request:"))?;
    let fields: Vec<&str> = times.split_whitespace().collect();
    // time for request: MIN MAX MEAN SD +/-SD
    Some((
        calls_per_sec,
        millis(fields.get(5)?)?,
        millis(fields.get(6)?)?,
        failed,
    ))
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

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_per_sec() -> f64 {
    probe(Command::new("getconf").arg("CLK_TCK"))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// `SimpleRequest { response_size = n, payload = { body = n bytes } }`.
fn simple_request(n: usize) -> Vec<u8> {
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

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn frame(msg: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend((msg.len() as u32).to_be_bytes());
    out.extend(msg);
    out
}

fn base64(data: &[u8]) -> Vec<u8> {
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

fn write_table(root: &Path, samples: &[Sample]) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut t = String::new();
    let _ = writeln!(t, "{BEGIN}\n## Proxy: unary calls over HTTP/2\n");
    let _ = writeln!(
        t,
        "Measured {} with `cargo xtask bench` on {cores} cores (backend, proxy and load generator \
         on the same machine): release builds of `interop-server` (tonic) and `grpcweb-proxy`; \
         h2load, {CALLS} UnaryCall requests, {CLIENTS} connections x {STREAMS_PER_CLIENT} \
         concurrent streams, after 1000 warm-up calls; request and response payloads of the \
         size shown. Proxy CPU is its user+system time over the run divided by the calls.\n",
        date()
    );
    let _ = writeln!(
        t,
        "| path | payload | calls/s | vs direct | mean latency | proxy CPU per call | failed |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|");
    for s in samples {
        let direct = samples
            .iter()
            .find(|d| d.payload == s.payload && d.proxy_cpu_us_per_call.is_none());
        let ratio = direct.map_or_else(
            || "-".to_owned(),
            |d| format!("{:.2}", s.calls_per_sec / d.calls_per_sec),
        );
        let cpu = s
            .proxy_cpu_us_per_call
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.0} µs"));
        let _ = writeln!(
            t,
            "| {} | {} B | {:.0} | {ratio} | {:.2} ms ± {:.2} | {cpu} | {} |",
            s.path, s.payload, s.calls_per_sec, s.mean_ms, s.sd_ms, s.failed
        );
    }
    let _ = writeln!(t, "{END}");
    let path = root.join("BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
    let updated = match (current.find(BEGIN), current.find(END)) {
        (Some(b), Some(e)) if e > b => format!(
            "{}{}{}",
            &current[..b],
            t.trim_end(),
            &current[e + END.len()..]
        ),
        _ => format!("{}\n{}", current.trim_end(), t),
    };
    std::fs::write(&path, updated)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn date() -> String {
    probe(Command::new("date").arg("+%Y-%m-%d"))
        .map_or_else(|| "today".to_owned(), |d| d.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_h2load_output() {
        let out = "finished in 1.23s, 16260.16 req/s, 17.56MB/s\nrequests: 20000 total, 20000 started, 20000 done, 19998 succeeded, 2 failed, 0 errored, 0 timeout\ntime for request:   253us    11.32ms      1.90ms      1050us    68.81%\n";
        let (rate, mean, sd, failed) = parse(out).unwrap();
        assert!((rate - 16260.16).abs() < 0.01);
        assert!((mean - 1.90).abs() < 1e-9);
        assert!((sd - 1.05).abs() < 1e-9);
        assert_eq!(failed, 2);
    }

    #[test]
    fn encodes_requests_and_base64() {
        assert_eq!(simple_request(1), [0x10, 1, 0x1a, 3, 0x12, 1, 0]);
        assert_eq!(frame(&[7]), [0, 0, 0, 0, 1, 7]);
        assert_eq!(base64(b"f"), b"Zg==");
        assert_eq!(base64(b"foobar"), b"Zm9vYmFy");
    }
}

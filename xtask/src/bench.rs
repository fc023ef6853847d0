//! `cargo xtask bench`: the proxy benchmark (not a test), run with the load tools of the
//! `grpcweb-bench` crate (bench/): this module installs h2load, builds and starts the
//! processes, and hands them to the measurements. Release builds of
//! `interop-server` and `grpcweb-proxy`; h2load (Debian's nghttp2-client) sends
//! `grpc.testing.TestService` calls to the backend directly, through nginx (`grpc_pass`),
//! through our proxy (native gRPC, gRPC-Web binary and text, over HTTP/2 and HTTP/1.1),
//! through improbable-eng's grpcwebproxy, and to in-process gRPC-Web servers (our layer and
//! tonic-web). It measures unary calls/s and CPU per call of the proxy and the backend,
//! latency percentiles at a fixed rate, server-streaming messages/s, and the proxy's memory
//! with 10,000 idle streams; the tables go into BENCHMARKS.md between markers.
//!
//! `cargo xtask bench --quick` (or `GRPCWEB_BENCH_QUICK=1`) runs a short subset (1 KiB
//! unary only, fewer calls, no idle streams). `cargo xtask bench hostile` measures the
//! proxy under attack instead (xtask/src/bench/hostile.rs), `cargo xtask bench syscalls`
//! counts the proxy's syscalls per call (xtask/src/bench/syscalls.rs).
//!
//! # Limitations
//! One machine runs the backend, the proxies and the load generator, so the figures compare
//! paths with each other, not with another machine's; CPU per call comes from `/proc` in
//! clock ticks. A peer that cannot be installed (no Go, no apt) is left out of the tables
//! with a note. The endurance run is `cargo xtask soak` (xtask/src/soak.rs).

pub(crate) mod callgrind;
pub(crate) mod driver;
pub(crate) mod hostile;
pub(crate) mod peers;
pub(crate) mod syscalls;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result};
use grpcweb_bench::h2load::{self, Http, Load};
use grpcweb_bench::procfs::{load_average, with_children};
use grpcweb_bench::proxy::report::{LatencyRow, Report, StreamRow, UnaryRow};
use grpcweb_bench::proxy::{
    Cpu, PAYLOADS, ROUNDS, Role, Target, calls_for, idle, measure_unary, url,
};
use grpcweb_bench::requests::{Bodies, Wire, simple_request, streaming_request};

use crate::children::{Children, free_port};
use crate::run::{cargo, has_tool, run as run_cmd, target_dir, workspace_root};

/// Release builds of `grpcweb-proxy` and the interop binaries (backends, load drivers).
pub(crate) fn build_release(root: &Path) -> Result<()> {
    run_cmd(cargo().current_dir(root).args([
        "build",
        "--release",
        "-p",
        "grpcweb-proxy",
        "-p",
        "grpcweb-interop",
        "--bins",
    ]))
}

pub(crate) fn run(quick: bool) -> Result<()> {
    let quick = quick || std::env::var_os("GRPCWEB_BENCH_QUICK").is_some_and(|v| v != "0");
    let root = workspace_root();
    if !has_tool("h2load") {
        run_cmd(Command::new("apt-get").arg("update"))?;
        run_cmd(Command::new("apt-get").args(["install", "-y", "nghttp2-client"]))?;
    }
    build_release(&root)?;
    run_cmd(cargo().current_dir(&root).args([
        "build",
        "--release",
        "-p",
        "grpcweb-client",
        "--example",
        "tonic_web_peer",
    ]))?;
    let bin_dir = target_dir(&root).join("release");
    let work = target_dir(&root).join("bench");
    std::fs::create_dir_all(&work)?;
    let mut report = Report {
        quick,
        ..Report::default()
    };

    // The shared backend and our proxy; the in-process servers each in their own set, so
    // that `pid` finds the right one.
    let mut children = Children::default();
    children
        .env
        .push(("RUST_LOG".to_owned(), "warn".to_owned()));
    let backend = children.start(&bin_dir, "interop-server", &["--port", "0"])?;
    let backend_pid = children.pid("interop-server").context("backend pid")?;
    let admin = format!("127.0.0.1:{}", free_port()?);
    let proxy = children.start(
        &bin_dir,
        "grpcweb-proxy",
        &[
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            &admin,
            "--backend",
            &format!("http://{backend}"),
        ],
    )?;
    let proxy_pid = children.pid("grpcweb-proxy").context("proxy pid")?;
    // The proxy in the runtime shapes other than the default, each in a set of its own.
    let mut shapes = Vec::new();
    for flags in [["--scheduler", "shared"], ["--worker-threads", "1"]] {
        let mut set = Children::default();
        set.env.push(("RUST_LOG".to_owned(), "warn".to_owned()));
        let backend_url = format!("http://{backend}");
        let mut args = vec!["--listen", "127.0.0.1:0", "--backend", &backend_url];
        args.extend(flags);
        let addr = set.start(&bin_dir, "grpcweb-proxy", &args)?;
        let pid = set.pid("grpcweb-proxy").context("proxy pid")?;
        shapes.push((set, addr, pid));
    }
    let mut ours_inproc = Children::default();
    ours_inproc
        .env
        .push(("RUST_LOG".to_owned(), "warn".to_owned()));
    let inproc = ours_inproc.start(&bin_dir, "interop-server", &["--port", "0", "--grpc-web"])?;
    let inproc_pid = ours_inproc
        .pid("interop-server")
        .context("in-process pid")?;
    let mut tonic = Children::default();
    let tonic_web = tonic.start(&bin_dir.join("examples"), "tonic_web_peer", &[])?;
    let tonic_pid = tonic.pid("tonic_web_peer").context("tonic-web pid")?;
    let nginx = peers::start_nginx(&work.join("nginx"), &backend)
        .map_err(|e| report.notes.push(format!("nginx left out: {e:#}")))
        .ok();
    let gwp = peers::start_grpcwebproxy(&backend)
        .map_err(|e| report.notes.push(format!("grpcwebproxy left out: {e:#}")))
        .ok();

    let via = |label, addr: &str, http, wire, role, proxy: Vec<u32>, backend| Target {
        label,
        addr: addr.to_owned(),
        http,
        wire,
        role,
        proxy,
        backend,
    };
    let mut targets = vec![via(
        "direct gRPC (no hop)",
        &backend,
        Http::H2,
        Wire::Grpc,
        Role::Direct,
        vec![],
        backend_pid,
    )];
    if let Some(n) = &nginx {
        targets.push(via(
            "nginx grpc_pass, native gRPC",
            &n.addr,
            Http::H2,
            Wire::Grpc,
            Role::Nginx,
            with_children(n.pid()),
            backend_pid,
        ));
    }
    targets.extend([
        via(
            "grpcweb-proxy, native gRPC passthrough",
            &proxy,
            Http::H2,
            Wire::Grpc,
            Role::Other,
            vec![proxy_pid],
            backend_pid,
        ),
        via(
            "grpcweb-proxy, gRPC-Web binary",
            &proxy,
            Http::H2,
            Wire::WebBinary,
            Role::Other,
            vec![proxy_pid],
            backend_pid,
        ),
        via(
            "grpcweb-proxy, gRPC-Web text",
            &proxy,
            Http::H2,
            Wire::WebText,
            Role::Other,
            vec![proxy_pid],
            backend_pid,
        ),
        via(
            "grpcweb-proxy, gRPC-Web binary, HTTP/1.1",
            &proxy,
            Http::H1,
            Wire::WebBinary,
            Role::Other,
            vec![proxy_pid],
            backend_pid,
        ),
    ]);
    for ((_, addr, pid), label) in shapes.iter().zip([
        "grpcweb-proxy, gRPC-Web binary, `--scheduler shared`",
        "grpcweb-proxy, gRPC-Web binary, `--worker-threads 1`",
    ]) {
        targets.push(via(
            label,
            addr,
            Http::H2,
            Wire::WebBinary,
            Role::Other,
            vec![*pid],
            backend_pid,
        ));
    }
    if let Some(g) = &gwp {
        targets.push(via(
            "grpcwebproxy (improbable-eng), gRPC-Web binary, HTTP/1.1",
            &g.addr,
            Http::H1,
            Wire::WebBinary,
            Role::Other,
            vec![g.pid()],
            backend_pid,
        ));
    }
    targets.extend([
        via(
            "ours in-process (interop-server --grpc-web), gRPC-Web binary",
            &inproc,
            Http::H2,
            Wire::WebBinary,
            Role::Other,
            vec![],
            inproc_pid,
        ),
        via(
            "tonic-web in-process, gRPC-Web binary",
            &tonic_web,
            Http::H2,
            Wire::WebBinary,
            Role::Other,
            vec![],
            tonic_pid,
        ),
    ]);

    let started = Instant::now();
    let payloads: &[usize] = if quick { &[1024] } else { &PAYLOADS };
    for &payload in payloads {
        let bodies = Bodies::write(&work, &format!("unary-{payload}"), &simple_request(payload))?;
        let calls = calls_for(payload, quick).div_ceil(ROUNDS);
        let mut rounds: Vec<Vec<_>> = targets.iter().map(|_| Vec::new()).collect();
        for _ in 0..ROUNDS {
            for (t, done) in targets.iter().zip(&mut rounds) {
                done.push(measure_unary(t, &bodies, payload, calls)?);
            }
        }
        for (t, done) in targets.iter().zip(rounds) {
            let row = UnaryRow::combine(done).context("no round measured")?;
            println!(
                "{}, {payload} B: {:.0} calls/s, proxy {}, backend {}",
                t.label,
                row.summary.calls_per_sec,
                fmt_us(row.proxy_cpu_us),
                fmt_us(row.backend_cpu_us)
            );
            report.unary.push(row);
        }
    }

    // Latency at a fixed moderate rate: 1 KiB, 4 clients x 250 calls/s, in rounds taken in
    // turn across the paths; percentiles over all of a path's rounds.
    let bodies = Bodies::write(&work, "unary-1024", &simple_request(1024))?;
    let rate_calls = if quick { 1000 } else { 2000 };
    let mut logs = vec![(String::new(), 0); targets.len()];
    for _ in 0..ROUNDS {
        for (t, (text, failed)) in targets.iter().zip(&mut logs) {
            let log = work.join("latency.log");
            let _ = std::fs::remove_file(&log);
            let summary = Load {
                url: url(t, "UnaryCall"),
                http: t.http,
                content_type: t.wire.content_type(),
                body: bodies.for_wire(t.wire),
                calls: rate_calls,
                clients: 4,
                streams: 1,
                rps: Some(250),
                log: Some(&log),
            }
            .run()?;
            text.push_str(&std::fs::read_to_string(&log).unwrap_or_default());
            *failed += summary.failed;
        }
    }
    for (t, (text, failed)) in targets.iter().zip(logs) {
        let (p50, p99) = h2load::percentiles(&text).unwrap_or((f64::NAN, f64::NAN));
        println!("{} latency: p50 {p50:.2} ms, p99 {p99:.2} ms", t.label);
        report.latency.push(LatencyRow {
            label: t.label,
            role: t.role,
            rate: 1000,
            p50_ms: p50,
            p99_ms: p99,
            failed,
        });
    }

    // Server streaming: 1000 responses of 1 KiB per call.
    let per_call = 1000usize;
    let bodies = Bodies::write(
        &work,
        "stream-1000x1024",
        &streaming_request(per_call, 1024, 0),
    )?;
    let stream_calls = if quick { 32 } else { 256 };
    let streamed: Vec<_> = targets.iter().filter(|t| t.http == Http::H2).collect();
    let mut rounds: Vec<Vec<StreamRow>> = streamed.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for (t, done) in streamed.iter().zip(&mut rounds) {
            let before = Cpu::read(t);
            let summary = Load {
                url: url(t, "StreamingOutputCall"),
                http: t.http,
                content_type: t.wire.content_type(),
                body: bodies.for_wire(t.wire),
                calls: stream_calls,
                clients: 4,
                streams: 4,
                rps: None,
                log: None,
            }
            .run()?;
            let messages = f64::from(stream_calls) * per_call as f64;
            let (proxy_us, backend_us) = before.per_call(t, messages);
            done.push(StreamRow {
                label: t.label,
                messages,
                messages_per_sec: summary.calls_per_sec * per_call as f64,
                proxy_cpu_us_per_message: proxy_us,
                backend_cpu_us_per_message: backend_us,
                failed: summary.failed,
            });
        }
    }
    for done in rounds {
        let row = StreamRow::combine(done).context("no round measured")?;
        println!(
            "{} streaming: {:.0} messages/s",
            row.label, row.messages_per_sec
        );
        report.streams.push(row);
    }

    if !quick {
        report.idle = Some(idle::idle_streams(&work, &proxy, &admin, proxy_pid)?);
    }
    report.seconds = started.elapsed().as_secs();
    report.load_average = load_average();
    drop((nginx, gwp, tonic, ours_inproc, children));
    report.write(&root)
}

/// `cargo xtask bench idle`: the proxy's memory with [`idle::IDLE_STREAMS`] idle streams,
/// as `bench` measures it, printed.
pub(crate) fn run_idle() -> Result<()> {
    let root = workspace_root();
    if !has_tool("h2load") {
        run_cmd(Command::new("apt-get").arg("update"))?;
        run_cmd(Command::new("apt-get").args(["install", "-y", "nghttp2-client"]))?;
    }
    build_release(&root)?;
    let bin_dir = target_dir(&root).join("release");
    let work = target_dir(&root).join("bench");
    std::fs::create_dir_all(&work)?;
    let mut children = Children::default();
    children
        .env
        .push(("RUST_LOG".to_owned(), "warn".to_owned()));
    let backend = children.start(&bin_dir, "interop-server", &["--port", "0"])?;
    let admin = format!("127.0.0.1:{}", free_port()?);
    let proxy = children.start(
        &bin_dir,
        "grpcweb-proxy",
        &[
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            &admin,
            "--backend",
            &format!("http://{backend}"),
        ],
    )?;
    let proxy_pid = children.pid("grpcweb-proxy").context("proxy pid")?;
    idle::idle_streams(&work, &proxy, &admin, proxy_pid)?;
    Ok(())
}

/// CPU µs for the console, `-` when unknown.
fn fmt_us(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} µs"))
}

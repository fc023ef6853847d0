//! `cargo xtask bench callgrind [--check]`: user-space instructions per 1 KiB unary call
//! (`grpc.testing.TestService/UnaryCall`, 1 KiB each way) in the release `grpcweb-proxy`
//! on each of its paths, and in nginx's `grpc_pass` for scale, counted by callgrind
//! (grpcweb_bench::callgrind). The proxy (or nginx, one process) runs under valgrind in
//! front of a release `interop-server`; h2load makes the calls (one connection, 8
//! streams); each path runs twice ([`SMALL`] and [`LARGE`] calls) and the difference is
//! divided by the difference in calls. The same call with JSON messages (gRPC-Web+json,
//! and REST by a `google.api.http` rule on a copy of the service, [`BENCH_PROTO`]) is
//! measured with the proxy holding that descriptor set (compiled by `protoc`). The table
//! and the gRPC-Web path's top functions per call go into BENCHMARKS.md between the
//! callgrind markers; the callgrind files stay in `target/callgrind` for
//! `callgrind_annotate`.
//!
//! `--check` (a step of `cargo xtask test`) measures the two budgeted paths only and
//! fails when one is over its budget in [`BUDGETS`]: a change that makes every call cost
//! more must raise the budget in the same commit, on purpose.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use grpcweb_bench::callgrind::{self, Frame};
use grpcweb_bench::h2load::{Http, Load};
use grpcweb_bench::markdown;
use grpcweb_bench::requests::{Bodies, JsonBodies, Wire, simple_request, simple_request_json};

use super::peers;
use crate::children::{Children, free_port, listening_addr as addr_in};
use crate::run::{has_tool, run as run_cmd, target_dir, workspace_root};

/// Calls of the small and the large run of each path.
const SMALL: u64 = 200;
const LARGE: u64 = 1200;
/// Top functions listed for the gRPC-Web path.
const TOP: usize = 15;

/// `UnaryCall` with a REST binding, for the transcoded rows: the descriptor set the proxy
/// gets declares the test service again with this rule (the backend does not care).
const BENCH_PROTO: &str = r#"syntax = "proto3";
package grpc.testing;
import "google/api/annotations.proto";
import "grpc/testing/messages.proto";
service TestService {
  rpc UnaryCall(SimpleRequest) returns (SimpleResponse) {
    option (google.api.http) = { post: "/v1/unary" body: "*" };
  }
}
"#;
/// The REST binding's path.
const REST_PATH: &str = "/v1/unary";

/// Most instructions per 1 KiB call each budgeted path may take (measured, plus about
/// 3% for run-to-run spread and toolchain drift).
pub(crate) const BUDGETS: [(Case, u64); 2] = [(Case::WebBinary, 99_000), (Case::Native, 94_000)];

/// The paths measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    WebBinary,
    WebText,
    Native,
    WebHttp1,
    /// gRPC-Web binary with the access log on (`RUST_LOG=info`, text format).
    WebLogged,
    /// gRPC-Web with JSON messages (`application/grpc-web+json`), transcoded to protobuf.
    WebJson,
    /// The same call as REST (`POST /v1/unary`, JSON), by a `google.api.http` rule.
    Rest,
    Nginx,
}

impl Case {
    const ALL: [Self; 8] = [
        Self::WebBinary,
        Self::WebText,
        Self::Native,
        Self::WebHttp1,
        Self::WebLogged,
        Self::WebJson,
        Self::Rest,
        Self::Nginx,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::WebBinary => "grpcweb-proxy, gRPC-Web binary",
            Self::WebText => "grpcweb-proxy, gRPC-Web text",
            Self::Native => "grpcweb-proxy, native gRPC passthrough",
            Self::WebHttp1 => "grpcweb-proxy, gRPC-Web binary, HTTP/1.1",
            Self::WebLogged => "grpcweb-proxy, gRPC-Web binary, access log on",
            Self::WebJson => "grpcweb-proxy, gRPC-Web+json, transcoded",
            Self::Rest => "grpcweb-proxy, REST/JSON (google.api.http), transcoded",
            Self::Nginx => "nginx grpc_pass, native gRPC",
        }
    }

    /// The protobuf wire, for the paths that send protobuf.
    fn wire(self) -> Option<Wire> {
        match self {
            Self::WebText => Some(Wire::WebText),
            Self::Native | Self::Nginx => Some(Wire::Grpc),
            Self::WebBinary | Self::WebHttp1 | Self::WebLogged => Some(Wire::WebBinary),
            Self::WebJson | Self::Rest => None,
        }
    }

    /// The request body file and its `content-type`.
    pub(crate) fn body<'a>(
        self,
        bodies: &'a Bodies,
        json: &'a JsonBodies,
    ) -> (&'a Path, &'static str) {
        match (self, self.wire()) {
            (_, Some(wire)) => (bodies.for_wire(wire), wire.content_type()),
            (Self::Rest, None) => (&json.rest, JsonBodies::REST_CONTENT_TYPE),
            (_, None) => (&json.web, JsonBodies::WEB_CONTENT_TYPE),
        }
    }

    /// Whether the proxy needs the descriptor set (JSON and REST calls are transcoded).
    fn transcoded(self) -> bool {
        matches!(self, Self::WebJson | Self::Rest)
    }

    /// The request path.
    pub(crate) fn path(self) -> &'static str {
        if self == Self::Rest {
            REST_PATH
        } else {
            "/grpc.testing.TestService/UnaryCall"
        }
    }

    pub(crate) fn http(self) -> Http {
        if self == Self::WebHttp1 {
            Http::H1
        } else {
            Http::H2
        }
    }
}

/// One path's result.
struct Row {
    path: Case,
    per_call: u64,
    frames: Vec<Frame>,
}

pub(crate) fn run(check: bool) -> Result<()> {
    let root = workspace_root();
    // `--check` measures no transcoded path, so needs no protoc.
    let tools = [
        ("valgrind", "valgrind"),
        ("h2load", "nghttp2-client"),
        ("protoc", "protobuf-compiler"),
    ];
    for (tool, package) in tools.into_iter().take(if check { 2 } else { 3 }) {
        if !has_tool(tool) {
            run_cmd(Command::new("apt-get").arg("update"))?;
            run_cmd(Command::new("apt-get").args(["install", "-y", package]))?;
        }
    }
    super::build_release(&root)?;
    let bin_dir = target_dir(&root).join("release");
    let work = target_dir(&root).join("callgrind");
    std::fs::create_dir_all(&work)?;
    let bodies = Bodies::write(&work, "unary-1k", &simple_request(1024))?;
    let json = JsonBodies::write(&work, "unary-1k", &simple_request_json(1024))?;
    let descriptors = if check {
        None
    } else {
        Some(descriptor_set(&root, &work)?)
    };

    let mut backend_set = Children::default();
    backend_set
        .env
        .push(("RUST_LOG".to_owned(), "warn".to_owned()));
    let backend = backend_set.start(&bin_dir, "interop-server", &["--port", "0"])?;

    let paths: Vec<Case> = if check {
        BUDGETS.iter().map(|(p, _)| *p).collect()
    } else {
        Case::ALL.to_vec()
    };
    let mut rows = Vec::new();
    for path in paths {
        let measure = |calls| {
            let proxy = ProxyRun {
                root: &root,
                work: &work,
                backend: &backend,
                bodies: &bodies,
                json: &json,
                descriptors: descriptors.as_deref(),
            };
            run_once(&proxy, path, calls)
        };
        let (small, small_frames) = measure(SMALL)?;
        let (large, large_frames) = measure(LARGE)?;
        let per_call = callgrind::per_call((SMALL, small), (LARGE, large))?;
        let frames = callgrind::per_call_frames(&small_frames, &large_frames, LARGE - SMALL, TOP);
        println!("{}: {per_call} instructions per call", path.label());
        rows.push(Row {
            path,
            per_call,
            frames,
        });
    }
    drop(backend_set);

    if check {
        let mut over = Vec::new();
        for (path, budget) in BUDGETS {
            if let Some(row) = rows.iter().find(|r| r.path == path)
                && row.per_call > budget
            {
                over.push(format!(
                    "{}: {} instructions per call, budget {budget}",
                    path.label(),
                    row.per_call
                ));
            }
        }
        if !over.is_empty() {
            bail!(
                "the proxy's instructions per 1 KiB call are over budget (xtask/src/bench/callgrind.rs BUDGETS):\n{}",
                over.join("\n")
            );
        }
        println!("callgrind: every budgeted path is within its budget");
        return Ok(());
    }
    markdown::write_section(
        &root,
        "<!-- callgrind:begin",
        "<!-- callgrind:end -->",
        &["<!-- proxy:end -->"],
        &report(&rows),
    )
}

/// `BENCH_PROTO` compiled (with its imports) into `work/bench.binpb`, for the proxy's
/// `--descriptor-set`.
fn descriptor_set(root: &Path, work: &Path) -> Result<PathBuf> {
    let dir = work.join("proto");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("bench_http.proto"), BENCH_PROTO)?;
    let out = work.join("bench.binpb");
    run_cmd(
        Command::new("protoc")
            .arg("--include_imports")
            .arg(format!("--descriptor_set_out={}", out.display()))
            .arg(format!("-I{}", dir.display()))
            .arg(format!("-I{}", root.join("protos").display()))
            .arg("bench_http.proto"),
    )?;
    Ok(out)
}

/// What every run of the proxy shares.
struct ProxyRun<'a> {
    root: &'a Path,
    work: &'a Path,
    backend: &'a str,
    bodies: &'a Bodies,
    json: &'a JsonBodies,
    /// For the transcoded paths.
    descriptors: Option<&'a Path>,
}

/// One run of `path` under callgrind with `calls` calls: the total and the self frames.
fn run_once(run: &ProxyRun<'_>, path: Case, calls: u64) -> Result<(u64, Vec<Frame>)> {
    let ProxyRun {
        root,
        work,
        backend,
        bodies,
        json,
        descriptors,
    } = *run;
    let out = work.join(format!("callgrind.{path:?}.{calls}.out"));
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!(
            "--log-file={}",
            work.join("valgrind.log").display()
        ));
    let (mut child, addr) = if path == Case::Nginx {
        let dir = work.join("nginx");
        let port = free_port()?;
        let conf = peers::write_nginx_config(&dir, backend, port)?;
        cmd.arg(peers::nginx_binary()?)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off; master_process off;"])
            .stdout(Stdio::null());
        let child = cmd.spawn().context("starting nginx under valgrind")?;
        let addr = format!("127.0.0.1:{port}");
        peers::wait_for_port(&addr, "nginx")?;
        (child, addr)
    } else {
        let log = if path == Case::WebLogged {
            "info"
        } else {
            "warn"
        };
        cmd.arg(target_dir(root).join("release/grpcweb-proxy"))
            .args(["--listen", "127.0.0.1:0", "--backend"])
            .arg(format!("http://{backend}"));
        if path.transcoded() {
            let descriptors = descriptors.context("a transcoded path needs the descriptor set")?;
            cmd.arg("--descriptor-set").arg(descriptors);
        }
        cmd.env("RUST_LOG", log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .context("starting grpcweb-proxy under valgrind")?;
        let addr = listening_addr(&mut child)?;
        (child, addr)
    };
    let (body, content_type) = path.body(bodies, json);
    let summary = Load {
        url: format!("http://{addr}{}", path.path()),
        body,
        content_type,
        http: path.http(),
        calls: u32::try_from(calls)?,
        clients: 1,
        streams: 8,
        rps: None,
        log: None,
    }
    .run();
    // A clean exit makes callgrind write its file: SIGTERM drains the proxy, SIGQUIT
    // stops nginx gracefully.
    let signal = if path == Case::Nginx {
        "-QUIT"
    } else {
        "-TERM"
    };
    run_cmd(Command::new("kill").args([signal, &child.id().to_string()]))?;
    let status = child.wait()?;
    let summary = summary?;
    if summary.failed > 0 || summary.succeeded != calls {
        bail!(
            "{}: {} of {calls} calls succeeded",
            path.label(),
            summary.succeeded
        );
    }
    if !status.success() {
        bail!("{} exited with {status} under valgrind", path.label());
    }
    let text =
        std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    let total = callgrind::total(&text)?;
    let annotate = Command::new("callgrind_annotate")
        .args(["--threshold=99", "--auto=no"])
        .arg(&out)
        .output()
        .context("running callgrind_annotate")?;
    let frames = callgrind::self_frames(&String::from_utf8_lossy(&annotate.stdout));
    Ok((total, frames))
}

/// The address of the proxy's `listening on ADDR` line (within 60 s: valgrind is slow to
/// start).
fn listening_addr(child: &mut Child) -> Result<String> {
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = addr_in(&line) {
                let _ = tx.take().map(|tx| tx.send(addr.to_owned()));
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => Ok(addr),
        Err(_) => {
            let _ = child.kill();
            bail!("grpcweb-proxy under valgrind printed no `listening on` line within 60 s")
        }
    }
}

/// The BENCHMARKS.md section.
fn report(rows: &[Row]) -> String {
    let nginx = rows
        .iter()
        .find(|r| r.path == Case::Nginx)
        .map(|r| r.per_call);
    let mut s = format!(
        "<!-- callgrind:begin (written by cargo xtask bench callgrind) -->\n\
         ### Instructions per call\n\n\
         Measured {} with `cargo xtask bench callgrind`: user-space instructions per 1 KiB\n\
         unary call (UnaryCall, 1 KiB each way) counted by callgrind in the release proxy\n\
         (or in nginx, one process) in front of a release interop-server; h2load makes\n\
         {SMALL} and then {LARGE} calls (one connection, 8 streams; HTTP/1.1: one\n\
         connection) and the difference is divided by the {} calls between, so start-up\n\
         cancels out. The counts hold steady from run to run (about 0.5%), unlike CPU time;\n\
         kernel time (syscalls, loopback TCP) is not in them. The access log is off\n\
         (`RUST_LOG=warn`, as in the rows above) except where the row says so. The\n\
         transcoded rows send the same request with JSON messages (`grpc-web+json`, and\n\
         REST as `POST /v1/unary` by a `google.api.http` rule), the proxy holding the\n\
         method's descriptors (`--descriptor-set`).\n\
         `cargo xtask test` fails when the gRPC-Web binary or the native path goes over its\n\
         budget in `xtask/src/bench/callgrind.rs`.\n\n\
         | path | instructions per call | vs nginx |\n|---|---:|---:|\n",
        markdown::date(),
        LARGE - SMALL
    );
    for r in rows {
        let ratio = nginx.map_or_else(
            || "-".to_owned(),
            |n| format!("{:.2}", r.per_call as f64 / n.max(1) as f64),
        );
        s.push_str(&format!(
            "| {} | {} | {ratio} |\n",
            r.path.label(),
            r.per_call
        ));
    }
    if let Some(web) = rows.iter().find(|r| r.path == Case::WebBinary) {
        s.push_str(&format!(
            "\nWhere a gRPC-Web binary call's {} instructions go: the {TOP} functions with the\n\
             most instructions of their own per call (not counting what they call).\n\n\
             | function | instructions per call | share |\n|---|---:|---:|\n",
            web.per_call
        ));
        for f in &web.frames {
            s.push_str(&format!(
                "| `{}` | {} | {:.1}% |\n",
                f.function.replace('|', "\\|"),
                f.instructions,
                100.0 * f.instructions as f64 / web.per_call.max(1) as f64
            ));
        }
    }
    s.push_str("<!-- callgrind:end -->\n");
    s
}

//! One callgrind run of a row: the proxy (or nginx) started under valgrind in front of the
//! shared backend, h2load's calls, a clean stop, and the run's total and self frames.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use grpcweb_bench::callgrind::{self, Frame};
use grpcweb_bench::h2load::Load as H2Load;
use grpcweb_bench::requests::{
    Bodies, JsonBodies, simple_request, simple_request_json, streaming_request,
};

use super::{Case, Load, Run};
use crate::bench::peers;
use crate::children::{Children, free_port, listening_addr as addr_in};
use crate::run::{run as run_cmd, target_dir};

/// `UnaryCall` with a REST binding, for the transcoded rows: the descriptor set the proxy
/// gets declares the test service again with this rule (the backend does not care).
pub(super) const BENCH_PROTO: &str = r#"syntax = "proto3";
package grpc.testing;
import "google/api/annotations.proto";
import "grpc/testing/messages.proto";
service TestService {
  rpc UnaryCall(SimpleRequest) returns (SimpleResponse) {
    option (google.api.http) = { post: "/v1/unary" body: "*" };
  }
}
"#;

/// The backend and what every run of the proxy shares.
pub(super) struct Bench {
    root: PathBuf,
    work: PathBuf,
    backend: String,
    unary_1k: Bodies,
    unary_64k: Bodies,
    json: JsonBodies,
    /// For the transcoded paths (none in `--check`).
    descriptors: Option<PathBuf>,
    /// The backend; stopped on drop.
    _children: Children,
}

impl Bench {
    /// Writes the request bodies and starts the release `interop-server`.
    pub(super) fn start(root: &Path, bin_dir: &Path, transcoded: bool) -> Result<Self> {
        let work = target_dir(root).join("callgrind");
        std::fs::create_dir_all(&work)?;
        let unary_1k = Bodies::write(&work, "unary-1k", &simple_request(1024))?;
        let unary_64k = Bodies::write(&work, "unary-64k", &simple_request(64 * 1024))?;
        let json = JsonBodies::write(&work, "unary-1k", &simple_request_json(1024))?;
        let descriptors = if transcoded {
            Some(descriptor_set(root, &work)?)
        } else {
            None
        };
        let mut children = Children::default();
        children
            .env
            .push(("RUST_LOG".to_owned(), "warn".to_owned()));
        let backend = children.start(bin_dir, "interop-server", &["--port", "0"])?;
        Ok(Self {
            root: root.to_owned(),
            work,
            backend,
            unary_1k,
            unary_64k,
            json,
            descriptors,
            _children: children,
        })
    }

    /// The request body file and its `content-type`; streaming bodies are written here,
    /// their length depending on the run.
    fn body(&self, path: Case, load: Load, run: Run) -> Result<(PathBuf, &'static str)> {
        let stream;
        let bodies = match load {
            Load::Unary1K => &self.unary_1k,
            Load::Unary64K => &self.unary_64k,
            Load::Stream => {
                stream = Bodies::write(
                    &self.work,
                    &format!("stream-{}x1024", run.messages),
                    &streaming_request(usize::try_from(run.messages)?, 1024, 0),
                )?;
                &stream
            }
        };
        let (body, content_type) = path.body(bodies, &self.json);
        Ok((body.to_owned(), content_type))
    }

    /// One run of `path` under callgrind: the total and the self frames.
    pub(super) fn run_once(&self, path: Case, load: Load, run: Run) -> Result<(u64, Vec<Frame>)> {
        let out = self
            .work
            .join(format!("callgrind.{path:?}.{load:?}.{}.out", run.units()));
        let _ = std::fs::remove_file(&out);
        let mut cmd = Command::new("valgrind");
        cmd.arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(format!(
                "--log-file={}",
                self.work.join("valgrind.log").display()
            ));
        let (mut child, addr) = if path == Case::Nginx {
            let dir = self.work.join("nginx");
            let port = free_port()?;
            let conf = peers::write_nginx_config(&dir, &self.backend, port)?;
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
            cmd.arg(target_dir(&self.root).join("release/grpcweb-proxy"))
                .args(["--listen", "127.0.0.1:0", "--backend"])
                .arg(format!("http://{}", self.backend));
            if path.transcoded() {
                let descriptors = self
                    .descriptors
                    .as_deref()
                    .context("a transcoded path needs the descriptor set")?;
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
        let (body, content_type) = self.body(path, load, run)?;
        let summary = H2Load {
            url: format!("http://{addr}{}", load.url_path(path)),
            body: &body,
            content_type,
            http: path.http(),
            calls: u32::try_from(run.calls)?,
            clients: 1,
            streams: load.streams(),
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
        if summary.failed > 0 || summary.succeeded != run.calls {
            bail!(
                "{}: {} of {} calls succeeded",
                path.label(),
                summary.succeeded,
                run.calls
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

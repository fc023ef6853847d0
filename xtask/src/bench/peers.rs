//! The other proxies the benchmark compares with: nginx (`grpc_pass`, native gRPC only) and
//! improbable-eng's grpcwebproxy, each started in the foreground on a free loopback port
//! and stopped when its guard drops.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::children::free_port;
use crate::run::{has_tool, run as run_cmd, workspace_root};

/// improbable-eng's grpcwebproxy, as `go install` takes it.
const GRPCWEBPROXY: &str = "github.com/improbable-eng/grpc-web/go/grpcwebproxy@v0.15.0";

/// A started peer, killed when dropped.
#[derive(Debug)]
pub(crate) struct Peer {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub(crate) addr: String,
}

impl Peer {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Peer {
    /// SIGTERM first, so that nginx's master stops its workers (SIGKILL would leave them
    /// running); SIGKILL if it has not exited within 5 s.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Ok(None) = self.child.try_wait() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

/// nginx as an h2c gRPC proxy (`grpc_pass` with upstream keepalive) in front of
/// `backend`, run from a generated config in `dir`. Installs Debian's nginx-light when
/// there is no nginx.
pub(crate) fn start_nginx(dir: &Path, backend: &str) -> Result<Peer> {
    let nginx = nginx_binary()?;
    let port = free_port()?;
    let conf = write_nginx_config(dir, backend, port)?;
    let child = Command::new(&nginx)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off; master_process on;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", nginx.display()))?;
    let peer = Peer {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    wait_for_port(&peer.addr, "nginx")?;
    Ok(peer)
}

/// The nginx binary, installed (Debian's nginx-light) when there is none.
pub(crate) fn nginx_binary() -> Result<PathBuf> {
    if !Path::new("/usr/sbin/nginx").exists() && !has_tool("nginx") {
        run_cmd(Command::new("apt-get").arg("update"))?;
        run_cmd(Command::new("apt-get").args([
            "install",
            "-y",
            "--no-install-recommends",
            "nginx-light",
        ]))?;
    }
    Ok(if Path::new("/usr/sbin/nginx").exists() {
        PathBuf::from("/usr/sbin/nginx")
    } else {
        PathBuf::from("nginx")
    })
}

/// Writes `dir/nginx.conf`: `grpc_pass` to `backend` on `127.0.0.1:port` (h2c), upstream
/// keepalive, no access log.
pub(crate) fn write_nginx_config(dir: &Path, backend: &str, port: u16) -> Result<PathBuf> {
    std::fs::create_dir_all(dir.join("logs"))?;
    let d = dir.display();
    let config = format!(
        "worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    # Not the default 1000 calls per client connection: h2load does not reconnect.
    keepalive_requests 10000000;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    client_max_body_size 16m;
    http2_max_concurrent_streams 1000;
    upstream backend {{
        server {backend};
        keepalive 64;
        keepalive_requests 10000000;
    }}
    server {{
        listen 127.0.0.1:{port} http2;
        location / {{
            grpc_pass grpc://backend;
            grpc_read_timeout 60s;
            grpc_send_timeout 60s;
        }}
    }}
}}
"
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config)?;
    Ok(conf)
}

/// improbable-eng's grpcwebproxy (HTTP/1.1 only on its plain listener) in front of
/// `backend`; installed by `crate::peers`.
pub(crate) fn start_grpcwebproxy(backend: &str) -> Result<Peer> {
    let root = workspace_root();
    let bin_dir = crate::peers::peers_dir(&root).join("bin");
    let bin = bin_dir.join("grpcwebproxy");
    if !bin.exists() {
        // The interop peers' installer brings it (with the rest of the peers); when that
        // fails for another peer, install this one alone.
        if let Err(e) = crate::peers::setup(&root) {
            println!("peer setup failed ({e:#}); installing grpcwebproxy alone");
        }
    }
    if !bin.exists() {
        std::fs::create_dir_all(&bin_dir)?;
        run_cmd(
            Command::new("go")
                .args(["install", GRPCWEBPROXY])
                .env("GOBIN", &bin_dir),
        )?;
    }
    let port = free_port()?;
    let child = Command::new(&bin)
        .arg(format!("--backend_addr={backend}"))
        .args([
            "--run_tls_server=false",
            "--server_bind_address=127.0.0.1",
            "--allow_all_origins",
            "--backend_max_call_recv_msg_size=16777216",
        ])
        .arg(format!("--server_http_debug_port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let peer = Peer {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    wait_for_port(&peer.addr, "grpcwebproxy")?;
    Ok(peer)
}

pub(crate) fn wait_for_port(addr: &str, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{what} did not accept connections on {addr} within 10 s")
}

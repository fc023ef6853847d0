//! `cargo xtask demo`: install what is missing, build, start the demo backend
//! (`demo-server`), grpcweb-proxy in front of it and the demo page (examples/web) on
//! another origin, print `Demo: http://127.0.0.1:PORT/`, and run until Ctrl-C.
//!
//! The page is served by a small static server inside this process (`demo/site.rs`); the
//! proxy allows exactly the page's origin, so the browser's CORS checks are real.

use std::fs;
use std::io::{self, BufRead as _, BufReader, IsTerminal as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::run::{cargo, display, has_tool, run as run_cmd, target_dir, workspace_root};

mod site;

/// Where the page is served when that port is free.
pub(crate) const DEFAULT_PAGE_PORT: u16 = 8080;
/// Where the proxy listens when that port is free.
pub(crate) const DEFAULT_PROXY_PORT: u16 = 8081;
/// The protos the page's client is generated from, relative to `protos/`.
const PROTOS: [&str; 2] = ["examples/demo.proto", "google/rpc/error_details.proto"];
/// How long a binary may take to print its `listening on ADDR` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Options of `cargo xtask demo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// The page's port; 0 picks a free one. The default falls back to a free port if taken.
    pub(crate) page_port: u16,
    /// The proxy's port; 0 picks a free one. The default falls back to a free port if taken.
    pub(crate) proxy_port: u16,
    /// Install and build everything first (off: only generate and bundle the page; for
    /// tests, which build the binaries and the runtime themselves).
    pub(crate) build: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            page_port: DEFAULT_PAGE_PORT,
            proxy_port: DEFAULT_PROXY_PORT,
            build: true,
        }
    }
}

/// Runs the demo until Ctrl-C (or Enter, when stdin is a terminal).
pub(crate) fn run(options: &Options) -> Result<()> {
    let root = workspace_root();
    let bin_dir = target_dir(&root).join("debug");
    if options.build {
        setup(&root)?;
        crate::setup::build_bins(&root)?;
        run_cmd(
            cargo()
                .current_dir(&root)
                .args(["build", "-p", "protoc-gen-grpcweb-ts"]),
        )?;
        crate::client_wasm::build_npm_package(&root)?;
    }
    let dist = build_page(&root, &bin_dir)?;

    let page = bind(options.page_port, DEFAULT_PAGE_PORT, "page")?;
    let page_addr = page.local_addr()?;
    let page_origin = format!("http://{page_addr}");
    let mut children = Children::default();
    let backend = children.start(&bin_dir, "demo-server", &["--port", "0"])?;
    let backend_url = format!("http://{backend}");
    // Probe the proxy's port here so a taken default falls back to a free port; the proxy
    // binds it again right after.
    let proxy_listen = bind(options.proxy_port, DEFAULT_PROXY_PORT, "proxy")?.local_addr()?;
    let localhost_origin = format!("http://localhost:{}", page_addr.port());
    let proxy = children.start(
        &bin_dir,
        "grpcweb-proxy",
        &[
            "--listen",
            &proxy_listen.to_string(),
            "--backend",
            &backend_url,
            "--allowed-origin",
            &page_origin,
            "--allowed-origin",
            &localhost_origin,
        ],
    )?;
    let proxy_url = format!("http://{proxy}");
    site::Site::load(&dist, &proxy_url)?.spawn(page);

    println!(
        "
  demo-server     {backend_url:<24} grpcweb.demo.v1.DemoService, native gRPC over h2c
  grpcweb-proxy   {proxy_url:<24} gRPC-Web -> {backend_url}, CORS: {page_origin}
  page            {page_origin:<24} examples/web/dist (a different origin than the proxy)

Stop with Ctrl-C{}.

Demo: http://{page_addr}/",
        if io::stdin().is_terminal() {
            " or Enter"
        } else {
            ""
        }
    );
    children.wait_for_stop()
}

/// Installs what the build needs and is missing: the wasm32 target, wasm-bindgen-cli (at
/// the crate's version) and protoc. npm packages are installed where they are used.
fn setup(root: &Path) -> Result<()> {
    for tool in ["node", "npm"] {
        if !has_tool(tool) {
            bail!("`{tool}` not found on PATH: the demo page needs Node.js 20 or newer with npm");
        }
    }
    crate::setup::setup_rust(false)?;
    crate::client_wasm::setup_wasm_bindgen(root)?;
    crate::setup::setup_protoc()
}

/// Generates the page's client with protoc-gen-grpcweb-ts into examples/web/gen and bundles
/// the page into examples/web/dist, which it returns.
fn build_page(root: &Path, bin_dir: &Path) -> Result<PathBuf> {
    let web = root.join("examples/web");
    if npm_install_needed(&web) {
        run_cmd(Command::new("npm").current_dir(&web).arg("ci"))?;
    }
    let plugin = bin_dir.join("protoc-gen-grpcweb-ts");
    if !plugin.exists() {
        bail!(
            "{} is missing: build it with `cargo build -p protoc-gen-grpcweb-ts`",
            plugin.display()
        );
    }
    let generated = web.join("gen");
    match fs::remove_dir_all(&generated) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", generated.display()));
        }
        _ => {}
    }
    fs::create_dir_all(&generated)?;
    run_cmd(
        Command::new("protoc")
            .arg(format!(
                "--plugin=protoc-gen-grpcweb-ts={}",
                plugin.display()
            ))
            .arg(format!("--grpcweb-ts_out={}", generated.display()))
            .arg("-I")
            .arg(root.join("protos"))
            .args(PROTOS),
    )?;
    run_cmd(Command::new("npm").current_dir(&web).args(["run", "build"]))?;
    Ok(web.join("dist"))
}

/// Whether examples/web's node_modules is missing or older than its package-lock.json
/// (npm writes `node_modules/.package-lock.json` at the end of every install).
fn npm_install_needed(dir: &Path) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    match (
        modified(&dir.join("node_modules/.package-lock.json")),
        modified(&dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(wanted)) => wanted > installed,
        _ => true,
    }
}

/// Binds 127.0.0.1:`port`; when that is the (taken) default, a free port instead.
fn bind(port: u16, default: u16, what: &str) -> Result<TcpListener> {
    let addr = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match TcpListener::bind(addr(port)) {
        Ok(listener) => Ok(listener),
        Err(e) if port == default && e.kind() == io::ErrorKind::AddrInUse => {
            println!("{what}: port {port} is taken, using a free port");
            TcpListener::bind(addr(0))
                .with_context(|| format!("binding a free port for the {what}"))
        }
        Err(e) => Err(e).with_context(|| format!("binding 127.0.0.1:{port} for the {what}")),
    }
}

/// Extracts ADDR from a `listening on ADDR` line.
fn listening_addr(line: &str) -> Option<&str> {
    let addr = line.trim_end().strip_prefix("listening on ")?;
    (!addr.is_empty() && !addr.contains(char::is_whitespace)).then_some(addr)
}

/// Started children, killed when this is dropped (on success, error or early exit).
///
/// Ctrl-C goes to the whole foreground process group, so the children get their own
/// SIGINT and xtask ends without running this; std has no signal handler to do better.
#[derive(Debug, Default)]
pub(crate) struct Children {
    running: Vec<(String, Child)>,
    /// Environment variables given to every child started after they are set.
    pub(crate) env: Vec<(String, String)>,
}

impl Children {
    /// Starts `bin_dir/name args` and returns the address from its `listening on` line.
    /// Its later stdout lines are echoed with a `[name]` prefix; stderr is inherited.
    pub(crate) fn start(&mut self, bin_dir: &Path, name: &str, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(bin_dir.join(name));
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        println!("$ {}", display(&cmd));
        let mut child = cmd
            .spawn()
            .with_context(|| format!("could not start {}", bin_dir.join(name).display()))?;
        let stdout = child.stdout.take().context("child has no stdout pipe")?;
        self.running.push((name.to_owned(), child));

        let (addr_tx, addr_rx) = mpsc::channel();
        let prefix = name.to_owned();
        thread::spawn(move || {
            let mut addr_tx = Some(addr_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = addr_tx.as_ref().and(listening_addr(&line)) {
                    let _ = addr_tx.take().map(|tx| tx.send(addr.to_owned()));
                } else {
                    println!("[{prefix}] {line}");
                }
            }
        });
        match addr_rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => Ok(addr),
            Err(RecvTimeoutError::Timeout) => bail!(
                "{name} printed no `listening on ADDR` line within {}s",
                START_TIMEOUT.as_secs()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                bail!(
                    "{name} closed its stdout before printing `listening on ADDR` (see its output above)"
                )
            }
        }
    }

    /// Returns when the user presses Enter (if stdin is a terminal) or a child exits
    /// cleanly (it got Ctrl-C); fails as soon as a child fails.
    /// The process id of the child started as `name`.
    pub(crate) fn pid(&self, name: &str) -> Option<u32> {
        self.running
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
    }

    fn wait_for_stop(&mut self) -> Result<()> {
        let (stop_tx, stop_rx) = mpsc::channel();
        if io::stdin().is_terminal() {
            thread::spawn(move || {
                let mut line = String::new();
                // A line or end of input (Ctrl-D) both mean stop.
                let _ = io::stdin().lock().read_line(&mut line);
                let _ = stop_tx.send(());
            });
        }
        loop {
            for (name, child) in &mut self.running {
                if let Some(status) = child.try_wait()? {
                    // A clean exit is a child that got the Ctrl-C too (when this process
                    // ignores SIGINT, as background jobs of a non-interactive shell do).
                    if status.success() {
                        println!("{name} stopped; stopping the demo");
                        return Ok(());
                    }
                    bail!("{name} exited ({status}); stopping the demo");
                }
            }
            match stop_rx.recv_timeout(POLL_INTERVAL) {
                Ok(()) => {
                    println!("stopping");
                    return Ok(());
                }
                Err(RecvTimeoutError::Timeout) => {}
                // No stdin reader (stdin is not a terminal): only Ctrl-C or a child's exit
                // ends the demo.
                Err(RecvTimeoutError::Disconnected) => thread::sleep(POLL_INTERVAL),
            }
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        // Last started first: the proxy before its backend.
        for (_, child) in self.running.iter_mut().rev() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_default_port_falls_back_to_a_free_one() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let other = bind(port, port, "test").unwrap();
        assert_ne!(other.local_addr().unwrap().port(), port);
        // A port asked for explicitly does not fall back.
        assert!(bind(port, DEFAULT_PAGE_PORT, "test").is_err());
    }

    #[test]
    fn parses_listening_line() {
        assert_eq!(
            listening_addr("listening on 127.0.0.1:8080"),
            Some("127.0.0.1:8080")
        );
        assert_eq!(listening_addr("listening on [::1]:80\r"), Some("[::1]:80"));
        assert_eq!(listening_addr("listening on "), None);
        assert_eq!(listening_addr("listening on a b"), None);
        assert_eq!(listening_addr("starting"), None);
    }
}

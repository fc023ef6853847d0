//! `cargo xtask demo`: install what is missing, build, start the demo backend
//! (`demo-server`), grpcweb-proxy in front of it and the demo page (examples/web) on
//! another origin, print `Demo: http://127.0.0.1:PORT/`, and run until Ctrl-C.
//!
//! The page is served by a small static server inside this process (`demo/site.rs`); the
//! proxy allows exactly the page's origin, so the browser's CORS checks are real. The proxy
//! lets clients stream requests (the page's Collect card); browsers do that over HTTP/2
//! only, so with `--tls` the page and the proxy are served over HTTPS with a certificate
//! made at start (`demo/tls.rs`), and the command prints how to have Chromium trust it.

use std::fs;
use std::io::{self, IsTerminal as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::children::Children;
use crate::run::{cargo, has_tool, run as run_cmd, target_dir, workspace_root};

mod site;
mod tls;

/// Where the page is served when that port is free.
pub(crate) const DEFAULT_PAGE_PORT: u16 = 8080;
/// Where the proxy listens when that port is free.
pub(crate) const DEFAULT_PROXY_PORT: u16 = 8081;
/// The protos the page's client is generated from, relative to `protos/`.
const PROTOS: [&str; 2] = ["examples/demo.proto", "google/rpc/error_details.proto"];

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
    /// Serve the page and the proxy over HTTPS (a certificate made at start), so browsers
    /// talk HTTP/2 to the proxy and can stream requests.
    pub(crate) tls: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            page_port: DEFAULT_PAGE_PORT,
            proxy_port: DEFAULT_PROXY_PORT,
            build: true,
            tls: false,
        }
    }
}

/// Runs the demo until Ctrl-C (or Enter, when stdin is a terminal).
pub(crate) fn run(options: &Options) -> Result<()> {
    let root = workspace_root();
    let bin_dir = target_dir(&root).join("debug");
    if options.build {
        setup()?;
        crate::setup::build_bins(&root)?;
        run_cmd(
            cargo()
                .current_dir(&root)
                .args(["build", "-p", "protoc-gen-grpcweb-ts"]),
        )?;
        crate::client_wasm::build_npm_package(&root)?;
    }
    let dist = build_page(&root, &bin_dir)?;

    let cert = match options.tls {
        true => Some(tls::DemoCert::generate(
            &target_dir(&root).join("demo-tls"),
        )?),
        false => None,
    };
    let scheme = if cert.is_some() { "https" } else { "http" };
    let page = bind(options.page_port, DEFAULT_PAGE_PORT, "page")?;
    let page_addr = page.local_addr()?;
    let page_origin = format!("{scheme}://{page_addr}");
    let mut children = Children::default();
    let backend = children.start(&bin_dir, "demo-server", &["--port", "0"])?;
    let backend_url = format!("http://{backend}");
    // Probe the proxy's port here so a taken default falls back to a free port; the proxy
    // binds it again right after.
    let proxy_listen = bind(options.proxy_port, DEFAULT_PROXY_PORT, "proxy")?.local_addr()?;
    let localhost_origin = format!("{scheme}://localhost:{}", page_addr.port());
    let proxy_listen = proxy_listen.to_string();
    let mut proxy_args = vec![
        "--listen",
        &proxy_listen,
        "--backend",
        &backend_url,
        "--allowed-origin",
        &page_origin,
        "--allowed-origin",
        &localhost_origin,
        "--allow-request-streaming",
    ];
    let tls_files = cert.as_ref().map(|c| {
        (
            c.cert_path.display().to_string(),
            c.key_path.display().to_string(),
        )
    });
    if let Some((cert_file, key_file)) = &tls_files {
        proxy_args.extend(["--tls-cert", cert_file, "--tls-key", key_file]);
    }
    let proxy = children.start(&bin_dir, "grpcweb-proxy", &proxy_args)?;
    let proxy_url = format!("{scheme}://{proxy}");
    let server_config = cert
        .as_ref()
        .map(tls::DemoCert::server_config)
        .transpose()?;
    site::Site::load(&dist, &proxy_url)?.spawn(page, server_config);

    let page_url = format!("{scheme}://{page_addr}/");
    let trust = match &cert {
        Some(cert) => format!(
            "
TLS: a certificate made for this run, trusted by no browser ({}).
Chromium trusts it, and only it, by its public key hash (a throwaway profile keeps the
flag out of yours):

  chromium {} --user-data-dir=\"$(mktemp -d)\" {page_url}

  SPKI SHA-256: {}

Other browsers: open {proxy_url}/ and {page_url} once and accept the
warning (only Chromium-based browsers stream request bodies today).
",
            cert.cert_path.display(),
            cert.chromium_flag(),
            cert.spki_hash
        ),
        None => "
Plain HTTP (HTTP/1.1): browsers do not stream request bodies over it, so the Collect card
shows UNIMPLEMENTED; `cargo xtask demo --tls` serves HTTPS and HTTP/2.
"
        .to_owned(),
    };
    println!(
        "
  demo-server     {backend_url:<24} grpcweb.demo.v1.DemoService, native gRPC over h2c
  grpcweb-proxy   {proxy_url:<24} gRPC-Web -> {backend_url}, CORS: {page_origin}
  page            {page_origin:<24} examples/web/dist (a different origin than the proxy)
{trust}
Stop with Ctrl-C{}.

Demo: {page_url}",
        if io::stdin().is_terminal() {
            " or Enter"
        } else {
            ""
        }
    );
    children.wait_for_stop()
}

/// Installs what the build needs and is missing: the wasm32 target and protoc. npm
/// packages are installed where they are used.
fn setup() -> Result<()> {
    for tool in ["node", "npm"] {
        if !has_tool(tool) {
            bail!("`{tool}` not found on PATH: the demo page needs Node.js 20 or newer with npm");
        }
    }
    crate::setup::setup_rust(false)?;
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
}

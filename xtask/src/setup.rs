//! Installing what the tasks need when it is missing: the Rust target and components,
//! protoc, js-tests' npm packages; and building the debug binaries that js-tests, the
//! interop matrix and the demo start.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::run::{cargo, has_tool, probe, run as run_cmd};

pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Builds the binaries that js-tests and the demo start.
pub(crate) fn build_bins(root: &Path) -> Result<()> {
    run_cmd(cargo().current_dir(root).args([
        "build",
        "-p",
        "grpcweb-proxy",
        "-p",
        "grpcweb-interop",
        "--bins",
    ]))
}

/// js-tests run protoc-gen-grpcweb-ts under real protoc: Debian's protobuf-compiler.
pub(crate) fn setup_protoc() -> Result<()> {
    if has_tool("protoc") {
        println!("protoc: installed");
        return Ok(());
    }
    run_cmd(Command::new("apt-get").arg("update"))?;
    run_cmd(Command::new("apt-get").args(["install", "-y", "protobuf-compiler"]))
}

pub(crate) fn setup_rust(lint: bool) -> Result<()> {
    if !has_tool("rustup") {
        // A toolchain without rustup (a distro package, say) must bring these itself.
        println!("rustup not found: assuming {WASM_TARGET}, rustfmt and clippy are installed");
        return Ok(());
    }
    let installed = probe(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("`rustup target list --installed` failed")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("rust target {WASM_TARGET}: installed");
    } else {
        run_cmd(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    if lint {
        for (component, subcommand) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
            if probe(cargo().args([subcommand, "--version"])).is_some() {
                println!("rust component {component}: installed");
            } else {
                run_cmd(Command::new("rustup").args(["component", "add", component]))?;
            }
        }
    }
    Ok(())
}

/// Runs `npm ci` in `js_dir` (js-tests, the conformance client) unless node_modules is current.
pub(crate) fn setup_js(js_dir: &Path) -> Result<()> {
    for tool in ["node", "npm"] {
        if !has_tool(tool) {
            bail!("`{tool}` not found on PATH: js-tests need Node.js 20 or newer with npm");
        }
    }
    match npm_ci_reason(js_dir) {
        Some(reason) => {
            println!("npm packages: {reason}");
            run_cmd(Command::new("npm").current_dir(js_dir).arg("ci"))
        }
        None => {
            println!("npm packages: up to date");
            Ok(())
        }
    }
}

/// Why js-tests needs `npm ci`, or `None` when node_modules matches package-lock.json.
/// npm writes `node_modules/.package-lock.json` at the end of every install.
fn npm_ci_reason(js_dir: &Path) -> Option<&'static str> {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    if !js_dir.join("node_modules").is_dir() {
        return Some("node_modules is missing");
    }
    let Some(installed) = modified(&js_dir.join("node_modules/.package-lock.json")) else {
        return Some("node_modules/.package-lock.json is missing");
    };
    match modified(&js_dir.join("package-lock.json")) {
        Some(wanted) if wanted > installed => Some("package-lock.json is newer than node_modules"),
        _ => None,
    }
}

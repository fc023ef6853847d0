//! Setup and build steps for the browser runtime (client-wasm/) and its tests:
//! wasm-bindgen-cli at exactly the wasm-bindgen crate's version (its test runner runs the
//! tower service's tests; the npm package needs no wasm-bindgen), Debian's Chromium for
//! the browser tests, and the npm package `grpcweb-client` built before js-tests compile.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::run::{cargo, has_tool, probe, run as run_cmd};

/// Where the browser tests expect Chromium (Debian's `chromium` package).
const CHROMIUM: &str = "/usr/bin/chromium";

/// The wasm-bindgen version pinned in Cargo.lock (the CLI must match it exactly).
fn locked_wasm_bindgen(root: &Path) -> Result<String> {
    let lock = fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line != "name = \"wasm-bindgen\"" {
            continue;
        }
        if let Some(version) = lines
            .next()
            .and_then(|l| l.strip_prefix("version = \""))
            .and_then(|v| v.strip_suffix('"'))
        {
            return Ok(version.to_owned());
        }
    }
    anyhow::bail!("wasm-bindgen is not in Cargo.lock")
}

/// Installs `wasm-bindgen-cli` when `wasm-bindgen --version` is missing or differs from
/// the crate's version (cargo keeps the binary, so later runs skip this).
pub(crate) fn setup_wasm_bindgen(root: &Path) -> Result<()> {
    let wanted = locked_wasm_bindgen(root)?;
    let have = probe(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(wanted.as_str()) {
        println!("wasm-bindgen-cli {wanted}: installed");
        return Ok(());
    }
    // Not --locked: the CLI's own lock file may name versions a registry mirror lacks.
    run_cmd(cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]))
}

/// Installs Debian's Chromium for the browser tests when it is missing.
pub(crate) fn setup_chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() {
        println!("chromium: installed");
        return Ok(());
    }
    run_cmd(Command::new("apt-get").arg("update"))?;
    run_cmd(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "chromium"]),
    )
}

/// Lints grpcweb-client's wasm32-only code with warnings denied: the npm package's core
/// as the npm build builds it (`no-std`: its allocator and panic handler), then the tower
/// service with its fetch driver, tests included (host builds leave both out).
pub(crate) fn check_wasm(root: &Path) -> Result<()> {
    run_cmd(cargo().current_dir(root).args([
        "clippy",
        "-p",
        "grpcweb-client",
        "--target",
        "wasm32-unknown-unknown",
        "--features",
        "no-std",
        "--lib",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_cmd(cargo().current_dir(root).args([
        "clippy",
        "-p",
        "grpcweb-client",
        "--target",
        "wasm32-unknown-unknown",
        "--features",
        "tower",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// Installs client-wasm/npm's build tools (TypeScript, binaryen) and builds the package:
/// cargo for wasm32, wasm-opt, tsc (see client-wasm/npm/scripts/build.mjs).
pub(crate) fn build_npm_package(root: &Path) -> Result<()> {
    let dir = root.join("client-wasm/npm");
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    // npm writes node_modules/.package-lock.json at the end of every install.
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let wanted = modified(&dir.join("package-lock.json"));
    if installed.is_none() || wanted > installed {
        if !has_tool("npm") {
            anyhow::bail!("`npm` not found on PATH");
        }
        run_cmd(Command::new("npm").current_dir(&dir).arg("ci"))?;
    }
    run_cmd(Command::new("npm").current_dir(&dir).args(["run", "build"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_locked_version() {
        let version = locked_wasm_bindgen(&crate::run::workspace_root()).unwrap();
        assert!(version.starts_with("0.2."), "{version}");
    }
}

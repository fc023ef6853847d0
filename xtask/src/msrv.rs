//! The minimum supported Rust version: every crate declares the workspace's
//! `rust-version`, and this checks that the workspace builds with that toolchain
//! (installed with rustup, minimal profile, when missing).

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::run::{has_tool, probe, run as run_cmd};

/// `cargo check --workspace --locked` with the toolchain named by `rust-version`.
pub(crate) fn check(root: &Path) -> Result<()> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    let version = rust_version(&manifest).context("no rust-version in Cargo.toml")?;
    if !has_tool("rustup") {
        bail!("checking the MSRV ({version}) needs rustup to install that toolchain");
    }
    let installed = probe(Command::new("rustup").args(["run", version, "rustc", "--version"]));
    if installed.is_none() {
        run_cmd(Command::new("rustup").args([
            "toolchain",
            "install",
            version,
            "--profile",
            "minimal",
        ]))?;
    }
    run_cmd(Command::new("rustup").current_dir(root).args([
        "run",
        version,
        "cargo",
        "check",
        "--workspace",
        "--locked",
    ]))
}

/// The `rust-version = "X.Y"` of a manifest.
fn rust_version(manifest: &str) -> Option<&str> {
    manifest.lines().find_map(|line| {
        let value = line.trim().strip_prefix("rust-version")?.trim_start();
        value
            .strip_prefix('=')?
            .trim()
            .strip_prefix('"')?
            .strip_suffix('"')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_rust_version() {
        assert_eq!(
            rust_version("[package]\nrust-version = \"1.88\"\n"),
            Some("1.88")
        );
        assert_eq!(rust_version("rust-version.workspace = true"), None);
        let root = crate::run::workspace_root();
        let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(rust_version(&manifest).is_some());
    }
}

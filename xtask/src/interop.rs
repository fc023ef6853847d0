//! `cargo xtask interop [--update-readme]`: the interop matrix (js-tests/matrix/): every
//! peer client against every server where it applies, printing the matrix and a last line
//! `N passed, M failed`. Installs the peers, builds what the matrix starts, then runs it.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::run::{cargo, run as run_cmd, target_dir};

/// Options of `cargo xtask interop`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// Write the matrix into README.md between its matrix markers.
    pub(crate) update_readme: bool,
}

/// Installs what is missing, builds, and runs the matrix.
pub(crate) fn run(root: &Path, options: &Options) -> Result<()> {
    crate::setup::setup_rust(false)?;
    crate::client_wasm::setup_chromium()?;
    crate::setup::setup_js(&root.join("js-tests"))?;
    crate::peers::setup(root)?;
    build(root)?;
    crate::client_wasm::build_npm_package(root)?;
    let mut npm = Command::new("npm");
    npm.args(["run", "matrix"]);
    if options.update_readme {
        npm.args(["--", "--update-readme"]);
    }
    run_cmd(env(root, &mut npm))
}

/// The matrix step of `cargo xtask test`: js-tests have already built the binaries, the
/// runtime package and js-tests/dist; the peers were installed in the setup step.
pub(crate) fn run_in_suite(root: &Path) -> Result<()> {
    build(root)?;
    let mut node = Command::new("node");
    node.args(["--enable-source-maps", "dist/matrix/run.js"]);
    run_cmd(env(root, &mut node))
}

/// The binaries the matrix starts: the proxy, the interop server, the plugin (for the
/// generated client) and the tonic-web example server.
fn build(root: &Path) -> Result<()> {
    crate::setup::build_bins(root)?;
    run_cmd(cargo().current_dir(root).args([
        "build",
        "-p",
        "protoc-gen-grpcweb-ts",
        "-p",
        "grpcweb-client",
        "--bins",
        "--example",
        "tonic_web_peer",
    ]))
}

fn env<'a>(root: &Path, cmd: &'a mut Command) -> &'a mut Command {
    cmd.current_dir(root.join("js-tests"))
        .env("GRPCWEB_BIN_DIR", target_dir(root).join("debug"))
        .env("GRPCWEB_PEERS_DIR", crate::peers::peers_dir(root))
}

//! The connectrpc conformance suite, server side: `connectconformance --mode server`
//! against `conformance-server` (our proxy in front of a tonic `ConformanceService`).
//!
//! The runner is a Go program (`go install`) and the suite's protos come with its Go
//! module, both at the version pinned in `interop/conformance/CONFORMANCE_VERSION`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::run::{cargo, probe, run as run_cmd, target_dir};

const MODULE: &str = "connectrpc.com/conformance";

/// The configurations we run, with the extra arguments for `conformance-server`.
const CONFIGS: [(&str, &[&str]); 2] = [
    ("server-config.yaml", &[]),
    (
        "server-streaming-config.yaml",
        &["--allow-request-streaming"],
    ),
];

fn dir(root: &Path) -> PathBuf {
    root.join("interop").join("conformance")
}

fn version(root: &Path) -> Result<String> {
    let path = dir(root).join("CONFORMANCE_VERSION");
    let v =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(v.trim().to_owned())
}

/// Downloads the suite's Go module (its protos are compiled by `grpcweb-conformance`'s
/// build script) and installs the runner at the pinned version.
pub(crate) fn setup(root: &Path) -> Result<()> {
    // `go` has no --version flag: ask it for its version instead.
    if probe(Command::new("go").arg("version")).is_none() {
        bail!(
            "`go` not found on PATH: the conformance suite needs Go (connectconformance is a Go program)"
        );
    }
    let version = version(root)?;
    let module = format!("{MODULE}@{version}");
    run_cmd(
        Command::new("go")
            .args(["mod", "download", &module])
            .env("GOFLAGS", "-mod=mod"),
    )?;
    let runner = runner_path()?;
    let installed = probe(Command::new(&runner).arg("--version")).unwrap_or_default();
    if installed.contains(version.trim_start_matches('v')) {
        println!("connectconformance {version}: installed");
    } else {
        run_cmd(Command::new("go").args([
            "install",
            &format!("{MODULE}/cmd/connectconformance@{version}"),
        ]))?;
    }
    Ok(())
}

/// Builds `conformance-server` and runs every configuration.
pub(crate) fn run(root: &Path) -> Result<()> {
    run_cmd(
        cargo()
            .current_dir(root)
            .args(["build", "-p", "grpcweb-conformance", "--bins"]),
    )?;
    let server = target_dir(root).join("debug").join("conformance-server");
    let runner = runner_path()?;
    for (config, args) in CONFIGS {
        let mut cmd = Command::new(&runner);
        cmd.current_dir(root)
            .args(["--mode", "server", "--conf"])
            .arg(dir(root).join(config))
            .arg("--known-failing")
            .arg(format!(
                "@{}",
                dir(root).join("server-known-failing.txt").display()
            ))
            .arg("--")
            .arg(&server)
            .args(args);
        run_cmd(&mut cmd)?;
    }
    Ok(())
}

fn runner_path() -> Result<PathBuf> {
    let gobin = probe(Command::new("go").args(["env", "GOBIN"])).unwrap_or_default();
    if !gobin.trim().is_empty() {
        return Ok(PathBuf::from(gobin.trim()).join("connectconformance"));
    }
    let gopath =
        probe(Command::new("go").args(["env", "GOPATH"])).context("`go env GOPATH` failed")?;
    Ok(PathBuf::from(gopath.trim())
        .join("bin")
        .join("connectconformance"))
}

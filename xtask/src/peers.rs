//! Peers for the interop matrix (`js-tests/matrix/`): servers and tools that nobody here
//! wrote, installed into `<target>/peers/`.
//!
//! - `bin/grpc-go-interop-server`: grpc-go's interop `TestService` on a loopback listener
//!   (`interop/peers/go/`, built with `go build`; grpc-go's own server binary listens on
//!   every interface);
//! - `bin/grpc-go-interop-client`: grpc-go's interop client (`go install`, at
//!   [`GRPC_GO_VERSION`]);
//! - `bin/grpcwebproxy`: improbable-eng's gRPC-Web proxy (`go install`);
//! - `venv/`: a Python venv with the packages pinned in
//!   `interop/peers/python/requirements.txt` (grpcio and grpcio-tools, for
//!   `interop/peers/python/test_server.py`).
//!
//! Each part is installed only when it is missing or its stamp (`stamps/<part>`, written
//! after a successful install) names another version, so an up-to-date setup costs a few
//! file reads and one `python3 --version`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::run::{probe, run as run_cmd, target_dir};

/// The grpc-go release whose interop server and client we install.
const GRPC_GO_VERSION: &str = "v1.85.0";

/// improbable-eng's grpcwebproxy release.
const GRPCWEBPROXY_VERSION: &str = "v0.15.0";

/// A Go program installed with `go install PACKAGE@VERSION` under another name.
#[derive(Debug)]
struct GoTool {
    /// The name under `bin/`.
    name: &'static str,
    /// The package path; `go install` names the binary after its last element.
    package: &'static str,
    version: &'static str,
}

const GO_TOOLS: [GoTool; 2] = [
    GoTool {
        name: "grpc-go-interop-client",
        package: "google.golang.org/grpc/interop/client",
        version: GRPC_GO_VERSION,
    },
    GoTool {
        name: "grpcwebproxy",
        package: "github.com/improbable-eng/grpc-web/go/grpcwebproxy",
        version: GRPCWEBPROXY_VERSION,
    },
];

impl GoTool {
    /// What its stamp records.
    fn key(&self) -> String {
        format!("{}@{}", self.package, self.version)
    }

    /// The file `go install` writes into GOBIN.
    fn built_name(&self) -> &'static str {
        self.package.rsplit('/').next().unwrap_or(self.package)
    }
}

/// Where the peers live: `<target>/peers`.
pub(crate) fn peers_dir(root: &Path) -> PathBuf {
    target_dir(root).join("peers")
}

/// Installs every peer that is missing or at another version.
pub(crate) fn setup(root: &Path) -> Result<()> {
    let dir = peers_dir(root);
    fs::create_dir_all(dir.join("bin")).with_context(|| format!("creating {}", dir.display()))?;
    fs::create_dir_all(dir.join("stamps"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let mut have_go = false;
    for tool in &GO_TOOLS {
        let target = dir.join("bin").join(tool.name);
        if is_current(&dir, tool.name, &target, &tool.key()) {
            println!("{} {}: installed", tool.name, tool.version);
            continue;
        }
        if !have_go {
            // `go` has no --version flag: ask it for its version instead.
            if probe(Command::new("go").arg("version")).is_none() {
                bail!("`go` not found on PATH: the interop peers need Go (grpc-go, grpcwebproxy)");
            }
            have_go = true;
        }
        install_go_tool(&dir, tool, &target)?;
    }
    setup_go_server(root, &dir)?;
    setup_venv(root, &dir)
}

/// The grpc-go server (`interop/peers/go/`), rebuilt when its sources change.
fn setup_go_server(root: &Path, dir: &Path) -> Result<()> {
    const NAME: &str = "grpc-go-interop-server";
    let source = root.join("interop/peers/go");
    let mut key = String::new();
    for file in ["go.mod", "go.sum", "main.go"] {
        let path = source.join(file);
        key += &fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    }
    let target = dir.join("bin").join(NAME);
    if is_current(dir, NAME, &target, &key) {
        println!("{NAME} ({GRPC_GO_VERSION}): installed");
        return Ok(());
    }
    // Built under another name first, so a failed build never leaves a stale binary.
    let building = dir.join("bin").join(format!("{NAME}.building"));
    run_cmd(
        Command::new("go")
            .current_dir(&source)
            .args(["build", "-o"])
            .arg(&building)
            .arg("."),
    )?;
    fs::rename(&building, &target)
        .with_context(|| format!("moving {} to {}", building.display(), target.display()))?;
    write_stamp(dir, NAME, &key)
}

/// `go install` into a fresh GOBIN under `dir`, then a rename into `bin/`, so a failed
/// build never leaves a half-written binary under the final name.
fn install_go_tool(dir: &Path, tool: &GoTool, target: &Path) -> Result<()> {
    let gobin = dir.join(format!("gobin-{}", tool.name));
    remove_if_present(&gobin)?;
    run_cmd(
        Command::new("go")
            .arg("install")
            .arg(tool.key())
            .env("GOBIN", &gobin),
    )?;
    let built = gobin.join(tool.built_name());
    fs::rename(&built, target)
        .with_context(|| format!("moving {} to {}", built.display(), target.display()))?;
    remove_if_present(&gobin)?;
    write_stamp(dir, tool.name, &tool.key())
}

/// The venv, rebuilt from scratch when the requirements or the Python version change (a
/// venv is tied to the interpreter that made it).
fn setup_venv(root: &Path, dir: &Path) -> Result<()> {
    let requirements = root.join("interop/peers/python/requirements.txt");
    let pins = fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let Some(python) = probe(Command::new("python3").arg("--version")) else {
        bail!("`python3` not found on PATH: the Python interop peer needs it (with venv)");
    };
    let key = format!("{}\n{pins}", python.trim());
    let venv = dir.join("venv");
    let venv_python = venv.join("bin").join("python");
    if is_current(dir, "venv", &venv_python, &key) {
        println!("venv ({}): installed", python.trim());
        return Ok(());
    }
    remove_if_present(&venv)?;
    run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run_cmd(
        Command::new(&venv_python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                "-r",
            ])
            .arg(&requirements),
    )?;
    write_stamp(dir, "venv", &key)
}

/// Whether `output` exists and the stamp `part` says it was installed as `key`.
fn is_current(dir: &Path, part: &str, output: &Path, key: &str) -> bool {
    output.exists() && fs::read_to_string(stamp_path(dir, part)).is_ok_and(|stamp| stamp == key)
}

fn write_stamp(dir: &Path, part: &str, key: &str) -> Result<()> {
    let path = stamp_path(dir, part);
    fs::write(&path, key).with_context(|| format!("writing {}", path.display()))
}

fn stamp_path(dir: &Path, part: &str) -> PathBuf {
    dir.join("stamps").join(part)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_names_are_the_last_package_element() {
        let names: Vec<_> = GO_TOOLS.iter().map(GoTool::built_name).collect();
        assert_eq!(names, ["client", "grpcwebproxy"]);
    }

    #[test]
    fn the_go_server_uses_the_same_grpc_go_as_the_client() {
        let go_mod = crate::run::workspace_root().join("interop/peers/go/go.mod");
        let text = fs::read_to_string(go_mod).unwrap();
        assert!(
            text.contains(&format!("google.golang.org/grpc {GRPC_GO_VERSION}")),
            "interop/peers/go/go.mod must require grpc-go {GRPC_GO_VERSION}"
        );
    }

    #[test]
    fn stamps_decide_what_is_current() {
        let dir = std::env::temp_dir().join(format!("xtask-peers-test-{}", std::process::id()));
        fs::create_dir_all(dir.join("stamps")).unwrap();
        let output = dir.join("tool");
        assert!(!is_current(&dir, "tool", &output, "a@v1"), "nothing there");
        fs::write(&output, "").unwrap();
        assert!(!is_current(&dir, "tool", &output, "a@v1"), "no stamp");
        write_stamp(&dir, "tool", "a@v1").unwrap();
        assert!(is_current(&dir, "tool", &output, "a@v1"));
        assert!(!is_current(&dir, "tool", &output, "a@v2"), "other version");
        fs::remove_file(&output).unwrap();
        assert!(!is_current(&dir, "tool", &output, "a@v1"), "output deleted");
        fs::remove_dir_all(&dir).unwrap();
    }
}

//! The connectrpc conformance suite. Server side: `connectconformance --mode server`
//! against `conformance-server` (our proxy in front of a tonic `ConformanceService`), in
//! cleartext and over TLS (the configs declare `supports_tls` and
//! `supports_tls_client_certs`; the runner hands the server its certificates).
//! Client side: `connectconformance --mode client` against the Node program in
//! `interop/conformance/client/` (our generated TypeScript over the wasm runtime).
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

/// The client side: generates the suite's TypeScript with `protoc-gen-grpcweb-ts` (under
/// protoc, with the well-known types it imports), builds the Node client under test
/// (`interop/conformance/client/`) and runs `client-config.yaml` against it: with the
/// suite's reference servers (`--mode client`), then with `conformance-server`, our proxy
/// (`--mode both`).
///
/// Needs protoc, Node with npm and the `grpcweb-client` npm package built
/// (`client-wasm/npm/dist`): built here when missing, `cargo xtask test` builds it just
/// before (js-tests).
pub(crate) fn run_client(root: &Path) -> Result<()> {
    run_cmd(
        cargo()
            .current_dir(root)
            .args(["build", "-p", "protoc-gen-grpcweb-ts"]),
    )?;
    if !root.join("client-wasm/npm/dist/index.js").is_file() {
        crate::client_wasm::build_npm_package(root)?;
    }
    let client = dir(root).join("client");
    let gen_dir = client.join("gen");
    if gen_dir.exists() {
        std::fs::remove_dir_all(&gen_dir)
            .with_context(|| format!("removing {}", gen_dir.display()))?;
    }
    std::fs::create_dir_all(&gen_dir).with_context(|| format!("creating {}", gen_dir.display()))?;
    let protos = module_dir(root)?.join("proto");
    let plugin = target_dir(root).join("debug").join("protoc-gen-grpcweb-ts");
    let mut protoc = Command::new("protoc");
    protoc
        .current_dir(&client)
        .arg(format!(
            "--plugin=protoc-gen-grpcweb-ts={}",
            plugin.display()
        ))
        .arg("--grpcweb-ts_out=gen")
        .arg("-I")
        .arg(&protos)
        // Debian's protobuf-compiler keeps google/protobuf/*.proto here; protoc also
        // knows its own include dir, this makes it explicit.
        .args(["-I", "/usr/include"]);
    for name in ["client_compat", "config", "service"] {
        protoc.arg(
            protos
                .join("connectrpc/conformance/v1")
                .join(format!("{name}.proto")),
        );
    }
    run_cmd(&mut protoc)?;
    crate::setup::setup_js(&client)?;
    run_cmd(
        Command::new("npm")
            .current_dir(&client)
            .args(["run", "build"]),
    )?;
    let node_client = |cmd: &mut Command| {
        cmd.args(["--", "node", "--enable-source-maps"])
            .arg(client.join("dist/src/main.js"));
    };
    // Against the suite's reference servers (connect-go, and grpc-go behind a gRPC-Web
    // wrapper), then against ours: `--mode both` runs the cases that need no reference
    // server with our client talking to `conformance-server` (the proxy, with request
    // streaming on for the client-streaming and bidi cases).
    let mut cmd = client_runner(root, "client")?;
    node_client(&mut cmd);
    run_cmd(&mut cmd)?;
    run_cmd(
        cargo()
            .current_dir(root)
            .args(["build", "-p", "grpcweb-conformance", "--bins"]),
    )?;
    let mut cmd = client_runner(root, "both")?;
    node_client(&mut cmd);
    cmd.arg("----")
        .arg(target_dir(root).join("debug").join("conformance-server"))
        .arg("--allow-request-streaming");
    run_cmd(&mut cmd)
}

/// `connectconformance --mode <mode>` with the client config and known-failing list.
fn client_runner(root: &Path, mode: &str) -> Result<Command> {
    let mut cmd = Command::new(runner_path()?);
    // One reference server at a time (the runner's default is 4): on a loaded 2-core
    // machine four servers and their clients made calls time out and connections drop
    // (52 of 743 cases failed, in both codecs); one is faster there too (22 s, not 40 s).
    cmd.current_dir(dir(root).join("client"))
        .args(["--mode", mode, "--max-servers", "1", "--conf"])
        .arg(dir(root).join("client-config.yaml"))
        .arg("--known-failing")
        .arg(format!(
            "@{}",
            dir(root).join("client-known-failing.txt").display()
        ));
    Ok(cmd)
}

/// The suite's Go module in the module cache (downloaded by [`setup`]).
fn module_dir(root: &Path) -> Result<PathBuf> {
    let version = version(root)?;
    let cache = probe(Command::new("go").args(["env", "GOMODCACHE"]))
        .context("`go env GOMODCACHE` failed")?;
    let path = PathBuf::from(cache.trim()).join(format!("{MODULE}@{version}"));
    if !path.is_dir() {
        bail!(
            "{} is missing: run `go mod download {MODULE}@{version}` (cargo xtask test does)",
            path.display()
        );
    }
    Ok(path)
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

//! Compiles the connectrpc conformance protos, which come with the Go module
//! `connectrpc.com/conformance` (at the version in CONFORMANCE_VERSION) from the Go module
//! cache, so nothing is copied into this repository, and writes their descriptor set
//! (`conformance.binpb` in OUT_DIR) for the proxy's JSON transcoding. `cargo xtask test`
//! downloads the module first. Without the protos the crate still builds, and the binary
//! says what to do.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(conformance_protos)");
    println!("cargo::rerun-if-changed=CONFORMANCE_VERSION");
    println!("cargo::rerun-if-env-changed=GRPCWEB_CONFORMANCE_PROTOS");
    let Some(dir) = proto_dir() else {
        println!(
            "cargo::warning=connectrpc conformance protos not found: run `cargo xtask test` \
             (or `go mod download connectrpc.com/conformance@VERSION`) to build the conformance server"
        );
        return;
    };
    println!("cargo::rerun-if-changed={}", dir.display());
    let files: Vec<PathBuf> = ["service.proto", "server_compat.proto", "config.proto"]
        .iter()
        .map(|f| dir.join("connectrpc/conformance/v1").join(f))
        .collect();
    let fds = match protox::compile(&files, [&dir]) {
        Ok(fds) => fds,
        Err(e) => panic!("compiling the conformance protos in {}: {e}", dir.display()),
    };
    // The same set, imports included, for the proxy: it transcodes the suite's JSON
    // (CODEC_JSON) calls with these descriptors.
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let fds_path = out.join("conformance.binpb");
    if let Err(e) = std::fs::write(&fds_path, prost::Message::encode_to_vec(&fds)) {
        panic!("writing {}: {e}", fds_path.display());
    }
    if let Err(e) = tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(fds)
    {
        panic!("generating conformance code: {e}");
    }
    println!("cargo::rustc-cfg=conformance_protos");
}

fn proto_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("GRPCWEB_CONFORMANCE_PROTOS") {
        return Some(PathBuf::from(dir));
    }
    let version = std::fs::read_to_string("CONFORMANCE_VERSION").ok()?;
    let out = Command::new("go")
        .args(["env", "GOMODCACHE"])
        .output()
        .ok()?;
    let cache = String::from_utf8(out.stdout).ok()?;
    let dir = PathBuf::from(cache.trim())
        .join(format!("connectrpc.com/conformance@{}", version.trim()))
        .join("proto");
    dir.join("connectrpc/conformance/v1/service.proto")
        .exists()
        .then_some(dir)
}

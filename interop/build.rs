//! Compiles `protos/grpc/testing/*.proto`, the demo's protos and the transcoding tests'
//! in-process with protox (no system `protoc`), then generates prost messages plus tonic
//! client and server code into `OUT_DIR`, and the descriptor set of it all (for server
//! reflection).

use std::path::PathBuf;

/// The interop protos and the demo's, relative to the `protos/` include root.
const PROTOS: [&str; 6] = [
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
    "examples/demo.proto",
    "google/rpc/error_details.proto",
    "transcoding/v1/echo.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let include = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../protos");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", include.join(proto).display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let fds = protox::compile(PROTOS, [&include])?;
    // For the servers' gRPC server reflection (`--reflection`): encoded by protox, which
    // keeps the custom options (`google.api.http`) that `prost_types` drops.
    let encoded = protox::Compiler::new([&include])?
        .include_imports(true)
        .open_files(PROTOS)?
        .encode_file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("interop_descriptors.binpb"), encoded)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

//! Compiles `protos/grpc/testing/*.proto` in-process with protox (no system `protoc`), then
//! generates prost messages plus tonic client and server code into `OUT_DIR`.

use std::path::PathBuf;

/// The interop protos, relative to the `protos/` include root.
const PROTOS: [&str; 3] = [
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let include = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../protos");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", include.join(proto).display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let fds = protox::compile(PROTOS, [&include])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

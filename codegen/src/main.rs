//! The protoc plugin binary: a `CodeGeneratorRequest` on stdin, a
//! `CodeGeneratorResponse` on stdout.

use std::io::{self, Read as _, Write as _};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = io::stdin().read_to_end(&mut input) {
        eprintln!("protoc-gen-grpcweb-ts: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    let output = protoc_gen_grpcweb_ts::run(&input);
    if let Err(e) = io::stdout()
        .write_all(&output)
        .and_then(|()| io::stdout().flush())
    {
        eprintln!("protoc-gen-grpcweb-ts: cannot write stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

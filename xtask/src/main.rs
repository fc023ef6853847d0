//! Project tasks for the grpcweb workspace, run as `cargo xtask <task>` (an alias in
//! `.cargo/config.toml`).
//!
//! - `cargo xtask test [rust|js] [--skip-lint]`: installs what is missing (the wasm32
//!   target, rustfmt and clippy, js-tests' npm packages), then runs every check and test in
//!   order and stops at the first failure. This is the command CI runs (`.ci/run`).
//! - `cargo xtask fuzz [--seconds N] [TARGET]`: coverage-guided fuzzing (libFuzzer, on
//!   stable Rust) of every parser, N seconds per target (default 60).
//! - `cargo xtask interop [--update-readme]`: the interop matrix, peers installed first.
//! - `cargo xtask demo [--page-port N] [--proxy-port N] [--no-build] [--tls]`: installs
//!   what is missing, builds, starts the demo backend, the proxy and the demo page (on
//!   another origin), prints `Demo: http://127.0.0.1:PORT/` and runs until Ctrl-C; with
//!   `--tls` over HTTPS (a certificate made at start), printing how to trust it.
//! - `cargo xtask bench`, `bench hostile`, `soak`: install the load tools, build and start
//!   the processes; the measuring and the reports are the `grpcweb-bench` crate (bench/).
//! - `cargo xtask fmt-ts [--write]`, `protocol-refs [--fix]`, `protobuf-conformance`:
//!   single checks of `test`.
//!
//! Only `std`, `anyhow` and `grpcweb-bench` (itself `std`, `anyhow` and
//! `grpcweb-protocol`), plus what `demo --tls` needs to make a certificate and serve the
//! page over TLS (`rcgen`, `rustls`, `ring`, `base64`, all already built for the proxy):
//! the tasks run external tools and report what they did.
//!
//! # Limitations
//! Unix only (it runs `npm`, not `npm.cmd`). `demo` relies on Ctrl-C reaching the whole
//! foreground process group, children included: std offers no portable signal handler.

use std::env;
use std::process::ExitCode;

mod bench;
mod children;
mod cli;
mod client_wasm;
mod conformance;
mod demo;
mod features;
mod fuzz;
mod interop;
mod msrv;
mod peers;
mod protobuf_conformance;
mod protocol_refs;
mod run;
mod setup;
mod soak;
mod test;
mod ts_format;

use cli::{Task, USAGE, parse};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = parse(&args).and_then(|task| match task {
        Task::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Task::Test(options) => test::run(&options),
        Task::Demo(options) => demo::run(&options),
        Task::Interop(options) => interop::run(&run::workspace_root(), &options),
        Task::Bench { quick } => bench::run(quick),
        Task::Idle => bench::run_idle(),
        Task::Callgrind { check } => bench::callgrind::run(check),
        Task::Syscalls { flags } => bench::syscalls::run(&flags),
        Task::Hostile(options) => bench::hostile::run(&options),
        Task::Soak(options) => soak::run(&options),
        Task::Fuzz(options) => fuzz::run(&run::workspace_root(), &options),
        Task::FmtTs { write } => ts_format::run(&run::workspace_root(), write),
        Task::ProtocolRefs(options) => protocol_refs::run(&run::workspace_root(), &options),
        Task::ProtobufConformance => protobuf_conformance::run(&run::workspace_root()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\nxtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

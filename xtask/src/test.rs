//! `cargo xtask test`: install what is missing, then run every check and test in order,
//! stopping at the first failure.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::run::{cargo, run as run_cmd, target_dir, workspace_root};
use crate::setup::{WASM_TARGET, build_bins, setup_js, setup_protoc, setup_rust};

/// Which part of the suite to run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Everything.
    #[default]
    All,
    /// Setup for Rust, lints, the wasm32 check and `cargo test`.
    Rust,
    /// Setup for npm, building the binaries and js-tests.
    Js,
}

/// Options of `cargo xtask test`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) part: Part,
    /// Skip fmt, clippy and doc (for quick local runs; CI runs them).
    pub(crate) skip_lint: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Setup,
    Fmt,
    TsFormat,
    Clippy,
    Doc,
    Msrv,
    Features,
    Wasm,
    CargoTest,
    Fuzz,
    Conformance,
    Callgrind,
    ProtobufConformance,
    JsTests,
    ConformanceClient,
    Interop,
}

/// Runs the steps that `options` select.
pub(crate) fn run(options: &Options) -> Result<()> {
    let root = workspace_root();
    let steps = plan(options);
    let started = Instant::now();
    for (i, step) in steps.iter().enumerate() {
        let (n, total, title) = (i + 1, steps.len(), step.title());
        println!("\n==> [{n}/{total}] {title}");
        let step_started = Instant::now();
        step.run(&root, options).with_context(|| {
            format!(
                "step {n}/{total} ({title}) failed after {}",
                secs(step_started.elapsed())
            )
        })?;
        println!(
            "<== [{n}/{total}] {title}: ok in {}",
            secs(step_started.elapsed())
        );
    }
    println!(
        "\nxtask: all {} steps passed in {}",
        steps.len(),
        secs(started.elapsed())
    );
    Ok(())
}

fn plan(options: &Options) -> Vec<Step> {
    let rust = options.part != Part::Js;
    let js = options.part != Part::Rust;
    let lint = rust && !options.skip_lint;
    let ts_lint = js && !options.skip_lint;
    [
        (Step::Setup, true),
        (Step::Fmt, lint),
        (Step::TsFormat, ts_lint),
        (Step::Clippy, lint),
        (Step::Doc, lint),
        (Step::Msrv, lint),
        (Step::Features, lint),
        (Step::Wasm, rust),
        (Step::CargoTest, rust),
        (Step::Fuzz, rust),
        (Step::Conformance, rust),
        (Step::Callgrind, rust),
        (Step::ProtobufConformance, js),
        (Step::JsTests, js),
        (Step::ConformanceClient, js),
        (Step::Interop, js),
    ]
    .into_iter()
    .filter_map(|(step, wanted)| wanted.then_some(step))
    .collect()
}

impl Step {
    fn title(self) -> &'static str {
        match self {
            Step::Setup => "setup: toolchain components and npm packages",
            Step::Fmt => "cargo fmt --check",
            Step::Clippy => "cargo clippy (warnings denied)",
            Step::Doc => "cargo doc (warnings denied)",
            Step::TsFormat => {
                "prettier --check: client-wasm/npm/src and js-tests (cargo xtask fmt-ts)"
            }
            Step::Msrv => "the workspace builds with its rust-version (cargo check at the MSRV)",
            Step::Features => "grpcweb-client: each cargo feature alone and none, host and wasm32",
            Step::Wasm => "grpcweb-protocol and grpcweb-client build for wasm32",
            Step::CargoTest => "cargo test",
            Step::Fuzz => "fuzz targets, a few seconds each (cargo xtask fuzz)",
            Step::Conformance => "connectrpc conformance suite, server side (the proxy under test)",
            Step::Callgrind => {
                "the proxy's instructions per call and per streamed message within budget (cargo xtask bench callgrind --check)"
            }
            Step::ProtobufConformance => {
                "protobuf conformance suite (generated TypeScript + codec under test)"
            }
            Step::JsTests => "js-tests against the proxy and interop-server",
            Step::ConformanceClient => {
                "connectrpc conformance suite, client side (generated TypeScript + wasm runtime under test)"
            }
            Step::Interop => "interop matrix: peer clients and servers (cargo xtask interop)",
        }
    }

    fn run(self, root: &Path, options: &Options) -> Result<()> {
        match self {
            Step::Setup => setup(root, options),
            Step::Fmt => run_cmd(cargo().current_dir(root).args(["fmt", "--all", "--check"])),
            Step::TsFormat => crate::ts_format::run(root, false),
            Step::Msrv => crate::msrv::check(root),
            Step::Features => crate::features::check(root),
            Step::Clippy => run_cmd(cargo().current_dir(root).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])),
            Step::Doc => run_cmd(
                cargo()
                    .current_dir(root)
                    .env("RUSTDOCFLAGS", "-D warnings")
                    .args(["doc", "--workspace", "--no-deps"]),
            ),
            Step::Wasm => {
                run_cmd(cargo().current_dir(root).args([
                    "check",
                    "-p",
                    "grpcweb-protocol",
                    "--target",
                    WASM_TARGET,
                ]))?;
                // As the wasm client builds it: without the proxy's features.
                run_cmd(cargo().current_dir(root).args([
                    "check",
                    "-p",
                    "grpcweb-protocol",
                    "--no-default-features",
                    "--target",
                    WASM_TARGET,
                ]))?;
                crate::client_wasm::check_wasm(root)
            }
            Step::CargoTest => run_cmd(cargo().current_dir(root).args(["test", "--workspace"])),
            Step::Fuzz => crate::fuzz::run(
                root,
                &crate::fuzz::Options {
                    seconds: crate::fuzz::TEST_SECONDS,
                    target: None,
                },
            ),
            Step::Conformance => crate::conformance::run(root),
            Step::Callgrind => crate::bench::callgrind::run(true),
            Step::ProtobufConformance => crate::protobuf_conformance::run(root),
            Step::JsTests => {
                build_bins(root)?;
                crate::client_wasm::build_npm_package(root)?;
                let bin_dir = target_dir(root).join("debug");
                run_cmd(
                    Command::new("npm")
                        .current_dir(root.join("js-tests"))
                        .env("GRPCWEB_BIN_DIR", &bin_dir)
                        .arg("test"),
                )
            }
            Step::ConformanceClient => crate::conformance::run_client(root),
            Step::Interop => crate::interop::run_in_suite(root),
        }
    }
}

fn setup(root: &Path, options: &Options) -> Result<()> {
    if options.part != Part::Js {
        setup_rust(!options.skip_lint)?;
    }
    // Before any build: grpcweb-conformance compiles the suite's protos, and the js part
    // runs the runner against the client under test.
    crate::conformance::setup(root)?;
    if options.part != Part::Rust {
        setup_protoc()?;
        crate::client_wasm::setup_wasm_bindgen(root)?;
        crate::client_wasm::setup_chromium()?;
        setup_js(&root.join("js-tests"))?;
        crate::peers::setup(root)?;
    }
    Ok(())
}

fn secs(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        use Step::*;
        assert_eq!(
            plan(&Options::default()),
            [
                Setup,
                Fmt,
                TsFormat,
                Clippy,
                Doc,
                Msrv,
                Features,
                Wasm,
                CargoTest,
                Fuzz,
                Conformance,
                Callgrind,
                ProtobufConformance,
                JsTests,
                ConformanceClient,
                Interop
            ]
        );
        let quick = Options {
            part: Part::All,
            skip_lint: true,
        };
        assert_eq!(
            plan(&quick),
            [
                Setup,
                Wasm,
                CargoTest,
                Fuzz,
                Conformance,
                Callgrind,
                ProtobufConformance,
                JsTests,
                ConformanceClient,
                Interop
            ]
        );
        let js = Options {
            part: Part::Js,
            skip_lint: false,
        };
        assert_eq!(
            plan(&js),
            [
                Setup,
                TsFormat,
                ProtobufConformance,
                JsTests,
                ConformanceClient,
                Interop
            ]
        );
        let rust = Options {
            part: Part::Rust,
            skip_lint: true,
        };
        assert_eq!(
            plan(&rust),
            [Setup, Wasm, CargoTest, Fuzz, Conformance, Callgrind]
        );
    }
}

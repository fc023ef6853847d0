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

use anyhow::{Result, bail};

mod bench;
mod children;
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

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  test [rust|js] [--skip-lint]
        install what is missing, then run every check and test in order, stopping at
        the first failure: setup, fmt (Rust and TypeScript), clippy, doc, cargo check
        at the MSRV, grpcweb-client's features one by one, wasm32 check, cargo test, the
        fuzz targets (2 s each), the connectrpc conformance suite (server side),
        the protobuf conformance suite, js-tests, the connectrpc conformance suite
        (client side), the interop matrix. `rust` runs only the Rust steps, `js`
        only the protobuf suite, js-tests, the client side and the matrix (after
        building the binaries); --skip-lint skips fmt, clippy, doc, the MSRV and
        the features.
  fmt-ts [--write]
        check (or --write) the formatting of the TypeScript in client-wasm/npm/src
        and js-tests with the Prettier pinned in js-tests (.prettierrc.json).
  fuzz [--seconds N] [TARGET]
        build the fuzz/ crate with libFuzzer's coverage instrumentation (stable
        Rust, release, into target/fuzz) and run every target (or TARGET) for N
        seconds (default 60) over its seeds in fuzz/seeds/; the corpus grows in
        target/fuzz/corpus/, a crashing input is written to target/fuzz/artifacts/
        and fails the task. Targets: frame_decoder, frame_scanner, text_decoder,
        trailers, percent, grpc_timeout, content_type, metadata_bin, allow_origin,
        router_path, grpc_web_call.
  interop [--update-readme]
        install the peers (grpc-go, grpcwebproxy, Python grpcio) and what else is
        missing, build, and run the interop matrix: every client against every
        server where it applies; prints the matrix and `N passed, M failed`.
        --update-readme writes the matrix into README.md.
  demo [--page-port N] [--proxy-port N] [--no-build] [--tls]
        install what is missing, build, start demo-server behind grpcweb-proxy
        (default port 8081) and the demo page (default port 8080; a taken default
        falls back to a free port, 0 always picks one), print
        `Demo: http://127.0.0.1:PORT/`, run until Ctrl-C. --no-build skips setup
        and the Rust and runtime builds (the page is still generated and bundled).
        --tls serves the page and the proxy over HTTPS (HTTP/2 to the proxy, so
        the page's client stream works) with a certificate made at start, and
        prints the Chromium flag that trusts it.
  bench [--quick]
        build release binaries and measure, in one run, the direct path, nginx
        grpc_pass, grpcwebproxy, tonic-web and our layer in-process, and
        grpcweb-proxy (passthrough, binary, text, HTTP/1.1): unary calls/s and CPU
        per call from 16 B to 1 MiB, p50/p99 at a fixed rate, server-streaming
        messages/s and RSS with 10,000 idle streams; writes BENCHMARKS.md (a
        benchmark, not a test; run it on an otherwise idle machine). --quick runs
        a short subset.
  bench idle
        the release proxy's resident memory while it holds 10,000 idle server
        streams (the idle part of `bench`, alone; prints, writes nothing).
  bench callgrind [--check]
        user-space instructions per 1 KiB unary call in the release proxy on each
        path (and in nginx's grpc_pass), counted by callgrind over two runs of
        different lengths, and the gRPC-Web path's top functions per call; writes
        BENCHMARKS.md (Instructions per call). --check measures the budgeted paths
        (gRPC-Web binary, native) and fails over budget (a step of `test`).
  bench hostile [--quick] [--only ATTACK]
        the proxy under attack (about 2 minutes; --quick about 1): a fresh release
        proxy and interop-server per attack; hostile-client runs each attack
        (empty-frames, native-endless, slow-readers, metrics, slowloris,
        rapid-reset, settings-ping, zero-data) for 8 s (--quick: 3 s) while it
        makes 20 normal calls a second; writes the proxy's peak RSS and fds and the
        normal calls' latency and failures, next to a baseline without attack, into
        BENCHMARKS.md (Hostile load). --only runs the baseline and that attack and
        prints the rows without writing BENCHMARKS.md.
  soak [--minutes N | --seconds N]
        the endurance run (default 10 minutes, fractions allowed, at least 20 s):
        release interop-server behind grpcweb-proxy; measure the peak of a call
        mix, then send it at 70 % of that (gRPC-Web binary and text unary calls,
        server streams, streams the client aborts), kill the backend halfway and
        restart it on the same port; fails on any unexpected status, on UNAVAILABLE
        outside the restart, on calls left in flight or fds/RSS growth; writes
        BENCHMARKS.md (Soak).
  protobuf-conformance
        the protobuf project's conformance suite (conformance_test_runner, binary
        and JSON) against our generated TypeScript and codec
        (js-tests/protobuf-conformance): builds the runner once from Debian's
        protobuf source package into target/protobuf-conformance, generates and
        bundles the testee, prints the runner's summary lines. Recommended tests
        are enforced; the exceptions are js-tests/protobuf-conformance/
        known-failing.txt, and a listed test that passes fails the run.
  protocol-refs [--fix [PATH...]]
        check that every wire-rule id cited in comments and Markdown (`S6`,
        `K1-K4`) has a section in docs/protocol.md and that no comment cites the
        old external rules file (also a test of `cargo test -p xtask`); --fix
        first rewrites old citations under PATH (default: the whole tree).
        Idempotent.
  help  print this text
";

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    Help,
    Test(test::Options),
    Demo(demo::Options),
    Interop(interop::Options),
    /// `quick`: a short subset.
    Bench {
        quick: bool,
    },
    /// The idle-streams memory figure alone.
    Idle,
    /// `check`: only the budgeted paths, failing over budget.
    Callgrind {
        check: bool,
    },
    Hostile(bench::hostile::Options),
    Soak(soak::Options),
    Fuzz(fuzz::Options),
    ProtocolRefs(protocol_refs::Options),
    /// `write`: rewrite the files instead of checking them.
    FmtTs {
        write: bool,
    },
    ProtobufConformance,
}

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

fn parse(args: &[String]) -> Result<Task> {
    let Some((task, rest)) = args.split_first() else {
        return Ok(Task::Help);
    };
    if rest.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(Task::Help);
    }
    match task.as_str() {
        "help" | "-h" | "--help" => Ok(Task::Help),
        "test" => {
            let mut options = test::Options::default();
            for arg in rest {
                match arg.as_str() {
                    "--skip-lint" => options.skip_lint = true,
                    "rust" => options.part = test::Part::Rust,
                    "js" => options.part = test::Part::Js,
                    other => bail!("unknown argument to `test`: {other:?}\n\n{USAGE}"),
                }
            }
            Ok(Task::Test(options))
        }
        "interop" => {
            let mut options = interop::Options::default();
            for arg in rest {
                match arg.as_str() {
                    "--update-readme" => options.update_readme = true,
                    other => bail!("unknown argument to `interop`: {other:?}\n\n{USAGE}"),
                }
            }
            Ok(Task::Interop(options))
        }
        "bench" => match rest {
            [] => Ok(Task::Bench { quick: false }),
            [flag] if flag == "--quick" => Ok(Task::Bench { quick: true }),
            [what] if what == "idle" => Ok(Task::Idle),
            [what] if what == "callgrind" => Ok(Task::Callgrind { check: false }),
            [what, flag] if what == "callgrind" && flag == "--check" => {
                Ok(Task::Callgrind { check: true })
            }
            [what, options @ ..] if what == "hostile" => bench::hostile::parse_options(options)
                .map(Task::Hostile)
                .map_err(|e| anyhow::anyhow!("{e:#}\n\n{USAGE}")),
            _ => bail!("unknown arguments to `bench`: {rest:?}\n\n{USAGE}"),
        },
        "fuzz" => fuzz::parse_options(rest)
            .map(Task::Fuzz)
            .map_err(|e| anyhow::anyhow!("{e:#}\n\n{USAGE}")),
        "fmt-ts" => match rest {
            [] => Ok(Task::FmtTs { write: false }),
            [flag] if flag == "--write" => Ok(Task::FmtTs { write: true }),
            _ => bail!("unknown arguments to `fmt-ts`: {rest:?}\n\n{USAGE}"),
        },
        "protobuf-conformance" => match rest {
            [] => Ok(Task::ProtobufConformance),
            _ => bail!("unknown arguments to `protobuf-conformance`: {rest:?}\n\n{USAGE}"),
        },
        "protocol-refs" => protocol_refs::parse_options(rest)
            .map(Task::ProtocolRefs)
            .map_err(|e| anyhow::anyhow!("{e:#}\n\n{USAGE}")),
        "soak" => soak::parse_options(rest)
            .map(Task::Soak)
            .map_err(|e| anyhow::anyhow!("{e:#}\n\n{USAGE}")),
        "demo" => {
            let mut options = demo::Options::default();
            let mut args = rest.iter();
            while let Some(arg) = args.next() {
                let port = |value: Option<&String>| -> Result<u16> {
                    let Some(value) = value else {
                        bail!("{arg} needs a port number\n\n{USAGE}");
                    };
                    value
                        .parse()
                        .map_err(|_| anyhow::anyhow!("{arg}: not a port number: {value:?}"))
                };
                match arg.as_str() {
                    "--page-port" => options.page_port = port(args.next())?,
                    "--proxy-port" => options.proxy_port = port(args.next())?,
                    "--no-build" => options.build = false,
                    "--tls" => options.tls = true,
                    other => bail!("unknown argument to `demo`: {other:?}\n\n{USAGE}"),
                }
            }
            Ok(Task::Demo(options))
        }
        other => bail!("unknown task {other:?}\n\n{USAGE}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::{Options, Part};

    fn parse_strs(args: &[&str]) -> Result<Task> {
        parse(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn no_args_prints_usage() {
        assert_eq!(parse_strs(&[]).unwrap(), Task::Help);
        assert_eq!(parse_strs(&["--help"]).unwrap(), Task::Help);
        assert_eq!(parse_strs(&["bench", "--help"]).unwrap(), Task::Help);
        assert_eq!(parse_strs(&["soak", "-h"]).unwrap(), Task::Help);
    }

    #[test]
    fn test_options() {
        assert_eq!(
            parse_strs(&["test"]).unwrap(),
            Task::Test(Options::default())
        );
        assert_eq!(
            parse_strs(&["test", "js", "--skip-lint"]).unwrap(),
            Task::Test(Options {
                part: Part::Js,
                skip_lint: true
            })
        );
        assert_eq!(
            parse_strs(&["test", "rust"]).unwrap(),
            Task::Test(Options {
                part: Part::Rust,
                skip_lint: false
            })
        );
    }

    #[test]
    fn rejects_unknown_input() {
        assert!(parse_strs(&["tset"]).is_err());
        assert!(parse_strs(&["test", "--fast"]).is_err());
        assert!(parse_strs(&["demo", "x"]).is_err());
        assert!(parse_strs(&["demo", "--page-port"]).is_err());
        assert!(parse_strs(&["demo", "--proxy-port", "http"]).is_err());
        assert!(parse_strs(&["interop", "--readme"]).is_err());
        assert!(parse_strs(&["protobuf-conformance", "--verbose"]).is_err());
        assert_eq!(
            parse_strs(&["protobuf-conformance"]).unwrap(),
            Task::ProtobufConformance
        );
        assert!(parse_strs(&["bench", "--slow"]).is_err());
        assert_eq!(
            parse_strs(&["bench", "--quick"]).unwrap(),
            Task::Bench { quick: true }
        );
        let hostile = |quick, only: Option<&str>| {
            Task::Hostile(bench::hostile::Options {
                quick,
                only: only.map(str::to_owned),
            })
        };
        assert_eq!(
            parse_strs(&["bench", "hostile", "--quick"]).unwrap(),
            hostile(true, None)
        );
        assert_eq!(
            parse_strs(&["bench", "hostile"]).unwrap(),
            hostile(false, None)
        );
        assert_eq!(
            parse_strs(&["bench", "hostile", "--only", "slowloris", "--quick"]).unwrap(),
            hostile(true, Some("slowloris"))
        );
        assert!(parse_strs(&["bench", "hostile", "--slow"]).is_err());
        assert_eq!(
            parse_strs(&["bench", "callgrind"]).unwrap(),
            Task::Callgrind { check: false }
        );
        assert_eq!(
            parse_strs(&["bench", "callgrind", "--check"]).unwrap(),
            Task::Callgrind { check: true }
        );
        assert!(parse_strs(&["bench", "callgrind", "--quick"]).is_err());
        assert_eq!(parse_strs(&["bench", "idle"]).unwrap(), Task::Idle);
        assert!(parse_strs(&["bench", "hostile", "--only"]).is_err());
        assert!(parse_strs(&["bench", "hostile", "--only", "meteor"]).is_err());
    }

    #[test]
    fn interop_options() {
        assert_eq!(
            parse_strs(&["interop"]).unwrap(),
            Task::Interop(interop::Options::default())
        );
        assert_eq!(
            parse_strs(&["interop", "--update-readme"]).unwrap(),
            Task::Interop(interop::Options {
                update_readme: true
            })
        );
    }

    #[test]
    fn fuzz_options() {
        assert_eq!(
            parse_strs(&["fuzz"]).unwrap(),
            Task::Fuzz(fuzz::Options::default())
        );
        assert_eq!(
            parse_strs(&["fuzz", "router_path", "--seconds", "10"]).unwrap(),
            Task::Fuzz(fuzz::Options {
                seconds: 10,
                target: Some("router_path".to_owned())
            })
        );
        assert!(parse_strs(&["fuzz", "--minutes", "1"]).is_err());
    }

    #[test]
    fn soak_options() {
        let seconds = |args: &[&str]| match parse_strs(args) {
            Ok(Task::Soak(o)) => Some(o.duration.as_secs_f64()),
            _ => None,
        };
        assert_eq!(seconds(&["soak"]), Some(600.0));
        assert_eq!(seconds(&["soak", "--minutes", "2"]), Some(120.0));
        assert_eq!(seconds(&["soak", "--minutes", "0.5"]), Some(30.0));
        assert_eq!(seconds(&["soak", "--seconds", "60"]), Some(60.0));
        assert_eq!(seconds(&["soak", "--seconds", "5"]), None);
        assert_eq!(seconds(&["soak", "--seconds"]), None);
        assert_eq!(seconds(&["soak", "--minutes", "x"]), None);
        assert_eq!(seconds(&["soak", "--hours", "1"]), None);
    }

    #[test]
    fn demo_options() {
        assert_eq!(
            parse_strs(&["demo"]).unwrap(),
            Task::Demo(demo::Options::default())
        );
        assert_eq!(
            parse_strs(&[
                "demo",
                "--page-port",
                "0",
                "--no-build",
                "--proxy-port",
                "9001",
                "--tls"
            ])
            .unwrap(),
            Task::Demo(demo::Options {
                page_port: 0,
                proxy_port: 9001,
                build: false,
                tls: true,
            })
        );
    }
}

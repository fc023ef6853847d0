//! The command line: the usage text and what each task's arguments ask for.

use anyhow::{Result, bail};

use crate::{bench, demo, fuzz, interop, protocol_refs, soak, test};

pub(crate) const USAGE: &str = "\
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
  bench syscalls [-- PROXY_FLAG...]
        syscalls (by name), context switches and CPU time per 1 KiB unary call in
        the release proxy on each path and in nginx's grpc_pass, counted by
        `perf stat` attached to the running process over two runs of different
        lengths (median of 3); writes BENCHMARKS.md (Syscalls per call). With
        proxy flags (e.g. `-- --worker-threads 2`), measures the proxy started
        with them and prints the table instead.
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
pub(crate) enum Task {
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
    /// `flags`: the proxy's flags to try (printed, not written); none: the report.
    Syscalls {
        flags: Vec<String>,
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

pub(crate) fn parse(args: &[String]) -> Result<Task> {
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
            [what] if what == "syscalls" => Ok(Task::Syscalls { flags: Vec::new() }),
            [what, sep, flags @ ..] if what == "syscalls" && sep == "--" && !flags.is_empty() => {
                Ok(Task::Syscalls {
                    flags: flags.to_vec(),
                })
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
mod tests;

//! `cargo xtask fuzz [--seconds N] [TARGET]`: coverage-guided fuzzing (libFuzzer) of every
//! parser, on stable Rust.
//!
//! cargo-fuzz needs nightly only for `-Zsanitizer=address`; libFuzzer itself needs just
//! LLVM's sanitizer-coverage instrumentation, which stable rustc emits when asked with
//! `-Cpasses=sancov-module` and the `-sanitizer-coverage-*` LLVM options (the flags
//! cargo-fuzz passes). So the `fuzz/` crate (outside the workspace, its own Cargo.lock) is
//! built once in release with those flags into `target/fuzz`, and each target runs for a
//! fixed time over its committed seeds (`fuzz/seeds/<target>`), growing a corpus in
//! `target/fuzz/corpus/<target>`. Without ASan, memory errors in unsafe code are not
//! caught, but every panic, overflow (overflow checks are on) and failed assertion is.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::run::{cargo, display, has_tool, probe, target_dir};

/// Every fuzz target, in the order they run.
pub(crate) const TARGETS: [&str; 11] = [
    "frame_decoder",
    "frame_scanner",
    "text_decoder",
    "trailers",
    "percent",
    "grpc_timeout",
    "content_type",
    "metadata_bin",
    "allow_origin",
    "router_path",
    "grpc_web_call",
];

/// How long each target runs in `cargo xtask test`.
pub(crate) const TEST_SECONDS: u64 = 2;

/// What `cargo fuzz` would pass, minus ASan: libFuzzer's coverage feedback (8-bit
/// counters, the PC table, comparison tracing) and `cfg(fuzzing)`.
const RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing";

/// Options of `cargo xtask fuzz`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Options {
    /// Seconds per target.
    pub(crate) seconds: u64,
    /// One target, or all of them.
    pub(crate) target: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seconds: 60,
            target: None,
        }
    }
}

/// Parses `[--seconds N] [TARGET]`.
pub(crate) fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().context("--seconds needs a number")?;
                options.seconds = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--seconds: not a positive number: {value:?}"))?;
            }
            target if TARGETS.contains(&target) && options.target.is_none() => {
                options.target = Some(target.to_owned());
            }
            other => bail!(
                "unknown argument to `fuzz`: {other:?} (targets: {})",
                TARGETS.join(", ")
            ),
        }
    }
    Ok(options)
}

/// Builds the targets, then runs the chosen ones for `options.seconds` each.
pub(crate) fn run(root: &Path, options: &Options) -> Result<()> {
    let bin_dir = build(root)?;
    let targets: Vec<&str> = match &options.target {
        Some(t) => vec![t.as_str()],
        None => TARGETS.to_vec(),
    };
    for target in targets {
        run_target(root, &bin_dir, target, options.seconds)?;
    }
    Ok(())
}

/// Release build of every target with coverage instrumentation; returns where the
/// binaries are.
fn build(root: &Path) -> Result<PathBuf> {
    if !has_tool("c++") && !has_tool("g++") && !has_tool("clang++") {
        bail!(
            "libfuzzer-sys compiles libFuzzer with a C++ compiler: none found (apt-get install g++)"
        );
    }
    let host = host_triple()?;
    let fuzz_target_dir = target_dir(root).join("fuzz");
    // An explicit --target keeps RUSTFLAGS off build scripts and proc macros.
    crate::run::run(
        cargo()
            .current_dir(root.join("fuzz"))
            .env("RUSTFLAGS", RUSTFLAGS)
            .args(["build", "--release", "--locked", "--bins", "--target"])
            .arg(&host)
            .arg("--target-dir")
            .arg(&fuzz_target_dir),
    )?;
    Ok(fuzz_target_dir.join(host).join("release"))
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let info = probe(Command::new(rustc).arg("-vV")).context("`rustc -vV` failed")?;
    info.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .context("`rustc -vV` printed no host line")
}

/// Runs one target for `seconds` over its seeds and its growing corpus; fails on the
/// first crash, naming the input that caused it.
fn run_target(root: &Path, bin_dir: &Path, target: &str, seconds: u64) -> Result<()> {
    let work = target_dir(root).join("fuzz");
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    fs::create_dir_all(&artifacts).with_context(|| format!("creating {}", artifacts.display()))?;
    let seeds = root.join("fuzz").join("seeds").join(target);
    let mut cmd = Command::new(bin_dir.join(target));
    cmd.arg(&corpus);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    let line = display(&cmd);
    println!("$ {line}");
    let output = cmd
        .output()
        .with_context(|| format!("could not start `{line}`"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    // libFuzzer reports on stderr; its last status line shows the coverage reached.
    if let Some(last) = log.lines().rev().find(|l| l.contains(" cov: ")) {
        println!("{target}: {}", last.trim());
    }
    if !output.status.success() {
        eprintln!("{log}");
        let crash = log
            .lines()
            .find_map(|l| l.split_once("Test unit written to ").map(|(_, p)| p.trim()))
            .unwrap_or("(no input written)");
        bail!(
            "fuzz target {target} failed ({}); input: {crash}\n\
             reproduce: {} {crash}",
            output.status,
            bin_dir.join(target).display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        parse_options(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        assert_eq!(parse(&[]).unwrap(), Options::default());
        assert_eq!(
            parse(&["--seconds", "5", "trailers"]).unwrap(),
            Options {
                seconds: 5,
                target: Some("trailers".to_owned())
            }
        );
        assert!(parse(&["--seconds", "0"]).is_err());
        assert!(parse(&["--seconds"]).is_err());
        assert!(parse(&["no_such_target"]).is_err());
        assert!(parse(&["trailers", "percent"]).is_err());
    }

    #[test]
    fn every_target_is_built_and_seeded() {
        let root = crate::run::workspace_root();
        let manifest = fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
        for target in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "{target} is not a [[bin]] of fuzz/Cargo.toml"
            );
            assert!(
                root.join("fuzz/seeds").join(target).is_dir(),
                "{target} has no seeds"
            );
        }
    }
}

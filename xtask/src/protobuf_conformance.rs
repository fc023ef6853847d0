//! The protobuf project's conformance suite (`conformance_test_runner`: about 2,000
//! binary and JSON cases) against the testee in `js-tests/protobuf-conformance/`: our
//! generated TypeScript over `grpcweb-client`'s codec, run by Node.
//!
//! The runner is not packaged for Debian 12, so it is built once from Debian's own
//! protobuf source package, the version of the installed `libprotobuf-dev`, and cached in
//! `target/protobuf-conformance/` with the suite's protos (the testee's code is generated
//! from them on every run). The build reads `deb-src` through apt options pointing at a
//! sources list under that folder: the system's apt configuration is left alone.
//!
//! The run enforces the recommended tests too (`--enforce_recommended`): a test that fails
//! must be in `known-failing.txt` (recommended tests only, each with a reason), and a
//! listed test that passes fails the run.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::run::{cargo, display, has_tool, probe, run as run_cmd, target_dir};
use crate::setup::{setup_js, setup_protoc};

/// The Debian package whose source holds the suite, and the library the runner links.
const SOURCE_PACKAGE: &str = "protobuf";
const LIBRARY_PACKAGE: &str = "libprotobuf-dev";
/// Where Debian 12 keeps the sources of its main component.
const DEB_SRC: &str = "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main";
/// The suite's protos: the conformance protocol and the two test messages, each as the
/// include folder in the source tree and its name under it.
const PROTOS: [(&str, &str); 3] = [
    ("conformance", "conformance.proto"),
    ("src", "google/protobuf/test_messages_proto2.proto"),
    ("src", "google/protobuf/test_messages_proto3.proto"),
];
/// The runner's sources in the source tree, compiled with the C++ of [`PROTOS`].
const SOURCES: [&str; 6] = [
    "conformance/conformance_test.cc",
    "conformance/conformance_test_runner.cc",
    "conformance/conformance_test_main.cc",
    "conformance/binary_json_conformance_suite.cc",
    "conformance/text_format_conformance_suite.cc",
    "conformance/third_party/jsoncpp/jsoncpp.cpp",
];

/// The testee is built and run once per exact representation of 64-bit integers: `bigint`
/// (the default) and `string` (`int64=string`), with the plugin options of each. The
/// well-known types are generated into `gen/` (`wkt=generate`), next to the messages
/// that import them, so the testee needs no `grpcweb-client/wkt`.
const VARIANTS: [(&str, &[&str]); 2] = [
    ("bigint", &["--grpcweb-ts_opt=wkt=generate"]),
    (
        "string",
        &[
            "--grpcweb-ts_opt=int64=string",
            "--grpcweb-ts_opt=wkt=generate",
        ],
    ),
];

fn testee_dir(root: &Path) -> PathBuf {
    root.join("js-tests").join("protobuf-conformance")
}

/// `cargo xtask protobuf-conformance`: builds the runner when it is not cached, then for
/// each of [`VARIANTS`] generates and bundles the testee, runs the suite and prints the
/// runner's summary lines.
pub(crate) fn run(root: &Path) -> Result<()> {
    let cache = ensure_runner(root)?;
    let known = testee_dir(root).join("known-failing.txt");
    check_known_failing(
        &fs::read_to_string(&known).with_context(|| format!("reading {}", known.display()))?,
    )
    .with_context(|| format!("{} is not valid", known.display()))?;
    run_cmd(
        cargo()
            .current_dir(root)
            .args(["build", "-p", "protoc-gen-grpcweb-ts"]),
    )?;
    setup_js(&root.join("js-tests"))?;
    remove_dir(&testee_dir(root).join("dist"))?;
    for (int64, options) in VARIANTS {
        let testee = build_testee(root, &cache, int64, options)?;
        run_suite(&cache, &known, &testee, int64)?;
    }
    Ok(())
}

/// Runs the suite against `testee`, enforcing the recommended tests with the `known`
/// failures; prints the summary lines.
fn run_suite(cache: &Cache, known: &Path, testee: &Path, int64: &str) -> Result<()> {
    let mut cmd = Command::new(cache.runner());
    let dir = testee.parent().unwrap_or(testee);
    cmd.current_dir(dir)
        .arg("--enforce_recommended")
        // Where it writes the lists of failing and unexpectedly passing tests.
        .arg("--output_dir")
        .arg(dir)
        .arg("--failure_list")
        .arg(known)
        .arg(testee);
    println!("$ {}", display(&cmd));
    let output = cmd
        .output()
        .with_context(|| format!("could not start `{}`", display(&cmd)))?;
    // The runner reports on stderr; the testee's own stderr line goes there too.
    let report = String::from_utf8_lossy(&output.stderr);
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("CONFORMANCE SUITE"))
        .collect();
    if !output.status.success() || summary.is_empty() {
        eprintln!("{report}");
        bail!(
            "the protobuf conformance suite failed with int64 as {int64} ({})",
            output.status
        );
    }
    // Two suites: binary and JSON, then the text format (which the testee skips).
    for (suite, line) in ["binary and JSON", "text format"].iter().zip(&summary) {
        println!("protobuf conformance, int64 as {int64} ({suite}): {line}");
    }
    Ok(())
}

/// The cache folder: the runner and the suite's protos, built for one protobuf version.
struct Cache {
    dir: PathBuf,
}

impl Cache {
    fn runner(&self) -> PathBuf {
        self.dir.join("conformance_test_runner")
    }

    fn protos(&self) -> PathBuf {
        self.dir.join("protos")
    }
}

/// Returns the cache, building the runner first when it is missing.
fn ensure_runner(root: &Path) -> Result<Cache> {
    setup_protoc()?;
    let version = installed_source_version()?;
    let upstream = version.split('-').next().unwrap_or(&version).to_owned();
    let cache = Cache {
        dir: target_dir(root)
            .join("protobuf-conformance")
            .join(&upstream),
    };
    // The runner is moved into place last: its presence means the cache is complete.
    if cache.runner().is_file() {
        println!("conformance_test_runner {upstream}: built");
        return Ok(cache);
    }
    if !has_tool("c++") {
        run_cmd(Command::new("apt-get").arg("update"))?;
        run_cmd(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "g++"]),
        )?;
    }
    let build = cache.dir.join("build");
    remove_dir(&build)?;
    let tree = fetch_source(&build, &version, &upstream)?;
    let protos = cache.protos();
    remove_dir(&protos)?;
    for (include, name) in PROTOS {
        let to = protos.join(name);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::copy(tree.join(include).join(name), &to).with_context(|| format!("copying {name}"))?;
    }
    compile_runner(&build, &tree, &cache.runner())?;
    remove_dir(&build)?;
    Ok(cache)
}

/// The Debian source version of the installed protobuf library (e.g. `3.21.12-3+deb12u1`),
/// installing the library's headers first when they are missing.
fn installed_source_version() -> Result<String> {
    let query = || {
        probe(Command::new("dpkg-query").args([
            "-W",
            "-f=${db:Status-Status} ${source:Version}",
            LIBRARY_PACKAGE,
        ]))
        .and_then(|out| out.strip_prefix("installed ").map(str::to_owned))
    };
    if let Some(version) = query() {
        return Ok(version.trim().to_owned());
    }
    run_cmd(Command::new("apt-get").arg("update"))?;
    run_cmd(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", LIBRARY_PACKAGE]),
    )?;
    query()
        .map(|v| v.trim().to_owned())
        .with_context(|| format!("{LIBRARY_PACKAGE} is not installed"))
}

/// Downloads Debian's protobuf source package at `version` into `build` and unpacks the
/// upstream tarball; returns the source tree.
fn fetch_source(build: &Path, version: &str, upstream: &str) -> Result<PathBuf> {
    let apt = build.join("apt");
    fs::create_dir_all(apt.join("lists").join("partial"))
        .with_context(|| format!("creating {}", apt.display()))?;
    fs::create_dir_all(apt.join("cache").join("archives").join("partial"))
        .with_context(|| format!("creating {}", apt.display()))?;
    let sources = apt.join("sources.list");
    fs::write(&sources, format!("{DEB_SRC}\n"))
        .with_context(|| format!("writing {}", sources.display()))?;
    let apt_get = || {
        let mut cmd = Command::new("apt-get");
        cmd.current_dir(build)
            .arg("-o")
            .arg(format!("Dir::Etc::SourceList={}", sources.display()))
            .args(["-o", "Dir::Etc::SourceParts=/dev/null"])
            .arg("-o")
            .arg(format!("Dir::State::Lists={}", apt.join("lists").display()))
            .arg("-o")
            .arg(format!("Dir::Cache={}", apt.join("cache").display()));
        cmd
    };
    run_cmd(apt_get().args(["-q", "update"]))?;
    run_cmd(apt_get().args([
        "-q",
        "source",
        "--download-only",
        &format!("{SOURCE_PACKAGE}={version}"),
    ]))?;
    let tarball = build.join(format!("{SOURCE_PACKAGE}_{upstream}.orig.tar.gz"));
    run_cmd(
        Command::new("tar")
            .current_dir(build)
            .arg("-xzf")
            .arg(&tarball),
    )?;
    let tree = build.join(format!("{SOURCE_PACKAGE}-{upstream}"));
    if !tree.join(SOURCES[0]).is_file() {
        bail!("{} has no {}", tarball.display(), SOURCES[0]);
    }
    Ok(tree)
}

/// Generates the C++ of the suite's protos with the installed protoc and links the runner
/// against the installed libprotobuf (the tree's `src/` gives the internal headers).
fn compile_runner(build: &Path, tree: &Path, runner: &Path) -> Result<()> {
    let gen_dir = build.join("gen");
    fs::create_dir_all(&gen_dir).with_context(|| format!("creating {}", gen_dir.display()))?;
    run_cmd(
        Command::new("protoc")
            .current_dir(tree)
            .arg(format!("--cpp_out={}", gen_dir.display()))
            .args(["-I", "conformance", "-I", "src"])
            .args(PROTOS.map(|(_, name)| name)),
    )?;
    let partial = build.join("conformance_test_runner");
    let mut cxx = Command::new("c++");
    cxx.current_dir(tree)
        .args(["-std=c++17", "-O1", "-w", "-pthread", "-o"])
        .arg(&partial)
        .arg("-I")
        .arg(&gen_dir)
        .args(["-I", "conformance", "-I", "src"])
        .args(SOURCES);
    for (_, name) in PROTOS {
        cxx.arg(gen_dir.join(name.replace(".proto", ".pb.cc")));
    }
    cxx.arg("-lprotobuf");
    println!("compiling conformance_test_runner (about a minute)");
    run_cmd(&mut cxx)?;
    fs::rename(&partial, runner)
        .with_context(|| format!("moving the runner to {}", runner.display()))
}

/// Generates the testee's code into `gen/` with protoc-gen-grpcweb-ts and `options`,
/// type-checks it and bundles it with esbuild into one executable script,
/// `dist/<int64>/testee.mjs`; returns its path.
fn build_testee(root: &Path, cache: &Cache, int64: &str, options: &[&str]) -> Result<PathBuf> {
    let js = root.join("js-tests");
    let dir = testee_dir(root);
    let out = dir.join("dist").join(int64);
    remove_dir(&dir.join("gen"))?;
    fs::create_dir_all(dir.join("gen")).context("creating the testee's gen/")?;
    let plugin = target_dir(root).join("debug").join("protoc-gen-grpcweb-ts");
    run_cmd(
        Command::new("protoc")
            .current_dir(&dir)
            .arg(format!(
                "--plugin=protoc-gen-grpcweb-ts={}",
                plugin.display()
            ))
            .arg("--grpcweb-ts_out=gen")
            .args(options)
            .arg("-I")
            .arg(cache.protos())
            .args(PROTOS.map(|(_, name)| name)),
    )?;
    let bin = js.join("node_modules").join(".bin");
    run_cmd(
        Command::new(bin.join("tsc"))
            .current_dir(&dir)
            .args(["-p", "tsconfig.json"]),
    )?;
    let testee = out.join("testee.mjs");
    run_cmd(
        Command::new(bin.join("esbuild"))
            .current_dir(&dir)
            .args([
                "testee.ts",
                "--bundle",
                "--platform=node",
                "--format=esm",
                "--log-level=warning",
                "--alias:grpcweb-client=../codegen/grpcweb-client.ts",
                "--banner:js=#!/usr/bin/env node",
            ])
            .arg(format!("--outfile={}", testee.display())),
    )?;
    fs::set_permissions(&testee, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", testee.display()))?;
    Ok(testee)
}

fn remove_dir(path: &Path) -> Result<()> {
    if path.exists() {
        fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

/// The known-failing list: test names as the runner prints them, each followed by
/// `# reason`; required tests may not be listed.
fn check_known_failing(text: &str) -> Result<()> {
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, reason) = line.split_once('#').unwrap_or((line, ""));
        let name = name.trim();
        if !name.starts_with("Recommended.") {
            bail!(
                "line {}: {name:?} is not a recommended test: required tests must pass",
                i + 1
            );
        }
        if reason.trim().is_empty() {
            bail!("line {}: {name} has no `# reason`", i + 1);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_known_failing;

    #[test]
    fn known_failing_entries_are_recommended_and_give_a_reason() {
        let ok = "# header\n\nRecommended.Proto2.JsonInput.X  # extensions are not generated\n";
        assert!(check_known_failing(ok).is_ok());
        assert!(check_known_failing("Recommended.Proto3.JsonInput.X\n").is_err());
        assert!(check_known_failing("Recommended.Proto3.JsonInput.X #  \n").is_err());
        assert!(check_known_failing("Required.Proto3.JsonInput.X # hard\n").is_err());
    }
}

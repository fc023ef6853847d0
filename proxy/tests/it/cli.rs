//! The `grpcweb-proxy` binary: flags, the `listening on` line, a real call, clean exit.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use grpcweb_test_support::{Code, HttpVersion, WebClient, within};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_grpcweb-proxy");

#[test]
fn help_explains_every_flag() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--backend",
        "--allowed-origin",
        "--max-message-size",
        "127.0.0.1:8080",
        "https://*.example.com",
    ] {
        assert!(
            help.contains(flag),
            "--help does not mention {flag}:\n{help}"
        );
    }
}

#[test]
fn invalid_config_fails_at_start_naming_the_key() {
    for (args, needle) in [
        (vec!["--backend", "ftp://x:1"], "invalid backend"),
        (
            vec![
                "--backend",
                "http://127.0.0.1:1",
                "--allowed-origin",
                "example.com",
            ],
            "invalid cors.allowed_origins",
        ),
        (
            vec![
                "--backend",
                "http://127.0.0.1:1",
                "--max-message-size",
                "lots",
            ],
            "max-message-size",
        ),
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle),
            "{args:?}: stderr {err:?} lacks {needle:?}"
        );
    }
}

#[tokio::test]
async fn serves_a_call_and_exits_cleanly_on_sigterm() {
    let backend = support::interop_server(false).await;
    // The default, one thread (tokio's current-thread scheduler), two workers with a
    // runtime each, and two sharing the multi-thread scheduler.
    for (flags, worker_threads, shared_threads) in [
        (&[][..], None, 0),
        (&["--worker-threads", "1"][..], Some(0), 0),
        (&["--worker-threads", "2"][..], Some(1), 0),
        (
            &["--worker-threads", "3", "--scheduler", "per-worker"][..],
            Some(2),
            0,
        ),
        (
            &["--worker-threads", "2", "--scheduler", "shared"][..],
            Some(0),
            2,
        ),
    ] {
        let threads = serve_one_call_and_stop(&backend.url(), flags).await;
        // The main thread is worker 0; the others run on threads of their own.
        let count = |prefix: &str| threads.iter().filter(|t| t.starts_with(prefix)).count();
        if let Some(n) = worker_threads {
            assert_eq!(count("grpcweb-worker-"), n, "{flags:?}: {threads:?}");
        }
        assert_eq!(
            count("tokio-rt-worker"),
            shared_threads,
            "{flags:?}: {threads:?}"
        );
    }
}

/// Starts the binary in front of `backend` with `extra` flags, makes one call, stops it
/// with SIGTERM and checks its exit and its access-log line; returns the names of its
/// threads while it served.
async fn serve_one_call_and_stop(backend: &str, extra: &[&str]) -> Vec<String> {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--backend",
            backend,
            "--log-format",
            "json",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = within(Duration::from_secs(10), line)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .parse()
        .unwrap();
    let res = WebClient::new(HttpVersion::H1)
        .call(addr, "/grpc.testing.TestService/EmptyCall")
        .message(b"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", child.id()))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = within(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "{extra:?}: exit status {:?}",
        out.status
    );
    // One JSON access-log line for the call.
    let logs = String::from_utf8_lossy(&out.stderr);
    let access: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains(r#""target":"grpcweb::access""#))
        .collect();
    assert_eq!(access.len(), 1, "{extra:?}: {logs}");
    for field in [
        r#""path":"/grpc.testing.TestService/EmptyCall""#,
        r#""grpc_status":"OK""#,
        r#""mode":"grpc-web""#,
        r#""http_version":"HTTP/1.1""#,
        r#""peer":"127.0.0.1:"#,
        r#""bytes_in":5"#,
    ] {
        assert!(access[0].contains(field), "{field} not in {}", access[0]);
    }
    threads
}

#[test]
fn check_config_validates_the_file_and_exits() {
    let dir = std::env::temp_dir().join(format!("grpcweb-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:0\"\n[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--check-config", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n[[routes]]\nservice = \"x.Y\"\nbackend = \"b\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["--check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("routes[0].backend") && err.contains("no backend named \"b\""),
        "{err}"
    );

    let out = Command::new(BIN)
        .args(["--check-config", "--config"])
        .arg(dir.join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_config_refuses_overflowing_durations_counts_and_sizes() {
    let dir = std::env::temp_dir().join(format!("grpcweb-cli-overflow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let backend = "[[backends]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n";
    let files = [
        (
            "[limits]\nbody_read_timeout = \"18446744073709551615s\"",
            "limits.body_read_timeout",
        ),
        (
            "[limits]\nidle_timeout = \"9999999999999h\"",
            "limits.idle_timeout",
        ),
        (
            "[limits]\nmax_connections = 4611686018427387904",
            "limits.max_connections",
        ),
        (
            "[limits]\nmax_concurrent_streams = 4294967296",
            "limits.max_concurrent_streams",
        ),
        (
            "[limits]\nmax_header_size = 4294967296",
            "limits.max_header_size",
        ),
        (
            "[limits]\nmax_response_message_size = -1",
            "limits.max_response_message_size",
        ),
    ];
    for (i, (table, key)) in files.into_iter().enumerate() {
        let path = dir.join(format!("{i}.toml"));
        std::fs::write(&path, format!("{backend}{table}\n")).unwrap();
        let out = Command::new(BIN)
            .args(["--check-config", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{table}: {err}");
        assert!(err.contains(key), "{table}: {err}");
    }
    let flags = [
        (
            "--max-connections",
            "4611686018427387904",
            "limits.max_connections",
        ),
        (
            "--max-timeout-ms",
            "18446744073709551615",
            "limits.max_timeout",
        ),
    ];
    for (flag, value, key) in flags {
        let out = Command::new(BIN)
            .args([
                "--check-config",
                "--backend",
                "http://127.0.0.1:1",
                flag,
                value,
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains(key), "{flag}: {err}");
    }
    // A size written as a TOML integer is bytes.
    let path = dir.join("integer-size.toml");
    std::fs::write(
        &path,
        format!("{backend}[limits]\nmax_response_message_size = 1024\n"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

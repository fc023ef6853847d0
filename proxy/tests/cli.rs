//! The `grpcweb-proxy` binary: flags, the `listening on` line, a real call, clean exit.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

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
            "invalid allowed-origin",
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
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--backend", &backend.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = within(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

//! `/metrics` under hostile clients: whatever paths they send, every scrape stays valid
//! Prometheus text (checked with the Prometheus project's own Python parser), small, and
//! keeps the series of the methods that exist.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support::{self, scrape};

use bytes::Bytes;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

/// The Prometheus Python client, whose parsers are the reference for the text format.
const PARSER_PACKAGE: &str = "prometheus_client==0.26.0";

/// Parses `text` with both of the Prometheus client's parsers (the classic text format,
/// which `/metrics` declares, and OpenMetrics, which it writes); every sample as
/// `name<TAB>k=v,k=v (sorted)<TAB>value`, or the parser's complaint.
fn parse_exposition(text: &str) -> Result<Vec<String>, String> {
    const SCRIPT: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families as classic
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
text = sys.stdin.read()
out = []
for family in classic(text):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        out.append(f"{s.name}\t{labels}\t{s.value:g}")
list(openmetrics(text))
sys.stdout.write("\n".join(out))
"#;
    let mut child = Command::new(python())
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A venv with [`PARSER_PACKAGE`] under the test target directory, made once.
fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prometheus-parser-venv");
        let python = venv.join("bin").join("python");
        let stamp = venv.join("installed");
        if std::fs::read_to_string(&stamp).is_ok_and(|s| s == PARSER_PACKAGE) {
            return python;
        }
        let _ = std::fs::remove_dir_all(&venv);
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--only-binary=:all:",
                    PARSER_PACKAGE,
                ])
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            ok,
            "could not make a venv with {PARSER_PACKAGE} (needs python3 and PyPI)"
        );
        std::fs::write(&stamp, PARSER_PACKAGE).unwrap();
        python
    })
}

fn admin_config(c: &mut grpcweb_proxy::Config) {
    c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
}

#[test]
fn the_parser_refuses_a_broken_exposition() {
    let good = "# TYPE a counter\na_total{x=\"b\\\"c\"} 1\n# EOF\n";
    assert_eq!(
        parse_exposition(good).unwrap(),
        ["a_total\tx=b\"c\t1"],
        "an escaped quote is fine"
    );
    for broken in [
        "# TYPE a counter\na_total{x=\"b\"c\"} 1\n# EOF\n",
        "# TYPE a counter\na_total{x=\"b} 1\n# EOF\n",
        "# TYPE a counter\na_total{x=\"b\"} one\n# EOF\n",
    ] {
        assert!(parse_exposition(broken).is_err(), "accepted {broken:?}");
    }
}

/// One raw HTTP/1.1 request with `target` as it is, so that no client library tidies it.
async fn raw_call(addr: SocketAddr, target: &str) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {target} HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc-web+proto\r\n\
         content-length: 6\r\nconnection: close\r\n\r\n\0\0\0\0\x01m"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn hostile_paths_keep_scrapes_parseable_and_small() {
    // A backend that answers OK to any path, the worst case for labels.
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"ok")]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), admin_config).await;
    let admin = proxy.admin.unwrap();
    let long_method = "M".repeat(60 * 1024);
    let long_service = format!("/{}/M", "s.".repeat(20 * 1024) + "S");
    for target in [
        "/x\"y.S/M",
        "/x.S/\"}",
        "/x\\y.S/M",
        "/x.S/M\"",
        &format!("/x.S/{long_method}"),
        &format!("/{long_method}/M"),
        &long_service,
        "/x.S/M?\"=1",
    ] {
        raw_call(proxy.addr, target).await;
    }
    let client = WebClient::new(HttpVersion::H2);
    let res = client
        .call(proxy.addr, "/real.Svc/Call")
        .message(b"x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));

    let text = scrape(admin).await;
    let samples = parse_exposition(&text)
        .unwrap_or_else(|e| panic!("{e}\n{}", &text[..text.len().min(4096)]));
    assert!(text.len() < 32 * 1024, "scrape of {} bytes", text.len());
    for sample in &samples {
        let labels = sample.split('\t').nth(1).unwrap();
        for label in labels.split(',') {
            assert!(label.len() <= 300, "label of {} bytes", label.len());
        }
    }
    assert!(
        samples
            .iter()
            .any(|s| s
                == "grpcweb_calls_total\tcode=OK,method=Call,mode=grpc-web,service=real.Svc\t1"),
        "{samples:#?}"
    );
}

#[tokio::test]
async fn calls_to_methods_that_do_not_exist_cannot_evict_those_that_do() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |c| {
        admin_config(c);
        c.limits.max_message_size = 16;
    })
    .await;
    let admin = proxy.admin.unwrap();
    let client = WebClient::new(HttpVersion::H2);
    let empty_call = async || {
        let res = client
            .call(proxy.addr, "/grpc.testing.TestService/EmptyCall")
            .message(b"")
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok));
    };
    // The real method first, so that a table that evicts its oldest series would lose it.
    empty_call().await;
    // 1100 methods the backend does not have (it answers UNIMPLEMENTED), and 100 more the
    // proxy refuses itself before any backend sees them (a message over the limit).
    let mut calls = JoinSet::new();
    for batch in 0..12 {
        let client = client.clone();
        let addr = proxy.addr;
        calls.spawn(async move {
            for i in 0..100 {
                let n = batch * 100 + i;
                let path = format!("/junk{n}.Service/Method{n}");
                let res = if batch < 11 {
                    client.call(addr, &path).message(b"").send().await.unwrap()
                } else {
                    client
                        .call(addr, &path)
                        .message([0u8; 64])
                        .send()
                        .await
                        .unwrap()
                };
                assert_ne!(res.grpc_status(), Some(Code::Ok), "{path}");
            }
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
    empty_call().await;

    let text = scrape(admin).await;
    let samples = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let calls: Vec<&String> = samples
        .iter()
        .filter(|s| s.starts_with("grpcweb_calls_total\t"))
        .collect();
    assert!(
        calls.iter().any(|s| *s
            == "grpcweb_calls_total\tcode=OK,method=EmptyCall,mode=grpc-web,service=grpc.testing.TestService\t2"),
        "the real method counts under its own name, both calls: {calls:#?}"
    );
    assert!(
        !calls.iter().any(|s| s.contains("junk")),
        "no series for methods that do not exist: {} series",
        calls.len()
    );
    assert!(
        calls.iter().any(|s| *s
            == "grpcweb_calls_total\tcode=UNIMPLEMENTED,method=other,mode=grpc-web,service=other\t1100"),
        "they count as other: {calls:#?}"
    );
    assert!(text.len() < 32 * 1024, "scrape of {} bytes", text.len());
}

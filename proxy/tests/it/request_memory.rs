//! What request bodies cost the proxy in memory: a unary call is refused at its second
//! frame without reading the rest, and the proxy-wide budget for buffered request bytes.
//! The RSS test runs the real binary as a child process so that its memory is its own.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient, within};
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_grpcweb-proxy");
const PATH: &str = "/grpc.testing.TestService/UnaryCall";

/// 851,968 empty frames: 4 MiB + 64 KiB of frame headers, just within what a unary body
/// may be (the largest message plus 64 KiB).
fn empty_frames_body() -> Bytes {
    Bytes::from(vec![0u8; 851_968 * 5])
}

/// The proxy binary, killed when dropped.
struct ChildProxy {
    child: Child,
    addr: SocketAddr,
}

impl ChildProxy {
    async fn start(backend: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--backend", backend])
            .args(extra)
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
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening line")
            .parse()
            .unwrap();
        Self { child, addr }
    }

    /// A field of /proc/<pid>/status, in KiB.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }
}

impl Drop for ChildProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends 24 bodies of empty frames at once to the proxy binary started with `args`
/// (half on their own HTTP/1.1 connections, half on one HTTP/2 connection), each call
/// answered with `expect` when it is answered; how much the proxy's peak RSS grew, in
/// KiB, and how many calls reached the backend besides the two warm-up calls.
async fn peak_rss_growth(args: &[&str], expect: Code) -> (u64, usize) {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap();
    let proxy = ChildProxy::start(&backend.url(), args).await;
    let body = empty_frames_body();

    // Warm up both HTTP versions, so the baseline includes what every connection costs.
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let res = WebClient::new(version)
            .call(proxy.addr, PATH)
            .message(b"")
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok));
    }
    let before = proxy.status_kib("VmHWM:");

    let h1 = WebClient::new(HttpVersion::H1);
    let h2 = WebClient::new(HttpVersion::H2);
    let calls = (0..24).map(|i| {
        let client = if i % 2 == 0 { h1.clone() } else { h2.clone() };
        let body = body.clone();
        let addr = proxy.addr;
        tokio::spawn(async move {
            client
                .call(addr, PATH)
                .raw_body(body)
                .timeout(Duration::from_secs(60))
                .send()
                .await
        })
    });
    let mut answered = 0;
    for call in calls {
        // An HTTP/1.1 client still writing its body may see the connection close before
        // it reads the answer; what matters here is what the proxy kept.
        if let Ok(res) = call.await.unwrap() {
            assert_eq!(res.grpc_status(), Some(expect), "{res:?}");
            answered += 1;
        }
    }
    let after = proxy.status_kib("VmHWM:");
    let grown = after.saturating_sub(before);
    eprintln!(
        "{args:?}: {answered} of 24 calls answered; peak RSS {before} KiB -> {after} KiB \
         (+{grown} KiB), now {} KiB",
        proxy.status_kib("VmRSS:")
    );
    assert!(answered >= 12, "only {answered} of 24 calls were answered");
    (grown, backend.requests().len() - 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_empty_frames_do_not_grow_peak_rss() {
    // Unary: each call refused at its second frame, the rest never buffered.
    let (grown, forwarded) = peak_rss_growth(&[], Code::Unimplemented).await;
    assert!(
        grown < 32 * 1024,
        "peak RSS grew by {grown} KiB for 24 bodies of empty frames"
    );
    assert_eq!(forwarded, 0, "refused calls reached the backend");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_empty_frames_streamed_do_not_grow_peak_rss() {
    // Request streaming: every empty message is forwarded, coalesced into few chunks.
    let (grown, forwarded) = peak_rss_growth(&["--allow-request-streaming"], Code::Ok).await;
    assert!(
        grown < 32 * 1024,
        "peak RSS grew by {grown} KiB for 24 streamed bodies of empty frames"
    );
    assert!(forwarded >= 12, "{forwarded} calls forwarded");
}

#[tokio::test]
async fn calls_over_the_request_buffer_budget_get_resource_exhausted() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.limits.max_message_size = 64 * 1024;
        c.limits.max_buffered_request_bytes = Some(128 * 1024);
        c.limits.body_read_timeout = Duration::from_secs(2);
    })
    .await;
    let client = WebClient::new(HttpVersion::H2);
    // Two calls that each send 60 KiB of a 64 KiB message, then nothing more, hold
    // 120 KiB of the budget until their body read timeout.
    let mut part =
        grpcweb_test_support::frame(grpcweb_test_support::FrameKind::Data, vec![0u8; 64 * 1024])
            .to_vec();
    part.truncate(5 + 60 * 1024);
    let part = Bytes::from(part);
    let held: Vec<_> = (0..2)
        .map(|_| {
            // A connection each: on a shared one, the client's own flow control may
            // send one call's bytes only after another's.
            let call = WebClient::new(HttpVersion::H2)
                .call(proxy.addr, PATH)
                .raw_body(part.clone())
                .keep_body_open()
                .timeout(Duration::from_secs(10));
            tokio::spawn(call.send())
        })
        .collect();
    // A third call's whole 64 KiB message does not fit beside them: whichever call's
    // bytes come last goes over the budget (the third, or one of the two when the third
    // came first), and is refused at once.
    let message = vec![1u8; 64 * 1024];
    let mut refused = Vec::new();
    for _ in 0..50 {
        let res = client
            .call(proxy.addr, PATH)
            .message(&message)
            .send()
            .await
            .unwrap();
        match res.grpc_status() {
            Some(Code::ResourceExhausted) => {
                refused.push(res);
                break;
            }
            status => assert_eq!(status, Some(Code::Ok), "{res:?}"),
        }
        if held.iter().any(tokio::task::JoinHandle::is_finished) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The held calls end at their body read timeout (unless refused) and give their
    // bytes back.
    for call in held {
        let res = call.await.unwrap().unwrap();
        match res.grpc_status() {
            Some(Code::ResourceExhausted) => refused.push(res),
            status => assert_eq!(status, Some(Code::DeadlineExceeded), "{res:?}"),
        }
    }
    assert!(!refused.is_empty(), "every call went through");
    for res in refused {
        assert!(
            res.grpc_message()
                .unwrap_or_default()
                .contains("try again later"),
            "{res:?}"
        );
    }
    let res = client
        .call(proxy.addr, PATH)
        .message(&message)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{res:?}");
}

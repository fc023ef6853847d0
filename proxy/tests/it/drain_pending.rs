//! Calls still waiting for a backend's response headers when a drain ends get a status,
//! not a dropped connection (issue 11, item 13).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Mode, Reply, WebClient, within};
use std::time::Duration;
use tokio::task::JoinSet;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

#[tokio::test]
async fn calls_waiting_for_headers_get_unavailable_when_the_drain_ends() {
    let backend = FakeBackend::start(Reply::hang()).await.unwrap();
    let mut proxy = support::proxy(&backend.url(), |c| {
        c.limits.drain_timeout = Duration::from_millis(300);
    })
    .await;
    let flavours = [
        ("h1 web", HttpVersion::H1, Mode::Binary, None),
        ("h2 web", HttpVersion::H2, Mode::Binary, None),
        ("h2 web text", HttpVersion::H2, Mode::Text, None),
        (
            "h2 native",
            HttpVersion::H2,
            Mode::Binary,
            Some("application/grpc"),
        ),
    ];
    let mut calls = JoinSet::new();
    for (label, version, mode, content_type) in flavours {
        let mut call = WebClient::new(version)
            .call(proxy.addr, PATH)
            .mode(mode)
            .message(b"x")
            .timeout(Duration::from_secs(10));
        if let Some(content_type) = content_type {
            call = call.content_type(content_type);
        }
        calls.spawn(async move { (label, call.send().await) });
    }
    within(Duration::from_secs(5), backend.wait_for_requests(4))
        .await
        .unwrap();
    proxy.begin_stop();
    let results = within(Duration::from_secs(5), async {
        let mut out = Vec::new();
        while let Some(joined) = calls.join_next().await {
            out.push(joined.unwrap());
        }
        out
    })
    .await
    .unwrap();
    for (label, result) in results {
        let res = result.unwrap_or_else(|e| panic!("{label}: no answer: {e:#}"));
        assert_eq!(res.status, 200, "{label}");
        assert_eq!(
            res.grpc_status(),
            Some(Code::Unavailable),
            "{label}: {:?}",
            res.status()
        );
    }
    within(Duration::from_secs(5), proxy.stopped())
        .await
        .unwrap();
    // The backend streams were cancelled, not left waiting.
    within(Duration::from_secs(5), async {
        while backend.cancellations().len() < 4 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
}

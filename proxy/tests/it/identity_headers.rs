//! Headers in which a client could claim to be someone else (its address, the host or
//! scheme it used, its certificate) reach the backend only from a trusted hop; and native
//! gRPC over HTTP/1.1 loses its hop-by-hop headers like gRPC-Web does.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use grpcweb_test_support::{FakeBackend, HttpVersion, Reply, WebClient, within};
use std::time::Duration;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

const CLAIMS: [(&str, &str); 7] = [
    ("forwarded", "for=10.9.9.9;proto=https;host=bank.example"),
    ("x-real-ip", "10.9.9.9"),
    ("x-forwarded-host", "bank.example"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-port", "443"),
    ("x-forwarded-client-cert", "Hash=abc;Subject=\"CN=admin\""),
    ("x-forwarded-for", "10.9.9.9"),
];

#[tokio::test]
async fn client_claims_are_dropped_unless_the_hop_in_front_is_trusted() {
    for trust in [false, true] {
        let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
        let proxy = support::proxy(&backend.url(), |c| {
            c.forwarding.trust_forwarded_for = trust;
        })
        .await;
        let calls = [
            (HttpVersion::H1, "application/grpc-web+proto"),
            (HttpVersion::H2, "application/grpc-web+proto"),
            (HttpVersion::H2, "application/grpc"),
            (HttpVersion::H1, "application/grpc"),
        ];
        for (version, content_type) in calls {
            let mut call = WebClient::new(version)
                .call(proxy.addr, PATH)
                .content_type(content_type)
                .message(b"x");
            for (name, value) in CLAIMS {
                call = call.header(name, value);
            }
            // hyper's HTTP/1.1 client cannot read native gRPC's trailers: only what the
            // backend received matters here.
            let _ = call.send().await;
        }
        let requests = within(
            Duration::from_secs(10),
            backend.wait_for_requests(calls.len()),
        )
        .await
        .unwrap();
        for (req, (version, content_type)) in requests.iter().zip(calls) {
            let what = format!("trust={trust} {version:?} {content_type}");
            for (name, value) in CLAIMS {
                let got = req.header(name);
                match (trust, name) {
                    (_, "x-forwarded-for") if trust => {
                        assert_eq!(got, Some("10.9.9.9, 127.0.0.1"), "{what}");
                    }
                    (_, "x-forwarded-for") => assert_eq!(got, Some("127.0.0.1"), "{what}"),
                    (true, _) => assert_eq!(got, Some(value), "{what}: {name}"),
                    (false, _) => assert_eq!(got, None, "{what}: {name} passed"),
                }
            }
        }
    }
}

#[tokio::test]
async fn native_grpc_over_http1_loses_hop_by_hop_headers() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    for content_type in ["application/grpc", "application/grpc-web+proto"] {
        let _ = WebClient::new(HttpVersion::H1)
            .call(proxy.addr, PATH)
            .content_type(content_type)
            .header("connection", "keep-alive, x-hop")
            .header("x-hop", "1")
            .header("keep-alive", "timeout=5")
            .header("proxy-authorization", "Basic Zm9vOmJhcg==")
            .header("proxy-connection", "keep-alive")
            .header("te", "trailers")
            .header("x-kept", "yes")
            .message(b"x")
            .send()
            .await;
    }
    let requests = within(Duration::from_secs(10), backend.wait_for_requests(2))
        .await
        .unwrap();
    for req in &requests {
        let ct = req.header("content-type").unwrap_or_default();
        for hop in [
            "connection",
            "x-hop",
            "keep-alive",
            "proxy-authorization",
            "proxy-connection",
            "host",
        ] {
            assert_eq!(req.header(hop), None, "{ct}: {hop} forwarded");
        }
        assert_eq!(req.header("te"), Some("trailers"), "{ct}");
        assert_eq!(req.header("x-kept"), Some("yes"), "{ct}");
    }
}

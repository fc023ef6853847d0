//! Huge durations never panic: the longest `grpc-timeout` a client can write, against the
//! proxy and against the layer in-process with timeouts no config file may hold (set
//! through the library API), and the proxy refusing such timeouts at start.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use grpcweb_proxy::{Config, GrpcWebLayer, Proxy, RouteConfig, RouteMatch};
use grpcweb_test_support::{Code, HttpVersion, WebClient, within};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

type Tweak = fn(&mut Config);

const EMPTY_CALL: &str = "/grpc.testing.TestService/EmptyCall";
/// The longest `grpc-timeout` values (8 digits) in each unit, and none.
const TIMEOUTS: [Option<&str>; 5] = [
    None,
    Some("99999999H"),
    Some("99999999M"),
    Some("99999999S"),
    Some("99999999m"),
];

async fn every_call_is_ok(addr: SocketAddr, label: &str) {
    for version in [HttpVersion::H1, HttpVersion::H2] {
        for timeout in TIMEOUTS {
            let client = WebClient::new(version);
            let mut call = client.call(addr, EMPTY_CALL).message(b"");
            if let Some(t) = timeout {
                call = call.header("grpc-timeout", t);
            }
            let res = within(Duration::from_secs(10), call.send())
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{label} {version:?} {timeout:?}: {e:#}"));
            assert_eq!(
                res.grpc_status(),
                Some(Code::Ok),
                "{label} {version:?} {timeout:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_longest_grpc_timeout_is_served_by_the_proxy() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    every_call_is_ok(proxy.addr, "defaults").await;
    // A route cap and a max_timeout of a year (the longest a config may hold).
    let proxy = support::proxy(&backend.url(), |c| {
        c.limits.max_timeout = Some(grpcweb_proxy::config::MAX_DURATION);
        c.routes = vec![RouteConfig {
            matches: RouteMatch::All,
            backend: "default".into(),
            max_duration: Some(grpcweb_proxy::config::MAX_DURATION),
            allow_request_streaming: None,
        }];
    })
    .await;
    every_call_is_ok(proxy.addr, "caps of a year").await;
}

#[tokio::test]
async fn the_proxy_refuses_timeouts_longer_than_a_year_at_start() {
    let tweaks: [(&str, Tweak); 4] = [
        ("limits.body_read_timeout", |c| {
            c.limits.body_read_timeout = Duration::MAX;
        }),
        ("limits.header_read_timeout", |c| {
            c.limits.header_read_timeout = Duration::from_secs(u64::MAX);
        }),
        ("limits.idle_timeout", |c| {
            c.limits.idle_timeout = Duration::MAX;
        }),
        ("routes[0].max_duration", |c| {
            c.routes = vec![RouteConfig {
                matches: RouteMatch::All,
                backend: "default".into(),
                max_duration: Some(Duration::MAX),
                allow_request_streaming: None,
            }];
        }),
    ];
    for (key, tweak) in tweaks {
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::with_backend("http://127.0.0.1:1")
        };
        tweak(&mut config);
        let err = Proxy::bind(config).await.err().unwrap();
        assert!(format!("{err:?}").contains(key), "{key}: {err:?}");
    }
}

/// The layer in a tonic server, with every timeout as long as a `Duration` goes.
#[tokio::test]
async fn the_layer_with_unbounded_timeouts_serves_the_longest_grpc_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let layer = GrpcWebLayer::new()
        .body_read_timeout(Duration::MAX)
        .max_timeout(Some(Duration::MAX));
    let server = tokio::spawn(
        Server::builder()
            .accept_http1(true)
            .layer(layer)
            .add_service(grpcweb_interop::test_service())
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stopped.await;
            }),
    );
    every_call_is_ok(addr, "layer").await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

//! Routing by service to several backends, UNIMPLEMENTED for unrouted services, and
//! balancing with failover over a backend's endpoints.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_proxy::{BackendConfig, Config, RouteConfig, RouteMatch};
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient};
use std::net::SocketAddr;

fn listen_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn backend(name: &str, urls: &[String]) -> BackendConfig {
    let mut b = BackendConfig::new(name, urls[0].clone());
    b.endpoints = urls.to_vec();
    b.health_check_interval = None;
    b
}

#[tokio::test]
async fn services_go_to_their_backends_and_the_rest_is_unimplemented() {
    let users = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"users")]))
        .await
        .unwrap();
    let billing = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"billing")]))
        .await
        .unwrap();
    let mut config = Config {
        listen: listen_any(),
        ..Config::default()
    };
    config.backends = vec![
        backend("users", &[users.url()]),
        backend("billing", &[billing.url()]),
    ];
    config.routes = vec![
        RouteConfig {
            matches: RouteMatch::Package("acme".into()),
            backend: "billing".into(),
            max_duration: None,
            allow_request_streaming: None,
        },
        RouteConfig {
            matches: RouteMatch::Service("acme.users.v1.Users".into()),
            backend: "users".into(),
            max_duration: None,
            allow_request_streaming: None,
        },
    ];
    let proxy = support::start_proxy(config).await;
    let client = WebClient::new(HttpVersion::H2);
    let table = [
        ("/acme.users.v1.Users/Get", Some("users")),
        ("/acme.billing.v1.Invoices/List", Some("billing")),
        ("/acme.Top/Call", Some("billing")),
        ("/acmex.Svc/Call", None),
        ("/other.Svc/Call", None),
        ("/not-grpc", None),
        ("/acme.Top/Call/x", None),
    ];
    for (path, want) in table {
        let res = client
            .call(proxy.addr, path)
            .message(b"x")
            .send()
            .await
            .unwrap();
        match want {
            Some(body) => {
                assert_eq!(res.grpc_status(), Some(Code::Ok), "{path}");
                assert_eq!(res.message_payloads(), [Bytes::from(body)], "{path}");
            }
            None => {
                assert_eq!(
                    res.grpc_status(),
                    Some(Code::Unimplemented),
                    "{path}: {:?}",
                    res.status()
                );
                let message = res.grpc_message().unwrap();
                assert!(
                    message.contains("no route") || message.contains("not a gRPC method path"),
                    "{path}: {message}"
                );
            }
        }
    }
    assert_eq!(users.requests().len(), 1);
    assert_eq!(billing.requests().len(), 2);
}

#[tokio::test]
async fn unrouted_native_grpc_is_unimplemented_too() {
    let only = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let mut config = Config {
        listen: listen_any(),
        ..Config::default()
    };
    config.backends = vec![backend("only", &[only.url()])];
    config.routes = vec![RouteConfig {
        matches: RouteMatch::Service("grpc.testing.TestService".into()),
        backend: "only".into(),
        max_duration: None,
        allow_request_streaming: None,
    }];
    let proxy = support::start_proxy(config).await;
    let mut client =
        grpcweb_interop::pb::unimplemented_service_client::UnimplementedServiceClient::connect(
            proxy.url(),
        )
        .await
        .unwrap();
    let err = client
        .unimplemented_call(grpcweb_interop::pb::Empty {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    assert!(
        err.message().contains("grpc.testing.UnimplementedService"),
        "{}",
        err.message()
    );
    assert!(only.requests().is_empty());
    assert_eq!(only.connections(), 0);
}

#[tokio::test]
async fn calls_take_turns_and_skip_an_endpoint_that_died() {
    let a = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"a")]))
        .await
        .unwrap();
    let b = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"b")]))
        .await
        .unwrap();
    let mut config = Config {
        listen: listen_any(),
        ..Config::default()
    };
    config.backends = vec![backend("pair", &[a.url(), b.url()])];
    let proxy = support::start_proxy(config).await;
    let client = WebClient::new(HttpVersion::H1);
    for _ in 0..4 {
        let res = client
            .call(proxy.addr, "/x.Svc/M")
            .message(b"x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok));
    }
    assert_eq!(
        (a.requests().len(), b.requests().len()),
        (2, 2),
        "round robin"
    );

    drop(a);
    let mut failures = 0;
    for _ in 0..10 {
        let res = client
            .call(proxy.addr, "/x.Svc/M")
            .message(b"x")
            .send()
            .await
            .unwrap();
        match res.grpc_status() {
            Some(Code::Ok) => assert_eq!(res.message_payloads(), [Bytes::from_static(b"b")]),
            Some(Code::Unavailable) => failures += 1,
            other => panic!("unexpected {other:?}: {:?}", res.status()),
        }
    }
    assert!(
        failures <= 1,
        "the dead endpoint is skipped after its first failure, got {failures} failures"
    );
    assert!(b.requests().len() >= 11);
}

#[tokio::test]
async fn host_names_are_re_resolved_into_endpoints() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"ok")]))
        .await
        .unwrap();
    let url = format!("http://localhost:{}", backend.addr.port());
    let mut config = Config {
        listen: listen_any(),
        admin_listen: Some(listen_any()),
        ..Config::default()
    };
    let mut b = self::backend("named", std::slice::from_ref(&url));
    b.dns_refresh_interval = Some(std::time::Duration::from_millis(50));
    config.backends = vec![b];
    let proxy = support::start_proxy(config).await;
    let admin = proxy.admin.unwrap();
    let want = format!("endpoint=\"{url} (127.0.0.1)\"");
    let mut text = String::new();
    for _ in 0..100 {
        text = support::scrape(admin).await;
        if text.contains(&want) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        text.contains(&want),
        "resolved endpoint not listed:\n{text}"
    );
    // Calls reach the resolved address (a name that also resolves to an address nobody
    // listens on costs at most one failed call per such address).
    let client = WebClient::new(HttpVersion::H2);
    let mut ok = 0;
    for _ in 0..6 {
        let res = client
            .call(proxy.addr, "/x.Svc/M")
            .message(b"x")
            .send()
            .await
            .unwrap();
        if res.grpc_status() == Some(Code::Ok) {
            ok += 1;
        }
    }
    assert!(ok >= 4, "{ok} of 6 calls succeeded");
}

#[tokio::test]
async fn a_route_can_cap_how_long_calls_last() {
    let slow = FakeBackend::start(Reply::forever("tick", std::time::Duration::from_millis(50)))
        .await
        .unwrap();
    let mut config = Config {
        listen: listen_any(),
        ..Config::default()
    };
    config.backends = vec![backend("slow", &[slow.url()])];
    config.routes = vec![
        RouteConfig {
            matches: RouteMatch::Service("feed.Ticker".into()),
            backend: "slow".into(),
            max_duration: Some(std::time::Duration::from_millis(300)),
            allow_request_streaming: None,
        },
        RouteConfig {
            matches: RouteMatch::All,
            backend: "slow".into(),
            max_duration: None,
            allow_request_streaming: None,
        },
    ];
    let proxy = support::start_proxy(config).await;
    let client = WebClient::new(HttpVersion::H2);
    let start = std::time::Instant::now();
    let res = client
        .call(proxy.addr, "/feed.Ticker/Watch")
        .message(b"x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.grpc_status(),
        Some(Code::DeadlineExceeded),
        "{:?}",
        res.status()
    );
    let took = start.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(290) && took < std::time::Duration::from_secs(2),
        "{took:?}"
    );
    assert!(
        res.message_payloads().len() >= 3,
        "messages flowed until the cap"
    );
    assert_eq!(
        slow.requests()[0].header("grpc-timeout"),
        Some("300000u"),
        "the cap is forwarded"
    );

    // Another route is not capped: messages still come twice the first one's cap later
    // (read as they come, so none is left over from before a cut).
    let started = std::time::Instant::now();
    let mut stream = client
        .call(proxy.addr, "/other.Svc/Watch")
        .message(b"x")
        .send_streaming()
        .await
        .unwrap();
    while started.elapsed() < std::time::Duration::from_millis(600) {
        assert!(
            stream.next_message().await.unwrap().is_some(),
            "the uncapped stream ended after {:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        slow.requests()[1].header("grpc-timeout"),
        None,
        "no cap is forwarded"
    );
}

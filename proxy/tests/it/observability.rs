//! The admin listener: `/healthz`, `/readyz` flipping with backend health, and
//! Prometheus metrics that count the calls made.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support::{self, admin_get};

use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Mode, Reply, WebClient, within};
use http::StatusCode;
use std::net::SocketAddr;
use std::time::Duration;

fn admin_config(c: &mut grpcweb_proxy::Config) {
    c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
}

#[tokio::test]
async fn metrics_count_calls_by_service_method_code_and_mode() {
    let backend = support::interop_server(false).await;
    let proxy = support::proxy(&backend.url(), admin_config).await;
    let admin = proxy.admin.unwrap();
    let client = WebClient::new(HttpVersion::H2);
    for mode in [Mode::Binary, Mode::Binary, Mode::Text] {
        let res = client
            .call(proxy.addr, "/grpc.testing.TestService/EmptyCall")
            .mode(mode)
            .message(b"")
            .send()
            .await
            .unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok));
    }
    let res = client
        .call(proxy.addr, "/grpc.testing.TestService/UnimplementedCall")
        .message(b"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented));

    let (status, text) = admin_get(admin, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        r#"grpcweb_calls_total{service="grpc.testing.TestService",method="EmptyCall",code="OK",mode="grpc-web"} 2"#,
        r#"grpcweb_calls_total{service="grpc.testing.TestService",method="EmptyCall",code="OK",mode="grpc-web-text"} 1"#,
        // A method that only ever answers UNIMPLEMENTED cannot be told from one that does
        // not exist: it gets no series of its own.
        r#"grpcweb_calls_total{service="other",method="other",code="UNIMPLEMENTED",mode="grpc-web"} 1"#,
        "grpcweb_in_flight_calls 0",
        "grpcweb_request_messages_total 4",
        "grpcweb_response_messages_total 3",
        r#"grpcweb_backend_connections{backend="default"} 1"#,
        r#"grpcweb_call_duration_seconds_count{service="grpc.testing.TestService"} 3"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    let request_bytes = metric(&text, "grpcweb_request_bytes_total");
    assert!(
        request_bytes >= 20.0,
        "4 calls of one 5-byte frame, text mode larger: {request_bytes}"
    );
    assert!(metric(&text, "grpcweb_response_bytes_total") > 0.0);
    assert!(
        text.contains(&format!(
            "grpcweb_backend_endpoint_healthy{{backend=\"default\",endpoint=\"{}\"}} 1",
            backend.url()
        )),
        "{text}"
    );
    assert!(text.contains("grpcweb_client_connections"), "{text}");
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[tokio::test]
async fn a_client_that_goes_away_is_recorded_and_not_left_in_flight() {
    let backend = FakeBackend::start(Reply::forever("tick", Duration::from_millis(20)))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), admin_config).await;
    let admin = proxy.admin.unwrap();
    let client = WebClient::new(HttpVersion::H2);
    let mut stream = client
        .call(proxy.addr, "/x.Svc/Stream")
        .message(b"x")
        .send_streaming()
        .await
        .unwrap();
    stream.next_message().await.unwrap();
    let (_, text) = admin_get(admin, "/metrics").await;
    assert!(
        text.lines().any(|l| l == "grpcweb_in_flight_calls 1"),
        "{text}"
    );
    drop(stream);
    within(Duration::from_secs(5), backend.cancelled())
        .await
        .unwrap();
    let mut last = String::new();
    for _ in 0..50 {
        let (_, text) = admin_get(admin, "/metrics").await;
        if text.contains(r#"code="CLIENT_GONE""#)
            && text.lines().any(|l| l == "grpcweb_in_flight_calls 0")
        {
            return;
        }
        last = text;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("call not recorded as CLIENT_GONE:\n{last}");
}

#[tokio::test]
async fn healthz_is_alive_and_readyz_follows_the_backend() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let url = backend.url();
    let proxy = support::proxy(&url, |c| {
        admin_config(c);
        c.backends[0].health_check_interval = Some(Duration::from_millis(50));
    })
    .await;
    let admin = proxy.admin.unwrap();
    assert_eq!(
        admin_get(admin, "/healthz").await,
        (StatusCode::OK, "ok\n".to_owned())
    );
    assert_eq!(admin_get(admin, "/readyz").await.0, StatusCode::OK);
    assert_eq!(admin_get(admin, "/nope").await.0, StatusCode::NOT_FOUND);

    drop(backend);
    let mut readyz = (StatusCode::OK, String::new());
    for _ in 0..100 {
        readyz = admin_get(admin, "/readyz").await;
        if readyz.0 == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        readyz.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "readiness never flipped"
    );
    assert!(
        readyz.1.contains("backend default has no healthy endpoint"),
        "{}",
        readyz.1
    );
    assert_eq!(
        admin_get(admin, "/healthz").await.0,
        StatusCode::OK,
        "still alive"
    );
    let (_, text) = admin_get(admin, "/metrics").await;
    assert!(
        text.contains(&format!(
            "grpcweb_backend_endpoint_healthy{{backend=\"default\",endpoint=\"{url}\"}} 0"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn grpc_health_checks_drive_readiness() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let serving = Arc::new(AtomicBool::new(true));
    let flag = serving.clone();
    let backend = FakeBackend::start(move |req: &grpcweb_test_support::RecordedRequest| {
        assert_eq!(req.path(), "/grpc.health.v1.Health/Check");
        let status: &'static [u8] = if flag.load(Ordering::Relaxed) {
            &[0x08, 0x01]
        } else {
            &[0x08, 0x02]
        };
        Reply::ok(vec![bytes::Bytes::from_static(status)])
    })
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        admin_config(c);
        c.backends[0].health_check_interval = Some(Duration::from_millis(50));
        c.backends[0].health_check = grpcweb_proxy::HealthCheck::Grpc {
            service: "acme.Users".into(),
        };
    })
    .await;
    let admin = proxy.admin.unwrap();
    let wait_for = |want: StatusCode| async move {
        for _ in 0..100 {
            if admin_get(admin, "/readyz").await.0 == want {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    };
    assert!(wait_for(StatusCode::OK).await);
    let probe = &backend.requests()[0];
    assert_eq!(
        probe.messages().unwrap()[0].as_ref(),
        b"\x0a\x0aacme.Users",
        "HealthCheckRequest.service"
    );
    serving.store(false, Ordering::Relaxed);
    assert!(
        wait_for(StatusCode::SERVICE_UNAVAILABLE).await,
        "NOT_SERVING must make the proxy unready"
    );
    serving.store(true, Ordering::Relaxed);
    assert!(wait_for(StatusCode::OK).await, "and SERVING ready again");
}

#[tokio::test]
async fn worker_connections_show_how_connections_are_spread() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.worker_threads = Some(2);
        c.scheduler = grpcweb_proxy::Scheduler::PerWorker;
    })
    .await;
    let admin = proxy.admin.unwrap();
    let gauges = |text: &str| {
        let read = |worker: &str| {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix(&format!(
                        "grpcweb_worker_connections{{worker=\"{worker}\"}} "
                    ))
                })
                .and_then(|v| v.parse::<i64>().ok())
        };
        (read("0"), read("1"))
    };
    // Three silent connections, one after another: to the worker with fewer, ties in turn.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(tokio::net::TcpStream::connect(proxy.addr).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = support::scrape(admin).await;
    assert_eq!(gauges(&text), (Some(2), Some(1)), "{text}");
    drop(sockets);
    within(Duration::from_secs(5), async {
        while gauges(&support::scrape(admin).await) != (Some(0), Some(0)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("closed connections leave the gauges");
}

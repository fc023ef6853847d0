//! Graceful shutdown: new connections are refused, calls in flight finish within the
//! drain timeout, and calls that outlive it end with UNAVAILABLE, not a cut connection.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_interop::pb;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, Reply, WebClient, within};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_stream_in_flight_at_shutdown_completes_and_new_connections_are_refused() {
    let reply = Reply::ok(vec![
        Bytes::from_static(b"1"),
        Bytes::from_static(b"2"),
        Bytes::from_static(b"3"),
    ])
    .with_interval(Duration::from_millis(200));
    let backend = FakeBackend::start(reply).await.unwrap();
    let mut proxy = support::proxy(&backend.url(), |c| {
        c.limits.drain_timeout = Duration::from_secs(5)
    })
    .await;
    let addr = proxy.addr;
    let client = WebClient::new(HttpVersion::H2);
    let mut stream = client
        .call(addr, "/x.Svc/Stream")
        .message(b"x")
        .send_streaming()
        .await
        .unwrap();
    assert_eq!(
        stream.next_message().await.unwrap().as_deref(),
        Some(&b"1"[..])
    );

    proxy.begin_stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed at once"
    );

    let res = within(Duration::from_secs(5), stream.finish())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    assert_eq!(
        res.message_payloads(),
        [
            Bytes::from_static(b"1"),
            Bytes::from_static(b"2"),
            Bytes::from_static(b"3")
        ]
    );
    within(Duration::from_secs(5), proxy.stopped())
        .await
        .unwrap();
}

#[tokio::test]
async fn streams_that_outlive_the_drain_end_with_unavailable() {
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let backend = FakeBackend::start(Reply::forever("tick", Duration::from_millis(50)))
            .await
            .unwrap();
        let mut proxy = support::proxy(&backend.url(), |c| {
            c.limits.drain_timeout = Duration::from_millis(300)
        })
        .await;
        let client = WebClient::new(version);
        let mut stream = client
            .call(proxy.addr, "/x.Svc/Stream")
            .message(b"x")
            .send_streaming()
            .await
            .unwrap();
        stream.next_message().await.unwrap();
        let start = Instant::now();
        proxy.begin_stop();
        let res = within(Duration::from_secs(5), stream.finish())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            res.grpc_status(),
            Some(Code::Unavailable),
            "{version:?}: {:?}",
            res.status()
        );
        assert!(res.grpc_message().unwrap().contains("shutting down"));
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(2),
            "{version:?}: {took:?}"
        );
        within(Duration::from_secs(5), proxy.stopped())
            .await
            .unwrap();
        within(Duration::from_secs(5), backend.cancelled())
            .await
            .expect("backend stream cancelled");
    }
}

#[tokio::test]
async fn native_grpc_streams_that_outlive_the_drain_end_with_unavailable() {
    let backend = support::interop_server(false).await;
    let mut proxy = support::proxy(&backend.url(), |c| {
        c.limits.drain_timeout = Duration::from_millis(300)
    })
    .await;
    let mut client = pb::test_service_client::TestServiceClient::connect(proxy.url())
        .await
        .unwrap();
    let req = pb::StreamingOutputCallRequest {
        response_parameters: vec![
            pb::ResponseParameters {
                size: 1,
                interval_us: 100_000,
                ..Default::default()
            };
            100
        ],
        ..Default::default()
    };
    let mut stream = client
        .streaming_output_call(req)
        .await
        .unwrap()
        .into_inner();
    stream.message().await.unwrap().unwrap();
    proxy.begin_stop();
    let err = within(Duration::from_secs(5), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("stream ended OK; expected UNAVAILABLE"),
                Err(status) => return status,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(err.message().contains("shutting down"), "{err:?}");
    within(Duration::from_secs(5), proxy.stopped())
        .await
        .unwrap();
}

#[tokio::test]
async fn idle_connections_close_but_live_streams_do_not() {
    let reply =
        Reply::ok(vec![Bytes::from_static(b"a"); 6]).with_interval(Duration::from_millis(150));
    let backend = FakeBackend::start(reply).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.limits.idle_timeout = Duration::from_millis(300)
    })
    .await;

    // A raw HTTP/2 connection: its driver ends when the proxy closes the connection.
    let (mut send, driver) = support::raw_h2(proxy.addr).await;
    // A stream that lasts ~900 ms, three times the idle timeout, completes.
    let body = support::raw_h2_call(&mut send, proxy.addr, "/x.Svc/Stream", b"x").await;
    assert!(
        body.windows(15).any(|w| w == b"grpc-status:0\r\n"),
        "{body:?}"
    );
    let finished = Instant::now();
    // Then idle: closed after about the idle timeout.
    within(Duration::from_secs(5), driver)
        .await
        .expect("idle connection left open")
        .unwrap()
        .unwrap();
    let idle = finished.elapsed();
    assert!(idle >= Duration::from_millis(250), "closed after {idle:?}");
}

#[tokio::test]
async fn a_dropped_serve_stops_its_workers_and_closes_their_connections() {
    use tokio::io::AsyncReadExt as _;

    let backend = FakeBackend::start(Reply::ok(vec![Bytes::from_static(b"ok")]))
        .await
        .unwrap();
    let mut config = grpcweb_proxy::Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ..grpcweb_proxy::Config::with_backend(backend.url())
    };
    config.worker_threads = Some(2);
    config.scheduler = grpcweb_proxy::Scheduler::PerWorker;
    // The proxy on a runtime of its own, dropped (and `serve` with it) mid-way.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let proxy = runtime
        .spawn(grpcweb_proxy::Proxy::bind(config))
        .await
        .unwrap()
        .unwrap();
    let addr = proxy.local_addr().unwrap();
    runtime.spawn(proxy.serve(std::future::pending()));
    // Two silent connections: worker 0 takes the first, worker 1 the second (the one
    // with fewer connections), and each holds its socket until the header timeout (30 s).
    let mut sockets = Vec::new();
    for _ in 0..2 {
        sockets.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = WebClient::new(HttpVersion::H2)
        .call(addr, "/x.Svc/Unary")
        .message(b"x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));

    tokio::task::spawn_blocking(move || drop(runtime))
        .await
        .unwrap();
    for (i, socket) in sockets.iter_mut().enumerate() {
        let mut buf = [0u8; 64];
        let read = within(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("connection {i} still open after serve was dropped"));
        assert!(matches!(read, Ok(0) | Err(_)), "connection {i}: {read:?}");
    }
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

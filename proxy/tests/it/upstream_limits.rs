//! Backend connections and calls waiting for them are bounded per endpoint: the calls over
//! the limit are answered UNAVAILABLE at once and counted (issue 11, item 6).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support::{self, scrape};

use bytes::Bytes;
use grpcweb_test_support::{Code, HttpVersion, WebClient, WebResponse, within};
use http::{HeaderMap, HeaderValue, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

const PATH: &str = "/grpc.testing.TestService/UnaryCall";

#[tokio::test]
async fn calls_over_the_pending_limit_get_unavailable_at_once_and_are_counted() {
    // One stream per backend connection, one connection: one call runs, two may wait.
    let backend = HoldBackend::start(1).await;
    let proxy = support::proxy(&backend.url(), |c| {
        c.admin_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        // One worker: one pool, whose budgets these are.
        c.worker_threads = Some(1);
        c.backends[0].max_connections = 1;
        c.backends[0].max_pending_calls = 2;
    })
    .await;
    let call = || {
        WebClient::new(HttpVersion::H2)
            .call(proxy.addr, PATH)
            .message(b"x")
            .timeout(Duration::from_secs(10))
    };
    let mut held = JoinSet::new();
    held.spawn(call().send());
    within(Duration::from_secs(5), backend.wait_open(1))
        .await
        .unwrap();
    held.spawn(call().send());
    held.spawn(call().send());
    // Time for both to reach the pool and wait there (nothing else can happen to them).
    tokio::time::sleep(Duration::from_millis(300)).await;

    let over = within(Duration::from_secs(3), call().send())
        .await
        .expect("a call over the limit is answered at once")
        .unwrap();
    assert_eq!(
        over.grpc_status(),
        Some(Code::Unavailable),
        "{:?}",
        over.status()
    );
    let message = over.grpc_message().unwrap();
    assert!(message.contains("overloaded"), "{message:?}");
    assert_eq!(backend.connections(), 1, "no connection beyond the cap");
    assert_eq!(
        backend.opened(),
        1,
        "the waiting calls never reached the backend"
    );

    let metrics = scrape(proxy.admin.unwrap()).await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "grpcweb_upstream_overflow_total{backend=\"default\"} 1"),
        "{metrics}"
    );

    // Released, the held and the waiting calls all complete on the one connection.
    backend.release();
    let statuses = within(Duration::from_secs(10), async {
        let mut out = Vec::new();
        while let Some(joined) = held.join_next().await {
            out.push(joined.unwrap().map(|r: WebResponse| r.grpc_status()));
        }
        out
    })
    .await
    .unwrap();
    assert_eq!(statuses.len(), 3);
    for status in statuses {
        assert_eq!(status.unwrap(), Some(Code::Ok));
    }
    assert_eq!(backend.connections(), 1);
    assert_eq!(backend.opened(), 3);
}

#[tokio::test]
async fn a_call_waiting_at_the_connection_limit_gives_up_after_the_connect_timeout() {
    let backend = HoldBackend::start(1).await;
    let proxy = support::proxy(&backend.url(), |c| {
        c.worker_threads = Some(1);
        c.backends[0].max_connections = 1;
        c.backends[0].connect_timeout = Duration::from_millis(500);
    })
    .await;
    let call = || {
        WebClient::new(HttpVersion::H2)
            .call(proxy.addr, PATH)
            .message(b"x")
            .timeout(Duration::from_secs(10))
    };
    let held = tokio::spawn(call().send());
    within(Duration::from_secs(5), backend.wait_open(1))
        .await
        .unwrap();
    let waited = within(Duration::from_secs(3), call().send())
        .await
        .expect("a call waiting for a slot gives up")
        .unwrap();
    assert_eq!(
        waited.grpc_status(),
        Some(Code::Unavailable),
        "{:?}",
        waited.status()
    );
    assert!(waited.grpc_message().unwrap().contains("overloaded"));
    assert_eq!(backend.opened(), 1);
    backend.release();
    let held = within(Duration::from_secs(5), held).await.unwrap();
    assert_eq!(held.unwrap().unwrap().grpc_status(), Some(Code::Ok));
}

#[tokio::test]
async fn a_burst_of_calls_opens_the_connections_it_needs_at_once() {
    // One stream per backend connection; no call may wait for a slot to free. Each call of
    // the burst is covered by a connection opened for it, so none is refused.
    let backend = HoldBackend::start(1).await;
    let proxy = support::proxy(&backend.url(), |c| {
        c.worker_threads = Some(1);
        c.backends[0].max_pending_calls = 0;
    })
    .await;
    let mut calls = JoinSet::new();
    for _ in 0..3 {
        calls.spawn(
            WebClient::new(HttpVersion::H2)
                .call(proxy.addr, PATH)
                .message(b"x")
                .timeout(Duration::from_secs(10))
                .send(),
        );
    }
    within(Duration::from_secs(5), backend.wait_open(3))
        .await
        .expect("every call of the burst reaches the backend");
    assert_eq!(
        backend.connections(),
        3,
        "a connection per call, as the backend allows"
    );
    backend.release();
    let statuses = within(Duration::from_secs(10), async {
        let mut out = Vec::new();
        while let Some(joined) = calls.join_next().await {
            out.push(joined.unwrap().unwrap().grpc_status());
        }
        out
    })
    .await
    .unwrap();
    assert_eq!(statuses, [Some(Code::Ok); 3]);
}

#[test]
fn limits_are_read_from_the_backend_table_and_checked() {
    let config = grpcweb_proxy::Config::from_toml(
        r#"
        [[backends]]
        name = "b"
        endpoints = ["http://127.0.0.1:1"]
        max_connections = 3
        max_pending_calls = 0
        "#,
    )
    .unwrap();
    assert_eq!(config.backends[0].max_connections, 3);
    assert_eq!(config.backends[0].max_pending_calls, 0);
    config.validate().unwrap();
    let defaults = grpcweb_proxy::Config::with_backend("http://127.0.0.1:1");
    assert_eq!(defaults.backends[0].max_connections, 1024);
    assert_eq!(defaults.backends[0].max_pending_calls, 1024);

    let mut none = config.clone();
    none.backends[0].max_connections = 0;
    let err = none.validate().unwrap_err();
    assert_eq!(err.key(), "backends[0].max_connections", "{err}");
}

/// A native gRPC server on the h2 crate with SETTINGS_MAX_CONCURRENT_STREAMS `limit`, that
/// holds every call until [`HoldBackend::release`], then answers it with one message.
struct HoldBackend {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    /// Streams opened so far, and a watch on it.
    opened: watch::Sender<usize>,
    released: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl HoldBackend {
    async fn start(limit: u32) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let (opened, _) = watch::channel(0usize);
        let (released, _) = watch::channel(false);
        let released = Arc::new(released);
        let task = tokio::spawn({
            let (connections, opened, released) =
                (connections.clone(), opened.clone(), released.clone());
            async move {
                let mut tasks = JoinSet::new();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (opened, released) = (opened.clone(), released.clone());
                    tasks.spawn(async move {
                        let mut builder = h2::server::Builder::new();
                        builder.max_concurrent_streams(limit);
                        let Ok(mut conn) = builder.handshake::<_, Bytes>(tcp).await else {
                            return;
                        };
                        let mut streams = JoinSet::new();
                        while let Some(Ok((req, mut respond))) = conn.accept().await {
                            opened.send_modify(|n| *n += 1);
                            let mut released = released.subscribe();
                            streams.spawn(async move {
                                let mut body = req.into_body();
                                while let Some(Ok(chunk)) = body.data().await {
                                    let _ = body.flow_control().release_capacity(chunk.len());
                                }
                                let _ = released.wait_for(|r| *r).await;
                                let mut head = Response::new(());
                                head.headers_mut().insert(
                                    http::header::CONTENT_TYPE,
                                    HeaderValue::from_static("application/grpc"),
                                );
                                let Ok(mut stream) = respond.send_response(head, false) else {
                                    return;
                                };
                                let _ = stream
                                    .send_data(grpcweb_test_support::data_frame(b"ok"), false);
                                let mut ok = HeaderMap::new();
                                ok.insert("grpc-status", HeaderValue::from_static("0"));
                                let _ = stream.send_trailers(ok);
                            });
                        }
                        while streams.join_next().await.is_some() {}
                    });
                }
            }
        });
        Self {
            addr,
            connections,
            opened,
            released,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn opened(&self) -> usize {
        *self.opened.borrow()
    }

    async fn wait_open(&self, n: usize) {
        let mut rx = self.opened.subscribe();
        let _ = rx.wait_for(|o| *o >= n).await;
    }

    fn release(&self) {
        self.released.send_replace(true);
    }
}

impl Drop for HoldBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! Many streams open at once through the proxy to one backend: more than the backend
//! takes on one connection (the proxy opens as few connections as the backend's
//! SETTINGS_MAX_CONCURRENT_STREAMS allows, and never queues a call behind a full one), and
//! more than an h2 server lets sit unread as small DATA frames (each request body reaches
//! the backend as one DATA frame carrying END_STREAM).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{Code, HttpVersion, Mode, WebClient, within};
use http::{HeaderMap, HeaderValue, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

const PATH: &str = "/grpc.testing.TestService/StreamingOutputCall";

#[tokio::test]
async fn streams_beyond_the_backends_per_connection_limit_all_open_at_once() {
    let backend = BarrierBackend::start(Some(50), 300).await;
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    let statuses = calls(proxy.addr, 300).await;
    assert!(
        statuses.iter().all(|s| *s == Some(Code::Ok)),
        "{statuses:?}"
    );
    assert_eq!(
        backend.peak(),
        300,
        "every stream open at the backend at once"
    );
    assert_eq!(
        backend.connections(),
        6,
        "300 streams at 50 per connection, and no more connections than that"
    );
    assert_eq!(backend.split_bodies(), 0);
}

#[tokio::test]
async fn hundreds_of_unread_request_bodies_on_one_backend_connection() {
    // An h2 server closes a connection (GOAWAY ENHANCE_YOUR_CALM, "too_many_data_frames")
    // when it holds too many small DATA frames without END_STREAM unread: about 130 at its
    // default window. This backend reads no request body until all 400 calls are open.
    let backend = BarrierBackend::start(None, 400).await;
    let proxy = support::proxy(&backend.url(), |_| {}).await;
    let statuses = calls(proxy.addr, 400).await;
    assert!(
        statuses.iter().all(|s| *s == Some(Code::Ok)),
        "{statuses:?}"
    );
    assert_eq!(backend.peak(), 400);
    assert_eq!(
        backend.connections(),
        1,
        "one connection when the backend sets no limit"
    );
    assert_eq!(
        backend.split_bodies(),
        0,
        "a body's last DATA frame carries END_STREAM"
    );
}

/// `n` server-streaming calls at once over one HTTP/2 client connection, half of them in
/// text mode; their gRPC statuses.
async fn calls(proxy: SocketAddr, n: usize) -> Vec<Option<Code>> {
    let client = WebClient::new(HttpVersion::H2);
    let mut set = JoinSet::new();
    for i in 0..n {
        let call = client
            .call(proxy, PATH)
            .mode(if i % 2 == 0 { Mode::Binary } else { Mode::Text })
            .message(b"request");
        set.spawn(async move { call.send().await.map(|r| r.grpc_status()) });
    }
    let all = async {
        let mut statuses = Vec::with_capacity(n);
        while let Some(joined) = set.join_next().await {
            statuses.push(joined.unwrap().unwrap());
        }
        statuses
    };
    within(Duration::from_secs(20), all).await.unwrap()
}

/// A native gRPC server on the h2 crate, with an optional SETTINGS_MAX_CONCURRENT_STREAMS,
/// that holds every call (its request body unread) until `until` calls are open at once,
/// then answers each with one message and OK. After 10 s it answers anyway, so a proxy
/// that cannot open them all fails the test instead of hanging it.
struct BarrierBackend {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    open: AtomicUsize,
    peak: AtomicUsize,
    /// Request bodies whose data came without END_STREAM on the same DATA frame.
    split_bodies: AtomicUsize,
}

impl BarrierBackend {
    async fn start(limit: Option<u32>, until: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let (reached, _) = watch::channel(false);
        let reached = Arc::new(reached);
        let task = tokio::spawn({
            let stats = stats.clone();
            async move {
                let mut connections = JoinSet::new();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    stats.connections.fetch_add(1, Ordering::SeqCst);
                    let (stats, reached) = (stats.clone(), reached.clone());
                    connections.spawn(async move {
                        let mut builder = h2::server::Builder::new();
                        if let Some(limit) = limit {
                            builder.max_concurrent_streams(limit);
                        }
                        let Ok(mut conn) = builder.handshake::<_, Bytes>(tcp).await else {
                            return;
                        };
                        let mut streams = JoinSet::new();
                        while let Some(Ok((req, respond))) = conn.accept().await {
                            let (stats, reached) = (stats.clone(), reached.clone());
                            streams.spawn(async move {
                                let now = stats.open.fetch_add(1, Ordering::SeqCst) + 1;
                                stats.peak.fetch_max(now, Ordering::SeqCst);
                                if now >= until {
                                    reached.send_replace(true);
                                }
                                let mut barrier = reached.subscribe();
                                let _ = tokio::time::timeout(
                                    Duration::from_secs(10),
                                    barrier.wait_for(|r| *r),
                                )
                                .await;
                                answer(req.into_body(), respond, &stats).await;
                                stats.open.fetch_sub(1, Ordering::SeqCst);
                            });
                        }
                        while streams.join_next().await.is_some() {}
                    });
                }
            }
        });
        Self { addr, stats, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    fn peak(&self) -> usize {
        self.stats.peak.load(Ordering::SeqCst)
    }

    fn split_bodies(&self) -> usize {
        self.stats.split_bodies.load(Ordering::SeqCst)
    }
}

impl Drop for BarrierBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    mut body: h2::RecvStream,
    mut respond: h2::server::SendResponse<Bytes>,
    stats: &Stats,
) {
    let mut first = true;
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        // After the first DATA frame the stream is at its end only if that frame said so.
        if first && !body.is_end_stream() {
            stats.split_bodies.fetch_add(1, Ordering::SeqCst);
        }
        first = false;
    }
    let mut headers = Response::new(());
    headers.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    let Ok(mut stream) = respond.send_response(headers, false) else {
        return;
    };
    let _ = stream.send_data(grpcweb_test_support::data_frame(b"hi"), false);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let _ = stream.send_trailers(trailers);
}

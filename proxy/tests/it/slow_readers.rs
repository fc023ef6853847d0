//! Clients that stop reading cannot stall other calls on a shared backend connection: what
//! a call holds is bounded by its own stream window, and the connection window has room
//! for every stream the connection may carry (issue 11, item 3).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{Code, HttpVersion, WebClient, WebStream, within};
use http::{HeaderMap, HeaderValue, Response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

const STREAM: &str = "/big.Big/Stream";
const UNARY: &str = "/big.Big/Unary";
/// What the backend sends on each [`STREAM`]: 16 messages of 1 MiB.
const MESSAGE: usize = 1 << 20;
const MESSAGES: usize = 16;
const SLOW_CLIENTS: usize = 8;

#[tokio::test]
async fn clients_that_never_read_do_not_stall_a_call_on_the_same_backend_connection() {
    let backend = BigBackend::start().await;
    // One worker: every call on the one pool's connection.
    let proxy = support::proxy(&backend.url(), |c| c.worker_threads = Some(1)).await;

    // Each slow client on a connection of its own, reading nothing after the headers.
    let mut slow: Vec<WebStream> = Vec::new();
    for _ in 0..SLOW_CLIENTS {
        let stream = WebClient::new(HttpVersion::H2)
            .call(proxy.addr, STREAM)
            .message(b"x")
            .timeout(Duration::from_secs(30))
            .send_streaming()
            .await
            .unwrap();
        assert_eq!(stream.status, 200);
        slow.push(stream);
    }
    // Let every window fill: wait until the backend has sent nothing more for 300 ms.
    let mut last = usize::MAX;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = backend.total_sent();
        if now == last {
            break;
        }
        last = now;
    }
    assert_eq!(backend.open(), SLOW_CLIENTS, "every slow stream still open");
    for (i, sent) in backend.sent().iter().enumerate() {
        // Its stream window at the proxy (1 MiB) plus what the client's own windows
        // took (2 MiB for hyper's client): never the whole 16 MiB.
        assert!(
            *sent <= 4 * MESSAGE,
            "stream {i}: the backend could send {sent} bytes to a client that reads nothing"
        );
    }

    let unary = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, UNARY)
        .message(b"x")
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    let unary = unary.expect("a unary call behind stalled streams must not hang");
    assert_eq!(unary.grpc_status(), Some(Code::Ok), "{:?}", unary.status());
    assert_eq!(unary.message_payloads(), [Bytes::from_static(b"ok")]);
    assert_eq!(
        backend.connections(),
        1,
        "the unary call shared the slow streams' backend connection"
    );

    // The slow clients go away: their backend streams are cancelled.
    drop(slow);
    within(Duration::from_secs(5), async {
        while backend.open() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("backend streams of clients that went away are cancelled");
    assert_eq!(backend.cancelled(), SLOW_CLIENTS);
}

/// A native gRPC server on the h2 crate, with no stream limit (so every call shares one
/// connection): [`STREAM`] sends 16 MiB as the flow control allows, [`UNARY`] one message.
struct BigBackend {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    /// Streams of [`STREAM`] not yet ended.
    open: AtomicUsize,
    /// Streams of [`STREAM`] reset by the proxy.
    cancelled: AtomicUsize,
    /// Bytes sent on each stream of [`STREAM`].
    sent: Mutex<Vec<Arc<AtomicUsize>>>,
}

impl BigBackend {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
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
                    let stats = stats.clone();
                    connections.spawn(async move {
                        let Ok(mut conn) = h2::server::handshake(tcp).await else {
                            return;
                        };
                        let mut streams = JoinSet::new();
                        while let Some(Ok((req, respond))) = conn.accept().await {
                            streams.spawn(serve(req, respond, stats.clone()));
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

    fn open(&self) -> usize {
        self.stats.open.load(Ordering::SeqCst)
    }

    fn cancelled(&self) -> usize {
        self.stats.cancelled.load(Ordering::SeqCst)
    }

    fn sent(&self) -> Vec<usize> {
        let sent = self.stats.sent.lock().unwrap();
        sent.iter().map(|s| s.load(Ordering::SeqCst)).collect()
    }

    fn total_sent(&self) -> usize {
        self.sent().iter().sum()
    }
}

impl Drop for BigBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    req: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    stats: Arc<Stats>,
) {
    let (parts, mut body) = req.into_parts();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let mut head = Response::new(());
    head.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    let Ok(mut stream) = respond.send_response(head, false) else {
        return;
    };
    let mut ok = HeaderMap::new();
    ok.insert("grpc-status", HeaderValue::from_static("0"));
    if parts.uri.path() != STREAM {
        let _ = stream.send_data(grpcweb_test_support::data_frame(b"ok"), false);
        let _ = stream.send_trailers(ok);
        return;
    }
    stats.open.fetch_add(1, Ordering::SeqCst);
    let sent = Arc::new(AtomicUsize::new(0));
    stats.sent.lock().unwrap().push(sent.clone());
    let frame = grpcweb_test_support::data_frame(vec![0u8; MESSAGE]);
    let mut finished = true;
    'messages: for _ in 0..MESSAGES {
        let mut rest = frame.clone();
        while !rest.is_empty() {
            stream.reserve_capacity(rest.len());
            let capacity = std::future::poll_fn(|cx| {
                if stream.poll_reset(cx).is_ready() {
                    return std::task::Poll::Ready(None);
                }
                stream.poll_capacity(cx)
            })
            .await;
            match capacity {
                Some(Ok(0)) => {}
                Some(Ok(n)) => {
                    let chunk = rest.split_to(n.min(rest.len()));
                    let len = chunk.len();
                    if stream.send_data(chunk, false).is_err() {
                        finished = false;
                        break 'messages;
                    }
                    sent.fetch_add(len, Ordering::SeqCst);
                }
                Some(Err(_)) | None => {
                    finished = false;
                    break 'messages;
                }
            }
        }
    }
    if finished {
        let _ = stream.send_trailers(ok);
    } else {
        stats.cancelled.fetch_add(1, Ordering::SeqCst);
    }
    stats.open.fetch_sub(1, Ordering::SeqCst);
}

//! Backpressure on streamed requests: while the backend takes no request data, the proxy
//! reads no more than flow-control windows' worth from the client, so a client cannot
//! fill the proxy's memory with a stream the backend is not reading; once the backend
//! reads, every message arrives.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{Code, HttpVersion, WebClient, data_frame, within};
use http::{HeaderMap, HeaderValue, Response};
use http_body_util::channel::Channel;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

const PATH: &str = "/grpc.testing.TestService/StreamingInputCall";
/// Each request message's payload.
const MESSAGE: usize = 16 * 1024;
/// Messages the client tries to send: 16 MiB in all.
const MESSAGES: usize = 1024;

/// A backend that answers with headers at once, then reads nothing of the request until
/// `release` is notified; then it reads every message and answers OK.
struct StalledBackend {
    url: String,
    release: Arc<Notify>,
    received: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl StalledBackend {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let release = Arc::new(Notify::new());
        let received = Arc::new(AtomicUsize::new(0));
        let (r, n) = (release.clone(), received.clone());
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = h2::server::handshake(tcp).await.unwrap();
            let (req, mut respond) = conn.accept().await.unwrap().unwrap();
            tokio::spawn(async move { while conn.accept().await.is_some() {} });
            let mut head = Response::new(());
            head.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            );
            let mut stream = respond.send_response(head, false).unwrap();
            r.notified().await;
            let mut body = req.into_body();
            while let Some(Ok(chunk)) = body.data().await {
                let _ = body.flow_control().release_capacity(chunk.len());
                n.fetch_add(chunk.len(), Ordering::SeqCst);
            }
            let mut ok = HeaderMap::new();
            ok.insert("grpc-status", HeaderValue::from_static("0"));
            let _ = stream.send_trailers(ok);
        });
        Self {
            url,
            release,
            received,
            task,
        }
    }
}

impl Drop for StalledBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn a_backend_that_takes_no_request_data_stops_the_client_not_the_proxy_memory() {
    for version in [HttpVersion::H2, HttpVersion::H1] {
        let backend = StalledBackend::start().await;
        let proxy = support::proxy(&backend.url, |c| c.allow_request_streaming = true).await;
        let (mut tx, body) = Channel::<Bytes, Infallible>::new(1);
        // Counts the messages the connection took from the client.
        let taken = Arc::new(AtomicUsize::new(0));
        let sender = tokio::spawn({
            let taken = taken.clone();
            async move {
                let message = data_frame([7; MESSAGE]);
                for _ in 0..MESSAGES {
                    if tx.send_data(message.clone()).await.is_err() {
                        return;
                    }
                    taken.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let call = tokio::spawn(
            WebClient::new(version)
                .call(proxy.addr, PATH)
                .raw_body_stream(body)
                .timeout(Duration::from_secs(30))
                .send(),
        );
        // Let the client push as much as it can while the backend reads nothing.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let stalled_at = taken.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            taken.load(Ordering::SeqCst),
            stalled_at,
            "{version:?}: the client kept sending"
        );
        // Windows and socket buffers only (measured: 1 MiB over HTTP/2, 4.4 MiB over HTTP/1.1),
        // not the 16 MiB the client has.
        let held = stalled_at * (MESSAGE + 5);
        assert!(
            held < 8 * 1024 * 1024,
            "{version:?}: {held} bytes taken from the client"
        );
        backend.release.notify_one();
        let res = within(Duration::from_secs(30), call)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        sender.await.unwrap();
        assert_eq!(res.grpc_status(), Some(Code::Ok), "{version:?}: {res:?}");
        assert_eq!(
            backend.received.load(Ordering::SeqCst),
            MESSAGES * (MESSAGE + 5),
            "{version:?}: every message reaches the backend"
        );
    }
}

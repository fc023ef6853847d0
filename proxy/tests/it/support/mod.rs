//! Starting the proxy and the interop backend in-process on free loopback ports.

#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod reflection;

use grpcweb_interop::{ServeOptions, serve};
use grpcweb_proxy::{Config, Proxy};
use grpcweb_test_support::{HttpVersion, WebClient};
use http::{Method, StatusCode};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server task that stops when this is dropped.
pub struct Running {
    pub addr: SocketAddr,
    /// The proxy's admin listener, when configured.
    pub admin: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts shutting the server down without waiting for it.
    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits until the server task has finished (after [`Running::begin_stop`]).
    pub async fn stopped(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops the server and waits until it has finished draining.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The tonic interop server, native gRPC only (`grpc_web: false`) or with our layer
/// in-process (`grpc_web: true`).
pub async fn interop_server(grpc_web: bool) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        serve(
            listener,
            ServeOptions {
                grpc_web,
                ..ServeOptions::default()
            },
            shutdown,
        )
        .await
        .expect("interop server failed");
    });
    Running {
        addr,
        admin: None,
        stop: Some(stop),
        task: Some(task),
    }
}

/// The proxy in front of `backend_url`, with `tweak` applied to the default config.
pub async fn proxy(backend_url: &str, tweak: impl FnOnce(&mut Config)) -> Running {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::with_backend(backend_url)
    };
    // No TCP probes unless a test asks: tests count the backend's connections.
    config.backends[0].health_check_interval = None;
    tweak(&mut config);
    start_proxy(config).await
}

/// The proxy with exactly `config` (its listen address should be port 0).
pub async fn start_proxy(config: Config) -> Running {
    let proxy = Proxy::bind(config).await.expect("proxy start");
    let addr = proxy.local_addr().expect("addr");
    let admin = proxy.admin_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        proxy
            .serve(async {
                let _ = stopped.await;
            })
            .await
            .expect("proxy failed");
    });
    Running {
        addr,
        admin,
        stop: Some(stop),
        task: Some(task),
    }
}

/// What a test talks to: our proxy in front of the interop server, or the interop
/// server with the layer in-process.
pub enum Target {
    Proxy { _backend: Running, proxy: Running },
    InProcess(Running),
}

impl Target {
    pub async fn proxy() -> Self {
        let backend = interop_server(false).await;
        let proxy = proxy(&backend.url(), |_| {}).await;
        Self::Proxy {
            _backend: backend,
            proxy,
        }
    }

    pub async fn in_process() -> Self {
        Self::InProcess(interop_server(true).await)
    }

    pub async fn all() -> Vec<(&'static str, Self)> {
        vec![
            ("proxy", Self::proxy().await),
            ("in-process", Self::in_process().await),
        ]
    }

    pub fn addr(&self) -> SocketAddr {
        match self {
            Self::Proxy { proxy, .. } => proxy.addr,
            Self::InProcess(r) => r.addr,
        }
    }
}

impl Running {
    /// A server task started elsewhere.
    pub fn new(
        addr: SocketAddr,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<()>,
    ) -> Self {
        Self {
            addr,
            admin: None,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// `backend`, and the proxy in front of it with `tweak` applied.
pub async fn proxy_pair(backend: Running, tweak: impl FnOnce(&mut Config)) -> (Running, Running) {
    let proxy = proxy(&backend.url(), tweak).await;
    (backend, proxy)
}

/// A GET of `path` on the proxy's admin listener: its status and body.
pub async fn admin_get(admin: SocketAddr, path: &str) -> (StatusCode, String) {
    let (status, body) = admin_get_bytes(admin, path).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn admin_get_bytes(admin: SocketAddr, path: &str) -> (StatusCode, bytes::Bytes) {
    let res = WebClient::new(HttpVersion::H1)
        .call(admin, path)
        .method(Method::GET)
        .content_type("")
        .send()
        .await
        .expect("the admin listener answers");
    (res.status, res.raw_body)
}

/// The proxy's `/metrics` exposition, asserted to be answered with 200 and to be UTF-8.
pub async fn scrape(admin: SocketAddr) -> String {
    let (status, body) = admin_get_bytes(admin, "/metrics").await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    String::from_utf8(body.to_vec()).expect("the exposition is UTF-8")
}

/// A raw HTTP/2 connection to the proxy (no pool that would reconnect and hide a close),
/// and the task driving it, which ends when the proxy closes the connection.
pub async fn raw_h2(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<http_body_util::Full<bytes::Bytes>>,
    tokio::task::JoinHandle<hyper::Result<()>>,
) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    (send, tokio::spawn(conn))
}

/// One gRPC-Web binary call with `message` on a [`raw_h2`] connection: the whole body.
pub async fn raw_h2_call(
    send: &mut hyper::client::conn::http2::SendRequest<http_body_util::Full<bytes::Bytes>>,
    addr: SocketAddr,
    path: &str,
    message: &[u8],
) -> bytes::Bytes {
    let req = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc-web+proto")
        .body(http_body_util::Full::new(grpcweb_test_support::data_frame(
            message,
        )))
        .unwrap();
    let res = send.send_request(req).await.unwrap();
    http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes()
}

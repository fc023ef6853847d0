//! Forwarding to the backend: HTTP/2 (h2c) over one shared, multiplexed connection.

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower_service::Service;

use crate::BoxError;
use crate::config::BackendConfig;

/// The client's address, put in request extensions by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// A failed call to the backend, naming the backend.
#[derive(Debug)]
pub struct UpstreamError {
    backend: Arc<str>,
    connect: bool,
    source: hyper_util::client::legacy::Error,
}

impl UpstreamError {
    /// True when no connection to the backend could be made.
    pub fn is_connect(&self) -> bool {
        self.connect
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = crate::respond::chain(&self.source);
        if self.connect {
            write!(f, "backend {} unreachable: {root}", self.backend)
        } else {
            write!(f, "backend {} failed: {root}", self.backend)
        }
    }
}

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A tower service that sends each request to one backend over HTTP/2.
///
/// Requests keep their path and headers; the URI gets the backend's scheme and authority
/// (so `host` becomes `:authority`), and the client address is appended to
/// `x-forwarded-for` when enabled. Connections are shared and multiplexed; a failed
/// connection is replaced on the next call.
pub struct Upstream<B> {
    client: Client<HttpConnector, B>,
    scheme: Scheme,
    authority: Authority,
    name: Arc<str>,
    forwarded_for: bool,
}

impl<B> Clone for Upstream<B> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            name: self.name.clone(),
            forwarded_for: self.forwarded_for,
        }
    }
}

impl<B> fmt::Debug for Upstream<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("backend", &self.name)
            .finish_non_exhaustive()
    }
}

impl<B> Upstream<B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// A client for `config.url` (`http://host:port`, HTTP/2 cleartext).
    pub fn new(config: &BackendConfig) -> Result<Self, crate::config::ConfigError> {
        let (scheme, authority) = config.scheme_and_authority()?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_initial_stream_window_size(Some(1 << 20))
            .http2_initial_connection_window_size(Some(4 << 20))
            .http2_keep_alive_interval(Some(Duration::from_secs(30)))
            .http2_keep_alive_timeout(Duration::from_secs(10))
            .build(connector);
        Ok(Self {
            client,
            scheme,
            authority,
            name: Arc::from(config.url.as_str()),
            forwarded_for: config.forwarded_for,
        })
    }
}

impl<B> Service<Request<B>> for Upstream<B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Incoming>;
    type Error = UpstreamError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Incoming>, UpstreamError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let path = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build();
        if let Ok(built) = uri {
            *req.uri_mut() = built;
        }
        *req.version_mut() = Version::HTTP_2;
        req.headers_mut().remove(http::header::HOST);
        if self.forwarded_for
            && let Some(PeerAddr(addr)) = req.extensions().get::<PeerAddr>().copied()
        {
            append_forwarded_for(req.headers_mut(), addr);
        }
        let fut = self.client.request(req);
        let name = self.name.clone();
        Box::pin(async move {
            fut.await.map_err(|source| UpstreamError {
                backend: name,
                connect: source.is_connect(),
                source,
            })
        })
    }
}

fn append_forwarded_for(headers: &mut http::HeaderMap, addr: SocketAddr) {
    const XFF: &str = "x-forwarded-for";
    let ip = addr.ip().to_string();
    let value = match headers.get(XFF).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {ip}"),
        _ => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(XFF, v);
    }
}

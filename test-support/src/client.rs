//! [`WebClient`]: a gRPC-Web client over real HTTP/1.1 or HTTP/2 connections.

use crate::time::{DEFAULT_TIMEOUT, within};
use anyhow::{Context as _, anyhow};
use bytes::{Bytes, BytesMut};
use grpcweb_protocol::Mode;
use grpcweb_protocol::framing::{FrameKind, encode_frame};
use grpcweb_protocol::text::encode_segment;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::convert::Infallible;
use std::fmt;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

mod response;
mod writer;

pub use response::{ReceivedFrame, WebResponse, WebStream};
pub use writer::BodyWriter;

/// Which HTTP version a [`WebClient`] speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    /// HTTP/1.1, as browsers talk to most proxies.
    H1,
    /// HTTP/2 over cleartext with prior knowledge (h2c, no upgrade dance).
    H2,
}

impl HttpVersion {
    /// The matching [`http::Version`].
    pub fn version(self) -> Version {
        match self {
            Self::H1 => Version::HTTP_11,
            Self::H2 => Version::HTTP_2,
        }
    }
}

type RequestBody = BoxBody<Bytes, Infallible>;

/// A gRPC-Web test client.
///
/// Cheap to clone; clones share a connection pool (idle connections are reused, as a
/// browser would). Each call is built with [`WebClient::call`].
#[derive(Clone)]
pub struct WebClient {
    inner: Client<HttpConnector, RequestBody>,
    version: HttpVersion,
}

impl fmt::Debug for WebClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebClient")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl WebClient {
    /// A client speaking `version`. Needs a Tokio runtime when calls are sent.
    pub fn new(version: HttpVersion) -> Self {
        let mut builder = Client::builder(TokioExecutor::new());
        // A retried request would hide what the server did to the first one.
        builder.retry_canceled_requests(false);
        if version == HttpVersion::H2 {
            builder.http2_only(true);
        }
        Self {
            inner: builder.build_http(),
            version,
        }
    }

    /// The HTTP version this client speaks.
    pub fn http_version(&self) -> HttpVersion {
        self.version
    }

    /// Starts a call to `path` (`/package.Service/Method`) on `base`.
    ///
    /// `base` is anything displayable as `host:port` (a [`std::net::SocketAddr`]) or as a
    /// URL (`http://127.0.0.1:8080`); a trailing `/` is ignored. Defaults: `POST`, binary
    /// mode, no messages, a [`DEFAULT_TIMEOUT`] for each wait.
    pub fn call(&self, base: impl fmt::Display, path: &str) -> CallBuilder {
        let base = base.to_string();
        let base = base.trim_end_matches('/');
        let sep = if path.starts_with('/') { "" } else { "/" };
        let uri = if base.contains("://") {
            format!("{base}{sep}{path}")
        } else {
            format!("http://{base}{sep}{path}")
        };
        CallBuilder {
            client: self.clone(),
            uri,
            method: Method::POST,
            mode: Mode::Binary,
            content_type: None,
            headers: HeaderMap::new(),
            frames: BytesMut::new(),
            raw_body: None,
            split: None,
            keep_open: false,
            writer: None,
            timeout: DEFAULT_TIMEOUT,
            error: None,
        }
    }
}

/// One call being set up; finish with [`CallBuilder::send`] or
/// [`CallBuilder::send_streaming`].
#[must_use]
#[derive(Debug)]
pub struct CallBuilder {
    client: WebClient,
    uri: String,
    method: Method,
    mode: Mode,
    content_type: Option<HeaderValue>,
    headers: HeaderMap,
    frames: BytesMut,
    raw_body: Option<Bytes>,
    split: Option<(Vec<usize>, Duration)>,
    keep_open: bool,
    writer: Option<RequestBody>,
    timeout: Duration,
    error: Option<anyhow::Error>,
}

impl CallBuilder {
    /// Binary or text. Sets the content type (`application/grpc-web+proto` or
    /// `application/grpc-web-text+proto`) and, in text mode, sends the framed messages as
    /// one padded base64 segment. Does not touch a [`CallBuilder::raw_body`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Adds a request header (appended: call twice for two values). Invalid names or
    /// values make `send` fail.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_ref()),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => self.fail(anyhow!("invalid request header {name:?}")),
        }
        self
    }

    /// Adds one message, framed as a 0x00 data frame.
    pub fn message(self, payload: impl AsRef<[u8]>) -> Self {
        self.frame(FrameKind::Data, payload)
    }

    /// Adds one protobuf message, encoded and framed as a 0x00 data frame.
    pub fn message_proto(self, message: &impl prost::Message) -> Self {
        self.message(message.encode_to_vec())
    }

    /// Adds a frame of any kind (0x01 compressed, 0x80 trailers, ...).
    pub fn frame(mut self, kind: FrameKind, payload: impl AsRef<[u8]>) -> Self {
        self.frames
            .extend_from_slice(&encode_frame(kind, payload.as_ref()));
        self
    }

    /// Sends exactly these bytes as the body, whatever the mode, instead of the framed
    /// messages: for malformed input.
    pub fn raw_body(mut self, body: impl Into<Bytes>) -> Self {
        self.raw_body = Some(body.into());
        self
    }

    /// Replaces the `content-type` the mode would set.
    pub fn content_type(mut self, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(v) => self.content_type = Some(v),
            Err(_) => self.fail(anyhow!("invalid content-type {value:?}")),
        }
        self
    }

    /// Replaces the method (default `POST`).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Sends the final body (after base64 in text mode) cut at these byte offsets, waiting
    /// `gap` between pieces. The body then has no `content-length` (chunked on HTTP/1.1).
    pub fn split_body(mut self, at: impl IntoIterator<Item = usize>, gap: Duration) -> Self {
        self.split = Some((at.into_iter().collect(), gap));
        self
    }

    /// Never ends the request body: after the last piece the body stays open until the
    /// response (or the [`WebStream`]) is dropped. For "do not wait forever" tests.
    pub fn keep_body_open(mut self) -> Self {
        self.keep_open = true;
        self
    }

    /// The body is written by the returned [`BodyWriter`] while the call runs (messages
    /// added to the builder are ignored): for client-streaming and bidi calls. Write the
    /// first message before awaiting [`CallBuilder::send_streaming`] when the server
    /// answers only once it has one (a gRPC-Web proxy forwards a call at its first
    /// message).
    pub fn body_writer(mut self) -> (Self, BodyWriter) {
        let (writer, body) = BodyWriter::new(self.mode);
        self.writer = Some(body.boxed());
        (self, writer)
    }

    /// Sends `body` as it is, chunk by chunk as it yields them (no `content-length`;
    /// chunked on HTTP/1.1), instead of the framed messages: for tests that pace the
    /// client themselves (an `http_body_util::channel::Channel` shows what the connection
    /// took).
    pub fn raw_body_stream<B>(mut self, body: B) -> Self
    where
        B: hyper::body::Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
    {
        self.writer = Some(body.boxed());
        self
    }

    /// How long each wait may take (response headers, the whole body in
    /// [`CallBuilder::send`], each [`WebStream::next_message`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends the request and reads the whole response, checking its framing.
    ///
    /// Errors: connection failures, timeouts, and gRPC-Web protocol violations in the
    /// body (see [`WebStream::next_message`]).
    pub async fn send(self) -> anyhow::Result<WebResponse> {
        let timeout = self.timeout;
        let stream = self.send_streaming().await?;
        within(timeout, stream.finish()).await?
    }

    /// Sends the request and returns once the response headers are in; the body is then
    /// read message by message. Dropping the [`WebStream`] drops the response: on HTTP/2
    /// the stream is reset (`RST_STREAM CANCEL`), on HTTP/1.1 the connection is closed.
    pub async fn send_streaming(mut self) -> anyhow::Result<WebStream> {
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        let body = self.body_bytes();
        let (body, hold) = self.request_body(body);
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(&self.uri)
            .version(self.client.version.version())
            .body(body)
            .context("building the request")?;
        let content_type = self.content_type.take().unwrap_or_else(|| match self.mode {
            Mode::Binary => HeaderValue::from_static("application/grpc-web+proto"),
            Mode::Text => HeaderValue::from_static("application/grpc-web-text+proto"),
        });
        request.headers_mut().insert(CONTENT_TYPE, content_type);
        for (name, value) in &self.headers {
            request.headers_mut().append(name, value.clone());
        }
        let sent_at = Instant::now();
        let response = within(self.timeout, self.client.inner.request(request))
            .await
            .context("waiting for response headers")?
            .with_context(|| format!("{} {}", self.method, self.uri))?;
        Ok(WebStream::new(response, sent_at, self.timeout, hold))
    }

    fn fail(&mut self, err: anyhow::Error) {
        self.error.get_or_insert(err);
    }

    fn body_bytes(&mut self) -> Bytes {
        if let Some(raw) = self.raw_body.take() {
            return raw;
        }
        let frames = std::mem::take(&mut self.frames).freeze();
        match self.mode {
            Mode::Binary => frames,
            Mode::Text => encode_segment(&frames),
        }
    }

    fn request_body(&mut self, body: Bytes) -> (RequestBody, Option<oneshot::Sender<()>>) {
        if let Some(writer) = self.writer.take() {
            return (writer, None);
        }
        if self.split.is_none() && !self.keep_open {
            return (Full::new(body).boxed(), None);
        }
        let (points, gap) = self.split.take().unwrap_or_default();
        let pieces = cut(&body, points);
        let (mut tx, rx) = http_body_util::channel::Channel::<Bytes, Infallible>::new(1);
        let (hold_tx, hold_rx) = oneshot::channel::<()>();
        let keep_open = self.keep_open;
        tokio::spawn(async move {
            for (i, piece) in pieces.into_iter().enumerate() {
                if i > 0 && !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
                if tx.send_data(piece).await.is_err() {
                    return;
                }
            }
            if keep_open {
                // Resolves when the response side drops its end.
                let _ = hold_rx.await;
            }
            drop(tx);
        });
        (rx.boxed(), Some(hold_tx))
    }
}

/// Cuts `body` at the given offsets (out-of-range and repeated offsets are ignored).
fn cut(body: &Bytes, mut points: Vec<usize>) -> Vec<Bytes> {
    points.retain(|&p| p > 0 && p < body.len());
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut last = 0;
    for p in points {
        out.push(body.slice(last..p));
        last = p;
    }
    out.push(body.slice(last..));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_anywhere() {
        let body = Bytes::from_static(b"abcdef");
        assert_eq!(cut(&body, vec![4, 1, 1, 0, 99]), ["a", "bcd", "ef"]);
        assert_eq!(cut(&body, vec![]), ["abcdef"]);
    }

    #[test]
    fn builds_urls() {
        let client = WebClient::new(HttpVersion::H1);
        let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            client.call(addr, "/a.B/C").uri,
            "http://127.0.0.1:8080/a.B/C"
        );
        assert_eq!(client.call("http://h:1/", "a.B/C").uri, "http://h:1/a.B/C");
    }
}

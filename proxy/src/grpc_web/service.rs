use bytes::Bytes;
use grpcweb_protocol::content_type::RequestKind;
use grpcweb_protocol::status::GRPC_STATUS;
use grpcweb_protocol::{Code, ContentType, Mode, Status, timeout};
use http::header::{self, CONTENT_LENGTH, CONTENT_TYPE, HeaderName};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body::Body;
use http_body_util::BodyExt as _;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::ServiceExt;
use tower_service::Service;

use super::MessageCounts;
use super::layer::WebConfig;
use super::request::{RequestBody, WebRequestBody};
use super::response::{ResponseBody, StreamOptions, WebResponseBody};
use crate::{BoxError, respond};

const GRPC_TIMEOUT: &str = "grpc-timeout";
const GRPC_ACCEPT_ENCODING: &str = "grpc-accept-encoding";

/// The service made by [`GrpcWebLayer`](super::GrpcWebLayer).
///
/// Its error type is [`Infallible`]: every failure, the inner service's included, becomes
/// a gRPC status the client can read (see [`respond`](crate::respond)'s table).
#[derive(Clone)]
pub struct GrpcWebService<S> {
    inner: S,
    config: Arc<WebConfig>,
}

impl<S> fmt::Debug for GrpcWebService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcWebService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S> GrpcWebService<S> {
    pub(crate) fn new(inner: S, config: Arc<WebConfig>) -> Self {
        Self { inner, config }
    }
}

fn method_not_allowed<B>(method: &Method) -> Response<ResponseBody<B>> {
    let message = format!("method {method} not allowed: gRPC-Web needs POST");
    respond::refuse(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        &Status::new(Code::Unimplemented, message),
    )
}

/// Marks a response sent before the request body was read to its end.
#[derive(Clone, Copy, Debug)]
struct BodyUnread;

fn unread<B>(mut res: Response<B>) -> Response<B> {
    res.extensions_mut().insert(BodyUnread);
    res
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B, ResB> Service<Request<B>> for GrpcWebService<S>
where
    S: Service<Request<RequestBody<B>>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResB>>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is awaited per call on a clone, so that an inner error can still be
        // answered with a status.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        let config = self.config.clone();
        Box::pin(async move {
            let http1 = req.version() < Version::HTTP_2;
            let mut res = handle(inner, &config, req).await;
            if res.extensions_mut().remove::<BodyUnread>().is_some() && http1 {
                // The rest of the request is still on the wire: the connection cannot
                // carry another request, so say so rather than let the client reuse it.
                res.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(res)
        })
    }
}

async fn handle<S, B, ResB>(
    inner: S,
    config: &WebConfig,
    req: Request<B>,
) -> Response<ResponseBody<ResB>>
where
    S: Service<Request<RequestBody<B>>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
    ResB: Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    let kind = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestKind::parse);
    match kind {
        Some(RequestKind::GrpcWeb(ct)) if req.method() == Method::POST => {
            web_call(inner, config, req, ct).await
        }
        Some(RequestKind::Grpc(_)) if req.method() == Method::POST => {
            native_call(inner, config, req).await
        }
        _ if config.pass_through_other => {
            let req = req.map(RequestBody::passthrough);
            match inner.oneshot(req).await {
                Ok(res) => res.map(|b| ResponseBody::passthrough(b, config.shutdown.as_ref())),
                Err(e) => {
                    let status = respond::call_error_status(&e.into());
                    respond::refuse(StatusCode::BAD_GATEWAY, None, &status)
                }
            }
        }
        Some(_) => {
            let res = method_not_allowed(req.method());
            settle(req.version(), req.into_body(), DRAIN_LIMIT, res).await
        }
        None if req.method() != Method::POST => {
            let res = method_not_allowed(req.method());
            settle(req.version(), req.into_body(), DRAIN_LIMIT, res).await
        }
        None => {
            let got = req
                .headers()
                .get(CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let message = match got {
                Some(ct) => format!("unsupported content-type {ct:?}: expected application/grpc-web, application/grpc-web-text or application/grpc"),
                None => "missing content-type: expected application/grpc-web, application/grpc-web-text or application/grpc".to_owned(),
            };
            let res = respond::refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                &Status::new(Code::Internal, message),
            );
            settle(req.version(), req.into_body(), DRAIN_LIMIT, res).await
        }
    }
}

/// Most a refused request's body is read (and dropped) so that its HTTP/1.1 connection
/// stays usable; a larger or slower one gets `connection: close` instead.
const DRAIN_LIMIT: usize = 64 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(1);

/// Finishes reading a refused HTTP/1.1 request before it is answered: a client still
/// writing its body to a connection the proxy has closed sees a broken pipe instead of the
/// answer. HTTP/2 needs none of this (the stream is simply reset).
async fn settle<B, R>(version: Version, mut body: B, limit: usize, res: Response<R>) -> Response<R>
where
    B: Body<Data = Bytes> + Unpin,
{
    if version >= Version::HTTP_2 {
        return res;
    }
    let drained = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            read += frame.data_ref().map_or(0, Bytes::len);
            if read > limit {
                return false;
            }
        }
        true
    })
    .await
    .unwrap_or(false);
    if drained { res } else { unread(res) }
}

async fn native_call<S, B, ResB>(
    inner: S,
    config: &WebConfig,
    req: Request<B>,
) -> Response<ResponseBody<ResB>>
where
    S: Service<Request<RequestBody<B>>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    ResB: Body<Data = Bytes>,
{
    match inner.oneshot(req.map(RequestBody::passthrough)).await {
        Ok(res) => res.map(|b| ResponseBody::passthrough(b, config.shutdown.as_ref())),
        Err(e) => respond::grpc_status(&respond::call_error_status(&e.into())),
    }
}

async fn web_call<S, B, ResB>(
    inner: S,
    config: &WebConfig,
    req: Request<B>,
    ct: ContentType,
) -> Response<ResponseBody<ResB>>
where
    S: Service<Request<RequestBody<B>>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
    ResB: Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    let start = Instant::now();
    let (mut parts, body) = req.into_parts();
    // The reply is text when the request was, or when `Accept` asks for text (S1).
    let reply = response_content_type(&ct, &parts.headers);

    let mut timeout = match parts.headers.get(GRPC_TIMEOUT) {
        None => None,
        Some(v) => match v
            .to_str()
            .map_err(|_| timeout::TimeoutError::BadDigits)
            .and_then(timeout::parse)
        {
            Ok(d) => Some(d),
            Err(e) => {
                let status = Status::new(
                    Code::Internal,
                    format!("{e}: {:?}", String::from_utf8_lossy(v.as_bytes())),
                );
                return unread(respond::refuse(
                    StatusCode::BAD_REQUEST,
                    Some(&reply),
                    &status,
                ));
            }
        },
    };
    let route_cap = config
        .route_timeouts
        .as_ref()
        .and_then(|t| (t.0)(parts.uri.path()));
    let cap = match (config.max_timeout, route_cap) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(cap) = cap
        && timeout.is_none_or(|t| t > cap)
    {
        timeout = Some(cap);
        if let Ok(v) = HeaderValue::from_str(&timeout::format(cap)) {
            parts.headers.insert(GRPC_TIMEOUT, v);
        }
    }
    let deadline = timeout.map(|t| start + t);

    let version = parts.version;
    let counts = parts.extensions.get::<MessageCounts>().cloned();
    let mut body = WebRequestBody::new(body, ct.mode, config.max_message_size);
    body.count_into(counts.clone());
    // A gRPC-Web call (unary or server streaming) sends exactly one message, so the body
    // is read whole and checked before the backend sees it. (Reading it whole also keeps
    // HTTP/1.1 connections reusable: an answer sent before the client's last bytes, such
    // as the end of a chunked body, would leave the connection unusable.) With request
    // streaming allowed, any number of messages may come, and the call is forwarded once
    // the first is in.
    let to_end = (!config.allow_request_streaming)
        .then(|| config.max_message_size.saturating_add(64 * 1024));
    let prefetch = body.prefetch(to_end);
    // A client that stops sending mid-request must not hold the call open forever.
    let body_deadline = start + config.body_read_timeout;
    let prefetch_deadline = deadline.map_or(body_deadline, |d| d.min(body_deadline));
    match tokio::time::timeout_at(prefetch_deadline, prefetch).await {
        Err(_) if deadline.is_some_and(|d| d <= body_deadline) => {
            return unread(respond::web_status(&reply, &deadline_status()));
        }
        Err(_) => {
            let status = Status::new(
                Code::DeadlineExceeded,
                format!(
                    "request body not received within {:?}",
                    config.body_read_timeout
                ),
            );
            return unread(respond::refuse(
                StatusCode::REQUEST_TIMEOUT,
                Some(&reply),
                &status,
            ));
        }
        Ok(Err(e)) => {
            // A message over the limit is refused from its header; the rest of it is still
            // coming, so read (and drop) up to a message's worth before answering.
            let res = respond::request_error(&reply, &e);
            let limit = config.max_message_size.saturating_add(DRAIN_LIMIT);
            return settle(version, body.into_inner(), limit, res).await;
        }
        Ok(Ok(())) => {}
    }
    if !config.allow_request_streaming {
        match body.frames_read() {
            (_, trailers) if trailers > 0 => {
                let status = Status::new(
                    Code::Internal,
                    "malformed gRPC-Web request: a request carries no trailer frame",
                );
                return respond::refuse(StatusCode::BAD_REQUEST, Some(&reply), &status);
            }
            (1, _) => {}
            (n, _) => {
                let status = Status::new(
                    Code::Unimplemented,
                    format!("a gRPC-Web call sends exactly one request message, this one sent {n}"),
                );
                return respond::web_status(&reply, &status);
            }
        }
    }

    let failure = body.failure();
    rewrite_request_headers(&mut parts.headers, &ct);
    let req = Request::from_parts(parts, RequestBody::web(body));
    let call = inner.oneshot(req);
    let result = match deadline {
        Some(d) => match tokio::time::timeout_at(d, call).await {
            Ok(r) => r,
            Err(_) => return respond::web_status(&reply, &deadline_status()),
        },
        None => call.await,
    };
    match result {
        Ok(res) => {
            let options = StreamOptions {
                deadline,
                failure: Some(failure),
                shutdown: config.shutdown.as_ref(),
                max_message: config.max_response_message_size,
                counts,
            };
            translate_response(res, &reply, options)
        }
        Err(e) => {
            let status = match failure.get() {
                Some(status) => status.clone(),
                None => respond::call_error_status(&e.into()),
            };
            respond::web_status(&reply, &status)
        }
    }
}

fn response_content_type(ct: &ContentType, headers: &HeaderMap) -> ContentType {
    let wants_text = headers.get_all(header::ACCEPT).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',').any(|item| {
                matches!(
                    ContentType::parse(item),
                    Some(ContentType {
                        mode: Mode::Text,
                        ..
                    })
                )
            })
        })
    });
    if wants_text {
        ContentType {
            mode: Mode::Text,
            codec: ct.codec.clone(),
        }
    } else {
        ct.clone()
    }
}

fn deadline_status() -> Status {
    Status::new(Code::DeadlineExceeded, "deadline exceeded")
}

/// Headers that describe one connection, never forwarded (R2).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "host"
    )
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in `connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    let hop: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_hop_by_hop(n))
        .cloned()
        .collect();
    for name in hop {
        headers.remove(name);
    }
}

fn rewrite_request_headers(headers: &mut HeaderMap, ct: &ContentType) {
    remove_hop_by_hop(headers);
    headers.remove(CONTENT_LENGTH);
    let upstream = HeaderValue::from_str(&ct.upstream_header())
        .unwrap_or_else(|_| HeaderValue::from_static("application/grpc"));
    headers.insert(CONTENT_TYPE, upstream);
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
    if !headers.contains_key(GRPC_ACCEPT_ENCODING) {
        headers.insert(GRPC_ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    }
}

fn is_grpc_content_type(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.len() >= 16 && v[..16].eq_ignore_ascii_case(b"application/grpc")
    })
}

fn translate_response<B>(
    res: Response<B>,
    ct: &ContentType,
    options: StreamOptions<'_>,
) -> Response<ResponseBody<B>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = res.into_parts();
    let content_type = respond::content_type_value(ct);

    if parts.headers.contains_key(GRPC_STATUS) {
        // Trailers-only (S5): every header is metadata of the status, so all of it goes
        // into the trailer frame, where the client can read it even if CORS hides headers.
        let mut trailers = std::mem::take(&mut parts.headers);
        remove_hop_by_hop(&mut trailers);
        for name in [CONTENT_TYPE, CONTENT_LENGTH, header::DATE] {
            trailers.remove(name);
        }
        let code = trailers.get(GRPC_STATUS).map_or(Code::Unknown, |v| {
            Code::parse(v.as_bytes()).unwrap_or(Code::Unknown)
        });
        let frame = super::response::trailer_frame(ct.mode, &trailers);
        let mut res = Response::new(ResponseBody::status_frame(frame, code));
        res.headers_mut().insert(CONTENT_TYPE, content_type);
        return res;
    }

    if parts.status != StatusCode::OK || !is_grpc_content_type(&parts.headers) {
        // Not a gRPC answer (S6): synthesize a status from the HTTP status and the body.
        let code = if parts.status == StatusCode::OK {
            Code::Unknown
        } else {
            Code::from_http_status(parts.status.as_u16())
        };
        let got = parts.headers.get(CONTENT_TYPE).map_or_else(
            || "no content-type".to_owned(),
            |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
        let status = Status::new(
            code,
            format!("backend answered HTTP {} ({got}), not gRPC", parts.status),
        );
        let mut res = Response::new(ResponseBody::web(WebResponseBody::synthesized(
            body, ct.mode, status,
        )));
        res.headers_mut().insert(CONTENT_TYPE, content_type);
        return res;
    }

    remove_hop_by_hop(&mut parts.headers);
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(CONTENT_TYPE, content_type);
    Response::from_parts(
        parts,
        ResponseBody::web(WebResponseBody::streaming(body, ct.mode, options)),
    )
}

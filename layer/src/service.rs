use bytes::Bytes;
use futures_util::FutureExt as _;
use grpcweb_protocol::content_type::RequestKind;
use grpcweb_protocol::framing::FrameError;
use grpcweb_protocol::{ContentType, Mode};
use http::header::{self, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Version};
use http_body::Body;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::time::Instant;
use tower::ServiceExt;
use tower_service::Service;

use crate::config::WebConfig;
use crate::counts::MessageCounts;
use crate::deadline::{RouteLimits, after, call_deadline};
use crate::error::BoxError;
use crate::failure::{Failure, Stage};
use crate::native::native_call;
use crate::refuse::{BodyEnd, BodyUnread, DRAIN_LIMIT, settle, unread};
use crate::request::{BodyFailure, BodyLimits, RequestBody, RequestError, WebRequestBody};
use crate::respond;
use crate::response::{ResponseBody, StreamOptions};
use crate::translate::{rewrite_request_headers, translate_response};

/// The service made by [`GrpcWebLayer`](super::GrpcWebLayer).
///
/// Its error type is [`Infallible`]: every failure, the inner service's included, becomes
/// a gRPC status the client can read (see the [`failure`](crate::failure) table).
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
        let kind = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(RequestKind::parse);
        let http1 = req.version() < Version::HTTP_2;
        // Each kind of call gets a future of its own, so that the one a stream keeps
        // until its headers come is no bigger than that kind needs.
        match kind {
            Some(RequestKind::GrpcWeb(ct)) if req.method() == Method::POST => Box::pin(
                web_call(inner, config, req, ct).map(move |res| Ok(close_if_unread(res, http1))),
            ),
            Some(RequestKind::Grpc(_)) if req.method() == Method::POST => {
                Box::pin(async move { Ok(native_call(inner, &config, req).await) })
            }
            _ => Box::pin(
                handle(inner, config, req, kind).map(move |res| Ok(close_if_unread(res, http1))),
            ),
        }
    }
}

/// `res`, with `connection: close` when it was sent before the request was read to its
/// end on HTTP/1.1.
fn close_if_unread<B>(mut res: Response<B>, http1: bool) -> Response<B> {
    if res.extensions_mut().remove::<BodyUnread>().is_some() && http1 {
        // The rest of the request is still on the wire: the connection cannot carry
        // another request, so say so rather than let the client reuse it.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Everything but gRPC and gRPC-Web POSTs: passed through when configured, refused
/// otherwise.
async fn handle<S, B, ResB>(
    inner: S,
    config: Arc<WebConfig>,
    req: Request<B>,
    kind: Option<RequestKind>,
) -> Response<ResponseBody<ResB>>
where
    S: Service<Request<RequestBody<B>>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
    ResB: Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    match kind {
        _ if config.pass_through_other => {
            let req = req.map(RequestBody::passthrough);
            match inner.oneshot(req).await {
                Ok(res) => res.map(|b| ResponseBody::passthrough(b, config.shutdown.as_ref())),
                Err(e) => {
                    let e: BoxError = e.into();
                    let failure = Failure::of_inner(&*e, Stage::Call, None);
                    respond::plain_failure(&Failure::PassThrough(Box::new(failure)))
                }
            }
        }
        Some(_) => {
            let res = respond::plain_failure(&Failure::MethodNotAllowed(req.method()));
            settle(req.version(), req.into_body(), DRAIN_LIMIT, res).await
        }
        None if req.method() != Method::POST => {
            let res = respond::plain_failure(&Failure::MethodNotAllowed(req.method()));
            settle(req.version(), req.into_body(), DRAIN_LIMIT, res).await
        }
        None => {
            let failure = Failure::UnsupportedContentType(req.headers().get(CONTENT_TYPE));
            let res = respond::plain_failure(&failure);
            settle(req.version(), req.into_body(), DRAIN_LIMIT, res).await
        }
    }
}

/// A gRPC-Web request, read and checked, ready to forward.
struct Prepared<B> {
    req: Request<RequestBody<B>>,
    reply: ContentType,
    deadline: Option<Instant>,
    failure: BodyFailure,
    counts: Option<MessageCounts>,
    /// A streamed request over HTTP/1.1: whether its body has ended.
    end: Option<BodyEnd>,
}

async fn web_call<S, B, ResB>(
    inner: S,
    config: Arc<WebConfig>,
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
    // Reading and checking the request runs in a future of its own, on the heap only
    // while it runs: what a stream holds while it waits for the backend's headers is
    // just the forwarding below.
    let Prepared {
        req,
        reply,
        deadline,
        failure,
        counts,
        end,
    } = match Box::pin(prepare(&config, req, ct)).await {
        Ok(prepared) => prepared,
        Err(res) => return res,
    };
    let call = inner.oneshot(req);
    let result = match deadline {
        Some(d) => tokio::time::timeout_at(d, call).await.ok(),
        None => Some(call.await),
    };
    let res = match result {
        None => respond::web_failure(&reply, &Failure::DeadlineExceeded),
        Some(Ok(res)) => {
            let options = StreamOptions {
                deadline,
                failure: Some(failure),
                shutdown: config.shutdown.as_ref(),
                max_message: config.max_response_message_size,
                counts,
            };
            translate_response(res, &reply, options)
        }
        Some(Err(e)) => match failure.get() {
            Some(status) => respond::web_status(&reply, status),
            None => {
                let e: BoxError = e.into();
                respond::web_failure(&reply, &Failure::of_inner(&*e, Stage::Call, deadline))
            }
        },
    };
    // A streamed HTTP/1.1 request answered before its body ended (an inner service that
    // answers without reading it, such as tonic for an unknown method, or a bidi call
    // that answers as it reads): the server will not read the rest, so the connection
    // closes after this answer, which says so (K7). Unary calls are read to their end
    // before they are answered and keep their connection.
    match end {
        Some(end) => end.mark(res),
        None => res,
    }
}

/// Reads and checks a gRPC-Web request (its `grpc-timeout`, and its body: whole, or its
/// first message when request streaming is allowed); the answer when it is refused.
async fn prepare<B, ResB>(
    config: &WebConfig,
    req: Request<B>,
    ct: ContentType,
) -> Result<Prepared<B>, Response<ResponseBody<ResB>>>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let start = Instant::now();
    let (mut parts, body) = req.into_parts();
    // The reply is text when the request was, or when `Accept` asks for text (S1).
    let reply = response_content_type(&ct, &parts.headers);

    let limits = parts.extensions.get::<RouteLimits>();
    // The route's word on request streaming, else the layer's.
    let streaming = limits
        .and_then(|l| l.allow_request_streaming)
        .unwrap_or(config.allow_request_streaming);
    let deadline = match call_deadline(config.max_timeout, limits, &mut parts.headers, start) {
        Ok(deadline) => deadline,
        Err((e, value)) => {
            let failure = Failure::BadTimeout(e, value);
            return Err(unread(respond::web_failure(&reply, &failure)));
        }
    };

    let version = parts.version;
    let counts = parts.extensions.get::<MessageCounts>().cloned();
    // Once the call is forwarded, a streamed body keeps the backend stream open while
    // its client is silent: each later message must come whole within the body read
    // timeout, and the next one start within the request idle timeout.
    let limits = BodyLimits {
        max_message_size: config.max_message_size,
        single: !streaming,
        budget: config.request_budget.clone(),
        message_timeout: streaming.then_some(config.body_read_timeout),
        idle_timeout: streaming.then_some(config.request_idle_timeout),
    };
    let mut body = WebRequestBody::new(body, ct.mode, limits);
    body.count_into(counts.clone());
    // A gRPC-Web call (unary or server streaming) sends exactly one message, so the body
    // is read whole and checked before the backend sees it (a second message is refused
    // by its header, before anything more is buffered). (Reading it whole also keeps
    // HTTP/1.1 connections reusable: an answer sent before the client's last bytes, such
    // as the end of a chunked body, would leave the connection unusable.) With request
    // streaming allowed, any number of messages may come, and the call is forwarded once
    // the first is in.
    let to_end = (!streaming).then(|| config.max_message_size.saturating_add(64 * 1024));
    let prefetch = body.prefetch(to_end);
    // A client that stops sending mid-request must not hold the call open forever.
    let body_deadline = after(start, config.body_read_timeout);
    let prefetch_deadline = deadline.map_or(body_deadline, |d| d.min(body_deadline));
    match tokio::time::timeout_at(prefetch_deadline, prefetch).await {
        Err(_) if deadline.is_some_and(|d| d <= body_deadline) => {
            return Err(unread(respond::web_failure(
                &reply,
                &Failure::DeadlineExceeded,
            )));
        }
        Err(_) => {
            let failure = Failure::BodyTimeout(config.body_read_timeout);
            return Err(unread(respond::web_failure(&reply, &failure)));
        }
        Ok(Err(e)) => {
            // A message over the limit is refused from its header; the rest of it is still
            // coming, so read (and drop) up to a message's worth before answering. Other
            // refusals read (and drop) a little; more, and the connection is closed.
            let res = respond::web_failure(&reply, &Failure::Request(&e));
            let limit = match e {
                RequestError::Frame(FrameError::TooLarge { .. }) => {
                    config.max_message_size.saturating_add(DRAIN_LIMIT)
                }
                _ => DRAIN_LIMIT,
            };
            return Err(settle(version, body.into_inner(), limit, res).await);
        }
        Ok(Ok(())) => {}
    }
    if !streaming && body.messages_read() != 1 {
        // None: a second one was refused as it came.
        return Err(respond::web_failure(&reply, &Failure::NoRequestMessage));
    }

    let failure = body.failure();
    let end = (streaming && version < Version::HTTP_2).then(|| body.watch_end());
    rewrite_request_headers(&mut parts.headers, &ct);
    Ok(Prepared {
        req: Request::from_parts(parts, RequestBody::web(body)),
        reply,
        deadline,
        failure,
        counts,
        end,
    })
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

//! gRPC calls with JSON messages (`application/grpc+json`, which the gRPC-Web layer
//! makes of `application/grpc-web+json` and `application/grpc-web-text+json`): each
//! request message is transcoded to protobuf before it goes to the backend
//! (`application/grpc+proto`), each response message back to JSON, one by one as they
//! come, with the descriptors of the backend the call is routed to.
//!
//! Backends with no descriptors at all get JSON calls untouched, as
//! `application/grpc+json`: they may speak JSON themselves. A backend with
//! `descriptors = "reflection"` always has descriptors: a call naming a method they lack
//! waits for a refetch (rate-limited, see [`crate::descriptors`]) and then gets
//! UNIMPLEMENTED if the method is still unknown.
//!
//! Sits between the gRPC-Web layer and the [`Router`](crate::router::Router), so the
//! layer's framing, text mode, limits and deadlines apply to JSON calls as they are; the
//! failures of transcoding are `grpcweb_transcode::failure`'s rows.

mod body;
mod encoding;
mod request;
mod response;

use bytes::Bytes;
use futures_util::TryFutureExt as _;
use futures_util::future::{Either, MapOk};
use grpcweb_layer::BoxError;
use grpcweb_protocol::Status;
use grpcweb_protocol::content_type::{Codec, RequestKind};
use grpcweb_transcode::{JsonOptions, MethodCodec, TranscodeError};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

use crate::descriptors::DescriptorState;
use crate::router::{Route, RouteError};
pub(crate) use body::{BoxedBody, CallBody, ResBody};
use encoding::RequestEncoding;
use request::JsonRequestBody;
use response::JsonResponseBody;

/// The content type of JSON calls toward the proxy's inner services, and back.
const GRPC_JSON: &str = "application/grpc+json";
/// The content type toward the backend.
const GRPC_PROTO: &str = "application/grpc+proto";

/// How JSON calls are transcoded.
#[derive(Clone, Debug)]
pub(crate) struct JsonSettings {
    /// The descriptors of each backend, by its index in the configuration.
    pub(crate) descriptors: Arc<DescriptorState>,
    pub(crate) options: JsonOptions,
    /// The limit of a request message, in protobuf (the layer holds the JSON to it).
    pub(crate) max_message_size: usize,
    /// The limit of a backend's response message, in protobuf (each is buffered whole).
    pub(crate) max_response_message_size: usize,
}

/// Transcodes JSON calls on their way to `inner`; other calls pass as they are.
#[derive(Clone, Debug)]
pub(crate) struct JsonCalls<S> {
    inner: S,
    settings: Arc<JsonSettings>,
    /// Whether any backend has descriptors: without, every call passes untouched and
    /// its content type is not even read.
    any_descriptors: bool,
}

impl<S> JsonCalls<S> {
    pub(crate) fn new(inner: S, settings: JsonSettings) -> Self {
        let any_descriptors = settings.descriptors.any_descriptors();
        Self {
            inner,
            settings: Arc::new(settings),
            any_descriptors,
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A call's future: the inner one mapped (calls passed on), or a boxed one (JSON calls).
pub(crate) type JsonFuture<F, R, E> = Either<
    MapOk<F, fn(Response<R>) -> Response<ResBody<R>>>,
    BoxFuture<Result<Response<ResBody<R>>, E>>,
>;

impl<S, B, R> Service<Request<B>> for JsonCalls<S>
where
    S: Service<Request<CallBody<B>>, Response = Response<R>> + Clone + Send + 'static,
    S::Error: Send,
    S::Future: Send,
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
    R: Body<Data = Bytes> + Unpin + Send + 'static,
    R::Error: Into<BoxError>,
{
    type Response = Response<ResBody<R>>;
    type Error = S::Error;
    /// Other calls' futures are the inner ones, mapped: no allocation of their own.
    type Future = JsonFuture<S::Future, R, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !self.any_descriptors || !is_grpc_json(req.headers()) {
            return self.plain(req);
        }
        let backend = match req.extensions().get::<Result<Route, RouteError>>() {
            Some(Ok(route)) => Some(route.backend()),
            // The router answers calls that have no route.
            Some(Err(_)) => None,
            None => Some(0),
        };
        let Some(backend) = backend else {
            return self.plain(req);
        };
        // A backend without descriptors gets JSON calls as they are: it may speak JSON
        // itself (as before transcoding existed).
        let reflected = self.settings.descriptors.is_reflected(backend);
        let snapshot = self.settings.descriptors.load();
        let descriptors = snapshot.descriptors.get(backend);
        if !reflected && descriptors.is_none_or(|d| d.is_empty()) {
            return self.plain(req);
        }
        let path = req.uri().path();
        let method = descriptors.and_then(|d| d.method(path)).cloned();
        drop(snapshot);
        if method.is_none() && !reflected {
            return Either::Right(Box::pin(std::future::ready(Ok(no_descriptor(path)))));
        }
        let settings = self.settings.clone();
        let encoding = RequestEncoding::from_headers(req.headers());
        // The clone is ready (it was polled); this one waits for the next call.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Either::Right(Box::pin(async move {
            let method = match method {
                Some(method) => method,
                // A reflection backend: its descriptors may be older than its deploy.
                None => {
                    let path = req.uri().path();
                    settings.descriptors.refetch(backend).await;
                    let snapshot = settings.descriptors.load();
                    match snapshot
                        .descriptors
                        .get(backend)
                        .and_then(|d| d.method(path))
                    {
                        Some(method) => method.clone(),
                        None => return Ok(no_descriptor(path)),
                    }
                }
            };
            let codec = Arc::new(MethodCodec::new(method, settings.options));
            let (mut parts, body) = req.into_parts();
            let mut body =
                JsonRequestBody::new(body, codec.clone(), encoding, settings.max_message_size);
            if let Err(status) = body.read_first().await {
                return Ok(status_only(&status));
            }
            let failure = body.failure();
            parts.headers.remove(CONTENT_LENGTH);
            parts
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static(GRPC_PROTO));
            // The proxy reads every message: uncompressed both ways, whatever the client
            // accepts (its gzipped request messages are decompressed on the way).
            parts.headers.remove("grpc-encoding");
            parts
                .headers
                .insert("grpc-accept-encoding", HeaderValue::from_static("identity"));
            let req = Request::from_parts(parts, CallBody::Json(body));
            match inner.call(req).await {
                Ok(res) => {
                    let (mut parts, body) = res.into_parts();
                    let grpc = parts
                        .headers
                        .get(CONTENT_TYPE)
                        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
                    // Not gRPC: the layer answers from the HTTP status.
                    if !grpc {
                        return Ok(Response::from_parts(parts, ResBody::Plain(body)));
                    }
                    parts
                        .headers
                        .insert(CONTENT_TYPE, HeaderValue::from_static(GRPC_JSON));
                    if parts.headers.contains_key("grpc-status") {
                        // Trailers-only: no message.
                        return Ok(Response::from_parts(parts, ResBody::Plain(body)));
                    }
                    let body = JsonResponseBody::new(
                        body,
                        codec,
                        settings.max_response_message_size,
                        failure,
                    );
                    Ok(Response::from_parts(parts, ResBody::Json(body)))
                }
                Err(e) => match failure.get() {
                    Some(status) => Ok(status_only(status)),
                    None => Err(e),
                },
            }
        }))
    }
}

impl<S> JsonCalls<S> {
    /// A call that is not transcoded: passed on, its body as it is.
    fn plain<B, R>(&mut self, req: Request<B>) -> JsonFuture<S::Future, R, S::Error>
    where
        S: Service<Request<CallBody<B>>, Response = Response<R>>,
    {
        let wrap: fn(Response<R>) -> Response<ResBody<R>> = |res| res.map(ResBody::Plain);
        Either::Left(self.inner.call(req.map(CallBody::Plain)).map_ok(wrap))
    }
}

/// Whether a request is a native gRPC call with JSON messages.
fn is_grpc_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestKind::parse)
        == Some(RequestKind::Grpc(Codec::Json))
}

/// The answer to a call whose method the descriptors lack.
fn no_descriptor<R>(path: &str) -> Response<ResBody<R>> {
    let e = TranscodeError::NoDescriptor {
        path: path.to_owned(),
    };
    status_only(&e.status())
}

/// A trailers-only answer with `status`.
fn status_only<R>(status: &Status) -> Response<ResBody<R>> {
    let mut res = Response::new(ResBody::Empty);
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(GRPC_JSON));
    status.write_to(res.headers_mut());
    res
}

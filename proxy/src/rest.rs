//! REST calls: HTTP requests that match a `google.api.http` binding of the descriptors
//! become native gRPC calls with a protobuf request message (made of the path, the query
//! and the JSON body as the binding says); the answer becomes JSON, or an HTTP status
//! with the JSON form of `google.rpc.Status`.
//!
//! Sits inside CORS and outside the route match, so the calls it makes are routed,
//! limited and forwarded like any native gRPC call. gRPC and gRPC-Web requests pass
//! untouched; when the descriptors have bindings, other requests that match none get 404.
//! With reflection backends, such a request first waits for their descriptors to be
//! fetched again (rate-limited, see [`crate::descriptors`]).

mod body;
mod call;
mod metadata;
mod stream;

use bytes::Bytes;
use futures_util::future::Either;
use grpcweb_layer::{BoxError, ResponseBody};
use grpcweb_protocol::Code;
use grpcweb_transcode::{JsonOptions, status_body};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::ServiceExt as _;
use tower_service::Service;

pub(crate) use body::RestBody;

use crate::descriptors::DescriptorState;

/// How REST calls are made.
#[derive(Debug)]
pub(crate) struct RestSettings {
    /// The descriptors and their REST routes.
    pub(crate) descriptors: Arc<DescriptorState>,
    pub(crate) options: JsonOptions,
    /// The limit of the HTTP request body (JSON) and of the request message (protobuf).
    pub(crate) max_message_size: usize,
    /// The limit of a response message (protobuf, buffered whole).
    pub(crate) max_response_message_size: usize,
    /// Time allowed for the HTTP request body.
    pub(crate) body_read_timeout: Duration,
    /// The request headers sent to the backend as metadata.
    pub(crate) headers: Vec<http::HeaderName>,
    /// How server-streaming calls answer.
    pub(crate) stream: crate::config::RestStreamFormat,
    /// The gRPC-Web layer's budget of buffered request bytes, which REST bodies share.
    pub(crate) budget: Option<Arc<grpcweb_layer::RequestBudget>>,
}

/// Makes REST calls of the requests that match a binding; passes gRPC ones on.
#[derive(Clone, Debug)]
pub(crate) struct RestCalls<S> {
    inner: S,
    settings: Arc<RestSettings>,
}

impl<S> RestCalls<S> {
    pub(crate) fn new(inner: S, settings: RestSettings) -> Self {
        Self {
            inner,
            settings: Arc::new(settings),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B, R> Service<Request<B>> for RestCalls<S>
where
    S: Service<Request<RestBody<B>>, Response = Response<ResponseBody<R>>> + Clone + Send + 'static,
    S::Error: Send,
    S::Future: Send,
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
    R: Body<Data = Bytes> + From<crate::json::BoxedBody> + Send + 'static,
    R::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<R>>;
    type Error = S::Error;
    /// gRPC calls' futures are the inner ones: no allocation of their own.
    type Future = Either<S::Future, BoxFuture<Result<Response<ResponseBody<R>>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if is_grpc(req.headers())
            || (!self.settings.descriptors.any_reflected()
                && self.settings.descriptors.load().routes.is_empty())
        {
            let call = self.inner.call(req.map(RestBody::Client));
            return Either::Left(call);
        }
        let settings = self.settings.clone();
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        Either::Right(Box::pin(async move {
            let state = &settings.descriptors;
            if state.any_reflected() {
                let known = state
                    .load()
                    .routes
                    .find(req.method(), req.uri().path())
                    .is_some();
                if !known {
                    state.refetch_all().await;
                }
                // Still no binding at all: passed on, as without descriptors.
                if state.load().routes.is_empty() {
                    return inner.oneshot(req.map(RestBody::Client)).await;
                }
            }
            Ok(call::rest_call(inner, &settings, req).await)
        }))
    }
}

/// Whether a request is gRPC or gRPC-Web (by its content type), never a REST call.
fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.len() >= 16 && v[..16].eq_ignore_ascii_case(b"application/grpc")
    })
}

/// A REST error answer: the HTTP status of `code`, and the JSON form of
/// `google.rpc.Status`.
fn error_response<R>(
    pool: Option<&grpcweb_transcode::DescriptorPool>,
    code: Code,
    message: &str,
    details: Option<&[u8]>,
) -> Response<ResponseBody<R>> {
    let body = status_body(pool, code.as_i32(), message, details);
    let mut res = Response::new(ResponseBody::full(Bytes::from(body)));
    *res.status_mut() = grpcweb_transcode::failure::http_status(code);
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.extensions_mut()
        .insert(crate::metrics::CallStatus(code));
    res
}

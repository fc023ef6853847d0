//! The interop metadata echo, as a tower middleware around any gRPC service.
//!
//! `x-grpc-test-echo-initial` request values come back as response headers and
//! `x-grpc-test-echo-trailing-bin` values as trailers. tonic lets a handler set headers but
//! not trailers of a unary response (and of a streaming one only by ending it with an error
//! status), so the echo is applied to the HTTP response, uniformly for every method:
//!
//! * ordinary response: the trailing values are added to the HEADERS frame that ends the
//!   body, next to `grpc-status`;
//! * trailers-only response (`grpc-status` already in the headers, as tonic sends for a
//!   call that fails before any message): there is no separate trailers frame, so the
//!   trailing values go into the headers, which in gRPC are the trailers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{GetAll, HeaderName};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body as HttpBody;
use pin_project_lite::pin_project;
use tonic::body::Body;
use tonic::server::NamedService;
use tower_layer::Layer;
use tower_service::Service;

/// Request header whose values come back as response headers.
pub const ECHO_INITIAL: HeaderName = HeaderName::from_static("x-grpc-test-echo-initial");
/// Request header whose values come back as trailers.
pub const ECHO_TRAILING_BIN: HeaderName = HeaderName::from_static("x-grpc-test-echo-trailing-bin");

/// Wraps a service in [`EchoMetadata`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EchoMetadataLayer;

impl EchoMetadataLayer {
    /// Creates the layer.
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for EchoMetadataLayer {
    type Service = EchoMetadata<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EchoMetadata { inner }
    }
}

/// Echoes the interop test metadata of each request into its response.
///
/// * Every [`ECHO_INITIAL`] request value is appended to the response headers.
/// * Every [`ECHO_TRAILING_BIN`] request value is appended to the trailers: to the HEADERS
///   frame that ends the body, next to `grpc-status`; or, when the response is
///   trailers-only (`grpc-status` already in the headers, as tonic answers a call that
///   fails before any message), to the headers, which then are the trailers.
///
/// Values are copied as they arrived, so `-bin` values keep the client's base64 form.
///
/// It keeps the inner service's [`NamedService`] name, so it can be passed straight to
/// tonic's `Server::add_service`.
#[derive(Clone, Debug)]
pub struct EchoMetadata<S> {
    inner: S,
}

impl<S> EchoMetadata<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: NamedService> NamedService for EchoMetadata<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EchoMetadata<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<tonic::codegen::StdError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let echo = Echo {
            initial: collect(request.headers().get_all(ECHO_INITIAL)),
            trailing: collect(request.headers().get_all(ECHO_TRAILING_BIN)),
        };
        ResponseFuture {
            inner: self.inner.call(request),
            echo: Some(echo),
        }
    }
}

pin_project! {
    /// Response future of [`EchoMetadata`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        echo: Option<Echo>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<tonic::codegen::StdError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let echo = this.echo.take().unwrap_or_default();
        Poll::Ready(Ok(echo.apply(response)))
    }
}

/// The values one request asked to have echoed.
#[derive(Debug, Default)]
struct Echo {
    initial: Vec<HeaderValue>,
    trailing: Vec<HeaderValue>,
}

impl Echo {
    fn apply<B>(self, response: Response<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<tonic::codegen::StdError>,
    {
        let (mut parts, body) = response.into_parts();
        extend(&mut parts.headers, &ECHO_INITIAL, self.initial);
        let mut trailing = HeaderMap::new();
        extend(&mut trailing, &ECHO_TRAILING_BIN, self.trailing);
        crate::trailers::add_trailers(Response::from_parts(parts, body), trailing)
    }
}

fn collect(values: GetAll<'_, HeaderValue>) -> Vec<HeaderValue> {
    values.iter().cloned().collect()
}

fn extend(headers: &mut HeaderMap, name: &HeaderName, values: Vec<HeaderValue>) {
    for value in values {
        headers.append(name.clone(), value);
    }
}

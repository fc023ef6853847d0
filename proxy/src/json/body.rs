//! The bodies of calls through [`JsonCalls`](super::JsonCalls): JSON calls' transcoded
//! ones, other calls' as they are.

use bytes::Bytes;
use grpcweb_layer::BoxError;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::request::JsonRequestBody;
use super::response::JsonResponseBody;

/// A request body toward the backend.
#[derive(Debug)]
pub(crate) enum CallBody<B> {
    /// Not a JSON call: as the client sent it.
    Plain(B),
    /// A JSON call's messages, in protobuf.
    Json(JsonRequestBody<B>),
}

impl<B> Body for CallBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Plain(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            Self::Json(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Plain(b) => b.is_end_stream(),
            Self::Json(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Plain(b) => b.size_hint(),
            Self::Json(b) => b.size_hint(),
        }
    }
}

/// A response body toward the client.
#[derive(Debug)]
pub(crate) enum ResBody<R> {
    /// Not a JSON call, or a trailers-only answer: as the backend sent it.
    Plain(R),
    /// A JSON call's messages, in JSON.
    Json(JsonResponseBody<R>),
    /// A trailers-only answer of the proxy's.
    Empty,
    /// A body made above the stack (a REST call's stream of JSON lines).
    Boxed(BoxedBody),
}

/// A body made above the stack.
pub(crate) struct BoxedBody(pub(crate) Pin<Box<dyn Body<Data = Bytes, Error = BoxError> + Send>>);

impl std::fmt::Debug for BoxedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxedBody")
    }
}

impl<R> From<BoxedBody> for ResBody<R> {
    fn from(body: BoxedBody) -> Self {
        Self::Boxed(body)
    }
}

impl<R> Body for ResBody<R>
where
    R: Body<Data = Bytes> + Unpin,
    R::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Plain(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            Self::Json(b) => Pin::new(b).poll_frame(cx),
            Self::Empty => Poll::Ready(None),
            Self::Boxed(b) => b.0.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Plain(b) => b.is_end_stream(),
            Self::Json(b) => b.is_end_stream(),
            Self::Empty => true,
            Self::Boxed(b) => b.0.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Plain(b) => b.size_hint(),
            Self::Json(_) => SizeHint::default(),
            Self::Empty => SizeHint::with_exact(0),
            Self::Boxed(b) => b.0.size_hint(),
        }
    }
}

//! Adding trailers to a gRPC response from outside the handler.
//!
//! tonic lets a handler set response headers, but trailers only through an error status.
//! Test services need arbitrary trailers on successful calls too, so they are added to the
//! HTTP response afterwards.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::body::Body;

/// Adds `extra` to the trailers of a gRPC response.
///
/// * Ordinary response: appended to the HEADERS frame that ends the body, next to
///   `grpc-status`.
/// * Trailers-only response (`grpc-status` already in the headers, as tonic answers a call
///   that fails before any message): there is no separate trailers frame, so `extra` goes
///   into the headers, which in gRPC then are the trailers.
pub fn add_trailers<B>(response: Response<B>, extra: HeaderMap) -> Response<Body>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    let (mut parts, body) = response.into_parts();
    if extra.is_empty() {
        return Response::from_parts(parts, Body::new(body));
    }
    if parts.headers.contains_key("grpc-status") {
        append(&mut parts.headers, extra);
        return Response::from_parts(parts, Body::new(body));
    }
    let body = AddTrailers {
        inner: body,
        extra: Some(extra),
    };
    Response::from_parts(parts, Body::new(body))
}

fn append(headers: &mut HeaderMap, extra: HeaderMap) {
    let mut last = None;
    for (name, value) in extra {
        // `into_iter` names only the first value of each run of a repeated name.
        if let Some(name) = name {
            last = Some(name);
        }
        if let Some(name) = &last {
            headers.append(name.clone(), value);
        }
    }
}

pin_project! {
    /// A response body whose trailers get extra entries.
    struct AddTrailers<B> {
        #[pin]
        inner: B,
        extra: Option<HeaderMap>,
    }
}

impl<B: HttpBody> HttpBody for AddTrailers<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = match ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            other => return Poll::Ready(other),
        };
        match frame.into_trailers() {
            Ok(mut trailers) => {
                if let Some(extra) = this.extra.take() {
                    append(&mut trailers, extra);
                }
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            Err(frame) => Poll::Ready(Some(Ok(frame))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

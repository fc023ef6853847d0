//! Request side: decode text bodies, validate framing, and forward frames as soon as they
//! are whole.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

mod native;
mod waits;
mod web;

pub(crate) use crate::request_error::{BodyFailure, RequestError};
pub use native::NativeRequestBody;
pub(crate) use web::BodyLimits;
pub use web::WebRequestBody;

use crate::error::BoxError;

pin_project! {
    /// The request body the inner service receives.
    ///
    /// For native gRPC it is the client's body untouched. For gRPC-Web it yields the
    /// client's frames in binary form, each one as soon as it is complete and checked
    /// (flag known, length within the limit), header and payload in one chunk; payloads
    /// over 16 KiB as the header and then the payload in the pieces it came in, not
    /// copied (joined when they are many and small).
    #[project = RequestBodyProj]
    #[allow(missing_docs)]
    pub enum RequestBody<B> {
        /// Native gRPC or another request passed through.
        Passthrough {
            #[pin]
            inner: B,
        },
        /// A gRPC-Web request being translated. Boxed: the request travels by value
        /// through several futures and queues before its body is sent and dropped.
        Web {
            inner: Pin<Box<WebRequestBody<B>>>,
        },
        /// A native gRPC request, checked as it passes. Boxed, as `Web`.
        Native {
            inner: Pin<Box<NativeRequestBody<B>>>,
        },
    }
}

impl<B> fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Passthrough { .. } => f.write_str("RequestBody::Passthrough"),
            Self::Web { .. } => f.write_str("RequestBody::Web"),
            Self::Native { .. } => f.write_str("RequestBody::Native"),
        }
    }
}

impl<B> RequestBody<B> {
    pub(crate) fn passthrough(inner: B) -> Self {
        Self::Passthrough { inner }
    }

    pub(crate) fn web(inner: WebRequestBody<B>) -> Self {
        Self::Web {
            inner: Box::pin(inner),
        }
    }

    pub(crate) fn native(inner: NativeRequestBody<B>) -> Self {
        Self::Native {
            inner: Box::pin(inner),
        }
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            RequestBodyProj::Passthrough { inner } => inner.poll_frame(cx).map_err(Into::into),
            RequestBodyProj::Web { inner } => inner.as_mut().poll_frame(cx),
            RequestBodyProj::Native { inner } => inner.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Passthrough { inner } => inner.is_end_stream(),
            Self::Web { inner } => inner.is_end_stream(),
            Self::Native { inner } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Passthrough { inner } => inner.size_hint(),
            Self::Web { .. } => SizeHint::default(),
            Self::Native { inner } => inner.size_hint(),
        }
    }
}

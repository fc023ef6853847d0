//! Response side: stream the backend's frames to the client as they come, turn HTTP/2
//! trailers into the 0x80 trailer frame, base64 each chunk in text mode.

use bytes::Bytes;
use grpcweb_protocol::Code;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::error::BoxError;
use crate::failure::Failure;

mod native;
mod web;

pub use native::NativeResponseBody;
pub(crate) use web::StreamOptions;
pub use web::WebResponseBody;

pin_project! {
    /// The response body the client receives.
    ///
    /// - `Passthrough`: native gRPC (or a non-gRPC request let through), untouched.
    /// - `Web`: a translated gRPC-Web response. Each chunk of the backend's body is
    ///   forwarded as soon as it arrives (binary: the same bytes, no copy; text: one padded
    ///   base64 segment per chunk). The backend's trailers become one trailer frame, the
    ///   last thing in the body. A backend stream that fails becomes a trailer frame with
    ///   the matching status after the messages already sent. When the call's deadline
    ///   passes first, the backend body is dropped (which resets the backend stream) and
    ///   the body ends with DEADLINE_EXCEEDED.
    /// - `Full`: a body the layer wrote itself (errors, preflights).
    ///
    /// Dropping the body drops the backend's body, which cancels the backend stream.
    #[project = ResponseBodyProj]
    #[allow(missing_docs)]
    pub enum ResponseBody<B> {
        /// Forwarded untouched.
        Passthrough {
            #[pin]
            inner: B,
            code: Option<Code>,
            #[pin]
            shutdown: Option<WaitForCancellationFutureOwned>,
            ended: bool,
        },
        /// Translated gRPC-Web.
        Web {
            #[pin]
            inner: WebResponseBody<B>,
        },
        /// Native gRPC, held to the call's deadline.
        Native {
            #[pin]
            inner: NativeResponseBody<B>,
        },
        /// Written by the proxy.
        Full {
            data: Option<Bytes>,
            code: Option<Code>,
        },
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Passthrough { .. } => f.write_str("ResponseBody::Passthrough"),
            Self::Web { .. } => f.write_str("ResponseBody::Web"),
            Self::Native { .. } => f.write_str("ResponseBody::Native"),
            Self::Full { data, code } => f
                .debug_struct("ResponseBody::Full")
                .field("data", data)
                .field("code", code)
                .finish(),
        }
    }
}

impl<B> Default for ResponseBody<B> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<B> ResponseBody<B> {
    /// A body holding `data`, written by the proxy.
    pub fn full(data: Bytes) -> Self {
        Self::Full {
            data: (!data.is_empty()).then_some(data),
            code: None,
        }
    }

    /// A body holding `data`, a trailer frame with status `code`.
    pub(crate) fn status_frame(data: Bytes, code: Code) -> Self {
        Self::Full {
            data: Some(data),
            code: Some(code),
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::Full {
            data: None,
            code: None,
        }
    }

    /// `inner`, passed to the client as it is: a body its server makes itself and
    /// streams (the proxy's REST streams).
    pub fn streaming(inner: B) -> Self {
        Self::passthrough(inner, None)
    }

    pub(crate) fn passthrough(inner: B, shutdown: Option<&CancellationToken>) -> Self {
        Self::Passthrough {
            inner,
            code: None,
            shutdown: shutdown.map(|t| t.clone().cancelled_owned()),
            ended: false,
        }
    }

    /// The gRPC status this body carries (or carried) in its trailers or trailer frame,
    /// once known. A status in the response headers (trailers-only) is not seen here.
    pub fn grpc_status(&self) -> Option<Code> {
        match self {
            Self::Passthrough { code, .. } | Self::Full { code, .. } => *code,
            Self::Web { inner } => inner.code(),
            Self::Native { inner } => inner.code(),
        }
    }

    pub(crate) fn web(inner: WebResponseBody<B>) -> Self {
        Self::Web { inner }
    }

    pub(crate) fn native(inner: NativeResponseBody<B>) -> Self {
        Self::Native { inner }
    }
}

impl<B> Body for ResponseBody<B>
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
            ResponseBodyProj::Passthrough {
                inner,
                code,
                mut shutdown,
                ended,
            } => {
                if *ended {
                    return Poll::Ready(None);
                }
                if let Some(signal) = shutdown.as_mut().as_pin_mut()
                    && signal.poll(cx).is_ready()
                {
                    // The drain timeout passed: end the native call with a status
                    // rather than a cut connection.
                    let status = Failure::ShuttingDown.status();
                    *ended = true;
                    *code = Some(status.code);
                    return Poll::Ready(Some(Ok(Frame::trailers(status.to_header_map()))));
                }
                let frame = ready!(inner.poll_frame(cx));
                if let Some(Ok(trailers)) =
                    frame.as_ref().map(|f| f.as_ref().map(Frame::trailers_ref))
                {
                    *code = trailers
                        .and_then(|t| t.get(grpcweb_protocol::status::GRPC_STATUS_HEADER))
                        .map(|v| Code::parse(v.as_bytes()).unwrap_or(Code::Unknown));
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            ResponseBodyProj::Web { inner } => inner.poll_frame(cx),
            ResponseBodyProj::Native { inner } => inner.poll_frame(cx),
            ResponseBodyProj::Full { data, .. } => {
                Poll::Ready(data.take().map(|d| Ok(Frame::data(d))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Passthrough { inner, ended, .. } => *ended || inner.is_end_stream(),
            Self::Web { inner } => inner.is_done(),
            Self::Native { inner } => inner.is_end_stream(),
            Self::Full { data, .. } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Passthrough { inner, .. } => inner.size_hint(),
            Self::Web { .. } => SizeHint::default(),
            Self::Native { inner } => inner.size_hint(),
            Self::Full { data, .. } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

//! [`NativeResponseBody`]: a backend's native gRPC response passed through, held to the
//! call's deadline.

use bytes::Bytes;
use grpcweb_protocol::Code;
use grpcweb_protocol::status::GRPC_STATUS_HEADER;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::error::BoxError;
use crate::failure::Failure;
use crate::request_error::BodyFailure;

pin_project! {
    /// A native gRPC response, forwarded untouched, except that the call ends with a
    /// status in trailers (and the backend body is dropped, which resets its stream) when
    /// the deadline passes, when a drain ends, or when the request body failed (a
    /// message too large, a trailer frame, a message too slow).
    pub struct NativeResponseBody<B> {
        #[pin]
        inner: Option<B>,
        #[pin]
        deadline: Option<Sleep>,
        #[pin]
        shutdown: Option<WaitForCancellationFutureOwned>,
        failure: BodyFailure,
        code: Option<Code>,
        ended: bool,
    }
}

impl<B> NativeResponseBody<B> {
    pub(crate) fn new(
        inner: B,
        deadline: Option<Instant>,
        failure: BodyFailure,
        shutdown: Option<&CancellationToken>,
    ) -> Self {
        Self {
            inner: Some(inner),
            deadline: deadline.map(tokio::time::sleep_until),
            shutdown: shutdown.map(|t| t.clone().cancelled_owned()),
            failure,
            code: None,
            ended: false,
        }
    }

    /// The status of the trailers, once sent.
    pub(super) fn code(&self) -> Option<Code> {
        self.code
    }

    pub(super) fn is_end_stream(&self) -> bool
    where
        B: Body,
    {
        // The backend's own end counts: a trailers-only answer keeps END_STREAM on its
        // headers, which is where gRPC clients then read the status.
        self.ended || self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    pub(super) fn size_hint(&self) -> SizeHint
    where
        B: Body,
    {
        match &self.inner {
            Some(inner) if !self.ended => inner.size_hint(),
            _ => SizeHint::default(),
        }
    }
}

impl<B> NativeResponseBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    pub(super) fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        let mut status = None;
        if let Some(deadline) = this.deadline.as_mut().as_pin_mut()
            && deadline.poll(cx).is_ready()
        {
            status = Some(Failure::DeadlineExceeded.status());
        } else if let Some(signal) = this.shutdown.as_mut().as_pin_mut()
            && signal.poll(cx).is_ready()
        {
            // The drain timeout passed: end the call with a status rather than a cut
            // connection.
            status = Some(Failure::ShuttingDown.status());
        }
        if status.is_none() {
            let Some(inner) = this.inner.as_mut().as_pin_mut() else {
                *this.ended = true;
                return Poll::Ready(None);
            };
            match ready!(inner.poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        *this.ended = true;
                        *this.code = trailers
                            .get(GRPC_STATUS_HEADER)
                            .map(|v| Code::parse(v.as_bytes()).unwrap_or(Code::Unknown));
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                // The request body failed and the backend stream was reset for it: the
                // client hears why.
                Some(Err(_)) if this.failure.get().is_some() => {
                    status = this.failure.get().cloned();
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None => {
                    *this.ended = true;
                    return Poll::Ready(None);
                }
            }
        }
        let Some(status) = status else {
            *this.ended = true;
            return Poll::Ready(None);
        };
        // Dropping the backend body resets its stream.
        this.inner.set(None);
        *this.ended = true;
        *this.code = Some(status.code);
        Poll::Ready(Some(Ok(Frame::trailers(status.to_header_map()))))
    }
}

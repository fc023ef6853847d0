//! [`NativeRequestBody`]: a native gRPC request body passed through frame by frame,
//! checked as it goes.

use bytes::Bytes;
use grpcweb_protocol::framing::FrameScanner;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

use crate::error::BoxError;
use crate::failure::Failure;
use crate::request_error::{BodyFailure, RequestError};

pin_project! {
    /// A native gRPC request body, forwarded chunk by chunk as it comes (nothing is
    /// buffered) while its frames are checked: a message over the size limit (from its
    /// header), a trailer frame or an unknown flag fail the body, and so does a message
    /// not received whole within the body read timeout of its header. A failed body
    /// resets the backend stream; the call ends with the failure's status.
    pub struct NativeRequestBody<B> {
        #[pin]
        inner: B,
        scanner: FrameScanner,
        read_timeout: Duration,
        // Armed while a message is partly in.
        #[pin]
        timer: Option<Sleep>,
        // Messages whose header had been seen when the timer was armed.
        timed: u64,
        failure: BodyFailure,
        failed: bool,
    }
}

impl<B> NativeRequestBody<B> {
    pub(crate) fn new(inner: B, max_message_size: usize, read_timeout: Duration) -> Self {
        Self {
            inner,
            scanner: FrameScanner::new(max_message_size).data_only(),
            read_timeout,
            timer: None,
            timed: 0,
            failure: BodyFailure::default(),
            failed: false,
        }
    }

    /// Where this body records why it failed.
    pub(crate) fn failure(&self) -> BodyFailure {
        self.failure.clone()
    }
}

impl<B> Body for NativeRequestBody<B>
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
        let mut this = self.project();
        if *this.failed {
            return Poll::Ready(None);
        }
        let error = match this.inner.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let Some(data) = frame.data_ref() else {
                    return Poll::Ready(Some(Ok(frame)));
                };
                match this.scanner.scan(data) {
                    Ok(()) if this.scanner.finish().is_ok() => this.timer.set(None),
                    Ok(()) => {
                        // A message started since the timer was armed (or none is): its
                        // time starts now.
                        if this.timer.is_none() || this.scanner.messages() != *this.timed {
                            *this.timed = this.scanner.messages();
                            this.timer.set(Some(tokio::time::sleep(*this.read_timeout)));
                        }
                    }
                    Err(e) => return fail(this.failed, this.failure, RequestError::Native(e)),
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(other) => return Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => {
                let expired = this
                    .timer
                    .as_mut()
                    .as_pin_mut()
                    .is_some_and(|timer| timer.poll(cx).is_ready());
                if !expired {
                    return Poll::Pending;
                }
                RequestError::MessageTimeout {
                    timeout: *this.read_timeout,
                }
            }
        };
        fail(this.failed, this.failure, error)
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn fail(
    failed: &mut bool,
    failure: &BodyFailure,
    error: RequestError,
) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    *failed = true;
    // Whoever reports the call's outcome reports this, not the reset it causes.
    let _ = failure.set(Failure::Request(&error).status());
    Poll::Ready(Some(Err(Box::new(error))))
}

//! [`WebResponseBody`]: a backend's gRPC response streamed as gRPC-Web.

use bytes::{BufMut, Bytes, BytesMut};
use grpcweb_protocol::framing::{FrameError, FrameScanner};
use grpcweb_protocol::{Code, Mode, Status, text};
use http::{HeaderMap, StatusCode};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::counts::MessageCounts;
use crate::error::BoxError;
use crate::failure::{Failure, Stage};
use crate::frame::trailer_frame;
use crate::request_error::BodyFailure;

/// How many bytes of a non-gRPC backend body are read before the synthesized status is
/// sent (the upstream body logs them; the client's `grpc-message` never quotes them).
const EXCERPT_LIMIT: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Forwarding the backend's frames.
    Streaming,
    /// The backend answered without gRPC: reading a short excerpt of its body (for the
    /// log) before the synthesized status.
    Excerpt,
    /// Trailer frame sent; nothing more.
    Done,
}

pin_project! {
    /// A backend response body translated to gRPC-Web.
    pub struct WebResponseBody<B> {
        #[pin]
        inner: Option<B>,
        #[pin]
        deadline: Option<Sleep>,
        #[pin]
        shutdown: Option<WaitForCancellationFutureOwned>,
        mode: Mode,
        state: State,
        excerpt: BytesMut,
        // The HTTP status of an answer without gRPC.
        synth: StatusCode,
        failure: Option<BodyFailure>,
        code: Option<Code>,
        scanner: Option<FrameScanner>,
        counts: Option<MessageCounts>,
    }
}

/// What a streamed response is held to.
#[derive(Debug, Default)]
pub(crate) struct StreamOptions<'a> {
    /// The call's deadline.
    pub(crate) deadline: Option<Instant>,
    /// Where the request body records a failure that outranks the backend's error.
    pub(crate) failure: Option<BodyFailure>,
    /// Cancelled at the end of a drain.
    pub(crate) shutdown: Option<&'a CancellationToken>,
    /// Largest response message; frames are checked as they pass when set.
    pub(crate) max_message: Option<usize>,
    /// Where to count the response messages.
    pub(crate) counts: Option<MessageCounts>,
}

impl<B> WebResponseBody<B> {
    /// True once the trailer frame has been produced.
    pub(super) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The status of the trailer frame, once produced.
    pub(super) fn code(&self) -> Option<Code> {
        self.code
    }
}

impl<B> WebResponseBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    /// Streams `inner` (a gRPC response body) as gRPC-Web.
    /// A failure of the request body, recorded in `failure`, takes precedence over the
    /// backend stream error it causes.
    pub(crate) fn streaming(inner: B, mode: Mode, options: StreamOptions<'_>) -> Self {
        Self {
            inner: Some(inner),
            deadline: options.deadline.map(tokio::time::sleep_until),
            shutdown: options.shutdown.map(|t| t.clone().cancelled_owned()),
            mode,
            state: State::Streaming,
            excerpt: BytesMut::new(),
            synth: StatusCode::OK,
            failure: options.failure,
            code: None,
            // Frames are always walked: to enforce the limit, count messages, know
            // whether a trailer frame may follow what was forwarded so far, and refuse a
            // trailer frame (0x80) in the backend's DATA, which the client would take for
            // the proxy's.
            scanner: Some(
                FrameScanner::new(options.max_message.unwrap_or(u32::MAX as usize)).data_only(),
            ),
            counts: options.counts,
        }
    }

    /// Reads a short excerpt of a body that is not gRPC (which the inner service may log),
    /// then ends with the status made from its HTTP status `http` (S6).
    pub(crate) fn synthesized(inner: B, mode: Mode, http: StatusCode) -> Self {
        Self {
            inner: Some(inner),
            deadline: None,
            shutdown: None,
            mode,
            state: State::Excerpt,
            excerpt: BytesMut::new(),
            synth: http,
            failure: None,
            code: None,
            scanner: None,
            counts: None,
        }
    }

    /// The next frame of the translated body. An error means the response must be cut
    /// (HTTP/2 stream reset, HTTP/1.1 connection closed): the call ended in the middle of
    /// a message, where a trailer frame would be read as part of that message.
    pub(super) fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if *this.state == State::Done {
            return Poll::Ready(None);
        }
        if let Some(deadline) = this.deadline.as_mut().as_pin_mut()
            && deadline.poll(cx).is_ready()
        {
            let status = Failure::DeadlineExceeded.status();
            return Poll::Ready(Some(end(
                this.inner,
                this.state,
                this.code,
                at_boundary(this.scanner.as_ref()),
                *this.mode,
                &status,
            )));
        }
        if let Some(signal) = this.shutdown.as_mut().as_pin_mut()
            && signal.poll(cx).is_ready()
        {
            // The drain timeout passed: end the call with a status the client can read.
            return Poll::Ready(Some(end(
                this.inner,
                this.state,
                this.code,
                at_boundary(this.scanner.as_ref()),
                *this.mode,
                &Failure::ShuttingDown.status(),
            )));
        }
        let Some(mut inner) = this.inner.as_mut().as_pin_mut() else {
            *this.state = State::Done;
            return Poll::Ready(None);
        };
        loop {
            let polled = ready!(inner.as_mut().poll_frame(cx));
            match (*this.state, polled) {
                (State::Streaming, Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if data.is_empty() => {}
                    Ok(data) => {
                        // Whether what was forwarded before this chunk ends on a boundary.
                        let mut boundary = true;
                        let scanned = this.scanner.as_mut().map(|s| {
                            boundary = s.finish().is_ok();
                            let before = s.messages();
                            // gRPC has no trailer frames: one in the backend's data
                            // would reach the client as a forged status.
                            let result = s.scan(&data).and_then(|()| match s.trailer_frames() {
                                0 => Ok(()),
                                _ => Err(FrameError::UnknownFlag(0x80)),
                            });
                            if let Some(counts) = this.counts.as_ref() {
                                counts.add_responses(s.messages() - before);
                            }
                            result
                        });
                        if let Some(Err(e)) = scanned {
                            let status = match e {
                                FrameError::TooLarge { len, max } => {
                                    Failure::ResponseTooLarge { len, max }
                                }
                                e => Failure::MalformedResponse(e),
                            }
                            .status();
                            // Nothing of this chunk is forwarded; the trailer frame follows
                            // the earlier chunks if they ended on a boundary.
                            return Poll::Ready(Some(end(
                                this.inner, this.state, this.code, boundary, *this.mode, &status,
                            )));
                        }
                        return Poll::Ready(Some(Ok(Frame::data(match this.mode {
                            Mode::Binary => data,
                            Mode::Text => text::encode_segment(&data),
                        }))));
                    }
                    Err(frame) => {
                        let Ok(mut trailers) = frame.into_trailers() else {
                            continue;
                        };
                        if !at_boundary(this.scanner.as_ref()) {
                            // Trailers after half a message: a trailer frame here would be
                            // read as the rest of that message, so the response is cut.
                            let status = Failure::TrailersInsideMessage.status();
                            return Poll::Ready(Some(end(
                                this.inner, this.state, this.code, false, *this.mode, &status,
                            )));
                        }
                        if !trailers.contains_key(grpcweb_protocol::status::GRPC_STATUS_HEADER) {
                            Failure::TrailersWithoutStatus
                                .status()
                                .write_to(&mut trailers);
                        }
                        return Poll::Ready(Some(Ok(finish(
                            this.inner, this.state, this.code, *this.mode, &trailers,
                        ))));
                    }
                },
                (State::Streaming, Some(Err(e))) => {
                    let status = match this.failure.as_ref().and_then(|f| f.get()) {
                        Some(status) => status.clone(),
                        None => {
                            let deadline =
                                this.deadline.as_ref().as_pin_ref().map(|s| s.deadline());
                            let e: BoxError = e.into();
                            Failure::of_inner(&*e, Stage::Stream, deadline).status()
                        }
                    };
                    return Poll::Ready(Some(end(
                        this.inner,
                        this.state,
                        this.code,
                        at_boundary(this.scanner.as_ref()),
                        *this.mode,
                        &status,
                    )));
                }
                (State::Streaming, None) => {
                    let status = Failure::EndedWithoutTrailers.status();
                    return Poll::Ready(Some(end(
                        this.inner,
                        this.state,
                        this.code,
                        at_boundary(this.scanner.as_ref()),
                        *this.mode,
                        &status,
                    )));
                }
                (State::Excerpt, Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        let room = EXCERPT_LIMIT.saturating_sub(this.excerpt.len());
                        this.excerpt.put_slice(&data[..room.min(data.len())]);
                        if this.excerpt.len() < EXCERPT_LIMIT {
                            continue;
                        }
                    } else {
                        continue;
                    }
                    let status = Failure::NotGrpc(*this.synth).status();
                    return Poll::Ready(Some(Ok(finish(
                        this.inner,
                        this.state,
                        this.code,
                        *this.mode,
                        &status.to_header_map(),
                    ))));
                }
                (State::Excerpt, Some(Err(_)) | None) => {
                    let status = Failure::NotGrpc(*this.synth).status();
                    return Poll::Ready(Some(Ok(finish(
                        this.inner,
                        this.state,
                        this.code,
                        *this.mode,
                        &status.to_header_map(),
                    ))));
                }
                (State::Done, _) => return Poll::Ready(None),
            }
        }
    }
}

/// Whether the bytes forwarded so far end on a frame boundary.
fn at_boundary(scanner: Option<&FrameScanner>) -> bool {
    scanner.is_some_and(|s| s.finish().is_ok())
}

/// Ends the call with `status`: as a trailer frame when what was forwarded ends on a frame
/// boundary, else by cutting the response (an error), so the client never reads a trailer
/// frame as the rest of a message.
fn end<B>(
    mut inner: Pin<&mut Option<B>>,
    state: &mut State,
    code: &mut Option<Code>,
    boundary: bool,
    mode: Mode,
    status: &Status,
) -> Result<Frame<Bytes>, BoxError> {
    if boundary {
        return Ok(finish(inner, state, code, mode, &status.to_header_map()));
    }
    inner.set(None);
    *state = State::Done;
    *code = Some(status.code);
    Err(format!(
        "response cut in the middle of a message ({}: {})",
        status.code.name(),
        status.message
    )
    .into())
}

fn finish<B>(
    mut inner: Pin<&mut Option<B>>,
    state: &mut State,
    code: &mut Option<Code>,
    mode: Mode,
    trailers: &HeaderMap,
) -> Frame<Bytes> {
    inner.set(None);
    *state = State::Done;
    *code = trailers
        .get(grpcweb_protocol::status::GRPC_STATUS_HEADER)
        .map(|v| Code::parse(v.as_bytes()).unwrap_or(Code::Unknown));
    Frame::data(trailer_frame(mode, trailers))
}

#[cfg(test)]
mod tests;

//! Response side: stream the backend's frames to the client as they come, turn HTTP/2
//! trailers into the 0x80 trailer frame, base64 each chunk in text mode.

use bytes::{BufMut, Bytes, BytesMut};
use grpcweb_protocol::framing::{FrameError, FrameKind, FrameScanner, HEADER_LEN, encode_header};
use grpcweb_protocol::{Code, Mode, Status, text, trailers};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::MessageCounts;
use super::request::Failure;
use crate::BoxError;
use crate::respond;

/// How many bytes of a non-gRPC backend body go into the synthesized `grpc-message`.
const EXCERPT_LIMIT: usize = 256;

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
    /// - `Full`: a body the proxy wrote itself (errors, preflights).
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
            Self::Web { inner } => inner.code,
        }
    }

    pub(crate) fn web(inner: WebResponseBody<B>) -> Self {
        Self::Web { inner }
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
                    *ended = true;
                    *code = Some(Code::Unavailable);
                    return Poll::Ready(Some(Ok(Frame::trailers(
                        shutdown_status().to_header_map(),
                    ))));
                }
                let frame = ready!(inner.poll_frame(cx));
                if let Some(Ok(trailers)) =
                    frame.as_ref().map(|f| f.as_ref().map(Frame::trailers_ref))
                {
                    *code = trailers
                        .and_then(|t| t.get(grpcweb_protocol::status::GRPC_STATUS))
                        .map(|v| Code::parse(v.as_bytes()).unwrap_or(Code::Unknown));
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            ResponseBodyProj::Web { inner } => inner.poll_frame(cx).map(|f| f.map(Ok)),
            ResponseBodyProj::Full { data, .. } => {
                Poll::Ready(data.take().map(|d| Ok(Frame::data(d))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Passthrough { inner, ended, .. } => *ended || inner.is_end_stream(),
            Self::Web { inner } => inner.state == State::Done,
            Self::Full { data, .. } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Passthrough { inner, .. } => inner.size_hint(),
            Self::Web { .. } => SizeHint::default(),
            Self::Full { data, .. } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Forwarding the backend's frames.
    Streaming,
    /// The backend answered without gRPC: collecting a short excerpt of its body for the
    /// synthesized status.
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
        synth: Option<Status>,
                failure: Option<Failure>,
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
    pub(crate) failure: Option<Failure>,
    /// Cancelled at the end of a drain.
    pub(crate) shutdown: Option<&'a CancellationToken>,
    /// Largest response message; frames are checked as they pass when set.
    pub(crate) max_message: Option<usize>,
    /// Where to count the response messages.
    pub(crate) counts: Option<MessageCounts>,
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
            synth: None,
            failure: options.failure,
            code: None,
            // Frames are walked when there is a limit to enforce or messages to count.
            scanner: match (options.max_message, &options.counts) {
                (Some(max), _) => Some(FrameScanner::new(max)),
                (None, Some(_)) => Some(FrameScanner::new(u32::MAX as usize)),
                (None, None) => None,
            },
            counts: options.counts,
        }
    }

    /// Reads a short excerpt of a non-gRPC body, then ends with `status`, whose message
    /// gets the excerpt appended.
    pub(crate) fn synthesized(inner: B, mode: Mode, status: Status) -> Self {
        Self {
            inner: Some(inner),
            deadline: None,
            shutdown: None,
            mode,
            state: State::Excerpt,
            excerpt: BytesMut::new(),
            synth: Some(status),
            failure: None,
            code: None,
            scanner: None,
            counts: None,
        }
    }

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame<Bytes>>> {
        let mut this = self.project();
        if *this.state == State::Done {
            return Poll::Ready(None);
        }
        if let Some(deadline) = this.deadline.as_mut().as_pin_mut()
            && deadline.poll(cx).is_ready()
        {
            this.inner.set(None);
            *this.state = State::Done;
            *this.code = Some(Code::DeadlineExceeded);
            let status = Status::new(Code::DeadlineExceeded, "deadline exceeded");
            return Poll::Ready(Some(Frame::data(trailer_frame(
                *this.mode,
                &status.to_header_map(),
            ))));
        }
        if let Some(signal) = this.shutdown.as_mut().as_pin_mut()
            && signal.poll(cx).is_ready()
        {
            // The drain timeout passed: end the call with a status the client can read.
            this.inner.set(None);
            *this.state = State::Done;
            *this.code = Some(Code::Unavailable);
            return Poll::Ready(Some(Frame::data(trailer_frame(
                *this.mode,
                &shutdown_status().to_header_map(),
            ))));
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
                        let scanned = this.scanner.as_mut().map(|s| {
                            let before = s.messages();
                            let result = s.scan(&data);
                            if let Some(counts) = this.counts.as_ref() {
                                counts.add_responses(s.messages() - before);
                            }
                            result
                        });
                        if let Some(Err(e)) = scanned {
                            let status = match e {
                                FrameError::TooLarge { len, max } => Status::new(
                                    Code::ResourceExhausted,
                                    format!(
                                        "response message of {len} bytes is larger than the limit of {max} bytes"
                                    ),
                                ),
                                e => Status::new(
                                    Code::Internal,
                                    format!("backend sent a malformed response: {e}"),
                                ),
                            };
                            return Poll::Ready(Some(finish(
                                this.inner,
                                this.state,
                                this.code,
                                *this.mode,
                                &status.to_header_map(),
                            )));
                        }
                        return Poll::Ready(Some(Frame::data(match this.mode {
                            Mode::Binary => data,
                            Mode::Text => text::encode_segment(&data),
                        })));
                    }
                    Err(frame) => {
                        let Ok(mut trailers) = frame.into_trailers() else {
                            continue;
                        };
                        if !trailers.contains_key(grpcweb_protocol::status::GRPC_STATUS) {
                            Status::new(Code::Unknown, "backend trailers carry no grpc-status")
                                .write_to(&mut trailers);
                        }
                        return Poll::Ready(Some(finish(
                            this.inner, this.state, this.code, *this.mode, &trailers,
                        )));
                    }
                },
                (State::Streaming, Some(Err(e))) => {
                    let status = match this.failure.as_ref().and_then(|f| f.get()) {
                        Some(status) => status.clone(),
                        None => respond::stream_error_status(&e.into()),
                    };
                    return Poll::Ready(Some(finish(
                        this.inner,
                        this.state,
                        this.code,
                        *this.mode,
                        &status.to_header_map(),
                    )));
                }
                (State::Streaming, None) => {
                    let status =
                        Status::new(Code::Unknown, "backend ended the stream without trailers");
                    return Poll::Ready(Some(finish(
                        this.inner,
                        this.state,
                        this.code,
                        *this.mode,
                        &status.to_header_map(),
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
                    let status = excerpt_status(this.synth.take(), this.excerpt);
                    return Poll::Ready(Some(finish(
                        this.inner,
                        this.state,
                        this.code,
                        *this.mode,
                        &status.to_header_map(),
                    )));
                }
                (State::Excerpt, Some(Err(_)) | None) => {
                    let status = excerpt_status(this.synth.take(), this.excerpt);
                    return Poll::Ready(Some(finish(
                        this.inner,
                        this.state,
                        this.code,
                        *this.mode,
                        &status.to_header_map(),
                    )));
                }
                (State::Done, _) => return Poll::Ready(None),
            }
        }
    }
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
        .get(grpcweb_protocol::status::GRPC_STATUS)
        .map(|v| Code::parse(v.as_bytes()).unwrap_or(Code::Unknown));
    Frame::data(trailer_frame(mode, trailers))
}

fn excerpt_status(status: Option<Status>, excerpt: &BytesMut) -> Status {
    let mut status = status.unwrap_or_else(|| Status::new(Code::Unknown, "backend failed"));
    let text = String::from_utf8_lossy(excerpt);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !text.is_empty() {
        status.message.push_str(": ");
        status.message.push_str(&text);
        if excerpt.len() >= EXCERPT_LIMIT {
            status.message.push_str("...");
        }
    }
    status
}

/// One complete trailer frame for `trailers`, base64-encoded in text mode.
pub(crate) fn trailer_frame(mode: Mode, trailers: &HeaderMap) -> Bytes {
    let len = trailers::estimate_len(trailers);
    let mut frame = BytesMut::with_capacity(HEADER_LEN + len);
    frame.put_slice(&encode_header(FrameKind::Trailers, len));
    trailers::encode_into(trailers, &mut frame);
    match mode {
        Mode::Binary => frame.freeze(),
        Mode::Text => text::encode_segment(&frame),
    }
}

fn shutdown_status() -> Status {
    Status::new(
        Code::Unavailable,
        "proxy shutting down: the call outlived the drain timeout",
    )
}

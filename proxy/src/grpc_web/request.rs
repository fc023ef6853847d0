//! Request side: decode text bodies, validate framing, and forward frames as soon as they
//! are whole.

use bytes::{Bytes, BytesMut};
use grpcweb_protocol::framing::{FrameDecoder, FrameError, HEADER_LEN, encode_header};
use grpcweb_protocol::text::{Base64Decoder, TextError};
use grpcweb_protocol::{Code, Mode, Status};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use super::MessageCounts;
use crate::BoxError;

/// Why a gRPC-Web request body was refused.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// `grpc-web-text` body that is not valid padded base64 (R5).
    Text(TextError),
    /// Bad frame: unknown flag, oversized, truncated (F1-F3).
    Frame(FrameError),
    /// An HTTP/1.1 request body, read whole before forwarding, is over the limit.
    BodyTooLarge {
        /// The limit in force.
        max: usize,
    },
    /// The client's body stream failed.
    Body(BoxError),
    /// A trailer-flagged frame (0x80, 0x81): requests carry none, and one must never
    /// reach a backend.
    TrailerFrame,
}

impl RequestError {
    /// The status the client gets for this error.
    pub(crate) fn status(&self) -> Status {
        let code = match self {
            Self::Frame(FrameError::TooLarge { .. }) | Self::BodyTooLarge { .. } => {
                Code::ResourceExhausted
            }
            Self::Body(_) => Code::Cancelled,
            _ => Code::Internal,
        };
        Status::new(code, self.to_string())
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(e) => write!(f, "{e}"),
            Self::Frame(FrameError::TooLarge { len, max }) => write!(
                f,
                "request message of {len} bytes is larger than the limit of {max} bytes"
            ),
            Self::Frame(e) => write!(f, "malformed gRPC-Web request: {e}"),
            Self::BodyTooLarge { max } => {
                write!(f, "request body is larger than the limit of {max} bytes")
            }
            Self::Body(e) => write!(f, "request body failed: {e}"),
            Self::TrailerFrame => {
                f.write_str("malformed gRPC-Web request: a request carries no trailer frame")
            }
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Text(e) => Some(e),
            Self::Frame(e) => Some(e),
            Self::Body(e) => Some(&**e),
            Self::BodyTooLarge { .. } | Self::TrailerFrame => None,
        }
    }
}

/// Messages up to this size are forwarded in one chunk with their frame header (copied);
/// bigger ones as the header and the payload as it came (not copied).
const COALESCE_LIMIT: usize = 16 * 1024;

/// The status of a request body that failed mid-call, shared with the response side.
pub(crate) type Failure = Arc<OnceLock<Status>>;

pin_project! {
    /// The request body the inner service receives.
    ///
    /// For native gRPC it is the client's body untouched. For gRPC-Web it yields the
    /// client's frames in binary form, each one as soon as it is complete and checked
    /// (flag known, length within the limit), header and payload in one chunk. Binary
    /// payloads over 16 KiB that arrive in one chunk are forwarded without copying.
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
    }
}

impl<B> fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Passthrough { .. } => f.write_str("RequestBody::Passthrough"),
            Self::Web { .. } => f.write_str("RequestBody::Web"),
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
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Passthrough { inner } => inner.is_end_stream(),
            Self::Web { inner } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Passthrough { inner } => inner.size_hint(),
            Self::Web { .. } => SizeHint::default(),
        }
    }
}

pin_project! {
    /// A gRPC-Web request body decoded and checked frame by frame.
    #[project = WebRequestBodyProjection]
    pub struct WebRequestBody<B> {
        #[pin]
        inner: B,
        text: Option<Base64Decoder>,
        frames: FrameDecoder,
        ready: VecDeque<Bytes>,
        ready_len: usize,
        data_frames: usize,
        trailer_frames: usize,
        scratch: BytesMut,
        inner_done: bool,
        failed: bool,
                failure: Failure,
        counts: Option<MessageCounts>,

    }
}

impl<B> WebRequestBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    pub(crate) fn new(inner: B, mode: Mode, max_message_size: usize) -> Self {
        Self {
            inner,
            text: (mode == Mode::Text).then(Base64Decoder::new),
            frames: FrameDecoder::new(max_message_size),
            ready: VecDeque::new(),
            ready_len: 0,
            data_frames: 0,
            trailer_frames: 0,
            scratch: BytesMut::new(),
            inner_done: false,
            failed: false,
            failure: Failure::default(),
            counts: None,
        }
    }

    /// Reads until the first frame is complete, or the body ends, so that a malformed
    /// unary or server-streaming request is refused before the backend sees anything.
    ///
    /// With `to_end = Some(max)` it reads the whole body, up to `max` bytes.
    pub(crate) async fn prefetch(&mut self, to_end: Option<usize>) -> Result<(), RequestError>
    where
        B: Unpin,
    {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_prefetch(cx, to_end)).await
    }

    /// The client's body, for reading what is left of it after a refusal.
    pub(crate) fn into_inner(self) -> B {
        self.inner
    }

    /// Counts request messages into `counts` as they are read.
    pub(crate) fn count_into(&mut self, counts: Option<MessageCounts>) {
        self.counts = counts;
    }

    /// Where this body records why it failed after the call was forwarded.
    pub(crate) fn failure(&self) -> Failure {
        self.failure.clone()
    }

    /// Frames read so far: (messages, trailer frames).
    pub(crate) fn frames_read(&self) -> (usize, usize) {
        (self.data_frames, self.trailer_frames)
    }

    fn poll_prefetch(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        to_end: Option<usize>,
    ) -> Poll<Result<(), RequestError>> {
        let mut this = self.project();
        loop {
            if let Some(max) = to_end
                && *this.ready_len > max
            {
                *this.failed = true;
                return Poll::Ready(Err(RequestError::BodyTooLarge { max }));
            }
            let enough = match to_end {
                Some(_) => *this.inner_done,
                None => !this.ready.is_empty() || *this.inner_done,
            };
            if enough {
                return Poll::Ready(Ok(()));
            }
            match ready!(poll_inner(&mut this, cx)) {
                Ok(()) => {}
                Err(e) => {
                    *this.failed = true;
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

/// Polls the client body once and moves whatever frames completed into `ready`.
fn poll_inner<B>(
    this: &mut WebRequestBodyProjection<'_, B>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), RequestError>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    match ready!(this.inner.as_mut().poll_frame(cx)) {
        None => {
            *this.inner_done = true;
            if let Some(text) = this.text.as_ref() {
                text.finish().map_err(RequestError::Text)?;
            }
            this.frames.finish().map_err(RequestError::Frame)?;
        }
        Some(Err(e)) => return Poll::Ready(Err(RequestError::Body(e.into()))),
        Some(Ok(frame)) => {
            // Request trailers carry nothing for gRPC-Web; they are dropped.
            if let Ok(data) = frame.into_data() {
                let data = match this.text.as_mut() {
                    Some(text) => {
                        text.decode(&data, this.scratch)
                            .map_err(RequestError::Text)?;
                        this.scratch.split().freeze()
                    }
                    None => data,
                };
                this.frames.push(data);
                while let Some(frame) = this.frames.next_frame().map_err(RequestError::Frame)? {
                    if frame.kind.is_trailers() {
                        return Poll::Ready(Err(RequestError::TrailerFrame));
                    }
                    // Re-attach the header: the decoder hands out the payload alone.
                    let header = encode_header(frame.kind, frame.payload.len());
                    *this.ready_len += HEADER_LEN + frame.payload.len();
                    if frame.kind.is_trailers() {
                        *this.trailer_frames += 1;
                    } else {
                        *this.data_frames += 1;
                        if let Some(counts) = this.counts.as_ref() {
                            counts.add_request();
                        }
                    }
                    if frame.payload.len() <= COALESCE_LIMIT {
                        // One chunk per message, so the backend gets one DATA frame, the
                        // last one carrying END_STREAM. A lone 5-byte header frame would
                        // count against the backend's budget of small DATA frames (h2
                        // servers close the connection with ENHANCE_YOUR_CALM when
                        // thousands of calls each leave one unread), where a frame with
                        // END_STREAM does not.
                        let mut chunk = BytesMut::with_capacity(HEADER_LEN + frame.payload.len());
                        chunk.extend_from_slice(&header);
                        chunk.extend_from_slice(&frame.payload);
                        this.ready.push_back(chunk.freeze());
                    } else {
                        // Big enough that copying costs more than the extra frame.
                        this.ready.push_back(Bytes::copy_from_slice(&header));
                        this.ready.push_back(frame.payload);
                    }
                }
            }
        }
    }
    Poll::Ready(Ok(()))
}

impl<B> Body for WebRequestBody<B>
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
        loop {
            if let Some(chunk) = this.ready.pop_front() {
                *this.ready_len -= chunk.len();
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            if *this.inner_done || *this.failed {
                return Poll::Ready(None);
            }
            if let Err(e) = ready!(poll_inner(&mut this, cx)) {
                *this.failed = true;
                // The backend stream is reset because of this; whoever reports the
                // call's outcome reports this status, not the reset.
                let _ = this.failure.set(e.status());
                return Poll::Ready(Some(Err(Box::new(e))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ready.is_empty() && (self.inner_done || self.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grpcweb_protocol::framing::{FrameKind, encode_frame};
    use http_body_util::{BodyExt as _, Full};

    /// Found by the `grpc_web_call` fuzz target: with request streaming allowed, a
    /// client's trailer frame (0x80 or 0x81) was forwarded to the backend.
    #[tokio::test]
    async fn a_trailer_frame_is_never_forwarded() {
        for kind in [FrameKind::Trailers, FrameKind::CompressedTrailers] {
            let wire = [
                &encode_frame(FrameKind::Data, b"one")[..],
                &encode_frame(kind, b"x:y\r\n")[..],
                &encode_frame(FrameKind::Data, b"two")[..],
            ]
            .concat();
            let mut body = Box::pin(WebRequestBody::new(
                Full::new(Bytes::from(wire)),
                Mode::Binary,
                1024,
            ));
            let mut forwarded = Vec::new();
            let mut failed = false;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => forwarded.extend_from_slice(&frame.into_data().unwrap()),
                    Err(e) => {
                        assert!(e.to_string().contains("trailer frame"), "{e}");
                        failed = true;
                        break;
                    }
                }
            }
            assert!(failed, "{kind:?}: the body did not fail");
            assert!(
                !forwarded.iter().any(|&b| b & 0x80 != 0),
                "{kind:?}: forwarded {forwarded:?}"
            );
        }
    }
}

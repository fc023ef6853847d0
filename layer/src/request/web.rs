//! [`WebRequestBody`]: a gRPC-Web request body (binary, or text decoded on the way)
//! checked frame by frame and passed on as soon as each frame is whole.

use bytes::{Bytes, BytesMut};
use grpcweb_protocol::Mode;
use grpcweb_protocol::framing::{FrameDecoder, HEADER_LEN, encode_header};
use grpcweb_protocol::text::Base64Decoder;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use super::waits::StreamWaits;
use crate::budget::{RequestBudget, Reservation};
use crate::counts::MessageCounts;
use crate::error::BoxError;
use crate::failure::Failure;
use crate::refuse::BodyEnd;
use crate::request_error::{BodyFailure, RequestError};

/// Messages up to this size are forwarded in one chunk with their frame header (copied);
/// bigger ones as the header and the payload in the pieces it came in (not copied).
const COALESCE_LIMIT: usize = 16 * 1024;
/// A big payload that came in pieces smaller than this on average is joined into one
/// chunk (copied), so the backend does not get a flood of tiny DATA frames.
const MIN_PIECE: usize = 4 * 1024;

pin_project! {
    /// A gRPC-Web request body decoded and checked frame by frame.
    #[project = WebRequestBodyProjection]
    pub struct WebRequestBody<B> {
        #[pin]
        inner: B,
        text: Option<Base64Decoder>,
        frames: FrameDecoder,
        // Whole frames not yet passed on: `ready`, then `tail`, where small frames are
        // coalesced (one allocation for a chunk of many small frames, not one each).
        ready: VecDeque<Bytes>,
        tail: BytesMut,
        // Bytes in `ready` and `tail`.
        held: usize,
        data_frames: usize,
        single: bool,
        reservation: Reservation,
        scratch: BytesMut,
        inner_done: bool,
        failed: bool,
        failure: BodyFailure,
        counts: Option<MessageCounts>,
        waits: StreamWaits,
        end: Option<BodyEnd>,
    }
}

/// What a [`WebRequestBody`] is held to.
#[derive(Debug, Default)]
pub(crate) struct BodyLimits {
    /// Largest message, in bytes.
    pub(crate) max_message_size: usize,
    /// Exactly one message: a second one (its header, before its payload) is refused.
    pub(crate) single: bool,
    /// Where the bytes this body buffers are reserved.
    pub(crate) budget: Option<Arc<RequestBudget>>,
    /// Once forwarded: the longest a started message may take to arrive whole.
    pub(crate) message_timeout: Option<Duration>,
    /// Once forwarded: the longest wait for the next message (or the end) after the last.
    pub(crate) idle_timeout: Option<Duration>,
}

impl<B> WebRequestBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    pub(crate) fn new(inner: B, mode: Mode, limits: BodyLimits) -> Self {
        Self {
            inner,
            text: (mode == Mode::Text).then(Base64Decoder::new),
            frames: FrameDecoder::new(limits.max_message_size),
            ready: VecDeque::new(),
            tail: BytesMut::new(),
            held: 0,
            data_frames: 0,
            single: limits.single,
            reservation: Reservation::new(limits.budget),
            scratch: BytesMut::new(),
            inner_done: false,
            failed: false,
            failure: BodyFailure::default(),
            counts: None,
            waits: StreamWaits::new(limits.message_timeout, limits.idle_timeout),
            end: None,
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

    /// Where this body records that the client's body has ended: its last frame read, or
    /// the client's body saying it has no more (a `content-length` body read whole).
    pub(crate) fn watch_end(&mut self) -> BodyEnd {
        let end = BodyEnd::default();
        if self.inner_done || self.inner.is_end_stream() {
            end.reach();
        }
        self.end = Some(end.clone());
        end
    }

    /// Where this body records why it failed after the call was forwarded.
    pub(crate) fn failure(&self) -> BodyFailure {
        self.failure.clone()
    }

    /// Messages read so far.
    pub(crate) fn messages_read(&self) -> usize {
        self.data_frames
    }

    fn poll_prefetch(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        to_end: Option<usize>,
    ) -> Poll<Result<(), RequestError>> {
        let mut this = self.project();
        loop {
            if let Some(max) = to_end
                && *this.held > max
            {
                *this.failed = true;
                return Poll::Ready(Err(RequestError::BodyTooLarge { max }));
            }
            let enough = match to_end {
                Some(_) => *this.inner_done,
                None => *this.held > 0 || *this.inner_done,
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

/// Polls the client body once and moves whatever frames completed into `ready`/`tail`.
fn poll_inner<B>(
    this: &mut WebRequestBodyProjection<'_, B>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), RequestError>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let polled = ready!(this.inner.as_mut().poll_frame(cx));
    if let Some(end) = this.end.as_ref()
        && (polled.is_none() || this.inner.is_end_stream())
    {
        end.reach();
    }
    match polled {
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
                take_frames(this)?;
                let buffered = this.frames.buffered().saturating_add(*this.held);
                this.reservation
                    .set(buffered)
                    .map_err(|e| RequestError::OverBudget { max: e.max })?;
            }
        }
    }
    Poll::Ready(Ok(()))
}

/// Moves the frames the decoder has whole into `ready`/`tail`, refusing by its header
/// (before its payload is buffered) a trailer frame, or a second message when only one
/// may come.
fn take_frames<B>(this: &mut WebRequestBodyProjection<'_, B>) -> Result<(), RequestError> {
    while let Some(header) = this.frames.next_header().map_err(RequestError::Frame)? {
        if header.kind.is_trailers() {
            // Never forwarded: the backend would read it as a message.
            return Err(RequestError::TrailerFrame);
        }
        if *this.single && *this.data_frames > 0 {
            return Err(RequestError::SecondMessage);
        }
        if this.frames.buffered() < header.len {
            // Its payload is not all in yet.
            return Ok(());
        }
        *this.data_frames += 1;
        if let Some(counts) = this.counts.as_ref() {
            counts.add_request();
        }
        // Re-attach the header: the decoder hands out the payload alone.
        *this.held += HEADER_LEN + header.len;
        this.tail
            .extend_from_slice(&encode_header(header.kind, header.len));
        if header.len <= COALESCE_LIMIT {
            // A message in one chunk with its header, so the backend gets one DATA frame,
            // the last one carrying END_STREAM. A lone 5-byte header frame would count
            // against the backend's budget of small DATA frames (h2 servers close the
            // connection with ENHANCE_YOUR_CALM when thousands of calls each leave one
            // unread), where a frame with END_STREAM does not.
            this.frames
                .next_frame_parts(this.tail)
                .map_err(RequestError::Frame)?;
        } else {
            // Big enough that copying costs more than the extra frames: the payload goes
            // on in the pieces it came in, unless they are many and small.
            this.ready.push_back(this.tail.split().freeze());
            let first = this.ready.len();
            this.frames
                .next_frame_parts(this.ready)
                .map_err(RequestError::Frame)?;
            if this.ready.len() - first > header.len / MIN_PIECE + 1 {
                let mut joined = BytesMut::with_capacity(header.len);
                this.ready
                    .drain(first..)
                    .for_each(|piece| joined.extend_from_slice(&piece));
                this.ready.push_back(joined.freeze());
            }
        }
    }
    Ok(())
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
            let next = match this.ready.pop_front() {
                Some(chunk) => Some(chunk),
                None if !this.tail.is_empty() => Some(this.tail.split().freeze()),
                None => None,
            };
            if let Some(chunk) = next {
                *this.held -= chunk.len();
                // Shrinking a reservation cannot fail.
                let _ = this
                    .reservation
                    .set(this.frames.buffered().saturating_add(*this.held));
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            if *this.inner_done || *this.failed {
                return Poll::Ready(None);
            }
            let polled = match poll_inner(&mut this, cx) {
                Poll::Ready(polled) => polled,
                Poll::Pending => {
                    // Waiting for the client: for how long it may take.
                    let partial = this.frames.buffered() > 0;
                    let expired = this.waits.poll_expired(cx, partial, *this.data_frames);
                    Err(ready!(expired))
                }
            };
            this.waits.received(*this.data_frames);
            if let Err(e) = polled {
                *this.failed = true;
                // The backend stream is reset because of this; whoever reports the
                // call's outcome reports this status, not the reset.
                let _ = this.failure.set(Failure::Request(&e).status());
                return Poll::Ready(Some(Err(Box::new(e))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ready.is_empty() && self.tail.is_empty() && (self.inner_done || self.failed)
    }
}

#[cfg(test)]
mod tests;

//! A JSON call's response body: each protobuf message frame from the backend becomes a
//! JSON one; the trailers pass, unless the call failed on the proxy's side.

use bytes::Bytes;
use grpcweb_layer::BoxError;
use grpcweb_protocol::framing::{FrameDecoder, FrameError, FrameKind, encode_frame};
use grpcweb_transcode::{MethodCodec, TranscodeError};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::request::FailureSlot;

/// What `poll_frame` returns.
type Polled = Poll<Option<Result<Frame<Bytes>, BoxError>>>;

/// The backend's frames of protobuf messages, passed on as frames of JSON messages, each
/// as soon as it is whole.
#[derive(Debug)]
pub(crate) struct JsonResponseBody<R> {
    /// `None` once the body has ended (dropping it resets the backend stream).
    inner: Option<R>,
    codec: Arc<MethodCodec>,
    decoder: FrameDecoder,
    /// The request side's failure, which replaces the backend's status.
    failure: FailureSlot,
}

impl<R> JsonResponseBody<R>
where
    R: Body<Data = Bytes> + Unpin,
    R::Error: Into<BoxError>,
{
    /// Messages over `max_message_size` bytes (protobuf) end the call with
    /// RESOURCE_EXHAUSTED: each is buffered whole to transcode it.
    pub(crate) fn new(
        inner: R,
        codec: Arc<MethodCodec>,
        max_message_size: usize,
        failure: FailureSlot,
    ) -> Self {
        Self {
            inner: Some(inner),
            codec,
            decoder: FrameDecoder::new(max_message_size),
            failure,
        }
    }

    /// Ends the body with `e`'s status in its trailers.
    fn end_with(&mut self, e: &TranscodeError) -> Polled {
        self.inner = None;
        let status = self.failure.get().cloned().unwrap_or_else(|| e.status());
        Poll::Ready(Some(Ok(Frame::trailers(status.to_header_map()))))
    }

    /// The trailers of a call the request side failed, if it did.
    fn request_failed(&mut self) -> Option<Polled> {
        let status = self.failure.get()?.clone();
        self.inner = None;
        Some(Poll::Ready(Some(Ok(Frame::trailers(
            status.to_header_map(),
        )))))
    }

    fn transcode(&self, kind: FrameKind, proto: &[u8]) -> Result<Bytes, TranscodeError> {
        if kind.is_compressed() {
            return Err(TranscodeError::BadResponse {
                reason: "a compressed message, though the proxy asked for identity".to_owned(),
            });
        }
        let json = self.codec.response_to_json(proto)?;
        if u32::try_from(json.len()).is_err() {
            return Err(TranscodeError::ResponseTooLarge {
                len: json.len(),
                max: u32::MAX as usize,
            });
        }
        Ok(encode_frame(FrameKind::Data, &json))
    }
}

impl<R> Body for JsonResponseBody<R>
where
    R: Body<Data = Bytes> + Unpin,
    R::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = &mut *self;
        loop {
            match this.decoder.next_frame() {
                Ok(Some(frame)) if frame.kind.is_trailers() => {
                    let e = TranscodeError::BadResponse {
                        reason: "a trailer frame in the body".to_owned(),
                    };
                    return this.end_with(&e);
                }
                Ok(Some(frame)) => {
                    return match this.transcode(frame.kind, &frame.payload) {
                        Ok(json) => Poll::Ready(Some(Ok(Frame::data(json)))),
                        Err(e) => this.end_with(&e),
                    };
                }
                Ok(None) => {}
                Err(FrameError::TooLarge { len, max }) => {
                    return this.end_with(&TranscodeError::ResponseTooLarge { len, max });
                }
                Err(e) => {
                    let e = TranscodeError::BadResponse {
                        reason: e.to_string(),
                    };
                    return this.end_with(&e);
                }
            }
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(Pin::new(inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.decoder.push(data),
                    Err(frame) => {
                        if let Some(res) = this.request_failed() {
                            return res;
                        }
                        if let Err(e) = this.decoder.finish() {
                            let e = TranscodeError::BadResponse {
                                reason: e.to_string(),
                            };
                            return this.end_with(&e);
                        }
                        this.inner = None;
                        return Poll::Ready(Some(Ok(frame)));
                    }
                },
                Some(Err(e)) => {
                    if let Some(res) = this.request_failed() {
                        return res;
                    }
                    this.inner = None;
                    return Poll::Ready(Some(Err(e.into())));
                }
                None => {
                    if let Some(res) = this.request_failed() {
                        return res;
                    }
                    if let Err(e) = this.decoder.finish() {
                        let e = TranscodeError::BadResponse {
                            reason: e.to_string(),
                        };
                        return this.end_with(&e);
                    }
                    this.inner = None;
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_none() && self.decoder.is_idle()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

//! A JSON call's request body: each JSON message frame becomes a protobuf one.

use bytes::Bytes;
use grpcweb_layer::BoxError;
use grpcweb_protocol::Status;
use grpcweb_protocol::framing::{FrameDecoder, FrameKind, encode_frame};
use grpcweb_transcode::{MethodCodec, TranscodeError};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use super::encoding::RequestEncoding;

/// Where the request side leaves the status a failed request message ends the call with;
/// the response side reads it (the backend only sees its stream reset).
pub(crate) type FailureSlot = Arc<OnceLock<Status>>;

/// The client's frames of JSON messages, passed on as frames of protobuf messages, one
/// by one as they come.
#[derive(Debug)]
pub(crate) struct JsonRequestBody<B> {
    inner: B,
    codec: Arc<MethodCodec>,
    /// How compressed messages are read.
    encoding: RequestEncoding,
    decoder: FrameDecoder,
    max_message_size: usize,
    /// A frame read ahead (the first message, read before the call is forwarded).
    ready: Option<Bytes>,
    ended: bool,
    failure: FailureSlot,
}

impl<B> JsonRequestBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    pub(crate) fn new(
        inner: B,
        codec: Arc<MethodCodec>,
        encoding: RequestEncoding,
        max_message_size: usize,
    ) -> Self {
        Self {
            inner,
            codec,
            encoding,
            // The layer has held the JSON frames to the limit already.
            decoder: FrameDecoder::new(usize::MAX),
            max_message_size,
            ready: None,
            ended: false,
            failure: FailureSlot::default(),
        }
    }

    pub(crate) fn failure(&self) -> FailureSlot {
        self.failure.clone()
    }

    /// Reads and transcodes the first message (or the end of the body), so that a
    /// malformed one is refused before the backend sees the call.
    pub(crate) async fn read_first(&mut self) -> Result<(), Status> {
        match std::future::poll_fn(|cx| self.next_message(cx)).await {
            Some(Ok(frame)) => {
                self.ready = Some(frame);
                Ok(())
            }
            None => {
                self.ended = true;
                Ok(())
            }
            Some(Err(_)) => Err(self.failure.get().cloned().unwrap_or_else(|| {
                Status::new(
                    grpcweb_protocol::Code::Cancelled,
                    "request body failed before its first message",
                )
            })),
        }
    }

    fn fail(&self, e: &TranscodeError) -> BoxError {
        let _ = self.failure.set(e.status());
        e.to_string().into()
    }

    fn next_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BoxError>>> {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => {
                    return Poll::Ready(Some(self.transcode(frame.kind, &frame.payload)));
                }
                Ok(None) => {}
                // The layer lets no malformed frame through; should one come, it fails
                // like a malformed message.
                Err(e) => {
                    let e = TranscodeError::BadJson {
                        field: String::new(),
                        reason: e.to_string(),
                    };
                    return Poll::Ready(Some(Err(self.fail(&e))));
                }
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.decoder.push(data);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None => {
                    self.ended = true;
                    if let Err(e) = self.decoder.finish() {
                        let e = TranscodeError::BadJson {
                            field: String::new(),
                            reason: e.to_string(),
                        };
                        return Poll::Ready(Some(Err(self.fail(&e))));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn transcode(&self, kind: FrameKind, payload: &[u8]) -> Result<Bytes, BoxError> {
        let decompressed;
        let json = if kind.is_compressed() {
            // The JSON is held to the same limit as an uncompressed message's.
            decompressed = self
                .encoding
                .decompress(payload, self.max_message_size)
                .map_err(|e| self.fail(&e))?;
            &decompressed[..]
        } else {
            payload
        };
        let proto = self
            .codec
            .request_to_proto(json)
            .map_err(|e| self.fail(&e))?;
        if proto.len() > self.max_message_size {
            let e = TranscodeError::RequestTooLarge {
                len: proto.len(),
                max: self.max_message_size,
            };
            return Err(self.fail(&e));
        }
        Ok(encode_frame(FrameKind::Data, &proto))
    }
}

impl<B> Body for JsonRequestBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(frame) = self.ready.take() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        self.next_message(cx).map(|m| m.map(|r| r.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.ready.is_none() && self.ended && self.decoder.is_idle()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

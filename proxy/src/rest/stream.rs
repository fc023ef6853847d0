//! The answer of a server-streaming REST call: newline-delimited JSON, one line per
//! response message as it comes (`{"result": ...}`), and a last `{"error": ...}` line when
//! the call fails after the first message (grpc-gateway's form).

use bytes::{BufMut as _, Bytes, BytesMut};
use grpcweb_layer::{BoxError, ResponseBody};
use grpcweb_protocol::framing::{FrameDecoder, FrameError};
use grpcweb_protocol::{Code, Status};
use grpcweb_transcode::{Binding, JsonOptions, TranscodeError, response_body, status_body};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// A REST call's stream of JSON lines.
pub(crate) struct RestStream<R> {
    /// The gRPC answer; `None` once ended.
    inner: Option<Pin<Box<ResponseBody<R>>>>,
    decoder: FrameDecoder,
    binding: Binding,
    options: JsonOptions,
    /// The first line, read before the response headers were sent.
    first: Option<Bytes>,
}

impl<R> RestStream<R>
where
    R: Body<Data = Bytes>,
    R::Error: Into<BoxError>,
{
    pub(crate) fn new(
        inner: Pin<Box<ResponseBody<R>>>,
        decoder: FrameDecoder,
        binding: Binding,
        options: JsonOptions,
        first: &[u8],
    ) -> Result<Self, TranscodeError> {
        let first = result_line(&binding, first, options)?;
        Ok(Self {
            inner: Some(inner),
            decoder,
            binding,
            options,
            first: Some(first),
        })
    }

    /// Ends the stream with an error line.
    fn end(&mut self, status: &Status) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.inner = None;
        Poll::Ready(Some(Ok(Frame::data(error_line(&self.binding, status)))))
    }
}

/// `{"result": <message>}` and a newline.
fn result_line(
    binding: &Binding,
    proto: &[u8],
    options: JsonOptions,
) -> Result<Bytes, TranscodeError> {
    let json = response_body(binding, proto, options)?;
    let mut line = BytesMut::with_capacity(json.len() + 12);
    line.put_slice(b"{\"result\":");
    line.put_slice(&json);
    line.put_slice(b"}\n");
    Ok(line.freeze())
}

/// `{"error": <google.rpc.Status>}` and a newline.
fn error_line(binding: &Binding, status: &Status) -> Bytes {
    let json = status_body(
        Some(binding.method().parent_pool()),
        status.code.as_i32(),
        &status.message,
        None,
    );
    let mut line = BytesMut::with_capacity(json.len() + 11);
    line.put_slice(b"{\"error\":");
    line.put_slice(&json);
    line.put_slice(b"}\n");
    line.freeze()
}

impl<R> Body for RestStream<R>
where
    R: Body<Data = Bytes>,
    R::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        loop {
            match this.decoder.next_frame() {
                Ok(Some(frame)) if !frame.kind.is_trailers() && !frame.kind.is_compressed() => {
                    return match result_line(&this.binding, &frame.payload, this.options) {
                        Ok(line) => Poll::Ready(Some(Ok(Frame::data(line)))),
                        Err(e) => this.end(&e.status()),
                    };
                }
                Ok(Some(_)) => {
                    let e = TranscodeError::BadResponse {
                        reason: "a trailer frame or a compressed message".to_owned(),
                    };
                    return this.end(&e.status());
                }
                Ok(None) => {}
                Err(FrameError::TooLarge { len, max }) => {
                    return this.end(&TranscodeError::ResponseTooLarge { len, max }.status());
                }
                Err(e) => {
                    let e = TranscodeError::BadResponse {
                        reason: e.to_string(),
                    };
                    return this.end(&e.status());
                }
            }
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.decoder.push(data),
                    Err(frame) => {
                        let status = frame
                            .into_trailers()
                            .ok()
                            .and_then(|t| Status::from_header_map(&t))
                            .unwrap_or_else(|| {
                                Status::new(Code::Unknown, "backend trailers carry no grpc-status")
                            });
                        if status.code == Code::Ok {
                            this.inner = None;
                            return Poll::Ready(None);
                        }
                        return this.end(&status);
                    }
                },
                Some(Err(e)) => {
                    let e: BoxError = e;
                    return this.end(&Status::new(Code::Internal, format!("stream failed: {e}")));
                }
                None => {
                    this.inner = None;
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.inner.is_none() && self.decoder.is_idle()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

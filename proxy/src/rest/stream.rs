//! The answer of a server-streaming REST call: newline-delimited JSON, one line per
//! response message as it comes (`{"result": ...}`), and a last `{"error": ...}` line when
//! the call fails after the first message (grpc-gateway's form); or, configured, one JSON
//! array of the messages, written as they come, cut short on failure (Envoy's form).

use bytes::{BufMut as _, Bytes, BytesMut};
use grpcweb_layer::{BoxError, ResponseBody};
use grpcweb_protocol::framing::{FrameDecoder, FrameError};
use grpcweb_protocol::{Code, Status};
use grpcweb_transcode::{Binding, JsonOptions, TranscodeError, response_body, status_body};

use crate::config::RestStreamFormat;
use crate::metrics::StreamStatus;
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
    /// The first message, read before the response headers were sent.
    first: Option<Bytes>,
    format: RestStreamFormat,
    /// The array's `]` is written (or the lines have ended).
    closed: bool,
    /// Where the status the stream ends with goes, for the metrics.
    status: StreamStatus,
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
        let first = Bytes::from(response_body(&binding, first, options)?);
        Ok(Self {
            inner: Some(inner),
            decoder,
            binding,
            options,
            first: Some(first),
            format: RestStreamFormat::Ndjson,
            closed: false,
            status: StreamStatus::default(),
        })
    }

    /// The stream in `format`.
    pub(crate) fn format(mut self, format: RestStreamFormat) -> Self {
        self.format = format;
        self
    }

    /// The stream noting the status it ends with in `status`.
    pub(crate) fn reporting(mut self, status: StreamStatus) -> Self {
        self.status = status;
        self
    }

    /// One message's JSON, as the format writes it.
    fn item(&self, json: &[u8], first: bool) -> Bytes {
        let mut out = BytesMut::with_capacity(json.len() + 12);
        match self.format {
            RestStreamFormat::Ndjson => {
                out.put_slice(b"{\"result\":");
                out.put_slice(json);
                out.put_slice(b"}\n");
            }
            RestStreamFormat::JsonArray => {
                out.put_slice(if first { b"[" } else { b"," });
                out.put_slice(json);
            }
        }
        out.freeze()
    }

    /// Ends the stream with `status`: an error line, or (an array) the body cut short.
    fn end(&mut self, status: &Status) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.inner = None;
        self.closed = true;
        self.status.set(status.code);
        match self.format {
            RestStreamFormat::Ndjson => {
                Poll::Ready(Some(Ok(Frame::data(error_line(&self.binding, status)))))
            }
            RestStreamFormat::JsonArray => Poll::Ready(Some(Err(format!(
                "stream failed: {} {}",
                status.code.name(),
                status.message
            )
            .into()))),
        }
    }

    /// Ends the stream after its last message.
    fn finish(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.inner = None;
        if self.closed {
            return Poll::Ready(None);
        }
        self.closed = true;
        self.status.set(Code::Ok);
        match self.format {
            RestStreamFormat::Ndjson => Poll::Ready(None),
            RestStreamFormat::JsonArray => {
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"]")))))
            }
        }
    }
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
            return Poll::Ready(Some(Ok(Frame::data(this.item(&first, true)))));
        }
        if this.closed {
            // Ended (an error line is the last line): messages still buffered are not sent.
            return Poll::Ready(None);
        }
        loop {
            match this.decoder.next_frame() {
                Ok(Some(frame)) if !frame.kind.is_trailers() && !frame.kind.is_compressed() => {
                    return match response_body(&this.binding, &frame.payload, this.options) {
                        Ok(json) => Poll::Ready(Some(Ok(Frame::data(this.item(&json, false))))),
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
                return this.finish();
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
                        if status.code != Code::Ok {
                            return this.end(&status);
                        }
                        // OK, but part of a message came without the rest of it.
                        return match this.decoder.finish() {
                            Ok(()) => this.finish(),
                            Err(e) => this.end(
                                &TranscodeError::BadResponse {
                                    reason: e.to_string(),
                                }
                                .status(),
                            ),
                        };
                    }
                },
                Some(Err(e)) => {
                    let e: BoxError = e;
                    return this.end(&Status::new(Code::Internal, format!("stream failed: {e}")));
                }
                // The body ended without trailers: no status, which is not a success.
                None => {
                    return this.end(&Status::new(
                        Code::Unknown,
                        "backend stream ended without a grpc-status",
                    ));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.inner.is_none() && self.closed && self.decoder.is_idle()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

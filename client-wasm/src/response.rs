//! The response side of a call as a sans-IO state machine: HTTP status and headers in,
//! body chunks in, messages and one final status out (PROTOCOL K1-K4, S6).
//!
//! The fetch driver feeds it; everything here runs (and is tested) on the host.

use bytes::{Bytes, BytesMut};
use grpcweb_protocol::framing::FrameError;
use grpcweb_protocol::text::Base64Decoder;
use grpcweb_protocol::{Code, ContentType, FrameDecoder, FrameKind, Mode, Status, trailers};
use http::HeaderMap;

use crate::error::RpcError;

/// Largest message accepted (F3).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// What the decoder produced.
// `End` is the big one and comes once per call; boxing it would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// One message payload, as soon as its frame is complete.
    Message(Bytes),
    /// The call is over: trailers for the caller, then OK or the error.
    End {
        /// Trailers from the trailer frame, or the headers of a trailers-only response.
        trailers: HeaderMap,
        /// `Ok` for status OK (with the unary rules applied), else the error.
        result: Result<(), RpcError>,
    },
}

/// Decodes one response.
#[derive(Debug)]
pub struct ResponseDecoder {
    unary: bool,
    text: Option<Base64Decoder>,
    frames: FrameDecoder,
    /// Status and headers of a trailers-only response, used when the body has no trailers.
    header_status: Option<(Status, HeaderMap)>,
    messages: usize,
    scratch: BytesMut,
}

impl ResponseDecoder {
    /// A decoder for a unary call (exactly one message expected) or a server stream.
    pub fn new(unary: bool) -> Self {
        Self {
            unary,
            text: None,
            frames: FrameDecoder::new(MAX_MESSAGE_BYTES),
            header_status: None,
            messages: 0,
            scratch: BytesMut::new(),
        }
    }

    /// Takes the HTTP status and response headers. An `Err` ends the call: a non-200
    /// status (grpc-status from the headers, else the S6 table), or a 200 that is not
    /// gRPC-Web.
    pub fn on_headers(&mut self, http_status: u16, headers: &HeaderMap) -> Result<(), RpcError> {
        let status = Status::from_header_map(headers);
        if http_status != 200 {
            let status = match status {
                Some(s) if s.code != Code::Ok => s,
                _ => Status::new(
                    Code::from_http_status(http_status),
                    format!("HTTP status {http_status}"),
                ),
            };
            return Err(RpcError::with_metadata(status, headers.clone()));
        }
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(ContentType::parse);
        match (content_type, status) {
            (Some(ct), status) => {
                if ct.mode == Mode::Text {
                    self.text = Some(Base64Decoder::new());
                }
                self.header_status = status.map(|s| (s, headers.clone()));
                Ok(())
            }
            // Trailers-only responses need not carry a gRPC-Web content type.
            (None, Some(status)) => {
                self.header_status = Some((status, headers.clone()));
                Ok(())
            }
            (None, None) => {
                let found = headers
                    .get(http::header::CONTENT_TYPE)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_else(|| "none".to_owned());
                Err(RpcError::with_metadata(
                    Status::new(
                        Code::Unknown,
                        format!("unexpected response content-type: {found}"),
                    ),
                    headers.clone(),
                ))
            }
        }
    }

    /// Adds a body chunk, split anywhere.
    pub fn push(&mut self, chunk: Bytes) -> Result<(), RpcError> {
        match &mut self.text {
            None => self.frames.push(chunk),
            Some(text) => {
                text.decode(&chunk, &mut self.scratch).map_err(|e| {
                    RpcError::new(Code::Internal, format!("invalid text body: {e}"))
                })?;
                self.frames.push(self.scratch.split().freeze());
            }
        }
        Ok(())
    }

    /// The next message or the end, `Ok(None)` when more input is needed. After `End` or
    /// an error, stop using the decoder.
    pub fn next_event(&mut self) -> Result<Option<Event>, RpcError> {
        let Some(frame) = self.frames.next_frame().map_err(frame_error)? else {
            return Ok(None);
        };
        match frame.kind {
            FrameKind::Data => {
                self.messages += 1;
                if self.unary && self.messages > 1 {
                    return Err(RpcError::new(
                        Code::Unimplemented,
                        "unary response has more than one message",
                    ));
                }
                Ok(Some(Event::Message(frame.payload)))
            }
            FrameKind::Trailers => {
                let map = trailers::parse(&frame.payload).map_err(|e| {
                    RpcError::new(Code::Internal, format!("invalid trailer frame: {e}"))
                })?;
                let status = Status::from_header_map(&map);
                Ok(Some(self.end(status, map)))
            }
            _ => Err(RpcError::new(
                Code::Internal,
                "compressed frame received, but no compression was offered",
            )),
        }
    }

    /// The body ended without a trailer frame: the status comes from trailers-only
    /// headers, else the call fails.
    pub fn finish(&mut self) -> Result<Event, RpcError> {
        if let Some(text) = &self.text {
            text.finish()
                .map_err(|e| RpcError::new(Code::Internal, format!("invalid text body: {e}")))?;
        }
        self.frames.finish().map_err(frame_error)?;
        match self.header_status.take() {
            Some((status, headers)) => Ok(self.end(Some(status), headers)),
            None => Ok(self.end(None, HeaderMap::new())),
        }
    }

    fn end(&self, status: Option<Status>, trailers: HeaderMap) -> Event {
        let result = match status {
            None => Err(Status::new(Code::Unknown, "response has no grpc-status")),
            Some(s) if s.code != Code::Ok => Err(s),
            Some(_) if self.unary && self.messages == 0 => Err(Status::new(
                Code::Unimplemented,
                "unary response has no message",
            )),
            Some(_) => Ok(()),
        };
        let result = result.map_err(|status| RpcError::with_metadata(status, trailers.clone()));
        Event::End { trailers, result }
    }
}

fn frame_error(e: FrameError) -> RpcError {
    let code = match e {
        FrameError::TooLarge { .. } => Code::ResourceExhausted,
        _ => Code::Internal,
    };
    RpcError::new(code, e.to_string())
}

#[cfg(test)]
mod tests;

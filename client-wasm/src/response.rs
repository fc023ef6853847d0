//! The response side of a call as a sans-IO state machine: HTTP status and headers in,
//! body chunks in, messages and one final status out (docs/protocol.md K1-K4, S6).
//!
//! The fetch driver feeds it; everything here runs (and is tested) on the host.

use bytes::{Bytes, BytesMut};
use grpcweb_protocol::framing::FrameError;
use grpcweb_protocol::text::{Base64Decoder, TextError};
use grpcweb_protocol::trailers::TrailerError;
use grpcweb_protocol::{Code, ContentType, FrameDecoder, FrameKind, Mode, Status};

use crate::error::RpcError;
use crate::metadata::Metadata;

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
        trailers: Metadata,
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
    header_status: Option<(Status, Metadata)>,
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
    pub fn on_headers(&mut self, http_status: u16, headers: &Metadata) -> Result<(), RpcError> {
        let status = headers.status();
        if http_status != 200 {
            let status = match status {
                Some(s) if s.code != Code::Ok => s,
                _ => {
                    let mut message = String::from("HTTP status ");
                    push_decimal(&mut message, u64::from(http_status));
                    Status::new(Code::from_http_status(http_status), message)
                }
            };
            return Err(RpcError::with_metadata(status, headers.clone()));
        }
        let raw_content_type = headers.get("content-type");
        let content_type = raw_content_type
            .and_then(|v| std::str::from_utf8(v).ok())
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
                let mut message = String::from("unexpected response content-type: ");
                message.push_str(&raw_content_type.map_or("none".into(), String::from_utf8_lossy));
                Err(RpcError::with_metadata(
                    Status::new(Code::Unknown, message),
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
                text.decode(&chunk, &mut self.scratch)
                    .map_err(|e| text_error(&e))?;
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
                let trailers =
                    Metadata::from_block(&frame.payload).map_err(|e| trailer_error(&e))?;
                Ok(Some(self.end(trailers.status(), trailers)))
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
            text.finish().map_err(|e| text_error(&e))?;
        }
        self.frames.finish().map_err(frame_error)?;
        match self.header_status.take() {
            Some((status, headers)) => Ok(self.end(Some(status), headers)),
            None => Ok(self.end(None, Metadata::new())),
        }
    }

    fn end(&self, status: Option<Status>, trailers: Metadata) -> Event {
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
    // Written by hand: `FrameError`'s `Display` would pull `core::fmt` into the wasm.
    let mut m = String::new();
    let code = match e {
        FrameError::TooLarge { len, max } => {
            m.push_str("message of ");
            push_decimal(&mut m, len as u64);
            m.push_str(" bytes is larger than the limit of ");
            push_decimal(&mut m, max as u64);
            m.push_str(" bytes");
            Code::ResourceExhausted
        }
        FrameError::Truncated { have, need } => {
            m.push_str("stream ended inside a frame: ");
            push_decimal(&mut m, have as u64);
            m.push_str(" of ");
            push_decimal(&mut m, need.unwrap_or(5) as u64);
            m.push_str(" bytes (header included)");
            Code::Internal
        }
        FrameError::UnknownFlag(flag) => {
            m.push_str("invalid gRPC-Web frame flag ");
            push_decimal(&mut m, u64::from(flag));
            Code::Internal
        }
        _ => {
            m.push_str("invalid gRPC-Web frame");
            Code::Internal
        }
    };
    RpcError::new(code, m)
}

// Static messages: the protocol errors' `Display` would pull `core::fmt` into the wasm
// for what is a diagnostic of a broken server.
fn text_error(e: &TextError) -> RpcError {
    let message = match e {
        TextError::InvalidPadding { .. } => "invalid text body: invalid base64 padding",
        TextError::Incomplete { .. } => "invalid text body: base64 ended inside a group",
        _ => "invalid text body: invalid base64",
    };
    RpcError::new(Code::Internal, message)
}

fn trailer_error(e: &TrailerError) -> RpcError {
    let message = match e {
        TrailerError::MissingColon { .. } => "invalid trailer frame: a line has no ':'",
        TrailerError::InvalidName { .. } => "invalid trailer frame: invalid name",
        _ => "invalid trailer frame: invalid value",
    };
    RpcError::new(Code::Internal, message)
}

/// Appends `n` in decimal, without `core::fmt`.
pub(crate) fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests;

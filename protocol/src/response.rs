//! The client side of a gRPC-Web response as a sans-IO state machine (docs/protocol.md K1-K6, S6):
//! the HTTP status and headers in, then body chunks split anywhere, then the end of the
//! body; out come events: each message, the trailer frame, and one final status or
//! protocol error.
//!
//! This is the one response decoder of every client in the project: the browser runtime
//! (compiled to wasm), its tower service, the test support client and the soak client.
//! Its decoding runs without `core::fmt` so that the wasm build carries no formatting code
//! (the one formatted text, [`ResponseEnd::message`] of an HTTP error, is made on demand).
//!
//! ```
//! use grpcweb_protocol::response::{Event, ResponseDecoder};
//! use grpcweb_protocol::framing::{encode_frame, FrameKind};
//! use grpcweb_protocol::Code;
//!
//! let mut decoder = ResponseDecoder::new(4 << 20);
//! decoder.headers(200, [("content-type", &b"application/grpc-web+proto"[..])]);
//! let mut body = encode_frame(FrameKind::Data, b"hi").to_vec();
//! body.extend_from_slice(&encode_frame(FrameKind::Trailers, b"grpc-status: 0\r\n"));
//! decoder.push(&body);
//! assert!(matches!(decoder.next_event(), Some(Event::Message(b"hi"))));
//! assert!(matches!(decoder.next_event(), Some(Event::Trailers(_))));
//! assert!(decoder.next_event().is_none(), "the status comes at the end of the body");
//! decoder.end();
//! let Some(Event::End(end)) = decoder.next_event() else { unreachable!() };
//! assert_eq!(end.code, Code::Ok);
//! ```

use crate::content_type::{Mode, is_lowercase, response_mode};
use crate::details::{self, Any};
use crate::framing::{FrameError, FrameHeader, FrameKind, HEADER_LEN};
use crate::percent;
use crate::status::{Code, GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS_BIN};
use crate::text::Base64Decoder;
use crate::trailers;
use alloc::string::String;
use alloc::vec::Vec;

/// What the decoder produced; see [`ResponseDecoder::next_event`].
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// One message payload (flag 0x00).
    Message(&'a [u8]),
    /// One compressed message payload (flag 0x01), only with
    /// [`ResponseDecoder::with_compressed_messages`].
    CompressedMessage(&'a [u8]),
    /// The trailer frame (flag 0x80), its entries already checked.
    Trailers(Trailers<'a>),
    /// The call's final status, after the end of the body. The last event.
    End(ResponseEnd),
    /// The response broke the protocol. The last event.
    Error(ResponseError),
}

/// The entries of a trailer frame, every one valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trailers<'a>(&'a [u8]);

impl<'a> Trailers<'a> {
    /// `(name, value)` in order, names as sent (compare them ASCII case-insensitively).
    pub fn entries(self) -> impl Iterator<Item = (&'a str, &'a [u8])> + Clone {
        trailers::entries(self.0).filter_map(Result::ok)
    }

    /// [`Trailers::entries`] with names as bytes (ASCII).
    pub fn raw_entries(self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone {
        trailers::raw_entries(self.0).filter_map(Result::ok)
    }

    /// The raw block.
    pub fn as_bytes(self) -> &'a [u8] {
        self.0
    }
}

/// How the call ended, as the server said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseEnd {
    /// `grpc-status`; an unparsable one reads as UNKNOWN.
    pub code: Code,
    /// `grpc-message`, percent-decoded: UTF-8 when the server followed S8 (see
    /// [`ResponseEnd::message`]). Empty when the code comes from the HTTP status.
    pub message: Vec<u8>,
    /// `grpc-status-details-bin` decoded from base64: a serialized `google.rpc.Status`
    /// (not checked; see [`ResponseEnd::details`]). Empty when absent or not base64.
    pub status_details: Vec<u8>,
    /// True when the status came from the response headers (a trailers-only response or
    /// a non-200 HTTP status): the headers are then the call's trailers.
    pub from_headers: bool,
    /// The HTTP status when the code comes from it (a non-200 answer without a usable
    /// `grpc-status`, S6), else 0 (no HTTP status is); [`ResponseEnd::message`] then
    /// reads "HTTP status 503".
    pub http_status: u16,
}

impl ResponseEnd {
    /// The message as text, invalid UTF-8 replaced by U+FFFD; "HTTP status 503" when the
    /// code comes from the HTTP status.
    pub fn message(&self) -> String {
        match self.http_status {
            0 => String::from_utf8_lossy(&self.message).into_owned(),
            status => alloc::format!("HTTP status {status}"),
        }
    }

    /// The `details` of [`ResponseEnd::status_details`]; empty when absent or malformed.
    pub fn details(&self) -> Vec<Any> {
        details::decode(&self.status_details).unwrap_or_default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for [`ResponseDecoder::headers`].
    Headers,
    /// Reading frames.
    Body,
    /// The trailer frame was read; only the end of the body may follow.
    AfterTrailers,
    /// The final event is ready (or was returned).
    Done,
}

/// Decodes one response; see the module docs.
#[derive(Debug)]
pub struct ResponseDecoder {
    max_message_len: usize,
    state: State,
    text: Option<Base64Decoder>,
    /// Decoded body bytes; `buf[start..]` is not returned yet.
    buf: Vec<u8>,
    start: usize,
    /// The status from the headers (trailers-only) or the trailer frame.
    status: Option<ResponseEnd>,
    ended: bool,
    last: Option<Event<'static>>,
    /// Compressed data frames are handed out rather than refused.
    compressed: bool,
}

impl ResponseDecoder {
    /// A decoder that refuses messages longer than `max_message_len` bytes
    /// (RESOURCE_EXHAUSTED).
    pub fn new(max_message_len: usize) -> Self {
        Self {
            max_message_len,
            state: State::Headers,
            text: None,
            buf: Vec::new(),
            start: 0,
            status: None,
            ended: false,
            last: None,
            compressed: false,
        }
    }

    /// Hands out compressed data frames (0x01) as [`Event::CompressedMessage`] instead of
    /// failing on them: for callers that inspect responses rather than use them (tests).
    #[must_use]
    pub fn with_compressed_messages(mut self) -> Self {
        self.compressed = true;
        self
    }

    /// Takes the HTTP status and the response headers (names in any case). A non-200
    /// status ends the call at once: `grpc-status` from the headers when it is there and
    /// not OK, else the HTTP-status table (S6). A 200 must be gRPC-Web (binary or text,
    /// by its `content-type`) or carry `grpc-status` (trailers-only).
    pub fn headers<'a, I, N>(&mut self, http_status: u16, headers: I)
    where
        I: IntoIterator<Item = (N, &'a [u8])>,
        N: AsRef<[u8]>,
    {
        if self.state != State::Headers {
            return;
        }
        let (status, content_type) = status_of(headers, true);
        if http_status != 200 {
            let status = match status {
                Some(s) if s.code != Code::Ok => s,
                _ => ResponseEnd {
                    code: Code::from_http_status(http_status),
                    message: Vec::new(),
                    status_details: Vec::new(),
                    from_headers: true,
                    http_status,
                },
            };
            return self.finish_with(Ok(status));
        }
        let mode = content_type.and_then(response_mode);
        match (mode, status) {
            (None, None) => self.finish_with(Err(ResponseError::ContentType)),
            (mode, status) => {
                if mode == Some(Mode::Text) {
                    self.text = Some(Base64Decoder::new());
                }
                self.status = status;
                self.state = State::Body;
            }
        }
    }

    /// Adds a body chunk, split anywhere. Call [`ResponseDecoder::next_event`] until it returns
    /// `None` after each push: frames are checked there.
    pub fn push(&mut self, chunk: &[u8]) {
        if !matches!(self.state, State::Body | State::AfterTrailers) || chunk.is_empty() {
            return;
        }
        if self.start > 0 {
            // What is left moves to the front; `copy_within`, `drain` and `retain` would
            // bring panic paths or more code into the wasm client. `start` never passes
            // the end: `min` lets the compiler drop `split_off`'s panic.
            if self.start >= self.buf.len() {
                self.buf.clear();
            } else {
                self.buf = self.buf.split_off(self.start.min(self.buf.len()));
            }
            self.start = 0;
        }
        match &mut self.text {
            None => self.buf.extend_from_slice(chunk),
            Some(text) => {
                if let Err(e) = text.decode_to_vec(chunk, &mut self.buf) {
                    self.finish_with(Err(ResponseError::Text(e)));
                }
            }
        }
    }

    /// The body ended.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// The next event; `None` when more input (or [`ResponseDecoder::end`]) is needed,
    /// and after the last event ([`Event::End`] or [`Event::Error`]).
    pub fn next_event(&mut self) -> Option<Event<'_>> {
        match self.state {
            State::Headers => None,
            State::Done => self.last.take(),
            State::Body => self.next_frame(),
            State::AfterTrailers => {
                if self.buf.len() > self.start {
                    self.finish_with(Err(ResponseError::DataAfterTrailers));
                    return self.last.take();
                }
                self.next_end()
            }
        }
    }

    // Slices are taken with `get`, not indexing: the wasm client then carries no panic
    // paths (their messages and locations); `start` never passes the end of `buf`.
    fn next_frame(&mut self) -> Option<Event<'_>> {
        let unread = part(&self.buf, self.start..self.buf.len());
        let Some(&raw) = unread.first_chunk::<HEADER_LEN>() else {
            return self.next_end();
        };
        let unread = unread.len();
        let header = match FrameHeader::parse(raw, self.max_message_len) {
            Ok(h) => h,
            Err(e) => {
                self.finish_with(Err(ResponseError::Frame(e)));
                return self.last.take();
            }
        };
        if header.kind.is_compressed()
            && !(self.compressed && header.kind == FrameKind::CompressedData)
        {
            self.finish_with(Err(ResponseError::Compressed));
            return self.last.take();
        }
        if unread - HEADER_LEN < header.len {
            return self.next_end();
        }
        let from = self.start + HEADER_LEN;
        self.start = from + header.len;
        let payload = from..self.start;
        match header.kind {
            FrameKind::Data => return Some(Event::Message(part(&self.buf, payload))),
            FrameKind::CompressedData => {
                return Some(Event::CompressedMessage(part(&self.buf, payload)));
            }
            _ => {}
        }
        let block = part(&self.buf, payload.clone());
        if let Some(Err(e)) = trailers::raw_entries(block).find(Result::is_err) {
            self.finish_with(Err(ResponseError::Trailers(e)));
            return self.last.take();
        }
        // A trailer frame replaces any status in the headers; without `grpc-status` the
        // end is an error.
        self.status = status_of(trailers::raw_entries(block).filter_map(Result::ok), false).0;
        self.state = State::AfterTrailers;
        Some(Event::Trailers(Trailers(part(&self.buf, payload))))
    }

    /// At the end of the body: the final event, or an error for a cut-off body.
    fn next_end(&mut self) -> Option<Event<'_>> {
        if !self.ended {
            return None;
        }
        let result = match (&self.text, self.state) {
            (Some(text), _) if !text.is_aligned() => text.finish().map_err(ResponseError::Text),
            (_, State::Body) if self.buf.len() > self.start => {
                let rest = part(&self.buf, self.start..self.buf.len());
                // The frame's whole length once its header is in.
                let need = rest
                    .get(1..HEADER_LEN)
                    .map(|l| HEADER_LEN + u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize);
                Err(ResponseError::Frame(FrameError::Truncated {
                    have: rest.len(),
                    need,
                }))
            }
            _ => Ok(()),
        };
        let result = result.and_then(|()| self.status.take().ok_or(ResponseError::NoStatus));
        self.finish_with(result);
        self.last.take()
    }

    fn finish_with(&mut self, result: Result<ResponseEnd, ResponseError>) {
        self.state = State::Done;
        self.buf = Vec::new();
        self.start = 0;
        self.last = Some(match result {
            Ok(end) => Event::End(end),
            Err(e) => Event::Error(e),
        });
    }
}

/// `buf[range]`, empty when out of bounds (never: the decoder's ranges are checked), so
/// that no panic path is compiled in.
fn part(buf: &[u8], range: core::ops::Range<usize>) -> &[u8] {
    buf.get(range).unwrap_or_default()
}

/// The status in headers or trailers: `grpc-status` (`None` without it), `grpc-message`
/// and `grpc-status-details-bin`, the first of each counting, as
/// [`crate::Status::from_entries`] reads them; and the first `content-type`, so that the
/// headers are read in one pass. Written without `str` conversions for the wasm client's
/// size.
#[inline(never)]
fn status_of<'a, I, N>(entries: I, from_headers: bool) -> (Option<ResponseEnd>, Option<&'a [u8]>)
where
    I: IntoIterator<Item = (N, &'a [u8])>,
    N: AsRef<[u8]>,
{
    // `grpc-status` as the start of `grpc-status-details-bin`: one literal in the wasm client.
    const STATUS: &str = match GRPC_STATUS_DETAILS_BIN.split_at_checked(GRPC_STATUS.len()) {
        Some((status, _)) => status,
        None => GRPC_STATUS,
    };
    let (mut code, mut message, mut details, mut content_type) = (None, None, None, None);
    for (name, value) in entries {
        let name = name.as_ref();
        let slot = if is_lowercase(name, "content-type") {
            &mut content_type
        } else if is_lowercase(name, STATUS) {
            &mut code
        } else if is_lowercase(name, GRPC_MESSAGE) {
            &mut message
        } else if is_lowercase(name, GRPC_STATUS_DETAILS_BIN) {
            &mut details
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    let status = code.map(|code| ResponseEnd {
        code: Code::parse(code).unwrap_or(Code::Unknown),
        message: message.map(percent::decode_bytes).unwrap_or_default(),
        status_details: details.and_then(decode_bin).unwrap_or_default(),
        from_headers,
        http_status: 0,
    });
    (status, content_type)
}

/// One `-bin` value, padded or not (S9), with the text decoder already in the client;
/// `None` when it is not base64 (several comma-separated values included).
fn decode_bin(value: &[u8]) -> Option<Vec<u8>> {
    let mut decoder = Base64Decoder::new();
    let mut out = Vec::new();
    decoder.decode_to_vec(value, &mut out).ok()?;
    while !decoder.is_aligned() {
        decoder.decode_to_vec(b"=", &mut out).ok()?;
    }
    Some(out)
}

mod error;
#[cfg(test)]
mod tests;

pub use error::ResponseError;

//! What the fake backend answers: [`Reply`], [`End`] and the [`Script`] that picks them.

use super::RecordedRequest;
use bytes::Bytes;
use grpcweb_protocol::Code;
use grpcweb_protocol::Status;
use h2::Reason;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::time::Duration;

/// Picks the [`Reply`] to each request the [`super::FakeBackend`] receives.
///
/// Implemented by [`Reply`] itself (the same reply to every request) and by closures
/// `Fn(&RecordedRequest) -> Reply`, which see the request's headers and full body.
pub trait Script: Send + Sync + 'static {
    /// The reply to `request`.
    fn reply(&self, request: &RecordedRequest) -> Reply;
}

impl Script for Reply {
    fn reply(&self, _: &RecordedRequest) -> Reply {
        self.clone()
    }
}

impl<F> Script for F
where
    F: Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
{
    fn reply(&self, request: &RecordedRequest) -> Reply {
        self(request)
    }
}

/// One scripted answer. Build with the constructors, adjust with the `with_*` methods.
///
/// Every gRPC reply gets `content-type: application/grpc` unless its headers say
/// otherwise.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Reply {
    /// A plain HTTP response (not gRPC): `status`, `headers`, then `body` (no body frame
    /// when empty; END_STREAM on the HEADERS then).
    Http {
        /// HTTP status.
        status: StatusCode,
        /// Response headers, `content-type` included.
        headers: HeaderMap,
        /// Body, sent as one DATA frame with END_STREAM.
        body: Bytes,
    },
    /// A gRPC trailers-only response: one HEADERS frame with END_STREAM, carrying
    /// `:status 200`, the content type, `grpc-status`, `grpc-message` and metadata.
    TrailersOnly {
        /// Everything after `:status`.
        headers: HeaderMap,
    },
    /// A gRPC response: HEADERS, one DATA frame per message (`interval` apart), then
    /// `end`.
    Grpc {
        /// Response headers (metadata).
        headers: HeaderMap,
        /// Message payloads, each framed as a 0x00 frame unless `raw`.
        messages: Vec<Bytes>,
        /// Send each entry of `messages` as-is as one DATA frame (no gRPC framing): for
        /// frames split across DATA frames, compressed flags, garbage.
        raw: bool,
        /// Wait before each message after the first, and before `end`.
        interval: Duration,
        /// How the stream ends.
        end: End,
    },
    /// A gRPC response that sends `message` every `every`, forever, until the stream is
    /// cancelled (recorded as a [`super::Cancellation`]).
    Forever {
        /// Response headers (metadata).
        headers: HeaderMap,
        /// The payload of every message.
        message: Bytes,
        /// Time between messages (the first goes at once).
        every: Duration,
    },
    /// Never answer, not even headers, until the stream is cancelled.
    Hang,
}

/// How a [`Reply::Grpc`] stream ends after its messages.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum End {
    /// A trailing HEADERS frame with END_STREAM carrying these trailers.
    Trailers(HeaderMap),
    /// `RST_STREAM` with this reason, after the messages have reached the socket.
    Reset(Reason),
    /// END_STREAM on the last DATA frame (an empty one if there are no messages): no
    /// trailers, so no `grpc-status` at all.
    NoTrailers,
    /// Keep the stream open, sending nothing more, until it is cancelled.
    Hang,
}

impl Reply {
    /// A plain HTTP response with a `content-type` and a body.
    pub fn http(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("valid content-type"),
        );
        Self::Http {
            status: StatusCode::from_u16(status).expect("valid HTTP status"),
            headers,
            body: body.into(),
        }
    }

    /// HTTP 404, `content-type: text/html`, an HTML body: what a misrouted request meets.
    pub fn not_found_html() -> Self {
        Self::http(
            404,
            "text/html; charset=utf-8",
            "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\
             <body><h1>Not Found</h1><p>No route for this path.</p></body></html>\n",
        )
    }

    /// HTTP 503, `content-type: text/plain`, a text body: an overloaded backend.
    pub fn unavailable_text() -> Self {
        Self::http(503, "text/plain", "upstream overloaded: try again later\n")
    }

    /// A trailers-only response with `grpc-status: code` and (if not empty) the
    /// percent-encoded `grpc-message`. Add metadata with [`Reply::with_header`].
    pub fn trailers_only(code: Code, message: &str) -> Self {
        let mut headers = Status::new(code, message).to_header_map();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        Self::TrailersOnly { headers }
    }

    /// A normal successful response: the messages, then trailers `grpc-status: 0`.
    pub fn ok(messages: Vec<Bytes>) -> Self {
        Self::grpc(messages, End::status(Code::Ok, ""))
    }

    /// The messages, then trailers with `code` and `message`.
    pub fn error_after(messages: Vec<Bytes>, code: Code, message: &str) -> Self {
        Self::grpc(messages, End::status(code, message))
    }

    /// The messages, then `RST_STREAM` with `reason` (`INTERNAL_ERROR`, `CANCEL`,
    /// `REFUSED_STREAM`, `ENHANCE_YOUR_CALM`, ...).
    pub fn reset_after(messages: Vec<Bytes>, reason: Reason) -> Self {
        Self::grpc(messages, End::Reset(reason))
    }

    /// The messages, the last DATA frame carrying END_STREAM: no trailers at all.
    pub fn no_trailers(messages: Vec<Bytes>) -> Self {
        Self::grpc(messages, End::NoTrailers)
    }

    /// `message` every `every` until cancelled.
    pub fn forever(message: impl Into<Bytes>, every: Duration) -> Self {
        Self::Forever {
            headers: HeaderMap::new(),
            message: message.into(),
            every,
        }
    }

    /// Never answer until cancelled.
    pub fn hang() -> Self {
        Self::Hang
    }

    /// A gRPC response with these messages and this ending, no delay between messages.
    pub fn grpc(messages: Vec<Bytes>, end: End) -> Self {
        Self::Grpc {
            headers: HeaderMap::new(),
            messages,
            raw: false,
            interval: Duration::ZERO,
            end,
        }
    }

    /// Adds a response header (for a trailers-only reply: one more entry in its single
    /// HEADERS frame). Ignored by [`Reply::Hang`].
    ///
    /// # Panics
    ///
    /// Panics on an invalid name or value.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let (name, value) = header(name, value);
        match &mut self {
            Self::Http { headers, .. }
            | Self::TrailersOnly { headers }
            | Self::Grpc { headers, .. }
            | Self::Forever { headers, .. } => {
                headers.append(name, value);
            }
            Self::Hang => {}
        }
        self
    }

    /// Adds a trailer to a [`Reply::Grpc`] that ends with [`End::Trailers`]; no effect
    /// on other replies.
    ///
    /// # Panics
    ///
    /// Panics on an invalid name or value.
    pub fn with_trailer(mut self, name: &str, value: &str) -> Self {
        if let Self::Grpc {
            end: End::Trailers(trailers),
            ..
        } = &mut self
        {
            let (name, value) = header(name, value);
            trailers.append(name, value);
        }
        self
    }

    /// Sets the wait between messages of a [`Reply::Grpc`] (or the period of a
    /// [`Reply::Forever`]).
    pub fn with_interval(mut self, every: Duration) -> Self {
        match &mut self {
            Self::Grpc { interval, .. } => *interval = every,
            Self::Forever { every: e, .. } => *e = every,
            _ => {}
        }
        self
    }

    /// Marks a [`Reply::Grpc`]'s messages as raw DATA frame contents (no gRPC framing).
    pub fn with_raw_messages(mut self) -> Self {
        if let Self::Grpc { raw, .. } = &mut self {
            *raw = true;
        }
        self
    }
}

impl End {
    /// Trailers with `grpc-status: code` and (if not empty) the percent-encoded
    /// `grpc-message`.
    pub fn status(code: Code, message: &str) -> Self {
        Self::Trailers(Status::new(code, message).to_header_map())
    }
}

fn header(name: &str, value: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_bytes(name.as_bytes()).expect("valid header name"),
        HeaderValue::from_str(value).expect("valid header value"),
    )
}

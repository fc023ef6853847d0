//! The one place where failures become what the client sees: an HTTP status, a
//! `grpc-status` and a `grpc-message`. Every module that fails a call names the kind of
//! failure (a `Failure`); `Failure::answer` is the table below, and nothing else mints a
//! status.
//!
//! | failure | HTTP | grpc-status |
//! |---|---|---|
//! | wrong method | 405 | UNIMPLEMENTED (12) |
//! | the server's handling of the call panicked (a bug; see [`panicked`]) | 500 | INTERNAL (13) |
//! | a request let through untranslated (`pass_through_other`) whose inner call failed | 502 | as the failure's row says |
//! | not gRPC or gRPC-Web content type | 415 | INTERNAL (13) |
//! | malformed request body (bad base64, unknown flag, truncated frame, a trailer frame), bad `grpc-timeout` | 400 | INTERNAL (13) |
//! | request body not received within the body read timeout | 408 | DEADLINE_EXCEEDED (4) |
//! | request message over the limit, request buffer budget used up | 200 | RESOURCE_EXHAUSTED (8) |
//! | a second request message (or none) in a unary or server-streaming gRPC-Web call | 200 | UNIMPLEMENTED (12) |
//! | origin not allowed (CORS) | 403 | PERMISSION_DENIED (7) |
//! | no route for the service | 200 | UNIMPLEMENTED (12), no backend touched |
//! | path not `/package.Service/Method` (or with a query) | 200 | UNIMPLEMENTED (12), no backend touched |
//! | backend unreachable, connection refused, connection lost (before or during the response) | 200 | UNAVAILABLE (14) |
//! | too many calls waiting for a connection to the endpoint, or none free at the connection limit within the connect timeout | 200 | UNAVAILABLE (14) |
//! | the drain ends before the backend's response headers, or while the call streams | 200 | UNAVAILABLE (14) |
//! | backend resets the stream (before or during the response) | 200 | by reason: CANCEL -> CANCELLED, REFUSED_STREAM -> UNAVAILABLE, ENHANCE_YOUR_CALM -> RESOURCE_EXHAUSTED, others INTERNAL |
//! | backend resets the stream with CANCEL when the call's deadline has passed (or is less than 5 ms away) | 200 | DEADLINE_EXCEEDED (4) |
//! | backend answers without gRPC (gRPC-Web and native gRPC calls) | 200 | from its HTTP status (S6 table); the backend's body is never passed on |
//! | backend trailers without `grpc-status`, or a stream that ends without trailers | 200 | UNKNOWN (2) |
//! | deadline passes | 200 | DEADLINE_EXCEEDED (4) |
//! | native gRPC: bad `grpc-timeout` | 200 | INTERNAL (13), trailers-only, no backend touched |
//! | streamed gRPC-Web request (request streaming on): a later message over the limit / a trailer frame / a message not whole within the body read timeout of its first bytes / no message (nor the end) within the request idle timeout of the last | 200 | RESOURCE_EXHAUSTED (8) / INTERNAL (13) / DEADLINE_EXCEEDED (4) / DEADLINE_EXCEEDED (4), in the trailer frame; the backend stream is reset |
//! | native gRPC: request message over the limit / trailer frame or unknown flag in the request / a request message not whole within the body read timeout | 200 | RESOURCE_EXHAUSTED (8) / INTERNAL (13) / DEADLINE_EXCEEDED (4), in trailers; the backend stream is reset |
//! | backend DATA holding a trailer frame (0x80) or an unknown flag, response message over the limit (gRPC-Web) | 200 | INTERNAL (13) / RESOURCE_EXHAUSTED (8) |
//! | any of these after part of a response message was forwarded | the response is cut (HTTP/2 stream reset, HTTP/1.1 connection closed): a trailer frame there would be read as the rest of the message |
//!
//! The standalone proxy's JSON transcoding adds its own rows (no descriptor, malformed
//! JSON, ...) in `grpcweb-transcode`'s `failure` module, an extension of this table.
//!
//! The HTTP column is for gRPC-Web. Native gRPC calls get their status in trailers, or
//! trailers-only (HTTP 200), whatever the failure.
//!
//! Messages of backend failures say which kind of failure it was, never more: backend
//! addresses, OS and resolver errors, TLS details and the bodies of error pages are for
//! the operator's log, never for `grpc-message`. The inner service says which kind its
//! failure is with a [`BackendError`]; an error without one is a failure of unknown kind.
//!
//! gRPC outcomes use HTTP 200 with the status in a trailer frame (gRPC-Web) or in
//! trailers-only headers (native gRPC). Requests the layer cannot read at all get a 4xx
//! with the status in the headers.

use grpcweb_protocol::framing::FrameError;
use grpcweb_protocol::timeout::TimeoutError;
use grpcweb_protocol::{Code, Status};
use http::{HeaderValue, Method, StatusCode};
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

use crate::backend_error::{BackendError, BackendErrorKind};
use crate::error::find;
use crate::request_error::RequestError;

/// When an inner service's error came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Before the response headers.
    Call,
    /// While the response body streamed (S7).
    Stream,
}

/// Every kind of failure the layer answers, with what its message needs.
#[derive(Debug)]
pub(crate) enum Failure<'a> {
    MethodNotAllowed(&'a Method),
    UnsupportedContentType(Option<&'a HeaderValue>),
    BadTimeout(TimeoutError, HeaderValue),
    BodyTimeout(Duration),
    Request(&'a RequestError),
    NoRequestMessage,
    OriginNotAllowed(&'a HeaderValue),
    DeadlineExceeded,
    /// The backend cancelled the call at its deadline.
    BackendDeadline,
    /// The drain timeout passed while the call was still streaming.
    ShuttingDown,
    /// The backend answered with this HTTP status and no gRPC status (S6).
    NotGrpc(StatusCode),
    TrailersWithoutStatus,
    EndedWithoutTrailers,
    ResponseTooLarge {
        len: usize,
        max: usize,
    },
    MalformedResponse(FrameError),
    TrailersInsideMessage,
    Backend(&'a BackendErrorKind, Stage),
    /// An inner service's error of no known kind.
    Inner(Stage),
    /// Handling the call panicked.
    Panicked,
    /// A request let through untranslated (`pass_through_other`) whose inner call failed.
    PassThrough(Box<Failure<'a>>),
}

/// A backend's CANCEL this close to the call's deadline is the deadline passing. Servers
/// that enforce `grpc-timeout` (grpc-go) reset the stream with CANCEL and no status when
/// it passes; their clock starts later than the layer's, but the layer's timer can still
/// lose the race by a timer tick or two.
const DEADLINE_MARGIN: Duration = Duration::from_millis(5);

/// HTTP/2 CANCEL, REFUSED_STREAM and ENHANCE_YOUR_CALM.
const CANCEL: u32 = 0x8;
const REFUSED_STREAM: u32 = 0x7;
const ENHANCE_YOUR_CALM: u32 = 0xb;

impl<'a> Failure<'a> {
    /// The failure an inner service's error `err` stands for, at `stage` of a call whose
    /// deadline is `deadline`.
    pub(crate) fn of_inner(
        err: &'a (dyn std::error::Error + 'static),
        stage: Stage,
        deadline: Option<Instant>,
    ) -> Self {
        if stage == Stage::Call
            && let Some(e) = find::<RequestError>(err)
        {
            return Self::Request(e);
        }
        match find::<BackendError>(err).map(BackendError::kind) {
            Some(BackendErrorKind::Reset {
                reason: CANCEL,
                remote: true,
            }) if deadline.is_some_and(|d| Instant::now() + DEADLINE_MARGIN >= d) => {
                Self::BackendDeadline
            }
            Some(kind) => Self::Backend(kind, stage),
            None => Self::Inner(stage),
        }
    }

    /// The table: the HTTP status of a gRPC-Web answer (200: the status goes in a
    /// trailer frame; else in the headers of that HTTP status), the gRPC code, and the
    /// message.
    pub(crate) fn answer(&self) -> (StatusCode, Code, String) {
        use Code::*;
        let ok = StatusCode::OK;
        match self {
            Self::MethodNotAllowed(method) => (
                StatusCode::METHOD_NOT_ALLOWED,
                Unimplemented,
                format!("method {method} not allowed: gRPC-Web needs POST"),
            ),
            Self::UnsupportedContentType(got) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Internal,
                match got {
                    Some(ct) => format!(
                        "unsupported content-type {:?}: expected application/grpc-web, application/grpc-web-text or application/grpc",
                        String::from_utf8_lossy(ct.as_bytes())
                    ),
                    None => "missing content-type: expected application/grpc-web, application/grpc-web-text or application/grpc".to_owned(),
                },
            ),
            Self::BadTimeout(e, value) => (
                StatusCode::BAD_REQUEST,
                Internal,
                format!("{e}: {:?}", String::from_utf8_lossy(value.as_bytes())),
            ),
            Self::BodyTimeout(timeout) => (
                StatusCode::REQUEST_TIMEOUT,
                DeadlineExceeded,
                format!("request body not received within {timeout:?}"),
            ),
            Self::Request(e) => {
                let code = match e {
                    RequestError::Frame(FrameError::TooLarge { .. })
                    | RequestError::Native(FrameError::TooLarge { .. })
                    | RequestError::BodyTooLarge { .. }
                    | RequestError::OverBudget { .. } => ResourceExhausted,
                    RequestError::SecondMessage => Unimplemented,
                    RequestError::MessageTimeout { .. } | RequestError::IdleTimeout { .. } => {
                        DeadlineExceeded
                    }
                    RequestError::Body(_) => Cancelled,
                    _ => Internal,
                };
                let http = match code {
                    ResourceExhausted | Cancelled | Unimplemented => ok,
                    _ => StatusCode::BAD_REQUEST,
                };
                (http, code, e.to_string())
            }
            Self::NoRequestMessage => (
                ok,
                Unimplemented,
                "a gRPC-Web call sends exactly one request message, this one sent 0".to_owned(),
            ),
            Self::OriginNotAllowed(origin) => (
                StatusCode::FORBIDDEN,
                PermissionDenied,
                format!("origin {} is not allowed", String::from_utf8_lossy(origin.as_bytes())),
            ),
            Self::DeadlineExceeded => (ok, DeadlineExceeded, "deadline exceeded".to_owned()),
            Self::BackendDeadline => (
                ok,
                DeadlineExceeded,
                "deadline exceeded (the backend cancelled the call at its deadline)".to_owned(),
            ),
            Self::ShuttingDown => (
                ok,
                Unavailable,
                "proxy shutting down: the call outlived the drain timeout".to_owned(),
            ),
            Self::NotGrpc(http) => (
                ok,
                if *http == StatusCode::OK {
                    Unknown
                } else {
                    Code::from_http_status(http.as_u16())
                },
                format!("backend answered HTTP {http} without a gRPC status"),
            ),
            Self::TrailersWithoutStatus => {
                (ok, Unknown, "backend trailers carry no grpc-status".to_owned())
            }
            Self::EndedWithoutTrailers => {
                (ok, Unknown, "backend ended the stream without trailers".to_owned())
            }
            Self::ResponseTooLarge { len, max } => (
                ok,
                ResourceExhausted,
                format!("response message of {len} bytes is larger than the limit of {max} bytes"),
            ),
            Self::MalformedResponse(e) => (
                ok,
                Internal,
                format!("backend sent a malformed response: {e}"),
            ),
            Self::TrailersInsideMessage => (
                ok,
                Internal,
                "backend sent a malformed response: trailers inside a message".to_owned(),
            ),
            Self::Backend(kind, stage) => {
                let (code, message) = backend(kind, *stage);
                (ok, code, message)
            }
            Self::Inner(Stage::Call) => (ok, Unavailable, "backend call failed".to_owned()),
            Self::Inner(Stage::Stream) => (ok, Internal, "backend stream failed".to_owned()),
            Self::Panicked => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Internal,
                "internal error: the call failed inside the proxy".to_owned(),
            ),
            Self::PassThrough(failure) => {
                let (_, code, message) = failure.answer();
                (StatusCode::BAD_GATEWAY, code, message)
            }
        }
    }

    /// The gRPC status of the answer.
    pub(crate) fn status(&self) -> Status {
        let (_, code, message) = self.answer();
        Status::new(code, message)
    }
}

/// The answer to a call whose handling panicked (a bug), for a server that catches
/// panics around its calls: HTTP 500 with INTERNAL in the headers, which gRPC and gRPC-Web
/// clients both read. Its body is `B::default()`.
pub fn panicked<B: Default>() -> http::Response<B> {
    let (http, code, message) = Failure::Panicked.answer();
    let mut res = http::Response::new(B::default());
    *res.status_mut() = http;
    Status::new(code, message).write_to(res.headers_mut());
    res
}

fn backend(kind: &BackendErrorKind, stage: Stage) -> (Code, String) {
    match kind {
        BackendErrorKind::NoRoute { service } => (
            Code::Unimplemented,
            format!("no route for service {service:?} on this proxy"),
        ),
        BackendErrorKind::NotAMethodPath => (
            Code::Unimplemented,
            "not a gRPC method path: expected /package.Service/Method with no query".to_owned(),
        ),
        BackendErrorKind::Overloaded => (
            Code::Unavailable,
            "backend overloaded: no connection free for the call".to_owned(),
        ),
        BackendErrorKind::ShuttingDown => (Code::Unavailable, "proxy shutting down".to_owned()),
        BackendErrorKind::Unreachable => (
            Code::Unavailable,
            "backend unavailable: no connection could be made".to_owned(),
        ),
        BackendErrorKind::Reset { reason, remote } => {
            let code = match *reason {
                CANCEL => Code::Cancelled,
                REFUSED_STREAM => Code::Unavailable,
                ENHANCE_YOUR_CALM => Code::ResourceExhausted,
                _ => Code::Internal,
            };
            let who = if *remote {
                "backend reset the stream"
            } else {
                "stream to the backend reset"
            };
            // The reason's name only: a GOAWAY's debug data is the backend's to say.
            (code, format!("{who} ({})", ReasonName(*reason)))
        }
        BackendErrorKind::ConnectionLost => (
            Code::Unavailable,
            match stage {
                Stage::Call => "backend unavailable: connection to the backend lost",
                Stage::Stream => "connection to the backend lost",
            }
            .to_owned(),
        ),
        BackendErrorKind::Other => match stage {
            Stage::Call => (Code::Unavailable, "backend call failed".to_owned()),
            Stage::Stream => (Code::Internal, "backend stream failed".to_owned()),
        },
    }
}

/// An HTTP/2 error code by its RFC 9113 name (as h2 prints others: `Reason(1f)`).
struct ReasonName(u32);

impl fmt::Display for ReasonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 14] = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        match usize::try_from(self.0).ok().and_then(|i| NAMES.get(i)) {
            Some(name) => f.write_str(name),
            None => write!(f, "Reason({:x})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_reasons_are_named_as_the_rfc_names_them() {
        assert_eq!(ReasonName(0x8).to_string(), "CANCEL");
        assert_eq!(ReasonName(0xd).to_string(), "HTTP_1_1_REQUIRED");
        assert_eq!(ReasonName(0x1f).to_string(), "Reason(1f)");
    }

    #[test]
    fn a_cancel_at_the_deadline_is_the_deadline() {
        let err = BackendError::from_kind(BackendErrorKind::Reset {
            reason: CANCEL,
            remote: true,
        });
        let now = Instant::now();
        let status = Failure::of_inner(&err, Stage::Stream, Some(now)).status();
        assert_eq!(status.code, Code::DeadlineExceeded);
        let later = now + Duration::from_secs(60);
        let status = Failure::of_inner(&err, Stage::Stream, Some(later)).status();
        assert_eq!(status.code, Code::Cancelled);
        assert_eq!(status.message, "backend reset the stream (CANCEL)");
    }
}

//! The one place where failures become what the client sees: an HTTP status, a
//! `grpc-status` and a `grpc-message`.
//!
//! | failure | HTTP | grpc-status |
//! |---|---|---|
//! | wrong method | 405 | UNIMPLEMENTED (12) |
//! | not gRPC or gRPC-Web content type | 415 | INTERNAL (13) |
//! | malformed request body (bad base64, unknown flag, truncated frame, a trailer frame), bad `grpc-timeout` | 400 | INTERNAL (13) |
//! | request message over the limit, request buffer budget used up | 200 | RESOURCE_EXHAUSTED (8) |
//! | a second request message (or none) in a unary or server-streaming gRPC-Web call | 200 | UNIMPLEMENTED (12) |
//! | origin not allowed (CORS) | 403 | PERMISSION_DENIED (7) |
//! | no route for the service | 200 | UNIMPLEMENTED (12), no backend touched |
//! | path not `/package.Service/Method` (or with a query) | 200 | UNIMPLEMENTED (12), no backend touched |
//! | backend unreachable, connection refused, connection lost (before or during the response) | 200 | UNAVAILABLE (14) |
//! | too many calls waiting for a connection to the endpoint (`max_pending_calls`), or none free at the connection limit within `connect_timeout` | 200 | UNAVAILABLE (14) |
//! | the drain ends before the backend's response headers | 200 | UNAVAILABLE (14) |
//! | backend resets the stream (before or during the response) | 200 | by reason: CANCEL -> CANCELLED, REFUSED_STREAM -> UNAVAILABLE, ENHANCE_YOUR_CALM -> RESOURCE_EXHAUSTED, others INTERNAL |
//! | backend resets the stream with CANCEL when the call's deadline has passed (or is less than 5 ms away) | 200 | DEADLINE_EXCEEDED (4) |
//! | backend answers without gRPC (gRPC-Web and native gRPC calls) | 200 | from its HTTP status (S6 table); the backend's body is never passed on |
//! | deadline passes | 200 | DEADLINE_EXCEEDED (4) |
//! | native gRPC: bad `grpc-timeout` | 200 | INTERNAL (13), trailers-only, no backend touched |
//! | native gRPC: request message over the limit / trailer frame or unknown flag in the request / a request message not whole within the body read timeout | 200 | RESOURCE_EXHAUSTED (8) / INTERNAL (13) / DEADLINE_EXCEEDED (4), in trailers; the backend stream is reset |
//! | backend DATA holding a trailer frame (0x80) or an unknown flag (gRPC-Web) | 200 | INTERNAL (13) |
//! | any of these after part of a response message was forwarded | the response is cut (HTTP/2 stream reset, HTTP/1.1 connection closed): a trailer frame there would be read as the rest of the message |
//!
//! Messages of backend failures say which kind of failure it was, never more: backend
//! addresses, OS and resolver errors, TLS details and the bodies of error pages are for
//! the operator, and go to the log with the call's path (the `upstream` module writes
//! them), never to `grpc-message`.
//!
//! gRPC outcomes use HTTP 200 with the status in a trailer frame (gRPC-Web) or in
//! trailers-only headers (native gRPC). Requests the proxy cannot read at all get a 4xx
//! with the status in the headers.

use grpcweb_protocol::content_type::Codec;
use grpcweb_protocol::{Code, ContentType, Mode, Status};
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use std::time::Duration;
use tokio::time::Instant;

use crate::BoxError;
use crate::grpc_web::request::RequestError;
use crate::grpc_web::response::{ResponseBody, trailer_frame};
use crate::router::RouteError;
use crate::upstream::UpstreamError;

/// A gRPC-Web response that carries only `status`: HTTP 200, the content type, and a
/// body of one trailer frame.
pub(crate) fn web_status<B>(ct: &ContentType, status: &Status) -> Response<ResponseBody<B>> {
    let body = trailer_frame(ct.mode, &status.to_header_map());
    let mut res = Response::new(ResponseBody::status_frame(body, status.code));
    res.headers_mut()
        .insert(CONTENT_TYPE, content_type_value(ct));
    res
}

/// A native gRPC trailers-only response carrying `status`.
pub(crate) fn grpc_status<B>(status: &Status) -> Response<ResponseBody<B>> {
    let mut res = Response::new(ResponseBody::empty());
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    status.write_to(res.headers_mut());
    res
}

/// A 4xx answer to a request the proxy refuses to read, with the status in headers.
pub(crate) fn refuse<B>(
    http: StatusCode,
    ct: Option<&ContentType>,
    status: &Status,
) -> Response<ResponseBody<B>> {
    let mut res = Response::new(ResponseBody::empty());
    *res.status_mut() = http;
    let headers = res.headers_mut();
    if let Some(ct) = ct {
        headers.insert(CONTENT_TYPE, content_type_value(ct));
    }
    if http == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    }
    status.write_to(headers);
    res
}

/// The answer to a gRPC-Web request whose body could not be read.
pub(crate) fn request_error<B>(ct: &ContentType, err: &RequestError) -> Response<ResponseBody<B>> {
    let status = err.status();
    match status.code {
        Code::ResourceExhausted | Code::Cancelled | Code::Unimplemented => web_status(ct, &status),
        _ => refuse(StatusCode::BAD_REQUEST, Some(ct), &status),
    }
}

pub(crate) fn content_type_value(ct: &ContentType) -> HeaderValue {
    // The common cases without building the value.
    match (ct.mode, &ct.codec) {
        (Mode::Binary, Codec::Proto) => HeaderValue::from_static("application/grpc-web+proto"),
        (Mode::Text, Codec::Proto) => HeaderValue::from_static("application/grpc-web-text+proto"),
        _ => HeaderValue::from_str(&ct.response_header())
            .unwrap_or_else(|_| HeaderValue::from_static("application/grpc-web+proto")),
    }
}

/// A backend's CANCEL this close to the call's deadline is the deadline passing. Servers
/// that enforce `grpc-timeout` (grpc-go) reset the stream with CANCEL and no status when
/// it passes; their clock starts later than the proxy's, but the proxy's timer can still
/// lose the race by a timer tick or two.
const DEADLINE_MARGIN: Duration = Duration::from_millis(5);

/// The status for a call that failed before the backend's response headers arrived.
/// `deadline` is the call's, if it has one.
pub(crate) fn call_error_status(err: &BoxError, deadline: Option<Instant>) -> Status {
    if let Some(e) = find::<RequestError>(&**err) {
        return e.status();
    }
    if let Some(RouteError::NoRoute { .. } | RouteError::InvalidPath) = find::<RouteError>(&**err) {
        return Status::new(Code::Unimplemented, err.to_string());
    }
    let upstream = find::<UpstreamError>(&**err);
    if let Some(e) = upstream {
        if e.is_overflow() {
            return Status::new(
                Code::Unavailable,
                "backend overloaded: no connection free for the call",
            );
        }
        if e.is_shutdown() {
            return Status::new(Code::Unavailable, "proxy shutting down");
        }
        if e.is_connect() {
            return Status::new(
                Code::Unavailable,
                "backend unavailable: no connection could be made",
            );
        }
    }
    if let Some(reason) = h2_reason(&**err) {
        return reset_status(reason, &**err, deadline);
    }
    if upstream.is_some() || connection_lost(&**err) {
        return Status::new(
            Code::Unavailable,
            "backend unavailable: connection to the backend lost",
        );
    }
    Status::new(Code::Unavailable, "backend call failed")
}

/// The status for a backend response body that failed after some of it was sent (S7).
/// `deadline` is the call's, if it has one.
pub(crate) fn stream_error_status(err: &BoxError, deadline: Option<Instant>) -> Status {
    match h2_reason(&**err) {
        Some(reason) => reset_status(reason, &**err, deadline),
        // The connection to the backend broke (it went away, a socket error): the call may
        // succeed on a new connection, which is what UNAVAILABLE says.
        None if connection_lost(&**err) => {
            Status::new(Code::Unavailable, "connection to the backend lost")
        }
        None => Status::new(Code::Internal, "backend stream failed"),
    }
}

/// Whether `err` is the backend connection breaking rather than the stream failing on it:
/// an I/O error, or hyper's closed connection or incomplete message.
fn connection_lost(err: &(dyn std::error::Error + 'static)) -> bool {
    find::<std::io::Error>(err).is_some()
        || find::<h2::Error>(err).is_some_and(h2::Error::is_io)
        || find::<hyper::Error>(err)
            .is_some_and(|e| e.is_closed() || e.is_incomplete_message() || e.is_canceled())
}

fn reset_status(
    reason: h2::Reason,
    err: &(dyn std::error::Error + 'static),
    deadline: Option<Instant>,
) -> Status {
    let remote = find::<h2::Error>(err).is_none_or(h2::Error::is_remote);
    if reason == h2::Reason::CANCEL
        && remote
        && deadline.is_some_and(|d| Instant::now() + DEADLINE_MARGIN >= d)
    {
        return Status::new(
            Code::DeadlineExceeded,
            "deadline exceeded (the backend cancelled the call at its deadline)",
        );
    }
    let code = match reason {
        h2::Reason::CANCEL => Code::Cancelled,
        h2::Reason::REFUSED_STREAM => Code::Unavailable,
        h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
        _ => Code::Internal,
    };
    let who = if remote {
        "backend reset the stream"
    } else {
        "stream to the backend reset"
    };
    // The reason's name only: h2's message for a GOAWAY quotes the backend's debug data.
    Status::new(code, format!("{who} ({reason:?})"))
}

fn h2_reason(err: &(dyn std::error::Error + 'static)) -> Option<h2::Reason> {
    find::<h2::Error>(err).and_then(h2::Error::reason)
}

/// The first error of type `E` in the source chain.
fn find<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        cur = e.source();
    }
    None
}

/// The messages of the source chain, joined, without repeats.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let msg = e.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = e.source();
    }
    out
}

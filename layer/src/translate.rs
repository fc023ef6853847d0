//! Translation of headers: the request toward the backend (R2), the response back to a
//! gRPC-Web client (S1, S4-S6).

use bytes::Bytes;
use grpcweb_protocol::content_type::Codec;
use grpcweb_protocol::status::GRPC_STATUS_HEADER;
use grpcweb_protocol::{Code, ContentType};
use http::header::{self, CONTENT_LENGTH, CONTENT_TYPE, HeaderName};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body::Body;

use crate::error::BoxError;
use crate::frame::trailer_frame;
use crate::respond::content_type_value;
use crate::response::{ResponseBody, StreamOptions, WebResponseBody};

const GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");

/// Headers that describe one connection, never forwarded (R2).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "host"
    )
}

/// Removes the headers that describe one connection (`connection` and those it names,
/// `keep-alive`, `transfer-encoding`, `te`, `upgrade`, `host`, ...): they are never
/// forwarded (R2).
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // Usually there is none: look before allocating.
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    // Headers named in `connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    let hop: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_hop_by_hop(n))
        .cloned()
        .collect();
    for name in hop {
        headers.remove(name);
    }
}

pub(crate) fn rewrite_request_headers(headers: &mut HeaderMap, ct: &ContentType) {
    // `te: trailers` (which gRPC clients send) is what goes upstream anyway: leave it
    // rather than take the slow path for it.
    let mut te = headers.get_all(header::TE).iter();
    let te_trailers = te.next().is_some_and(|v| v == "trailers") && te.next().is_none();
    if headers
        .keys()
        .any(|n| is_hop_by_hop(n) && !(te_trailers && n == header::TE))
    {
        remove_hop_by_hop(headers);
    }
    headers.remove(CONTENT_LENGTH);
    let upstream = match ct.codec {
        // The common case, without building the value.
        Codec::Proto => HeaderValue::from_static("application/grpc"),
        _ => HeaderValue::from_str(&ct.upstream_header())
            .unwrap_or_else(|_| HeaderValue::from_static("application/grpc")),
    };
    headers.insert(CONTENT_TYPE, upstream);
    if !te_trailers || !headers.contains_key(header::TE) {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
    if let http::header::Entry::Vacant(e) = headers.entry(GRPC_ACCEPT_ENCODING) {
        e.insert(HeaderValue::from_static("identity"));
    }
}

fn is_grpc_content_type(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.len() >= 16 && v[..16].eq_ignore_ascii_case(b"application/grpc")
    })
}

/// For a backend answer that is not gRPC (S6): its HTTP status, from which the client's
/// status is made. What the backend said is the inner service's to log, never shown to
/// clients (an error page can show internals). `None` for a gRPC answer.
pub(crate) fn not_grpc(parts: &http::response::Parts) -> Option<StatusCode> {
    let grpc = parts.headers.contains_key(GRPC_STATUS_HEADER)
        || (parts.status == StatusCode::OK && is_grpc_content_type(&parts.headers));
    (!grpc).then_some(parts.status)
}

pub(crate) fn translate_response<B>(
    res: Response<B>,
    ct: &ContentType,
    options: StreamOptions<'_>,
) -> Response<ResponseBody<B>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = res.into_parts();
    let content_type = content_type_value(ct);

    if parts.headers.contains_key(GRPC_STATUS_HEADER) {
        // Trailers-only (S5): every header is metadata of the status, so all of it goes
        // into the trailer frame, where the client can read it even if CORS hides headers.
        let mut trailers = std::mem::take(&mut parts.headers);
        remove_hop_by_hop(&mut trailers);
        for name in [CONTENT_TYPE, CONTENT_LENGTH, header::DATE] {
            trailers.remove(name);
        }
        let code = trailers.get(GRPC_STATUS_HEADER).map_or(Code::Unknown, |v| {
            Code::parse(v.as_bytes()).unwrap_or(Code::Unknown)
        });
        let frame = trailer_frame(ct.mode, &trailers);
        let mut res = Response::new(ResponseBody::status_frame(frame, code));
        res.headers_mut().insert(CONTENT_TYPE, content_type);
        return res;
    }

    if let Some(http) = not_grpc(&parts) {
        // Not a gRPC answer (S6): a status from the HTTP status.
        let mut res = Response::new(ResponseBody::web(WebResponseBody::synthesized(
            body, ct.mode, http,
        )));
        res.headers_mut().insert(CONTENT_TYPE, content_type);
        return res;
    }

    remove_hop_by_hop(&mut parts.headers);
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(CONTENT_TYPE, content_type);
    Response::from_parts(
        parts,
        ResponseBody::web(WebResponseBody::streaming(body, ct.mode, options)),
    )
}

//! The answers the layer writes itself: a gRPC-Web status (a trailer frame), a native
//! gRPC trailers-only status, and a refusal (a 4xx with the status in its headers), each
//! for a [`Failure`] as its table says.

use grpcweb_protocol::content_type::Codec;
use grpcweb_protocol::{ContentType, Mode, Status};
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};

use crate::failure::Failure;
use crate::frame::trailer_frame;
use crate::response::ResponseBody;

/// The gRPC-Web answer to `failure`: a status in a trailer frame, or a refusal with the
/// status in the headers, as the table says.
pub(crate) fn web_failure<B>(ct: &ContentType, failure: &Failure<'_>) -> Response<ResponseBody<B>> {
    let (http, code, message) = failure.answer();
    let status = Status::new(code, message);
    if http == StatusCode::OK {
        web_status(ct, &status)
    } else {
        refuse(http, Some(ct), &status)
    }
}

/// The answer to a request that is neither gRPC-Web nor gRPC (so has no content type to
/// answer in): the table's HTTP status with the status in the headers.
pub(crate) fn plain_failure<B>(failure: &Failure<'_>) -> Response<ResponseBody<B>> {
    let (http, code, message) = failure.answer();
    refuse(http, None, &Status::new(code, message))
}

/// The native gRPC answer to `failure`: trailers-only, whatever the table's HTTP status.
pub(crate) fn grpc_failure<B>(failure: &Failure<'_>) -> Response<ResponseBody<B>> {
    grpc_status(&failure.status())
}

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

/// A 4xx answer to a request the layer refuses to read, with the status in headers.
fn refuse<B>(
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

/// The `content-type` of a gRPC-Web response in `ct`.
pub(crate) fn content_type_value(ct: &ContentType) -> HeaderValue {
    // The common cases without building the value.
    match (ct.mode, &ct.codec) {
        (Mode::Binary, Codec::Proto) => HeaderValue::from_static("application/grpc-web+proto"),
        (Mode::Text, Codec::Proto) => HeaderValue::from_static("application/grpc-web-text+proto"),
        _ => HeaderValue::from_str(&ct.response_header())
            .unwrap_or_else(|_| HeaderValue::from_static("application/grpc-web+proto")),
    }
}

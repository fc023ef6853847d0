//! One REST call: read the HTTP request, make the gRPC call, read its answer.

use bytes::{Bytes, BytesMut};
use grpcweb_layer::{BoxError, OverBudget, Reservation};
use grpcweb_protocol::framing::{FrameDecoder, FrameError, FrameKind, encode_frame};
use grpcweb_protocol::status::GRPC_STATUS_DETAILS_BIN;
use grpcweb_protocol::{Code, Status};
use grpcweb_transcode::{BodyRule, Matched, TranscodeError, request_message, response_body};
use http::header::{CONTENT_TYPE, TE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use http_body::Body;
use http_body_util::{BodyExt as _, Limited};
use tower::ServiceExt as _;
use tower_service::Service;

use grpcweb_layer::ResponseBody;

use super::metadata;
use super::stream::RestStream;
use super::{RestBody, RestSettings, error_response};
use crate::config::RestStreamFormat;
use crate::json::BoxedBody;
use crate::metrics::{CallStatus, RestMethod, StreamStatus};

/// Answers `req` (which is not gRPC) by its binding, or 404 when it has none.
pub(super) async fn rest_call<S, B, R>(
    inner: S,
    settings: &RestSettings,
    req: Request<B>,
) -> Response<ResponseBody<R>>
where
    S: Service<Request<RestBody<B>>, Response = Response<ResponseBody<R>>>,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
    R: Body<Data = Bytes> + From<BoxedBody> + Send + 'static,
    R::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    let snapshot = settings.descriptors.load_full();
    let matched = match snapshot.routes.find(&parts.method, parts.uri.path()) {
        None => {
            let message = format!("no HTTP binding for {} {}", parts.method, parts.uri.path());
            return error_response(None, Code::NotFound, &message, None);
        }
        Some(Err(e)) => return failed(None, &e),
        Some(Ok(m)) => m,
    };
    let mut res = matched_call(inner, settings, &matched, parts, body).await;
    let method = RestMethod(matched.binding.grpc_path().to_owned());
    res.extensions_mut().insert(method);
    res
}

/// Answers `req` (split in `parts` and `body`) by its binding `matched`.
async fn matched_call<S, B, R>(
    inner: S,
    settings: &RestSettings,
    matched: &Matched<'_>,
    parts: http::request::Parts,
    body: B,
) -> Response<ResponseBody<R>>
where
    S: Service<Request<RestBody<B>>, Response = Response<ResponseBody<R>>>,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
    R: Body<Data = Bytes> + From<BoxedBody> + Send + 'static,
    R::Error: Into<BoxError>,
{
    let pool = matched.binding.method().parent_pool();
    // A binding without `body` takes nothing from it: not read (docs/transcoding.md).
    let mut reservation = Reservation::new(settings.budget.clone());
    let body = if matches!(matched.binding.body(), BodyRule::None) {
        drop(body);
        Bytes::new()
    } else {
        match read_body(body, settings, &mut reservation).await {
            Ok(body) => body,
            Err(status) => return error_response(Some(pool), status.code, &status.message, None),
        }
    };
    let message = match request_message(matched, parts.uri.query(), &body, settings.options) {
        Ok(m) => m,
        Err(e) => return failed(Some(pool), &e),
    };
    // The request's body is not held while the backend answers.
    drop(body);
    if message.len() > settings.max_message_size {
        let e = TranscodeError::RequestTooLarge {
            len: message.len(),
            max: settings.max_message_size,
        };
        return failed(Some(pool), &e);
    }
    let frame = encode_frame(FrameKind::Data, &message);
    drop(message);
    // From here the frame is what the call holds, until the backend's stream takes it.
    if let Err(over) = reservation.set(frame.len()) {
        let status = over_budget(over);
        return error_response(Some(pool), status.code, &status.message, None);
    }
    let mut req = Request::new(RestBody::Message(Some(frame), reservation));
    *req.method_mut() = Method::POST;
    *req.version_mut() = parts.version;
    *req.extensions_mut() = parts.extensions;
    match Uri::builder()
        .path_and_query(matched.binding.grpc_path())
        .build()
    {
        Ok(uri) => *req.uri_mut() = uri,
        Err(e) => {
            return error_response(Some(pool), Code::Internal, &e.to_string(), None);
        }
    }
    let headers = req.headers_mut();
    for name in &settings.headers {
        for value in parts.headers.get_all(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/grpc+proto"),
    );
    headers.insert(TE, HeaderValue::from_static("trailers"));
    headers.insert("grpc-accept-encoding", HeaderValue::from_static("identity"));
    let Ok(res) = inner.oneshot(req).await else {
        return error_response(Some(pool), Code::Unavailable, "backend call failed", None);
    };
    answer(matched, settings, res).await
}

/// The JSON error answer of a transcoding failure.
fn failed<R>(
    pool: Option<&grpcweb_transcode::DescriptorPool>,
    e: &TranscodeError,
) -> Response<ResponseBody<R>> {
    error_response(pool, e.code(), &e.to_string(), None)
}

/// A REST call refused by the request buffer budget.
fn over_budget(over: OverBudget) -> Status {
    Status::new(
        Code::ResourceExhausted,
        format!(
            "the proxy's buffered request bytes are at their limit ({} bytes)",
            over.max
        ),
    )
}

/// The HTTP body, whole, within the size limit and the body read timeout; what it holds
/// is reserved from the request buffer budget as it comes (`reservation`, held by the
/// caller until the body is let go).
async fn read_body<B>(
    body: B,
    settings: &RestSettings,
    reservation: &mut Reservation,
) -> Result<Bytes, Status>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let read = async {
        let mut body = std::pin::pin!(Limited::new(body, settings.max_message_size));
        let mut whole = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    Status::new(
                        Code::ResourceExhausted,
                        format!(
                            "request body is larger than the limit of {} bytes",
                            settings.max_message_size
                        ),
                    )
                } else {
                    Status::new(Code::Cancelled, "request body failed")
                }
            })?;
            if let Ok(data) = frame.into_data() {
                reservation
                    .set(whole.len() + data.len())
                    .map_err(over_budget)?;
                whole.extend_from_slice(&data);
            }
        }
        Ok(whole.freeze())
    };
    tokio::time::timeout(settings.body_read_timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err(Status::new(
                Code::DeadlineExceeded,
                format!(
                    "request body not received within {:?}",
                    settings.body_read_timeout
                ),
            ))
        })
}

/// The client's answer to the gRPC response `res`: the response message as JSON, or the
/// status as an HTTP error.
///
/// The backend's metadata goes along as headers: `grpc-metadata-<name>` for its response
/// headers, `grpc-trailer-<name>` for its trailers (unary calls), as grpc-gateway does.
async fn answer<R>(
    matched: &Matched<'_>,
    settings: &RestSettings,
    res: Response<ResponseBody<R>>,
) -> Response<ResponseBody<R>>
where
    R: Body<Data = Bytes> + From<BoxedBody> + Send + 'static,
    R::Error: Into<BoxError>,
{
    let (parts, body) = res.into_parts();
    let mut trailers = HeaderMap::new();
    let mut res = answer_body(matched, settings, &parts.headers, body, &mut trailers).await;
    metadata::copy(&parts.headers, "grpc-metadata-", res.headers_mut());
    metadata::copy(&trailers, "grpc-trailer-", res.headers_mut());
    res
}

/// The answer's status and body; the backend's trailers are left in `trailers`.
async fn answer_body<R>(
    matched: &Matched<'_>,
    settings: &RestSettings,
    headers: &HeaderMap,
    body: ResponseBody<R>,
    trailers: &mut HeaderMap,
) -> Response<ResponseBody<R>>
where
    R: Body<Data = Bytes> + From<BoxedBody> + Send + 'static,
    R::Error: Into<BoxError>,
{
    let pool = matched.binding.method().parent_pool();
    let streaming = matched.binding.method().is_server_streaming();
    // Trailers-only: the status in the headers, no message (an empty stream's usual form).
    if let Some(status) = Status::from_header_map(headers) {
        if status.code != Code::Ok {
            return status_response(pool, &status, headers);
        }
        return ok_answer(matched, settings, streaming, None);
    }
    let mut body = Box::pin(body);
    let mut decoder = FrameDecoder::new(settings.max_response_message_size);
    let mut message: Option<Bytes> = None;
    let internal = |reason: String| {
        let e = TranscodeError::BadResponse { reason };
        error_response(Some(pool), e.code(), &e.to_string(), None)
    };
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) if frame.kind == FrameKind::Data && streaming => {
                return stream(matched, settings, body, decoder, &frame.payload);
            }
            Ok(Some(frame)) if frame.kind == FrameKind::Data && message.is_none() => {
                message = Some(frame.payload);
                continue;
            }
            Ok(Some(_)) => {
                return internal("more than one message, or not a plain message".to_owned());
            }
            Ok(None) => {}
            Err(FrameError::TooLarge { len, max }) => {
                let e = TranscodeError::ResponseTooLarge { len, max };
                return failed(Some(pool), &e);
            }
            Err(e) => return internal(e.to_string()),
        }
        match body.frame().await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => decoder.push(data),
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        *trailers = t;
                    }
                }
            },
            Some(Err(e)) => {
                let e: BoxError = e;
                return internal(format!("backend stream failed: {e}"));
            }
            None => break,
        }
    }
    if decoder.finish().is_err() {
        return internal("the stream ended inside a message".to_owned());
    }
    let status = Status::from_header_map(trailers)
        .unwrap_or_else(|| Status::new(Code::Unknown, "backend trailers carry no grpc-status"));
    if status.code != Code::Ok {
        return status_response(pool, &status, trailers);
    }
    ok_answer(matched, settings, streaming, message)
}

/// The answer of a call that ended OK: a stream with no message (a message would have
/// started [`stream`]), or the unary response message as JSON (none: the empty message).
fn ok_answer<R>(
    matched: &Matched<'_>,
    settings: &RestSettings,
    streaming: bool,
    message: Option<Bytes>,
) -> Response<ResponseBody<R>>
where
    R: Body<Data = Bytes> + From<BoxedBody> + Send + 'static,
    R::Error: Into<BoxError>,
{
    let mut res = if streaming {
        match settings.stream {
            RestStreamFormat::Ndjson => ok(ResponseBody::empty(), NDJSON),
            RestStreamFormat::JsonArray => ok(
                ResponseBody::full(Bytes::from_static(b"[]")),
                "application/json",
            ),
        }
    } else {
        let proto = message.unwrap_or_default();
        match response_body(matched.binding, &proto, settings.options) {
            Ok(json) => ok(ResponseBody::full(Bytes::from(json)), "application/json"),
            Err(e) => return failed(Some(matched.binding.method().parent_pool()), &e),
        }
    };
    res.extensions_mut().insert(CallStatus(Code::Ok));
    res
}

/// The content type of server-streaming REST answers.
const NDJSON: &str = "application/x-ndjson";

/// A 200 answer of `content_type`.
fn ok<R>(body: ResponseBody<R>, content_type: &'static str) -> Response<ResponseBody<R>> {
    let mut res = Response::new(body);
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// The answer of a server-streaming call whose first message is `first`: 200 at once,
/// then a JSON line per message as it comes; the status it ends with goes to the
/// metrics in a [`StreamStatus`].
fn stream<R>(
    matched: &Matched<'_>,
    settings: &RestSettings,
    body: std::pin::Pin<Box<ResponseBody<R>>>,
    decoder: FrameDecoder,
    first: &[u8],
) -> Response<ResponseBody<R>>
where
    R: Body<Data = Bytes> + From<BoxedBody> + Send + 'static,
    R::Error: Into<BoxError>,
{
    let binding = matched.binding.clone();
    let content_type = match settings.stream {
        RestStreamFormat::Ndjson => NDJSON,
        RestStreamFormat::JsonArray => "application/json",
    };
    let status = StreamStatus::default();
    let stream = RestStream::new(body, decoder, binding, settings.options, first)
        .map(|s| s.format(settings.stream).reporting(status.clone()));
    match stream {
        Ok(stream) => {
            let mut res = ok(
                ResponseBody::streaming(R::from(BoxedBody(Box::pin(stream)))),
                content_type,
            );
            res.extensions_mut().insert(status);
            res
        }
        Err(e) => failed(Some(matched.binding.method().parent_pool()), &e),
    }
}

/// The HTTP error answer of a gRPC status, with the details of
/// `grpc-status-details-bin` when the descriptors can read them.
fn status_response<R>(
    pool: &grpcweb_transcode::DescriptorPool,
    status: &Status,
    headers: &HeaderMap,
) -> Response<ResponseBody<R>> {
    let details = headers
        .get(GRPC_STATUS_DETAILS_BIN)
        .and_then(|v| grpcweb_protocol::metadata::decode_bin(v.as_bytes()).ok())
        .and_then(|mut values| values.pop());
    error_response(Some(pool), status.code, &status.message, details.as_deref())
}

//! Native gRPC calls: passed through, held to the same per-call limits as gRPC-Web ones.

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower::ServiceExt;
use tower_service::Service;

use super::deadline::{call_deadline, deadline_status};
use super::layer::WebConfig;
use super::request::{NativeRequestBody, RequestBody};
use super::response::{NativeResponseBody, ResponseBody};
use super::translate::not_grpc_status;
use crate::{BoxError, respond};

/// Forwards a native gRPC call: its deadline capped and enforced (DEADLINE_EXCEEDED, the
/// backend stream reset), its request frames checked as they pass (see
/// [`NativeRequestBody`]); failures end it with a status in trailers.
pub(super) async fn native_call<S, B, ResB>(
    inner: S,
    config: &WebConfig,
    req: Request<B>,
) -> Response<ResponseBody<ResB>>
where
    S: Service<Request<RequestBody<B>>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    ResB: Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    let start = tokio::time::Instant::now();
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let deadline = match call_deadline(config, &mut parts.headers, &path, start) {
        Ok(deadline) => deadline,
        Err(status) => return respond::grpc_status(&status),
    };
    let body = NativeRequestBody::new(body, config.max_message_size, config.body_read_timeout);
    let failure = body.failure();
    let call = inner.oneshot(Request::from_parts(parts, RequestBody::native(body)));
    let result = match deadline {
        // Dropping the call when the deadline passes resets the backend stream.
        Some(d) => match tokio::time::timeout_at(d, call).await {
            Ok(r) => r,
            Err(_) => return respond::grpc_status(&deadline_status()),
        },
        None => call.await,
    };
    match result {
        Ok(res) => {
            let (parts, body) = res.into_parts();
            match not_grpc_status(&parts) {
                // Not gRPC (S6): a status, not the backend's page.
                Some(status) => respond::grpc_status(&status),
                None => Response::from_parts(
                    parts,
                    ResponseBody::native(NativeResponseBody::new(
                        body,
                        deadline,
                        failure,
                        config.shutdown.as_ref(),
                    )),
                ),
            }
        }
        Err(e) => {
            let status = match failure.get() {
                Some(status) => status.clone(),
                None => respond::call_error_status(&e.into(), deadline),
            };
            respond::grpc_status(&status)
        }
    }
}

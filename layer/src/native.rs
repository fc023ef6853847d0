//! Native gRPC calls: passed through, held to the same per-call limits as gRPC-Web ones.

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower::ServiceExt;
use tower_service::Service;

use crate::config::WebConfig;
use crate::deadline::{RouteLimits, call_deadline};
use crate::error::BoxError;
use crate::failure::{Failure, Stage};
use crate::request::{NativeRequestBody, RequestBody};
use crate::respond;
use crate::response::{NativeResponseBody, ResponseBody};
use crate::translate::not_grpc;

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
    let limits = parts.extensions.get::<RouteLimits>();
    let deadline = match call_deadline(config.max_timeout, limits, &mut parts.headers, start) {
        Ok(deadline) => deadline,
        Err((e, value)) => return respond::grpc_failure(&Failure::BadTimeout(e, value)),
    };
    let body = NativeRequestBody::new(body, config.max_message_size, config.body_read_timeout);
    let failure = body.failure();
    let call = inner.oneshot(Request::from_parts(parts, RequestBody::native(body)));
    let result = match deadline {
        // Dropping the call when the deadline passes resets the backend stream.
        Some(d) => match tokio::time::timeout_at(d, call).await {
            Ok(r) => r,
            Err(_) => return respond::grpc_failure(&Failure::DeadlineExceeded),
        },
        None => call.await,
    };
    match result {
        Ok(res) => {
            let (parts, body) = res.into_parts();
            match not_grpc(&parts) {
                // Not gRPC (S6): a status, not the backend's page.
                Some(http) => respond::grpc_failure(&Failure::NotGrpc(http)),
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
        Err(e) => match failure.get() {
            Some(status) => respond::grpc_status(status),
            None => {
                let e: BoxError = e.into();
                respond::grpc_failure(&Failure::of_inner(&*e, Stage::Call, deadline))
            }
        },
    }
}

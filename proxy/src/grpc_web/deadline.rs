//! A call's deadline: its `grpc-timeout`, capped by `max_timeout` and its route's
//! `max_duration` (the header rewritten to match), for gRPC-Web and native gRPC alike.

use grpcweb_protocol::{Code, Status, timeout};
use http::{HeaderMap, HeaderValue};
use std::time::Duration;
use tokio::time::Instant;

use super::layer::WebConfig;

const GRPC_TIMEOUT: &str = "grpc-timeout";

/// The deadline of a call that started at `start` to `path`, with `headers`' timeout
/// capped (and `grpc-timeout` rewritten or added when the cap applies); `None`: no
/// deadline. A `grpc-timeout` that does not parse is refused (INTERNAL).
pub(super) fn call_deadline(
    config: &WebConfig,
    headers: &mut HeaderMap,
    path: &str,
    start: Instant,
) -> Result<Option<Instant>, Status> {
    let mut timeout = match headers.get(GRPC_TIMEOUT) {
        None => None,
        Some(v) => match v
            .to_str()
            .map_err(|_| timeout::TimeoutError::BadDigits)
            .and_then(timeout::parse)
        {
            Ok(d) => Some(d),
            Err(e) => {
                let message = format!("{e}: {:?}", String::from_utf8_lossy(v.as_bytes()));
                return Err(Status::new(Code::Internal, message));
            }
        },
    };
    let route_cap = config.route_timeouts.as_ref().and_then(|t| (t.0)(path));
    let cap = match (config.max_timeout, route_cap) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(cap) = cap
        && timeout.is_none_or(|t| t > cap)
    {
        timeout = Some(cap);
        if let Ok(v) = HeaderValue::from_str(&timeout::format(cap)) {
            headers.insert(GRPC_TIMEOUT, v);
        }
    }
    // A timeout too far away to be a point in time is no deadline at all.
    Ok(timeout.map(|t: Duration| crate::deadline::after(start, t)))
}

pub(super) fn deadline_status() -> Status {
    Status::new(Code::DeadlineExceeded, "deadline exceeded")
}

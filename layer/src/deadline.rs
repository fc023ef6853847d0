//! A call's deadline: its `grpc-timeout`, capped by the layer's `max_timeout` and by the
//! route's [`RouteLimits`] (the header rewritten to match), for gRPC-Web and native gRPC
//! alike.
//!
//! Deadlines come from durations that may be huge (a client's `grpc-timeout` of
//! `99999999H`, a timeout set through the API): `Instant + Duration` panics on overflow,
//! so deadlines are computed here, saturating at thirty years from the start (as tokio's
//! own "far future" does).

use grpcweb_protocol::timeout::{self, TimeoutError};
use http::{HeaderMap, HeaderValue};
use std::time::Duration;
use tokio::time::Instant;

const GRPC_TIMEOUT: &str = "grpc-timeout";

const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// Limits of the route a request took, put in its extensions by whatever routed it (the
/// proxy's router does); the layer holds the call to them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteLimits {
    /// The longest the call may take: caps its `grpc-timeout` (and gives calls without
    /// one this timeout), on top of [`GrpcWebLayer::max_timeout`](crate::GrpcWebLayer::max_timeout).
    pub max_duration: Option<Duration>,
    /// Whether calls on the route may stream request messages, over
    /// [`GrpcWebLayer::allow_request_streaming`](crate::GrpcWebLayer::allow_request_streaming);
    /// `None`: as the layer says.
    pub allow_request_streaming: Option<bool>,
}

/// `start + d`, or thirty years from `start` when `d` is longer.
pub fn after(start: Instant, d: Duration) -> Instant {
    start + clamp(d)
}

/// `d`, at most thirty years: for timeouts handed to code that adds them to
/// `Instant::now()` unchecked (hyper's `header_read_timeout`).
pub fn clamp(d: Duration) -> Duration {
    d.min(FAR_FUTURE)
}

/// A `grpc-timeout` that does not parse, and its value.
pub(crate) type BadTimeout = (TimeoutError, HeaderValue);

/// The deadline of a call that started at `start`, with `headers`' timeout capped by
/// `max_timeout` and `limits` (and `grpc-timeout` rewritten or added when a cap applies);
/// `None`: no deadline.
pub(crate) fn call_deadline(
    max_timeout: Option<Duration>,
    limits: Option<&RouteLimits>,
    headers: &mut HeaderMap,
    start: Instant,
) -> Result<Option<Instant>, BadTimeout> {
    let mut timeout = match headers.get(GRPC_TIMEOUT) {
        None => None,
        Some(v) => match v
            .to_str()
            .map_err(|_| TimeoutError::BadDigits)
            .and_then(timeout::parse)
        {
            Ok(d) => Some(d),
            Err(e) => return Err((e, v.clone())),
        },
    };
    let route_cap = limits.and_then(|l| l.max_duration);
    let cap = match (max_timeout, route_cap) {
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
    Ok(timeout.map(|t: Duration| after(start, t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturates() {
        let now = Instant::now();
        assert_eq!(
            after(now, Duration::from_secs(2)),
            now + Duration::from_secs(2)
        );
        assert_eq!(after(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(after(now, Duration::from_secs(u64::MAX)), now + FAR_FUTURE);
    }
}

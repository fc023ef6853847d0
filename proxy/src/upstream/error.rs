//! [`UpstreamError`]: a failed backend call, with everything the log needs. The client's
//! status is made from its kind only (see [`respond`](crate::respond)).

use std::fmt;

use super::pool::Failure;

/// A failed call to a backend, naming the backend and endpoint.
#[derive(Debug)]
pub struct UpstreamError {
    pub(super) endpoint: String,
    pub(super) source: Failure,
}

impl UpstreamError {
    /// True when no connection to the backend could be made.
    pub fn is_connect(&self) -> bool {
        matches!(self.source, Failure::Connect(_))
    }

    /// True when the call was refused for want of a connection to the endpoint: too many
    /// calls were waiting (`max_pending_calls`), or every connection the limit allows
    /// (`max_connections`) stayed full for the connect timeout.
    pub fn is_overflow(&self) -> bool {
        matches!(self.source, Failure::Overflow)
    }

    /// True when the proxy's drain ended before the backend's response headers came.
    pub fn is_shutdown(&self) -> bool {
        matches!(self.source, Failure::Shutdown)
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Failure::Connect(e) => write!(
                f,
                "backend {} unreachable: {}",
                self.endpoint,
                crate::respond::chain(&**e)
            ),
            Failure::Call(e) => write!(
                f,
                "backend {} failed: {}",
                self.endpoint,
                crate::respond::chain(e)
            ),
            Failure::Overflow => write!(
                f,
                "backend {}: no connection free for the call (too many calls waiting, or none free within the connect timeout)",
                self.endpoint
            ),
            Failure::Shutdown => write!(
                f,
                "backend {}: no response headers before the drain ended",
                self.endpoint
            ),
        }
    }
}

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.source {
            Failure::Connect(e) => Some(&**e),
            Failure::Call(e) => Some(e),
            Failure::Overflow | Failure::Shutdown => None,
        }
    }
}

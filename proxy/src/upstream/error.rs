//! [`UpstreamError`]: a failed backend call, with everything the log needs, and the kind
//! of failure it is ([`BackendErrorKind`]), which is all the client's status is made from
//! (see [`grpcweb_layer::failure`]).

use grpcweb_layer::BackendErrorKind;
use grpcweb_layer::error::chain;
use std::fmt;
use std::sync::Arc;

/// Why a call got no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection could be opened (shared by the calls that waited for it).
    Connect(Arc<dyn std::error::Error + Send + Sync>),
    /// The call failed on its connection.
    Call(h2::Error),
    /// Too many calls were waiting for a stream slot, or none came free in time.
    Overflow,
    /// The proxy's drain ended before the backend's response headers came.
    Shutdown,
}

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

    /// The kind of failure: what the client is answered for.
    pub fn kind(&self) -> BackendErrorKind {
        match &self.source {
            Failure::Connect(_) => BackendErrorKind::Unreachable,
            Failure::Overflow => BackendErrorKind::Overloaded,
            Failure::Shutdown => BackendErrorKind::ShuttingDown,
            // Without a reset reason, the call failed with its connection.
            Failure::Call(e) => reset(e).unwrap_or(BackendErrorKind::ConnectionLost),
        }
    }
}

/// The kind of failure of a response body's h2 error.
pub(crate) fn stream_kind(e: &h2::Error) -> BackendErrorKind {
    match reset(e) {
        Some(kind) => kind,
        None if e.is_io() => BackendErrorKind::ConnectionLost,
        None => BackendErrorKind::Other,
    }
}

fn reset(e: &h2::Error) -> Option<BackendErrorKind> {
    e.reason().map(|reason| BackendErrorKind::Reset {
        reason: reason.into(),
        remote: e.is_remote(),
    })
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Failure::Connect(e) => {
                write!(f, "backend {} unreachable: {}", self.endpoint, chain(&**e))
            }
            Failure::Call(e) => write!(f, "backend {} failed: {}", self.endpoint, chain(e)),
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

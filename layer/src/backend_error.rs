//! [`BackendError`]: how an inner service says what kind of failure its error is.

use std::fmt;

use crate::error::BoxError;

/// What kind of failure an inner service's error is: the layer answers the client from
/// the kind alone (see the [`failure`](crate::failure) table), so the details stay in the error, for
/// the log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// No route takes the called service: nothing was forwarded.
    NoRoute {
        /// The service name from the path.
        service: String,
    },
    /// The path is not `/<package>.<Service>/<Method>` (or has a query): nothing was
    /// forwarded.
    NotAMethodPath,
    /// No connection to the backend could be made.
    Unreachable,
    /// No connection was free for the call (too many calls waiting, or none free within
    /// the connect timeout).
    Overloaded,
    /// The server's drain ended before the backend's response headers came.
    ShuttingDown,
    /// The HTTP/2 stream was reset (RST_STREAM or GOAWAY) with this error code.
    Reset {
        /// The HTTP/2 error code (RFC 9113 section 7).
        reason: u32,
        /// Whether the backend sent it (rather than the local HTTP/2 stack).
        remote: bool,
    },
    /// The connection to the backend broke (it went away, a socket error).
    ConnectionLost,
    /// Anything else.
    Other,
}

/// An inner service's error together with its [kind](BackendErrorKind). Return one (or
/// an error whose source chain holds one) from the inner service or its response body,
/// and the client gets the status the kind calls for; the error itself never reaches the
/// client.
#[derive(Debug)]
pub struct BackendError {
    kind: BackendErrorKind,
    source: Option<BoxError>,
}

impl BackendError {
    /// A failure of `kind`, caused by `source`.
    pub fn new(kind: BackendErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// A failure of `kind` with no error behind it.
    pub fn from_kind(kind: BackendErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// The kind of failure.
    pub fn kind(&self) -> &BackendErrorKind {
        &self.kind
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{source}"),
            None => write!(f, "backend call failed: {:?}", self.kind),
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

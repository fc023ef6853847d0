//! [`RequestError`]: why a request body was refused (the status the client gets is
//! [`failure`](crate::failure)'s to say).

use grpcweb_protocol::Status;
use grpcweb_protocol::framing::FrameError;
use grpcweb_protocol::text::TextError;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::error::BoxError;

/// The status of a request body that failed mid-call, shared with the response side.
pub(crate) type BodyFailure = Arc<OnceLock<Status>>;

/// Why a gRPC-Web request body was refused.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// `grpc-web-text` body that is not valid padded base64 (R5).
    Text(TextError),
    /// Bad frame: unknown flag, oversized, truncated (F1-F3).
    Frame(FrameError),
    /// An HTTP/1.1 request body, read whole before forwarding, is over the limit.
    BodyTooLarge {
        /// The limit in force.
        max: usize,
    },
    /// A trailer frame (0x80) in a request: never forwarded.
    TrailerFrame,
    /// A second message in a call that sends exactly one.
    SecondMessage,
    /// The proxy-wide budget for buffered request bytes is used up.
    OverBudget {
        /// The budget.
        max: usize,
    },
    /// Bad frame in a native gRPC request: unknown flag or trailer frame, oversized.
    Native(FrameError),
    /// A native gRPC request message not received whole in time.
    MessageTimeout {
        /// The body read timeout.
        timeout: std::time::Duration,
    },
    /// A streamed gRPC-Web request left idle between messages for too long.
    IdleTimeout {
        /// The request idle timeout.
        timeout: std::time::Duration,
    },
    /// The client's body stream failed.
    Body(BoxError),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(e) => write!(f, "{e}"),
            Self::Frame(FrameError::TooLarge { len, max })
            | Self::Native(FrameError::TooLarge { len, max }) => write!(
                f,
                "request message of {len} bytes is larger than the limit of {max} bytes"
            ),
            Self::Frame(e) => write!(f, "malformed gRPC-Web request: {e}"),
            Self::Native(e) => write!(f, "malformed gRPC request: {e}"),
            Self::MessageTimeout { timeout } => write!(
                f,
                "request message not received whole within {timeout:?} of its start"
            ),
            Self::IdleTimeout { timeout } => write!(
                f,
                "no request message within {timeout:?} of the last one: the request stream was idle"
            ),
            Self::BodyTooLarge { max } => {
                write!(f, "request body is larger than the limit of {max} bytes")
            }
            Self::TrailerFrame => {
                f.write_str("malformed gRPC-Web request: a request carries no trailer frame")
            }
            Self::SecondMessage => f.write_str(
                "a gRPC-Web call sends exactly one request message, this one sent 2 or more",
            ),
            Self::OverBudget { max } => write!(
                f,
                "the proxy is buffering its limit of {max} request bytes: try again later"
            ),
            Self::Body(e) => write!(f, "request body failed: {e}"),
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Text(e) => Some(e),
            Self::Frame(e) | Self::Native(e) => Some(e),
            Self::Body(e) => Some(&**e),
            Self::BodyTooLarge { .. }
            | Self::TrailerFrame
            | Self::SecondMessage
            | Self::OverBudget { .. }
            | Self::MessageTimeout { .. }
            | Self::IdleTimeout { .. } => None,
        }
    }
}

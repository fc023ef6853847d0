//! Why a response is not valid gRPC-Web.

use core::fmt;

use crate::framing::FrameError;
use crate::status::Code;
use crate::text::TextError;
use crate::trailers::TrailerError;

/// Why a response is not valid gRPC-Web.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// HTTP 200 without a gRPC-Web `content-type` and without `grpc-status`.
    ContentType,
    /// The text body is not valid base64.
    Text(TextError),
    /// A frame is invalid, too large, or cut off by the end of the body.
    Frame(FrameError),
    /// A compressed frame (no compression is offered).
    Compressed,
    /// The trailer frame does not parse.
    Trailers(TrailerError),
    /// Bytes after the trailer frame.
    DataAfterTrailers,
    /// The body ended without a trailer frame and the headers have no `grpc-status`,
    /// or the trailer frame has none.
    NoStatus,
}

impl ResponseError {
    /// The status code the call fails with.
    pub fn code(&self) -> Code {
        match self {
            Self::Frame(FrameError::TooLarge { .. }) => Code::ResourceExhausted,
            Self::ContentType | Self::NoStatus => Code::Unknown,
            _ => Code::Internal,
        }
    }

    /// A one-line description, without numbers (no formatting code is needed for it).
    pub fn message(&self) -> &'static str {
        match self {
            Self::ContentType => "response is not gRPC-Web: unexpected content-type",
            Self::Text(TextError::InvalidPadding { .. }) => "invalid text body: invalid padding",
            Self::Text(TextError::Incomplete { .. }) => "invalid text body: ends inside a group",
            Self::Text(_) => "invalid text body: invalid base64",
            Self::Frame(FrameError::TooLarge { .. }) => {
                "response message larger than the configured limit"
            }
            Self::Frame(FrameError::Truncated { .. }) => "response body ends inside a frame",
            Self::Frame(_) => "invalid gRPC-Web frame flag",
            Self::Compressed => "compressed frame received, but no compression was offered",
            Self::Trailers(_) => "invalid trailer frame",
            Self::DataAfterTrailers => "data after the trailer frame",
            Self::NoStatus => "response has no grpc-status",
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(e) => write!(f, "{}: {e}", self.message()),
            Self::Frame(e) => write!(f, "{}: {e}", self.message()),
            Self::Trailers(e) => write!(f, "{}: {e}", self.message()),
            _ => f.write_str(self.message()),
        }
    }
}

impl core::error::Error for ResponseError {}

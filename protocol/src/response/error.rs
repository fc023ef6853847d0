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
        Self::MESSAGES
            .get(self.message_index())
            .copied()
            .unwrap_or_default()
    }

    /// Every [`ResponseError::message`], in the order of [`ResponseError::message_index`].
    pub const MESSAGES: [&'static str; 11] = [
        "response is not gRPC-Web: unexpected content-type",
        "invalid text body: invalid padding",
        "invalid text body: ends inside a group",
        "invalid text body: invalid base64",
        "response message larger than the configured limit",
        "response body ends inside a frame",
        "invalid gRPC-Web frame flag",
        "compressed frame received, but no compression was offered",
        "invalid trailer frame",
        "data after the trailer frame",
        "response has no grpc-status",
    ];

    /// Where [`ResponseError::message`] is in [`ResponseError::MESSAGES`]: for clients that
    /// keep the table themselves (the wasm core's TypeScript, whose copy a test checks).
    pub fn message_index(&self) -> usize {
        match self {
            Self::ContentType => 0,
            Self::Text(TextError::InvalidPadding { .. }) => 1,
            Self::Text(TextError::Incomplete { .. }) => 2,
            Self::Text(_) => 3,
            Self::Frame(FrameError::TooLarge { .. }) => 4,
            Self::Frame(FrameError::Truncated { .. }) => 5,
            Self::Frame(_) => 6,
            Self::Compressed => 7,
            Self::Trailers(_) => 8,
            Self::DataAfterTrailers => 9,
            Self::NoStatus => 10,
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

//! What a client sees when transcoding fails: an extension of the layer's failure table
//! (`grpcweb_layer::failure`), for the calls only the transcoding proxy serves.
//!
//! | failure | grpc-status | REST HTTP status |
//! |---|---|---|
//! | no descriptor for the called method (JSON call) | UNIMPLEMENTED (12) | 404 (no binding matches) |
//! | request JSON malformed, of a wrong type, or with an unknown field; a path variable or query parameter that does not parse | INVALID_ARGUMENT (3), naming the field; never sent to the backend | 400 |
//! | compressed JSON request message in an encoding other than gzip | UNIMPLEMENTED (12) | - |
//! | compressed JSON request message without `grpc-encoding`, or that does not decompress | INTERNAL (13) | - |
//! | compressed JSON request message over `max_message_size` once decompressed | RESOURCE_EXHAUSTED (8) | - |
//! | request message over `max_message_size` once in protobuf | RESOURCE_EXHAUSTED (8) | 429 |
//! | backend message over the response limit (its protobuf form, buffered whole to transcode it) | RESOURCE_EXHAUSTED (8) | 429 |
//! | backend message that does not decode with the descriptor, or malformed framing | INTERNAL (13) | 500 |
//!
//! REST calls answer every gRPC status with the HTTP status [`http_status`] maps it to
//! (`google.rpc.Code`'s documented mapping), with the JSON form of `google.rpc.Status` as
//! the body.

use grpcweb_protocol::{Code, Status};
use std::fmt;

/// A transcoding failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TranscodeError {
    /// No descriptor set given to the proxy has the called method.
    NoDescriptor {
        /// The method's gRPC path.
        path: String,
    },
    /// The request's JSON (or a path variable or query parameter) is not a valid value of
    /// the field.
    BadJson {
        /// The field's path (`payload.body`, `""` for the whole message).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A path variable or query parameter is not a valid value of its field, or names no
    /// field.
    BadParameter {
        /// The field path (or the query parameter's name).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A JSON request message was compressed with an encoding the proxy does not read.
    UnsupportedEncoding {
        /// The request's `grpc-encoding`.
        encoding: String,
    },
    /// A JSON request message was compressed, but the request names no `grpc-encoding`.
    NoEncoding,
    /// A compressed JSON request message does not decompress.
    BadCompression {
        /// What is wrong.
        reason: String,
    },
    /// A compressed JSON request message is over the limit once decompressed.
    DecompressedTooLarge {
        /// The limit.
        max: usize,
    },
    /// The request message, in protobuf, is over the limit.
    RequestTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The backend's response message is over the limit.
    ResponseTooLarge {
        /// Its length (protobuf).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The backend's message does not decode as the method's response type, or its
    /// framing is malformed.
    BadResponse {
        /// What is wrong.
        reason: String,
    },
}

impl TranscodeError {
    /// The gRPC code clients get.
    pub fn code(&self) -> Code {
        match self {
            Self::NoDescriptor { .. } | Self::UnsupportedEncoding { .. } => Code::Unimplemented,
            Self::BadJson { .. } | Self::BadParameter { .. } => Code::InvalidArgument,
            Self::RequestTooLarge { .. }
            | Self::ResponseTooLarge { .. }
            | Self::DecompressedTooLarge { .. } => Code::ResourceExhausted,
            Self::BadResponse { .. } | Self::NoEncoding | Self::BadCompression { .. } => {
                Code::Internal
            }
        }
    }

    /// The status clients get.
    pub fn status(&self) -> Status {
        Status::new(self.code(), self.to_string())
    }
}

impl fmt::Display for TranscodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDescriptor { path } => write!(
                f,
                "no descriptor for method {path}: JSON needs the service's descriptors (--descriptor-set or a backend's descriptor_sets)"
            ),
            Self::BadJson { field, reason } if field.is_empty() => {
                write!(f, "invalid JSON request: {reason}")
            }
            Self::BadJson { field, reason } => {
                write!(f, "invalid JSON request: field {field:?}: {reason}")
            }
            Self::BadParameter { field, reason } => {
                write!(f, "invalid parameter {field:?}: {reason}")
            }
            Self::UnsupportedEncoding { encoding } => write!(
                f,
                "JSON request messages compressed with {encoding:?} are not supported: the proxy reads gzip"
            ),
            Self::NoEncoding => {
                f.write_str("compressed request message, but the request has no grpc-encoding")
            }
            Self::BadCompression { reason } => {
                write!(f, "request message does not decompress as gzip: {reason}")
            }
            Self::DecompressedTooLarge { max } => write!(
                f,
                "request message is larger than the limit of {max} bytes once decompressed"
            ),
            Self::RequestTooLarge { len, max } => write!(
                f,
                "request message of {len} bytes (in protobuf) is larger than the limit of {max} bytes"
            ),
            Self::ResponseTooLarge { len, max } => write!(
                f,
                "response message of {len} bytes (in protobuf) is larger than the limit of {max} bytes"
            ),
            Self::BadResponse { reason } => write!(
                f,
                "backend response does not match the descriptors: {reason}"
            ),
        }
    }
}

impl std::error::Error for TranscodeError {}

/// The HTTP status of a REST answer with gRPC code `code`, as `google.rpc.Code`
/// documents it (and Envoy's transcoder and grpc-gateway answer).
pub fn http_status(code: Code) -> http::StatusCode {
    use http::StatusCode as H;
    match code {
        Code::Ok => H::OK,
        Code::Cancelled => H::from_u16(499).unwrap_or(H::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => H::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => H::BAD_REQUEST,
        Code::DeadlineExceeded => H::GATEWAY_TIMEOUT,
        Code::NotFound => H::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => H::CONFLICT,
        Code::PermissionDenied => H::FORBIDDEN,
        Code::Unauthenticated => H::UNAUTHORIZED,
        Code::ResourceExhausted => H::TOO_MANY_REQUESTS,
        Code::Unimplemented => H::NOT_IMPLEMENTED,
        Code::Unavailable => H::SERVICE_UNAVAILABLE,
    }
}

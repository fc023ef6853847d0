//! The one error type of a call: a gRPC status plus the metadata that came with it.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use crate::metadata::Metadata;
use grpcweb_protocol::{Code, Status};

/// A failed call: the status (code, message, raw `grpc-status-details-bin`) and the
/// metadata (trailers, or response headers when there were none) that came with it.
///
/// Boxed inside, so `Result<T, RpcError>` stays one pointer wide on the error side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError(Box<Inner>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Inner {
    status: Status,
    metadata: Metadata,
}

impl RpcError {
    /// An error with no metadata.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self::with_metadata(Status::new(code, message), Metadata::new())
    }

    /// An error from a received status and the trailers (or headers) that carried it.
    pub fn with_metadata(status: Status, metadata: Metadata) -> Self {
        Self(Box::new(Inner { status, metadata }))
    }

    /// The status code.
    pub fn code(&self) -> Code {
        self.0.status.code
    }

    /// The status message, percent-decoded.
    pub fn message(&self) -> &str {
        &self.0.status.message
    }

    /// The whole status, including the raw `grpc-status-details-bin` bytes.
    pub fn status(&self) -> &Status {
        &self.0.status
    }

    /// Trailers of the failed call (response headers for trailers-only or HTTP errors).
    pub fn metadata(&self) -> &Metadata {
        &self.0.metadata
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code(), self.message())
    }
}

impl core::error::Error for RpcError {}

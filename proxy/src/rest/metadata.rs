//! The backend's metadata on a REST answer: its response headers and trailers, prefixed
//! (grpc-gateway's `Grpc-Metadata-` and `Grpc-Trailer-`), without what gRPC itself uses.

use http::{HeaderMap, HeaderName};

/// Copies `from`'s metadata into `to`, each name prefixed with `prefix`.
pub(super) fn copy(from: &HeaderMap, prefix: &str, to: &mut HeaderMap) {
    for (name, value) in from {
        let name = name.as_str();
        if is_grpc_own(name) {
            continue;
        }
        if let Ok(prefixed) = HeaderName::from_bytes(format!("{prefix}{name}").as_bytes()) {
            to.append(prefixed, value.clone());
        }
    }
}

/// Headers of the gRPC protocol or of the connection, not metadata.
fn is_grpc_own(name: &str) -> bool {
    name.starts_with("grpc-")
        || matches!(
            name,
            "content-type"
                | "content-length"
                | "date"
                | "server"
                | "te"
                | "trailer"
                | "connection"
                | "keep-alive"
                | "transfer-encoding"
                | "upgrade"
        )
}

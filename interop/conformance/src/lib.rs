//! grpcweb under the connectrpc conformance suite.
//!
//! The suite's runner (`connectconformance`) tests a *server* by starting a program that
//! reads a `ServerCompatRequest` on stdin and answers with the address to call. Ours,
//! `conformance-server`, starts two things and reports the second:
//!
//! 1. a tonic backend implementing `connectrpc.conformance.v1.ConformanceService`, native
//!    gRPC only (HTTP/2 cleartext), and
//! 2. `grpcweb-proxy` in front of it,
//!
//! so the runner's gRPC-Web client only ever talks to the proxy. Every case the suite runs
//! is then a test of the proxy's translation. The proxy gets the suite's descriptor set
//! (written by the build script), so the `CODEC_JSON` cases test its JSON transcoding: the
//! backend speaks protobuf only.
//!
//! When the runner asks for TLS, the proxy serves its listener with the certificate and
//! key the runner hands over (written to a private temporary directory, since the proxy's
//! `[tls]` configuration names files, and removed when the server stops), and requires
//! client certificates signed by the runner's CA when it hands one over. The backend stays
//! cleartext: TLS is the proxy's business.
//!
//! The protos come with the Go module `connectrpc.com/conformance` (see
//! `CONFORMANCE_VERSION`); `cargo xtask test` downloads it and runs the suite.
//!
//! # Limitations
//!
//! - `IdempotentUnary` (Connect GET) does not apply to gRPC-Web and is answered like `Unary`.
//! - Raw HTTP responses in response definitions are for testing clients, and are ignored.

#[cfg(conformance_protos)]
pub mod pb {
    //! The generated `connectrpc.conformance.v1` code.
    #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    tonic::include_proto!("connectrpc.conformance.v1");
}

#[cfg(conformance_protos)]
mod server;
#[cfg(conformance_protos)]
mod service;

#[cfg(conformance_protos)]
pub use server::{Options, Running, ServerTls, start};
#[cfg(conformance_protos)]
pub use service::ConformanceServer;

/// True when the crate was built with the conformance protos.
pub const AVAILABLE: bool = cfg!(conformance_protos);

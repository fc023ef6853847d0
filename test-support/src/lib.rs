//! Shared fixtures for grpcweb's tests.
//!
//! - [`WebClient`]: a real HTTP/1.1 or HTTP/2 (prior knowledge, h2c) client that speaks
//!   gRPC-Web, binary or text, and records *when* each chunk and each message arrived, so
//!   tests can check streaming (docs/protocol.md S2, S3) as well as content.
//! - [`FakeBackend`]: a scripted native gRPC server on the `h2` crate that can misbehave on
//!   purpose (non-gRPC answers, trailers-only, resets, missing trailers, endless streams),
//!   records every request it got and notices when the proxy cancels a stream.
//! - [`frames`]: frame and trailer builders; [`within`]: a timeout that fails the test
//!   instead of hanging it.
//!
//! # Example
//!
//! ```no_run
//! use grpcweb_test_support::{FakeBackend, HttpVersion, Mode, Reply, WebClient, within};
//! use grpcweb_protocol::Code;
//! use std::time::Duration;
//!
//! # async fn doc(proxy_addr: std::net::SocketAddr) -> anyhow::Result<()> {
//! let backend = FakeBackend::start(Reply::ok(vec!["hello".into()])).await?;
//! // ... start the proxy in front of `backend.addr` ...
//! let client = WebClient::new(HttpVersion::H1);
//! let response = client
//!     .call(proxy_addr, "/grpc.testing.TestService/UnaryCall")
//!     .mode(Mode::Text)
//!     .message("request")
//!     .send()
//!     .await?;
//! assert_eq!(response.grpc_status(), Some(Code::Ok));
//! assert_eq!(response.message_payloads(), ["hello"]);
//! let forwarded = within(Duration::from_secs(5), backend.wait_for_requests(1)).await?;
//! assert_eq!(forwarded[0].headers["te"], "trailers");
//! # Ok(()) }
//! ```
//!
//! # Limitations
//!
//! - No TLS: both sides speak cleartext (HTTP/1.1, or HTTP/2 with prior knowledge).
//! - The fake backend reads the whole request body before it picks a reply, so it cannot
//!   script answers to a request body that never ends (gRPC-Web request bodies always end).
//! - HTTP/2 cannot carry upper-case or otherwise non-canonical header names, so the
//!   backend cannot send them.

mod backend;
mod client;
pub mod frames;
mod time;

pub use backend::{Cancellation, End, FakeBackend, RecordedRequest, Reply, Script};
pub use client::{
    BodyWriter, CallBuilder, HttpVersion, ReceivedFrame, WebClient, WebResponse, WebStream,
};
pub use frames::{data_frame, frame, trailer_frame};
pub use grpcweb_protocol::framing::FrameKind;
pub use grpcweb_protocol::{Code, Mode, Status};
pub use h2::Reason;
pub use time::{DEFAULT_TIMEOUT, within};

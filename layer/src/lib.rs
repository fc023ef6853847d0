//! gRPC-Web for gRPC services, as a tower layer: gRPC-Web (binary or text, over HTTP/1.1
//! or HTTP/2) in front, native gRPC behind.
//!
//! Browsers cannot speak gRPC (they cannot read HTTP/2 trailers or control framing), so
//! they speak gRPC-Web: the same messages, with the status moved into the body.
//! [`GrpcWebLayer`] translates between the two in front of any tower service that speaks
//! gRPC (a tonic server, or a proxy's forwarding service), and [`CorsLayer`] answers the
//! browser's cross-origin questions. Native gRPC calls pass through the same layer, held
//! to the same limits, so one port serves browsers and gRPC clients.
//!
//! The standalone proxy (`grpcweb-proxy`) is built on this crate; this crate has no
//! server, client, configuration file or TLS of its own.
//!
//! # Example: in front of a tonic service
//!
//! ```no_run
//! # async fn doc(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! tonic::transport::Server::builder()
//!     .accept_http1(true)
//!     .layer(grpcweb_layer::GrpcWebLayer::new())
//!     .add_routes(routes)
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Failures
//!
//! Every failure becomes a gRPC status the client can read; the [`failure`] module's
//! table says which. An inner service says what kind of failure its error is with a
//! [`BackendError`].
//!
//! # Limitations
//!
//! - Unary and server-streaming calls are what gRPC-Web defines: one request message per
//!   call, read whole and checked before forwarding. Client-streaming and bidi calls can
//!   be let through with
//!   [`allow_request_streaming`](GrpcWebLayer::allow_request_streaming), for every call
//!   or per route ([`RouteLimits`]): the first message is read before the call is
//!   forwarded, later ones are forwarded as each is whole, over HTTP/2 and HTTP/1.1
//!   chunked bodies alike, each held to the size limit, the deadline, the
//!   [`body_read_timeout`](GrpcWebLayer::body_read_timeout) and the
//!   [`request_idle_timeout`](GrpcWebLayer::request_idle_timeout). (Browsers stream
//!   request bodies over HTTP/2 only; see the README.)
//!   Over HTTP/1.1, a call the inner service answers before its request body has ended
//!   (tonic answers an unknown method without reading the body; a bidi handler may answer
//!   as it reads) is answered with `connection: close`: the server will not read the
//!   rest, so the connection cannot carry another call, and a client that knows this
//!   opens a new one. Unary and server-streaming calls, read to their end before they are
//!   answered, keep their connection; the check is one flag read per streamed HTTP/1.1
//!   call.
//! - Compressed frames (flag 0x01) are forwarded as they are; the layer asks the inner
//!   service for `identity` unless the client said otherwise.

mod backend_error;
mod budget;
mod config;
pub mod cors;
mod counts;
pub mod deadline;
pub mod error;
pub mod failure;
mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod layer;
mod native;
mod refuse;
mod request;
mod request_error;
mod respond;
mod response;
mod service;
mod translate;

pub use backend_error::{BackendError, BackendErrorKind};
pub use budget::{OverBudget, RequestBudget, Reservation};
pub use config::DEFAULT_MAX_BUFFERED_REQUEST_BYTES;
pub use cors::{CorsConfig, CorsError, CorsLayer};
pub use counts::MessageCounts;
pub use deadline::RouteLimits;
pub use error::BoxError;
pub use layer::GrpcWebLayer;
pub use request::{NativeRequestBody, RequestBody, WebRequestBody};
pub use response::{NativeResponseBody, ResponseBody, WebResponseBody};
pub use service::GrpcWebService;
pub use translate::remove_hop_by_hop;

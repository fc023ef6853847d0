//! gRPC-Web for gRPC services: a tower layer for Rust servers, and a standalone proxy.
//!
//! Browsers cannot speak gRPC (they cannot read HTTP/2 trailers or control framing), so
//! they speak gRPC-Web: the same messages, with the status moved into the body. This
//! crate translates between the two.
//!
//! - In-process, like tonic-web: wrap any tonic/tower gRPC service in [`GrpcWebLayer`].
//! - Standalone or as a sidecar: the `grpcweb-proxy` binary ([`Proxy`]) accepts gRPC-Web
//!   over HTTP/1.1 and HTTP/2 (binary and text), answers CORS itself ([`CorsLayer`]), and
//!   forwards native gRPC over HTTP/2 to a backend, streaming each message as it comes.
//!   Native gRPC clients can use the same port.
//!
//! # Example: the layer in front of a tonic service
//!
//! ```no_run
//! # async fn doc(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! tonic::transport::Server::builder()
//!     .accept_http1(true)
//!     .layer(grpcweb_proxy::GrpcWebLayer::new())
//!     .add_routes(routes)
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Example: the proxy
//!
//! ```no_run
//! # async fn doc() -> Result<(), Box<dyn std::error::Error>> {
//! use grpcweb_proxy::{Config, Proxy};
//!
//! let mut config = Config::with_backend("http://127.0.0.1:50051");
//! config.cors.allowed_origins = vec!["https://app.example.com".into()];
//! let proxy = Proxy::bind(config).await?;
//! println!("listening on {}", proxy.local_addr()?);
//! proxy.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! # Limitations
//!
//! - Unary and server-streaming calls are what gRPC-Web defines: one request message per
//!   call, read whole and checked before forwarding. Client-streaming and bidi calls over
//!   HTTP/2 can be let through with `allow_request_streaming` (the first message is read
//!   before the call is forwarded); over HTTP/1.1 they cannot work.
//! - Compressed frames (flag 0x01) are forwarded as they are; the proxy asks backends for
//!   `identity` unless the client said otherwise.

mod admin;
pub mod cli;
pub mod config;
pub mod cors;
mod deadline;
#[doc(hidden)]
pub mod fuzzing;
pub mod grpc_web;
pub mod method;
pub mod metrics;
pub mod respond;
pub mod router;
pub mod server;
pub mod tls;
pub mod upstream;

pub use config::{
    BackendConfig, Config, ConfigError, ForwardingConfig, HealthCheck, LimitsConfig, LogFormat,
    RouteConfig, RouteMatch,
};
pub use cors::{CorsConfig, CorsLayer};
pub use grpc_web::{
    DEFAULT_MAX_BUFFERED_REQUEST_BYTES, GrpcWebLayer, GrpcWebService, MessageCounts,
};
pub use server::{Proxy, StartError};

/// A boxed error, as tower and hyper use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

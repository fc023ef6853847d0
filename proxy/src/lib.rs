//! The standalone gRPC-Web proxy: a server that accepts gRPC-Web over HTTP/1.1 and HTTP/2
//! (binary and text, cleartext or TLS), answers CORS, routes each call by its service to a
//! backend and forwards it as native gRPC over HTTP/2, streaming each message as it comes.
//! Native gRPC clients can use the same port.
//!
//! The translation itself is the [`grpcweb_layer`] crate ([`GrpcWebLayer`],
//! [`CorsLayer`]), re-exported here as [`layer`]; a Rust server that only wants the layer
//! depends on that crate alone. This crate adds what a deployable proxy needs on top:
//! the server and its connection limits ([`server`]), routing ([`router`]), the backend
//! connection pools ([`upstream`]), configuration and the command line ([`config`],
//! [`cli`]), the runtime's shape ([`runtime`]), TLS ([`tls`]) and metrics ([`metrics`]).
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
//! Those of the layer (see [`grpcweb_layer`]): unary and server-streaming calls, unless
//! `allow_request_streaming` (globally or on a route) lets clients stream request
//! messages; compressed frames are forwarded as they are.

mod admin;
mod call;
pub mod cli;
pub mod config;
mod config_error;
mod descriptors;
#[doc(hidden)]
pub mod fuzzing;
mod json;
pub mod log;
pub mod method;
pub mod metrics;
mod rest;
pub mod router;
pub mod runtime;
pub mod server;
pub mod tls;
pub mod upstream;

pub use config::{
    BackendConfig, Config, ConfigError, ForwardingConfig, HealthCheck, LimitsConfig, LogFormat,
    ReflectionConfig, RestStreamFormat, RouteConfig, RouteMatch, Scheduler, TranscodingConfig,
};
pub use grpcweb_layer as layer;
pub use grpcweb_layer::{
    BoxError, CorsConfig, CorsLayer, DEFAULT_MAX_BUFFERED_REQUEST_BYTES, GrpcWebLayer,
    GrpcWebService, MessageCounts,
};
pub use grpcweb_transcode::{JsonOptions, RuleSpec};
pub use server::{Proxy, StartError};

//! Interop test backend for grpcweb: `grpc.testing.TestService`, written with tonic.
//!
//! The gRPC interop suite (empty_unary, large_unary, server_streaming, custom_metadata,
//! status_code_and_message, special_status_message, unimplemented_method,
//! unimplemented_service, timeout_on_sleeping_server) needs a server that behaves exactly
//! as the upstream test servers do. This crate provides it, built from our own
//! `protos/grpc/testing/*.proto` (compiled in-process with protox, no `protoc`):
//!
//! * [`pb`]: the generated messages, plus tonic clients and servers for `TestService` and
//!   `UnimplementedService`;
//! * [`TestServiceImpl`]: the service behaviour;
//! * [`EchoMetadata`]: the `x-grpc-test-echo-initial` / `x-grpc-test-echo-trailing-bin`
//!   echo, as a tower middleware;
//! * [`serve`]: all of it on an already-bound listener, optionally behind the gRPC-Web
//!   layer; and the `interop-server` binary around it;
//! * [`DemoServiceImpl`] and [`serve_demo`]: `grpcweb.demo.v1.DemoService`, the backend of
//!   `cargo xtask demo` (messages in [`demo_pb`], error details in [`rpc_pb`]), and the
//!   `demo-server` binary around it.
//! * [`EchoServiceImpl`] and [`serve_transcoding`]: `grpcweb.transcoding.v1.EchoService`,
//!   which answers with the request it got: the backend of the proxy's REST transcoding
//!   tests (messages in [`transcoding_pb`]).
//!
//! # Example
//!
//! ```no_run
//! use grpcweb_interop::{ServeOptions, serve};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(serve(listener, ServeOptions::default(), async {
//!     let _ = stopped.await;
//! }));
//!
//! let mut client =
//!     grpcweb_interop::pb::test_service_client::TestServiceClient::connect(format!("http://{addr}"))
//!         .await?;
//! client.empty_call(grpcweb_interop::pb::Empty {}).await?;
//!
//! let _ = stop.send(());
//! server.await??;
//! # Ok(())
//! # }
//! ```
//!
//! # Limitations
//!
//! * `fill_username`, `fill_oauth_scope` and `fill_server_id` are ignored: the matching
//!   response fields are always empty, and `hostname` is never filled.
//! * Compression is not supported: `response_compressed`, `expect_compressed` and
//!   `ResponseParameters.compressed` are ignored and responses are never compressed.
//! * `grpc-timeout` is honoured by the server-streaming methods, which end with
//!   `DEADLINE_EXCEEDED`. For unary and client-streaming methods it is left to tonic, which
//!   reports an expired deadline as `CANCELLED`; none of those methods sleeps, so the
//!   interop cases never hit this.
//! * `UnimplementedService` is not registered: tonic's router answers it with
//!   `UNIMPLEMENTED`, which is what the interop case expects.
//! * No TLS, and only the interop cases listed above; the xDS, load-balancing and
//!   reconnect services of the upstream suite are not included.

mod demo;
mod echo;
mod server;
mod service;
pub mod trailers;
mod transcoding;

pub use demo::{
    CALL_NUMBER_HEADER, DemoServiceImpl, ERROR_DOMAIN, MAX_COLLECT_BYTES, MAX_SLEEP_MS,
    MAX_TICK_INTERVAL_MS, MAX_TICKS, RpcStatus, TickStream, demo_service, serve_demo,
};
pub use echo::{ECHO_INITIAL, ECHO_TRAILING_BIN, EchoMetadata, EchoMetadataLayer, ResponseFuture};
pub use server::{ServeError, ServeOptions, serve, test_service};
pub use service::{ResponseStream, TestServiceImpl};
pub use transcoding::{
    EchoServiceImpl, FILE_DESCRIPTOR_SET, MAX_LIST, Reflection, ShelfStream, echo_service,
    serve_transcoding, serve_transcoding_with,
};

/// Generated code for `grpcweb.transcoding.v1` (the REST transcoding tests' service,
/// [`EchoServiceImpl`]).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod transcoding_pb {
    tonic::include_proto!("grpcweb.transcoding.v1");
}

/// Generated code for the `grpc.testing` package: messages, and tonic clients
/// (`test_service_client`, `unimplemented_service_client`) and servers
/// (`test_service_server`, `unimplemented_service_server`).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod pb {
    tonic::include_proto!("grpc.testing");
}

/// Generated code for `grpcweb.demo.v1` (`protos/examples/demo.proto`): messages, and the
/// tonic client (`demo_service_client`) and server (`demo_service_server`).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod demo_pb {
    tonic::include_proto!("grpcweb.demo.v1");
}

/// Generated code for the `google.rpc` error details the demo sends (`BadRequest`,
/// `ErrorInfo`; `protos/google/rpc/error_details.proto`).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod rpc_pb {
    tonic::include_proto!("google.rpc");
}

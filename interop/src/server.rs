//! Serving the interop services on an already-bound listener.

use std::fmt;
use std::future::Future;

use grpcweb_layer::CorsError;
use grpcweb_layer::{CorsConfig, CorsLayer, GrpcWebLayer};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::echo::EchoMetadata;
use crate::pb::test_service_server::TestServiceServer;
use crate::service::TestServiceImpl;

/// How [`serve`] serves.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Also accept gRPC-Web (binary and text) over HTTP/1.1 and HTTP/2, translated by
    /// [`grpcweb_layer::GrpcWebLayer`] in front of the services. Native gRPC keeps working
    /// either way. When the layer translates, it also enforces `grpc-timeout` itself.
    pub grpc_web: bool,
    /// Browser origins allowed to call the gRPC-Web endpoint cross-origin (the proxy's
    /// CORS rules, answered in-process). Empty: only same-origin and non-browser callers.
    /// Used only with [`ServeOptions::grpc_web`].
    pub allowed_origins: Vec<String>,
    /// Let gRPC-Web clients stream requests (client-streaming and bidi calls), as
    /// [`GrpcWebLayer::allow_request_streaming`] does. Used only with
    /// [`ServeOptions::grpc_web`].
    pub allow_request_streaming: bool,
}

/// Why [`serve`] failed.
pub struct ServeError {
    kind: Kind,
}

enum Kind {
    Transport(tonic::transport::Error),
    Cors(CorsError),
}

/// The `TestService` with the metadata echo, ready for tonic's `Server::add_service`.
pub fn test_service() -> EchoMetadata<TestServiceServer<TestServiceImpl>> {
    EchoMetadata::new(TestServiceServer::new(TestServiceImpl))
}

/// Serves `grpc.testing.TestService` on `listener` until `shutdown` completes.
///
/// Connections speak HTTP/2 with prior knowledge (h2c); with [`ServeOptions::grpc_web`]
/// HTTP/1.1 is accepted too. `UnimplementedService` is not registered, so tonic answers
/// its calls, like any unknown path, with `UNIMPLEMENTED`. Accepted sockets get
/// `TCP_NODELAY` so small streamed messages are not held back.
///
/// When `shutdown` completes the listener is closed at once and open connections are
/// drained: calls in flight run to completion before this returns.
///
/// # Errors
///
/// Fails when an allowed origin is not a valid pattern, or when the transport fails
/// (tonic gives up on the listener).
pub async fn serve<F>(
    listener: TcpListener,
    options: ServeOptions,
    shutdown: F,
) -> Result<(), ServeError>
where
    F: Future<Output = ()>,
{
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // The gRPC-Web layer goes outermost, so the metadata echo inside it sees native gRPC
    // for both kinds of client.
    let served = if options.grpc_web {
        let cors = CorsLayer::new(&CorsConfig {
            allowed_origins: options.allowed_origins,
            ..CorsConfig::default()
        })
        .map_err(|e| ServeError {
            kind: Kind::Cors(e),
        })?;
        Server::builder()
            .accept_http1(true)
            .layer(cors)
            .layer(GrpcWebLayer::new().allow_request_streaming(options.allow_request_streaming))
            .add_service(test_service())
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
    } else {
        Server::builder()
            .add_service(test_service())
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
    };
    served.map_err(|e| ServeError {
        kind: Kind::Transport(e),
    })
}

impl fmt::Debug for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Transport(e) => f.debug_tuple("ServeError::Transport").field(e).finish(),
            Kind::Cors(e) => f.debug_tuple("ServeError::Cors").field(e).finish(),
        }
    }
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Transport(_) => f.write_str("interop server transport error"),
            Kind::Cors(_) => f.write_str("invalid allowed origin"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Transport(e) => Some(e),
            Kind::Cors(e) => Some(e),
        }
    }
}

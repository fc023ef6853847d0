//! The standalone proxy: accept HTTP/1.1 and h2c on one port, run the CORS and gRPC-Web
//! layers, forward to the backend.

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_layer::Layer;

use crate::config::{Config, ConfigError};
use crate::cors::CorsLayer;
use crate::grpc_web::{GrpcWebLayer, RequestBody};
use crate::upstream::{PeerAddr, Upstream};

/// How long in-flight calls may run on after shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound, configured proxy, ready to serve.
#[derive(Debug)]
pub struct Proxy {
    listener: TcpListener,
    config: Config,
}

/// Why the proxy could not start.
#[derive(Debug)]
pub enum StartError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The listen address could not be bound.
    Bind(SocketAddr, io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl Proxy {
    /// Validates `config` and binds its listen address.
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartError::Bind(config.listen, e))?;
        Ok(Self { listener, config })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight calls
    /// finish (for up to 30 s).
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
        let Self { listener, config } = self;
        let upstream =
            Upstream::<RequestBody<Incoming>>::new(&config.backend).map_err(StartError::Config)?;
        let web = GrpcWebLayer::new()
            .max_message_size(config.limits.max_message_size)
            .max_timeout(config.limits.max_timeout)
            .body_read_timeout(config.limits.body_read_timeout)
            .allow_request_streaming(config.allow_request_streaming)
            .layer(upstream);
        let service = CorsLayer::new(&config.cors)
            .map_err(StartError::Config)?
            .layer(web);

        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(config.limits.header_read_timeout)
            .max_buf_size((config.limits.max_header_size as usize).max(8192) * 4);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(config.limits.max_concurrent_streams)
            .max_header_list_size(config.limits.max_header_size)
            .initial_stream_window_size(1 << 20)
            .initial_connection_window_size(4 << 20)
            .keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10));

        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(config.limits.max_connections));
        tokio::pin!(shutdown);
        loop {
            // At the connection limit, stop accepting until a connection ends.
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let service = service.clone();
            let hyper_service =
                hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    service.clone().oneshot(req)
                });
            let conn = builder
                .serve_connection(TokioIo::new(stream), hyper_service)
                .into_owned();
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                let _slot = slot;
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(DRAIN_TIMEOUT) => {
                tracing::warn!("in-flight calls still running after {DRAIN_TIMEOUT:?}; stopping");
            }
        }
        Ok(())
    }
}

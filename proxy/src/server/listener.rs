//! Accepting connections without spinning when the process is out of file descriptors,
//! the TLS handshake within the header deadline, and the admin listener's loop: a connection cap and the same header deadline and idle
//! timeout as client connections, so a scraper or a stranger cannot pile up sockets.

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::connection::{self, Activity, Connections, Timeouts};
use crate::admin::{self, AdminState};
use crate::config::LimitsConfig;
use crate::metrics::Metrics;
use crate::tls::HandshakeFailure;

/// Most admin connections at once; more wait in the listen backlog.
pub(crate) const ADMIN_MAX_CONNECTIONS: usize = 64;
/// Longest an admin connection may stay idle (less when `idle_timeout` is less).
pub(crate) const ADMIN_MAX_IDLE: Duration = Duration::from_secs(60);
/// Longest an admin connection may take to send its first request's headers (less when
/// `header_read_timeout` is less): probes and scrapers ask at once, and a few silent
/// sockets must not hold the slots the kubelet's probes need.
pub(crate) const ADMIN_MAX_HEADER_WAIT: Duration = Duration::from_secs(5);
/// How long to wait before accepting again after an accept error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The next connection, or `None` after an accept error and a pause: out of file
/// descriptors (EMFILE, ENFILE) the pending connection stays in the backlog, so retrying
/// at once would spin.
pub(crate) async fn accept(listener: &TcpListener) -> Option<(TcpStream, SocketAddr)> {
    match listener.accept().await {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::warn!(error = %e, "accept failed");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            None
        }
    }
}

/// The TLS handshake, to finish by `deadline` (the connection's header deadline); a
/// failure is counted and logged with its reason.
pub(crate) async fn tls_handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    deadline: Instant,
    metrics: &Metrics,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            let failure = HandshakeFailure::of(&e);
            let reason = failure.label();
            metrics.tls_handshake_failed(reason);
            // Load balancers' TCP checks connect and close: not worth an info line each.
            if failure == HandshakeFailure::Io {
                tracing::debug!(%peer, reason, error = %e, "TLS handshake failed");
            } else {
                tracing::info!(%peer, reason, error = %e, "TLS handshake failed");
            }
            None
        }
        Err(_) => {
            let reason = HandshakeFailure::Timeout.label();
            metrics.tls_handshake_failed(reason);
            tracing::debug!(%peer, reason, "TLS handshake not finished within header_read_timeout");
            None
        }
    }
}

/// Serves `/healthz`, `/readyz` and `/metrics` until the task is dropped.
pub(crate) async fn serve_admin(
    listener: TcpListener,
    state: Arc<AdminState>,
    limits: LimitsConfig,
) {
    let header_wait = limits.header_read_timeout.min(ADMIN_MAX_HEADER_WAIT);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_wait)
        .max_buf_size(16 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(16)
        .max_header_list_size(16 * 1024);
    let slots = Arc::new(Semaphore::new(ADMIN_MAX_CONNECTIONS));
    let connections = Connections::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some((stream, _)) = accept(&listener).await else {
            continue;
        };
        let timeouts = Timeouts {
            header_deadline: connection::deadline(Instant::now(), header_wait),
            idle: limits.idle_timeout.min(ADMIN_MAX_IDLE),
        };
        let (state, builder, connections) = (state.clone(), builder.clone(), connections.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let activity = Activity::new();
            let calls = activity.clone();
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                // Answered at once and whole: never a premature reset.
                calls.begin().set_complete();
                let res = admin::respond(&state, &req);
                async move { Ok::<_, Infallible>(res) }
            });
            let io = TokioIo::new(stream);
            if let Err(e) = connections
                .serve(&builder, io, service, activity, timeouts)
                .await
            {
                tracing::debug!(error = %e, "admin connection ended with an error");
            }
        });
    }
}

//! The standalone proxy: accept HTTP/1.1 and h2c on one port, run the CORS and gRPC-Web
//! layers, route to the backends; and the admin listener beside it.
//!
//! Each call passes, outermost first: the panic guard (`guard`), the call's record
//! (metrics and access log), credentials marked sensitive, CORS, REST calls made gRPC
//! (`rest`), the route match ([`RouteLayer`]), the gRPC-Web layer, JSON messages
//! transcoded (`json`), and the [`Router`], which forwards it.
//!
//! With the per-worker scheduler ([`Scheduler::PerWorker`](crate::Scheduler::PerWorker),
//! the default) each worker runs its own current-thread runtime; worker 0 accepts and
//! gives each connection to the worker with the fewest (`accept`), which serves it and
//! forwards its calls on its own backend connections. Connection limits, metrics and
//! the drain are shared by all workers.

mod accept;
mod connection;
mod guard;
mod keep_alive;
mod linger;
mod listener;
mod observe;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_layer::Layer;

use grpcweb_layer::{CorsLayer, GrpcWebLayer, RequestBody};

use crate::admin::AdminState;
use crate::config::{Config, ConfigError};
use crate::descriptors::DescriptorState;
use crate::json::{CallBody, JsonCalls, JsonSettings};
use crate::metrics::Metrics;
use crate::rest::{RestBody, RestCalls, RestSettings};
use crate::router::{RouteLayer, Router};
use connection::Connections;
use linger::LingeringBody;
use observe::CountingBody;

/// The request body type the proxy's stack sees.
type ClientBody = CountingBody<LingeringBody>;

/// A bound, configured proxy, ready to serve.
#[derive(Debug)]
pub struct Proxy {
    listener: TcpListener,
    admin: Option<TcpListener>,
    config: Config,
}

/// Why the proxy could not start.
#[derive(Debug)]
pub enum StartError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// A listen address could not be bound.
    Bind(SocketAddr, io::Error),
    /// A worker's runtime or thread could not be started.
    Runtime(io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            Self::Runtime(e) => write!(f, "cannot start a worker: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl Proxy {
    /// Validates `config` and binds its listen addresses.
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartError::Bind(config.listen, e))?;
        let admin = match config.admin_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| StartError::Bind(addr, e))?,
            ),
            None => None,
        };
        Ok(Self {
            listener,
            admin,
            config,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound admin address, when there is an admin listener.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes; then `/readyz` turns 503, the listener closes
    /// (new connections are refused), and calls in flight may finish for up to the drain
    /// timeout before the connections are closed.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
        let Self {
            listener,
            admin,
            config,
        } = self;
        let stop_calls = CancellationToken::new();
        let router = Router::<CallBody<RequestBody<RestBody<ClientBody>>>>::new(&config)
            .map_err(StartError::Config)?
            .shutdown_signal(&stop_calls);
        let metrics = Arc::new(Metrics::new());
        let admin_state = Arc::new(AdminState {
            metrics: metrics.clone(),
            backends: router.backends().cloned().collect(),
            draining: AtomicBool::new(false),
        });
        let mut tasks: Vec<_> = router
            .backends()
            .flat_map(|b| {
                [
                    tokio::spawn(b.clone().probe_forever()),
                    tokio::spawn(b.clone().refresh_dns_forever()),
                ]
            })
            .collect();
        let tls = match &config.tls {
            Some(tls) => {
                let reloading = crate::tls::Reloading::new(tls).map_err(StartError::Config)?;
                tasks.push(tokio::spawn(reloading.clone().watch()));
                Some(reloading)
            }
            None => None,
        };
        if let Some(admin) = admin {
            tasks.push(tokio::spawn(listener::serve_admin(
                admin,
                admin_state.clone(),
                config.limits.clone(),
            )));
        }
        let route = RouteLayer::new(router.routes().clone());
        let descriptors = DescriptorState::new(&config).map_err(StartError::Config)?;
        tasks.extend(descriptors.spawn_fetches());
        let max_response_message_size = config
            .limits
            .max_response_message_size
            .unwrap_or(grpcweb_protocol::framing::DEFAULT_MAX_FRAME_LEN);
        let json = JsonCalls::new(
            router,
            JsonSettings {
                descriptors: descriptors.clone(),
                options: config.transcoding.json,
                max_message_size: config.limits.max_message_size,
                max_response_message_size,
            },
        );
        let web_layer = GrpcWebLayer::new()
            .max_message_size(config.limits.max_message_size)
            .max_response_message_size(config.limits.max_response_message_size)
            .max_buffered_request_bytes(config.limits.max_buffered_request_bytes)
            .max_timeout(config.limits.max_timeout)
            .body_read_timeout(config.limits.body_read_timeout)
            .request_idle_timeout(config.limits.request_idle_timeout)
            .allow_request_streaming(config.allow_request_streaming)
            .shutdown_signal(stop_calls.clone());
        let budget = web_layer.request_budget();
        let web = web_layer.layer(json);
        let has_rest = descriptors.any_descriptors();
        let rest = RestCalls::new(
            route.layer(web),
            RestSettings {
                descriptors,
                options: config.transcoding.json,
                max_message_size: config.limits.max_message_size,
                max_response_message_size,
                body_read_timeout: config.limits.body_read_timeout,
                headers: config
                    .transcoding
                    .rest_headers
                    .iter()
                    .filter_map(|h| http::HeaderName::from_bytes(h.as_bytes()).ok())
                    .collect(),
                stream: config.transcoding.rest_stream,
                budget,
            },
        );
        // Outermost first: credentials marked sensitive, CORS, REST calls made gRPC, the
        // route match, the translation.
        let cors = grpcweb_layer::CorsConfig {
            // REST rules bind any method; without descriptors there is no REST.
            allow_any_method: has_rest,
            ..config.cors.clone()
        };
        let service = guard::sensitive(
            CorsLayer::new(&cors)
                .map_err(|e| StartError::Config(e.into()))?
                .layer(rest),
        );
        let connections = Connections::new();
        let load = accept::Load::new(config.runtimes(), &metrics);
        let acceptor = accept::Acceptor {
            load,
            service,
            metrics: metrics.clone(),
            connections: connections.clone(),
            slots: Arc::new(Semaphore::new(config.limits.max_connections)),
            builder: connection_builder(&config),
            // An idle HTTP/1.1 connection closes at the first of the two timeouts.
            keep_alive: keep_alive::value(
                config
                    .limits
                    .header_read_timeout
                    .min(config.limits.idle_timeout),
            ),
            tls,
            header_read_timeout: config.limits.header_read_timeout,
            idle_timeout: config.limits.idle_timeout,
        };
        // Workers 1.. on threads of their own; worker 0 (this task) accepts, and hands
        // each connection to the worker with the fewest.
        let stop_accepting = CancellationToken::new();
        let workers_done = CancellationToken::new();
        // Dropped before its end (its caller gave up on it), `serve` still stops the
        // workers: they take no more connections and drop the ones they serve.
        let _stop_workers = (
            stop_accepting.clone().drop_guard(),
            workers_done.clone().drop_guard(),
        );
        let mut workers = Vec::new();
        let mut others = Vec::new();
        for index in 1..config.runtimes() {
            // Unbounded, but every connection on its way holds one of the
            // `max_connections` slots.
            let (handing, handed) = tokio::sync::mpsc::unbounded_channel();
            others.push(handing);
            let acceptor = acceptor.clone();
            let (stop, done) = (stop_accepting.clone(), workers_done.clone());
            let worker = crate::runtime::spawn_worker(index, move || async move {
                acceptor.serve_handed(handed, stop).await;
                // Its connections are served until the drain ends.
                done.cancelled().await;
            })
            .map_err(StartError::Runtime)?;
            workers.push(worker);
        }
        tokio::pin!(shutdown);
        tokio::select! {
            () = acceptor.run(listener, others, stop_accepting.clone()) => {}
            () = &mut shutdown => {}
        }
        stop_accepting.cancel();
        admin_state.draining.store(true, Ordering::Relaxed);
        let drain_timeout = config.limits.drain_timeout;
        connections.drain();
        let drained = connections.closed();
        tokio::pin!(drained);
        tokio::select! {
            () = &mut drained => {}
            () = tokio::time::sleep(drain_timeout) => {
                // End what is left with UNAVAILABLE, and give the connections a moment
                // to deliver that before they are closed.
                tracing::warn!("calls still in flight after {drain_timeout:?}: ending them with UNAVAILABLE");
                stop_calls.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(1), drained).await;
            }
        }
        for task in tasks {
            task.abort();
        }
        // The workers drop what is left on their runtimes and end.
        workers_done.cancel();
        let _ = tokio::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        })
        .await;
        Ok(())
    }
}

fn connection_builder(config: &Config) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(grpcweb_layer::deadline::clamp(
            config.limits.header_read_timeout,
        ))
        // The read buffer bounds the request head: over it, hyper answers 431. hyper
        // refuses a buffer under 8 KiB.
        .max_buf_size((config.limits.max_header_size as usize).max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.limits.max_concurrent_streams)
        .max_header_list_size(config.limits.max_header_size)
        // h2's defaults, pinned here because the abuse tests rely on them: more than 20
        // streams reset by the client before they are accepted, or 1024 streams we had to
        // reset for its errors, end the connection with GOAWAY (ENHANCE_YOUR_CALM). Rapid
        // resets after a stream is accepted are `connection`'s premature-reset rule.
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(1024)
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(4 << 20)
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10));
    builder
}

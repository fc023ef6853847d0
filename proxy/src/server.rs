//! The standalone proxy: accept HTTP/1.1 and h2c on one port, run the CORS and gRPC-Web
//! layers, route to the backends; and the admin listener beside it.
//!
//! Each call passes, outermost first: the panic guard (`guard`), the call's record
//! (metrics and access log), credentials marked sensitive, CORS, REST calls made gRPC
//! (`rest`), the route match ([`RouteLayer`]), the gRPC-Web layer, JSON messages
//! transcoded (`json`), and the [`Router`], which forwards it.

mod connection;
mod guard;
mod keep_alive;
mod linger;
mod listener;
mod observe;

use futures_util::FutureExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_layer::Layer;

use grpcweb_layer::{CorsLayer, GrpcWebLayer, RequestBody};

use crate::admin::AdminState;
use crate::config::{Config, ConfigError};
use crate::descriptors::DescriptorState;
use crate::json::{CallBody, JsonCalls, JsonSettings};
use crate::metrics::{CallRecord, Metrics};
use crate::rest::{RestBody, RestCalls, RestSettings};
use crate::router::{RouteLayer, Router};
use crate::upstream::{ClientCert, ClientIp};
use connection::{Activity, Connections, Timeouts, TooManyResets};
use linger::LingeringBody;
use observe::{CountingBody, ObservedCall};

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
        let web = GrpcWebLayer::new()
            .max_message_size(config.limits.max_message_size)
            .max_response_message_size(config.limits.max_response_message_size)
            .max_buffered_request_bytes(config.limits.max_buffered_request_bytes)
            .max_timeout(config.limits.max_timeout)
            .body_read_timeout(config.limits.body_read_timeout)
            .request_idle_timeout(config.limits.request_idle_timeout)
            .allow_request_streaming(config.allow_request_streaming)
            .shutdown_signal(stop_calls.clone())
            .layer(json);
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
            },
        );
        // Outermost first: credentials marked sensitive, CORS, REST calls made gRPC, the
        // route match, the translation.
        let service = guard::sensitive(
            CorsLayer::new(&config.cors)
                .map_err(|e| StartError::Config(e.into()))?
                .layer(rest),
        );
        let builder = connection_builder(&config);
        // An idle HTTP/1.1 connection closes at the first of the two timeouts.
        let keep_alive = keep_alive::value(
            config
                .limits
                .header_read_timeout
                .min(config.limits.idle_timeout),
        );

        let connections = Connections::new();
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
                accepted = listener::accept(&listener) => match accepted {
                    Some(conn) => conn,
                    None => continue,
                },
                () = &mut shutdown => break,
            };
            let accepted_at = Instant::now();
            let _ = stream.set_nodelay(true);
            let service = service.clone();
            let call_metrics = metrics.clone();
            let connection = metrics.connection();
            let activity = Activity::new();
            let calls = activity.clone();
            let client_ip = ClientIp::new(peer);
            let keep_alive = keep_alive.clone();
            let hyper_service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let call_guard = calls.begin();
                let record = CallRecord::start(&call_metrics, &req, Some(peer));
                let version = req.version();
                let advertised = (version == http::Version::HTTP_11)
                    .then(|| keep_alive.clone())
                    .flatten();
                let mut req = req.map(|body| {
                    CountingBody::new(LingeringBody::new(body, version), record.bytes_in.clone())
                });
                req.extensions_mut().insert(client_ip.clone());
                req.extensions_mut().insert(record.messages.clone());
                req.extensions_mut().insert(record.answered.clone());
                guard::catch_panic(ObservedCall::new(
                    service.clone().oneshot(req),
                    record,
                    call_guard,
                ))
                .map(move |res| res.map(|res| keep_alive::advertise(res, advertised.as_ref())))
            });
            let connections = connections.clone();
            let builder = builder.clone();
            let timeouts = Timeouts {
                header_deadline: connection::deadline(
                    accepted_at,
                    config.limits.header_read_timeout,
                ),
                idle: config.limits.idle_timeout,
            };
            let acceptor = tls.as_ref().map(|t| t.acceptor());
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let _connection = connection;
                let result = match acceptor {
                    None => {
                        connections
                            .serve(
                                &builder,
                                TokioIo::new(stream),
                                hyper_service,
                                activity,
                                timeouts,
                            )
                            .await
                    }
                    Some(acceptor) => {
                        let deadline = timeouts.header_deadline;
                        let Some(tls_stream) =
                            listener::tls_handshake(&acceptor, stream, deadline, &metrics, peer)
                                .await
                        else {
                            return;
                        };
                        // A certificate is there only when the listener verified it.
                        let cert = tls_stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .and_then(|der| ClientCert::from_der(der));
                        let hyper_service =
                            hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                                if let Some(cert) = &cert {
                                    req.extensions_mut().insert(cert.clone());
                                }
                                hyper::service::Service::call(&hyper_service, req)
                            });
                        connections
                            .serve(
                                &builder,
                                TokioIo::new(tls_stream),
                                hyper_service,
                                activity,
                                timeouts,
                            )
                            .await
                    }
                };
                match result {
                    Err(e) if e.is::<TooManyResets>() => {
                        tracing::info!(%peer, "{e}");
                    }
                    Err(e) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
                    Ok(()) => {}
                }
            });
        }
        admin_state.draining.store(true, Ordering::Relaxed);
        drop(listener);
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

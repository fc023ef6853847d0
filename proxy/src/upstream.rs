//! Forwarding to backends: HTTP/2 (h2c, or TLS) over shared, multiplexed connections,
//! balanced over each backend's endpoints.
//!
//! Each endpoint has its own pool of connections (one per worker runtime with the
//! per-worker scheduler): calls share a connection up to the backend's
//! SETTINGS_MAX_CONCURRENT_STREAMS, and another connection is opened only when every one
//! is full, up to the backend's `max_connections`; then calls wait, up to
//! `max_pending_calls`. What a backend or a connection did wrong goes to the log,
//! with the call's path; the client's status says only what kind of failure it was
//! (see [`grpcweb_layer::failure`]).

mod conn;
mod counting;
mod endpoints;
mod error;
mod forwarding;
mod health;
mod pool;
mod stop;
mod stream;

use http::uri::PathAndQuery;
use http::{Request, Response, Uri};
use http_body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::config::{BackendConfig, ConfigError, ForwardingConfig, HealthCheck};
use endpoints::Endpoint;
use error::Failure;
use futures_util::FutureExt as _;
use grpcweb_layer::BoxError;
use health::Probe;
use pool::{Connector, Pool};
use stop::Stoppable;

pub use endpoints::{Backend, EndpointHealth};
pub use error::UpstreamError;
pub(crate) use forwarding::ClientCert;
pub use stream::UpstreamBody;

/// A call's future: boxed once, here, and not again by the [`Router`](crate::router::Router)
/// above.
pub type UpstreamFuture =
    Pin<Box<dyn Future<Output = Result<Response<UpstreamBody>, UpstreamError>> + Send>>;

/// The client's address: put one in a request's extensions for `x-forwarded-for`. (The
/// proxy's server passes it, formatted once per connection, in the call's own extension.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// A tower service that sends each request to one backend over HTTP/2.
///
/// Requests keep their path and most headers (`forwarding` says which go: hop-by-hop
/// ones, and identity claims from untrusted clients); the URI gets the chosen endpoint's
/// scheme and authority (so `host` becomes `:authority`), and the client address goes
/// into `x-forwarded-for` when enabled. Endpoints take turns; one that fails to connect is
/// skipped for a while (1 s, doubling up to 30 s) and until a probe or call succeeds.
/// Each endpoint's calls share its HTTP/2 connections up to the backend's stream limit;
/// another connection is opened when all are full.
pub struct Upstream<B> {
    backend: Arc<Backend>,
    forwarding: Arc<ForwardingConfig>,
    pools: Arc<Pools>,
    /// Cancelled when the proxy's drain ends: calls still waiting for response headers
    /// then fail with [`UpstreamError::is_shutdown`].
    stop: Option<CancellationToken>,
    _body: PhantomData<fn(B)>,
}

/// The connection pools of a backend's endpoints.
struct Pools {
    connector: Arc<Connector>,
    /// One per endpoint in use and per worker runtime; few, so a list.
    list: RwLock<Vec<Arc<Pool>>>,
    /// The proxy's per-worker runtimes (1 with the shared scheduler): each has pools of
    /// its own, each with the endpoint's connection and waiting budgets.
    workers: usize,
}

impl<B> Clone for Upstream<B> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            forwarding: self.forwarding.clone(),
            pools: self.pools.clone(),
            stop: self.stop.clone(),
            _body: PhantomData,
        }
    }
}

impl<B> fmt::Debug for Upstream<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("backend", &self.backend.name())
            .finish_non_exhaustive()
    }
}

impl<B> Upstream<B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// A client for `config`'s endpoints.
    pub fn new(config: &BackendConfig, forwarding: &ForwardingConfig) -> Result<Self, ConfigError> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.enforce_http(false);
        // TLS is used for https:// endpoints only; http:// ones stay cleartext (h2c).
        let tls = match config.tls.ca {
            Some(_) => {
                crate::tls::client_config(&format!("backends.{}", config.name), &config.tls)?
            }
            None => rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::new(format!("backends.{}", config.name), e.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        };
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let builder = match &config.tls.server_name {
            Some(name) => {
                let name = rustls_pki_types::ServerName::try_from(name.clone()).map_err(|e| {
                    ConfigError::new(
                        format!("backends.{}.server_name", config.name),
                        e.to_string(),
                    )
                })?;
                builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
            }
            None => builder,
        };
        let connector = builder.enable_http2().wrap_connector(http);
        let probe = match &config.health_check {
            HealthCheck::Tcp => Probe::Tcp,
            HealthCheck::Grpc { service } => Probe::Grpc {
                service: service.clone(),
                client: Box::new(
                    Client::builder(TokioExecutor::new())
                        .http2_only(true)
                        .timer(TokioTimer::new())
                        .build(connector.clone()),
                ),
            },
        };
        let open = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let overflows = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let backend = Arc::new(Backend::new(
            config,
            probe,
            open.clone(),
            overflows.clone(),
        )?);
        let connector = Arc::new(Connector {
            tcp_tls: connector,
            http2: conn::http2_builder(),
            keep_alive: (Duration::from_secs(30), Duration::from_secs(10)),
            open,
            timeout: config.connect_timeout,
            max_connections: config.max_connections.max(1),
            max_pending: config.max_pending_calls,
            overflows,
        });
        Ok(Self {
            backend,
            forwarding: Arc::new(forwarding.clone()),
            pools: Arc::new(Pools {
                connector,
                list: RwLock::new(Vec::new()),
                workers: 1,
            }),
            stop: None,
            _body: PhantomData,
        })
    }

    /// Calls still waiting for response headers when `stop` is cancelled (at the end of
    /// the proxy's drain) fail at once, with [`UpstreamError::is_shutdown`], and their
    /// backend streams are reset.
    #[must_use]
    pub fn shutdown_signal(mut self, stop: CancellationToken) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Calls made on each of `workers` per-worker runtimes
    /// ([`Scheduler::PerWorker`](crate::Scheduler::PerWorker)) use connections of their
    /// own runtime: every endpoint gets a pool per worker, and `max_connections` and
    /// `max_pending_calls` hold for each.
    #[must_use]
    pub fn per_worker(mut self, workers: usize) -> Self {
        self.pools = Arc::new(Pools {
            connector: self.pools.connector.clone(),
            list: RwLock::new(Vec::new()),
            workers: workers.max(1),
        });
        self
    }

    /// The backend's endpoints and their health.
    pub fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }
}

impl<B> Service<Request<B>> for Upstream<B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<UpstreamBody>;
    type Error = UpstreamError;
    type Future = UpstreamFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.send(req)
    }
}

impl<B> Upstream<B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Sends `req` to the next endpoint in turn (what [`Service::call`] does), through a
    /// shared reference.
    pub(crate) fn send(&self, mut req: Request<B>) -> UpstreamFuture {
        let endpoint = self.backend.pick();
        let pool = self.pool(&endpoint);
        let path = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let uri = Uri::builder()
            .scheme(endpoint.url.scheme.clone())
            .authority(endpoint.url.authority.clone())
            .path_and_query(path.clone())
            .build();
        if let Ok(built) = uri {
            *req.uri_mut() = built;
        }
        forwarding::forward_headers(&mut req, &self.forwarding);
        // Mapped rather than awaited in an `async` block, which would hold the request
        // twice while the call waits for its headers.
        let backend = self.backend.clone();
        let call = Stoppable::new(pool.send(req), self.stop.as_ref());
        Box::pin(call.map(move |result| match result {
            Ok(res) => {
                endpoint.health.succeeded();
                Ok(res)
            }
            // The pool has marked the endpoint when it could not connect.
            Err(source) => {
                let err = UpstreamError {
                    endpoint: endpoint.display.clone(),
                    source,
                };
                let error = grpcweb_layer::error::chain(&err);
                let backend = backend.name();
                if matches!(err.source, Failure::Overflow | Failure::Shutdown) {
                    tracing::debug!(
                        backend,
                        path = path.as_str(),
                        error,
                        "backend call not made"
                    );
                } else {
                    tracing::warn!(backend, path = path.as_str(), error, "backend call failed");
                }
                Err(err)
            }
        }))
    }

    /// The pool of `endpoint`'s connections. Pools of endpoints no longer in use (DNS
    /// refresh replaced them) are dropped when a new one is made; their connections close
    /// once their calls end.
    fn pool(&self, endpoint: &Arc<Endpoint>) -> Arc<Pool> {
        let worker = crate::runtime::worker() % self.pools.workers;
        let find = |list: &[Arc<Pool>]| {
            list.iter()
                .find(|p| p.worker == worker && Arc::ptr_eq(&p.endpoint, endpoint))
                .cloned()
        };
        if let Some(pool) = find(&read(&self.pools.list)) {
            return pool;
        }
        let mut list = match self.pools.list.write() {
            Ok(list) => list,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(pool) = find(&list) {
            return pool;
        }
        list.retain(|p| self.backend.in_use(&p.endpoint));
        let pool = Arc::new(Pool::new(
            endpoint.clone(),
            self.pools.connector.clone(),
            worker,
        ));
        list.push(pool.clone());
        pool
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    match lock.read() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

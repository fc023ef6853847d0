//! Routing by gRPC service name to a backend. Calls no route takes, and requests whose
//! path is not a gRPC method path ([`MethodPath`]), are refused with UNIMPLEMENTED
//! without touching any backend, so the proxy never forwards anywhere it was not told to.
//!
//! Each call is matched once, by [`RouteLayer`] in front of the gRPC-Web layer: the match
//! ([`Route`], and the layer's [`RouteLimits`]) travels in the request's extensions to the
//! layer (which caps the call's deadline by it) and to the [`Router`] at the bottom of the
//! stack (which sends the call to the route's backend).

use grpcweb_layer::{BackendError, BackendErrorKind, BoxError, RouteLimits};
use http::{Request, Response};
use http_body::Body;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tower_layer::Layer;
use tower_service::Service;

use crate::call::CallContext;
use crate::config::{Config, ConfigError, RouteMatch};
use crate::method::MethodPath;
use crate::upstream::{Backend, Upstream, UpstreamBody, UpstreamFuture};

/// Why a call has no route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// No route takes this service.
    NoRoute {
        /// The service name from the path.
        service: String,
    },
    /// The path is not `/<dotted identifier>/<identifier>` (or has a query): not a gRPC
    /// call, never forwarded.
    InvalidPath,
    /// The route names a backend this router does not have (a route of another
    /// configuration).
    UnknownBackend,
}

impl RouteError {
    /// The kind of failure the client is answered for.
    fn kind(&self) -> BackendErrorKind {
        match self {
            Self::NoRoute { service } => BackendErrorKind::NoRoute {
                service: service.clone(),
            },
            Self::InvalidPath => BackendErrorKind::NotAMethodPath,
            Self::UnknownBackend => BackendErrorKind::Other,
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRoute { service } => {
                write!(f, "no route for service {service:?} on this proxy")
            }
            Self::InvalidPath => f.write_str(
                "not a gRPC method path: expected /package.Service/Method with no query",
            ),
            Self::UnknownBackend => f.write_str("the route names no backend of this router"),
        }
    }
}

impl std::error::Error for RouteError {}

/// The route a call takes: its backend and its limits. [`RouteLayer`] puts the match
/// (`Result<Route, RouteError>`) in the request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    backend: usize,
    /// The route's limits.
    pub limits: RouteLimits,
}

/// The routes of a configuration, most specific first: exact services, then packages
/// (longest first), then all.
#[derive(Clone, Debug)]
pub struct Routes(Arc<[(RouteMatch, Route)]>);

impl Route {
    /// The backend's index in the configuration.
    pub fn backend(&self) -> usize {
        self.backend
    }
}

impl Routes {
    /// The route of a request to `path` (its path and query, as sent): only a gRPC method
    /// path is routed.
    pub fn route(&self, path: &str) -> Result<Route, RouteError> {
        let method = MethodPath::parse(path).ok_or(RouteError::InvalidPath)?;
        find(&self.0, method.service)
    }
}

fn find(routes: &[(RouteMatch, Route)], service: &str) -> Result<Route, RouteError> {
    routes
        .iter()
        .find(|(m, _)| match m {
            RouteMatch::All => true,
            RouteMatch::Service(s) => s == service,
            RouteMatch::Package(p) => service
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.')),
        })
        .map(|(_, route)| *route)
        .ok_or_else(|| RouteError::NoRoute {
            service: service.to_owned(),
        })
}

/// Matches each request against the [`Routes`] once and puts the result
/// (`Result<Route, RouteError>`, and the route's [`RouteLimits`]) in its extensions.
#[derive(Clone, Debug)]
pub struct RouteLayer {
    routes: Routes,
}

impl RouteLayer {
    /// Matches against `routes`.
    pub fn new(routes: Routes) -> Self {
        Self { routes }
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = RouteService<S>;

    fn layer(&self, inner: S) -> RouteService<S> {
        RouteService {
            inner,
            routes: self.routes.clone(),
        }
    }
}

/// The service made by [`RouteLayer`].
#[derive(Clone, Debug)]
pub struct RouteService<S> {
    inner: S,
    routes: Routes,
}

impl<S, B> Service<Request<B>> for RouteService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> S::Future {
        let path = req.uri().path_and_query().map_or("", |p| p.as_str());
        let routed = self.routes.route(path);
        if let Ok(route) = &routed {
            req.extensions_mut().insert(route.limits);
        }
        req.extensions_mut().insert(routed);
        self.inner.call(req)
    }
}

/// Sends each call to the backend its route names.
pub struct Router<B> {
    routes: Routes,
    /// Shared, so that the per-call clones tower makes cost a reference count.
    upstreams: Arc<[Upstream<B>]>,
}

impl<B> Clone for Router<B> {
    fn clone(&self) -> Self {
        Self {
            routes: self.routes.clone(),
            upstreams: self.upstreams.clone(),
        }
    }
}

impl<B> fmt::Debug for Router<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl<B> Router<B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Builds the backends and routes of a validated `config`.
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let mut upstreams = Vec::with_capacity(config.backends.len());
        for backend in &config.backends {
            upstreams
                .push(Upstream::new(backend, &config.forwarding)?.per_worker(config.runtimes()));
        }
        let index = |name: &str| config.backends.iter().position(|b| b.name == name);
        let mut routes = Vec::new();
        if config.routes.is_empty() {
            routes.push((RouteMatch::All, route(0, None)));
        }
        for (i, r) in config.routes.iter().enumerate() {
            let backend = index(&r.backend).ok_or_else(|| {
                ConfigError::new(
                    format!("routes[{i}].backend"),
                    format!("no backend named {:?}", r.backend),
                )
            })?;
            let limits = RouteLimits {
                max_duration: r.max_duration,
                allow_request_streaming: r.allow_request_streaming,
            };
            routes.push((r.matches.clone(), Route { backend, limits }));
        }
        routes.sort_by_key(|(m, _)| match m {
            RouteMatch::Service(_) => (0, 0),
            RouteMatch::Package(p) => (1, usize::MAX - p.len()),
            RouteMatch::All => (2, 0),
        });
        Ok(Self {
            routes: Routes(routes.into()),
            upstreams: upstreams.into(),
        })
    }

    /// Calls still waiting for a backend's response headers when `stop` is cancelled (at
    /// the end of the proxy's drain) fail with UNAVAILABLE.
    #[must_use]
    pub fn shutdown_signal(self, stop: &tokio_util::sync::CancellationToken) -> Self {
        let upstreams = self.upstreams.iter();
        Self {
            routes: self.routes,
            upstreams: upstreams
                .map(|u| u.clone().shutdown_signal(stop.clone()))
                .collect(),
        }
    }

    /// Every backend, for health reporting.
    pub fn backends(&self) -> impl Iterator<Item = &Arc<Backend>> {
        self.upstreams.iter().map(Upstream::backend)
    }

    /// The routes, for the [`RouteLayer`] in front of the stack.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }
}

fn route(backend: usize, max_duration: Option<Duration>) -> Route {
    Route {
        backend,
        limits: RouteLimits {
            max_duration,
            ..RouteLimits::default()
        },
    }
}

impl<B> Service<Request<B>> for Router<B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<UpstreamBody>;
    type Error = BackendError;
    /// The backend's (boxed once, by the [`Upstream`]) future, not boxed again.
    type Future = RouterFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // Matched by the `RouteLayer` in front; a request that did not pass one is
        // matched here.
        let routed = match req.extensions_mut().remove::<Result<Route, RouteError>>() {
            Some(routed) => routed,
            None => {
                let path = req.uri().path_and_query().map_or("", |p| p.as_str());
                self.routes.route(path)
            }
        };
        let upstream = routed.and_then(|route| {
            // A route of another configuration's routes may name a backend not here.
            self.upstreams
                .get(route.backend)
                .ok_or(RouteError::UnknownBackend)
        });
        match upstream {
            Ok(upstream) => {
                let answered = req.extensions().get::<CallContext>().cloned();
                RouterFuture(Routed::Call {
                    call: upstream.send(req),
                    answered,
                })
            }
            Err(e) => RouterFuture(Routed::Refused(Some(BackendError::new(e.kind(), e)))),
        }
    }
}

/// A routed call: the backend's answer (noting, for the metrics, whether the method
/// exists), or the refusal of a call with no route.
pub struct RouterFuture(Routed);

enum Routed {
    /// Sent to a backend; `answered` is set when its headers show the method exists.
    Call {
        call: UpstreamFuture,
        answered: Option<CallContext>,
    },
    /// Not sent: why (taken when polled).
    Refused(Option<BackendError>),
}

impl fmt::Debug for RouterFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Routed::Call { .. } => "RouterFuture::Call",
            Routed::Refused(_) => "RouterFuture::Refused",
        })
    }
}

impl Future for RouterFuture {
    type Output = Result<Response<UpstreamBody>, BackendError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            Routed::Call { call, answered } => {
                let res =
                    ready!(call.as_mut().poll(cx)).map_err(|e| BackendError::new(e.kind(), e))?;
                if let Some(answered) = answered.take()
                    && method_exists(&res)
                {
                    answered.set_answered();
                }
                Poll::Ready(Ok(res))
            }
            // Polled again after it answered: a bug in the caller, not worth a panic.
            Routed::Refused(e) => e.take().map_or(Poll::Pending, |e| Poll::Ready(Err(e))),
        }
    }
}

/// Whether a backend's response headers show that the called method exists: a gRPC answer
/// (HTTP 200, a gRPC content type) that is not a trailers-only `UNIMPLEMENTED`. Metrics
/// give a method a series of its own only then, so junk method names cannot take the
/// places of real ones, even when their clients go away before the status.
fn method_exists<T>(res: &Response<T>) -> bool {
    let grpc = res.status() == http::StatusCode::OK
        && res
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    grpc && res
        .headers()
        .get(grpcweb_protocol::status::GRPC_STATUS_HEADER)
        .is_none_or(|v| v.as_bytes() != b"12")
}

#[cfg(test)]
mod tests;

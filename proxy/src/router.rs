//! Routing by gRPC service name to a backend. Calls no route takes, and requests whose
//! path is not a gRPC method path ([`MethodPath`]), are refused with UNIMPLEMENTED
//! without touching any backend, so the proxy never forwards anywhere it was not told to.

use http::{Request, Response};
use http_body::Body;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower_service::Service;

use crate::BoxError;
use crate::config::{Config, ConfigError, RouteMatch};
use crate::method::MethodPath;
use crate::metrics::BackendAnswered;
use crate::upstream::{Backend, Upstream, UpstreamBody, UpstreamError};

/// Why a call was not forwarded, or failed on its way.
#[derive(Debug)]
pub enum RouteError {
    /// No route takes this service.
    NoRoute {
        /// The service name from the path.
        service: String,
    },
    /// The path is not `/<dotted identifier>/<identifier>` (or has a query): not a gRPC
    /// call, never forwarded.
    InvalidPath,
    /// The backend call failed.
    Upstream(UpstreamError),
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
            Self::Upstream(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RouteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NoRoute { .. } | Self::InvalidPath => None,
            Self::Upstream(e) => Some(e),
        }
    }
}

/// Sends each call to the backend its route names.
pub struct Router<B> {
    /// Most specific first: exact services, then packages (longest first), then all.
    /// Each with its backend's index and its max call duration.
    routes: Arc<[(RouteMatch, usize, Option<Duration>)]>,
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
            upstreams.push(Upstream::new(backend, &config.forwarding)?);
        }
        let index = |name: &str| config.backends.iter().position(|b| b.name == name);
        let mut routes = Vec::new();
        if config.routes.is_empty() {
            routes.push((RouteMatch::All, 0, None));
        }
        for (i, route) in config.routes.iter().enumerate() {
            let backend = index(&route.backend).ok_or_else(|| {
                ConfigError::new(
                    format!("routes[{i}].backend"),
                    format!("no backend named {:?}", route.backend),
                )
            })?;
            routes.push((route.matches.clone(), backend, route.max_duration));
        }
        routes.sort_by_key(|(m, _, _)| match m {
            RouteMatch::Service(_) => (0, 0),
            RouteMatch::Package(p) => (1, usize::MAX - p.len()),
            RouteMatch::All => (2, 0),
        });
        Ok(Self {
            routes: routes.into(),
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

    /// The max call duration of each path's route: for
    /// [`GrpcWebLayer::route_timeouts`](crate::GrpcWebLayer::route_timeouts).
    pub fn max_durations(&self) -> impl Fn(&str) -> Option<Duration> + Send + Sync + 'static {
        let routes = self.routes.clone();
        move |path| {
            let method = MethodPath::parse(path)?;
            find(&routes, method.service).ok().and_then(|(_, d)| d)
        }
    }

    /// The backend of a request to `uri`: only a gRPC method path is routed.
    fn route(&self, uri: &http::Uri) -> Result<usize, RouteError> {
        let path = uri.path_and_query().map_or("", |p| p.as_str());
        let method = MethodPath::parse(path).ok_or(RouteError::InvalidPath)?;
        find(&self.routes, method.service).map(|(i, _)| i)
    }
}

fn find(
    routes: &[(RouteMatch, usize, Option<Duration>)],
    service: &str,
) -> Result<(usize, Option<Duration>), RouteError> {
    routes
        .iter()
        .find(|(m, _, _)| match m {
            RouteMatch::All => true,
            RouteMatch::Service(s) => s == service,
            RouteMatch::Package(p) => service
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.')),
        })
        .map(|(_, i, d)| (*i, *d))
        .ok_or_else(|| RouteError::NoRoute {
            service: service.to_owned(),
        })
}

impl<B> Service<Request<B>> for Router<B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<UpstreamBody>;
    type Error = RouteError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<UpstreamBody>, RouteError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.route(req.uri()) {
            Ok(i) => {
                let answered = req.extensions().get::<BackendAnswered>().cloned();
                let fut = self.upstreams[i].send(req);
                Box::pin(async move {
                    let res = fut.await.map_err(RouteError::Upstream)?;
                    if let Some(answered) = answered
                        && method_exists(&res)
                    {
                        answered.set();
                    }
                    Ok(res)
                })
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
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
        .get("grpc-status")
        .is_none_or(|v| v.as_bytes() != b"12")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_route_wins() {
        let routes = [
            (RouteMatch::Service("a.b.S".to_owned()), 0, None),
            (RouteMatch::Package("a.b".to_owned()), 1, None),
            (RouteMatch::Package("a".to_owned()), 2, None),
        ];
        let backend = |s: &str| find(&routes, s).ok().map(|(i, _)| i);
        assert_eq!(backend("a.b.S"), Some(0));
        assert_eq!(backend("a.b.T"), Some(1));
        assert_eq!(backend("a.bx.T"), Some(2));
        assert_eq!(
            backend("a"),
            None,
            "a package route takes its services only"
        );
        assert_eq!(backend("ab.S"), None);
    }

    #[test]
    fn a_method_exists_when_the_backend_answers_grpc_other_than_unimplemented() {
        let res = |status: u16, ct: &str, grpc_status: Option<&str>| {
            let mut b = Response::builder()
                .status(status)
                .header("content-type", ct);
            if let Some(s) = grpc_status {
                b = b.header("grpc-status", s);
            }
            b.body(()).unwrap()
        };
        assert!(method_exists(&res(200, "application/grpc", None)));
        assert!(method_exists(&res(
            200,
            "application/grpc+proto",
            Some("3")
        )));
        assert!(!method_exists(&res(200, "application/grpc", Some("12"))));
        assert!(!method_exists(&res(404, "application/grpc", None)));
        assert!(!method_exists(&res(200, "text/html", None)));
    }
}

//! Routing by gRPC service name to a backend. Calls no route takes are refused with
//! UNIMPLEMENTED without touching any backend, so the proxy never forwards anywhere it
//! was not told to.

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
use crate::upstream::{Backend, Upstream, UpstreamBody, UpstreamError};

/// Why a call was not forwarded, or failed on its way.
#[derive(Debug)]
pub enum RouteError {
    /// No route takes this service.
    NoRoute {
        /// The service name from the path (or the whole path when it is not a gRPC one).
        service: String,
    },
    /// The backend call failed.
    Upstream(UpstreamError),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRoute { service } => {
                write!(f, "no route for service {service:?} on this proxy")
            }
            Self::Upstream(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RouteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NoRoute { .. } => None,
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

    /// Every backend, for health reporting.
    pub fn backends(&self) -> impl Iterator<Item = &Arc<Backend>> {
        self.upstreams.iter().map(Upstream::backend)
    }

    /// The max call duration of each path's route: for
    /// [`GrpcWebLayer::route_timeouts`](crate::GrpcWebLayer::route_timeouts).
    pub fn max_durations(&self) -> impl Fn(&str) -> Option<Duration> + Send + Sync + 'static {
        let routes = self.routes.clone();
        move |path| find(&routes, path).ok().and_then(|(_, d)| d)
    }

    fn route(&self, path: &str) -> Result<usize, RouteError> {
        find(&self.routes, path).map(|(i, _)| i)
    }
}

fn find(
    routes: &[(RouteMatch, usize, Option<Duration>)],
    path: &str,
) -> Result<(usize, Option<Duration>), RouteError> {
    let service = service_of(path);
    routes
        .iter()
        .find(|(m, _, _)| match (m, service) {
            (RouteMatch::All, _) => true,
            (RouteMatch::Service(s), Some(service)) => s == service,
            (RouteMatch::Package(p), Some(service)) => {
                service.len() > p.len() + 1
                    && service.starts_with(p.as_str())
                    && service.as_bytes()[p.len()] == b'.'
            }
            _ => false,
        })
        .map(|(_, i, d)| (*i, *d))
        .ok_or_else(|| RouteError::NoRoute {
            service: service.unwrap_or(path).to_owned(),
        })
}

/// `pkg.Service` from `/pkg.Service/Method`.
fn service_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let (service, method) = rest.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some(service)
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
        match self.route(req.uri().path()) {
            Ok(i) => {
                let fut = self.upstreams[i].send(req);
                Box::pin(async move { fut.await.map_err(RouteError::Upstream) })
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_from_paths() {
        assert_eq!(service_of("/a.b.Svc/Method"), Some("a.b.Svc"));
        assert_eq!(service_of("/Svc/M"), Some("Svc"));
        // Found by the router_path fuzz target: "a." is no service of package "a".
        let routes = [(RouteMatch::Package("a".into()), 0, None)];
        assert!(find(&routes, "/a./m").is_err());
        assert!(find(&routes, "/a.B/m").is_ok());
        for bad in ["", "/", "/Svc", "/Svc/", "//M", "/a/b/c", "Svc/M"] {
            assert_eq!(service_of(bad), None, "{bad}");
        }
    }
}

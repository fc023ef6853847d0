//! The router's path match: for any `:path` and any service and package routes, a call
//! is routed only when its path is `/<service>/<method>` (neither empty, the method
//! without `/`) and the route's service is that service, or its package a dotted prefix
//! of it; an exact service route wins over any package route, a longer package over a
//! shorter one. Nothing panics.
#![no_main]

use bytes::Bytes;
use grpcweb_proxy::router::Router;
use grpcweb_proxy::{Config, RouteConfig, RouteMatch};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

/// Which routes the path may take, per the rules above: `(service, method)`.
fn service_and_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

fn takes(m: &RouteMatch, service: &str) -> bool {
    match m {
        RouteMatch::Service(s) => s == service,
        RouteMatch::Package(p) => service
            .strip_prefix(p.as_str())
            .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1),
        RouteMatch::All => true,
    }
}

/// Specificity, most specific first.
fn rank(m: &RouteMatch) -> (u8, usize) {
    match m {
        RouteMatch::Service(_) => (0, 0),
        RouteMatch::Package(p) => (1, usize::MAX - p.len()),
        RouteMatch::All => (2, 0),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    let Some(path) = lines.pop() else { return };
    lines.truncate(6);
    let mut config = Config::with_backend("http://127.0.0.1:1");
    config.backends[0].health_check_interval = None;
    // Each route's max_duration (i + 1 seconds) tells which one the router took.
    config.routes = lines
        .iter()
        .enumerate()
        .map(|(i, line)| RouteConfig {
            matches: match line.strip_prefix('+') {
                Some(package) => RouteMatch::Package(package.to_owned()),
                None => RouteMatch::Service((*line).to_owned()),
            },
            backend: "default".to_owned(),
            max_duration: Some(Duration::from_secs(i as u64 + 1)),
            allow_request_streaming: None,
        })
        .collect();
    if config.routes.is_empty() || config.validate().is_err() {
        return;
    }
    let Ok(router) = Router::<Full<Bytes>>::new(&config) else {
        return;
    };
    let Some(taken) = router
        .routes()
        .route(path)
        .ok()
        .and_then(|route| route.limits.max_duration)
    else {
        return;
    };
    let index = usize::try_from(taken.as_secs()).unwrap() - 1;
    let route = &config.routes[index].matches;
    let (service, method) =
        service_and_method(path).unwrap_or_else(|| panic!("{path:?} routed to {route:?}"));
    assert!(takes(route, service), "{path:?} routed to {route:?}");
    assert!(!method.is_empty());
    for other in &config.routes {
        if takes(&other.matches, service) {
            assert!(
                rank(route) <= rank(&other.matches),
                "{path:?}: {route:?} taken over the more specific {:?}",
                other.matches
            );
        }
    }
});

//! The admin endpoints: `/healthz`, `/readyz` and `/metrics` (served by
//! `server::listener`).

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::metrics::Metrics;
use crate::upstream::Backend;

/// What the admin endpoints report on.
#[derive(Debug)]
pub(crate) struct AdminState {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) backends: Vec<Arc<Backend>>,
    /// Set when shutdown starts, so load balancers stop sending new calls.
    pub(crate) draining: AtomicBool,
}

/// The answer to one admin request.
pub(crate) fn respond(state: &AdminState, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n".to_owned()),
        "/readyz" => {
            let mut problems = String::new();
            if state.draining.load(Ordering::Relaxed) {
                problems.push_str("shutting down\n");
            }
            for backend in &state.backends {
                if !backend.is_ready() {
                    let _ = writeln!(
                        problems,
                        "backend {} has no healthy endpoint",
                        backend.name()
                    );
                }
            }
            if problems.is_empty() {
                text(StatusCode::OK, "ready\n".to_owned())
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, problems)
            }
        }
        "/metrics" => {
            let mut res = text(StatusCode::OK, state.metrics.encode(state.backends.iter()));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            res
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /healthz, /readyz or /metrics\n".to_owned(),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

//! Prometheus metrics and the per-call record behind them and the access log.

use grpcweb_protocol::Code;
use grpcweb_protocol::content_type::RequestKind;
use http::{HeaderMap, Request, Version};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use crate::grpc_web::MessageCounts;
use crate::upstream::Backend;

/// Distinct (service, method) label pairs kept; later ones count as `other`, so a client
/// inventing paths cannot grow the metrics without bound.
const MAX_METHODS: usize = 1000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: String,
    method: String,
    code: String,
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    backend: String,
    endpoint: String,
}

/// A [`crate::tls::HandshakeFailure`] label: a fixed, small set of values.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandshakeFailureLabels {
    reason: &'static str,
}

type HistogramFamily = Family<ServiceLabels, Histogram, fn() -> Histogram>;

/// The proxy's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    duration: HistogramFamily,
    in_flight: Gauge,
    connections: Gauge,
    bytes_in: Counter,
    bytes_out: Counter,
    messages_in: Counter,
    messages_out: Counter,
    backend_connections: Family<BackendLabels, Gauge>,
    endpoint_healthy: Family<EndpointLabels, Gauge>,
    upstream_overflow: Family<BackendLabels, Counter>,
    tls_handshake_failures: Family<HandshakeFailureLabels, Counter>,
    /// Each `/service/method` path with labels of its own, and its metric handles.
    methods: RwLock<HashMap<String, Arc<MethodMetrics>>>,
    /// Where calls to other paths count.
    other: Arc<MethodMetrics>,
}

/// The metric handles of one (service, method) label pair, looked up once and kept, so a
/// finished call costs a few atomic increments rather than label hashing and allocation.
#[derive(Debug)]
struct MethodMetrics {
    /// `/service/method`.
    path: String,
    service: String,
    method: String,
    duration: Histogram,
    /// Finished calls, by status ([`CODE_LABELS`]) and mode ([`MODE_LABELS`]).
    calls: [OnceLock<Counter>; CODE_LABELS * MODE_LABELS],
}

/// The 17 gRPC codes, then `CLIENT_GONE` and `NONE`.
const CODE_LABELS: usize = 19;
const CLIENT_GONE: usize = 17;
const NO_STATUS: usize = 18;
const MODE_LABELS: usize = 4;
const MODE_NAMES: [&str; MODE_LABELS] = ["grpc-web", "grpc-web-text", "grpc", "other"];

impl MethodMetrics {
    fn new(metrics_duration: &HistogramFamily, service: String, method: String) -> Self {
        let duration = metrics_duration
            .get_or_create(&ServiceLabels {
                service: service.clone(),
            })
            .clone();
        Self {
            path: format!("/{service}/{method}"),
            service,
            method,
            duration,
            calls: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn calls(&self, family: &Family<CallLabels, Counter>, code: usize, mode: usize) -> &Counter {
        self.calls[code * MODE_LABELS + mode].get_or_init(|| {
            let code = match code {
                CLIENT_GONE => "CLIENT_GONE",
                NO_STATUS => "NONE",
                n => Code::from_i32(n as i32).name(),
            };
            family
                .get_or_create(&CallLabels {
                    service: self.service.clone(),
                    method: self.method.clone(),
                    code: code.to_owned(),
                    mode: MODE_NAMES[mode].to_owned(),
                })
                .clone()
        })
    }
}

fn duration_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("grpcweb");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "calls",
            "Finished calls by service, method, gRPC status and mode",
            calls.clone(),
        );
        let duration: HistogramFamily = Family::new_with_constructor(duration_histogram);
        registry.register(
            "call_duration_seconds",
            "Call duration, request start to response end",
            duration.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_calls",
            "Calls (unary and streams) in progress",
            in_flight.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "client_connections",
            "Open client connections",
            connections.clone(),
        );
        let bytes_in = Counter::default();
        registry.register(
            "request_bytes",
            "Request body bytes received from clients",
            bytes_in.clone(),
        );
        let bytes_out = Counter::default();
        registry.register(
            "response_bytes",
            "Response body bytes sent to clients",
            bytes_out.clone(),
        );
        let messages_in = Counter::default();
        registry.register(
            "request_messages",
            "gRPC-Web request messages received from clients",
            messages_in.clone(),
        );
        let messages_out = Counter::default();
        registry.register(
            "response_messages",
            "gRPC-Web response messages sent to clients",
            messages_out.clone(),
        );
        let backend_connections = Family::<BackendLabels, Gauge>::default();
        registry.register(
            "backend_connections",
            "Open connections to each backend",
            backend_connections.clone(),
        );
        let endpoint_healthy = Family::<EndpointLabels, Gauge>::default();
        registry.register(
            "backend_endpoint_healthy",
            "1 when the backend endpoint is reachable",
            endpoint_healthy.clone(),
        );
        let upstream_overflow = Family::<BackendLabels, Counter>::default();
        registry.register(
            "upstream_overflow",
            "Calls refused at once because too many were waiting for a backend connection",
            upstream_overflow.clone(),
        );
        let tls_handshake_failures = Family::<HandshakeFailureLabels, Counter>::default();
        registry.register(
            "tls_handshake_failures",
            "Client TLS handshakes that failed, by reason",
            tls_handshake_failures.clone(),
        );
        let other = Arc::new(MethodMetrics::new(
            &duration,
            "other".to_owned(),
            "other".to_owned(),
        ));
        Self {
            registry,
            calls,
            duration,
            in_flight,
            connections,
            bytes_in,
            bytes_out,
            messages_in,
            messages_out,
            backend_connections,
            endpoint_healthy,
            upstream_overflow,
            tls_handshake_failures,
            methods: RwLock::new(HashMap::new()),
            other,
        }
    }

    /// Counts an opened client connection until the guard drops.
    pub fn connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.inc();
        ConnectionGuard(self.clone())
    }

    /// Counts a failed client TLS handshake (`reason` from a fixed set).
    pub(crate) fn tls_handshake_failed(&self, reason: &'static str) {
        self.tls_handshake_failures
            .get_or_create(&HandshakeFailureLabels { reason })
            .inc();
    }

    /// The text exposition of every metric, with backend health read now.
    pub fn encode<'a>(&self, backends: impl Iterator<Item = &'a Arc<Backend>>) -> String {
        for backend in backends {
            let labels = BackendLabels {
                backend: backend.name().to_owned(),
            };
            self.backend_connections
                .get_or_create(&labels)
                .set(backend.connections());
            // The pools count; the counter catches up (fetch_max: concurrent scrapes
            // cannot add twice).
            self.upstream_overflow
                .get_or_create(&labels)
                .inner()
                .fetch_max(backend.overflows(), Ordering::Relaxed);
            for (endpoint, healthy) in backend.endpoints() {
                let labels = EndpointLabels {
                    backend: backend.name().to_owned(),
                    endpoint,
                };
                self.endpoint_healthy
                    .get_or_create(&labels)
                    .set(i64::from(healthy));
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// The metrics of a call to `path`: those of its (service, method) pair while fewer
    /// than [`MAX_METHODS`] pairs have been seen, else `other`. Known paths take only a
    /// shared lock and allocate nothing.
    fn method(&self, path: &str) -> Arc<MethodMetrics> {
        let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
            return self.other.clone();
        };
        if let Some(known) = self.methods.read().ok().and_then(|m| m.get(path).cloned()) {
            return known;
        }
        let Ok(mut methods) = self.methods.write() else {
            return self.other.clone();
        };
        if let Some(known) = methods.get(path) {
            return known.clone();
        }
        if methods.len() >= MAX_METHODS {
            return self.other.clone();
        }
        let entry = Arc::new(MethodMetrics::new(
            &self.duration,
            service.to_owned(),
            method.to_owned(),
        ));
        methods.insert(path.to_owned(), entry.clone());
        entry
    }
}

/// Decrements the connection gauge when dropped.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<Metrics>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.dec();
    }
}

/// One call, from request to the end of its response: feeds the metrics and writes the
/// access-log line when it is finished or dropped.
#[derive(Debug)]
pub(crate) struct CallRecord {
    metrics: Arc<Metrics>,
    start: Instant,
    labels: Arc<MethodMetrics>,
    /// The path, when it is not the one `labels` was made for (calls counted as `other`).
    path: Option<String>,
    mode: usize,
    version: Version,
    peer: Option<SocketAddr>,
    pub(crate) bytes_in: Arc<AtomicU64>,
    pub(crate) messages: MessageCounts,
    pub(crate) bytes_out: u64,
    header_code: Option<Code>,
    http_status: u16,
    done: bool,
}

impl CallRecord {
    pub(crate) fn start<B>(
        metrics: &Arc<Metrics>,
        req: &Request<B>,
        peer: Option<SocketAddr>,
    ) -> Self {
        let path = req.uri().path();
        let labels = metrics.method(path);
        let own_path = Arc::ptr_eq(&labels, &metrics.other).then(|| path.to_owned());
        metrics.in_flight.inc();
        Self {
            metrics: metrics.clone(),
            start: Instant::now(),
            labels,
            path: own_path,
            mode: mode(req.headers()),
            version: req.version(),
            peer,
            bytes_in: Arc::new(AtomicU64::new(0)),
            messages: MessageCounts::new(),
            bytes_out: 0,
            header_code: None,
            http_status: 0,
            done: false,
        }
    }

    /// Notes the response head: HTTP status and a status in the headers (trailers-only).
    pub(crate) fn response<B>(&mut self, res: &http::Response<B>) {
        self.http_status = res.status().as_u16();
        self.header_code = res
            .headers()
            .get(grpcweb_protocol::status::GRPC_STATUS)
            .map(|v| Code::parse(v.as_bytes()).unwrap_or(Code::Unknown));
    }

    /// Records the finished call. `body_code` is the status from the body, if it ended;
    /// `None` and not `completed` means the client went away first.
    pub(crate) fn finish(&mut self, body_code: Option<Code>, completed: bool) {
        if self.done {
            return;
        }
        self.done = true;
        let metrics = &self.metrics;
        let code = match (self.header_code.or(body_code), completed) {
            (Some(code), _) => code.as_i32() as usize,
            (None, false) => CLIENT_GONE,
            (None, true) => NO_STATUS,
        };
        let elapsed = self.start.elapsed();
        let bytes_in = self.bytes_in.load(Ordering::Relaxed);
        metrics.bytes_in.inc_by(bytes_in);
        metrics.bytes_out.inc_by(self.bytes_out);
        metrics.messages_in.inc_by(self.messages.requests());
        metrics.messages_out.inc_by(self.messages.responses());
        self.labels.calls(&metrics.calls, code, self.mode).inc();
        self.labels.duration.observe(elapsed.as_secs_f64());
        // Last, so a scrape that sees no call in flight sees this one counted.
        metrics.in_flight.dec();
        tracing::info!(
            target: "grpcweb::access",
            path = %self.path.as_deref().unwrap_or_else(|| self.labels.path()),
            grpc_status = match code {
                CLIENT_GONE => "CLIENT_GONE",
                NO_STATUS => "NONE",
                n => Code::from_i32(n as i32).name(),
            },
            http_status = self.http_status,
            http_version = ?self.version,
            mode = MODE_NAMES[self.mode],
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            bytes_in,
            bytes_out = self.bytes_out,
            peer = %self.peer.map_or_else(|| "-".to_owned(), |p| p.to_string()),
        );
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        self.finish(None, false);
    }
}

/// The index in [`MODE_NAMES`] of a request's mode.
fn mode(headers: &HeaderMap) -> usize {
    let kind = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestKind::parse);
    match kind {
        Some(RequestKind::GrpcWeb(ct)) if ct.mode == grpcweb_protocol::Mode::Text => 1,
        Some(RequestKind::GrpcWeb(_)) => 0,
        Some(RequestKind::Grpc(_)) => 2,
        None => 3,
    }
}

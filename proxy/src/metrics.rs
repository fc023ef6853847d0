//! Prometheus metrics and the per-call record behind them and the access log.
//!
//! Label values never come from a client unchecked: a call has series of its own only
//! when its path is a gRPC method path ([`MethodPath`]) of at most [`MAX_PATH_LABEL`]
//! bytes, and only once its method is known to exist: a backend answered a call to it
//! with a status other than UNIMPLEMENTED. Everything else (calls no route takes, paths
//! that are not gRPC, methods the backend does not have, calls the proxy refused before a
//! backend answered) counts as `service="other", method="other"`, so clients inventing
//! names can neither grow the metrics nor use up the [`MAX_METHODS`] slots the real
//! methods need. The text encoder escapes every label value it writes.

mod method;
mod record;

use grpcweb_protocol::Code;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use crate::method::MethodPath;
use crate::upstream::Backend;

use method::{CLIENT_GONE, MODE_NAMES, MethodMetrics, NO_STATUS, duration_histogram};
pub(crate) use record::{CallRecord, CallStatus, RestMethod, StreamStatus};

/// Distinct (service, method) label pairs kept; methods seen after that count as `other`.
/// Only methods that exist take a slot.
pub const MAX_METHODS: usize = 1000;

/// Longest `/service/method` path with series of its own, in bytes; longer ones count as
/// `other`.
pub const MAX_PATH_LABEL: usize = 256;

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

/// A worker's index: at most `worker_threads` values.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    worker: String,
}

/// A [`crate::tls::HandshakeFailure`] label: a fixed, small set of values.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandshakeFailureLabels {
    reason: &'static str,
}

/// A backend's name, open connections, and endpoints with their health.
type BackendSnapshot = (String, i64, Vec<(String, bool)>, u64);

type HistogramFamily = Family<ServiceLabels, Histogram, fn() -> Histogram>;

/// The proxy's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    duration: HistogramFamily,
    in_flight: Gauge,
    connections: Gauge,
    worker_connections: Family<WorkerLabels, Gauge>,
    bytes_in: Counter,
    bytes_out: Counter,
    messages_in: Counter,
    messages_out: Counter,
    backend_connections: Family<BackendLabels, Gauge>,
    endpoint_healthy: Family<EndpointLabels, Gauge>,
    upstream_overflow: Family<BackendLabels, Counter>,
    tls_handshake_failures: Family<HandshakeFailureLabels, Counter>,
    /// Each `/service/method` path with labels of its own, and its metric handles.
    /// Hashed with foldhash: every call looks its path up here, and SipHash cost more
    /// than the rest of the lookup (the map holds at most [`MAX_METHODS`] entries).
    methods: RwLock<HashMap<String, Arc<MethodMetrics>, foldhash::fast::RandomState>>,
    /// Where calls to other paths count.
    other: Arc<MethodMetrics>,
    /// Held while a scrape rebuilds the endpoint series and encodes, so that two scrapes
    /// at once each see a whole set.
    scrape: Mutex<()>,
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
        // Registered (so encoded) before the call counters: a call is counted before it
        // leaves the gauge, so a scrape that reads no call in flight has read it counted.
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_calls",
            "Calls (unary and streams) in progress",
            in_flight.clone(),
        );
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
        let connections = Gauge::default();
        registry.register(
            "client_connections",
            "Open client connections",
            connections.clone(),
        );
        let worker_connections = Family::<WorkerLabels, Gauge>::default();
        registry.register(
            "worker_connections",
            "Open client connections by the worker serving them (one series with the shared scheduler)",
            worker_connections.clone(),
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
        registry.register(
            "log_lines_dropped",
            "Log lines dropped because the log writer's queue was full",
            crate::log::LINES_DROPPED.clone(),
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
            worker_connections,
            bytes_in,
            bytes_out,
            messages_in,
            messages_out,
            backend_connections,
            endpoint_healthy,
            upstream_overflow,
            tls_handshake_failures,
            methods: RwLock::new(HashMap::default()),
            other,
            scrape: Mutex::new(()),
        }
    }

    /// Counts an opened client connection until the guard drops.
    pub fn connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.inc();
        ConnectionGuard(self.clone())
    }

    /// The gauge of the client connections worker `worker` serves.
    pub(crate) fn worker_connections(&self, worker: usize) -> Gauge {
        self.worker_connections
            .get_or_create(&WorkerLabels {
                worker: worker.to_string(),
            })
            .clone()
    }

    /// Counts a failed client TLS handshake (`reason` from a fixed set).
    pub(crate) fn tls_handshake_failed(&self, reason: &'static str) {
        self.tls_handshake_failures
            .get_or_create(&HandshakeFailureLabels { reason })
            .inc();
    }

    /// The text exposition of every metric, with backend health read now. Endpoints no
    /// longer in use (DNS refresh dropped them) have no series.
    pub fn encode<'a>(&self, backends: impl Iterator<Item = &'a Arc<Backend>>) -> String {
        self.encode_with(backends.map(|b| {
            (
                b.name().to_owned(),
                b.connections(),
                b.endpoints(),
                b.overflows(),
            )
        }))
    }

    /// [`Metrics::encode`] given each backend's name, open connections and endpoints.
    fn encode_with(&self, backends: impl Iterator<Item = BackendSnapshot>) -> String {
        let _scrape = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        self.endpoint_healthy.clear();
        for (name, connections, endpoints, overflows) in backends {
            self.record_backend(&name, connections, endpoints, overflows);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    fn record_backend(
        &self,
        name: &str,
        connections: i64,
        endpoints: Vec<(String, bool)>,
        overflows: u64,
    ) {
        let labels = BackendLabels {
            backend: name.to_owned(),
        };
        self.backend_connections
            .get_or_create(&labels)
            .set(connections);
        // The pools count; the counter catches up (fetch_max: concurrent scrapes cannot
        // add twice).
        self.upstream_overflow
            .get_or_create(&labels)
            .inner()
            .fetch_max(overflows, Ordering::Relaxed);
        for (endpoint, healthy) in endpoints {
            let labels = EndpointLabels {
                backend: name.to_owned(),
                endpoint,
            };
            self.endpoint_healthy
                .get_or_create(&labels)
                .set(i64::from(healthy));
        }
    }

    /// The metrics of `path` when its method is known to exist. Takes only a shared lock
    /// and allocates nothing.
    fn known(&self, path: &str) -> Option<Arc<MethodMetrics>> {
        self.methods.read().ok()?.get(path).cloned()
    }

    /// The metrics of a finished call to `path` whose method was not known when it
    /// started: its own, when the backend's headers showed the method exists (`answered`:
    /// a gRPC answer, not a trailers-only UNIMPLEMENTED) and the call ended with a real
    /// status other than UNIMPLEMENTED or with its client gone, and there is room; else
    /// `other`.
    fn admit(&self, path: &str, code: usize, answered: bool) -> Arc<MethodMetrics> {
        let exists =
            answered && code <= CLIENT_GONE && code != Code::Unimplemented.as_i32() as usize;
        let method = MethodPath::parse(path).filter(|_| path.len() <= MAX_PATH_LABEL);
        let (true, Some(method)) = (exists, method) else {
            return self.other.clone();
        };
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
            method.service.to_owned(),
            method.method.to_owned(),
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

#[cfg(test)]
mod tests;

//! A backend's endpoints: round-robin choice, ejection of failing endpoints with
//! backoff, and probes that bring them back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use tokio::time::Instant;

use super::health::Probe;
use crate::config::{BackendConfig, ConfigError, EndpointUrl, parse_endpoint};

const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// One backend: its name and endpoints.
#[derive(Debug)]
pub struct Backend {
    name: String,
    /// The endpoints as configured: URL and how it was written.
    configured: Vec<(EndpointUrl, String)>,
    /// The endpoints in use: the configured ones, or what their names resolve to when
    /// DNS refresh is on. Swapped whole; never empty.
    endpoints: RwLock<Arc<[Arc<Endpoint>]>>,
    dns_refresh: Option<Duration>,
    /// Connections to the backend open now (the connector counts them).
    open: Arc<AtomicI64>,
    /// Calls refused because too many were waiting for a connection (the pools count).
    overflows: Arc<AtomicU64>,
    next: AtomicUsize,
    connect_timeout: Duration,
    probe_interval: Option<Duration>,
    probe: Probe,
}

#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) url: EndpointUrl,
    pub(crate) display: String,
    pub(crate) health: EndpointHealth,
}

/// Health of one endpoint, as calls and probes found it.
#[derive(Debug, Default)]
pub struct EndpointHealth {
    unhealthy: AtomicBool,
    failures: AtomicU32,
    retry_at: Mutex<Option<Instant>>,
}

impl EndpointHealth {
    /// True unless the last connection attempt failed.
    pub fn is_healthy(&self) -> bool {
        !self.unhealthy.load(Ordering::Relaxed)
    }

    pub(crate) fn succeeded(&self) {
        if self.unhealthy.swap(false, Ordering::Relaxed) {
            tracing::info!("backend endpoint healthy again");
        }
        self.failures.store(0, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self) {
        self.unhealthy.store(true, Ordering::Relaxed);
        let n = self.failures.fetch_add(1, Ordering::Relaxed).min(8);
        let backoff = (BACKOFF_START * 2u32.pow(n)).min(BACKOFF_MAX);
        if let Ok(mut at) = self.retry_at.lock() {
            *at = Some(Instant::now() + backoff);
        }
    }

    /// Usable now: healthy, or its backoff has passed (one call may try it again).
    fn available(&self, now: Instant) -> bool {
        self.is_healthy()
            || self
                .retry_at
                .lock()
                .map_or(true, |at| at.is_none_or(|at| now >= at))
    }
}

impl Backend {
    pub(crate) fn new(
        config: &BackendConfig,
        probe: Probe,
        open: Arc<AtomicI64>,
        overflows: Arc<AtomicU64>,
    ) -> Result<Self, ConfigError> {
        let mut endpoints = Vec::with_capacity(config.endpoints.len());
        let mut configured = Vec::with_capacity(config.endpoints.len());
        for (i, url) in config.endpoints.iter().enumerate() {
            let parsed = parse_endpoint(url).map_err(|m| {
                ConfigError::new(format!("backends.{}.endpoints[{i}]", config.name), m)
            })?;
            configured.push((parsed.clone(), url.clone()));
            endpoints.push(Arc::new(Endpoint {
                url: parsed,
                display: url.clone(),
                health: EndpointHealth::default(),
            }));
        }
        if endpoints.is_empty() {
            return Err(ConfigError::new(
                format!("backends.{}.endpoints", config.name),
                "needs at least one endpoint",
            ));
        }
        Ok(Self {
            name: config.name.clone(),
            configured,
            endpoints: RwLock::new(endpoints.into()),
            dns_refresh: config.dns_refresh_interval,
            open,
            overflows,
            next: AtomicUsize::new(0),
            connect_timeout: config.connect_timeout,
            probe_interval: config.health_check_interval,
            probe,
        })
    }

    /// The backend's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn snapshot(&self) -> Arc<[Arc<Endpoint>]> {
        match self.endpoints.read() {
            Ok(list) => list.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// True when `endpoint` is one of the endpoints in use.
    pub(crate) fn in_use(&self, endpoint: &Arc<Endpoint>) -> bool {
        self.snapshot().iter().any(|e| Arc::ptr_eq(e, endpoint))
    }

    /// Each endpoint in use (URL, and the address it resolved to) and whether it is healthy.
    pub fn endpoints(&self) -> Vec<(String, bool)> {
        self.snapshot()
            .iter()
            .map(|e| (e.display.clone(), e.health.is_healthy()))
            .collect()
    }

    /// Connections to the backend open now.
    pub fn connections(&self) -> i64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Calls refused so far because too many calls were waiting for a connection to one
    /// of its endpoints (`max_pending_calls`).
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }

    /// True when at least one endpoint is healthy.
    pub fn is_ready(&self) -> bool {
        self.snapshot().iter().any(|e| e.health.is_healthy())
    }

    /// The next endpoint in turn that is available; if none is, the next in turn anyway
    /// (the call then fails with UNAVAILABLE naming it).
    pub(crate) fn pick(&self) -> Arc<Endpoint> {
        let endpoints = self.snapshot();
        let n = endpoints.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        (0..n)
            .map(|i| &endpoints[(start + i) % n])
            .find(|e| e.health.available(now))
            .unwrap_or(&endpoints[start % n])
            .clone()
    }

    /// Probes every endpoint each interval (a TCP connect, or the gRPC health service),
    /// forever. Does nothing when probing is off.
    pub async fn probe_forever(self: Arc<Self>) {
        let Some(interval) = self.probe_interval else {
            return;
        };
        loop {
            for endpoint in self.snapshot().iter() {
                match self.probe.check(&endpoint.url, self.connect_timeout).await {
                    Ok(()) => endpoint.health.succeeded(),
                    Err(why) => {
                        if endpoint.health.is_healthy() {
                            tracing::warn!(backend = %self.name, endpoint = %endpoint.display, %why, "backend endpoint unhealthy");
                        }
                        endpoint.health.failed();
                    }
                }
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Re-resolves host names each interval, forever (a Kubernetes headless service gives
    /// one address per pod): every address becomes an endpoint, known ones keep their
    /// health, and a failed lookup keeps what was there. Does nothing when DNS refresh is
    /// off (names are then resolved at each connect).
    pub async fn refresh_dns_forever(self: Arc<Self>) {
        let Some(interval) = self.dns_refresh else {
            return;
        };
        loop {
            self.refresh_dns().await;
            tokio::time::sleep(interval).await;
        }
    }

    async fn refresh_dns(&self) {
        let current = self.snapshot();
        let mut next: Vec<Arc<Endpoint>> = Vec::new();
        for (url, written) in &self.configured {
            let host = url
                .authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let port = url.authority.port_u16().unwrap_or(80);
            if host.parse::<std::net::IpAddr>().is_ok() {
                next.extend(current.iter().filter(|e| &e.display == written).cloned());
                continue;
            }
            let addrs = match tokio::net::lookup_host((host, port)).await {
                Ok(addrs) => addrs.collect::<Vec<_>>(),
                Err(e) => {
                    tracing::warn!(backend = %self.name, endpoint = %written, error = %e, "DNS lookup failed; keeping the known addresses");
                    Vec::new()
                }
            };
            if addrs.is_empty() {
                next.extend(
                    current
                        .iter()
                        .filter(|e| e.display.starts_with(written.as_str()))
                        .cloned(),
                );
                continue;
            }
            for addr in addrs {
                let display = format!("{written} ({})", addr.ip());
                if let Some(known) = current.iter().find(|e| e.display == display) {
                    next.push(known.clone());
                    continue;
                }
                let Ok(authority) = http::uri::Authority::try_from(addr.to_string()) else {
                    continue;
                };
                next.push(Arc::new(Endpoint {
                    url: EndpointUrl {
                        scheme: url.scheme.clone(),
                        authority,
                    },
                    display,
                    health: EndpointHealth::default(),
                }));
            }
        }
        if !next.is_empty()
            && let Ok(mut list) = self.endpoints.write()
        {
            *list = next.into();
        }
    }
}

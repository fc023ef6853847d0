//! A backend's endpoints: round-robin choice, ejection of failing endpoints with
//! backoff, and probes that bring them back.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
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
    endpoints: Vec<Arc<Endpoint>>,
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
    pub(crate) fn new(config: &BackendConfig, probe: Probe) -> Result<Self, ConfigError> {
        let mut endpoints = Vec::with_capacity(config.endpoints.len());
        for (i, url) in config.endpoints.iter().enumerate() {
            let parsed = parse_endpoint(url).map_err(|m| {
                ConfigError::new(format!("backends.{}.endpoints[{i}]", config.name), m)
            })?;
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
            endpoints,
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

    /// Each endpoint's URL and health.
    pub fn endpoints(&self) -> impl Iterator<Item = (&str, &EndpointHealth)> {
        self.endpoints
            .iter()
            .map(|e| (e.display.as_str(), &e.health))
    }

    /// True when at least one endpoint is healthy.
    pub fn is_ready(&self) -> bool {
        self.endpoints.iter().any(|e| e.health.is_healthy())
    }

    /// The next endpoint in turn that is available; if none is, the next in turn anyway
    /// (the call then fails with UNAVAILABLE naming it).
    pub(crate) fn pick(&self) -> Arc<Endpoint> {
        let n = self.endpoints.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        (0..n)
            .map(|i| &self.endpoints[(start + i) % n])
            .find(|e| e.health.available(now))
            .unwrap_or(&self.endpoints[start % n])
            .clone()
    }

    /// Probes every endpoint each interval (a TCP connect, or the gRPC health service),
    /// forever. Does nothing when probing is off.
    pub async fn probe_forever(self: Arc<Self>) {
        let Some(interval) = self.probe_interval else {
            return;
        };
        loop {
            for endpoint in &self.endpoints {
                match self.probe.check(endpoint, self.connect_timeout).await {
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
}

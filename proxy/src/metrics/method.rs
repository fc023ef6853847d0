//! The metric handles of one method, and the status and mode labels of its calls.

use grpcweb_protocol::Code;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use std::sync::OnceLock;

use super::{CallLabels, HistogramFamily, ServiceLabels};

/// The metric handles of one (service, method) label pair, looked up once and kept, so a
/// finished call costs a few atomic increments rather than label hashing and allocation.
#[derive(Debug)]
pub(super) struct MethodMetrics {
    /// `/service/method`.
    path: String,
    pub(super) service: String,
    pub(super) method: String,
    pub(super) duration: Histogram,
    /// Finished calls, by status ([`CODE_LABELS`]) and mode ([`MODE_LABELS`]).
    calls: [OnceLock<Counter>; CODE_LABELS * MODE_LABELS],
}

/// The 17 gRPC codes, then `CLIENT_GONE` and `NONE`.
pub(super) const CODE_LABELS: usize = 19;
pub(super) const CLIENT_GONE: usize = 17;
pub(super) const NO_STATUS: usize = 18;
pub(super) const MODE_LABELS: usize = 8;
/// A call's mode: how its request came ([`super::record::mode`] and [`super::RestMethod`] decide).
pub(super) const MODE_NAMES: [&str; MODE_LABELS] = [
    "grpc-web",
    "grpc-web-text",
    "grpc",
    "other",
    "grpc-web+json",
    "grpc-web-text+json",
    "grpc+json",
    "rest",
];

impl MethodMetrics {
    pub(super) fn new(metrics_duration: &HistogramFamily, service: String, method: String) -> Self {
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

    pub(super) fn path(&self) -> &str {
        &self.path
    }

    pub(super) fn calls(
        &self,
        family: &Family<CallLabels, Counter>,
        code: usize,
        mode: usize,
    ) -> &Counter {
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

pub(super) fn duration_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

//! [`MessageCounts`]: how many messages a call sent and received, counted as they pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Message counts of one gRPC-Web call. Put one in the request's extensions and the layer
/// counts the call's messages into it as they pass (the proxy's metrics do).
#[derive(Clone, Debug, Default)]
pub struct MessageCounts(Arc<[AtomicU64; 2]>);

impl MessageCounts {
    /// Fresh counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Request messages seen so far.
    pub fn requests(&self) -> u64 {
        self.0[0].load(Ordering::Relaxed)
    }

    /// Response messages seen so far.
    pub fn responses(&self) -> u64 {
        self.0[1].load(Ordering::Relaxed)
    }

    pub(crate) fn add_request(&self) {
        self.0[0].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_responses(&self, n: u64) {
        if n > 0 {
            self.0[1].fetch_add(n, Ordering::Relaxed);
        }
    }
}

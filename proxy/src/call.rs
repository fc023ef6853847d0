//! What the server knows of a call and the layers below it read or note: the client's
//! address, the bytes of its request, and whether a backend answered. One allocation and
//! one request extension per call ([`CallContext`]), shared by the call's record, its
//! request body, the router and the upstream.

use http::HeaderValue;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The client's address, and its IP address as an `x-forwarded-for` value, formatted once
/// per connection by the server (the upstream's `PeerAddr` is the form for callers of the
/// library).
#[derive(Clone, Debug)]
pub(crate) struct ClientIp {
    pub(crate) addr: SocketAddr,
    pub(crate) value: Option<HeaderValue>,
}

impl ClientIp {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            value: HeaderValue::from_str(&addr.ip().to_string()).ok(),
        }
    }
}

/// One call's shared state; cloning it costs a reference count.
#[derive(Clone, Debug)]
pub(crate) struct CallContext(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    client: Option<ClientIp>,
    bytes_in: AtomicU64,
    answered: AtomicBool,
}

impl CallContext {
    pub(crate) fn new(client: Option<ClientIp>) -> Self {
        Self(Arc::new(Shared {
            client,
            bytes_in: AtomicU64::new(0),
            answered: AtomicBool::new(false),
        }))
    }

    /// The client, when the call came over a connection the server accepted.
    pub(crate) fn client(&self) -> Option<&ClientIp> {
        self.0.client.as_ref()
    }

    /// Counts request body bytes read.
    pub(crate) fn add_bytes_in(&self, n: u64) {
        self.0.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn bytes_in(&self) -> u64 {
        self.0.bytes_in.load(Ordering::Relaxed)
    }

    /// Notes that a backend's response headers showed the called method exists (set by
    /// the router; the metrics give such a method a series of its own).
    pub(crate) fn set_answered(&self) {
        self.0.answered.store(true, Ordering::Relaxed);
    }

    pub(crate) fn answered(&self) -> bool {
        self.0.answered.load(Ordering::Relaxed)
    }
}

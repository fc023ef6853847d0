//! One HTTP/2 connection to a backend endpoint: its stream slots, its readiness, and the
//! task that drives it.
//!
//! # Flow-control budget
//!
//! Each call's response data counts against its own stream window ([`STREAM_WINDOW`]) and
//! the connection's window. A call whose client reads nothing holds at most one stream
//! window of the backend's data in the proxy; the backend then stops sending on that
//! stream only. So that such calls cannot use up the connection's window and stall the
//! other calls on it, a connection carries at most [`MAX_STREAMS`] calls and its window
//! ([`CONNECTION_WINDOW`]) has room for a full stream window on every one of them.

use bytes::Bytes;
use std::future::{Future as _, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// What one call may hold of a backend's response data not yet taken by its client.
pub(crate) const STREAM_WINDOW: u32 = 1 << 20;
/// Most calls on one backend connection, whatever the backend allows.
pub(crate) const MAX_STREAMS: usize = 1024;
/// A full [`STREAM_WINDOW`] for each of [`MAX_STREAMS`] calls (1 GiB), within HTTP/2's
/// largest window.
pub(crate) const CONNECTION_WINDOW: u32 = {
    let want = STREAM_WINDOW as u64 * MAX_STREAMS as u64;
    let max = (1u64 << 31) - 1;
    if want < max { want as u32 } else { max as u32 }
};

/// A connection that has carried no call for this long is closed (checked every period,
/// so it goes after one to two periods).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// How every backend connection is set up (hyper's client defaults where not set here).
pub(crate) fn http2_builder() -> h2::client::Builder {
    let mut http2 = h2::client::Builder::new();
    http2
        // Each call's backpressure stays on its own stream (see the budget above).
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        // No stream goes before the backend's SETTINGS say how many it takes (the
        // pool waits for them), and the limit read back stays 0 until then.
        .initial_max_send_streams(0)
        .max_frame_size(16 * 1024)
        .max_header_list_size(16 * 1024)
        .max_send_buffer_size(1024 * 1024)
        // h2 counts every stream it resets itself (e.g. STREAM_CLOSED for DATA that
        // arrives after a client went away and the call was cancelled) and sends
        // GOAWAY ENHANCE_YOUR_CALM at 1024 per connection, never forgiving old ones: a
        // long-lived backend connection under client aborts would die with every call
        // on it. The backend is trusted, so no limit (found by `cargo xtask soak`).
        .max_local_error_reset_streams(None)
        .enable_push(false);
    http2
}

/// Shared by a pool and its connections: the calls waiting for a stream slot, woken when
/// a slot is given back, a connection closes or a connection attempt ends.
#[derive(Debug, Default)]
pub(crate) struct Room {
    pub(crate) notify: Notify,
    /// Calls waiting now.
    pub(crate) waiting: AtomicUsize,
}

impl Room {
    fn made(&self) {
        // Paired with the waiter's increment then check (both SeqCst): either it sees the
        // room made, or this sees it waiting.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
        }
    }
}

/// What the pool knows about one connection; shared with its driver task.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Streams taken now.
    active: AtomicUsize,
    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS, at most [`MAX_STREAMS`].
    max: AtomicUsize,
    phase: AtomicU8,
    /// A slot was taken since the idle check last looked.
    used: AtomicBool,
    changed: Notify,
    room: Arc<Room>,
}

const WAITING: u8 = 0;
const READY: u8 = 1;
const CLOSED: u8 = 2;

impl ConnState {
    pub(crate) fn new(room: Arc<Room>) -> Self {
        Self {
            active: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
            phase: AtomicU8::new(WAITING),
            used: AtomicBool::new(false),
            changed: Notify::new(),
            room,
        }
    }

    /// The peer's stream limit as h2 applied it. h2 reports 0 until the peer's first
    /// SETTINGS (the client starts with no streams allowed), so the first non-zero value
    /// makes the connection ready; later values follow the peer's changes.
    fn settings(&self, max: usize) {
        if max == 0 {
            return;
        }
        let max = max.min(MAX_STREAMS);
        let before = self.max.swap(max, Ordering::AcqRel);
        if self
            .phase
            .compare_exchange(WAITING, READY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.changed.notify_one();
        } else if max > before {
            self.room.made();
        }
    }

    pub(crate) fn close(&self) {
        self.phase.store(CLOSED, Ordering::Release);
        self.changed.notify_one();
        self.room.made();
    }

    /// The peer's stream limit as applied (0 before its SETTINGS).
    pub(crate) fn max_streams(&self) -> usize {
        self.max.load(Ordering::Acquire)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.phase.load(Ordering::Acquire) == CLOSED
    }

    /// Takes a stream slot if the connection is usable and has room; `Some(true)` when no
    /// other call was on it. Called with the pool locked, so takers do not race each
    /// other (givers only make room).
    pub(crate) fn try_take(&self) -> Option<bool> {
        if self.phase.load(Ordering::Acquire) != READY {
            return None;
        }
        let active = self.active.load(Ordering::SeqCst);
        if active >= self.max.load(Ordering::Acquire) {
            return None;
        }
        self.active.fetch_add(1, Ordering::AcqRel);
        self.used.store(true, Ordering::Relaxed);
        Some(active == 0)
    }

    /// Waits for the peer's SETTINGS to allow at least one stream.
    pub(crate) async fn ready(&self) -> Result<(), &'static str> {
        loop {
            let changed = self.changed.notified();
            match self.phase.load(Ordering::Acquire) {
                READY => return Ok(()),
                CLOSED => return Err("backend closed the connection before its HTTP/2 SETTINGS"),
                _ => changed.await,
            }
        }
    }
}

/// A call's stream on a connection, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot(pub(crate) Arc<ConnState>);

impl Slot {
    /// Takes the connection out of the pool (it failed).
    pub(crate) fn close(&self) {
        self.0.close();
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.room.made();
    }
}

/// Runs a connection until it ends, has been idle for [`IDLE_TIMEOUT`], or leaves a
/// keep-alive ping unanswered; keeps the pool's view of the peer's stream limit current.
///
/// The timers run on a task of their own ([`watch`]), which ends the connection by
/// ending: polled beside the connection, they were polled at every wake of it, several
/// times per call.
pub(crate) async fn drive<T>(
    mut conn: h2::client::Connection<T, Bytes>,
    state: Arc<ConnState>,
    keep_alive: (Duration, Duration),
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (watching, mut stop) = oneshot::channel::<()>();
    let timers = tokio::spawn(watch(state.clone(), conn.ping_pong(), keep_alive, watching));
    let result = poll_fn(|cx| {
        // The watch ended (its sender dropped): idle, or the peer went silent.
        if Pin::new(&mut stop).poll(cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        let polled = Pin::new(&mut conn).poll(cx);
        state.settings(conn.max_concurrent_send_streams());
        polled
    })
    .await;
    timers.abort();
    if let Err(e) = result {
        tracing::debug!(error = %grpcweb_layer::error::chain(&e), "backend connection ended");
    }
    state.close();
}

/// A connection's timers: returns (dropping `_watching`, which ends the connection) once
/// it has carried no call for a whole [`IDLE_TIMEOUT`], or a keep-alive ping sent while
/// calls were in progress went unanswered.
async fn watch(
    state: Arc<ConnState>,
    ping_pong: Option<h2::PingPong>,
    (interval, timeout): (Duration, Duration),
    _watching: oneshot::Sender<()>,
) {
    let idle = async {
        let mut check = tokio::time::interval(IDLE_TIMEOUT);
        check.tick().await;
        loop {
            check.tick().await;
            if !state.used.swap(false, Ordering::Relaxed)
                && state.active.load(Ordering::Acquire) == 0
            {
                // A call that took a slot in between finds the connection closed and
                // is sent on another.
                return;
            }
        }
    };
    let keep_alive = async {
        let Some(mut ping_pong) = ping_pong else {
            return std::future::pending().await;
        };
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            // As hyper's client: only while calls are in progress.
            if state.active.load(Ordering::Acquire) == 0 {
                continue;
            }
            match tokio::time::timeout(timeout, ping_pong.ping(h2::Ping::opaque())).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return std::future::pending().await,
                Err(_) => {
                    tracing::debug!("backend connection did not answer a ping in {timeout:?}");
                    return;
                }
            }
        }
    };
    tokio::select! {
        () = idle => {}
        () = keep_alive => {}
    }
}

//! One client connection: served until it ends, closed gracefully (GOAWAY, or
//! `connection: close` after the current response) when the proxy drains or when it has
//! had no call for the idle timeout. A live stream never counts as idle.
//!
//! Until its first request's headers are complete, a connection has a header deadline
//! (`header_read_timeout` from accept, TLS handshake and protocol detection included): a
//! connection that has not sent one by then is shut down gracefully (HTTP/2: GOAWAY) and
//! dropped [`NO_REQUEST_GRACE`] later if it is still there, on HTTP/1.1 and HTTP/2 alike,
//! so silent or trickling sockets cannot hold connection slots.
//!
//! A connection whose client keeps cancelling calls right after starting them (HTTP/2
//! rapid reset, once the streams are accepted, which h2's own limit on streams reset
//! before they are accepted does not see) is closed, by Envoy's rule: a call is reset
//! prematurely when it ends unfinished within [`PREMATURE_RESET_LIFETIME`] of its start;
//! the connection is closed once half of [`PREMATURE_RESET_STREAMS`] calls were, or, past
//! that many calls, when more than half of all its calls were.

use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper::rt::{Read, Write};
use hyper::service::Service;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use std::error::Error as StdError;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A call that ends unfinished sooner than this after its start was reset prematurely.
pub(crate) const PREMATURE_RESET_LIFETIME: Duration = Duration::from_secs(1);
/// See the module docs (Envoy's `premature_reset_total_stream_count`).
pub(crate) const PREMATURE_RESET_STREAMS: u64 = 500;
/// How long a connection with no request may take to go after its GOAWAY.
pub(crate) const NO_REQUEST_GRACE: Duration = Duration::from_secs(1);

/// Calls in progress on one connection, and when the last one ended.
#[derive(Debug)]
pub(crate) struct Activity {
    active: AtomicUsize,
    /// Set by the first call: its headers are complete.
    started: AtomicBool,
    last: Mutex<Instant>,
    /// Calls ended, and how many of them were reset prematurely.
    ended: AtomicU64,
    premature: AtomicU64,
    /// Notified once when the premature resets pass the limit.
    too_many_resets: Notify,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            active: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            last: Mutex::new(Instant::now()),
            ended: AtomicU64::new(0),
            premature: AtomicU64::new(0),
            too_many_resets: Notify::new(),
        })
    }

    /// Counts a call until the guard drops (with its response body).
    pub(crate) fn begin(self: &Arc<Self>) -> CallGuard {
        self.active.fetch_add(1, Ordering::Relaxed);
        self.started.store(true, Ordering::Relaxed);
        CallGuard {
            activity: self.clone(),
            started: Instant::now(),
            complete: false,
        }
    }

    /// Counts an ended call; tells the connection when premature resets pass the limit.
    fn ended(&self, premature: bool) {
        let ended = self.ended.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        let resets = if premature {
            self.premature
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1)
        } else {
            self.premature.load(Ordering::Relaxed)
        };
        let over = if ended < PREMATURE_RESET_STREAMS {
            resets.saturating_mul(2) >= PREMATURE_RESET_STREAMS
        } else {
            resets.saturating_mul(2) > ended
        };
        if premature && over {
            // A stored permit: the connection's loop sees it even if not waiting now.
            self.too_many_resets.notify_one();
        }
    }

    /// When the connection became idle, or `None` while a call is in progress.
    fn idle_since(&self) -> Option<Instant> {
        if self.active.load(Ordering::Relaxed) > 0 {
            return None;
        }
        self.last.lock().ok().map(|t| *t)
    }
}

/// Holds a call open on its connection's [`Activity`].
#[derive(Debug)]
pub(crate) struct CallGuard {
    activity: Arc<Activity>,
    started: Instant,
    complete: bool,
}

impl CallGuard {
    /// The response was delivered whole: the call did not end by a reset.
    pub(crate) fn set_complete(&mut self) {
        self.complete = true;
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let now = Instant::now();
        if let Ok(mut last) = self.activity.last.lock() {
            *last = now;
        }
        self.activity.active.fetch_sub(1, Ordering::Relaxed);
        let premature = !self.complete
            && now.saturating_duration_since(self.started) < PREMATURE_RESET_LIFETIME;
        self.activity.ended(premature);
    }
}

/// The proxy's connections, for draining them at shutdown.
#[derive(Debug)]
pub(crate) struct Connections {
    live: AtomicUsize,
    all_closed: Notify,
    draining: watch::Sender<bool>,
}

impl Connections {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            live: AtomicUsize::new(0),
            all_closed: Notify::new(),
            draining: watch::channel(false).0,
        })
    }

    /// Tells every connection to finish its calls and close.
    pub(crate) fn drain(&self) {
        self.draining.send_replace(true);
    }

    /// Waits until every connection has closed.
    pub(crate) async fn closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            tokio::pin!(notified);
            // Register before checking, so a close in between is not missed.
            notified.as_mut().enable();
            if self.live.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Serves one connection until it ends; closes it at `header_deadline` if no request
    /// has begun by then.
    pub(crate) async fn serve<I, S, B>(
        self: Arc<Self>,
        builder: &auto::Builder<TokioExecutor>,
        io: I,
        service: S,
        activity: Arc<Activity>,
        timeouts: Timeouts,
    ) -> Result<(), BoxError>
    where
        S: Service<Request<Incoming>, Response = Response<B>>,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
        I: Read + Write + Unpin + Send + 'static,
    {
        self.live.fetch_add(1, Ordering::AcqRel);
        let _live = LiveGuard(&self);
        let mut draining = self.draining.subscribe();
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let Timeouts {
            mut header_deadline,
            idle: idle_timeout,
        } = timeouts;
        // Set once the header deadline has passed with no request: the connection is
        // going away, and is dropped at this instant if it still has not.
        let mut cut_at = None;
        let mut closing = false;
        let mut awaiting_request = true;
        if *draining.borrow_and_update() {
            closing = true;
            conn.as_mut().graceful_shutdown();
        }
        loop {
            let idle_check = async {
                match activity.idle_since() {
                    Some(since) => tokio::time::sleep_until(deadline(since, idle_timeout)).await,
                    // A call is in progress: look again later.
                    None => tokio::time::sleep(idle_timeout.min(Duration::from_secs(1))).await,
                }
            };
            tokio::select! {
                result = conn.as_mut() => return result,
                () = tokio::time::sleep_until(header_deadline), if awaiting_request => {
                    if activity.started.load(Ordering::Relaxed) {
                        awaiting_request = false;
                    } else if cut_at.is_none() {
                        // GOAWAY first, so an HTTP/2 client that merely connected early
                        // knows to reconnect; one still there after the grace is dropped.
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                        cut_at = Some(deadline(Instant::now(), NO_REQUEST_GRACE));
                        header_deadline = cut_at.unwrap_or(header_deadline);
                    } else {
                        return Err(NoRequest.into());
                    }
                }
                () = activity.too_many_resets.notified() => {
                    // Dropping the connection cancels its calls, backend streams included.
                    return Err(TooManyResets.into());
                }
                changed = draining.changed(), if !closing => {
                    if changed.is_err() || *draining.borrow() {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
                () = idle_check, if !closing => {
                    if activity.idle_since().is_some_and(|since| since.elapsed() >= idle_timeout) {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// The time limits of one connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// When the connection is closed unless its first request's headers have come.
    pub(crate) header_deadline: Instant,
    /// How long it may stay open with no call in progress.
    pub(crate) idle: Duration,
}

/// `start + after`, saturating far in the future instead of overflowing.
pub(crate) fn deadline(start: Instant, after: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    start
        .checked_add(after)
        .or_else(|| start.checked_add(FAR))
        .unwrap_or(start)
}

/// The connection was closed because no request came within the header timeout.
#[derive(Debug)]
pub(crate) struct NoRequest;

impl std::fmt::Display for NoRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no request headers within header_read_timeout")
    }
}

impl StdError for NoRequest {}

/// The connection was closed because its client kept resetting calls it had just begun.
#[derive(Debug)]
pub(crate) struct TooManyResets;

impl std::fmt::Display for TooManyResets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed: too many calls reset by the client right after they began")
    }
}

impl StdError for TooManyResets {}

struct LiveGuard<'a>(&'a Connections);

impl Drop for LiveGuard<'_> {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_saturate() {
        let now = Instant::now();
        assert!(deadline(now, Duration::MAX) > now);
        assert_eq!(
            deadline(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }

    fn flagged(activity: &Activity) -> bool {
        let notified = activity.too_many_resets.notified();
        tokio::pin!(notified);
        // A stored permit makes the first poll ready.
        notified.as_mut().enable()
    }

    #[test]
    fn premature_resets_close_at_half_the_window() {
        let activity = Activity::new();
        for _ in 0..(PREMATURE_RESET_STREAMS / 2 - 1) {
            activity.ended(true);
        }
        assert!(!flagged(&activity));
        activity.ended(true);
        assert!(flagged(&activity));
    }

    #[test]
    fn past_the_window_only_a_majority_of_resets_counts() {
        let activity = Activity::new();
        // Alternate, finished calls first: never more resets than half.
        for _ in 0..PREMATURE_RESET_STREAMS {
            activity.ended(false);
            activity.ended(true);
        }
        assert!(!flagged(&activity));
        activity.ended(true);
        assert!(flagged(&activity));
    }

    #[test]
    fn calls_that_finish_or_last_are_not_premature() {
        let activity = Activity::new();
        for _ in 0..PREMATURE_RESET_STREAMS {
            let mut call = activity.begin();
            call.set_complete();
        }
        assert_eq!(activity.premature.load(Ordering::Relaxed), 0);
        let call = activity.begin();
        drop(call);
        assert_eq!(activity.premature.load(Ordering::Relaxed), 1);
    }
}

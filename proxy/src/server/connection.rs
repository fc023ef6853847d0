//! One client connection: served until it ends, closed gracefully (GOAWAY, or
//! `connection: close` after the current response) when the proxy drains or when it has
//! had no call for the idle timeout. A live stream never counts as idle.

use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper::rt::{Read, Write};
use hyper::service::Service;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use std::error::Error as StdError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Calls in progress on one connection, and when the last one ended.
#[derive(Debug)]
pub(crate) struct Activity {
    active: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            active: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        })
    }

    /// Counts a call until the guard drops (with its response body).
    pub(crate) fn begin(self: &Arc<Self>) -> CallGuard {
        self.active.fetch_add(1, Ordering::Relaxed);
        CallGuard(self.clone())
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
pub(crate) struct CallGuard(Arc<Activity>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        if let Ok(mut last) = self.0.last.lock() {
            *last = Instant::now();
        }
        self.0.active.fetch_sub(1, Ordering::Relaxed);
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

    /// Serves one connection until it ends.
    pub(crate) async fn serve<I, S, B>(
        self: Arc<Self>,
        builder: &auto::Builder<TokioExecutor>,
        io: I,
        service: S,
        activity: Arc<Activity>,
        idle_timeout: Duration,
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
        let mut closing = false;
        if *draining.borrow_and_update() {
            closing = true;
            conn.as_mut().graceful_shutdown();
        }
        loop {
            let idle_check = async {
                match activity.idle_since() {
                    Some(since) => {
                        tokio::time::sleep_until(crate::deadline::after(since, idle_timeout)).await
                    }
                    // A call is in progress: look again later.
                    None => tokio::time::sleep(idle_timeout.min(Duration::from_secs(1))).await,
                }
            };
            tokio::select! {
                result = conn.as_mut() => return result,
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

struct LiveGuard<'a>(&'a Connections);

impl Drop for LiveGuard<'_> {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

//! HTTP/2 connections to one backend endpoint, shared by its calls.
//!
//! Each call takes a stream slot on the first connection with room, room being the peer's
//! SETTINGS_MAX_CONCURRENT_STREAMS. Another connection is opened only when every open one
//! is full (or there is none), one at a time: calls that find no room wait for it rather
//! than each opening their own, and get its error if it fails. A new connection takes
//! calls once the backend's SETTINGS have arrived, so the first calls never exceed a limit
//! the proxy has not seen yet. A slot is given back when the call's response body (or its
//! response future) is dropped. A connection that carried no call for a whole idle period
//! is closed; one the backend closes (GOAWAY, error) leaves the pool, and a request that
//! never left on it is sent again on another.

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::Body;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tower::ServiceExt as _;

use super::counting::Counted;
use super::endpoints::Endpoint;
use super::stream::{Pump, UpstreamBody, prepare_head};
use crate::BoxError;

/// A connection that has carried no call for this long is closed (checked every period,
/// so it goes after one to two periods).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// A request that found its connection closed before it left is tried this often.
const SEND_ATTEMPTS: usize = 3;

/// How to open connections; shared by every endpoint of a backend.
pub(crate) struct Connector {
    pub(crate) tcp_tls: HttpsConnector<HttpConnector>,
    pub(crate) http2: h2::client::Builder,
    /// How often a connection with calls in progress is pinged, and how long the pong
    /// may take before the connection is given up.
    pub(crate) keep_alive: (Duration, Duration),
    /// The backend's open connections, for the metrics.
    pub(crate) open: Arc<AtomicI64>,
    /// For the TCP connect, and again for the TLS handshake and the peer's SETTINGS.
    pub(crate) timeout: Duration,
}

/// Why a call got no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection could be opened (shared by the calls that waited for it).
    Connect(Arc<dyn std::error::Error + Send + Sync>),
    /// The call failed on its connection.
    Call(h2::Error),
}

/// The connections to one endpoint.
pub(crate) struct Pool {
    pub(crate) endpoint: Arc<Endpoint>,
    connector: Arc<Connector>,
    state: Mutex<PoolState>,
    /// Told after every connection attempt.
    attempted: Notify,
}

struct PoolState {
    conns: Vec<Conn>,
    connecting: bool,
    /// Connection attempts finished so far.
    attempts: u64,
    /// Why the last attempt failed; `None` when it succeeded.
    failure: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

struct Conn {
    tx: h2::client::SendRequest<Bytes>,
    state: Arc<ConnState>,
}

/// What the pool knows about one connection; shared with its socket (which reports the
/// peer's SETTINGS) and its driver task.
#[derive(Debug)]
struct ConnState {
    /// Streams taken now.
    active: AtomicUsize,
    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS (`usize::MAX`: no limit).
    max: AtomicUsize,
    phase: AtomicU8,
    /// A slot was taken since the idle check last looked.
    used: AtomicBool,
    changed: Notify,
}

const WAITING: u8 = 0;
const READY: u8 = 1;
const CLOSED: u8 = 2;

impl ConnState {
    fn new() -> Self {
        Self {
            active: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
            phase: AtomicU8::new(WAITING),
            used: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    /// The peer's stream limit as h2 applied it. h2 reports 0 until the peer's first
    /// SETTINGS (the client starts with no streams allowed), so the first non-zero value
    /// makes the connection ready; later values follow the peer's changes.
    fn settings(&self, max: usize) {
        if max == 0 {
            return;
        }
        self.max.store(max, Ordering::Release);
        if self
            .phase
            .compare_exchange(WAITING, READY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.changed.notify_one();
        }
    }

    fn close(&self) {
        self.phase.store(CLOSED, Ordering::Release);
        self.changed.notify_one();
    }

    fn is_closed(&self) -> bool {
        self.phase.load(Ordering::Acquire) == CLOSED
    }

    /// Takes a stream slot if the connection is usable and has room; `Some(true)` when no
    /// other call was on it. Called with the pool locked, so takers do not race each
    /// other (givers only make room).
    fn try_take(&self) -> Option<bool> {
        if self.phase.load(Ordering::Acquire) != READY {
            return None;
        }
        let active = self.active.load(Ordering::Acquire);
        if active >= self.max.load(Ordering::Acquire) {
            return None;
        }
        self.active.fetch_add(1, Ordering::AcqRel);
        self.used.store(true, Ordering::Relaxed);
        Some(active == 0)
    }

    /// Waits for the peer's SETTINGS to allow at least one stream.
    async fn ready(&self) -> Result<(), &'static str> {
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
pub(crate) struct Slot(Arc<ConnState>);

impl Slot {
    /// Takes the connection out of the pool (it failed).
    fn close(&self) {
        self.0.close();
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent at every step, so a panic elsewhere does not spoil it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Pool {
    pub(crate) fn new(endpoint: Arc<Endpoint>, connector: Arc<Connector>) -> Self {
        Self {
            endpoint,
            connector,
            state: Mutex::new(PoolState {
                conns: Vec::new(),
                connecting: false,
                attempts: 0,
                failure: None,
            }),
            attempted: Notify::new(),
        }
    }

    /// Sends `req` on a connection with room, opening one if needed. Dropping the future
    /// (or, later, the response body, once the request body is sent) resets the stream
    /// (RST_STREAM CANCEL).
    pub(crate) async fn send<B>(
        self: Arc<Self>,
        req: Request<B>,
    ) -> Result<Response<UpstreamBody>, Failure>
    where
        B: Body + Send + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        let mut head = Request::from_parts(parts, ());
        prepare_head(&mut head, &body);
        let mut attempt = 1;
        let (mut tx, slot) = loop {
            let (mut tx, slot, idle) = self.checkout().await.map_err(Failure::Connect)?;
            if idle {
                // The backend may have closed a connection without calls, and the news
                // not been read yet: let its task read first, so that a request is not
                // sent on a connection already gone (it fails rather than being sent
                // again on another).
                tokio::task::yield_now().await;
            }
            match poll_fn(|cx| tx.poll_ready(cx)).await {
                Ok(()) => break (tx, slot),
                // The connection closed (GOAWAY, error) before the request left: try
                // another.
                Err(_) if attempt < SEND_ATTEMPTS => {
                    slot.close();
                    attempt += 1;
                }
                Err(e) => return Err(Failure::Call(e)),
            }
        };
        let eos = body.is_end_stream();
        let (mut response, send) = tx.send_request(head, eos).map_err(Failure::Call)?;
        drop(tx);
        let mut pump = (!eos).then(|| Pump::new(body, send));
        let res = poll_fn(|cx| {
            if let Some(p) = pump.as_mut()
                && p.poll_send(cx).is_ready()
            {
                pump = None;
            }
            Pin::new(&mut response).poll(cx)
        })
        .await
        .map_err(Failure::Call)?;
        if let Some(mut pump) = pump {
            // The response came before the request body ended (a streaming request):
            // the rest of the body goes on in a task of its own.
            tokio::spawn(poll_fn(move |cx| pump.poll_send(cx)));
        }
        Ok(res.map(|inner| UpstreamBody::new(inner, slot)))
    }

    async fn checkout(
        self: &Arc<Self>,
    ) -> Result<
        (h2::client::SendRequest<Bytes>, Slot, bool),
        Arc<dyn std::error::Error + Send + Sync>,
    > {
        let mut waited_for = None;
        loop {
            let mut attempted = pin!(self.attempted.notified());
            {
                let mut state = lock(&self.state);
                state.conns.retain(|c| !c.state.is_closed());
                if let Some((conn, idle)) = state
                    .conns
                    .iter()
                    .find_map(|c| c.state.try_take().map(|idle| (c, idle)))
                {
                    return Ok((conn.tx.clone(), Slot(conn.state.clone()), idle));
                }
                if let (Some(seen), Some(failure)) = (waited_for, &state.failure)
                    && state.attempts > seen
                {
                    return Err(failure.clone());
                }
                if !state.connecting {
                    state.connecting = true;
                    tokio::spawn(self.clone().connect());
                }
                waited_for = Some(state.attempts);
                // Registered before the lock is released, so the attempt's end is not missed.
                attempted.as_mut().enable();
            }
            attempted.await;
        }
    }

    /// One connection attempt; its result goes to the calls waiting for it.
    async fn connect(self: Arc<Self>) {
        let result = self.open().await;
        let mut state = lock(&self.state);
        state.connecting = false;
        state.attempts += 1;
        match result {
            Ok(conn) => {
                state.conns.push(conn);
                state.failure = None;
                self.endpoint.health.succeeded();
            }
            Err(e) => {
                tracing::debug!(endpoint = %self.endpoint.display, error = %crate::respond::chain(&*e), "backend connection failed");
                self.endpoint.health.failed();
                state.failure = Some(Arc::from(e));
            }
        }
        drop(state);
        self.attempted.notify_waiters();
    }

    async fn open(&self) -> Result<Conn, BoxError> {
        let url = &self.endpoint.url;
        let uri = Uri::builder()
            .scheme(url.scheme.clone())
            .authority(url.authority.clone())
            .path_and_query("/")
            .build()?;
        // The TCP connect has its own timeout inside the connector.
        let io = self.connector.tcp_tls.clone().oneshot(uri).await?;
        let handshake = async {
            let state = Arc::new(ConnState::new());
            // Boxed: hyper sizes every task it spawns per stream after its connection
            // task, which holds the socket (and the TLS state) inline.
            let io = Counted::new(Box::new(io), self.connector.open.clone());
            let (tx, conn) = self.connector.http2.handshake(TokioIo::new(io)).await?;
            tokio::spawn(drive(conn, state.clone(), self.connector.keep_alive));
            state.ready().await?;
            Ok::<_, BoxError>(Conn { tx, state })
        };
        tokio::time::timeout(self.connector.timeout, handshake)
            .await
            .map_err(|_| "timed out waiting for the backend's HTTP/2 SETTINGS to allow a stream")?
    }
}

/// Runs a connection until it ends, has been idle for [`IDLE_TIMEOUT`], or leaves a
/// keep-alive ping unanswered; keeps the pool's view of the peer's stream limit current.
async fn drive<T>(
    mut conn: h2::client::Connection<T, Bytes>,
    state: Arc<ConnState>,
    (interval, timeout): (Duration, Duration),
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let ping_pong = conn.ping_pong();
    let run = poll_fn(|cx| {
        let polled = Pin::new(&mut conn).poll(cx);
        state.settings(conn.max_concurrent_send_streams());
        polled
    });
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
        result = run => {
            if let Err(e) = result {
                tracing::debug!(error = %crate::respond::chain(&e), "backend connection ended");
            }
        }
        () = idle => {}
        () = keep_alive => {}
    }
    state.close();
}

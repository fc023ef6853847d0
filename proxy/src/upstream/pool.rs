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
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;
use tower::ServiceExt as _;

use super::counting::Counted;
use super::endpoints::Endpoint;
use super::settings::Sniffed;
use crate::BoxError;

/// A connection that has carried no call for this long is closed (checked every period,
/// so it goes after one to two periods).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// A request that found its connection closed before it left is tried this often.
const SEND_ATTEMPTS: usize = 3;

/// How to open connections; shared by every endpoint of a backend.
pub(crate) struct Connector {
    pub(crate) tcp_tls: HttpsConnector<HttpConnector>,
    pub(crate) http2: http2::Builder<TokioExecutor>,
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
    Call(hyper::Error),
}

/// The connections to one endpoint.
pub(crate) struct Pool<B> {
    pub(crate) endpoint: Arc<Endpoint>,
    connector: Arc<Connector>,
    state: Mutex<PoolState<B>>,
    /// Told after every connection attempt.
    attempted: Notify,
}

struct PoolState<B> {
    conns: Vec<Conn<B>>,
    connecting: bool,
    /// Connection attempts finished so far.
    attempts: u64,
    /// Why the last attempt failed; `None` when it succeeded.
    failure: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

struct Conn<B> {
    tx: http2::SendRequest<B>,
    state: Arc<ConnState>,
}

/// What the pool knows about one connection; shared with its socket (which reports the
/// peer's SETTINGS) and its driver task.
#[derive(Debug)]
pub(crate) struct ConnState {
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

    /// What the socket read as the peer's first frame.
    pub(crate) fn settings(&self, sniffed: Sniffed) {
        match sniffed {
            Sniffed::NeedMore => return,
            Sniffed::Settings(max) => {
                let max = max.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
                self.max.store(max, Ordering::Release);
                let _ = self.phase.compare_exchange(
                    WAITING,
                    READY,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
            Sniffed::NotHttp2 => self.phase.store(CLOSED, Ordering::Release),
        }
        self.changed.notify_one();
    }

    fn close(&self) {
        self.phase.store(CLOSED, Ordering::Release);
        self.changed.notify_one();
    }

    fn is_closed(&self) -> bool {
        self.phase.load(Ordering::Acquire) == CLOSED
    }

    /// Takes a stream slot if the connection is usable and has room. Called with the
    /// pool locked, so takers do not race each other (givers only make room).
    fn try_take(&self) -> bool {
        if self.phase.load(Ordering::Acquire) != READY {
            return false;
        }
        if self.active.load(Ordering::Acquire) >= self.max.load(Ordering::Acquire) {
            return false;
        }
        self.active.fetch_add(1, Ordering::AcqRel);
        self.used.store(true, Ordering::Relaxed);
        true
    }

    /// Waits for the peer's SETTINGS.
    async fn ready(&self) -> Result<(), &'static str> {
        loop {
            let changed = self.changed.notified();
            match self.phase.load(Ordering::Acquire) {
                READY if self.max.load(Ordering::Acquire) == 0 => {
                    return Err("backend allows no streams (SETTINGS_MAX_CONCURRENT_STREAMS 0)");
                }
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

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project! {
    /// A backend's response body. The call's stream counts against its connection's
    /// limit until this is dropped.
    pub struct UpstreamBody {
        #[pin]
        inner: Incoming,
        slot: Slot,
    }
}

impl fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent at every step, so a panic elsewhere does not spoil it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<B> Pool<B>
where
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
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
    /// (or, later, the response body) resets the stream (RST_STREAM CANCEL).
    pub(crate) async fn send(
        self: Arc<Self>,
        mut req: Request<B>,
    ) -> Result<Response<UpstreamBody>, Failure> {
        let mut attempt = 1;
        loop {
            let (mut tx, slot) = self.checkout().await.map_err(Failure::Connect)?;
            match tx.try_send_request(req).await {
                Ok(res) => return Ok(res.map(|inner| UpstreamBody { inner, slot })),
                Err(mut e) => match e.take_message() {
                    // The connection closed before the request left: try another.
                    Some(unsent) if attempt < SEND_ATTEMPTS => {
                        slot.0.close();
                        req = unsent;
                        attempt += 1;
                    }
                    _ => return Err(Failure::Call(e.into_error())),
                },
            }
        }
    }

    async fn checkout(
        self: &Arc<Self>,
    ) -> Result<(http2::SendRequest<B>, Slot), Arc<dyn std::error::Error + Send + Sync>> {
        let mut waited_for = None;
        loop {
            let mut attempted = pin!(self.attempted.notified());
            {
                let mut state = lock(&self.state);
                state
                    .conns
                    .retain(|c| !c.state.is_closed() && !c.tx.is_closed());
                if let Some(conn) = state.conns.iter().find(|c| c.state.try_take()) {
                    return Ok((conn.tx.clone(), Slot(conn.state.clone())));
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

    async fn open(&self) -> Result<Conn<B>, BoxError> {
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
            let io = Counted::new(Box::new(io), self.connector.open.clone(), state.clone());
            let (tx, conn) = self.connector.http2.handshake(io).await?;
            tokio::spawn(drive(conn, state.clone()));
            state.ready().await?;
            Ok::<_, BoxError>(Conn { tx, state })
        };
        tokio::time::timeout(self.connector.timeout, handshake)
            .await
            .map_err(|_| "timed out waiting for the backend's HTTP/2 SETTINGS")?
    }
}

/// Runs a connection until it ends or has been idle for [`IDLE_TIMEOUT`]; keeps the
/// pool's view of the peer's stream limit current.
async fn drive<C>(conn: C, state: Arc<ConnState>)
where
    C: Future<Output = hyper::Result<()>> + MaxStreams + Unpin,
{
    let mut conn = conn;
    let run = poll_fn(|cx| {
        let polled = Pin::new(&mut conn).poll(cx);
        // The peer may change its limit later (0 until its first SETTINGS are applied).
        let max = conn.max_send_streams();
        if max != 0 && state.phase.load(Ordering::Acquire) == READY {
            state.max.store(max, Ordering::Release);
        }
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
    tokio::select! {
        result = run => {
            if let Err(e) = result {
                tracing::debug!(error = %crate::respond::chain(&e), "backend connection ended");
            }
        }
        () = idle => {}
    }
    state.close();
}

/// The peer's current stream limit, as hyper's connection knows it.
trait MaxStreams {
    fn max_send_streams(&self) -> usize;
}

impl<T, B> MaxStreams for http2::Connection<T, B, TokioExecutor>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: Body + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn max_send_streams(&self) -> usize {
        self.current_max_send_streams()
    }
}

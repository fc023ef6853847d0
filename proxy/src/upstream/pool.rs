//! HTTP/2 connections to one backend endpoint, shared by the calls of one worker
//! runtime (with the shared scheduler, by every call).
//!
//! Each call takes a stream slot on the first connection with room, room being the peer's
//! SETTINGS_MAX_CONCURRENT_STREAMS (at most [`MAX_STREAMS`](super::conn::MAX_STREAMS)).
//! Another connection is opened only when every open one is full (or there is none), and
//! only below the endpoint's connection limit: calls that find no room wait for it (a
//! slot given back, a new connection) rather than each opening their own, and get a
//! failed attempt's error. Attempts run side by side as many as the waiting calls need,
//! each counted as taking the backend's last announced stream limit, so a burst does not
//! wait for one connection after another. At most `max_pending` calls beyond what the
//! attempts in progress will take wait; one more is refused at once
//! ([`Failure::Overflow`]) and counted, as is a call that waited at the connection limit
//! for the connect timeout without a slot coming free. A new connection takes
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
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tower::ServiceExt as _;

use super::conn::{ConnState, Room, Slot, drive};
use super::counting::Counted;
use super::endpoints::Endpoint;
use super::error::Failure;
use super::stream::{CallLog, Pump, UpstreamBody, prepare_head};
use grpcweb_layer::BoxError;

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
    /// For opening a connection: the name lookup, the TCP connect, the TLS handshake and
    /// the peer's SETTINGS, together.
    pub(crate) timeout: Duration,
    /// Most connections per endpoint (at least 1).
    pub(crate) max_connections: usize,
    /// Most calls waiting for a stream slot per endpoint.
    pub(crate) max_pending: usize,
    /// Calls refused because `max_pending` were waiting, for the metrics.
    pub(crate) overflows: Arc<AtomicU64>,
}

/// The connections to one endpoint.
pub(crate) struct Pool {
    pub(crate) endpoint: Arc<Endpoint>,
    /// The per-worker runtime whose calls use this pool.
    pub(crate) worker: usize,
    connector: Arc<Connector>,
    state: Mutex<PoolState>,
    /// Told after every connection attempt, and when a slot is given back.
    room: Arc<Room>,
}

struct PoolState {
    conns: Vec<Conn>,
    /// Connection attempts in progress.
    connecting: usize,
    /// The streams a new connection is expected to take: the backend's stream limit as
    /// its latest connection announced it ([`MAX_STREAMS`](super::conn::MAX_STREAMS)
    /// before the first).
    streams_per_conn: usize,
    /// Connection attempts finished so far.
    attempts: u64,
    /// Why the last attempt failed; `None` when it succeeded.
    failure: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

struct Conn {
    tx: h2::client::SendRequest<Bytes>,
    state: Arc<ConnState>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent at every step, so a panic elsewhere does not spoil it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Pool {
    /// The pool of the calls made on per-worker runtime `worker`.
    pub(crate) fn new(endpoint: Arc<Endpoint>, connector: Arc<Connector>, worker: usize) -> Self {
        Self {
            endpoint,
            worker,
            connector,
            state: Mutex::new(PoolState {
                conns: Vec::new(),
                connecting: 0,
                streams_per_conn: super::conn::MAX_STREAMS,
                attempts: 0,
                failure: None,
            }),
            room: Arc::new(Room::default()),
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
            let (mut tx, slot, idle) = self.checkout().await?;
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
        let path = head.uri().path_and_query().cloned();
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
        let log = CallLog::new(&self.endpoint, path, &res);
        Ok(res.map(|inner| UpstreamBody::new(inner, slot, log)))
    }

    async fn checkout(
        self: &Arc<Self>,
    ) -> Result<(h2::client::SendRequest<Bytes>, Slot, bool), Failure> {
        let mut waited_for = None;
        let mut waiting: Option<Waiting<'_>> = None;
        // When a call waiting at the connection limit gives up.
        let mut give_up = None;
        loop {
            // Registered before looking, so that room made after the look is not missed.
            let mut told = pin!(self.room.notify.notified());
            told.as_mut().enable();
            let at_limit = {
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
                    return Err(Failure::Connect(failure.clone()));
                }
                // Calls waiting (this one included) that the attempts in progress will
                // not make room for get another attempt, up to the connection limit: a
                // burst of calls opens the connections it needs at once.
                let waiters =
                    self.room.waiting.load(Ordering::SeqCst) + usize::from(waiting.is_none());
                let coming = state.connecting.saturating_mul(state.streams_per_conn);
                if coming < waiters
                    && state.conns.len() + state.connecting < self.connector.max_connections
                {
                    state.connecting += 1;
                    tokio::spawn(self.clone().connect());
                }
                waited_for = Some(state.attempts);
                if waiting.is_none() {
                    // Counted under the lock, so no two calls take the last place; then
                    // looked again, for a slot given back before the count. Calls the
                    // attempts in progress will make room for do not count against
                    // `max_pending`.
                    let coming = state.connecting.saturating_mul(state.streams_per_conn);
                    if self.room.waiting.load(Ordering::SeqCst)
                        >= self.connector.max_pending.saturating_add(coming)
                    {
                        self.connector.overflows.fetch_add(1, Ordering::Relaxed);
                        return Err(Failure::Overflow);
                    }
                    self.room.waiting.fetch_add(1, Ordering::SeqCst);
                    waiting = Some(Waiting(&self.room));
                    continue;
                }
                // No attempt running: every connection the limit allows is open and full.
                state.connecting == 0
            };
            if !at_limit {
                // A connection attempt is bounded by its own timeouts.
                told.await;
                continue;
            }
            let give_up = *give_up.get_or_insert_with(|| {
                tokio::time::Instant::now().checked_add(self.connector.timeout)
            });
            match give_up {
                Some(at) => {
                    if tokio::time::timeout_at(at, told).await.is_err() {
                        self.connector.overflows.fetch_add(1, Ordering::Relaxed);
                        return Err(Failure::Overflow);
                    }
                }
                None => told.await,
            }
        }
    }

    /// One connection attempt; its result goes to the calls waiting for it.
    async fn connect(self: Arc<Self>) {
        let result = self.open().await;
        let mut state = lock(&self.state);
        state.connecting -= 1;
        state.attempts += 1;
        match result {
            Ok(conn) => {
                state.streams_per_conn = conn.state.max_streams().max(1);
                state.conns.push(conn);
                state.failure = None;
                self.endpoint.health.succeeded();
            }
            Err(e) => {
                tracing::debug!(endpoint = %self.endpoint.display, error = %grpcweb_layer::error::chain(&*e), "backend connection failed");
                self.endpoint.health.failed();
                state.failure = Some(Arc::from(e));
            }
        }
        drop(state);
        self.room.notify.notify_waiters();
    }

    async fn open(&self) -> Result<Conn, BoxError> {
        let url = &self.endpoint.url;
        let uri = Uri::builder()
            .scheme(url.scheme.clone())
            .authority(url.authority.clone())
            .path_and_query("/")
            .build()?;
        // One deadline for the whole opening: the lookup and TCP connect, the TLS handshake
        // (a backend that accepts and never answers it must not hold the attempt) and the
        // SETTINGS.
        let deadline = tokio::time::Instant::now() + self.connector.timeout;
        let io = tokio::time::timeout_at(deadline, self.connector.tcp_tls.clone().oneshot(uri))
            .await
            .map_err(|_| "timed out connecting to the backend (lookup, TCP and TLS)")??;
        let handshake = async {
            let state = Arc::new(ConnState::new(self.room.clone()));
            // Boxed: hyper sizes every task it spawns per stream after its connection
            // task, which holds the socket (and the TLS state) inline.
            let io = Counted::new(Box::new(io), self.connector.open.clone());
            let (tx, conn) = self.connector.http2.handshake(TokioIo::new(io)).await?;
            tokio::spawn(drive(conn, state.clone(), self.connector.keep_alive));
            state.ready().await?;
            Ok::<_, BoxError>(Conn { tx, state })
        };
        tokio::time::timeout_at(deadline, handshake)
            .await
            .map_err(|_| "timed out waiting for the backend's HTTP/2 SETTINGS to allow a stream")?
    }
}

/// A call counted in its pool's waiting calls until dropped.
struct Waiting<'a>(&'a Room);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

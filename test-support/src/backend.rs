//! [`FakeBackend`]: a scripted native gRPC server (HTTP/2 cleartext) that can misbehave.

use anyhow::Context as _;
use bytes::Bytes;
use h2::Reason;
use http::{HeaderMap, Method, Uri};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

mod reply;
mod serve;

pub use reply::{End, Reply, Script};

/// A request as the backend received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `:method`.
    pub method: Method,
    /// `:scheme`, `:authority` and `:path`.
    pub uri: Uri,
    /// Every regular header, in the order received.
    pub headers: HeaderMap,
    /// The whole request body.
    pub body: Bytes,
    /// Request trailers, if the client sent any.
    pub trailers: Option<HeaderMap>,
    /// When the body had been read completely.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// `:path`.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// A header as a string; `None` when absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body split into gRPC message payloads; an error on any non-data frame or a
    /// truncated frame.
    pub fn messages(&self) -> anyhow::Result<Vec<Bytes>> {
        crate::frames::split_messages(&self.body)
    }
}

/// A stream that ended because the other side cancelled it (or the connection died)
/// before the backend had finished its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    /// `:path` of the cancelled request.
    pub path: String,
    /// The `RST_STREAM` (or `GOAWAY`) reason; `None` when the connection just closed.
    pub reason: Option<Reason>,
    /// Messages the backend had sent on this stream before it noticed.
    pub messages_sent: usize,
    /// When the backend noticed.
    pub at: Instant,
}

/// A scripted HTTP/2 cleartext gRPC server on `127.0.0.1:<free port>`.
///
/// For each request it reads the headers and the whole body, records them (see
/// [`FakeBackend::requests`]), asks the [`Script`] for a [`Reply`] and plays it. Streams
/// the client cancels before the reply is complete are recorded as [`Cancellation`]s.
/// Dropping the backend stops it and closes every connection.
///
/// ```no_run
/// use grpcweb_test_support::{FakeBackend, Reason, Reply};
/// # async fn doc() -> anyhow::Result<()> {
/// // The same reply to every request:
/// let backend = FakeBackend::start(Reply::reset_after(vec!["one".into()], Reason::CANCEL)).await?;
/// // Or chosen per request:
/// let backend = FakeBackend::start(|req: &grpcweb_test_support::RecordedRequest| {
///     match req.path() {
///         "/grpc.testing.TestService/EmptyCall" => Reply::ok(vec![Default::default()]),
///         _ => Reply::not_found_html(),
///     }
/// })
/// .await?;
/// println!("backend on {}", backend.addr);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FakeBackend {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct State {
    requests: Mutex<Vec<RecordedRequest>>,
    cancellations: Mutex<Vec<Cancellation>>,
    connections: AtomicUsize,
    changed: Notify,
}

impl State {
    fn record_request(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
        self.changed.notify_waiters();
    }

    fn record_cancellation(&self, cancellation: Cancellation) {
        lock(&self.cancellations).push(cancellation);
        self.changed.notify_waiters();
    }

    /// Waits until `check` returns `Some`.
    async fn wait_for<T>(&self, check: impl Fn(&Self) -> Option<T>) -> T {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Register before checking, so a change in between is not missed.
            notified.as_mut().enable();
            if let Some(v) = check(self) {
                return v;
            }
            notified.await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide the records from the next assertion.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeBackend {
    /// Binds `127.0.0.1:0` and starts serving with `script`.
    pub async fn start(script: impl Script) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the fake backend")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let script: Arc<dyn Script> = Arc::new(script);
        let task = tokio::spawn(serve::accept_loop(listener, state.clone(), script));
        Ok(Self { addr, state, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order (of complete bodies).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Waits until at least `n` requests have arrived and returns them all. Never times
    /// out by itself: wrap it in [`crate::within`].
    pub async fn wait_for_requests(&self, n: usize) -> Vec<RecordedRequest> {
        self.state
            .wait_for(|s| {
                let requests = lock(&s.requests);
                (requests.len() >= n).then(|| requests.clone())
            })
            .await
    }

    /// Every cancellation noticed so far.
    pub fn cancellations(&self) -> Vec<Cancellation> {
        lock(&self.state.cancellations).clone()
    }

    /// Waits until a stream has been cancelled and returns the first cancellation. Never
    /// times out by itself: wrap it in [`crate::within`].
    pub async fn cancelled(&self) -> Cancellation {
        self.state
            .wait_for(|s| lock(&s.cancellations).first().cloned())
            .await
    }

    /// How many TCP connections have been accepted.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FakeBackend {
    fn drop(&mut self) {
        // The accept task owns every connection task, which owns every stream task:
        // aborting it closes them all.
        self.task.abort();
    }
}

//! Accepting client connections and serving them: worker 0 accepts and hands each
//! connection to the worker serving the fewest, which serves it on its own runtime
//! through the proxy's service stack, within the connection budgets all workers share.

use bytes::Bytes;
use futures_util::FutureExt as _;
use grpcweb_layer::{BoxError, ResponseBody};
use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceExt as _};

use super::connection::{self, Activity, Connections, Timeouts, TooManyResets};
use super::linger::LingeringBody;
use super::observe::{CountingBody, ObservedCall};
use super::{ClientBody, guard, keep_alive, listener};
use crate::call::ClientIp;
use crate::metrics::{CallRecord, Metrics};
use crate::upstream::ClientCert;
use prometheus_client::metrics::gauge::Gauge;

/// What every worker's accept loop shares: the service stack, the metrics, the
/// connections (for the drain) and their budgets.
#[derive(Clone)]
pub(super) struct Acceptor<S> {
    pub(super) load: Arc<Load>,
    pub(super) service: S,
    pub(super) metrics: Arc<Metrics>,
    pub(super) connections: Arc<Connections>,
    /// One per client connection, `max_connections` in all.
    pub(super) slots: Arc<Semaphore>,
    pub(super) builder: auto::Builder<TokioExecutor>,
    /// The `keep-alive` header HTTP/1.1 responses carry, if any.
    pub(super) keep_alive: Option<http::HeaderValue>,
    pub(super) tls: Option<Arc<crate::tls::Reloading>>,
    pub(super) header_read_timeout: Duration,
    pub(super) idle_timeout: Duration,
}

impl<S, B, E> Acceptor<S>
where
    S: Service<Request<ClientBody>, Response = Response<ResponseBody<B>>, Error = E>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError> + Send + 'static,
{
    /// Worker 0's loop: accepts until `stop`, and gives each connection to the worker
    /// with the fewest connections (itself included); `others[i]` reaches worker `i + 1`.
    pub(super) async fn run(
        self,
        listener: TcpListener,
        others: Vec<mpsc::UnboundedSender<Handoff>>,
        stop: CancellationToken,
    ) {
        loop {
            // At the connection limit, stop accepting until a connection ends.
            let slot = tokio::select! {
                slot = self.slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
                () = stop.cancelled() => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener::accept(&listener) => match accepted {
                    Some(conn) => conn,
                    None => continue,
                },
                () = stop.cancelled() => break,
            };
            // Counted in the chosen worker's load at once, so that the next accept
            // sees it even before that worker has taken the connection.
            let loaded = self.load.pick();
            let worker = loaded.1;
            let handoff = Handoff {
                stream,
                peer,
                slot,
                accepted_at: Instant::now(),
                loaded,
            };
            let handoff = match worker.checked_sub(1).and_then(|i| others.get(i)) {
                Some(other) => hand_over(other, handoff),
                None => Some(handoff),
            };
            if let Some(handoff) = handoff {
                self.serve(handoff);
            }
        }
    }

    /// The loop of workers 1..: serves the connections worker 0 hands over until `stop`.
    pub(super) async fn serve_handed(
        self,
        mut handed: mpsc::UnboundedReceiver<Handoff>,
        stop: CancellationToken,
    ) {
        loop {
            let handoff = tokio::select! {
                handoff = handed.recv() => match handoff {
                    Some(handoff) => handoff,
                    None => break,
                },
                () = stop.cancelled() => break,
            };
            if let Some(handoff) = handoff.into_tokio() {
                self.serve(handoff);
            }
        }
    }

    /// Serves one accepted connection on a task of its own, holding its slot, and
    /// counting in this worker's load, until it ends.
    fn serve(&self, handoff: Handoff<TcpStream>) {
        let Handoff {
            stream,
            peer,
            slot,
            accepted_at,
            loaded,
        } = handoff;
        let _ = stream.set_nodelay(true);
        let service = self.service.clone();
        let call_metrics = self.metrics.clone();
        let connection = self.metrics.connection();
        let activity = Activity::new();
        let calls = activity.clone();
        let client_ip = ClientIp::new(peer);
        let keep_alive = self.keep_alive.clone();
        let hyper_service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
            let call_guard = calls.begin();
            let record = CallRecord::start(&call_metrics, &req, Some(client_ip.clone()));
            let version = req.version();
            let advertised = (version == http::Version::HTTP_11)
                .then(|| keep_alive.clone())
                .flatten();
            let mut req = req.map(|body| {
                CountingBody::new(LingeringBody::new(body, version), record.call.clone())
            });
            req.extensions_mut().insert(record.call.clone());
            req.extensions_mut().insert(record.messages.clone());
            guard::catch_panic(ObservedCall::new(
                service.clone().oneshot(req),
                record,
                call_guard,
            ))
            .map(move |res| res.map(|res| keep_alive::advertise(res, advertised.as_ref())))
        });
        let connections = self.connections.clone();
        let builder = self.builder.clone();
        let timeouts = Timeouts {
            header_deadline: connection::deadline(accepted_at, self.header_read_timeout),
            idle: self.idle_timeout,
        };
        let acceptor = self.tls.as_ref().map(|t| t.acceptor());
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _loaded = loaded;
            let _connection = connection;
            let result = match acceptor {
                None => {
                    connections
                        .serve(
                            &builder,
                            TokioIo::new(stream),
                            hyper_service,
                            activity,
                            timeouts,
                        )
                        .await
                }
                Some(acceptor) => {
                    let deadline = timeouts.header_deadline;
                    let Some(tls_stream) =
                        listener::tls_handshake(&acceptor, stream, deadline, &metrics, peer).await
                    else {
                        return;
                    };
                    // A certificate is there only when the listener verified it.
                    let cert = tls_stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|der| ClientCert::from_der(der));
                    let hyper_service =
                        hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                            if let Some(cert) = &cert {
                                req.extensions_mut().insert(cert.clone());
                            }
                            hyper::service::Service::call(&hyper_service, req)
                        });
                    connections
                        .serve(
                            &builder,
                            TokioIo::new(tls_stream),
                            hyper_service,
                            activity,
                            timeouts,
                        )
                        .await
                }
            };
            match result {
                Err(e) if e.is::<TooManyResets>() => {
                    tracing::info!(%peer, "{e}");
                }
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "connection ended with an error")
                }
                Ok(()) => {}
            }
        });
    }
}

/// Sends `handoff` to another worker; what it gets back when that worker has stopped
/// (this worker serves it then) or `None` once sent (or closed: it could not be moved).
fn hand_over(
    other: &mpsc::UnboundedSender<Handoff>,
    handoff: Handoff<TcpStream>,
) -> Option<Handoff<TcpStream>> {
    let peer = handoff.peer;
    match handoff.into_std() {
        Ok(moved) => match other.send(moved) {
            Ok(()) => None,
            Err(mpsc::error::SendError(moved)) => moved.into_tokio(),
        },
        Err(e) => {
            tracing::debug!(%peer, error = %e, "could not hand a connection over");
            None
        }
    }
}

/// An accepted connection on its way to the worker that serves it: a tokio stream on the
/// runtime that accepted it, a std one between runtimes.
pub(super) struct Handoff<T = std::net::TcpStream> {
    stream: T,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
    /// The header deadline counts from here.
    accepted_at: Instant,
    /// The connection in its worker's load.
    loaded: Loaded,
}

impl<T> Handoff<T> {
    /// The same connection, its socket in another form.
    fn with_stream<U>(
        self,
        stream: impl FnOnce(T) -> std::io::Result<U>,
    ) -> std::io::Result<Handoff<U>> {
        Ok(Handoff {
            stream: stream(self.stream)?,
            peer: self.peer,
            slot: self.slot,
            accepted_at: self.accepted_at,
            loaded: self.loaded,
        })
    }
}

impl Handoff<TcpStream> {
    fn into_std(self) -> std::io::Result<Handoff> {
        self.with_stream(TcpStream::into_std)
    }
}

impl Handoff {
    /// On the current runtime; `None` (the connection closed) if it cannot be registered.
    fn into_tokio(self) -> Option<Handoff<TcpStream>> {
        let peer = self.peer;
        self.with_stream(TcpStream::from_std)
            .map_err(|e| tracing::debug!(%peer, error = %e, "could not take a connection over"))
            .ok()
    }
}

/// The connections each worker serves, for giving a new one to the least loaded; the
/// counts are the `grpcweb_worker_connections` gauges themselves.
#[derive(Debug)]
pub(super) struct Load {
    connections: Vec<Gauge>,
    /// Where the next search starts, so that ties take turns.
    next: AtomicUsize,
}

impl Load {
    pub(super) fn new(workers: usize, metrics: &Metrics) -> Arc<Self> {
        Arc::new(Self {
            connections: (0..workers.max(1))
                .map(|w| metrics.worker_connections(w))
                .collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// A new connection, counted in the load of the worker with the fewest.
    fn pick(self: &Arc<Self>) -> Loaded {
        let n = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let worker = (0..n)
            .map(|i| (start + i) % n)
            .min_by_key(|&w| self.connections[w].get())
            .unwrap_or(0);
        self.connections[worker].inc();
        Loaded(self.clone(), worker)
    }
}

/// A connection counted in a worker's load until dropped.
struct Loaded(Arc<Load>, usize);

impl Drop for Loaded {
    fn drop(&mut self) {
        if let Some(c) = self.0.connections.get(self.1) {
            c.dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_connections_go_to_the_least_loaded_worker_ties_taking_turns() {
        let load = Load::new(3, &Metrics::new());
        let mut held: Vec<Loaded> = (0..6).map(|_| load.pick()).collect();
        let mut picked: Vec<usize> = held.iter().map(|l| l.1).collect();
        picked.sort_unstable();
        assert_eq!(picked, [0, 0, 1, 1, 2, 2]);
        // Worker 1's connections end: it gets the next two.
        held.retain(|l| l.1 != 1);
        let next = [load.pick(), load.pick()];
        assert_eq!([next[0].1, next[1].1], [1, 1]);
        assert_eq!(load.connections[1].get(), 2);
        drop(next);
        assert_eq!(load.connections[1].get(), 0);
    }
}

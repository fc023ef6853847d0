//! One call's HTTP/2 stream to a backend: the request body pumped into it, the response
//! body read from it.
//!
//! The pool drives h2 itself rather than through hyper's client: hyper hands each request
//! to its connection task over a channel and spawns a task per call to wait for the
//! response (and another to send the body while the stream waits to open). Here the
//! call's own future sends the headers, hands the body to h2 and waits for the response;
//! a task is spawned only for a request body still streaming when the response comes.

use bytes::{Buf, Bytes};
use h2::{Reason, RecvStream, SendStream};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body::{Body, Frame, SizeHint};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::conn::Slot;
use super::endpoints::Endpoint;
use grpcweb_layer::{BackendError, BoxError};

use super::error::stream_kind;

/// How much of a non-gRPC answer's body goes into the log.
const EXCERPT_LIMIT: usize = 256;

/// What hyper's client did to a request head before handing it to h2: connection-specific
/// headers removed (h2 refuses them; only an HTTP/1.1 request can carry them), and
/// `content-length` set from a body of known size.
pub(crate) fn prepare_head<B: Body>(head: &mut Request<()>, body: &B) {
    if head.version() < Version::HTTP_2 {
        let headers = head.headers_mut();
        for name in [
            header::CONNECTION,
            header::TRANSFER_ENCODING,
            header::UPGRADE,
            header::HeaderName::from_static("keep-alive"),
            header::HeaderName::from_static("proxy-connection"),
        ] {
            headers.remove(name);
        }
        if headers.get(header::TE).is_some_and(|v| v != "trailers") {
            headers.remove(header::TE);
        }
    }
    if let Some(len) = body.size_hint().exact()
        && (len != 0 || !matches!(*head.method(), Method::GET | Method::HEAD | Method::DELETE))
        && !head.headers().contains_key(header::CONTENT_LENGTH)
    {
        head.headers_mut()
            .insert(header::CONTENT_LENGTH, http::HeaderValue::from(len));
    }
    *head.version_mut() = Version::HTTP_2;
}

/// Sends a request body on its stream, as hyper's client does: chunk by chunk, each
/// waiting for stream capacity, trailers as trailers, a body error as RST_STREAM. The
/// first chunk goes at once, before the stream has any capacity (h2 buffers it and sends
/// it right after the headers): a gRPC-Web request is one chunk, so it leaves in the same
/// write as its headers.
pub(crate) struct Pump<B> {
    body: B,
    tx: SendStream<Bytes>,
    /// A chunk waiting for stream capacity, and whether it ends the body.
    held: Option<(Bytes, bool)>,
    first: bool,
}

impl<B> fmt::Debug for Pump<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pump").finish_non_exhaustive()
    }
}

impl<B> Pump<B>
where
    B: Body + Unpin,
    B::Error: Into<BoxError>,
{
    pub(crate) fn new(body: B, tx: SendStream<Bytes>) -> Self {
        Self {
            body,
            tx,
            held: None,
            first: true,
        }
    }

    /// Ready when the body has been sent whole, or the stream failed (the response side
    /// reports why).
    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            // Woken by a reset while waiting for the body or for capacity.
            if let Poll::Ready(reason) = self.tx.poll_reset(cx) {
                tracing::debug!(?reason, "backend stream reset while sending the request");
                return Poll::Ready(());
            }
            if let Some((data, eos)) = self.held.take() {
                while self.tx.capacity() == 0 {
                    match self.tx.poll_capacity(cx) {
                        Poll::Ready(Some(Ok(0))) => {}
                        Poll::Ready(Some(Ok(_))) => break,
                        Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
                        Poll::Pending => {
                            self.held = Some((data, eos));
                            return Poll::Pending;
                        }
                    }
                }
                if self.tx.send_data(data, eos).is_err() || eos {
                    return Poll::Ready(());
                }
                continue;
            }
            match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(mut data) => {
                        let eos = self.body.is_end_stream();
                        let data = data.copy_to_bytes(data.remaining());
                        if data.is_empty() || std::mem::take(&mut self.first) {
                            if self.tx.send_data(data, eos).is_err() || eos {
                                return Poll::Ready(());
                            }
                        } else {
                            // A minimal claim on the connection window, as hyper makes:
                            // h2 raises it to the chunk's length when the chunk is sent.
                            self.tx.reserve_capacity(1);
                            self.held = Some((data, eos));
                        }
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.tx.reserve_capacity(0);
                            let _ = self.tx.send_trailers(trailers);
                            return Poll::Ready(());
                        }
                    }
                },
                Some(Err(e)) => {
                    let e: BoxError = e.into();
                    let reason = find_reason(&*e).unwrap_or(Reason::INTERNAL_ERROR);
                    tracing::debug!(error = %e, "request body failed: resetting the backend stream");
                    self.tx.send_reset(reason);
                    return Poll::Ready(());
                }
                None => {
                    // Ended without END_STREAM on its last chunk: an empty one carries it.
                    let _ = self.tx.send_data(Bytes::new(), true);
                    return Poll::Ready(());
                }
            }
        }
    }
}

/// The reset reason of an h2 error in `err`'s source chain.
fn find_reason(err: &(dyn std::error::Error + 'static)) -> Option<Reason> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return h2.reason();
        }
        cur = e.source();
    }
    None
}

/// A backend's response body. The call's stream counts against its connection's limit
/// until this is dropped; dropping it early resets the stream (RST_STREAM CANCEL) once
/// the request body is sent too.
pub struct UpstreamBody {
    inner: RecvStream,
    data_done: bool,
    _slot: Slot,
    log: CallLog,
}

impl UpstreamBody {
    pub(crate) fn new(inner: RecvStream, slot: Slot, log: CallLog) -> Self {
        Self {
            inner,
            data_done: false,
            _slot: slot,
            log,
        }
    }
}

/// What the log says about a call whose response fails, or is not gRPC: details the
/// client's status leaves out (see [`grpcweb_layer::failure`]).
pub(crate) struct CallLog {
    endpoint: Arc<Endpoint>,
    path: Option<PathAndQuery>,
    /// For an answer without gRPC: logged when the body ends or is dropped.
    not_grpc: Option<Box<NotGrpc>>,
}

struct NotGrpc {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    excerpt: Vec<u8>,
}

impl CallLog {
    pub(crate) fn new<B>(
        endpoint: &Arc<Endpoint>,
        path: Option<PathAndQuery>,
        res: &Response<B>,
    ) -> Self {
        let headers = res.headers();
        let grpc = headers.contains_key(grpcweb_protocol::status::GRPC_STATUS_HEADER)
            || (res.status() == StatusCode::OK
                && headers.get(header::CONTENT_TYPE).is_some_and(|v| {
                    let v = v.as_bytes();
                    v.len() >= 16 && v[..16].eq_ignore_ascii_case(b"application/grpc")
                }));
        Self {
            endpoint: endpoint.clone(),
            path,
            not_grpc: (!grpc).then(|| {
                Box::new(NotGrpc {
                    status: res.status(),
                    content_type: headers.get(header::CONTENT_TYPE).cloned(),
                    excerpt: Vec::new(),
                })
            }),
        }
    }

    fn path(&self) -> &str {
        self.path.as_ref().map_or("", PathAndQuery::as_str)
    }

    fn data(&mut self, data: &[u8]) {
        if let Some(not_grpc) = self.not_grpc.as_mut() {
            let room = EXCERPT_LIMIT.saturating_sub(not_grpc.excerpt.len());
            not_grpc
                .excerpt
                .extend_from_slice(&data[..room.min(data.len())]);
        }
    }

    fn failed(&self, err: &h2::Error) {
        tracing::warn!(
            endpoint = %self.endpoint.display,
            path = self.path(),
            error = %grpcweb_layer::error::chain(err),
            "backend response failed"
        );
    }
}

impl Drop for CallLog {
    fn drop(&mut self) {
        let Some(not_grpc) = self.not_grpc.take() else {
            return;
        };
        let content_type = not_grpc
            .content_type
            .as_ref()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let text = String::from_utf8_lossy(&not_grpc.excerpt);
        let body = text.split_whitespace().collect::<Vec<_>>().join(" ");
        tracing::warn!(
            endpoint = %self.endpoint.display,
            path = self.path(),
            status = not_grpc.status.as_u16(),
            content_type,
            body,
            "backend answered without gRPC"
        );
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
    type Error = BackendError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BackendError>>> {
        let this = &mut *self;
        if !this.data_done {
            match ready!(this.inner.poll_data(cx)) {
                Some(Ok(data)) => {
                    // Read data is handed on at once: give its window back to the backend.
                    let _ = this.inner.flow_control().release_capacity(data.len());
                    this.log.data(&data);
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                // As hyper reads a body: RST_STREAM NO_ERROR is an early end, not a
                // failure (RFC 9113 section 8.1).
                Some(Err(e)) if e.reason() == Some(Reason::NO_ERROR) => return Poll::Ready(None),
                Some(Err(e)) => {
                    this.log.failed(&e);
                    return Poll::Ready(Some(Err(BackendError::new(stream_kind(&e), e))));
                }
                None => this.data_done = true,
            }
        }
        match ready!(this.inner.poll_trailers(cx)) {
            Ok(trailers) => Poll::Ready(trailers.map(|t: HeaderMap| Ok(Frame::trailers(t)))),
            Err(e) if e.reason() == Some(Reason::NO_ERROR) => Poll::Ready(None),
            Err(e) => {
                this.log.failed(&e);
                Poll::Ready(Some(Err(BackendError::new(stream_kind(&e), e))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

//! Lingering close for HTTP/1.1: a request body the proxy stops reading early (a refusal,
//! an over-limit message, a call that ended before its request did) is read and thrown
//! away, up to a bound, instead of being dropped.
//!
//! Dropping it makes hyper close the connection with the client's unread bytes still in
//! the socket's receive buffer, and the kernel then answers with a TCP reset instead of a
//! FIN: the client's next write fails (`broken pipe`) and its kernel may discard the
//! response it has not read yet, so the client sees a network error instead of the status
//! the proxy sent. nginx (`lingering_close`) and Go's net/http do the same. HTTP/2 needs
//! none of this: dropping a stream's body resets that stream only.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

/// At most this many bytes of an abandoned HTTP/1.1 request body are read and discarded.
const MAX_BYTES: u64 = 1024 * 1024;

/// For at most this long.
const MAX_TIME: Duration = Duration::from_secs(5);

/// A client's request body; on HTTP/1.1, dropped before its end, it is drained in a task.
#[derive(Debug)]
pub(crate) struct LingeringBody {
    inner: Option<Incoming>,
    /// Drain what is left on drop (HTTP/1.x only).
    linger: bool,
    /// The body has ended (or failed): nothing left to drain.
    done: bool,
}

impl LingeringBody {
    pub(crate) fn new(inner: Incoming, version: http::Version) -> Self {
        Self {
            inner: Some(inner),
            linger: version <= http::Version::HTTP_11,
            done: false,
        }
    }
}

impl Body for LingeringBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = ready!(Pin::new(inner).poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) {
            self.done = true;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for LingeringBody {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if !self.linger || self.done || body.is_end_stream() {
            return;
        }
        // Outside a runtime (never in the proxy) there is nothing to drain with.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(body));
        }
    }
}

/// Reads and discards `body` until it ends, fails, or a bound is reached; then drops it,
/// and hyper closes the connection.
async fn drain(mut body: Incoming) {
    let mut read: u64 = 0;
    let _ = tokio::time::timeout(MAX_TIME, async {
        while read < MAX_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    let n = frame.data_ref().map_or(0, Bytes::len);
                    read = read.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
                }
                Some(Err(_)) | None => return,
            }
        }
    })
    .await;
}

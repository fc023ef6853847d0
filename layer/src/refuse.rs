//! Keeping HTTP/1.1 connections honest: a refused request's body is read (and dropped)
//! before the answer, or the answer says `connection: close`; so does the answer to a
//! streamed request the inner service answered before its body ended.

use bytes::Bytes;
use http::{Response, Version};
use http_body::Body;
use http_body_util::BodyExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Marks a response sent before the request body was read to its end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyUnread;

pub(crate) fn unread<B>(mut res: Response<B>) -> Response<B> {
    res.extensions_mut().insert(BodyUnread);
    res
}

/// Whether a forwarded request body has been read to its end: set by the body, read by
/// the call when the answer's head is ready. An HTTP/1.1 server closes a connection whose
/// request body was dropped before its end (the rest is still on the wire), so an answer
/// made before then must say `connection: close`.
#[derive(Clone, Debug, Default)]
pub(crate) struct BodyEnd(Arc<AtomicBool>);

impl BodyEnd {
    pub(crate) fn reach(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub(crate) fn reached(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// `res`, marked [`BodyUnread`] when the body had not ended by the time it was made.
    pub(crate) fn mark<B>(&self, res: Response<B>) -> Response<B> {
        if self.reached() { res } else { unread(res) }
    }
}

/// Most a refused request's body is read (and dropped) so that its HTTP/1.1 connection
/// stays usable; a larger or slower one gets `connection: close` instead.
pub(crate) const DRAIN_LIMIT: usize = 64 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(1);

/// Finishes reading a refused HTTP/1.1 request before it is answered: a client still
/// writing its body to a connection the proxy has closed sees a broken pipe instead of the
/// answer. HTTP/2 needs none of this (the stream is simply reset).
pub(crate) async fn settle<B, R>(
    version: Version,
    mut body: B,
    limit: usize,
    res: Response<R>,
) -> Response<R>
where
    B: Body<Data = Bytes> + Unpin,
{
    if version >= Version::HTTP_2 {
        return res;
    }
    let drained = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            read += frame.data_ref().map_or(0, Bytes::len);
            if read > limit {
                return false;
            }
        }
        true
    })
    .await
    .unwrap_or(false);
    if drained { res } else { unread(res) }
}

//! Keeping HTTP/1.1 connections usable after a refusal: the refused request's body is
//! read (and dropped) before the answer, or the answer says `connection: close`.

use bytes::Bytes;
use http::{Response, Version};
use http_body::Body;
use http_body_util::BodyExt as _;
use std::time::Duration;

/// Marks a response sent before the request body was read to its end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyUnread;

pub(crate) fn unread<B>(mut res: Response<B>) -> Response<B> {
    res.extensions_mut().insert(BodyUnread);
    res
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

//! A backend connection's socket: counted in the backend's open connections while it
//! lives (for the metrics), and watched for the peer's first SETTINGS frame (for the pool).

use hyper::rt::{Read, ReadBuf, ReadBufCursor, Write};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll, ready};

use super::pool::ConnState;
use super::settings::{FirstSettings, Sniffed};

/// A connection that counts itself open until dropped, and reports the peer's first
/// SETTINGS frame to its [`ConnState`].
#[derive(Debug)]
pub(crate) struct Counted<T> {
    io: T,
    open: Arc<AtomicI64>,
    /// Until the first SETTINGS frame has been read.
    sniff: Option<(FirstSettings, Arc<ConnState>)>,
}

impl<T> Counted<T> {
    pub(crate) fn new(io: T, open: Arc<AtomicI64>, state: Arc<ConnState>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        Self {
            io,
            open,
            sniff: Some((FirstSettings::default(), state)),
        }
    }
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T: Read + Unpin> Read for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some((sniffer, state)) = this.sniff.as_mut() else {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        };
        // Until the first SETTINGS frame is through, read via a small buffer of our own
        // to see the bytes (the preface is a few dozen bytes; later reads go straight).
        let mut first = [0u8; 256];
        let n = buf.remaining().min(first.len());
        let mut read = ReadBuf::new(&mut first[..n]);
        ready!(Pin::new(&mut this.io).poll_read(cx, read.unfilled()))?;
        let bytes = read.filled();
        buf.put_slice(bytes);
        if bytes.is_empty() && n > 0 {
            state.settings(Sniffed::NotHttp2);
            this.sniff = None;
        } else {
            match sniffer.push(bytes) {
                Sniffed::NeedMore => {}
                done => {
                    state.settings(done);
                    this.sniff = None;
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: Write + Unpin> Write for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

//! Wrappers that feed [`CallRecord`]: bytes in, bytes out, and the final status.

use bytes::Bytes;
use http::Response;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::connection::CallGuard;
use crate::call::CallContext;
use crate::metrics::CallRecord;
use grpcweb_layer::BoxError;
use grpcweb_layer::ResponseBody;

/// A request body that counts its bytes.
#[derive(Debug)]
pub(crate) struct CountingBody<B> {
    inner: B,
    call: CallContext,
}

impl<B> CountingBody<B> {
    pub(crate) fn new(inner: B, call: CallContext) -> Self {
        Self { inner, call }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for CountingBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
            self.call.add_bytes_in(data.map_or(0, |d| d.len() as u64));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// A call in progress: when its response comes, the record notes it and goes with the
    /// body. (A future of its own rather than an `async` block, which would hold the
    /// call's future twice over: a stream keeps this state until its headers come back.)
    pub(crate) struct ObservedCall<F> {
        #[pin]
        call: F,
        observe: Option<(CallRecord, CallGuard)>,
    }
}

impl<F> ObservedCall<F> {
    pub(crate) fn new(call: F, record: CallRecord, guard: CallGuard) -> Self {
        Self {
            call,
            observe: Some((record, guard)),
        }
    }
}

impl<F, B, E> Future for ObservedCall<F>
where
    F: Future<Output = Result<Response<ResponseBody<B>>, E>>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<ObservedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.call.poll(cx))?;
        let Some((mut record, guard)) = this.observe.take() else {
            // Polled again after completion: a bug in the caller, not worth a panic.
            return Poll::Pending;
        };
        record.response(&res);
        Poll::Ready(Ok(res.map(|body| ObservedBody::new(body, record, guard))))
    }
}

pin_project! {
    /// A response body that records the call when it ends (or is dropped, when the client
    /// goes away first).
    #[derive(Debug)]
    pub(crate) struct ObservedBody<B> {
                #[pin]
        inner: ResponseBody<B>,
        record: CallRecord,
        call: CallGuard,
    }
}

impl<B> ObservedBody<B> {
    pub(crate) fn new(inner: ResponseBody<B>, mut record: CallRecord, call: CallGuard) -> Self
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        // An empty body is never polled: the call is complete as it is sent.
        let mut call = call;
        if inner.is_end_stream() {
            record.finish(inner.grpc_status(), true);
            call.set_complete();
        }
        Self {
            inner,
            record,
            call,
        }
    }
}

impl<B> Body for ObservedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                this.record.bytes_out += f.data_ref().map_or(0, |d| d.len() as u64);
                // Servers stop polling once the body says it has ended.
                if this.inner.is_end_stream() {
                    this.record.finish(this.inner.grpc_status(), true);
                    this.call.set_complete();
                }
            }
            Some(Err(_)) => this.record.finish(this.inner.grpc_status(), false),
            None => {
                this.record.finish(this.inner.grpc_status(), true);
                this.call.set_complete();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

//! The end of the proxy's drain, for calls still waiting for their response headers.

use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::error::Failure;

pin_project! {
    /// `call`, failing with [`Failure::Shutdown`] once the stop signal fires (dropping
    /// `call` then resets its backend stream).
    pub(crate) struct Stoppable<F> {
        #[pin]
        call: F,
        #[pin]
        stop: Option<WaitForCancellationFutureOwned>,
    }
}

impl<F> Stoppable<F> {
    pub(crate) fn new(call: F, stop: Option<&CancellationToken>) -> Self {
        Self {
            call,
            stop: stop.map(|t| t.clone().cancelled_owned()),
        }
    }
}

impl<F, T> Future for Stoppable<F>
where
    F: Future<Output = Result<T, Failure>>,
{
    type Output = Result<T, Failure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.call.poll(cx) {
            return Poll::Ready(out);
        }
        if let Some(stop) = this.stop.as_pin_mut()
            && stop.poll(cx).is_ready()
        {
            return Poll::Ready(Err(Failure::Shutdown));
        }
        Poll::Pending
    }
}

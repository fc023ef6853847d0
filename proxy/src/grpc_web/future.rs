//! A future that maps another's output, holding it once (an `async` block that awaits a
//! future it was given holds it twice: as the captured value and as the one awaited).
//! Calls keep these states for as long as a stream's headers take, so size matters.

use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

pin_project! {
    /// `fut`, its output passed through `f`.
    pub(crate) struct Map<F, M> {
        #[pin]
        fut: F,
        f: Option<M>,
    }
}

impl<F, M> Map<F, M> {
    pub(crate) fn new(fut: F, f: M) -> Self {
        Self { fut, f: Some(f) }
    }
}

impl<F, M, T> Future for Map<F, M>
where
    F: Future,
    M: FnOnce(F::Output) -> T,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        let out = ready!(this.fut.poll(cx));
        match this.f.take() {
            Some(f) => Poll::Ready(f(out)),
            // Polled after completion: a caller bug; never complete twice.
            None => Poll::Pending,
        }
    }
}

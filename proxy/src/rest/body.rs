//! The request body of REST calls: the one gRPC frame made of the HTTP request.

use bytes::Bytes;
use grpcweb_layer::{BoxError, Reservation};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A request body toward the gRPC stack.
#[derive(Debug)]
pub(crate) enum RestBody<B> {
    /// Not a REST call: as the client sent it.
    Client(B),
    /// A REST call's request message, in one gRPC frame, and its share of the request
    /// buffer budget, given back when the frame is handed on.
    Message(Option<Bytes>, Reservation),
}

impl<B> Body for RestBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Client(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            Self::Message(m, held) => {
                let frame = m.take();
                // Shrinking never fails.
                let _ = held.set(0);
                Poll::Ready(frame.map(|m| Ok(Frame::data(m))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Client(b) => b.is_end_stream(),
            Self::Message(m, _) => m.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Client(b) => b.size_hint(),
            Self::Message(m, _) => SizeHint::with_exact(m.as_ref().map_or(0, |m| m.len() as u64)),
        }
    }
}

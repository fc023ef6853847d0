//! A tower [`Service`] over the same fetch driver, so tonic-generated clients run in the
//! browser (Leptos, Yew, Dioxus front-ends). Feature `tower`, wasm32 only.
//!
//! The service speaks native gRPC to its caller (framed request body in; framed messages
//! and HTTP trailers out) and gRPC-Web over `fetch` to the server, in binary or text.
//!
//! ```ignore
//! let service = GrpcWebClient::new("https://api.example.com", Format::Binary)?;
//! let mut client = TestServiceClient::new(service);
//! let reply = client.unary_call(request).await?;
//! ```
//!
//! Every failure (network, HTTP status, deadline from `grpc-timeout`) reaches tonic as a
//! `grpc-status` in the trailers, so tonic reports it as its own `Status`. Messages are
//! handed over through a one-slot channel; dropping the response body cancels the fetch
//! when the next message arrives.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use futures_channel::mpsc;
use futures_core::Stream;
use grpcweb_protocol::framing::encode_header;
use grpcweb_protocol::{Code, FrameKind, text, timeout};
use http::{HeaderMap, HeaderValue, Request, Response, header};
use http_body::{Body, Frame};
use js_sys::{Function, Reflect};
use tower_service::Service;
use wasm_bindgen::{JsCast as _, JsValue};

use crate::error::RpcError;
use crate::fetch::js::{js_error, new_headers};
use crate::fetch::{Call, CallSpec};
use crate::request::{self, Format, MetadataValue};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A gRPC-Web client as a tower `Service<http::Request<B>>` for tonic.
#[derive(Clone, Debug)]
pub struct GrpcWebClient {
    base_url: String,
    format: Format,
    fetch: Function,
}

/// The response body: framed messages, then the trailers (with `grpc-status`).
#[derive(Debug)]
pub struct ResponseBody {
    rx: mpsc::Receiver<Frame<Bytes>>,
}

impl GrpcWebClient {
    /// A client of the gRPC-Web server at `base_url`, using the global `fetch`.
    pub fn new(base_url: impl Into<String>, format: Format) -> Result<Self, RpcError> {
        let fetch = Reflect::get(&js_sys::global(), &JsValue::from_str("fetch"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| RpcError::new(Code::Internal, "no global fetch"))?;
        Ok(Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            format,
            fetch,
        })
    }

    /// Uses `fetch` instead of the global one.
    #[must_use]
    pub fn with_fetch(mut self, fetch: Function) -> Self {
        self.fetch = fetch;
        self
    }

    async fn send<B>(self, req: Request<B>) -> Result<Response<ResponseBody>, RpcError>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        let body = collect(body).await?;
        let timeout = parts
            .headers
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| timeout::parse(v).ok());
        let user = parts
            .headers
            .iter()
            .filter(|(name, _)| {
                !matches!(
                    name.as_str(),
                    "te" | "content-type" | "content-length" | "user-agent" | "grpc-timeout"
                )
            })
            .filter_map(|(name, value)| {
                let value = MetadataValue::Text(value.to_str().ok()?.to_owned());
                Some((name.as_str().to_owned(), value))
            })
            .collect();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let headers = new_headers();
        for (name, value) in request::headers(self.format, timeout, user)? {
            headers
                .append(&name, &value)
                .map_err(|e| js_error(Code::InvalidArgument, &e))?;
        }
        let call = Call::start(CallSpec {
            fetch: self.fetch,
            url: [self.base_url.as_str(), path].concat(),
            headers,
            body: match self.format {
                Format::Binary => body,
                Format::Text => text::encode_segment(&body),
            },
            timeout,
        })?;
        // Wait for the response (and maybe the first message) so headers are real.
        let first = next_message(&call).await;
        let mut headers = call
            .response_headers()
            .map(|(_, h)| h.to_header_map())
            .unwrap_or_default();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        let (mut tx, rx) = mpsc::channel(1);
        match first {
            Ok(Some(message)) => {
                drop(tx.try_send(data_frame(&message)));
                wasm_bindgen_futures::spawn_local(pump(call, tx));
            }
            Ok(None) => drop(tx.try_send(Frame::trailers(
                call.trailers().unwrap_or_default().to_header_map(),
            ))),
            Err(e) => drop(tx.try_send(Frame::trailers(error_trailers(&e)))),
        }
        let mut response = Response::new(ResponseBody { rx });
        *response.headers_mut() = headers;
        Ok(response)
    }
}

impl<B> Service<Request<B>> for GrpcWebClient
where
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = RpcError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, RpcError>>>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        Box::pin(self.clone().send(req))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.rx).poll_next(cx).map(|f| f.map(Ok))
    }
}

/// Moves the rest of the messages, then the trailers, into the body's channel.
async fn pump(call: Rc<Call>, mut tx: mpsc::Sender<Frame<Bytes>>) {
    loop {
        let (frame, last) = match next_message(&call).await {
            Ok(Some(message)) => (data_frame(&message), false),
            Ok(None) => (
                Frame::trailers(call.trailers().unwrap_or_default().to_header_map()),
                true,
            ),
            Err(e) => (Frame::trailers(error_trailers(&e)), true),
        };
        let sent = match poll_fn(|cx| tx.poll_ready(cx)).await {
            Ok(()) => tx.start_send(frame).is_ok(),
            Err(_) => false,
        };
        if !sent {
            // The body was dropped: nobody wants the rest.
            call.cancel();
            return;
        }
        if last {
            return;
        }
    }
}

/// The outcome of one [`Call::next`], as a future.
fn next_message(call: &Call) -> impl Future<Output = Result<Option<Bytes>, RpcError>> {
    type Slot = (Option<Result<Option<Bytes>, RpcError>>, Option<Waker>);
    let slot: Rc<RefCell<Slot>> = Rc::default();
    let filled = slot.clone();
    call.next(Box::new(move |result| {
        let waker = {
            let mut slot = filled.borrow_mut();
            slot.0 = Some(result);
            slot.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }));
    poll_fn(move |cx| {
        let mut slot = slot.borrow_mut();
        match slot.0.take() {
            Some(result) => Poll::Ready(result),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
}

fn data_frame(message: &[u8]) -> Frame<Bytes> {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_slice(&encode_header(FrameKind::Data, message.len()));
    out.put_slice(message);
    Frame::data(out.freeze())
}

fn error_trailers(e: &RpcError) -> HeaderMap {
    let mut map = e.metadata().to_header_map();
    e.status().write_to(&mut map);
    map
}

async fn collect<B>(body: B) -> Result<Bytes, RpcError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut out = BytesMut::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            let e: BoxError = e.into();
            RpcError::new(Code::Internal, format!("reading the request body: {e}"))
        })?;
        if let Ok(mut data) = frame.into_data() {
            while data.has_remaining() {
                let chunk = data.chunk();
                out.put_slice(chunk);
                let n = chunk.len();
                data.advance(n);
            }
        }
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_grpc_service<S: tonic::client::GrpcService<tonic::body::Body>>() {}
    fn is_send<T: Send + 'static>() {}

    // Compile-time checks: tonic's `Grpc<T>` accepts the client, and the body is `Send`
    // as tonic's `Streaming` requires.
    #[test]
    fn plugs_into_tonic() {
        is_grpc_service::<GrpcWebClient>();
        is_send::<ResponseBody>();
    }
}

//! Helpers shared by the fuzz targets: turning the fuzzer's bytes into chunked input, and
//! scripted HTTP bodies and a scripted backend for the proxy-level harness.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::Sleep;
use tower_service::Service;

/// Splits a fuzz input into chunking instructions and the payload.
///
/// Layout: byte 0 is `n`, the number of cut points (`n % 16`); the next `2 * n` bytes are
/// the cut points as big-endian `u16`s (taken modulo the payload length + 1); the rest is
/// the payload. Inputs too short for their header use no cuts at all.
pub fn split_input(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(n % 16);
    if rest.len() < 2 * n {
        return (Vec::new(), rest);
    }
    let (points, payload) = rest.split_at(2 * n);
    let points = points
        .chunks_exact(2)
        .map(|p| usize::from(u16::from_be_bytes([p[0], p[1]])) % (payload.len() + 1))
        .collect();
    (points, payload)
}

/// Cuts `payload` at `points` (any order, duplicates allowed: empty chunks result).
pub fn cut(payload: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    points.sort_unstable();
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut last = 0;
    for p in points {
        out.push(&payload[last..p]);
        last = p;
    }
    out.push(&payload[last..]);
    out
}

/// One step of a scripted HTTP body.
#[derive(Debug)]
pub enum Step {
    /// A data chunk.
    Data(Bytes),
    /// A pause (the fuzz targets run on a paused tokio clock, so it costs nothing).
    Wait(Duration),
    /// The stream fails (a reset).
    Fail,
    /// HTTP trailers, ending the body.
    Trailers(HeaderMap),
}

/// An HTTP body that plays its steps in order.
#[derive(Debug)]
pub struct Scripted {
    steps: VecDeque<Step>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Scripted {
    /// A body playing `steps`.
    pub fn new(steps: Vec<Step>) -> Self {
        Self {
            steps: steps.into(),
            sleep: None,
        }
    }
}

/// The error a scripted body fails with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Body for Scripted {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
            }
            match this.steps.pop_front() {
                None => return Poll::Ready(None),
                Some(Step::Data(b)) => return Poll::Ready(Some(Ok(Frame::data(b)))),
                Some(Step::Wait(d)) => this.sleep = Some(Box::pin(tokio::time::sleep(d))),
                Some(Step::Fail) => {
                    this.steps.clear();
                    return Poll::Ready(Some(Err("scripted reset".into())));
                }
                Some(Step::Trailers(t)) => {
                    this.steps.clear();
                    return Poll::Ready(Some(Ok(Frame::trailers(t))));
                }
            }
        }
    }
}

/// What a [`Backend`] saw of its call.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// The call reached the backend.
    pub reached: bool,
    /// The request body bytes it read (up to the end or the first error), when it read.
    pub request: Option<Bytes>,
}

/// A scripted gRPC backend for the layer: `mode` 0 answers 200 with the scripted body,
/// 1 fails to connect, 2 answers 503 without gRPC, 3 answers trailers-only.
#[derive(Clone, Debug)]
pub struct Backend {
    mode: u8,
    read_first: bool,
    response: Arc<Mutex<Option<Vec<Step>>>>,
    seen: Arc<Mutex<Seen>>,
}

impl Backend {
    /// A backend answering as `mode` says, after reading the whole request when
    /// `read_first`.
    pub fn new(mode: u8, read_first: bool, response: Vec<Step>) -> Self {
        Self {
            mode,
            read_first,
            response: Arc::new(Mutex::new(Some(response))),
            seen: Arc::default(),
        }
    }

    /// What it saw.
    pub fn seen(&self) -> Seen {
        self.seen.lock().expect("not poisoned").clone()
    }
}

impl<B> Service<Request<B>> for Backend
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
{
    type Response = Response<Scripted>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Scripted>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            this.seen.lock().expect("not poisoned").reached = true;
            let mut body = req.into_body();
            let mut read = BytesMut::new();
            if this.read_first {
                while let Some(Ok(frame)) = body.frame().await {
                    if let Ok(data) = frame.into_data() {
                        read.extend_from_slice(&data);
                    }
                }
            }
            if this.read_first {
                this.seen.lock().expect("not poisoned").request = Some(read.freeze());
            }
            let steps = this
                .response
                .lock()
                .expect("not poisoned")
                .take()
                .unwrap_or_default();
            let grpc = |b: http::response::Builder| b.header("content-type", "application/grpc");
            let res = match this.mode % 4 {
                0 => grpc(Response::builder()).body(Scripted::new(steps)),
                1 => return Err("connection refused".into()),
                2 => Response::builder()
                    .status(503)
                    .body(Scripted::new(Vec::new())),
                _ => grpc(Response::builder())
                    .header("grpc-status", "5")
                    .header("grpc-message", "not found")
                    .body(Scripted::new(Vec::new())),
            };
            Ok(res.expect("a response"))
        })
    }
}

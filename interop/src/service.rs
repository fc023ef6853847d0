//! `grpc.testing.TestService`, implemented as the interop suite expects.
//!
//! Metadata echo lives in [`crate::echo`], not here: tonic gives a handler no way to add
//! trailers to a unary response, so the echo is done on the HTTP response instead.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::pb::test_service_server::TestService;
use crate::pb::{
    EchoStatus, Empty, Payload, PayloadType, SimpleRequest, SimpleResponse,
    StreamingInputCallRequest, StreamingInputCallResponse, StreamingOutputCallRequest,
    StreamingOutputCallResponse,
};

/// How many responses a streaming call may queue before its producer waits for the client.
const STREAM_BUFFER: usize = 16;

/// The stream every server-streaming method of [`TestServiceImpl`] returns.
///
/// Responses are produced by a spawned task and handed over through a bounded channel.
/// Dropping the stream (the client went away, or tonic finished the call) stops that task
/// at its next send or sleep.
pub type ResponseStream = ReceiverStream<Result<StreamingOutputCallResponse, Status>>;

/// `grpc.testing.TestService` as the gRPC interop suite describes it.
///
/// * `EmptyCall` returns `Empty`.
/// * `UnaryCall` and `CacheableUnaryCall` return `response_size` zero bytes (type
///   `COMPRESSABLE`); when `response_status` is set with a nonzero code the call fails with
///   that code and message instead. `username`, `oauth_scope`, `server_id` and `hostname`
///   are always left empty.
/// * `StreamingOutputCall` sends one response per `response_parameters` entry, sleeping
///   `interval_us` before each, then fails with `response_status` if it is set and nonzero.
/// * `StreamingInputCall` answers with the sum of the request payload sizes.
/// * `FullDuplexCall` treats every request like a `StreamingOutputCall`, as soon as it
///   arrives; `HalfDuplexCall` does the same after the client has finished sending.
/// * `UnimplementedCall` fails with `UNIMPLEMENTED`.
///
/// Server-streaming methods honour `grpc-timeout`: when it passes before the responses are
/// all sent, the stream ends with `DEADLINE_EXCEEDED`. Compression flags in requests are
/// ignored; responses are never compressed.
///
/// Wrap it in [`crate::EchoMetadataLayer`] (or use [`crate::test_service`]) to get the
/// `x-grpc-test-echo-*` metadata behaviour.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestServiceImpl;

#[tonic::async_trait]
impl TestService for TestServiceImpl {
    async fn empty_call(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        Ok(Response::new(Empty {}))
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        simple_response(request.get_ref()).map(Response::new)
    }

    async fn cacheable_unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        simple_response(request.get_ref()).map(Response::new)
    }

    type StreamingOutputCallStream = ResponseStream;

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
    ) -> Result<Response<ResponseStream>, Status> {
        let deadline = deadline(request.metadata());
        let request = request.into_inner();
        Ok(Response::new(spawn_responder(deadline, |tx| async move {
            // The outcome only says whether to go on; there is nothing after this request.
            let _ = respond(&tx, &request).await;
        })))
    }

    async fn streaming_input_call(
        &self,
        request: Request<Streaming<StreamingInputCallRequest>>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let mut requests = request.into_inner();
        let mut total: usize = 0;
        while let Some(request) = requests.message().await? {
            let size = request.payload.map_or(0, |p| p.body.len());
            total = total.saturating_add(size);
        }
        let aggregated_payload_size = i32::try_from(total)
            .map_err(|_| Status::out_of_range("aggregated payload size exceeds i32"))?;
        Ok(Response::new(StreamingInputCallResponse {
            aggregated_payload_size,
        }))
    }

    type FullDuplexCallStream = ResponseStream;

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let deadline = deadline(request.metadata());
        let mut requests = request.into_inner();
        Ok(Response::new(spawn_responder(deadline, |tx| async move {
            loop {
                match requests.message().await {
                    Ok(Some(request)) => {
                        if respond(&tx, &request).await == Flow::Stop {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                }
            }
        })))
    }

    type HalfDuplexCallStream = ResponseStream;

    async fn half_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let deadline = deadline(request.metadata());
        let mut requests = request.into_inner();
        Ok(Response::new(spawn_responder(deadline, |tx| async move {
            let mut buffered = Vec::new();
            loop {
                match requests.message().await {
                    Ok(Some(request)) => buffered.push(request),
                    Ok(None) => break,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                }
            }
            for request in &buffered {
                if respond(&tx, request).await == Flow::Stop {
                    return;
                }
            }
        })))
    }

    async fn unimplemented_call(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Empty>, Status> {
        Err(Status::unimplemented(
            "grpc.testing.TestService/UnimplementedCall is never implemented",
        ))
    }
}

/// Whether a streaming method should go on after answering one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    /// The call is over: a status was sent, or the client is gone.
    Stop,
}

type Sender = mpsc::Sender<Result<StreamingOutputCallResponse, Status>>;

/// Builds the `UnaryCall` answer, or the status the request asked to fail with.
fn simple_response(request: &SimpleRequest) -> Result<SimpleResponse, Status> {
    if let Some(status) = requested_status(request.response_status.as_ref()) {
        return Err(status);
    }
    Ok(SimpleResponse {
        payload: Some(zero_payload(request.response_size)?),
        ..SimpleResponse::default()
    })
}

/// Sends the responses one `StreamingOutputCallRequest` asks for, then its status if any.
async fn respond(tx: &Sender, request: &StreamingOutputCallRequest) -> Flow {
    for params in &request.response_parameters {
        if let Ok(micros) = u64::try_from(params.interval_us)
            && micros > 0
        {
            tokio::time::sleep(Duration::from_micros(micros)).await;
        }
        let item = zero_payload(params.size).map(|payload| StreamingOutputCallResponse {
            payload: Some(payload),
        });
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            return Flow::Stop;
        }
    }
    match requested_status(request.response_status.as_ref()) {
        Some(status) => {
            let _ = tx.send(Err(status)).await;
            Flow::Stop
        }
        None => Flow::Continue,
    }
}

/// Runs `work` on its own task and returns the stream of what it sends.
///
/// The task stops as soon as the client stops listening. When `deadline` passes first,
/// the stream ends with `DEADLINE_EXCEEDED`: tonic enforces `grpc-timeout` only until the
/// response headers are out, so a streaming body has to enforce it itself.
fn spawn_responder<F, Fut>(deadline: Option<Instant>, work: F) -> ResponseStream
where
    F: FnOnce(Sender) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let work = work(tx.clone());
    tokio::spawn(async move {
        let expired = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = work => {}
            () = tx.closed() => {}
            () = expired => {
                let _ = tx.send(Err(Status::deadline_exceeded("deadline exceeded"))).await;
            }
        }
    });
    ReceiverStream::new(rx)
}

/// The deadline a `grpc-timeout` request header sets, counted from now.
///
/// A malformed value is ignored, as tonic itself does.
fn deadline(metadata: &MetadataMap) -> Option<Instant> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let timeout = grpcweb_protocol::timeout::parse(value).ok()?;
    Instant::now().checked_add(timeout)
}

/// The status a request asked the call to end with; `None` when unset or OK.
fn requested_status(status: Option<&EchoStatus>) -> Option<Status> {
    let status = status?;
    let code = Code::from_i32(status.code);
    (code != Code::Ok).then(|| Status::new(code, status.message.clone()))
}

/// A `COMPRESSABLE` payload of `size` zero bytes.
fn zero_payload(size: i32) -> Result<Payload, Status> {
    let size = usize::try_from(size)
        .map_err(|_| Status::invalid_argument(format!("negative response size {size}")))?;
    Ok(Payload {
        r#type: PayloadType::Compressable.into(),
        body: vec![0; size],
    })
}

//! `grpcweb.demo.v1.DemoService`: the backend of `cargo xtask demo` (`protos/examples/demo.proto`).
//!
//! One method per thing the demo page shows: a unary echo, a live server stream, an error
//! that carries `google.rpc` details, a call slow enough for a short deadline to expire,
//! and a client stream answered when it closes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use prost::Message as _;
use prost_types::Any;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{KeyAndValueRef, MetadataValue};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::demo_pb::demo_service_server::{DemoService, DemoServiceServer};
use crate::demo_pb::{
    CollectRequest, CollectResponse, EchoRequest, EchoResponse, FailRequest, FailResponse,
    SleepRequest, SleepResponse, Tick, TickerRequest,
};
use crate::rpc_pb::{BadRequest, ErrorInfo, bad_request::FieldViolation};

/// Most ticks one `Ticker` call may ask for.
pub const MAX_TICKS: u32 = 1000;
/// Longest pause between ticks, in milliseconds.
pub const MAX_TICK_INTERVAL_MS: u32 = 60_000;
/// Longest `Sleep`, in milliseconds.
pub const MAX_SLEEP_MS: u32 = 30_000;
/// Most bytes of words one `Collect` call may send (64 KiB), joined.
pub const MAX_COLLECT_BYTES: usize = 64 * 1024;
/// The `ErrorInfo.domain` of `Fail`'s error.
pub const ERROR_DOMAIN: &str = "demo.grpcweb.dev";
/// Response header on every `Echo` answer: the call number, so the page can show a header.
pub const CALL_NUMBER_HEADER: &str = "x-demo-call-number";

/// Ticks queued ahead of a slow client.
const TICK_BUFFER: usize = 4;

/// The stream `Ticker` returns; dropping it (the client cancelled) stops the ticking task.
pub type TickStream = ReceiverStream<Result<Tick, Status>>;

/// The demo service.
///
/// * `Echo` returns the message, the server clock, the ASCII request metadata it saw and
///   a call counter (also sent as the `x-demo-call-number` response header).
/// * `Ticker` sends `count` ticks (1 to [`MAX_TICKS`]), sleeping `interval_ms` (at most
///   [`MAX_TICK_INTERVAL_MS`]) before each; out-of-range values are `INVALID_ARGUMENT`.
/// * `Fail` always fails with `INVALID_ARGUMENT` and a `google.rpc.Status` in
///   `grpc-status-details-bin` holding a `BadRequest` (one field violation) and an
///   `ErrorInfo` (reason `DEMO_FAILURE`, domain [`ERROR_DOMAIN`]).
/// * `Sleep` sleeps `duration_ms` (at most [`MAX_SLEEP_MS`]) and says how long it slept.
/// * `Collect` reads a client stream of words and, once it closes, answers with their
///   count and the words joined by spaces; more than [`MAX_COLLECT_BYTES`] of words is
///   `RESOURCE_EXHAUSTED`.
#[derive(Debug, Default)]
pub struct DemoServiceImpl {
    echo_calls: AtomicU64,
}

/// `google.rpc.Status`: what `grpc-status-details-bin` carries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// The gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The status message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Typed details (`google.rpc.BadRequest`, `ErrorInfo`, ...).
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// The demo service, ready for tonic's `Server::add_service`.
pub fn demo_service() -> DemoServiceServer<DemoServiceImpl> {
    DemoServiceServer::new(DemoServiceImpl::default())
}

/// Serves [`DemoServiceImpl`] (native gRPC over h2c) on `listener` until `shutdown`
/// completes; browsers reach it through grpcweb-proxy. Calls in flight are drained.
///
/// # Errors
///
/// Fails when the transport fails (tonic gives up on the listener).
pub async fn serve_demo<F>(
    listener: TcpListener,
    shutdown: F,
) -> Result<(), tonic::transport::Error>
where
    F: Future<Output = ()>,
{
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(demo_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

#[tonic::async_trait]
impl DemoService for DemoServiceImpl {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let call_number = self.echo_calls.fetch_add(1, Ordering::Relaxed) + 1;
        let mut request_metadata: HashMap<String, String> = HashMap::new();
        for entry in request.metadata().iter() {
            if let KeyAndValueRef::Ascii(key, value) = entry {
                let Ok(value) = value.to_str() else { continue };
                request_metadata
                    .entry(key.as_str().to_owned())
                    .and_modify(|joined| {
                        joined.push_str(", ");
                        joined.push_str(value);
                    })
                    .or_insert_with(|| value.to_owned());
            }
        }
        let mut response = Response::new(EchoResponse {
            message: request.into_inner().message,
            server_time_unix_ms: now_unix_ms(),
            request_metadata,
            call_number,
        });
        response
            .metadata_mut()
            .insert(CALL_NUMBER_HEADER, MetadataValue::from(call_number));
        Ok(response)
    }

    type TickerStream = TickStream;

    async fn ticker(
        &self,
        request: Request<TickerRequest>,
    ) -> Result<Response<TickStream>, Status> {
        let TickerRequest { count, interval_ms } = request.into_inner();
        if !(1..=MAX_TICKS).contains(&count) {
            return Err(Status::invalid_argument(format!(
                "count must be 1 to {MAX_TICKS}, got {count}"
            )));
        }
        if interval_ms > MAX_TICK_INTERVAL_MS {
            return Err(Status::invalid_argument(format!(
                "interval_ms must be at most {MAX_TICK_INTERVAL_MS}, got {interval_ms}"
            )));
        }
        let (tx, rx) = mpsc::channel(TICK_BUFFER);
        tokio::spawn(async move {
            let interval = Duration::from_millis(u64::from(interval_ms));
            for seq in 1..=count {
                // A cancelled call drops the receiver: stop at once, not at the next send.
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = tx.closed() => return,
                }
                let tick = Tick {
                    seq,
                    server_time_unix_ms: now_unix_ms(),
                    remaining: count - seq,
                };
                if tx.send(Ok(tick)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn fail(&self, request: Request<FailRequest>) -> Result<Response<FailResponse>, Status> {
        let field = match request.into_inner().field {
            f if f.is_empty() => "email".to_owned(),
            f => f,
        };
        Err(fail_status(&field))
    }

    async fn sleep(
        &self,
        request: Request<SleepRequest>,
    ) -> Result<Response<SleepResponse>, Status> {
        let duration_ms = request.into_inner().duration_ms;
        if duration_ms > MAX_SLEEP_MS {
            return Err(Status::invalid_argument(format!(
                "duration_ms must be at most {MAX_SLEEP_MS}, got {duration_ms}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(u64::from(duration_ms))).await;
        Ok(Response::new(SleepResponse {
            slept_ms: duration_ms,
        }))
    }

    async fn collect(
        &self,
        request: Request<Streaming<CollectRequest>>,
    ) -> Result<Response<CollectResponse>, Status> {
        let mut words = request.into_inner();
        let mut count: u32 = 0;
        let mut joined = String::new();
        while let Some(CollectRequest { word }) = words.message().await? {
            if joined.len() + word.len() + 1 > MAX_COLLECT_BYTES {
                return Err(Status::resource_exhausted(format!(
                    "Collect takes at most {MAX_COLLECT_BYTES} bytes of words"
                )));
            }
            if count > 0 {
                joined.push(' ');
            }
            joined.push_str(&word);
            count = count.saturating_add(1);
        }
        Ok(Response::new(CollectResponse { count, joined }))
    }
}

/// `Fail`'s error: `INVALID_ARGUMENT` with a `BadRequest` and an `ErrorInfo` detail.
fn fail_status(field: &str) -> Status {
    let message = format!("the demo rejects every request: {field} is invalid");
    let bad_request = BadRequest {
        field_violations: vec![FieldViolation {
            field: field.to_owned(),
            description: format!("{field} is not acceptable to the demo service"),
            reason: "DEMO_INVALID_FIELD".to_owned(),
        }],
    };
    let info = ErrorInfo {
        reason: "DEMO_FAILURE".to_owned(),
        domain: ERROR_DOMAIN.to_owned(),
        metadata: HashMap::from([
            ("method".to_owned(), "Fail".to_owned()),
            ("field".to_owned(), field.to_owned()),
        ]),
    };
    let status = RpcStatus {
        code: Code::InvalidArgument as i32,
        message: message.clone(),
        details: vec![
            any("google.rpc.BadRequest", &bad_request),
            any("google.rpc.ErrorInfo", &info),
        ],
    };
    Status::with_details(
        Code::InvalidArgument,
        message,
        Bytes::from(status.encode_to_vec()),
    )
}

fn any(type_name: &str, message: &impl prost::Message) -> Any {
    Any {
        type_url: format!("type.googleapis.com/{type_name}"),
        value: message.encode_to_vec(),
    }
}

fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_details_decode_as_google_rpc_status() {
        let status = fail_status("name");
        assert_eq!(status.code(), Code::InvalidArgument);
        let decoded = RpcStatus::decode(status.details()).unwrap();
        assert_eq!(decoded.code, Code::InvalidArgument as i32);
        assert_eq!(decoded.message, status.message());
        let urls: Vec<_> = decoded
            .details
            .iter()
            .map(|d| d.type_url.as_str())
            .collect();
        assert_eq!(
            urls,
            [
                "type.googleapis.com/google.rpc.BadRequest",
                "type.googleapis.com/google.rpc.ErrorInfo"
            ]
        );
        let bad = BadRequest::decode(decoded.details[0].value.as_slice()).unwrap();
        assert_eq!(bad.field_violations[0].field, "name");
        let info = ErrorInfo::decode(decoded.details[1].value.as_slice()).unwrap();
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata["field"], "name");
    }
}

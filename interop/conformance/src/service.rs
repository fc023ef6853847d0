//! `ConformanceService`, as the suite's server docs describe it: echo what was received,
//! answer as each request's response definition says.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use prost::Message as _;
use prost_types::Any;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

use grpcweb_interop::RpcStatus;

use crate::pb::conformance_payload::RequestInfo;
use crate::pb::conformance_service_server::ConformanceService;
use crate::pb::unary_response_definition::Response as UnaryOutcome;
use crate::pb::{
    self, ConformancePayload, Header, StreamResponseDefinition, UnaryResponseDefinition,
};

const TYPE_PREFIX: &str = "type.googleapis.com/connectrpc.conformance.v1.";

/// Trailers a handler wants added to a successful response; applied by
/// [`add_response_trailers`] around the whole service.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExtraTrailers(pub(crate) HeaderMap);

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The service implementation.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConformanceServer;

#[tonic::async_trait]
impl ConformanceService for ConformanceServer {
    async fn unary(
        &self,
        request: Request<pb::UnaryRequest>,
    ) -> Result<Response<pb::UnaryResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        let info = request_info(&metadata, vec![any("UnaryRequest", &message)]);
        let payload = unary_outcome(message.response_definition, info).await?;
        Ok(payload.map(|payload| pb::UnaryResponse {
            payload: Some(payload),
        }))
    }

    async fn idempotent_unary(
        &self,
        request: Request<pb::IdempotentUnaryRequest>,
    ) -> Result<Response<pb::IdempotentUnaryResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        let info = request_info(&metadata, vec![any("IdempotentUnaryRequest", &message)]);
        let payload = unary_outcome(message.response_definition, info).await?;
        Ok(payload.map(|payload| pb::IdempotentUnaryResponse {
            payload: Some(payload),
        }))
    }

    async fn client_stream(
        &self,
        request: Request<Streaming<pb::ClientStreamRequest>>,
    ) -> Result<Response<pb::ClientStreamResponse>, Status> {
        let (metadata, _, mut stream) = request.into_parts();
        let mut requests = Vec::new();
        let mut definition = None;
        while let Some(message) = stream.message().await? {
            if requests.is_empty() {
                definition = message.response_definition.clone();
            }
            requests.push(any("ClientStreamRequest", &message));
        }
        let info = request_info(&metadata, requests);
        let payload = unary_outcome(definition, info).await?;
        Ok(payload.map(|payload| pb::ClientStreamResponse {
            payload: Some(payload),
        }))
    }

    type ServerStreamStream = ResponseStream<pb::ServerStreamResponse>;

    async fn server_stream(
        &self,
        request: Request<pb::ServerStreamRequest>,
    ) -> Result<Response<Self::ServerStreamStream>, Status> {
        let (metadata, _, message) = request.into_parts();
        let info = request_info(&metadata, vec![any("ServerStreamRequest", &message)]);
        let definition = message.response_definition.unwrap_or_default();
        let (tx, rx) = mpsc::channel(4);
        let response = stream_response(&definition, rx);
        tokio::spawn(async move {
            let sent = send_all(&tx, &definition, Some(info.clone()), |payload| {
                pb::ServerStreamResponse {
                    payload: Some(payload),
                }
            })
            .await;
            if let (Some(sent), Some(error)) = (sent, &definition.error) {
                let echo = (sent == 0).then_some(&info);
                let _ = tx
                    .send(Err(error_status(
                        error,
                        echo,
                        to_headers(&definition.response_trailers),
                    )))
                    .await;
            }
        });
        Ok(response)
    }

    type BidiStreamStream = ResponseStream<pb::BidiStreamResponse>;

    async fn bidi_stream(
        &self,
        request: Request<Streaming<pb::BidiStreamRequest>>,
    ) -> Result<Response<Self::BidiStreamStream>, Status> {
        let (metadata, _, mut stream) = request.into_parts();
        // Headers come from the first request's definition, so read it before answering.
        let Some(first) = stream.message().await? else {
            let (_tx, rx) = mpsc::channel(1);
            return Ok(stream_response(&StreamResponseDefinition::default(), rx));
        };
        let definition = first.response_definition.clone().unwrap_or_default();
        let full_duplex = first.full_duplex;
        let (tx, rx) = mpsc::channel(4);
        let response = stream_response(&definition, rx);
        tokio::spawn(async move {
            let wrap = |payload| pb::BidiStreamResponse {
                payload: Some(payload),
            };
            let mut requests = vec![any("BidiStreamRequest", &first)];
            let mut sent = 0usize;
            if full_duplex {
                // One response per request; the first echoes everything received so
                // far, later ones the request they answer.
                let mut first_turn = true;
                loop {
                    if !first_turn {
                        match stream.message().await {
                            Ok(Some(m)) => requests = vec![any("BidiStreamRequest", &m)],
                            Ok(None) => break,
                            Err(status) => {
                                let _ = tx.send(Err(status)).await;
                                return;
                            }
                        }
                    }
                    first_turn = false;
                    let Some(data) = definition.response_data.get(sent) else {
                        if let Some(error) = &definition.error {
                            let info = request_info(&metadata, std::mem::take(&mut requests));
                            let echo = (sent == 0).then_some(&info);
                            let trailers = to_headers(&definition.response_trailers);
                            let _ = tx.send(Err(error_status(error, echo, trailers))).await;
                            return;
                        }
                        continue;
                    };
                    delay(definition.response_delay_ms).await;
                    let info = request_info(&metadata, std::mem::take(&mut requests));
                    let payload = ConformancePayload {
                        data: data.clone(),
                        request_info: Some(info),
                    };
                    if tx.send(Ok(wrap(payload))).await.is_err() {
                        return;
                    }
                    sent += 1;
                }
            } else {
                loop {
                    match stream.message().await {
                        Ok(Some(m)) => requests.push(any("BidiStreamRequest", &m)),
                        Ok(None) => break,
                        Err(status) => {
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                    }
                }
                let info = request_info(&metadata, std::mem::take(&mut requests));
                match send_all(&tx, &definition, Some(info.clone()), wrap).await {
                    Some(n) => sent = n,
                    None => return,
                }
                if let Some(error) = &definition.error {
                    let echo = (sent == 0).then_some(&info);
                    let trailers = to_headers(&definition.response_trailers);
                    let _ = tx.send(Err(error_status(error, echo, trailers))).await;
                }
                return;
            }
            if let Some(error) = &definition.error {
                let info = request_info(&metadata, requests);
                let echo = (sent == 0).then_some(&info);
                let _ = tx
                    .send(Err(error_status(
                        error,
                        echo,
                        to_headers(&definition.response_trailers),
                    )))
                    .await;
            }
        });
        Ok(response)
    }

    async fn unimplemented(
        &self,
        _request: Request<pb::UnimplementedRequest>,
    ) -> Result<Response<pb::UnimplementedResponse>, Status> {
        Err(Status::unimplemented(
            "connectrpc.conformance.v1.ConformanceService.Unimplemented is not implemented",
        ))
    }
}

/// The answer to a unary or client-streaming call.
async fn unary_outcome(
    definition: Option<UnaryResponseDefinition>,
    info: RequestInfo,
) -> Result<Response<ConformancePayload>, Status> {
    let definition = definition.unwrap_or_default();
    delay(definition.response_delay_ms).await;
    let headers = to_headers(&definition.response_headers);
    let trailers = to_headers(&definition.response_trailers);
    match definition.response {
        Some(UnaryOutcome::Error(error)) => {
            // A failed unary call is trailers-only: headers and trailers travel together.
            let mut all = headers;
            append(&mut all, &trailers);
            Err(error_status(&error, Some(&info), all))
        }
        outcome => {
            let data = match outcome {
                Some(UnaryOutcome::ResponseData(data)) => data,
                _ => Vec::new(),
            };
            let mut response = Response::new(ConformancePayload {
                data,
                request_info: Some(info),
            });
            *response.metadata_mut() = MetadataMap::from_headers(headers);
            response.extensions_mut().insert(ExtraTrailers(trailers));
            Ok(response)
        }
    }
}

/// A streaming response whose headers (and, for a successful end, trailers) come from
/// `definition`.
fn stream_response<T: Send + 'static>(
    definition: &StreamResponseDefinition,
    rx: mpsc::Receiver<Result<T, Status>>,
) -> Response<ResponseStream<T>> {
    let mut response: Response<ResponseStream<T>> =
        Response::new(Box::pin(ReceiverStream::new(rx)));
    *response.metadata_mut() = MetadataMap::from_headers(to_headers(&definition.response_headers));
    if definition.error.is_none() {
        response
            .extensions_mut()
            .insert(ExtraTrailers(to_headers(&definition.response_trailers)));
    }
    response
}

/// Sends every response in `definition`, the request info in the first; `None` when the
/// client went away, else how many were sent.
async fn send_all<T>(
    tx: &mpsc::Sender<Result<T, Status>>,
    definition: &StreamResponseDefinition,
    mut info: Option<RequestInfo>,
    wrap: impl Fn(ConformancePayload) -> T,
) -> Option<usize> {
    for data in &definition.response_data {
        delay(definition.response_delay_ms).await;
        let payload = ConformancePayload {
            data: data.clone(),
            request_info: info.take(),
        };
        tx.send(Ok(wrap(payload))).await.ok()?;
    }
    Some(definition.response_data.len())
}

async fn delay(ms: u32) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
    }
}

/// What was received: every request header, the timeout, and the requests.
fn request_info(metadata: &MetadataMap, requests: Vec<Any>) -> RequestInfo {
    let headers = metadata.clone().into_headers();
    let mut out: Vec<Header> = Vec::new();
    for name in headers.keys() {
        let value = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        out.push(Header {
            name: name.as_str().to_owned(),
            value,
        });
    }
    let timeout_ms = headers
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| grpcweb_protocol::timeout::parse(v).ok())
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    RequestInfo {
        request_headers: out,
        timeout_ms,
        requests,
        connect_get_info: None,
    }
}

fn any(type_name: &str, message: &impl prost::Message) -> Any {
    Any {
        type_url: format!("{TYPE_PREFIX}{type_name}"),
        value: message.encode_to_vec(),
    }
}

fn error_status(error: &pb::Error, echo: Option<&RequestInfo>, metadata: HeaderMap) -> Status {
    let code = tonic::Code::from_i32(error.code);
    let message = error.message.clone().unwrap_or_default();
    let mut details = error.details.clone();
    if let Some(info) = echo {
        details.push(any("ConformancePayload.RequestInfo", info));
    }
    let rpc = RpcStatus {
        code: error.code,
        message: message.clone(),
        details,
    };
    Status::with_details_and_metadata(
        code,
        message,
        Bytes::from(rpc.encode_to_vec()),
        MetadataMap::from_headers(metadata),
    )
}

fn to_headers(list: &[Header]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for header in list {
        let Ok(name) = HeaderName::from_bytes(header.name.as_bytes()) else {
            continue;
        };
        for value in &header.value {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.append(name.clone(), value);
            }
        }
    }
    map
}

fn append(into: &mut HeaderMap, from: &HeaderMap) {
    for (name, value) in from {
        into.append(name.clone(), value.clone());
    }
}

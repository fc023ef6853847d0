//! tonic's client over [`GrpcWebClient`] against grpcweb-proxy + interop-server, run in
//! Node by `wasm-bindgen-test-runner`. js-tests (`runtime-tower.test.ts`) starts the
//! servers and runs this file with `GRPCWEB_PROXY_URL` set at compile time; without it
//! every test fails, saying so.
#![cfg(all(target_arch = "wasm32", feature = "tower"))]
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use grpcweb_client::request::Format;
use grpcweb_client::service::GrpcWebClient;
use http::uri::PathAndQuery;
use tonic::client::Grpc;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Status};
use tonic_prost::ProstCodec;
use wasm_bindgen_test::wasm_bindgen_test;

#[derive(Clone, PartialEq, prost::Message)]
struct Empty {}

#[derive(Clone, PartialEq, prost::Message)]
struct Payload {
    #[prost(bytes = "vec", tag = "2")]
    body: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EchoStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SimpleRequest {
    #[prost(int32, tag = "2")]
    response_size: i32,
    #[prost(message, optional, tag = "3")]
    payload: Option<Payload>,
    #[prost(message, optional, tag = "7")]
    response_status: Option<EchoStatus>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SimpleResponse {
    #[prost(message, optional, tag = "1")]
    payload: Option<Payload>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ResponseParameters {
    #[prost(int32, tag = "1")]
    size: i32,
    #[prost(int32, tag = "2")]
    interval_us: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StreamingOutputCallRequest {
    #[prost(message, repeated, tag = "2")]
    response_parameters: Vec<ResponseParameters>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StreamingOutputCallResponse {
    #[prost(message, optional, tag = "1")]
    payload: Option<Payload>,
}

const UNARY: &str = "/grpc.testing.TestService/UnaryCall";
const STREAM: &str = "/grpc.testing.TestService/StreamingOutputCall";
const UNIMPLEMENTED: &str = "/grpc.testing.TestService/UnimplementedCall";

fn grpc(format: Format) -> Grpc<GrpcWebClient> {
    // Not `env!`: the file must build (for clippy) without the variable.
    let Some(url) = option_env!("GRPCWEB_PROXY_URL") else {
        panic!("GRPCWEB_PROXY_URL is not set: js-tests runtime-tower.test.ts runs these tests");
    };
    Grpc::new(GrpcWebClient::new(url, format).unwrap())
}

async fn unary<Q, R>(
    format: Format,
    path: &'static str,
    req: Request<Q>,
) -> Result<tonic::Response<R>, Status>
where
    Q: prost::Message + Send + Sync + 'static,
    R: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = grpc(format);
    grpc.ready().await.unwrap();
    let codec = ProstCodec::<Q, R>::default();
    grpc.unary(req, PathAndQuery::from_static(path), codec)
        .await
}

async fn stream_sizes(
    format: Format,
    req: Request<StreamingOutputCallRequest>,
) -> Result<Vec<usize>, Status> {
    let mut grpc = grpc(format);
    grpc.ready().await.unwrap();
    let codec = ProstCodec::<StreamingOutputCallRequest, StreamingOutputCallResponse>::default();
    let mut stream = grpc
        .server_streaming(req, PathAndQuery::from_static(STREAM), codec)
        .await?
        .into_inner();
    let mut sizes = Vec::new();
    while let Some(m) = stream.message().await? {
        sizes.push(m.payload.map_or(0, |p| p.body.len()));
    }
    Ok(sizes)
}

async fn large_unary(format: Format) {
    let req = SimpleRequest {
        response_size: 314_159,
        payload: Some(Payload {
            body: vec![0; 271_828],
        }),
        ..Default::default()
    };
    let res: tonic::Response<SimpleResponse> =
        unary(format, UNARY, Request::new(req)).await.unwrap();
    assert_eq!(res.into_inner().payload.unwrap().body.len(), 314_159);
}

async fn server_streaming(format: Format) {
    let sizes = [31_415, 9, 2_653, 58_979];
    let req = StreamingOutputCallRequest {
        response_parameters: sizes
            .iter()
            .map(|&size| ResponseParameters {
                size,
                interval_us: 0,
            })
            .collect(),
    };
    let got = stream_sizes(format, Request::new(req)).await.unwrap();
    assert_eq!(got, sizes.map(|s| s as usize));
}

async fn status_and_metadata(format: Format) {
    let mut req = Request::new(SimpleRequest {
        response_status: Some(EchoStatus {
            code: 2,
            message: "test status message".into(),
        }),
        ..Default::default()
    });
    req.metadata_mut().insert(
        "x-grpc-test-echo-initial",
        MetadataValue::from_static("initial"),
    );
    req.metadata_mut().insert_bin(
        "x-grpc-test-echo-trailing-bin",
        MetadataValue::from_bytes(&[0xab, 0xab, 0xab]),
    );
    let err = unary::<_, SimpleResponse>(format, UNARY, req)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unknown, "test status message")
    );
    assert_eq!(
        err.metadata()
            .get_bin("x-grpc-test-echo-trailing-bin")
            .unwrap()
            .to_bytes()
            .unwrap(),
        &[0xab, 0xab, 0xab][..]
    );
    let unimplemented = unary::<_, Empty>(format, UNIMPLEMENTED, Request::new(Empty {})).await;
    assert_eq!(unimplemented.unwrap_err().code(), Code::Unimplemented);
}

async fn deadline(format: Format) {
    let mut req = Request::new(StreamingOutputCallRequest {
        response_parameters: vec![ResponseParameters {
            size: 1,
            interval_us: 5_000_000,
        }],
    });
    req.set_timeout(Duration::from_millis(100));
    let err = stream_sizes(format, req).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
}

#[wasm_bindgen_test]
async fn binary_large_unary() {
    large_unary(Format::Binary).await;
}

#[wasm_bindgen_test]
async fn text_large_unary() {
    large_unary(Format::Text).await;
}

#[wasm_bindgen_test]
async fn binary_server_streaming() {
    server_streaming(Format::Binary).await;
}

#[wasm_bindgen_test]
async fn text_server_streaming() {
    server_streaming(Format::Text).await;
}

#[wasm_bindgen_test]
async fn binary_status_and_metadata() {
    status_and_metadata(Format::Binary).await;
}

#[wasm_bindgen_test]
async fn text_status_and_metadata() {
    status_and_metadata(Format::Text).await;
}

#[wasm_bindgen_test]
async fn binary_deadline() {
    deadline(Format::Binary).await;
}

#[wasm_bindgen_test]
async fn text_deadline() {
    deadline(Format::Text).await;
}

//! Backends with `descriptors = "reflection"`: the proxy has no descriptor files and takes
//! the descriptors of JSON and REST calls from the backend's gRPC server reflection
//! (tonic-reflection here; grpc-js in js-tests), fetched at start, again when a call names
//! a method it does not know, and never at the cost of calls it can already make.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::json_calls::descriptor_set;
use crate::rest_calls::{json_of, send};
use crate::support::{self, Running};

use grpcweb_interop::Reflection;
use grpcweb_proxy::{Config, ReflectionConfig};
use grpcweb_test_support::{
    Code, FakeBackend, HttpVersion, RecordedRequest, Reply, WebClient, WebResponse,
};
use http::Method;
use prost::Message as _;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const GET_SHELF: &str = "/grpcweb.transcoding.v1.EchoService/GetShelf";
const UNARY: &str = "/grpc.testing.TestService/UnaryCall";

/// The transcoding tests' echo server with `reflection`, on `addr` (port 0: a free one).
async fn echo_server(addr: SocketAddr, reflection: Reflection) -> Running {
    let listener = TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        grpcweb_interop::serve_transcoding_with(listener, reflection, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running::new(addr, stop, task)
}

/// The interop `TestService`, with v1 reflection over grpc/testing/test.proto only.
async fn test_service_server() -> Running {
    let set = protox::Compiler::new([concat!(env!("CARGO_MANIFEST_DIR"), "/../protos")])
        .unwrap()
        .include_imports(true)
        .open_files(["grpc/testing/test.proto"])
        .unwrap()
        .encode_file_descriptor_set();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(&set)
        .build_v1()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tonic::transport::Server::builder()
            .add_service(grpcweb_interop::test_service())
            .add_service(reflection)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running::new(addr, stop, task)
}

fn reflecting(config: &mut Config, reflection: ReflectionConfig) {
    config.backends[0].reflection = Some(reflection);
}

async fn json_call(proxy: &Running, path: &str, message: &str) -> WebResponse {
    WebClient::new(HttpVersion::H1)
        .call(proxy.addr, path)
        .content_type("application/grpc-web+json")
        .message(message)
        .send()
        .await
        .unwrap()
}

fn json_message(res: &WebResponse) -> Value {
    let messages = res.message_payloads();
    assert_eq!(messages.len(), 1, "{:?}", res.status());
    serde_json::from_slice(&messages[0]).unwrap()
}

/// A gRPC-Web+json call and a REST call to the echo server's `GetShelf`, both answered.
async fn assert_echo_calls_work(proxy: &Running) {
    let res = json_call(proxy, GET_SHELF, r#"{"id": "7", "label": "x"}"#).await;
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    assert_eq!(
        json_message(&res)["request"],
        json!({"id": "7", "label": "x"})
    );
    let res = send(proxy, Method::GET, "/v1/shelves/7?label=x", "").await;
    assert_eq!(res.status, 200, "{:?}", res.raw_body);
    assert_eq!(json_of(&res)["request"], json!({"id": "7", "label": "x"}));
}

#[tokio::test]
async fn json_and_rest_calls_use_descriptors_from_tonic_reflection() {
    let backend = echo_server(([127, 0, 0, 1], 0).into(), Reflection::Both).await;
    let proxy = support::proxy(&backend.url(), |c| {
        reflecting(c, ReflectionConfig::default());
    })
    .await;
    assert_echo_calls_work(&proxy).await;
    // A method the backend's descriptors do not have: descriptors missing, at once
    // (the last fetch is within refetch_interval).
    let res = json_call(&proxy, "/grpcweb.transcoding.v1.EchoService/Nope", "{}").await;
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented));
}

#[tokio::test]
async fn a_backend_with_only_v1alpha_reflection_is_read_with_v1alpha() {
    let backend = echo_server(([127, 0, 0, 1], 0).into(), Reflection::V1alpha).await;
    let proxy = support::proxy(&backend.url(), |c| {
        reflecting(c, ReflectionConfig::default());
    })
    .await;
    assert_echo_calls_work(&proxy).await;
}

#[tokio::test]
async fn a_redeployed_backend_s_new_methods_are_fetched_on_the_first_call() {
    let first = test_service_server().await;
    let addr = first.addr;
    let proxy = support::proxy(&first.url(), |c| {
        reflecting(
            c,
            ReflectionConfig {
                refetch_interval: Duration::ZERO,
                ..ReflectionConfig::default()
            },
        );
    })
    .await;
    let res = json_call(&proxy, UNARY, r#"{"responseSize": 2}"#).await;
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    assert_eq!(json_message(&res)["payload"]["body"], json!("AAA="));
    let res = json_call(&proxy, GET_SHELF, r#"{"id": "7"}"#).await;
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented));
    assert!(
        res.grpc_message()
            .unwrap_or_default()
            .contains("descriptor"),
        "{:?}",
        res.status()
    );

    // The new deploy, on the same address, has EchoService (and its HTTP rules).
    first.stop().await;
    let _second = echo_server(addr, Reflection::Both).await;
    assert_echo_calls_work(&proxy).await;
}

#[tokio::test]
async fn answers_over_the_byte_budget_are_refused() {
    let backend = echo_server(([127, 0, 0, 1], 0).into(), Reflection::Both).await;
    let proxy = support::proxy(&backend.url(), |c| {
        reflecting(
            c,
            ReflectionConfig {
                max_bytes: 200,
                ..ReflectionConfig::default()
            },
        );
    })
    .await;
    let res = json_call(&proxy, GET_SHELF, r#"{"id": "7"}"#).await;
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented));
}

/// The fake backend's answer: reflection never answers; `UnaryCall` does.
fn hanging_reflection(req: &RecordedRequest) -> Reply {
    if req.path().starts_with("/grpc.reflection.") {
        return Reply::hang();
    }
    let response = grpcweb_interop::pb::SimpleResponse::default();
    Reply::ok(vec![response.encode_to_vec().into()])
}

#[tokio::test]
async fn reflection_that_never_answers_blocks_neither_start_nor_known_methods() {
    let backend = FakeBackend::start(hanging_reflection).await.unwrap();
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let proxy = support::proxy(&backend.url(), |c| {
        // The methods it knows come from a file.
        c.descriptor_sets = vec![descriptor_set(&["grpc/testing/test.proto"])];
        reflecting(
            c,
            ReflectionConfig {
                timeout,
                ..ReflectionConfig::default()
            },
        );
    })
    .await;
    let res = json_call(&proxy, UNARY, "{}").await;
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
    // A method it does not know waits for the fetch under way, up to its timeout.
    let res = json_call(&proxy, GET_SHELF, "{}").await;
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented));
    assert!(started.elapsed() < timeout * 3, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_backend_that_is_down_at_start_is_fetched_once_it_is_up() {
    // A free port, nothing listening yet.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let started = Instant::now();
    let proxy = support::proxy(&format!("http://{addr}"), |c| {
        reflecting(c, ReflectionConfig::default());
    })
    .await;
    // Meanwhile: descriptors missing (the last fetch is within refetch_interval).
    let res = json_call(&proxy, GET_SHELF, r#"{"id": "7"}"#).await;
    assert_eq!(res.grpc_status(), Some(Code::Unimplemented));
    assert!(started.elapsed() < Duration::from_secs(5));
    let _backend = echo_server(addr, Reflection::Both).await;
    // The start fetch is retried in the background (1 s, then 2 s, ...).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = json_call(&proxy, GET_SHELF, r#"{"id": "7"}"#).await;
        if res.grpc_status() == Some(Code::Ok) {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", res.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_echo_calls_work(&proxy).await;
}

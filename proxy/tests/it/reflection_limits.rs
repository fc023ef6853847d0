//! How often a reflection backend is asked: calls naming unknown methods start at most
//! one fetch per `refetch_interval`, and calls that miss while a fetch runs share it.
//! The backend is a scripted one whose reflection lists no service.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support::{self, Running};

use grpcweb_proxy::ReflectionConfig;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, RecordedRequest, Reply, WebClient};
use prost::Message as _;
use std::time::Duration;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ListServiceResponse, ServerReflectionResponse};

const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";

/// An empty service list, `delay` after the request.
fn no_services(delay: Duration) -> impl Fn(&RecordedRequest) -> Reply {
    move |_| {
        let answer = ServerReflectionResponse {
            message_response: Some(MessageResponse::ListServicesResponse(ListServiceResponse {
                service: vec![],
            })),
            ..ServerReflectionResponse::default()
        };
        Reply::ok(vec![answer.encode_to_vec().into()]).with_interval(delay)
    }
}

fn fetches(backend: &FakeBackend) -> usize {
    backend
        .requests()
        .iter()
        .filter(|r| r.path() == REFLECTION)
        .count()
}

/// `n` JSON calls to unknown methods at once; each gets UNIMPLEMENTED.
async fn misses(proxy: &Running, n: usize) {
    let calls = (0..n).map(|i| async move {
        WebClient::new(HttpVersion::H2)
            .call(proxy.addr, &format!("/acme.v1.Later/Method{i}"))
            .content_type("application/grpc-web+json")
            .message("{}")
            .send()
            .await
            .unwrap()
    });
    for res in futures_util::future::join_all(calls).await {
        assert_eq!(res.grpc_status(), Some(Code::Unimplemented));
    }
}

async fn setup(delay: Duration, refetch_interval: Duration) -> (FakeBackend, Running) {
    let backend = FakeBackend::start(no_services(delay)).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.backends[0].reflection = Some(ReflectionConfig {
            refetch_interval,
            ..ReflectionConfig::default()
        });
    })
    .await;
    // The fetch at start.
    backend.wait_for_requests(1).await;
    (backend, proxy)
}

#[tokio::test]
async fn misses_within_the_refetch_interval_do_not_fetch() {
    let (backend, proxy) = setup(Duration::ZERO, Duration::from_secs(3600)).await;
    misses(&proxy, 20).await;
    assert_eq!(fetches(&backend), 1);
}

#[tokio::test]
async fn concurrent_misses_share_one_fetch() {
    let (backend, proxy) = setup(Duration::from_millis(500), Duration::ZERO).await;
    // Let the fetch at start end.
    tokio::time::sleep(Duration::from_millis(700)).await;
    misses(&proxy, 20).await;
    assert_eq!(fetches(&backend), 2);
}

//! How often a reflection backend is asked: calls naming unknown methods start at most
//! one fetch per `refetch_interval`, and calls that miss while a fetch runs share it.
//! And what a hostile reflection service cannot do. The backends are scripted ones.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support::reflection::{self, REFLECTION};
use crate::support::{self, Running};

use grpcweb_proxy::ReflectionConfig;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, RecordedRequest, Reply, WebClient};
use prost::Message as _;
use std::time::Duration;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{
    ListServiceResponse, ServerReflectionRequest, ServerReflectionResponse,
};

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

/// A reflection service that lists `x.v1.S` and answers file requests with `file`.
fn serving_file(file: Vec<u8>) -> impl Fn(&RecordedRequest) -> Reply {
    move |req| reflection::answers(req, "x.v1.S", std::slice::from_ref(&file))
}

/// `x.proto`: service `x.v1.S` with `rpc M(google.protobuf.Empty) returns (Empty)`,
/// importing `dependency`.
fn service_file(dependency: &str) -> prost_types::FileDescriptorProto {
    prost_types::FileDescriptorProto {
        name: Some("x.proto".to_owned()),
        package: Some("x.v1".to_owned()),
        dependency: vec![dependency.to_owned()],
        service: vec![prost_types::ServiceDescriptorProto {
            name: Some("S".to_owned()),
            method: vec![prost_types::MethodDescriptorProto {
                name: Some("M".to_owned()),
                input_type: Some(".google.protobuf.Empty".to_owned()),
                output_type: Some(".google.protobuf.Empty".to_owned()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn call_m(proxy: &Running) -> Option<Code> {
    WebClient::new(HttpVersion::H1)
        .call(proxy.addr, "/x.v1.S/M")
        .content_type("application/grpc-web+json")
        .message("{}")
        .send()
        .await
        .unwrap()
        .grpc_status()
}

#[tokio::test]
async fn malformed_files_and_missing_imports_change_nothing() {
    // The script itself works: a good file makes x.v1.S/M callable (the backend answers
    // it with bytes that read as an Empty).
    let good = service_file("google/protobuf/empty.proto").encode_to_vec();
    let backend = FakeBackend::start(serving_file(good)).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.backends[0].reflection = Some(ReflectionConfig::default());
    })
    .await;
    assert_eq!(call_m(&proxy).await, Some(Code::Ok));

    let with_missing_import = service_file("not/served.proto");
    for file in [
        b"\xff\xff\xff not a file descriptor".to_vec(),
        with_missing_import.encode_to_vec(),
    ] {
        let backend = FakeBackend::start(serving_file(file)).await.unwrap();
        let proxy = support::proxy(&backend.url(), |c| {
            c.backends[0].reflection = Some(ReflectionConfig::default());
        })
        .await;
        assert_eq!(call_m(&proxy).await, Some(Code::Unimplemented));
        misses(&proxy, 2).await;
        assert!(fetches(&backend) >= 1);
    }
}

/// A call that starts a fetch and goes away (its client disconnects) does not cancel the
/// fetch: the calls after it get what it brings.
#[tokio::test]
async fn a_caller_going_away_does_not_cancel_the_fetch() {
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let later = serving_file(service_file("google/protobuf/empty.proto").encode_to_vec());
    let backend = FakeBackend::start(move |req: &RecordedRequest| {
        if req.path() == REFLECTION && asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
        {
            // The fetch at start: nothing yet.
            return no_services(Duration::ZERO)(req);
        }
        later(req)
    })
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.backends[0].reflection = Some(ReflectionConfig {
            refetch_interval: Duration::from_secs(1),
            ..ReflectionConfig::default()
        });
    })
    .await;
    backend.wait_for_requests(1).await;
    // At least the refetch interval after the fetch at start.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Over HTTP/2, so that the client going away resets the stream and the proxy drops
    // the call.
    let call = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, "/x.v1.S/M")
        .content_type("application/grpc-web+json")
        .message("{}")
        .send();
    let call = tokio::spawn(call);
    // The fetch it started has asked for the service list; the test's runtime has one
    // thread, so nothing runs between here and the abort.
    backend.wait_for_requests(2).await;
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    // Within the refetch interval of the fetch the first call started: this one may only
    // wait for that fetch.
    assert_eq!(call_m(&proxy).await, Some(Code::Ok));
}

/// Calls that miss while a fetch runs share it. No sleep: the first call after start
/// waits for the fetch at start (or finds its method), and the shared fetch never gets
/// an answer (it ends at its 2 s timeout), far longer than 20 calls take to arrive.
#[tokio::test]
async fn concurrent_misses_share_one_fetch() {
    let listed = std::sync::atomic::AtomicBool::new(false);
    let files = serving_file(service_file("google/protobuf/empty.proto").encode_to_vec());
    let backend = FakeBackend::start(move |req: &RecordedRequest| {
        let list = req.messages().unwrap().into_iter().any(|m| {
            matches!(
                ServerReflectionRequest::decode(m).unwrap().message_request,
                Some(MessageRequest::ListServices(_))
            )
        });
        if list && listed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Reply::hang();
        }
        files(req)
    })
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.backends[0].reflection = Some(ReflectionConfig {
            refetch_interval: Duration::ZERO,
            timeout: Duration::from_secs(2),
            ..ReflectionConfig::default()
        });
    })
    .await;
    assert_eq!(call_m(&proxy).await, Some(Code::Ok));
    // The fetch at start: the service list, its file and the file's import.
    assert_eq!(fetches(&backend), 3);
    misses(&proxy, 20).await;
    assert_eq!(fetches(&backend), 4);
}

//! REST calls through the proxy: HTTP requests bound by the `google.api.http` rules of
//! protos/transcoding/v1/echo.proto become gRPC calls to the tonic `EchoService`, which
//! answers with the request it got; its answers and statuses come back as JSON.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::json_calls::descriptor_set;
use crate::support::{self, Running};

use bytes::Bytes;
use grpcweb_proxy::Config;
use grpcweb_test_support::{FakeBackend, HttpVersion, Reply, WebClient, WebResponse};
use http::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const ECHO_PROTO: &str = "transcoding/v1/echo.proto";

/// The transcoding tests' tonic server.
pub(crate) async fn echo_server() -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        grpcweb_interop::serve_transcoding(listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running::new(addr, stop, task)
}

pub(crate) fn with_echo_descriptors(config: &mut Config) {
    config.descriptor_sets = vec![descriptor_set(&[ECHO_PROTO])];
}

/// The proxy in front of the echo server.
pub(crate) async fn setup() -> (Running, Running) {
    let backend = echo_server().await;
    let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
    (backend, proxy)
}

pub(crate) async fn send(proxy: &Running, method: Method, path: &str, body: &str) -> WebResponse {
    WebClient::new(HttpVersion::H1)
        .call(proxy.addr, path)
        .method(method)
        .content_type("application/json")
        .raw_body(Bytes::from(body.to_owned()))
        .send()
        .await
        .unwrap()
}

pub(crate) fn json_of(res: &WebResponse) -> Value {
    serde_json::from_slice(&res.raw_body)
        .unwrap_or_else(|e| panic!("{e}: {:?} {:?}", res.status, res.raw_body))
}

/// The request the backend got, as JSON.
async fn echoed(proxy: &Running, method: Method, path: &str, body: &str) -> Value {
    let res = send(proxy, method, path, body).await;
    assert_eq!(res.status, 200, "{path}: {:?}", res.raw_body);
    assert_eq!(res.content_type(), Some("application/json"));
    json_of(&res)["request"].clone()
}

#[tokio::test]
async fn get_binds_the_path_and_the_query() {
    let (_backend, proxy) = setup().await;
    let got = echoed(
        &proxy,
        Method::GET,
        "/v1/shelves/7?label=x%20y&nested.name=n&nested.tags=a&nested.tags=b&numbers=1&numbers=2\
         &kinds=KIND_BOOK&kinds=2&kind=KIND_MAGAZINE&flag=true&ratio=1.5&data=AAE%3D\
         &at=2020-01-01T00:00:00Z&limit=5&text=t",
        "",
    )
    .await;
    assert_eq!(
        got,
        json!({
            "id": "7",
            "label": "x y",
            "nested": {"name": "n", "tags": ["a", "b"]},
            "numbers": [1, 2],
            "kinds": ["KIND_BOOK", "KIND_MAGAZINE"],
            "kind": "KIND_MAGAZINE",
            "flag": true,
            "ratio": 1.5,
            "data": "AAE=",
            "at": "2020-01-01T00:00:00Z",
            "limit": 5,
            "text": "t",
        })
    );
}

#[tokio::test]
async fn additional_bindings_multi_segment_and_nested_variables() {
    let (_backend, proxy) = setup().await;
    let got = echoed(&proxy, Method::GET, "/v1/shelves/s%201/labels/red", "").await;
    assert_eq!(got, json!({"name": "shelves/s 1", "label": "red"}));
    let got = echoed(&proxy, Method::GET, "/v1/nested/abc/3", "").await;
    assert_eq!(got, json!({"nested": {"name": "abc", "count": 3}}));
    let got = echoed(&proxy, Method::GET, "/v1/files/a/b%2Fc/d.txt", "").await;
    assert_eq!(got, json!({"path": "a/b%2Fc/d.txt"}));
}

#[tokio::test]
async fn bodies_bind_one_field_or_every_field() {
    let (_backend, proxy) = setup().await;
    let got = echoed(
        &proxy,
        Method::POST,
        "/v1/shelves?label=q",
        r#"{"name": "s", "theme": "t", "books": "12"}"#,
    )
    .await;
    assert_eq!(
        got,
        json!({"label": "q", "shelf": {"name": "s", "theme": "t", "books": "12"}})
    );
    let got = echoed(
        &proxy,
        Method::PUT,
        "/v1/shelves/9",
        r#"{"label": "l", "shelf": {"name": "n"}, "labels": {"k": "v"}}"#,
    )
    .await;
    assert_eq!(
        got,
        json!({"id": "9", "label": "l", "shelf": {"name": "n"}, "labels": {"k": "v"}})
    );
    // A custom verb, and `body: "*"` with no body at all.
    let got = echoed(&proxy, Method::POST, "/v1/shelves/9:archive", "").await;
    assert_eq!(got, json!({"id": "9"}));
}

#[tokio::test]
async fn response_body_answers_one_field() {
    let (_backend, proxy) = setup().await;
    let res = send(&proxy, Method::PATCH, "/v1/shelves/9", r#"{"name": "n"}"#).await;
    assert_eq!(res.status, 200);
    assert_eq!(json_of(&res), json!({"name": "n"}));
    let res = send(
        &proxy,
        Method::DELETE,
        "/v1/shelves/9?numbers=1&numbers=2",
        "",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(json_of(&res), json!([1, 2]));
    // A field at its default value is still answered.
    let res = send(&proxy, Method::DELETE, "/v1/shelves/9", "").await;
    assert_eq!(json_of(&res), json!([]));
}

#[tokio::test]
async fn custom_http_methods_bind() {
    let (_backend, proxy) = setup().await;
    let method = Method::from_bytes(b"SEARCH").unwrap();
    let got = echoed(&proxy, method, "/v1/shelves?label=x", "").await;
    assert_eq!(got, json!({"label": "x"}));
}

#[tokio::test]
async fn grpc_statuses_become_http_statuses_with_a_json_status() {
    let (_backend, proxy) = setup().await;
    for (code, http) in [
        (5, 404),
        (3, 400),
        (16, 401),
        (7, 403),
        (14, 503),
        (8, 429),
        (13, 500),
        (12, 501),
        (4, 504),
        (6, 409),
    ] {
        let res = send(
            &proxy,
            Method::GET,
            &format!("/v1/fail/{code}?message=gone%21"),
            "",
        )
        .await;
        assert_eq!(res.status, http, "code {code}");
        assert_eq!(res.content_type(), Some("application/json"));
        assert_eq!(
            json_of(&res),
            json!({"code": code, "message": "gone!", "details": []}),
            "code {code}"
        );
    }
}

#[tokio::test]
async fn requests_no_binding_takes_get_404() {
    let (_backend, proxy) = setup().await;
    let res = send(&proxy, Method::GET, "/v2/nothing", "").await;
    assert_eq!(res.status, 404);
    assert_eq!(json_of(&res)["code"], 5);
    let res = send(&proxy, Method::POST, "/v1/shelves/1", "").await;
    assert_eq!(res.status, 404, "no POST binding for that path");
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field_and_never_reaches_the_backend() {
    let backend = FakeBackend::start(Reply::ok(vec![Bytes::new()]))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
    let cases = [
        (Method::GET, "/v1/shelves/abc", "", "id"),
        (Method::GET, "/v1/shelves/1?nope=1", "", "nope"),
        (Method::GET, "/v1/shelves/1?flag=maybe", "", "flag"),
        (Method::GET, "/v1/shelves/1?kind=KIND_NONE", "", "kind"),
        (Method::GET, "/v1/shelves/1?nested=x", "", "nested"),
        (Method::GET, "/v1/shelves/%ff", "", "id"),
        (Method::POST, "/v1/shelves", r#"{"name": 5}"#, "shelf.name"),
        (Method::POST, "/v1/shelves", r#"{"name": "#, "invalid JSON"),
        (Method::POST, "/v1/shelves", r#"{"nope": 1}"#, "nope"),
        // The body is the shelf: it cannot reach the request's other fields.
        (
            Method::POST,
            "/v1/shelves",
            r#"{"name": "a"}, "label": "evil""#,
            "invalid JSON",
        ),
        (Method::PUT, "/v1/shelves/1?label=x", "{}", "label"),
        (
            Method::PUT,
            "/v1/shelves/1",
            r#"{"numbers": ["x"]}"#,
            "numbers",
        ),
    ];
    for (method, path, body, named) in cases {
        let res = send(&proxy, method.clone(), path, body).await;
        assert_eq!(
            res.status, 400,
            "{method} {path} {body}: {:?}",
            res.raw_body
        );
        let status = json_of(&res);
        assert_eq!(status["code"], 3);
        let message = status["message"].as_str().unwrap();
        assert!(message.contains(named), "{method} {path} {body}: {message}");
    }
    assert!(backend.requests().is_empty(), "nothing reached the backend");
}

#[tokio::test]
async fn grpc_and_json_calls_still_work_next_to_rest() {
    let (_backend, proxy) = setup().await;
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, "/grpcweb.transcoding.v1.EchoService/Plain")
        .content_type("application/grpc-web+json")
        .message(r#"{"label": "direct"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(grpcweb_test_support::Code::Ok));
    let message: Value = serde_json::from_slice(&res.message_payloads()[0]).unwrap();
    assert_eq!(message["request"], json!({"label": "direct"}));
}

#[tokio::test]
async fn the_request_body_limit_holds() {
    let (_backend, proxy) = support::proxy_pair(echo_server().await, |c| {
        with_echo_descriptors(c);
        c.limits.max_message_size = 64;
    })
    .await;
    let body = format!(r#"{{"name": "{}"}}"#, "x".repeat(100));
    let res = send(&proxy, Method::POST, "/v1/shelves", &body).await;
    assert_eq!(res.status, 429);
    assert_eq!(json_of(&res)["code"], 8);
}

#[tokio::test]
async fn bad_http_rules_are_refused_at_start_naming_the_method() {
    let dir = std::env::temp_dir().join(format!("grpcweb-rest-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.proto"),
        r#"syntax = "proto3";
package bad;
import "google/api/annotations.proto";
message M { string id = 1; }
service S {
  rpc Get(M) returns (M) { option (google.api.http) = { get: "/v1/{missing}" }; }
}
"#,
    )
    .unwrap();
    let protos = concat!(env!("CARGO_MANIFEST_DIR"), "/../protos");
    let set = protox::Compiler::new([dir.to_str().unwrap(), protos])
        .unwrap()
        .include_imports(true)
        .open_files(["bad.proto"])
        .unwrap()
        .encode_file_descriptor_set();
    let path = dir.join("bad.binpb");
    std::fs::write(&path, set).unwrap();
    let mut config = Config::with_backend("http://127.0.0.1:1");
    config.descriptor_sets = vec![path];
    let err = config.validate().unwrap_err();
    assert_eq!(err.key(), "descriptor_sets");
    let message = err.to_string();
    assert!(
        message.contains("bad.S.Get") && message.contains("missing"),
        "{message}"
    );
}

#[tokio::test]
async fn rest_json_and_binary_calls_give_the_same_answer() {
    use grpcweb_interop::transcoding_pb::{EchoRequest, EchoResponse};
    let (_backend, proxy) = setup().await;
    let without_metadata = |mut v: Value| {
        v.as_object_mut().unwrap().remove("metadata");
        v
    };
    let res = send(
        &proxy,
        Method::GET,
        "/v1/shelves/7?label=x&kinds=KIND_BOOK",
        "",
    )
    .await;
    let rest = without_metadata(json_of(&res));
    let client = WebClient::new(HttpVersion::H1);
    let res = client
        .call(proxy.addr, "/grpcweb.transcoding.v1.EchoService/GetShelf")
        .content_type("application/grpc-web+json")
        .message(r#"{"id": "7", "label": "x", "kinds": ["KIND_BOOK"]}"#)
        .send()
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&res.message_payloads()[0]).unwrap();
    assert_eq!(rest, without_metadata(json));
    let res = client
        .call(proxy.addr, "/grpcweb.transcoding.v1.EchoService/GetShelf")
        .message_proto(&EchoRequest {
            id: 7,
            label: "x".to_owned(),
            kinds: vec![1],
            ..EchoRequest::default()
        })
        .send()
        .await
        .unwrap();
    let binary = res.decode_messages::<EchoResponse>().unwrap().remove(0);
    let request = binary.request.unwrap();
    assert_eq!(rest["request"]["id"], request.id.to_string());
    assert_eq!(rest["request"]["label"], request.label);
    assert_eq!(rest["request"]["kinds"], json!(["KIND_BOOK"]));
    assert_eq!(request.kinds, [1]);
}

/// A binding without `body` does not read the request body (docs/transcoding.md): a GET
/// with a body over `max_message_size` is answered as if it had none.
#[tokio::test]
async fn a_body_on_a_binding_without_one_is_not_read() {
    let (_backend, proxy) = setup().await;
    let body = "x".repeat(5 << 20);
    let res = send(&proxy, Method::GET, "/v1/shelves", &body).await;
    assert_eq!(
        res.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&res.raw_body)
    );
}

/// REST bodies count in `max_buffered_request_bytes` like gRPC-Web bodies: two bodies
/// held open at 60 KiB each leave no room for a third of 64 KiB, which gets 429 at once
/// (not a wait).
#[tokio::test]
async fn rest_bodies_count_in_the_request_buffer_budget() {
    let backend = echo_server().await;
    let proxy = support::proxy(&backend.url(), |c| {
        with_echo_descriptors(c);
        c.limits.max_message_size = 64 * 1024;
        c.limits.max_buffered_request_bytes = Some(128 * 1024);
        c.limits.body_read_timeout = std::time::Duration::from_secs(2);
    })
    .await;
    let part = Bytes::from(format!("{{\"name\": \"{}", "x".repeat(60 * 1024)));
    let held: Vec<_> = (0..2)
        .map(|_| {
            let call = WebClient::new(HttpVersion::H1)
                .call(proxy.addr, "/v1/shelves/1")
                .method(Method::PUT)
                .content_type("application/json")
                .raw_body(part.clone())
                .keep_body_open()
                .timeout(std::time::Duration::from_secs(10));
            tokio::spawn(call.send())
        })
        .collect();
    let whole = format!("{{\"name\": \"{}\"}}", "y".repeat(63 * 1024));
    // Whichever body's bytes come last goes over the budget: the third call's, or one of
    // the two held ones' when the third came first (on a loaded machine).
    let mut refused = Vec::new();
    for _ in 0..50 {
        let res = send(&proxy, Method::PUT, "/v1/shelves/1", &whole).await;
        if res.status == 429 {
            refused.push(res);
            break;
        }
        assert_eq!(
            res.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&res.raw_body)
        );
        if held.iter().any(tokio::task::JoinHandle::is_finished) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for call in held {
        if let Ok(Ok(res)) = call.await
            && res.status == 429
        {
            refused.push(res);
        }
    }
    assert!(!refused.is_empty(), "no call was refused over the budget");
    for res in &refused {
        assert!(
            String::from_utf8_lossy(&res.raw_body).contains("buffered request bytes"),
            "{:?}",
            res.raw_body
        );
    }
}

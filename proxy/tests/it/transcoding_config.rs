//! The `[transcoding]` table: JSON options, REST request headers as metadata, and HTTP
//! rules from the config file.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::json_calls::descriptor_set;
use crate::support;

use bytes::Bytes;
use grpcweb_proxy::Config;
use grpcweb_test_support::{Code, HttpVersion, WebClient};
use http::Method;
use serde_json::{Value, json};

fn echo_config(toml_tail: &str) -> Config {
    let set = descriptor_set(&["transcoding/v1/echo.proto", "grpc/testing/test.proto"]);
    let mut config = Config::from_toml(&format!(
        "descriptor_sets = [{:?}]\nlisten = \"127.0.0.1:0\"\n\n[[backends]]\nname = \"b\"\nendpoints = [\"http://127.0.0.1:1\"]\nhealth_check_interval = \"off\"\n\n{toml_tail}",
        set.display().to_string()
    ))
    .unwrap();
    config.validate().unwrap();
    config.backends.clear();
    config
}

async fn start(config: Config, backend: &str) -> support::Running {
    let mut config = config;
    let mut b = grpcweb_proxy::BackendConfig::new("b", backend);
    b.health_check_interval = None;
    config.backends.push(b);
    support::start_proxy(config).await
}

async fn rest(
    proxy: &support::Running,
    method: Method,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut call = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, path)
        .method(method)
        .content_type("application/json")
        .raw_body(Bytes::from(body.to_owned()));
    for (name, value) in headers {
        call = call.header(name, value);
    }
    let res = call.send().await.unwrap();
    let json = serde_json::from_slice(&res.raw_body).unwrap_or(Value::Null);
    (res.status.as_u16(), json)
}

async fn echo_backend() -> support::Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        grpcweb_interop::serve_transcoding(listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    support::Running::new(addr, stop, task)
}

#[tokio::test]
async fn json_print_options_apply_to_json_calls() {
    let backend = support::interop_server(false).await;
    let config = echo_config(
        "[transcoding]\nalways_print_primitive_fields = true\npreserve_proto_field_names = true\nenums_as_ints = true\n",
    );
    let proxy = start(config, &backend.url()).await;
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, "/grpc.testing.TestService/UnaryCall")
        .content_type("application/grpc-web+json")
        .message(r#"{"response_size": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok), "{:?}", res.status());
    let message: Value = serde_json::from_slice(&res.message_payloads()[0]).unwrap();
    assert_eq!(message["payload"], json!({"type": 0, "body": "AA=="}));
    assert_eq!(message["oauth_scope"], "", "{message}");
    assert_eq!(message["username"], "");
}

#[tokio::test]
async fn ignore_unknown_fields_skips_unknown_query_parameters_and_body_fields() {
    let backend = echo_backend().await;
    let proxy = start(
        echo_config("[transcoding]\nignore_unknown_fields = true\n"),
        &backend.url(),
    )
    .await;
    let (status, json) = rest(&proxy, Method::GET, "/v1/shelves/1?nope=1&label=a", "", &[]).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["request"], json!({"id": "1", "label": "a"}));
    let (status, json) = rest(
        &proxy,
        Method::PUT,
        "/v1/shelves/1",
        r#"{"nope": 1, "label": "b"}"#,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["request"], json!({"id": "1", "label": "b"}));
}

#[tokio::test]
async fn rest_calls_send_only_the_allowed_headers() {
    let backend = echo_backend().await;
    let proxy = start(
        echo_config("[transcoding]\nrest_headers = [\"Authorization\", \"x-request-id\"]\n"),
        &backend.url(),
    )
    .await;
    let (status, json) = rest(
        &proxy,
        Method::GET,
        "/v1/shelves/1",
        "",
        &[
            ("authorization", "Bearer t"),
            ("x-request-id", "r1"),
            ("x-other", "no"),
            ("cookie", "c=1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let metadata = &json["metadata"];
    assert_eq!(metadata["authorization"], "Bearer t");
    assert_eq!(metadata["x-request-id"], "r1");
    assert_eq!(metadata["x-other"], Value::Null);
    assert_eq!(metadata["cookie"], Value::Null);
    assert_eq!(metadata["content-type"], "application/grpc+proto");
}

#[tokio::test]
async fn config_rules_bind_methods_and_replace_their_annotations() {
    let backend = echo_backend().await;
    let proxy = start(
        echo_config(
            r#"
[[transcoding.rules]]
selector = "grpcweb.transcoding.v1.EchoService.Plain"
post = "/v2/plain/{label}"
body = "*"

[[transcoding.rules]]
selector = "grpcweb.transcoding.v1.EchoService.GetShelf"
get = "/v3/shelf/{id}"
response_body = "request"

[[transcoding.rules]]
selector = "grpcweb.transcoding.v1.EchoService.GetShelf"
custom = { kind = "LOOKUP", path = "/v3/shelf/{id}" }
"#,
        ),
        &backend.url(),
    )
    .await;
    let (status, json) = rest(
        &proxy,
        Method::POST,
        "/v2/plain/abc",
        r#"{"name": "n"}"#,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["request"], json!({"label": "abc", "name": "n"}));
    let (status, json) = rest(&proxy, Method::GET, "/v3/shelf/7", "", &[]).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"id": "7"}));
    let lookup = Method::from_bytes(b"LOOKUP").unwrap();
    let (status, json) = rest(&proxy, lookup, "/v3/shelf/8", "", &[]).await;
    assert_eq!(status, 200, "{json}");
    let (status, _) = rest(&proxy, Method::GET, "/v1/shelves/7", "", &[]).await;
    assert_eq!(status, 404, "the annotation is replaced");
    // Other annotated methods keep theirs.
    let (status, _) = rest(&proxy, Method::GET, "/v1/files/a", "", &[]).await;
    assert_eq!(status, 200);
}

#[test]
fn bad_transcoding_keys_are_refused_naming_them() {
    let set = descriptor_set(&["transcoding/v1/echo.proto"]);
    let check = |tail: &str| {
        Config::from_toml(&format!(
            "descriptor_sets = [{:?}]\n[[backends]]\nname = \"b\"\nendpoints = [\"http://127.0.0.1:1\"]\n{tail}",
            set.display().to_string()
        ))
        .and_then(|c| c.validate())
        .unwrap_err()
    };
    let err = check("[[transcoding.rules]]\nselector = \"no.Such.Method\"\nget = \"/x\"\n");
    assert_eq!(err.key(), "transcoding.rules[0]");
    assert!(err.to_string().contains("no.Such.Method"), "{err}");
    let err = check(
        "[[transcoding.rules]]\nselector = \"grpcweb.transcoding.v1.EchoService.Plain\"\nget = \"/x\"\npost = \"/y\"\n",
    );
    assert_eq!(err.key(), "transcoding.rules[0]");
    let err = check(
        "[[transcoding.rules]]\nselector = \"grpcweb.transcoding.v1.EchoService.Plain\"\nget = \"/x/{nope}\"\n",
    );
    assert_eq!(err.key(), "transcoding.rules[0]");
    assert!(err.to_string().contains("nope"), "{err}");
    let err = check("[transcoding]\nrest_headers = [\"te\"]\n");
    assert_eq!(err.key(), "transcoding.rest_headers[0]");
    let err = check("[transcoding]\nnope = true\n");
    assert!(err.to_string().contains("nope"), "{err}");
}

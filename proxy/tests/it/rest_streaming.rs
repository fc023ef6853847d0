//! REST answers of server-streaming methods (newline-delimited JSON lines, as the
//! messages come) and the backend's metadata on REST answers.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::rest_calls::{json_of, send, setup, with_echo_descriptors};
use crate::support;

use bytes::Bytes;
use grpcweb_test_support::{FakeBackend, Reply, WebResponse};
use http::Method;
use serde_json::{Value, json};

fn lines(res: &WebResponse) -> Vec<Value> {
    std::str::from_utf8(&res.raw_body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// An `EchoResponse` whose request has `label`, encoded: what the streaming backends send.
fn echo_message(label: &str) -> Bytes {
    use grpcweb_interop::transcoding_pb::{EchoRequest, EchoResponse};
    use prost::Message as _;
    Bytes::from(
        EchoResponse {
            request: Some(EchoRequest {
                label: label.to_owned(),
                ..EchoRequest::default()
            }),
            ..EchoResponse::default()
        }
        .encode_to_vec(),
    )
}

#[tokio::test]
async fn server_streaming_answers_a_json_line_per_message() {
    let (_backend, proxy) = setup().await;
    let res = send(
        &proxy,
        Method::GET,
        "/v1/shelves?nested.count=3&label=x",
        "",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), Some("application/x-ndjson"));
    let ids: Vec<Value> = lines(&res)
        .iter()
        .map(|l| {
            assert_eq!(l["result"]["request"]["label"], "x");
            l["result"]["request"]["id"].clone()
        })
        .collect();
    // id 0 is the default: not written.
    assert_eq!(ids, [Value::Null, json!("1"), json!("2")]);
    let res = send(&proxy, Method::GET, "/v1/shelves", "").await;
    assert_eq!(res.status, 200);
    assert!(res.raw_body.is_empty());
}

#[tokio::test]
async fn a_stream_that_fails_after_its_first_message_ends_with_an_error_line() {
    let backend = FakeBackend::start(Reply::error_after(
        vec![echo_message("one")],
        grpcweb_test_support::Code::Aborted,
        "stopped",
    ))
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
    let res = send(&proxy, Method::GET, "/v1/shelves", "").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        lines(&res),
        [
            json!({"result": {"request": {"label": "one"}}}),
            json!({"error": {"code": 10, "message": "stopped", "details": []}}),
        ]
    );
    // Failing before any message: an HTTP error.
    let backend = FakeBackend::start(Reply::error_after(
        vec![],
        grpcweb_test_support::Code::NotFound,
        "none",
    ))
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
    let res = send(&proxy, Method::GET, "/v1/shelves", "").await;
    assert_eq!(res.status, 404);
    assert_eq!(json_of(&res)["message"], "none");
}

/// A backend stream that ends without a status is not a success: the lines sent, then an
/// error line (UNKNOWN), and nothing after it.
#[tokio::test]
async fn a_stream_that_ends_without_a_status_ends_with_an_error_line() {
    let backend = FakeBackend::start(Reply::no_trailers(vec![
        echo_message("one"),
        echo_message("two"),
    ]))
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
    let res = send(&proxy, Method::GET, "/v1/shelves", "").await;
    assert_eq!(res.status, 200);
    let got = lines(&res);
    assert_eq!(
        got[..2],
        [
            json!({"result": {"request": {"label": "one"}}}),
            json!({"result": {"request": {"label": "two"}}}),
        ]
    );
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2]["error"]["code"], 2, "{got:?}");
}

/// A stream whose OK trailers come after half a message is not a success (INTERNAL), and a
/// message that fails to decode ends the stream: the messages buffered after it in the
/// same chunk are not sent after its error line.
#[tokio::test]
async fn a_partial_message_or_a_bad_one_ends_the_stream_with_the_error_line_last() {
    use grpcweb_test_support::{End, FrameKind, frame};
    let good = frame(FrameKind::Data, echo_message("one"));
    let half = frame(FrameKind::Data, echo_message("two"));
    let half = half.slice(..half.len() - 2);
    let bad = frame(FrameKind::Data, vec![0x0a, 0x05, 0x01]);
    let cases = [
        // A good message, then OK trailers after half of the next one.
        (vec![good.clone(), half], 13),
        // A good message, then, in one chunk, one that does not decode and a good one.
        (
            vec![good.clone(), Bytes::from([bad, good.clone()].concat())],
            13,
        ),
    ];
    for (chunks, code) in cases {
        let backend = FakeBackend::start(
            Reply::grpc(chunks, End::status(grpcweb_test_support::Code::Ok, ""))
                .with_raw_messages(),
        )
        .await
        .unwrap();
        let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
        let res = send(&proxy, Method::GET, "/v1/shelves", "").await;
        assert_eq!(res.status, 200);
        let got = lines(&res);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], json!({"result": {"request": {"label": "one"}}}));
        assert_eq!(got[1]["error"]["code"], code, "{got:?}");
    }
}

/// A stream with no message may come as trailers-only (the status in the headers, as
/// servers answer an empty stream): an empty stream, not a status object.
#[tokio::test]
async fn an_empty_stream_answered_trailers_only_is_an_empty_stream() {
    let backend = FakeBackend::start(Reply::trailers_only(grpcweb_test_support::Code::Ok, ""))
        .await
        .unwrap();
    let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
    let res = send(&proxy, Method::GET, "/v1/shelves", "").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), Some("application/x-ndjson"));
    assert!(res.raw_body.is_empty(), "{:?}", res.raw_body);
}

#[tokio::test]
async fn stream_lines_are_sent_as_the_messages_come() {
    use grpcweb_interop::transcoding_pb::EchoResponse;
    use prost::Message as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let message = EchoResponse::default().encode_to_vec();
    let backend = FakeBackend::start(Reply::forever(
        message,
        std::time::Duration::from_millis(20),
    ))
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
    let mut tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    tcp.write_all(b"GET /v1/shelves HTTP/1.1\r\nhost: proxy\r\n\r\n")
        .await
        .unwrap();
    // The backend never ends the stream: lines must come while it runs.
    let mut seen = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        while seen.windows(8).filter(|w| w == b"\"result\"").count() < 3 {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed");
            seen.extend_from_slice(&buf[..n]);
        }
    };
    grpcweb_test_support::within(std::time::Duration::from_secs(5), read)
        .await
        .unwrap();
    assert!(seen.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn backend_metadata_comes_back_as_prefixed_headers() {
    let backend = FakeBackend::start(
        Reply::ok(vec![Bytes::new()])
            .with_header("x-served-by", "b1")
            .with_trailer("x-cost", "3"),
    )
    .await
    .unwrap();
    let proxy = support::proxy(&backend.url(), with_echo_descriptors).await;
    let res = send(&proxy, Method::GET, "/v1/shelves/1", "").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("grpc-metadata-x-served-by"), Some("b1"));
    assert_eq!(res.header("grpc-trailer-x-cost"), Some("3"));
    assert_eq!(res.header("grpc-metadata-content-type"), None);
    assert_eq!(res.header("grpc-trailer-grpc-status"), None);
}

#[tokio::test]
async fn streams_can_answer_one_json_array_instead() {
    let backend = crate::rest_calls::echo_server().await;
    let proxy = support::proxy(&backend.url(), |c| {
        with_echo_descriptors(c);
        c.transcoding.rest_stream = grpcweb_proxy::RestStreamFormat::JsonArray;
    })
    .await;
    let res = send(&proxy, Method::GET, "/v1/shelves?nested.count=3", "").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), Some("application/json"));
    let items = json_of(&res);
    let ids: Vec<Value> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["request"]["id"].clone())
        .collect();
    assert_eq!(ids, [Value::Null, json!("1"), json!("2")]);
    let res = send(&proxy, Method::GET, "/v1/shelves", "").await;
    assert_eq!(json_of(&res), json!([]));

    // A failure after the first message cuts the array short.
    let message = grpcweb_interop::transcoding_pb::EchoResponse::default();
    let failing = FakeBackend::start(Reply::error_after(
        vec![Bytes::from(prost::Message::encode_to_vec(&message))],
        grpcweb_test_support::Code::Aborted,
        "stopped",
    ))
    .await
    .unwrap();
    let proxy = support::proxy(&failing.url(), |c| {
        with_echo_descriptors(c);
        c.transcoding.rest_stream = grpcweb_proxy::RestStreamFormat::JsonArray;
    })
    .await;
    let res = grpcweb_test_support::WebClient::new(grpcweb_test_support::HttpVersion::H1)
        .call(proxy.addr, "/v1/shelves")
        .method(Method::GET)
        .content_type("application/json")
        .send()
        .await;
    match res {
        // The array began and was cut: not a whole JSON value.
        Ok(res) => {
            assert_eq!(res.status, 200);
            assert!(res.raw_body.starts_with(b"["), "{:?}", res.raw_body);
            assert!(
                serde_json::from_slice::<Value>(&res.raw_body).is_err(),
                "{:?}",
                res.raw_body
            );
        }
        // Or the connection was closed mid-response (before hyper flushed the head): a
        // cut, not a refused connection or a timeout.
        Err(e) => assert!(
            format!("{e:#}").contains("connection closed before message completed"),
            "{e:#}"
        ),
    }
}

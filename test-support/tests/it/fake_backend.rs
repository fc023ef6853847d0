//! The fake backend does what its scripts say, seen from a plain HTTP/2 client.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use grpcweb_protocol::Code;
use grpcweb_test_support::frames::{data_frame, split_messages};
use grpcweb_test_support::{End, FakeBackend, RecordedRequest, Reply, within};
use h2::client::SendRequest;
use h2::{Reason, RecvStream};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(5);

/// A raw h2 client connection; the task drives it.
async fn connect(addr: SocketAddr) -> (SendRequest<Bytes>, JoinHandle<()>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, task)
}

/// Sends a gRPC request with one message and returns the response head.
async fn call(client: &SendRequest<Bytes>, path: &str, message: &str) -> Response<RecvStream> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://backend{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("x-custom", "kept")
        .body(())
        .unwrap();
    let mut client = client.clone().ready().await.unwrap();
    let (response, mut body) = client.send_request(request, false).unwrap();
    body.send_data(data_frame(message), true).unwrap();
    within(LIMIT, response).await.unwrap().unwrap()
}

/// Reads the body to the end: the data, then the trailers, or the first error.
async fn read_all(body: &mut RecvStream) -> Result<(Bytes, Option<HeaderMap>), h2::Error> {
    let mut data = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    Ok((data.freeze(), body.trailers().await?))
}

#[tokio::test]
async fn not_found_html_is_plain_http() {
    let backend = FakeBackend::start(Reply::not_found_html()).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let response = call(&client, "/a.B/C", "x").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.headers().get("grpc-status").is_none());
    let (data, trailers) = read_all(&mut response.into_body()).await.unwrap();
    assert!(String::from_utf8_lossy(&data).contains("<html>"));
    assert!(trailers.is_none());
}

#[tokio::test]
async fn unavailable_text_is_503() {
    let backend = FakeBackend::start(Reply::unavailable_text()).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/C", "x").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["content-type"], "text/plain");
    let (data, _) = read_all(response.body_mut()).await.unwrap();
    assert!(data.starts_with(b"upstream overloaded"));
}

#[tokio::test]
async fn trailers_only_is_one_headers_frame_with_end_stream() {
    let reply = Reply::trailers_only(Code::NotFound, "no such thing ☺")
        .with_header("x-meta", "1")
        .with_header("x-meta-bin", "AQI");
    let backend = FakeBackend::start(reply).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/C", "x").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_end_stream(), "END_STREAM on HEADERS");
    let h = response.headers();
    assert_eq!(h["content-type"], "application/grpc");
    assert_eq!(h["grpc-status"], "5");
    assert_eq!(h["grpc-message"], "no such thing %E2%98%BA");
    assert_eq!(h["x-meta"], "1");
    assert_eq!(h["x-meta-bin"], "AQI");
    let (data, trailers) = read_all(response.body_mut()).await.unwrap();
    assert!(data.is_empty());
    assert!(trailers.is_none());
}

#[tokio::test]
async fn ok_sends_messages_then_trailers_with_duplicates_in_order() {
    let reply = Reply::ok(vec!["one".into(), Bytes::new(), "three".into()])
        .with_header("x-initial", "i")
        .with_trailer("x-dup", "a")
        .with_trailer("x-dup", "b");
    let backend = FakeBackend::start(reply).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/C", "x").await;
    assert_eq!(response.headers()["x-initial"], "i");
    let (data, trailers) = read_all(response.body_mut()).await.unwrap();
    assert_eq!(split_messages(&data).unwrap(), ["one", "", "three"]);
    let trailers = trailers.expect("trailers");
    assert_eq!(trailers["grpc-status"], "0");
    let dups: Vec<_> = trailers.get_all("x-dup").iter().collect();
    assert_eq!(dups, ["a", "b"]);
}

#[tokio::test]
async fn error_after_messages_carries_status_in_trailers() {
    let reply = Reply::error_after(vec!["m".into()], Code::Internal, "boom");
    let backend = FakeBackend::start(reply).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/C", "x").await;
    let (data, trailers) = read_all(response.body_mut()).await.unwrap();
    assert_eq!(split_messages(&data).unwrap(), ["m"]);
    let trailers = trailers.unwrap();
    assert_eq!(trailers["grpc-status"], "13");
    assert_eq!(trailers["grpc-message"], "boom");
}

#[tokio::test]
async fn reset_after_messages_uses_the_given_reason() {
    for reason in [
        Reason::INTERNAL_ERROR,
        Reason::CANCEL,
        Reason::REFUSED_STREAM,
        Reason::ENHANCE_YOUR_CALM,
    ] {
        let reply = Reply::reset_after(vec!["a".into(), "b".into()], reason);
        let backend = FakeBackend::start(reply).await.unwrap();
        let (client, _conn) = connect(backend.addr).await;
        let mut response = call(&client, "/a.B/C", "x").await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.body_mut();
        // Both messages reach the client before the reset.
        let mut data = BytesMut::new();
        let err = loop {
            match within(LIMIT, body.data()).await.unwrap() {
                Some(Ok(chunk)) => data.extend_from_slice(&chunk),
                Some(Err(err)) => break err,
                None => panic!("{reason:?}: stream ended without a reset"),
            }
        };
        assert_eq!(split_messages(&data).unwrap(), ["a", "b"], "{reason:?}");
        assert_eq!(err.reason(), Some(reason));
        assert!(err.is_reset(), "{err}");
        assert!(
            backend.cancellations().is_empty(),
            "its own reset is no cancellation"
        );
    }
}

#[tokio::test]
async fn reset_without_messages_still_sends_headers_first() {
    let backend = FakeBackend::start(Reply::reset_after(vec![], Reason::REFUSED_STREAM))
        .await
        .unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/C", "x").await;
    assert_eq!(response.status(), StatusCode::OK);
    let err = read_all(response.body_mut()).await.unwrap_err();
    assert_eq!(err.reason(), Some(Reason::REFUSED_STREAM));
}

#[tokio::test]
async fn no_trailers_ends_the_stream_on_data() {
    for messages in [vec![Bytes::from("a"), Bytes::from("b")], vec![]] {
        let backend = FakeBackend::start(Reply::no_trailers(messages.clone()))
            .await
            .unwrap();
        let (client, _conn) = connect(backend.addr).await;
        let mut response = call(&client, "/a.B/C", "x").await;
        let (data, trailers) = read_all(response.body_mut()).await.unwrap();
        assert_eq!(split_messages(&data).unwrap(), messages);
        assert!(trailers.is_none(), "no trailers at all");
    }
}

#[tokio::test]
async fn raw_messages_go_out_unframed() {
    let frame = data_frame("split");
    let reply = Reply::ok(vec![frame.slice(..3), frame.slice(3..)]).with_raw_messages();
    let backend = FakeBackend::start(reply).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/C", "x").await;
    let (data, _) = read_all(response.body_mut()).await.unwrap();
    assert_eq!(data, frame);
}

#[tokio::test]
async fn interval_spaces_messages() {
    let reply = Reply::ok(vec!["a".into(), "b".into(), "c".into()])
        .with_interval(Duration::from_millis(100));
    let backend = FakeBackend::start(reply).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/C", "x").await;
    let body = response.body_mut();
    let mut arrivals = Vec::new();
    while let Some(chunk) = body.data().await {
        chunk.unwrap();
        arrivals.push(Instant::now());
    }
    assert_eq!(arrivals.len(), 3);
    for pair in arrivals.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(80),
            "{arrivals:?}"
        );
    }
}

#[tokio::test]
async fn records_every_request() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut first = call(&client, "/pkg.Svc/One", "hello").await;
    read_all(first.body_mut()).await.unwrap();
    let mut second = call(&client, "/pkg.Svc/Two", "").await;
    read_all(second.body_mut()).await.unwrap();
    let requests = backend.requests();
    assert_eq!(requests.len(), 2);
    let r = &requests[0];
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.path(), "/pkg.Svc/One");
    assert_eq!(r.uri.authority().unwrap().as_str(), "backend");
    assert_eq!(r.header("te"), Some("trailers"));
    assert_eq!(r.header("content-type"), Some("application/grpc"));
    assert_eq!(r.header("x-custom"), Some("kept"));
    assert!(r.headers.get("content-length").is_none());
    assert_eq!(r.body, data_frame("hello"));
    assert_eq!(r.messages().unwrap(), ["hello"]);
    assert_eq!(requests[1].messages().unwrap(), [""]);
    assert_eq!(backend.connections(), 1);
}

#[tokio::test]
async fn a_closure_picks_the_reply_per_request() {
    let backend = FakeBackend::start(|req: &RecordedRequest| match req.path() {
        "/echo.Svc/Echo" => Reply::ok(req.messages().unwrap()),
        _ => Reply::trailers_only(Code::Unimplemented, ""),
    })
    .await
    .unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut echo = call(&client, "/echo.Svc/Echo", "ping").await;
    let (data, _) = read_all(echo.body_mut()).await.unwrap();
    assert_eq!(split_messages(&data).unwrap(), ["ping"]);
    let other = call(&client, "/echo.Svc/Other", "ping").await;
    assert_eq!(other.headers()["grpc-status"], "12");
}

#[tokio::test]
async fn dropping_a_forever_stream_is_recorded_as_cancel() {
    let backend = FakeBackend::start(Reply::forever("tick", Duration::from_millis(20)))
        .await
        .unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/Stream", "x").await;
    let first = response.body_mut().data().await.unwrap().unwrap();
    assert_eq!(split_messages(&first).unwrap(), ["tick"]);
    assert!(backend.cancellations().is_empty());
    drop(response); // h2 sends RST_STREAM(CANCEL) once no handle is left
    let cancellation = within(LIMIT, backend.cancelled()).await.unwrap();
    assert_eq!(cancellation.path, "/a.B/Stream");
    assert_eq!(cancellation.reason, Some(Reason::CANCEL));
    assert!(cancellation.messages_sent >= 1);
}

#[tokio::test]
async fn hang_is_cancelled_when_the_client_resets() {
    let backend = FakeBackend::start(Reply::hang()).await.unwrap();
    let (client, _conn) = connect(backend.addr).await;
    let request = Request::post("http://backend/a.B/C").body(()).unwrap();
    let mut client = client.ready().await.unwrap();
    let (response, mut body) = client.send_request(request, false).unwrap();
    body.send_data(data_frame("x"), true).unwrap();
    within(LIMIT, backend.wait_for_requests(1)).await.unwrap();
    let pending = within(Duration::from_millis(200), response).await;
    assert!(pending.is_err(), "no headers ever");
    body.send_reset(Reason::CANCEL);
    let cancellation = within(LIMIT, backend.cancelled()).await.unwrap();
    assert_eq!(cancellation.reason, Some(Reason::CANCEL));
    assert_eq!(cancellation.messages_sent, 0);
}

#[tokio::test]
async fn hang_after_messages_notices_a_closed_connection() {
    let reply = Reply::grpc(vec!["m".into()], End::Hang);
    let backend = FakeBackend::start(reply).await.unwrap();
    let (client, conn) = connect(backend.addr).await;
    let mut response = call(&client, "/a.B/C", "x").await;
    response.body_mut().data().await.unwrap().unwrap();
    conn.abort(); // the whole connection goes away, no RST_STREAM
    let cancellation = within(LIMIT, backend.cancelled()).await.unwrap();
    assert_eq!(cancellation.messages_sent, 1);
}

#[tokio::test]
async fn works_with_hyper_http2_prior_knowledge() {
    let backend = FakeBackend::start(Reply::ok(vec!["via hyper".into()]).with_trailer("x-t", "1"))
        .await
        .unwrap();
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let request = Request::post(format!("{}/a.B/C", backend.url()))
        .header("content-type", "application/grpc")
        .body(Full::new(data_frame("q")))
        .unwrap();
    let response = within(LIMIT, client.request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap();
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["x-t"], "1");
    assert_eq!(
        split_messages(&collected.to_bytes()).unwrap(),
        ["via hyper"]
    );
    assert_eq!(backend.requests()[0].messages().unwrap(), ["q"]);

    // Dropping hyper's response body mid-stream cancels the backend stream.
    let forever = FakeBackend::start(Reply::forever("t", Duration::from_millis(10)))
        .await
        .unwrap();
    let request = Request::post(format!("{}/a.B/S", forever.url()))
        .body(Full::new(data_frame("q")))
        .unwrap();
    let mut response = within(LIMIT, client.request(request))
        .await
        .unwrap()
        .unwrap();
    response.body_mut().frame().await.unwrap().unwrap();
    drop(response);
    let cancellation = within(LIMIT, forever.cancelled()).await.unwrap();
    assert_eq!(cancellation.reason, Some(Reason::CANCEL));
}

#[tokio::test]
async fn dropping_the_backend_stops_it() {
    let backend = FakeBackend::start(Reply::ok(vec![])).await.unwrap();
    let addr = backend.addr;
    let (client, conn) = connect(addr).await;
    drop(backend);
    within(LIMIT, conn).await.unwrap().unwrap();
    assert!(client.ready().await.is_err(), "connection closed");
    let refused = within(LIMIT, async {
        loop {
            if TcpStream::connect(addr).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "listener closed");
}

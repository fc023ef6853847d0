//! The gRPC-Web client against a tiny canned HTTP/1.1 + HTTP/2 server.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use grpcweb_protocol::Code;
use grpcweb_protocol::framing::FrameKind;
use grpcweb_protocol::text::encode_segment;
use grpcweb_test_support::frames::{data_frame, frame, headers, status_trailers, trailer_frame};
use grpcweb_test_support::{HttpVersion, Mode, WebClient, within};
use http::{HeaderMap, Method, Request, Response};
use http_body_util::BodyExt as _;
use http_body_util::channel::Channel;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

const BOTH: [HttpVersion; 2] = [HttpVersion::H1, HttpVersion::H2];
const LIMIT: Duration = Duration::from_secs(5);

/// One step of a canned response body.
#[derive(Clone, Debug)]
enum Step {
    Chunk(Bytes),
    Sleep(Duration),
    /// Real HTTP trailers.
    Trailers(HeaderMap),
    /// Send this chunk every 20 ms until the client goes away.
    Forever(Bytes),
}

use Step::{Chunk, Sleep};

fn ms(n: u64) -> Step {
    Sleep(Duration::from_millis(n))
}

/// What the canned server saw.
#[derive(Default)]
struct Log {
    requests: Mutex<Vec<(http::request::Parts, Bytes)>>,
    /// When each `Chunk` step was handed to the connection (just before).
    sent: Mutex<Vec<Instant>>,
    disconnected: Notify,
}

/// Serves HTTP/1.1 and HTTP/2 (prior knowledge) on 127.0.0.1:0, answering every request
/// with `content_type` and `steps`.
async fn canned(content_type: &'static str, steps: Vec<Step>) -> (SocketAddr, Arc<Log>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Log::default());
    let server_log = log.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let log = server_log.clone();
            let steps = steps.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                respond(req, content_type, steps.clone(), log.clone())
            });
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (addr, log)
}

async fn respond(
    req: Request<Incoming>,
    content_type: &'static str,
    steps: Vec<Step>,
    log: Arc<Log>,
) -> Result<Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    log.requests.lock().unwrap().push((parts, body));
    let (mut tx, rx) = Channel::<Bytes, Infallible>::new(1);
    tokio::spawn(async move {
        for step in steps {
            let delivered = match step {
                Chunk(b) => {
                    log.sent.lock().unwrap().push(Instant::now());
                    tx.send_data(b).await.is_ok()
                }
                Sleep(d) => {
                    tokio::time::sleep(d).await;
                    true
                }
                Step::Trailers(t) => tx.send_trailers(t).await.is_ok(),
                Step::Forever(b) => {
                    while tx.send_data(b.clone()).await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    false
                }
            };
            if !delivered {
                log.disconnected.notify_one();
                return;
            }
        }
    });
    let response = Response::builder()
        .header("content-type", content_type)
        .body(rx.boxed())
        .unwrap();
    Ok(response)
}

fn ok_trailers() -> Bytes {
    trailer_frame(&status_trailers(Code::Ok, ""))
}

#[tokio::test]
async fn binary_records_arrival_of_each_chunk_and_message() {
    for version in BOTH {
        let steps = vec![
            Chunk(data_frame("one")),
            ms(300),
            Chunk(data_frame("two")),
            ms(100),
            Chunk(ok_trailers()),
        ];
        let (addr, log) = canned("application/grpc-web+proto", steps).await;
        let client = WebClient::new(version);
        let r = client
            .call(addr, "/pkg.Svc/Method")
            .header("x-grpc-web", "1")
            .message("req")
            .send()
            .await
            .unwrap();
        assert_eq!(r.version, version.version());
        assert_eq!(r.status, 200);
        assert_eq!(r.message_payloads(), ["one", "two"]);
        assert!(
            r.chunks_arrived.len() >= 3,
            "{version:?}: {:?}",
            r.chunks_arrived
        );
        // Each message is recorded when it arrives: after the server sent it, and the
        // first one before the server even sent the second.
        let sent = log.sent.lock().unwrap().clone();
        assert!(r.messages[0].0 >= sent[0]);
        assert!(
            r.messages[0].0 < sent[1],
            "{version:?}: first message recorded late"
        );
        assert!(r.messages[1].0 >= sent[1]);
        assert!(r.frames[2].at >= sent[2]);
        assert!(r.sent_at <= r.headers_at && r.headers_at <= r.messages[0].0);
        assert!(r.finished_at >= r.frames[2].at);
        assert_eq!(r.grpc_status(), Some(Code::Ok));
        assert_eq!(r.grpc_message(), None);
        assert!(r.http_trailers.is_none());
        assert_eq!(r.frames.len(), 3);
        assert_eq!(r.frames[2].kind, FrameKind::Trailers);
        assert_eq!(
            r.raw_body,
            [data_frame("one"), data_frame("two"), ok_trailers()].concat()
        );

        let requests = log.requests.lock().unwrap();
        let (parts, body) = &requests[0];
        assert_eq!(parts.method, Method::POST);
        assert_eq!(parts.uri.path(), "/pkg.Svc/Method");
        assert_eq!(parts.headers["content-type"], "application/grpc-web+proto");
        assert_eq!(parts.headers["x-grpc-web"], "1");
        assert_eq!(*body, data_frame("req"));
    }
}

#[tokio::test]
async fn text_is_decoded_incrementally_across_segments_and_splits() {
    let trailers = status_trailers(Code::InvalidArgument, "bad ☺\nnews");
    let first = encode_segment(&data_frame("hello text mode"));
    // A segment cut inside a base64 group and inside the frame header.
    let steps = vec![
        Chunk(first.slice(..7)),
        ms(300),
        Chunk(first.slice(7..)),
        Chunk(encode_segment(&[data_frame("a"), data_frame("")].concat())),
        ms(50),
        Chunk(encode_segment(&trailer_frame(&trailers))),
    ];
    for version in BOTH {
        let (addr, log) = canned("application/grpc-web-text+proto", steps.clone()).await;
        let r = WebClient::new(version)
            .call(addr, "pkg.Svc/Method")
            .mode(Mode::Text)
            .message("x")
            .message("y")
            .send()
            .await
            .unwrap();
        assert_eq!(r.message_payloads(), ["hello text mode", "a", ""]);
        // The first message is complete only with the second chunk.
        assert_eq!(r.messages[0].0, r.chunks_arrived[1].0, "{version:?}");
        let sent = log.sent.lock().unwrap().clone();
        assert!(
            r.chunks_arrived[0].0 < sent[1],
            "{version:?}: first piece recorded late"
        );
        assert!(r.messages[0].0 >= sent[1]);
        assert_eq!(r.grpc_status(), Some(Code::InvalidArgument));
        assert_eq!(r.grpc_message().as_deref(), Some("bad ☺\nnews"));
        assert_eq!(r.trailers.as_ref().unwrap(), &trailers);

        let requests = log.requests.lock().unwrap();
        let (parts, body) = &requests[0];
        assert_eq!(
            parts.headers["content-type"],
            "application/grpc-web-text+proto"
        );
        assert_eq!(
            *body,
            encode_segment(&[data_frame("x"), data_frame("y")].concat())
        );
    }
}

#[tokio::test]
async fn protocol_violations_are_errors() {
    let one = data_frame("1");
    let cases: Vec<(&str, &'static str, Vec<Step>)> = vec![
        (
            "data after the trailer frame",
            "application/grpc-web+proto",
            vec![Chunk(ok_trailers()), ms(20), Chunk(one.clone())],
        ),
        (
            "data after the trailer frame",
            "application/grpc-web+proto",
            vec![Chunk([ok_trailers(), ok_trailers()].concat().into())],
        ),
        (
            "data after the trailer frame",
            "application/grpc-web+proto",
            vec![Chunk([&ok_trailers()[..], &[0, 0]].concat().into())],
        ),
        (
            "body ends inside a frame",
            "application/grpc-web+proto",
            vec![Chunk(one.slice(..4))],
        ),
        (
            "invalid gRPC-Web frame flag",
            "application/grpc-web+proto",
            vec![Chunk(Bytes::from_static(&[0x02, 0, 0, 0, 0]))],
        ),
        (
            "compressed frame received",
            "application/grpc-web+proto",
            vec![Chunk(frame(FrameKind::CompressedTrailers, "x"))],
        ),
        (
            "invalid trailer frame",
            "application/grpc-web+proto",
            vec![Chunk(frame(FrameKind::Trailers, "no colon"))],
        ),
        (
            "invalid text body",
            "application/grpc-web-text+proto",
            vec![Chunk(Bytes::from_static(b"AAAA*AAA"))],
        ),
        (
            "ends inside a base64 group",
            "application/grpc-web-text+proto",
            vec![Chunk(encode_segment(&one).slice(..5))],
        ),
        (
            "trailer frame in a native gRPC body",
            "application/grpc",
            vec![Chunk(ok_trailers())],
        ),
    ];
    for (want, content_type, steps) in cases {
        for version in BOTH {
            let (addr, _) = canned(content_type, steps.clone()).await;
            let err = WebClient::new(version)
                .call(addr, "/a.B/C")
                .send()
                .await
                .unwrap_err();
            let err = format!("{err:#}");
            assert!(
                err.contains(want),
                "{version:?}: want {want:?}, got {err:?}"
            );
        }
    }
}

#[tokio::test]
async fn status_falls_back_to_headers_and_non_grpc_bodies_stay_raw() {
    // Trailers-only: empty body, status in headers.
    let (addr, _) = canned("application/grpc-web+proto", vec![]).await;
    let r = WebClient::new(HttpVersion::H1)
        .call(addr, "/a.B/C")
        .send()
        .await
        .unwrap();
    assert!(r.trailers.is_none());
    assert_eq!(r.grpc_status(), None, "no grpc-status anywhere");

    // Not gRPC at all: the body is kept, nothing is parsed.
    let html = Bytes::from_static(b"\x80<html>not frames</html>");
    let (addr, _) = canned("text/html", vec![Chunk(html.clone())]).await;
    let r = WebClient::new(HttpVersion::H2)
        .call(addr, "/a.B/C")
        .send()
        .await
        .unwrap();
    assert_eq!(r.raw_body, html);
    assert!(r.messages.is_empty() && r.frames.is_empty());
    assert_eq!(r.content_type(), Some("text/html"));
}

#[tokio::test]
async fn http_trailers_are_recorded_separately() {
    let trailers = headers([("grpc-status", "7"), ("grpc-message", "denied")]);
    let steps = vec![Chunk(data_frame("m")), Step::Trailers(trailers.clone())];
    // gRPC-Web: HTTP trailers are recorded but never read as the status.
    let (addr, _) = canned("application/grpc-web+proto", steps.clone()).await;
    let r = WebClient::new(HttpVersion::H2)
        .call(addr, "/a.B/C")
        .send()
        .await
        .unwrap();
    assert_eq!(r.http_trailers.as_ref(), Some(&trailers));
    assert_eq!(r.grpc_status(), None);
    // Native gRPC: that is where the status lives.
    let (addr, _) = canned("application/grpc", steps).await;
    let r = WebClient::new(HttpVersion::H2)
        .call(addr, "/a.B/C")
        .content_type("application/grpc")
        .header("te", "trailers")
        .send()
        .await
        .unwrap();
    assert_eq!(r.message_payloads(), ["m"]);
    assert_eq!(r.grpc_status(), Some(Code::PermissionDenied));
    assert_eq!(r.grpc_message().as_deref(), Some("denied"));
}

#[tokio::test]
async fn dropping_a_stream_disconnects_the_client() {
    for version in BOTH {
        let steps = vec![Step::Forever(data_frame("tick"))];
        let (addr, log) = canned("application/grpc-web+proto", steps).await;
        let mut stream = WebClient::new(version)
            .call(addr, "/a.B/Stream")
            .send_streaming()
            .await
            .unwrap();
        assert_eq!(stream.next_message().await.unwrap().unwrap(), "tick");
        assert_eq!(stream.next_message().await.unwrap().unwrap(), "tick");
        assert_eq!(stream.messages().len(), 2);
        assert!(stream.trailers().is_none());
        drop(stream);
        within(LIMIT, log.disconnected.notified())
            .await
            .unwrap_or_else(|_| panic!("{version:?}: server never saw the client leave"));
    }
}

#[tokio::test]
async fn streaming_then_finish_keeps_every_message() {
    let steps = vec![
        Chunk(data_frame("a")),
        ms(50),
        Chunk([data_frame("b"), ok_trailers()].concat().into()),
    ];
    let (addr, _) = canned("application/grpc-web+proto", steps).await;
    let mut stream = WebClient::new(HttpVersion::H2)
        .call(addr, "/a.B/C")
        .send_streaming()
        .await
        .unwrap();
    assert_eq!(stream.next_message().await.unwrap().unwrap(), "a");
    let r = stream.finish().await.unwrap();
    assert_eq!(r.message_payloads(), ["a", "b"]);
    assert_eq!(r.grpc_status(), Some(Code::Ok));
}

#[tokio::test]
async fn next_message_returns_none_at_the_end() {
    let steps = vec![Chunk([data_frame("a"), ok_trailers()].concat().into())];
    let (addr, _) = canned("application/grpc-web+proto", steps).await;
    let mut stream = WebClient::new(HttpVersion::H1)
        .call(addr, "/a.B/C")
        .send_streaming()
        .await
        .unwrap();
    assert_eq!(stream.next_message().await.unwrap().unwrap(), "a");
    assert!(stream.next_message().await.unwrap().is_none());
    assert!(stream.next_message().await.unwrap().is_none());
    assert_eq!(stream.trailers().unwrap()["grpc-status"], "0");
}

#[tokio::test]
async fn overrides_and_raw_bodies_go_out_as_given() {
    for version in BOTH {
        let (addr, log) = canned("application/grpc-web+proto", vec![Chunk(ok_trailers())]).await;
        WebClient::new(version)
            .call(format!("http://{addr}/"), "/a.B/C")
            .method(Method::PUT)
            .content_type("application/grpc-web-text; charset=utf-8")
            .mode(Mode::Text)
            .header("x-dup", "1")
            .header("x-dup", "2")
            .header("x-bin", [0xff, 0x80])
            .raw_body("not*base64")
            .send()
            .await
            .unwrap();
        let requests = log.requests.lock().unwrap();
        let (parts, body) = &requests[0];
        assert_eq!(parts.method, Method::PUT);
        assert_eq!(
            parts.headers["content-type"],
            "application/grpc-web-text; charset=utf-8"
        );
        let dups: Vec<_> = parts.headers.get_all("x-dup").iter().collect();
        assert_eq!(dups, ["1", "2"]);
        assert_eq!(parts.headers["x-bin"].as_bytes(), [0xff, 0x80]);
        assert_eq!(*body, "not*base64");
    }
    let err = WebClient::new(HttpVersion::H1)
        .call("127.0.0.1:1", "/a.B/C")
        .header("bad name", "v")
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid request header"));
}

#[tokio::test]
async fn split_bodies_arrive_whole_without_content_length() {
    for version in BOTH {
        let (addr, log) = canned("application/grpc-web+proto", vec![Chunk(ok_trailers())]).await;
        WebClient::new(version)
            .call(addr, "/a.B/C")
            .mode(Mode::Text)
            .message("split me")
            .split_body([1, 6, 9], Duration::from_millis(10))
            .send()
            .await
            .unwrap();
        let requests = log.requests.lock().unwrap();
        let (parts, body) = &requests[0];
        assert_eq!(*body, encode_segment(&data_frame("split me")));
        assert!(parts.headers.get("content-length").is_none(), "{version:?}");
        if version == HttpVersion::H1 {
            assert_eq!(parts.headers["transfer-encoding"], "chunked");
        }
    }
}

#[tokio::test]
async fn timeouts_fail_instead_of_hanging() {
    let (addr, _) = canned("application/grpc-web+proto", vec![ms(60_000)]).await;
    let err = WebClient::new(HttpVersion::H1)
        .call(addr, "/a.B/C")
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("timed out"), "{err:#}");
}

#[tokio::test]
async fn a_held_open_request_body_never_ends() {
    // The canned server reads the whole request body before answering, so a body held
    // open means no answer: the client's timeout fires.
    let (addr, log) = canned("application/grpc-web+proto", vec![Chunk(ok_trailers())]).await;
    let err = WebClient::new(HttpVersion::H2)
        .call(addr, "/a.B/C")
        .message("m")
        .keep_body_open()
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("timed out"), "{err:#}");
    assert!(log.requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn proto_messages_encode_and_decode() {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Echo {
        #[prost(string, tag = "1")]
        text: String,
    }
    let reply = Echo {
        text: "pong".into(),
    };
    let steps = vec![Chunk(
        [
            data_frame(prost::Message::encode_to_vec(&reply)),
            ok_trailers(),
        ]
        .concat()
        .into(),
    )];
    let (addr, log) = canned("application/grpc-web+proto", steps).await;
    let r = WebClient::new(HttpVersion::H1)
        .call(addr, "/a.B/C")
        .message_proto(&Echo {
            text: "ping".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.decode_messages::<Echo>().unwrap(), [reply]);
    let requests = log.requests.lock().unwrap();
    let sent: Echo = prost::Message::decode(&requests[0].1[5..]).unwrap();
    assert_eq!(sent.text, "ping");
}

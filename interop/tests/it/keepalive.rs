//! HTTP/1.1 keep-alive through the in-process gRPC-Web layer with request streaming on:
//! a connection the server will close is announced (`connection: close`), and one it
//! keeps carries the next call.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes};
use grpcweb_interop::pb::Empty;
use grpcweb_interop::{ServeError, ServeOptions, serve};
use http::{Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

const LIMIT: Duration = Duration::from_secs(20);

type ReqBody = BoxBody<Bytes, Infallible>;

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl Server {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let options = ServeOptions {
            grpc_web: true,
            allow_request_streaming: true,
            ..ServeOptions::default()
        };
        let task = tokio::spawn(serve(listener, options, async {
            let _ = stopped.await;
        }));
        Self { addr, stop, task }
    }

    async fn stop(self) {
        self.stop.send(()).expect("server still running");
        tokio::time::timeout(LIMIT, self.task)
            .await
            .expect("server stopped in time")
            .expect("server task panicked")
            .expect("server failed");
    }
}

/// One HTTP/1.1 connection.
async fn connect(addr: SocketAddr) -> SendRequest<ReqBody> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("HTTP/1.1 handshake");
    tokio::spawn(conn);
    sender
}

fn frame() -> Bytes {
    let payload = Empty {}.encode_to_vec();
    let len = u32::try_from(payload.len()).expect("small message");
    let mut out = vec![0];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    Bytes::from(out)
}

/// A body sent chunked, as a streaming client sends it: its end is a chunk of its own,
/// sent when the returned sender is dropped.
fn chunked() -> (mpsc::Sender<Result<Frame<Bytes>, Infallible>>, ReqBody) {
    let (tx, rx) = mpsc::channel(4);
    (tx, StreamBody::new(ReceiverStream::new(rx)).boxed())
}

fn request(path: &str, body: ReqBody) -> Request<ReqBody> {
    Request::post(format!("http://localhost{path}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body)
        .expect("valid request")
}

async fn send(sender: &mut SendRequest<ReqBody>, req: Request<ReqBody>) -> Response<Bytes> {
    tokio::time::timeout(LIMIT, async {
        sender.ready().await.expect("connection usable");
        let res = sender.send_request(req).await.expect("HTTP exchange");
        let (parts, body) = res.into_parts();
        let body = body.collect().await.expect("whole body").to_bytes();
        Response::from_parts(parts, body)
    })
    .await
    .expect("answered in time")
}

/// The call's `grpc-status`: from the headers (trailers-only) or the trailer frame.
fn grpc_status(res: &Response<Bytes>) -> String {
    assert_eq!(res.status(), 200);
    if let Some(status) = res.headers().get("grpc-status") {
        return status.to_str().expect("ASCII status").to_owned();
    }
    let mut body = res.body().clone();
    while body.len() >= 5 {
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        let payload = body.split_to(len);
        if flag == 0x80 {
            let trailers = grpcweb_protocol::trailers::parse(&payload).expect("trailer block");
            return trailers["grpc-status"]
                .to_str()
                .expect("ASCII status")
                .to_owned();
        }
    }
    panic!("no grpc-status in {res:?}");
}

fn says_close(res: &Response<Bytes>) -> bool {
    res.headers()
        .get_all("connection")
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"close"))
}

const UNKNOWN: &str = "/grpc.testing.UnimplementedService/UnimplementedCall";
const EMPTY_CALL: &str = "/grpc.testing.TestService/EmptyCall";

/// tonic answers a call to an unknown service at once, without reading its body; hyper
/// then closes the connection rather than wait for the rest. The answer must say so, or
/// a client reusing the connection fails its next call.
#[tokio::test]
async fn an_answer_before_the_body_ends_closes_the_connection_or_keeps_it_usable() {
    let server = Server::start().await;
    let mut sender = connect(server.addr).await;

    let (tx, body) = chunked();
    tx.send(Ok(Frame::data(frame()))).await.expect("body open");
    let first = send(&mut sender, request(UNKNOWN, body)).await;
    assert_eq!(grpc_status(&first), "12", "UNIMPLEMENTED: {first:?}");
    // The end of the body comes after the answer, as from a client that had more to send.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(tx);

    let second = request(EMPTY_CALL, Full::new(frame()).boxed());
    let res = if says_close(&first) {
        // Announced: a client opens a new connection for the next call.
        send(&mut connect(server.addr).await, second).await
    } else {
        // Not announced: the connection must still carry the next call.
        send(&mut sender, second).await
    };
    assert_eq!(grpc_status(&res), "0", "{res:?}");
    server.stop().await;
}

/// Unary calls with request streaming on are read to their end before they are answered,
/// so each leaves its connection usable: 20 in a row on one connection, half of them
/// with chunked bodies (their end a chunk of its own), none told to close it.
#[tokio::test]
async fn unary_calls_keep_their_connection() {
    let server = Server::start().await;
    let mut sender = connect(server.addr).await;
    for i in 0..20 {
        let body = if i % 2 == 0 {
            Full::new(frame()).boxed()
        } else {
            let (tx, body) = chunked();
            tx.send(Ok(Frame::data(frame()))).await.expect("body open");
            body
        };
        let res = send(&mut sender, request(EMPTY_CALL, body)).await;
        assert_eq!(grpc_status(&res), "0", "call {i}: {res:?}");
        assert!(!says_close(&res), "call {i} closed its connection: {res:?}");
    }
    server.stop().await;
}

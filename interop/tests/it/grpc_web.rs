//! `ServeOptions { grpc_web: true }`: the interop server behind the gRPC-Web layer, called
//! as a browser would (HTTP/1.1 and HTTP/2, binary and text), and still by native gRPC.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use grpcweb_interop::pb::test_service_client::TestServiceClient;
use grpcweb_interop::pb::{
    EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest, SimpleResponse,
    StreamingOutputCallRequest, StreamingOutputCallResponse,
};
use grpcweb_interop::{ServeError, ServeOptions, serve};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SPECIAL_MESSAGE: &str = "\t\ttest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

struct WebServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl WebServer {
    async fn start() -> Self {
        Self::start_with(ServeOptions {
            grpc_web: true,
            ..ServeOptions::default()
        })
        .await
    }

    async fn start_with(options: ServeOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, options, async {
            let _ = stopped.await;
        }));
        Self { addr, stop, task }
    }

    async fn stop(self) {
        self.stop.send(()).expect("server still running");
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("server stopped in time")
            .expect("server task panicked")
            .expect("server failed");
    }
}

/// Which HTTP version and which gRPC-Web encoding a call uses.
#[derive(Clone, Copy, Debug)]
struct Mode {
    http2: bool,
    text: bool,
}

const MODES: [Mode; 4] = [
    Mode {
        http2: false,
        text: false,
    },
    Mode {
        http2: false,
        text: true,
    },
    Mode {
        http2: true,
        text: false,
    },
    Mode {
        http2: true,
        text: true,
    },
];

/// A decoded gRPC-Web response: headers, messages and the trailer frame.
#[derive(Debug)]
struct WebResponse {
    headers: HeaderMap,
    messages: Vec<Bytes>,
    trailers: HeaderMap,
}

impl WebResponse {
    fn status(&self) -> &str {
        self.trailers
            .get("grpc-status")
            .expect("grpc-status in the trailer frame")
            .to_str()
            .expect("ASCII status")
    }

    fn message(&self) -> String {
        let raw = self
            .trailers
            .get("grpc-message")
            .map_or(&b""[..], |v| v.as_bytes());
        grpcweb_protocol::percent::decode(raw)
    }
}

fn frame(message: &impl Message) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let len = u32::try_from(payload.len()).expect("small message");
    let mut out = vec![0];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

fn client(mode: Mode) -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .http2_only(mode.http2)
        .build_http()
}

async fn call(
    addr: SocketAddr,
    mode: Mode,
    method: &str,
    message: &impl Message,
    metadata: &[(&str, &str)],
) -> WebResponse {
    let mut body = frame(message);
    let content_type = if mode.text {
        body = grpcweb_protocol::text::encode_segment(&body).to_vec();
        "application/grpc-web-text"
    } else {
        "application/grpc-web+proto"
    };
    let mut request = Request::post(format!("http://{addr}/grpc.testing.TestService/{method}"))
        .header("content-type", content_type)
        .header("x-grpc-web", "1");
    for (name, value) in metadata {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .expect("valid request");
    let response = tokio::time::timeout(Duration::from_secs(20), client(mode).request(request))
        .await
        .expect("answered in time")
        .expect("HTTP exchange");
    decode(mode, response).await
}

async fn decode(mode: Mode, response: Response<hyper::body::Incoming>) -> WebResponse {
    assert_eq!(response.status(), 200);
    let (parts, body) = response.into_parts();
    let expected = if mode.text {
        "application/grpc-web-text+proto"
    } else {
        "application/grpc-web+proto"
    };
    assert_eq!(parts.headers["content-type"], expected);
    let collected = body.collect().await.expect("whole body");
    assert!(
        collected.trailers().is_none(),
        "HTTP trailers sent to a gRPC-Web client"
    );
    let mut bytes = collected.to_bytes();
    if mode.text {
        bytes = grpcweb_protocol::text::decode_all(&bytes).expect("valid base64 segments");
    }
    let mut bytes = BytesMut::from(&bytes[..]);
    let mut messages = Vec::new();
    let mut trailers = None;
    while !bytes.is_empty() {
        assert!(trailers.is_none(), "data after the trailer frame");
        assert!(bytes.len() >= 5, "truncated frame header");
        let flag = bytes.get_u8();
        let len = bytes.get_u32() as usize;
        let payload = bytes.split_to(len).freeze();
        match flag {
            0x00 => messages.push(payload),
            0x80 => {
                let parsed = grpcweb_protocol::trailers::parse(&payload).expect("trailer block");
                trailers = Some(parsed);
            }
            other => panic!("unexpected frame flag {other:#x}"),
        }
    }
    WebResponse {
        headers: parts.headers,
        messages,
        trailers: trailers.expect("a trailer frame"),
    }
}

#[tokio::test]
async fn large_unary_with_custom_metadata() {
    let server = WebServer::start().await;
    let request = SimpleRequest {
        response_size: 314_159,
        payload: Some(Payload {
            r#type: 0,
            body: vec![0; 271_828],
        }),
        ..Default::default()
    };
    let metadata = [
        ("x-grpc-test-echo-initial", "test_initial_metadata_value"),
        ("x-grpc-test-echo-trailing-bin", "q6ur"),
    ];
    for mode in MODES {
        let response = call(server.addr, mode, "UnaryCall", &request, &metadata).await;
        assert_eq!(response.status(), "0", "{mode:?}");
        assert_eq!(response.messages.len(), 1, "{mode:?}");
        let message = SimpleResponse::decode(response.messages[0].clone()).expect("decodes");
        assert_eq!(message.payload.expect("payload").body.len(), 314_159);
        assert_eq!(
            response.headers["x-grpc-test-echo-initial"],
            "test_initial_metadata_value"
        );
        assert_eq!(response.trailers["x-grpc-test-echo-trailing-bin"], "q6ur");
    }
    server.stop().await;
}

#[tokio::test]
async fn server_streaming() {
    let server = WebServer::start().await;
    let sizes = [31_415, 9, 2_653, 58_979];
    let request = StreamingOutputCallRequest {
        response_parameters: sizes
            .iter()
            .map(|&size| ResponseParameters {
                size,
                interval_us: 1_000,
                compressed: None,
            })
            .collect(),
        ..Default::default()
    };
    for mode in MODES {
        let response = call(server.addr, mode, "StreamingOutputCall", &request, &[]).await;
        assert_eq!(response.status(), "0", "{mode:?}");
        let got: Vec<usize> = response
            .messages
            .iter()
            .map(|m| {
                let m = StreamingOutputCallResponse::decode(m.clone()).expect("decodes");
                m.payload.expect("payload").body.len()
            })
            .collect();
        assert_eq!(got, [31_415, 9, 2_653, 58_979], "{mode:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn status_code_and_special_message() {
    let server = WebServer::start().await;
    for (message, mode) in ["test status message", SPECIAL_MESSAGE]
        .into_iter()
        .flat_map(|m| MODES.map(|mode| (m, mode)))
    {
        let request = SimpleRequest {
            response_status: Some(EchoStatus {
                code: 2,
                message: message.to_owned(),
            }),
            ..Default::default()
        };
        let response = call(server.addr, mode, "UnaryCall", &request, &[]).await;
        assert_eq!(response.status(), "2", "{mode:?}");
        assert_eq!(response.message(), message, "{mode:?}");
        assert!(response.messages.is_empty());
    }
    server.stop().await;
}

#[tokio::test]
async fn unimplemented_method_and_service() {
    let server = WebServer::start().await;
    for mode in MODES {
        let response = call(server.addr, mode, "UnimplementedCall", &Empty {}, &[]).await;
        assert_eq!(response.status(), "12", "{mode:?}");
    }
    // UnimplementedService is not registered; the path below is what its client sends.
    let request = Request::post(format!(
        "http://{}/grpc.testing.UnimplementedService/UnimplementedCall",
        server.addr
    ))
    .header("content-type", "application/grpc-web+proto")
    .body(Full::new(Bytes::from(frame(&Empty {}))))
    .expect("valid request");
    let mode = MODES[0];
    let response = client(mode).request(request).await.expect("HTTP exchange");
    let response = decode(mode, response).await;
    assert_eq!(response.status(), "12");
    server.stop().await;
}

#[tokio::test]
async fn native_grpc_still_served() {
    let server = WebServer::start().await;
    let mut client = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    client.empty_call(Empty {}).await.unwrap();
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn timeout_on_sleeping_server() {
    let server = WebServer::start().await;
    let request = StreamingOutputCallRequest {
        response_parameters: vec![ResponseParameters {
            size: 31_415,
            interval_us: 10_000_000,
            compressed: None,
        }],
        ..Default::default()
    };
    for mode in MODES {
        let started = std::time::Instant::now();
        let timeout = [("grpc-timeout", "100m")];
        let response = call(server.addr, mode, "StreamingOutputCall", &request, &timeout).await;
        assert_eq!(response.status(), "4", "{mode:?}");
        assert!(response.messages.is_empty());
        assert!(started.elapsed() < Duration::from_secs(5), "{mode:?}");
    }
    server.stop().await;
}

/// A preflight for a gRPC-Web call from `origin`: the status and the allowed origin.
async fn preflight(addr: SocketAddr, origin: &str) -> (u16, Option<String>) {
    let request = Request::builder()
        .method("OPTIONS")
        .uri(format!("http://{addr}/grpc.testing.TestService/EmptyCall"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web")
        .body(Full::new(Bytes::new()))
        .expect("valid request");
    let mode = Mode {
        http2: false,
        text: false,
    };
    let response = tokio::time::timeout(Duration::from_secs(20), client(mode).request(request))
        .await
        .expect("answered in time")
        .expect("HTTP exchange");
    let allowed = response
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status().as_u16(), allowed)
}

#[tokio::test]
async fn cors_for_the_allowed_origins_only() {
    let server = WebServer::start_with(ServeOptions {
        grpc_web: true,
        allowed_origins: vec!["http://app.example".to_owned()],
        ..ServeOptions::default()
    })
    .await;
    assert_eq!(
        preflight(server.addr, "http://app.example").await,
        (204, Some("http://app.example".to_owned()))
    );
    assert_eq!(
        preflight(server.addr, "http://evil.example").await,
        (403, None)
    );
    // Calls without an Origin (not from a browser) are not affected.
    let mode = Mode {
        http2: true,
        text: false,
    };
    let res = call(server.addr, mode, "EmptyCall", &Empty {}, &[]).await;
    assert_eq!(res.status(), "0");
    server.stop().await;
}

#[test]
fn an_invalid_allowed_origin_is_an_error() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let result = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let options = ServeOptions {
            grpc_web: true,
            allowed_origins: vec!["not an origin".to_owned()],
            ..ServeOptions::default()
        };
        serve(listener, options, std::future::pending()).await
    });
    let err = result.expect_err("an invalid origin is refused");
    assert_eq!(err.to_string(), "invalid allowed origin");
}

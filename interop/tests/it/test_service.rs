//! The interop cases against `TestServiceImpl`, over h2c with the generated tonic client.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use grpcweb_interop::pb::test_service_client::TestServiceClient;
use grpcweb_interop::pb::unimplemented_service_client::UnimplementedServiceClient;
use grpcweb_interop::pb::{
    EchoStatus, Empty, Payload, PayloadType, ResponseParameters, SimpleRequest,
    StreamingInputCallRequest, StreamingOutputCallRequest, StreamingOutputCallResponse,
};
use grpcweb_interop::{ServeError, ServeOptions, serve};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};

const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";
const INITIAL_VALUE: &str = "test_initial_metadata_value";
const TRAILING_VALUE: &[u8] = b"\xab\xab\xab";
const SPECIAL_MESSAGE: &str = "\t\ttest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

/// An in-process server on a free port, stopped gracefully by [`TestServer::stop`].
struct TestServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl TestServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, ServeOptions::default(), async {
            let _ = stopped.await;
        }));
        Self { addr, stop, task }
    }

    async fn client(&self) -> TestServiceClient<Channel> {
        TestServiceClient::connect(format!("http://{}", self.addr))
            .await
            .expect("connect to the test server")
    }

    /// Stops the server; every client must have been dropped, or this waits for them.
    async fn stop(self) {
        self.stop.send(()).expect("server still running");
        within(self.task)
            .await
            .expect("server task panicked")
            .expect("server failed");
    }
}

/// Fails the test instead of hanging when `f` takes more than a few seconds.
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out")
}

fn zeros(size: usize) -> Option<Payload> {
    Some(Payload {
        r#type: PayloadType::Compressable.into(),
        body: vec![0; size],
    })
}

fn streaming_request(sizes: &[i32], interval_us: i32) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: sizes
            .iter()
            .map(|&size| ResponseParameters {
                size,
                interval_us,
                compressed: None,
            })
            .collect(),
        ..Default::default()
    }
}

fn echo_status(code: i32, message: &str) -> Option<EchoStatus> {
    Some(EchoStatus {
        code,
        message: message.to_owned(),
    })
}

fn add_echo_metadata(metadata: &mut MetadataMap) {
    metadata.insert(ECHO_INITIAL, INITIAL_VALUE.parse().expect("ASCII value"));
    metadata.insert_bin(ECHO_TRAILING, MetadataValue::from_bytes(TRAILING_VALUE));
}

fn assert_initial_echo(metadata: &MetadataMap) {
    let value = metadata.get(ECHO_INITIAL).expect("initial metadata echoed");
    assert_eq!(value, INITIAL_VALUE);
}

fn assert_trailing_echo(metadata: &MetadataMap) {
    let value = metadata
        .get_bin(ECHO_TRAILING)
        .expect("trailing metadata echoed");
    let value = value.to_bytes().expect("valid base64");
    assert_eq!(value.as_ref(), TRAILING_VALUE);
}

/// A client-side request stream the test feeds one message at a time.
fn request_channel() -> (
    mpsc::Sender<StreamingOutputCallRequest>,
    ReceiverStream<StreamingOutputCallRequest>,
) {
    let (tx, rx) = mpsc::channel(8);
    (tx, ReceiverStream::new(rx))
}

async fn next_size(stream: &mut Streaming<StreamingOutputCallResponse>) -> usize {
    let response = within(stream.message())
        .await
        .expect("a response, not a status")
        .expect("a response, not the end");
    let payload = response.payload.expect("a payload");
    assert_eq!(payload.r#type(), PayloadType::Compressable);
    assert!(payload.body.iter().all(|&b| b == 0));
    payload.body.len()
}

async fn drain(stream: &mut Streaming<StreamingOutputCallResponse>) -> Status {
    loop {
        match within(stream.message()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("stream ended with OK"),
            Err(status) => return status,
        }
    }
}

#[tokio::test]
async fn empty_unary() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let response = client.empty_call(Empty {}).await.unwrap();
    assert_eq!(response.into_inner(), Empty {});
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn large_unary() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let request = SimpleRequest {
        response_size: 314_159,
        payload: zeros(271_828),
        ..Default::default()
    };
    let response = client
        .unary_call(request.clone())
        .await
        .unwrap()
        .into_inner();
    let payload = response.payload.unwrap();
    assert_eq!(payload.r#type(), PayloadType::Compressable);
    assert_eq!(payload.body, vec![0; 314_159]);
    assert!(response.username.is_empty() && response.oauth_scope.is_empty());

    let cached = client.cacheable_unary_call(request).await.unwrap();
    assert_eq!(cached.into_inner().payload.unwrap().body.len(), 314_159);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn unary_with_ok_echo_status_succeeds() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let request = SimpleRequest {
        response_size: 3,
        response_status: echo_status(0, "ignored"),
        ..Default::default()
    };
    let response = client.unary_call(request).await.unwrap().into_inner();
    assert_eq!(response.payload.unwrap().body.len(), 3);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn server_streaming() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let sizes = [31_415, 9, 2_653, 58_979];
    let started = Instant::now();
    let mut stream = client
        .streaming_output_call(streaming_request(&sizes, 20_000))
        .await
        .unwrap()
        .into_inner();
    for size in sizes {
        assert_eq!(next_size(&mut stream).await, size as usize);
    }
    assert!(within(stream.message()).await.unwrap().is_none());
    // Four 20 ms sleeps happened before the responses.
    assert!(started.elapsed() >= Duration::from_millis(80));
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn server_streaming_then_status() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut request = streaming_request(&[5, 6], 0);
    request.response_status = echo_status(2, "test status message");
    let mut stream = client
        .streaming_output_call(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next_size(&mut stream).await, 5);
    assert_eq!(next_size(&mut stream).await, 6);
    let status = within(stream.message()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "test status message");
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn client_streaming() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let requests = [27_182, 8, 1_828, 45_904].map(|size| StreamingInputCallRequest {
        payload: zeros(size),
        expect_compressed: None,
    });
    let response = client
        .streaming_input_call(tokio_stream::iter(requests))
        .await
        .unwrap();
    assert_eq!(response.into_inner().aggregated_payload_size, 74_922);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn ping_pong() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (tx, requests) = request_channel();
    let sizes = [(31_415, 27_182), (9, 8), (2_653, 1_828), (58_979, 45_904)];
    tx.send(streaming_request(&[sizes[0].0], 0)).await.unwrap();
    let mut stream = client
        .full_duplex_call(requests)
        .await
        .unwrap()
        .into_inner();
    for (i, &(response_size, request_size)) in sizes.iter().enumerate() {
        if i > 0 {
            let mut request = streaming_request(&[response_size], 0);
            request.payload = zeros(request_size);
            tx.send(request).await.unwrap();
        }
        // Each answer arrives while the request stream is still open: full duplex.
        assert_eq!(next_size(&mut stream).await, response_size as usize);
    }
    drop(tx);
    assert!(within(stream.message()).await.unwrap().is_none());
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn half_duplex_answers_after_input_ends() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (tx, requests) = request_channel();
    tx.send(streaming_request(&[1, 2], 0)).await.unwrap();
    let mut stream = client
        .half_duplex_call(requests)
        .await
        .unwrap()
        .into_inner();
    tx.send(streaming_request(&[3], 0)).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(200), stream.message()).await;
    assert!(
        early.is_err(),
        "half duplex answered before the input ended"
    );
    drop(tx);
    for size in [1, 2, 3] {
        assert_eq!(next_size(&mut stream).await, size);
    }
    assert!(within(stream.message()).await.unwrap().is_none());
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn empty_stream() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut stream = client
        .full_duplex_call(tokio_stream::empty())
        .await
        .unwrap()
        .into_inner();
    assert!(within(stream.message()).await.unwrap().is_none());
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn custom_metadata_unary() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut request = Request::new(SimpleRequest {
        response_size: 314_159,
        payload: zeros(271_828),
        ..Default::default()
    });
    add_echo_metadata(request.metadata_mut());
    let response = client.unary_call(request).await.unwrap();
    // tonic merges the trailers of a unary response into its metadata.
    assert_initial_echo(response.metadata());
    assert_trailing_echo(response.metadata());
    assert_eq!(response.into_inner().payload.unwrap().body.len(), 314_159);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn custom_metadata_full_duplex() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut first = streaming_request(&[314_159], 0);
    first.payload = zeros(271_828);
    let mut request = Request::new(tokio_stream::iter([first]));
    add_echo_metadata(request.metadata_mut());
    let response = client.full_duplex_call(request).await.unwrap();
    assert_initial_echo(response.metadata());
    let mut stream = response.into_inner();
    assert_eq!(next_size(&mut stream).await, 314_159);
    assert!(within(stream.message()).await.unwrap().is_none());
    let trailers = within(stream.trailers()).await.unwrap().unwrap();
    assert_trailing_echo(&trailers);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn custom_metadata_server_streaming() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut request = Request::new(streaming_request(&[7, 8], 0));
    add_echo_metadata(request.metadata_mut());
    let response = client.streaming_output_call(request).await.unwrap();
    assert_initial_echo(response.metadata());
    let mut stream = response.into_inner();
    assert_eq!(next_size(&mut stream).await, 7);
    assert_eq!(next_size(&mut stream).await, 8);
    assert!(within(stream.message()).await.unwrap().is_none());
    let trailers = within(stream.trailers()).await.unwrap().unwrap();
    assert_trailing_echo(&trailers);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn custom_metadata_on_errors() {
    let server = TestServer::start().await;
    let mut client = server.client().await;

    // Unary failure: tonic answers trailers-only, so both echoes are in that one block.
    let mut request = Request::new(SimpleRequest {
        response_status: echo_status(2, "test status message"),
        ..Default::default()
    });
    add_echo_metadata(request.metadata_mut());
    let status = client.unary_call(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert_initial_echo(status.metadata());
    assert_trailing_echo(status.metadata());

    // Streaming failure after the headers: the trailing echo is in the trailers.
    let mut failing = streaming_request(&[4], 0);
    failing.response_status = echo_status(2, "test status message");
    let mut request = Request::new(tokio_stream::iter([failing]));
    add_echo_metadata(request.metadata_mut());
    let response = client.full_duplex_call(request).await.unwrap();
    assert_initial_echo(response.metadata());
    let mut stream = response.into_inner();
    assert_eq!(next_size(&mut stream).await, 4);
    let status = within(stream.message()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert_trailing_echo(status.metadata());
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn status_code_and_message() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let request = SimpleRequest {
        response_status: echo_status(2, "test status message"),
        ..Default::default()
    };
    let status = client.unary_call(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "test status message");

    let mut request = streaming_request(&[], 0);
    request.response_status = echo_status(2, "test status message");
    let mut stream = client
        .full_duplex_call(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let status = drain(&mut stream).await;
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "test status message");
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn special_status_message() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let request = SimpleRequest {
        response_status: echo_status(2, SPECIAL_MESSAGE),
        ..Default::default()
    };
    let status = client.unary_call(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), SPECIAL_MESSAGE);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn unimplemented_method() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let status = client.unimplemented_call(Empty {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn unimplemented_service() {
    let server = TestServer::start().await;
    let mut client = UnimplementedServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    let status = client.unimplemented_call(Empty {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn timeout_on_sleeping_server() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    // The interop case: 1 ms deadline, request stream left open.
    let (tx, requests) = request_channel();
    let mut first = streaming_request(&[31_415], 0);
    first.payload = zeros(27_182);
    tx.send(first).await.unwrap();
    let mut request = Request::new(requests);
    request.set_timeout(Duration::from_millis(1));
    let status = match client.full_duplex_call(request).await {
        Ok(response) => drain(&mut response.into_inner()).await,
        Err(status) => status,
    };
    // Either side's timer may end it: the server's answers DEADLINE_EXCEEDED; tonic's own
    // client timer (it runs until the response headers come, which can take longer than
    // 1 ms on a busy machine) reports CANCELLED "Timeout expired".
    let client_timer = status.code() == Code::Cancelled && status.message() == "Timeout expired";
    assert!(
        status.code() == Code::DeadlineExceeded || client_timer,
        "{status:?}"
    );
    drop(tx);

    // A server that sleeps far longer than the deadline stops at the deadline.
    let (tx, requests) = request_channel();
    tx.send(streaming_request(&[1], 10_000_000)).await.unwrap();
    let mut request = Request::new(requests);
    request.set_timeout(Duration::from_millis(100));
    let started = Instant::now();
    let mut stream = client.full_duplex_call(request).await.unwrap().into_inner();
    let status = within(stream.message()).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(tx);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn server_streaming_deadline() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut request = Request::new(streaming_request(&[1, 2], 300_000));
    request.set_timeout(Duration::from_millis(450));
    let mut stream = client
        .streaming_output_call(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next_size(&mut stream).await, 1);
    let status = within(stream.message()).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    drop(client);
    server.stop().await;
}

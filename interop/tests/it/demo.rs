//! `grpcweb.demo.v1.DemoService` over h2c with the generated tonic client: what the demo
//! page relies on.

use std::time::{Duration, Instant};

use grpcweb_interop::demo_pb::demo_service_client::DemoServiceClient;
use grpcweb_interop::demo_pb::{
    CollectRequest, EchoRequest, FailRequest, SleepRequest, TickerRequest,
};
use grpcweb_interop::rpc_pb::{BadRequest, ErrorInfo};
use grpcweb_interop::{CALL_NUMBER_HEADER, ERROR_DOMAIN, MAX_COLLECT_BYTES, serve_demo};
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Request};

/// `google.rpc.Status` as a client decodes `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// Runs `test` against a demo server on a free port, then stops the server.
async fn with_demo<F, Fut>(test: F)
where
    F: FnOnce(DemoServiceClient<Channel>) -> Fut,
    Fut: Future<Output = ()>,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("bound address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve_demo(listener, async {
        let _ = stopped.await;
    }));
    let client = DemoServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect to the demo server");
    test(client).await;
    stop.send(()).expect("server still running");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops within 10 s")
        .expect("server task panicked")
        .expect("server failed");
}

#[tokio::test]
async fn echo_returns_message_metadata_and_counts_calls() {
    with_demo(|mut client| async move {
        let mut request = Request::new(EchoRequest {
            message: "hi ☺".to_owned(),
        });
        request
            .metadata_mut()
            .insert("x-demo-client", "test".parse().unwrap());
        let first = client.echo(request).await.unwrap();
        assert_eq!(first.metadata().get(CALL_NUMBER_HEADER).unwrap(), "1");
        let first = first.into_inner();
        assert_eq!(first.message, "hi ☺");
        assert_eq!(first.call_number, 1);
        assert_eq!(first.request_metadata["x-demo-client"], "test");
        assert_eq!(first.request_metadata["content-type"], "application/grpc");
        assert!(first.server_time_unix_ms > 1_700_000_000_000);
        let second = client.echo(EchoRequest::default()).await.unwrap();
        assert_eq!(second.into_inner().call_number, 2);
    })
    .await;
}

#[tokio::test]
async fn ticker_sends_count_ticks_at_the_interval() {
    with_demo(|mut client| async move {
        let started = Instant::now();
        let mut stream = client
            .ticker(TickerRequest {
                count: 3,
                interval_ms: 30,
            })
            .await
            .unwrap()
            .into_inner();
        let mut ticks = Vec::new();
        while let Some(tick) = stream.message().await.unwrap() {
            ticks.push((tick.seq, tick.remaining));
        }
        assert_eq!(ticks, [(1, 2), (2, 1), (3, 0)]);
        assert!(started.elapsed() >= Duration::from_millis(90));
    })
    .await;
}

#[tokio::test]
async fn ticker_rejects_out_of_range_requests() {
    with_demo(|mut client| async move {
        for (count, interval_ms) in [(0, 10), (1001, 10), (1, 60_001)] {
            let err = client
                .ticker(TickerRequest { count, interval_ms })
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{count} {interval_ms}");
        }
    })
    .await;
}

#[tokio::test]
async fn fail_sends_bad_request_and_error_info_details() {
    with_demo(|mut client| async move {
        let err = client
            .fail(FailRequest {
                field: "name".to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let status = RpcStatus::decode(err.details()).unwrap();
        assert_eq!(status.code, Code::InvalidArgument as i32);
        assert_eq!(status.message, err.message());
        assert_eq!(status.details.len(), 2);
        assert_eq!(
            status.details[0].type_url,
            "type.googleapis.com/google.rpc.BadRequest"
        );
        let bad = BadRequest::decode(status.details[0].value.as_slice()).unwrap();
        assert_eq!(bad.field_violations.len(), 1);
        assert_eq!(bad.field_violations[0].field, "name");
        let info = ErrorInfo::decode(status.details[1].value.as_slice()).unwrap();
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("DEMO_FAILURE", ERROR_DOMAIN)
        );

        // An empty field blames "email".
        let err = client.fail(FailRequest::default()).await.unwrap_err();
        assert!(err.message().contains("email"), "{}", err.message());
    })
    .await;
}

#[tokio::test]
async fn sleep_sleeps_and_a_shorter_deadline_expires_first() {
    with_demo(|mut client| async move {
        let slept = client
            .sleep(SleepRequest { duration_ms: 50 })
            .await
            .unwrap();
        assert_eq!(slept.into_inner().slept_ms, 50);

        let mut request = Request::new(SleepRequest { duration_ms: 2000 });
        request.set_timeout(Duration::from_millis(100));
        let started = Instant::now();
        let err = client.sleep(request).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(1500));
        // tonic's server reports its own expired deadline as CANCELLED.
        assert!(
            matches!(err.code(), Code::Cancelled | Code::DeadlineExceeded),
            "{err:?}"
        );

        let err = client
            .sleep(SleepRequest {
                duration_ms: 30_001,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    })
    .await;
}

#[tokio::test]
async fn collect_answers_the_closed_stream_with_count_and_words() {
    with_demo(|mut client| async move {
        let words = ["one", "two", "three"].map(|w| CollectRequest { word: w.to_owned() });
        let res = client
            .collect(tokio_stream::iter(words))
            .await
            .expect("Collect")
            .into_inner();
        assert_eq!(res.count, 3);
        assert_eq!(res.joined, "one two three");

        let empty = client
            .collect(tokio_stream::iter(Vec::<CollectRequest>::new()))
            .await
            .expect("an empty stream")
            .into_inner();
        assert_eq!((empty.count, empty.joined.as_str()), (0, ""));

        let big = CollectRequest {
            word: "x".repeat(MAX_COLLECT_BYTES / 2),
        };
        let err = client
            .collect(tokio_stream::iter(vec![big.clone(), big.clone(), big]))
            .await
            .expect_err("more than MAX_COLLECT_BYTES");
        assert_eq!(err.code(), Code::ResourceExhausted);
    })
    .await;
}

//! The gRPC-Web interop cases (docs/protocol.md I1-I3) against the proxy in front
//! of the tonic interop server and against the interop server with the layer in-process,
//! over HTTP/1.1 and HTTP/2, in binary and text mode.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use anyhow::{Context as _, ensure};
use bytes::Bytes;
use grpcweb_interop::pb;
use grpcweb_test_support::{Code, HttpVersion, Mode, WebClient, within};
use prost::Message as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::Target;

const TEST_SERVICE: &str = "/grpc.testing.TestService/";

type BoxedCase<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + 'a>>;
type Case = for<'a> fn(&'a WebClient, SocketAddr, Mode) -> BoxedCase<'a>;

/// Runs `case` for every target, HTTP version and mode; fails listing every combination
/// that failed.
async fn run_matrix(name: &str, case: Case) {
    let mut failures = Vec::new();
    let mut runs = 0;
    for (target_name, target) in Target::all().await {
        for version in [HttpVersion::H1, HttpVersion::H2] {
            let client = WebClient::new(version);
            for mode in [Mode::Binary, Mode::Text] {
                runs += 1;
                let label = format!("{name} [{target_name}, {version:?}, {mode:?}]");
                match within(Duration::from_secs(20), case(&client, target.addr(), mode)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => failures.push(format!("{label}: {e:#}")),
                    Err(e) => failures.push(format!("{label}: {e:#}")),
                }
            }
        }
    }
    assert_eq!(runs, 8);
    assert!(
        failures.is_empty(),
        "{} of {runs} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn zeros(n: usize) -> pb::Payload {
    pb::Payload {
        r#type: 0,
        body: vec![0; n],
    }
}

fn empty_unary(client: &WebClient, addr: SocketAddr, mode: Mode) -> BoxedCase<'_> {
    Box::pin(async move {
        let res = client
            .call(addr, &format!("{TEST_SERVICE}EmptyCall"))
            .mode(mode)
            .message_proto(&pb::Empty {})
            .send()
            .await?;
        ensure!(res.status == 200, "HTTP {}", res.status);
        ensure!(
            res.grpc_status() == Some(Code::Ok),
            "status {:?}",
            res.status()
        );
        let expected_ct = match mode {
            Mode::Binary => "application/grpc-web+proto",
            Mode::Text => "application/grpc-web-text+proto",
        };
        ensure!(
            res.content_type() == Some(expected_ct),
            "content-type {:?}",
            res.content_type()
        );
        ensure!(
            res.message_payloads() == [Bytes::new()],
            "messages {:?}",
            res.message_payloads()
        );
        ensure!(
            res.http_trailers.is_none(),
            "HTTP trailers sent to a gRPC-Web client"
        );
        Ok(())
    })
}

fn large_unary(client: &WebClient, addr: SocketAddr, mode: Mode) -> BoxedCase<'_> {
    Box::pin(async move {
        let req = pb::SimpleRequest {
            response_size: 314_159,
            payload: Some(zeros(271_828)),
            ..Default::default()
        };
        let res = client
            .call(addr, &format!("{TEST_SERVICE}UnaryCall"))
            .mode(mode)
            .message_proto(&req)
            .send()
            .await?;
        ensure!(
            res.grpc_status() == Some(Code::Ok),
            "status {:?}",
            res.status()
        );
        let msgs: Vec<pb::SimpleResponse> = res.decode_messages()?;
        ensure!(msgs.len() == 1, "{} messages", msgs.len());
        let body = &msgs[0].payload.as_ref().context("no payload")?.body;
        ensure!(
            body.len() == 314_159 && body.iter().all(|&b| b == 0),
            "payload of {} bytes",
            body.len()
        );
        Ok(())
    })
}

fn server_streaming(client: &WebClient, addr: SocketAddr, mode: Mode) -> BoxedCase<'_> {
    Box::pin(async move {
        let sizes = [31_415, 9, 2_653, 58_979];
        let req = pb::StreamingOutputCallRequest {
            response_parameters: sizes
                .iter()
                .map(|&size| pb::ResponseParameters {
                    size,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let res = client
            .call(addr, &format!("{TEST_SERVICE}StreamingOutputCall"))
            .mode(mode)
            .message_proto(&req)
            .send()
            .await?;
        ensure!(
            res.grpc_status() == Some(Code::Ok),
            "status {:?}",
            res.status()
        );
        let msgs: Vec<pb::StreamingOutputCallResponse> = res.decode_messages()?;
        let got: Vec<usize> = msgs
            .iter()
            .map(|m| m.payload.as_ref().map_or(0, |p| p.body.len()))
            .collect();
        ensure!(got == [31_415, 9, 2_653, 58_979], "sizes {got:?}");
        Ok(())
    })
}

fn custom_metadata(client: &WebClient, addr: SocketAddr, mode: Mode) -> BoxedCase<'_> {
    Box::pin(async move {
        let unary = pb::SimpleRequest {
            response_size: 314_159,
            payload: Some(zeros(271_828)),
            ..Default::default()
        };
        let streaming = pb::StreamingOutputCallRequest {
            response_parameters: vec![pb::ResponseParameters {
                size: 314_159,
                ..Default::default()
            }],
            payload: Some(zeros(271_828)),
            ..Default::default()
        };
        for (method, body) in [
            ("UnaryCall", unary.encode_to_vec()),
            ("StreamingOutputCall", streaming.encode_to_vec()),
        ] {
            let res = client
                .call(addr, &format!("{TEST_SERVICE}{method}"))
                .mode(mode)
                .header("x-grpc-test-echo-initial", "test_initial_metadata_value")
                .header("x-grpc-test-echo-trailing-bin", "q6ur")
                .message(body)
                .send()
                .await?;
            ensure!(
                res.grpc_status() == Some(Code::Ok),
                "{method}: status {:?}",
                res.status()
            );
            ensure!(
                res.header("x-grpc-test-echo-initial") == Some("test_initial_metadata_value"),
                "{method}: initial metadata {:?}",
                res.header("x-grpc-test-echo-initial")
            );
            let trailers = res.trailers.as_ref().context("no trailer frame")?;
            let bin = trailers
                .get("x-grpc-test-echo-trailing-bin")
                .context("trailing metadata missing")?;
            let decoded = grpcweb_protocol::metadata::decode_bin(bin.as_bytes())?;
            ensure!(
                decoded == [Bytes::from_static(&[0xab, 0xab, 0xab])],
                "{method}: trailing {bin:?}"
            );
            ensure!(res.message_payloads().len() == 1, "{method}: one message");
        }
        Ok(())
    })
}

/// One call of a case: the method's path and the request message.
type Call = (&'static str, fn() -> Vec<u8>);

/// A case whose answer is a status: each call of `calls` (path, request) must end with
/// `code` (and `message`), HTTP 200 and the status in the body's trailer frame.
#[derive(Clone, Copy)]
struct StatusCase {
    calls: &'static [Call],
    headers: &'static [(&'static str, &'static str)],
    code: Code,
    message: Option<&'static str>,
    /// No response message may come.
    no_messages: bool,
    /// The answer must come within this long.
    within: Duration,
}

fn expect_status<'a>(
    client: &'a WebClient,
    addr: SocketAddr,
    mode: Mode,
    case: StatusCase,
) -> BoxedCase<'a> {
    Box::pin(async move {
        for (path, request) in case.calls {
            let start = Instant::now();
            let mut call = client.call(addr, path).mode(mode).message(request());
            for (name, value) in case.headers {
                call = call.header(name, value);
            }
            let res = call.send().await?;
            ensure!(res.status == 200, "{path}: HTTP {}", res.status);
            ensure!(
                res.grpc_status() == Some(case.code),
                "{path}: {:?}",
                res.status()
            );
            if let Some(message) = case.message {
                ensure!(
                    res.grpc_message().as_deref() == Some(message),
                    "{path}: {:?}",
                    res.grpc_message()
                );
            }
            ensure!(
                res.trailers.is_some(),
                "{path}: status must be in the body trailer frame"
            );
            ensure!(
                !case.no_messages || res.message_payloads().is_empty(),
                "{path}: messages {:?}",
                res.message_payloads()
            );
            ensure!(
                start.elapsed() < case.within,
                "{path}: took {:?}",
                start.elapsed()
            );
        }
        Ok(())
    })
}

/// An UNKNOWN status with `message`, for the server to answer with.
fn echo_status(message: &str) -> pb::EchoStatus {
    pb::EchoStatus {
        code: 2,
        message: message.into(),
    }
}

const SPECIAL_MESSAGE: &str = "\t\ttest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

/// The status cases, by name.
const STATUS_CASES: &[(&str, StatusCase)] = &[
    (
        "status_code_and_message",
        StatusCase {
            calls: &[
                ("/grpc.testing.TestService/UnaryCall", || {
                    pb::SimpleRequest {
                        response_status: Some(echo_status("test status message")),
                        ..Default::default()
                    }
                    .encode_to_vec()
                }),
                ("/grpc.testing.TestService/StreamingOutputCall", || {
                    pb::StreamingOutputCallRequest {
                        response_status: Some(echo_status("test status message")),
                        ..Default::default()
                    }
                    .encode_to_vec()
                }),
            ],
            headers: &[],
            code: Code::Unknown,
            message: Some("test status message"),
            no_messages: false,
            within: Duration::from_secs(20),
        },
    ),
    (
        "special_status_message",
        StatusCase {
            calls: &[("/grpc.testing.TestService/UnaryCall", || {
                pb::SimpleRequest {
                    response_status: Some(echo_status(SPECIAL_MESSAGE)),
                    ..Default::default()
                }
                .encode_to_vec()
            })],
            headers: &[],
            code: Code::Unknown,
            message: Some(SPECIAL_MESSAGE),
            no_messages: false,
            within: Duration::from_secs(20),
        },
    ),
    (
        "unimplemented_method",
        StatusCase {
            calls: &[("/grpc.testing.TestService/UnimplementedCall", || {
                pb::Empty {}.encode_to_vec()
            })],
            headers: &[],
            code: Code::Unimplemented,
            message: None,
            no_messages: false,
            within: Duration::from_secs(20),
        },
    ),
    (
        "unimplemented_service",
        StatusCase {
            calls: &[(
                "/grpc.testing.UnimplementedService/UnimplementedCall",
                || pb::Empty {}.encode_to_vec(),
            )],
            headers: &[],
            code: Code::Unimplemented,
            message: None,
            no_messages: false,
            within: Duration::from_secs(20),
        },
    ),
    (
        "timeout_on_sleeping_server",
        StatusCase {
            calls: &[("/grpc.testing.TestService/StreamingOutputCall", || {
                pb::StreamingOutputCallRequest {
                    response_parameters: vec![pb::ResponseParameters {
                        size: 1,
                        interval_us: 5_000_000,
                        ..Default::default()
                    }],
                    payload: Some(zeros(27_182)),
                    ..Default::default()
                }
                .encode_to_vec()
            })],
            headers: &[("grpc-timeout", "100m")],
            code: Code::DeadlineExceeded,
            message: None,
            no_messages: true,
            within: Duration::from_secs(3),
        },
    ),
];

/// The status case named `name`.
fn status_case(name: &str) -> StatusCase {
    let (_, case) = STATUS_CASES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no status case {name}"));
    *case
}

/// One `#[tokio::test]` per case, each running the whole matrix.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod case {
            $(
                #[tokio::test]
                async fn $case() {
                    super::run_matrix(stringify!($case), super::$case).await;
                }
            )*
        }
    };
}

cases!(empty_unary, large_unary, server_streaming, custom_metadata);

/// One `#[tokio::test]` per row of [`STATUS_CASES`], each running the whole matrix.
macro_rules! status_cases {
    ($($case:ident),* $(,)?) => {
        mod status_case {
            $(
                #[tokio::test]
                async fn $case() {
                    super::run_matrix(stringify!($case), |client, addr, mode| {
                        super::expect_status(client, addr, mode, super::status_case(stringify!($case)))
                    })
                    .await;
                }
            )*

            #[test]
            fn every_row_has_a_test() {
                let names = [$(stringify!($case)),*];
                for (name, _) in super::STATUS_CASES {
                    assert!(names.contains(name), "{name} has no test");
                }
            }
        }
    };
}

status_cases!(
    status_code_and_message,
    special_status_message,
    unimplemented_method,
    unimplemented_service,
    timeout_on_sleeping_server,
);

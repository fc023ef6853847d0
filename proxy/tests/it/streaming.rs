//! Server streams are forwarded message by message, never buffered (docs/protocol.md S2, S3):
//! a message the backend sends 300 ms before the next one reaches the client before the
//! next one is sent.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support;

use grpcweb_interop::pb;
use grpcweb_test_support::{Code, HttpVersion, Mode, WebClient, within};
use std::time::Duration;
use support::Target;

const GAP: Duration = Duration::from_millis(300);

#[tokio::test]
async fn each_message_arrives_before_the_next_is_sent() {
    let req = pb::StreamingOutputCallRequest {
        response_parameters: vec![
            pb::ResponseParameters {
                size: 10,
                interval_us: 0,
                ..Default::default()
            },
            pb::ResponseParameters {
                size: 20_000,
                interval_us: GAP.as_micros() as i32,
                ..Default::default()
            },
            pb::ResponseParameters {
                size: 30,
                interval_us: GAP.as_micros() as i32,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    for (target_name, target) in Target::all().await {
        for version in [HttpVersion::H1, HttpVersion::H2] {
            for mode in [Mode::Binary, Mode::Text] {
                let label = format!("{target_name} {version:?} {mode:?}");
                let res = within(
                    Duration::from_secs(10),
                    WebClient::new(version)
                        .call(
                            target.addr(),
                            "/grpc.testing.TestService/StreamingOutputCall",
                        )
                        .mode(mode)
                        .message_proto(&req)
                        .send(),
                )
                .await
                .unwrap()
                .unwrap();
                assert_eq!(res.grpc_status(), Some(Code::Ok), "{label}");
                let at: Vec<_> = res.messages.iter().map(|(t, _)| *t).collect();
                assert_eq!(at.len(), 3, "{label}");
                // The first message is not held back waiting for the second.
                assert!(
                    at[0].duration_since(res.headers_at) < Duration::from_millis(150),
                    "{label}: first message late"
                );
                for pair in at.windows(2) {
                    let gap = pair[1].duration_since(pair[0]);
                    assert!(
                        gap >= GAP - Duration::from_millis(60),
                        "{label}: messages arrived {gap:?} apart, so one was held back"
                    );
                }
                // The trailer frame follows the last message promptly.
                assert!(
                    res.finished_at.duration_since(at[2]) < Duration::from_millis(150),
                    "{label}"
                );
            }
        }
    }
}

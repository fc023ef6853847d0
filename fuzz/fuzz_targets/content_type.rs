//! `content-type` classification: any value is classified without panicking, and the
//! headers derived from a gRPC-Web type (the response type, the upstream type) classify
//! back to the same mode and codec.
#![no_main]

use grpcweb_protocol::ContentType;
use grpcweb_protocol::content_type::RequestKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    match RequestKind::parse(value) {
        Some(RequestKind::GrpcWeb(ct)) => {
            assert_eq!(ContentType::parse(value), Some(ct.clone()));
            let response = ct.response_header();
            assert!(
                http::HeaderValue::from_str(&response).is_ok(),
                "{response:?}"
            );
            assert_eq!(
                ContentType::parse(&response),
                Some(ct.clone()),
                "{response:?}"
            );
            let upstream = ct.upstream_header();
            assert!(
                http::HeaderValue::from_str(&upstream).is_ok(),
                "{upstream:?}"
            );
            assert_eq!(
                RequestKind::parse(&upstream),
                Some(RequestKind::Grpc(ct.codec.clone())),
                "{upstream:?}"
            );
        }
        Some(RequestKind::Grpc(_)) => assert_eq!(ContentType::parse(value), None),
        None => assert_eq!(ContentType::parse(value), None),
    }
});

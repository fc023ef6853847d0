//! `grpc-message` percent-encoding: decoding never panics, encoded text is a valid header
//! value, and every string round-trips.
#![no_main]

use grpcweb_protocol::percent::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = decode(data);
    let encoded = encode(&decoded);
    assert!(
        http::HeaderValue::from_str(&encoded).is_ok(),
        "not a header value: {encoded:?}"
    );
    assert_eq!(
        decode(encoded.as_bytes()),
        decoded,
        "round trip changed the message"
    );
});

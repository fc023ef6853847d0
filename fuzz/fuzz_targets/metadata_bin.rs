//! `-bin` metadata: the two decoders (the `base64` engine and the compact one the wasm
//! runtime uses) agree on every value, the two encoders agree, and a value encodes and
//! decodes back to itself.
#![no_main]

use grpcweb_protocol::metadata::{
    decode_bin, decode_bin_compact, encode_bin, encode_bin_compact, is_bin_name,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_eq!(decode_bin(data), decode_bin_compact(data));
    let encoded = encode_bin(data);
    assert_eq!(encoded, encode_bin_compact(data));
    assert!(http::HeaderValue::from_str(&encoded).is_ok());
    assert_eq!(
        decode_bin(encoded.as_bytes()).expect("an encoded value decodes"),
        [data]
    );
    if let Ok(name) = std::str::from_utf8(data) {
        let _ = is_bin_name(name);
    }
});

//! `grpc-web-text` decoding: incremental (any chunking) and one-shot agree, everything a
//! strict reference decoder accepts decodes the same, and encoded segments round-trip.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::BytesMut;
use grpcweb_fuzz::{cut, split_input};
use grpcweb_protocol::text::{
    Base64Decoder, TextError, decode_all, encode_segment, encode_segment_into,
};
use libfuzzer_sys::fuzz_target;

fn decode_chunks(chunks: &[&[u8]]) -> Result<Vec<u8>, TextError> {
    let mut decoder = Base64Decoder::new();
    let mut out = BytesMut::new();
    for chunk in chunks {
        decoder.decode(chunk, &mut out)?;
    }
    decoder.finish()?;
    Ok(out.to_vec())
}

fuzz_target!(|data: &[u8]| {
    let (points, payload) = split_input(data);

    // 1. The payload as a text body: chunking never changes the result.
    let one_shot = decode_all(payload).map(|b| b.to_vec());
    let incremental = decode_chunks(&cut(payload, points.clone()));
    assert_eq!(one_shot, incremental, "incremental and one-shot disagree");
    if let Ok(reference) = STANDARD.decode(payload) {
        assert_eq!(
            one_shot.as_ref(),
            Ok(&reference),
            "differs from the reference"
        );
    }

    // 2. The payload as data: one segment round-trips and matches the reference encoder.
    let segment = encode_segment(payload);
    assert_eq!(&segment[..], STANDARD.encode(payload).as_bytes());
    assert_eq!(
        decode_all(&segment).map(|b| b.to_vec()),
        Ok(payload.to_vec())
    );

    // 3. The payload cut into pieces, each its own padded segment (S3), joined and then
    //    delivered under the same cut points: decodes to the payload.
    let mut wire = BytesMut::new();
    for piece in cut(payload, points.clone()) {
        encode_segment_into(piece, &mut wire);
    }
    let wire_points = points
        .iter()
        .map(|p| p * wire.len() / (payload.len() + 1))
        .collect();
    assert_eq!(
        decode_chunks(&cut(&wire, wire_points)),
        Ok(payload.to_vec())
    );
});

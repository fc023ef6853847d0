//! `FrameDecoder` on arbitrary bytes under arbitrary chunking: never panics, chunking
//! never changes the outcome, and every frame it returns re-encodes to the input bytes.
#![no_main]

use bytes::Bytes;
use grpcweb_fuzz::{cut, split_input};
use grpcweb_protocol::framing::{Frame, FrameDecoder, FrameError, HEADER_LEN, encode_frame};
use libfuzzer_sys::fuzz_target;

/// Limits worth exercising: zero, tiny, around a header, and the real default.
const LIMITS: [usize; 6] = [
    0,
    1,
    5,
    64,
    4096,
    grpcweb_protocol::framing::DEFAULT_MAX_FRAME_LEN,
];

fn decode(chunks: &[&[u8]], max: usize) -> (Vec<Frame>, Result<(), FrameError>) {
    let mut decoder = FrameDecoder::new(max);
    let mut frames = Vec::new();
    let mut pushed = 0;
    let mut taken = 0;
    for chunk in chunks {
        decoder.push(Bytes::copy_from_slice(chunk));
        pushed += chunk.len();
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    taken += HEADER_LEN + frame.payload.len();
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(err) => return (frames, Err(err)),
            }
        }
        // Everything pushed is in a returned frame, buffered, or a parsed pending header.
        let header = match decoder.finish() {
            Err(FrameError::Truncated { need: Some(_), .. }) => HEADER_LEN,
            _ => 0,
        };
        assert_eq!(taken + header + decoder.buffered(), pushed);
    }
    (frames, decoder.finish())
}

fuzz_target!(|data: &[u8]| {
    let (points, payload) = split_input(data);
    let max = LIMITS[data.first().map_or(0, |b| usize::from(b >> 4)) % LIMITS.len()];

    let whole = decode(&[payload], max);
    let chunked = decode(&cut(payload, points), max);
    assert_eq!(whole, chunked, "chunking changed the outcome");

    // Round trip: the frames re-encode to exactly the bytes they came from.
    let (frames, result) = whole;
    let reencoded: Vec<u8> = frames
        .iter()
        .flat_map(|f| encode_frame(f.kind, &f.payload).to_vec())
        .collect();
    assert_eq!(&payload[..reencoded.len()], &reencoded[..]);
    if result.is_ok() {
        assert_eq!(reencoded.len(), payload.len(), "Ok but bytes left over");
    }
    for frame in &frames {
        assert!(frame.payload.len() <= max, "frame above the limit");
    }
});

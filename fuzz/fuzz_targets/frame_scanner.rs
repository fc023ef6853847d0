//! `FrameScanner` (what the proxy runs over backend responses) against `FrameDecoder` (what
//! it runs over client requests): under any chunking they accept and refuse the same
//! streams, and the scanner counts the decoder's data frames.
#![no_main]

use bytes::Bytes;
use grpcweb_fuzz::{cut, split_input};
use grpcweb_protocol::framing::{FrameDecoder, FrameScanner};
use libfuzzer_sys::fuzz_target;

const LIMITS: [usize; 5] = [0, 1, 5, 64, 4096];

fuzz_target!(|data: &[u8]| {
    let (points, payload) = split_input(data);
    let max = LIMITS[data.first().map_or(0, |b| usize::from(b >> 4)) % LIMITS.len()];
    let chunks = cut(payload, points);

    let mut decoder = FrameDecoder::new(max);
    decoder.push(Bytes::copy_from_slice(payload));
    let mut data_frames = 0u64;
    let decoded = loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => data_frames += u64::from(!frame.kind.is_trailers()),
            Ok(None) => break decoder.finish(),
            Err(e) => break Err(e),
        }
    };

    let mut scanner = FrameScanner::new(max);
    let scanned = chunks
        .iter()
        .try_for_each(|c| scanner.scan(c))
        .and_then(|()| scanner.finish());
    assert_eq!(
        decoded.is_ok(),
        scanned.is_ok(),
        "{decoded:?} vs {scanned:?}"
    );
    if decoded.is_ok() {
        assert_eq!(scanner.messages(), data_frames);
    }
});

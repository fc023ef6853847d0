//! The text-mode (`grpc-web-text`) work of one 64 KiB call, repeated: the request body
//! decoded as the proxy gets it (16 KiB pieces) and the response frame encoded as one
//! segment. Run under `valgrind --tool=callgrind` with two counts, the difference of the
//! totals over the difference of the counts is the instructions of one call's base64;
//! run plainly, it prints the time of one.
//!
//! `text-codec [CALLS]` (default 1000).

use grpcweb_protocol::text::{Base64Decoder, encode_segment};
use std::time::Instant;

/// The message size, plus the 5-byte frame header.
const FRAME: usize = 64 * 1024 + 5;
/// The piece size a request body arrives in (an HTTP/2 DATA frame's default maximum).
const PIECE: usize = 16 * 1024;

fn main() -> anyhow::Result<()> {
    let calls: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1000,
    };
    let frame: Vec<u8> = (0..FRAME).map(|i| (i * 7 + i / 251) as u8).collect();
    let body = encode_segment(&frame);
    let start = Instant::now();
    let mut check = 0usize;
    for _ in 0..calls {
        let mut decoder = Base64Decoder::new();
        let mut decoded = Vec::new();
        for piece in body.chunks(PIECE) {
            decoder.decode_to_vec(piece, &mut decoded)?;
        }
        decoder.finish()?;
        anyhow::ensure!(decoded[..] == frame[..], "decoded body differs");
        let encoded = encode_segment(&decoded);
        check = check.wrapping_add(encoded.len());
    }
    let per_call = start.elapsed().as_secs_f64() * 1e6 / calls.max(1) as f64;
    println!("{calls} calls, {per_call:.1} us per call (decode + encode), {check}");
    Ok(())
}

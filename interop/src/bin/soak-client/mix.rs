//! The call mix: what each kind of call asks for, its share, and its request body.

use bytes::Bytes;
use grpcweb_interop::pb::{Payload, ResponseParameters, SimpleRequest, StreamingOutputCallRequest};
use grpcweb_protocol::text::encode_segment;
use prost::Message as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Http {
    H2,
    H1,
}

/// What a call asks for and what the client does with the answer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    /// `UnaryCall` with `size` bytes each way.
    Unary { size: usize },
    /// `StreamingOutputCall`: `count` responses of `size` bytes, `interval_ms` apart;
    /// with `abort_after`, the client drops the call after that many responses.
    Stream {
        count: usize,
        size: i32,
        interval_ms: i32,
        abort_after: Option<usize>,
    },
}

/// One kind of call in the mix; `weight` out of the sum of all weights.
#[derive(Debug)]
pub(crate) struct Kind {
    pub(crate) name: &'static str,
    pub(crate) weight: u32,
    pub(crate) http: Http,
    pub(crate) text: bool,
    pub(crate) shape: Shape,
}

const fn kind(name: &'static str, weight: u32, http: Http, text: bool, shape: Shape) -> Kind {
    Kind {
        name,
        weight,
        http,
        text,
        shape,
    }
}

const fn stream(count: usize, size: i32, interval_ms: i32) -> Shape {
    Shape::Stream {
        count,
        size,
        interval_ms,
        abort_after: None,
    }
}

/// A stream of 1000 responses 20 ms apart (20 s), dropped after 2: the proxy must cancel
/// it at the backend, or the backend keeps producing for 20 s.
const ABORTED: Shape = Shape::Stream {
    count: 1000,
    size: 256,
    interval_ms: 20,
    abort_after: Some(2),
};

/// The mix, weights in percent.
pub(crate) const MIX: [Kind; 12] = [
    kind(
        "unary-bin-16B",
        25,
        Http::H2,
        false,
        Shape::Unary { size: 16 },
    ),
    kind(
        "unary-bin-1KiB",
        15,
        Http::H2,
        false,
        Shape::Unary { size: 1024 },
    ),
    kind(
        "unary-text-1KiB",
        15,
        Http::H2,
        true,
        Shape::Unary { size: 1024 },
    ),
    kind(
        "unary-bin-64KiB",
        4,
        Http::H2,
        false,
        Shape::Unary { size: 65_536 },
    ),
    kind(
        "unary-text-64KiB",
        2,
        Http::H2,
        true,
        Shape::Unary { size: 65_536 },
    ),
    kind(
        "unary-bin-1KiB-h1",
        10,
        Http::H1,
        false,
        Shape::Unary { size: 1024 },
    ),
    kind(
        "unary-text-1KiB-h1",
        5,
        Http::H1,
        true,
        Shape::Unary { size: 1024 },
    ),
    kind("stream-bin-5x1KiB", 8, Http::H2, false, stream(5, 1024, 10)),
    kind("stream-text-5x1KiB", 4, Http::H2, true, stream(5, 1024, 10)),
    kind(
        "stream-bin-3x1KiB-h1",
        3,
        Http::H1,
        false,
        stream(3, 1024, 10),
    ),
    kind("abort-bin", 6, Http::H2, false, ABORTED),
    kind("abort-text-h1", 3, Http::H1, true, ABORTED),
];

/// The framed (and for text kinds base64-encoded) request of `kind`.
pub(crate) fn request_body(kind: &Kind) -> Bytes {
    let message = match kind.shape {
        Shape::Unary { size } => SimpleRequest {
            response_size: size as i32,
            payload: Some(Payload {
                body: vec![0; size],
                ..Payload::default()
            }),
            ..SimpleRequest::default()
        }
        .encode_to_vec(),
        Shape::Stream {
            count,
            size,
            interval_ms,
            ..
        } => StreamingOutputCallRequest {
            response_parameters: (0..count)
                .map(|_| ResponseParameters {
                    size,
                    interval_us: interval_ms * 1000,
                    ..ResponseParameters::default()
                })
                .collect(),
            ..StreamingOutputCallRequest::default()
        }
        .encode_to_vec(),
    };
    let mut frame = Vec::with_capacity(message.len() + 5);
    frame.push(0);
    frame.extend((message.len() as u32).to_be_bytes());
    frame.extend(message);
    if kind.text {
        encode_segment(&frame)
    } else {
        Bytes::from(frame)
    }
}

/// The kind of call number `n`: a fixed pseudo-random sequence with the mix's weights.
pub(crate) fn pick(n: u64) -> usize {
    let total: u32 = MIX.iter().map(|k| k.weight).sum();
    // splitmix64, so neighbouring calls get unrelated kinds.
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let mut r = (z % u64::from(total)) as u32;
    for (i, k) in MIX.iter().enumerate() {
        if r < k.weight {
            return i;
        }
        r -= k.weight;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_kinds_by_weight() {
        let mut seen = [0u32; MIX.len()];
        for n in 0..100_000 {
            seen[pick(n)] += 1;
        }
        for (k, n) in MIX.iter().zip(seen) {
            let share = f64::from(n) / 1000.0;
            assert!(
                (share - f64::from(k.weight)).abs() < 1.0,
                "{}: {share} %, want {} %",
                k.name,
                k.weight
            );
        }
        assert_eq!(MIX.iter().map(|k| k.weight).sum::<u32>(), 100);
    }

    #[test]
    fn frames_and_encodes_requests() {
        for kind in &MIX {
            let body = request_body(kind);
            let frame = if kind.text {
                grpcweb_protocol::text::decode_all(&body).unwrap()
            } else {
                body
            };
            assert_eq!(frame[0], 0);
            let len = u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]) as usize;
            assert_eq!(len + 5, frame.len(), "{}", kind.name);
        }
    }
}

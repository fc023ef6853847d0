//! Helpers shared by the fuzz targets: turning the fuzzer's bytes into chunked input.

/// Splits a fuzz input into chunking instructions and the payload.
///
/// Layout: byte 0 is `n`, the number of cut points (`n % 16`); the next `2 * n` bytes are
/// the cut points as big-endian `u16`s (taken modulo the payload length + 1); the rest is
/// the payload. Inputs too short for their header use no cuts at all.
pub fn split_input(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(n % 16);
    if rest.len() < 2 * n {
        return (Vec::new(), rest);
    }
    let (points, payload) = rest.split_at(2 * n);
    let points = points
        .chunks_exact(2)
        .map(|p| usize::from(u16::from_be_bytes([p[0], p[1]])) % (payload.len() + 1))
        .collect();
    (points, payload)
}

/// Cuts `payload` at `points` (any order, duplicates allowed: empty chunks result).
pub fn cut(payload: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    points.sort_unstable();
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut last = 0;
    for p in points {
        out.push(&payload[last..p]);
        last = p;
    }
    out.push(&payload[last..]);
    out
}

//! Helpers shared by the unit tests.

/// Cuts `wire` at the given (sorted, deduplicated) points.
pub(crate) fn cut(wire: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    points.retain(|&p| p <= wire.len());
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points {
        out.push(&wire[last..p]);
        last = p;
    }
    out.push(&wire[last..]);
    out
}

//! `grpc-timeout`: parsing any string never panics; whatever parses formats back to a
//! value that parses to at least the same duration; `format` and `format_compact` agree
//! on every duration, the longest ones included.
#![no_main]

use grpcweb_protocol::timeout::{format, format_compact, parse};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

/// The longest duration a `grpc-timeout` can say.
const LONGEST: Duration = Duration::from_secs(99_999_999 * 3600);

fn check_format(d: Duration) {
    let text = format(d);
    assert_eq!(text, format_compact(d), "{d:?}");
    assert!(text.len() <= 9, "{text}");
    let back = parse(&text).expect("a formatted timeout parses");
    assert!(back >= d.min(LONGEST), "{d:?} -> {text} -> {back:?}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(d) = parse(s)
    {
        assert!(d <= LONGEST);
        check_format(d);
    }
    if let Some((secs, rest)) = data.split_first_chunk::<8>() {
        let nanos = rest
            .first_chunk::<4>()
            .map_or(0, |n| u32::from_be_bytes(*n) % 1_000_000_000);
        check_format(Duration::new(u64::from_be_bytes(*secs), nanos));
    }
});

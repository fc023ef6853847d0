//! `cors.allowed_origins` patterns: compiling any list and matching any `Origin` never
//! panics; an origin passes only when it equals an exact entry or fits a
//! `scheme://*.domain[:port]` pattern with whole host labels; matching ignores ASCII case;
//! adding an entry never takes an origin away.
#![no_main]

use grpcweb_proxy::fuzzing::origin_allowed;
use libfuzzer_sys::fuzz_target;

/// What the allow-list promises, written independently of it.
fn expected_to_pass(entry: &str, origin: &str) -> bool {
    let entry = entry.trim().to_ascii_lowercase();
    let origin = origin.to_ascii_lowercase();
    if entry == "*" || entry == origin {
        return true;
    }
    let Some((scheme, rest)) = entry.split_once("://*") else {
        return false;
    };
    let Some(labels) = origin
        .strip_prefix(scheme)
        .and_then(|o| o.strip_prefix("://"))
        .and_then(|o| o.strip_suffix(rest))
    else {
        return false;
    };
    !labels.is_empty()
        && labels
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    let Some(origin) = lines.pop() else { return };
    lines.truncate(4);
    let entries: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
    let Ok(allowed) = origin_allowed(&entries, origin) else {
        return;
    };
    if allowed {
        assert!(
            entries.iter().any(|e| expected_to_pass(e, origin)),
            "{origin:?} passed {entries:?}"
        );
    }
    assert_eq!(
        origin_allowed(&entries, &origin.to_ascii_uppercase()).ok(),
        Some(allowed),
        "case changed the verdict for {origin:?}"
    );
    for i in 0..entries.len() {
        let fewer: Vec<String> = entries[..i]
            .iter()
            .chain(&entries[i + 1..])
            .cloned()
            .collect();
        if origin_allowed(&fewer, origin) == Ok(true) {
            assert!(allowed, "adding {:?} took {origin:?} away", entries[i]);
        }
    }
});

//! The log lines' timestamp, as `tracing-subscriber`'s `SystemTime` writes it
//! (`2026-12-06T19:37:10.123456Z`, UTC), with the date and time of day formatted once a
//! second per thread.

use std::cell::Cell;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// `YYYY-MM-DDTHH:MM:SS`.
type Second = [u8; 19];

/// The first second of the year 10000, from which `fmt` writes a `+`.
const YEAR_10000: u64 = 253_402_300_800;

thread_local! {
    static LAST: Cell<Option<(u64, Second)>> = const { Cell::new(None) };
}

/// Appends the current time to `out`.
pub(super) fn now(out: &mut String) {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    let Some(since) = since.ok().filter(|d| d.as_secs() < YEAR_10000) else {
        // Before 1970 or after 9999: as `fmt` writes it.
        let _ = tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(out));
        return;
    };
    let secs = since.as_secs();
    let second = LAST.with(|last| match last.get() {
        Some((at, text)) if at == secs => text,
        _ => {
            let text = second(secs);
            last.set(Some((secs, text)));
            text
        }
    });
    out.push_str(std::str::from_utf8(&second).unwrap_or_default());
    let _ = write!(out, ".{:06}Z", since.subsec_micros());
}

/// The date and time of day of `secs` after the epoch (before the year 10000).
fn second(secs: u64) -> Second {
    let (y, m, d) = civil(secs / 86_400);
    let t = secs % 86_400;
    let mut s = *b"0000-00-00T00:00:00";
    for (at, width, v) in [
        (0, 4, y),
        (5, 2, m),
        (8, 2, d),
        (11, 2, t / 3600),
        (14, 2, t / 60 % 60),
        (17, 2, t % 60),
    ] {
        let mut v = v;
        for i in (at..at + width).rev() {
            s[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    s
}

/// Year, month and day of the day `days` after 1970-01-01 (the proleptic Gregorian
/// calendar, after Howard Hinnant's `civil_from_days`).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_as_fmt_writes_them() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00"),
            (951_782_400, "2000-02-29T00:00:00"),
            (951_868_799, "2000-02-29T23:59:59"),
            (1_796_585_830, "2026-12-06T19:37:10"),
            (4_107_542_399, "2100-02-28T23:59:59"),
            (4_107_542_400, "2100-03-01T00:00:00"),
            (YEAR_10000 - 1, "9999-12-31T23:59:59"),
        ] {
            assert_eq!(std::str::from_utf8(&second(secs)).unwrap(), text, "{secs}");
        }
    }

    #[test]
    fn now_has_microseconds_and_a_z() {
        let mut s = String::new();
        now(&mut s);
        assert_eq!(s.len(), 27, "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[19] == b'.', "{s}");
    }
}

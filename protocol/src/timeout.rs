//! `grpc-timeout`: 1 to 8 ASCII digits and a unit, `H M S m u n` (D1).

use alloc::format;
use alloc::string::String;
use core::fmt;
use core::time::Duration;

/// Why a `grpc-timeout` value is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutError {
    /// Empty value, no digits, more than 8 digits, or a non-digit.
    BadDigits,
    /// The unit is not one of `H M S m u n`.
    BadUnit,
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadDigits => f.write_str("malformed grpc-timeout: expected 1 to 8 digits"),
            Self::BadUnit => f.write_str("malformed grpc-timeout: unit must be one of H M S m u n"),
        }
    }
}

impl core::error::Error for TimeoutError {}

/// Parses a `grpc-timeout` value.
pub fn parse(value: &str) -> Result<Duration, TimeoutError> {
    let bytes = value.as_bytes();
    let Some((&unit, digits)) = bytes.split_last() else {
        return Err(TimeoutError::BadDigits);
    };
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(TimeoutError::BadDigits);
    }
    let n = digits
        .iter()
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    Ok(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return Err(TimeoutError::BadUnit),
    })
}

/// Formats a duration as a `grpc-timeout` value, choosing the finest unit that fits in
/// 8 digits and rounding up, so a formatted timeout is never shorter than the duration.
pub fn format(d: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let nanos = d.as_nanos();
    let units: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    for (per, unit) in units {
        let n = nanos.div_ceil(per);
        if n <= MAX {
            return format!("{n}{unit}");
        }
    }
    format!("{MAX}H")
}

/// The same as [`format()`], written without `core::fmt` or 128-bit arithmetic, for
/// callers that count code size (the wasm runtime).
pub fn format_compact(d: Duration) -> String {
    const MAX: u64 = 99_999_999;
    let (secs, nanos) = (d.as_secs(), u64::from(d.subsec_nanos()));
    let sub_second = [(1, 'n'), (1_000, 'u'), (1_000_000, 'm')]
        .into_iter()
        .find_map(|(per, unit)| {
            let n = secs
                .checked_mul(1_000_000_000 / per)?
                .checked_add(nanos.div_ceil(per))?;
            (n <= MAX).then_some((n, unit))
        });
    let (n, unit) = sub_second
        .or_else(|| {
            [(1, 'S'), (60, 'M'), (3600, 'H')]
                .into_iter()
                .find_map(|(per, unit)| {
                    let n = (secs / per).saturating_add(u64::from(secs % per != 0 || nanos != 0));
                    (n <= MAX).then_some((n, unit))
                })
        })
        .unwrap_or((MAX, 'H'));
    let mut digits = [0u8; 20];
    let (mut i, mut rest) = (digits.len(), n);
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut out: String = digits[i..].iter().map(|&b| char::from(b)).collect();
    out.push(unit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse("1H"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("2M"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("3S"), Ok(Duration::from_secs(3)));
        assert_eq!(parse("40m"), Ok(Duration::from_millis(40)));
        assert_eq!(parse("500u"), Ok(Duration::from_micros(500)));
        assert_eq!(parse("99999999n"), Ok(Duration::from_nanos(99_999_999)));
        assert_eq!(parse("0m"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "m", "123456789m", "1.5S", "-1S", " 1S", "1s ", "+1S"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse("10x"), Err(TimeoutError::BadUnit));
        assert_eq!(parse("10s"), Err(TimeoutError::BadUnit));
    }

    #[test]
    fn compact_format_matches_format() {
        let edges = [
            Duration::ZERO,
            Duration::MAX,
            Duration::from_nanos(99_999_999),
            Duration::from_nanos(100_000_000),
            Duration::from_secs(99_999_999),
            Duration::new(99_999_999, 1),
            Duration::from_secs(99_999_999 * 60),
            Duration::new(99_999_999 * 3600, 1),
            Duration::from_secs(u64::from(u32::MAX) + 1),
        ];
        for d in edges {
            assert_eq!(format_compact(d), format(d), "{d:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn compact_format_agrees(secs in 0u64..u64::MAX, nanos in 0u32..1_000_000_000, shift in 0u32..64) {
            let d = Duration::new(secs >> shift, nanos);
            proptest::prop_assert_eq!(format_compact(d), format(d));
        }
    }

    #[test]
    fn formats_finest_unit_rounding_up() {
        assert_eq!(format(Duration::from_millis(250)), "250000u");
        assert_eq!(format(Duration::from_nanos(99_999_999)), "99999999n");
        assert_eq!(format(Duration::from_secs(1)), "1000000u");
        assert_eq!(format(Duration::from_secs(3600)), "3600000m");
        assert_eq!(format(Duration::from_secs(1_000_000)), "1000000S");
        assert_eq!(format(Duration::from_nanos(100_000_001)), "100001u");
        assert_eq!(format(Duration::MAX), "99999999H");
        for ms in [0u64, 1, 999, 86_400_000, 7 * 86_400_000] {
            let d = Duration::from_millis(ms);
            assert!(parse(&format(d)).unwrap() >= d);
        }
    }
}

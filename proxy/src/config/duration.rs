//! Human sizes (`4MiB`) and durations (`30s`, `500ms`) for flags and the config file.

use std::time::Duration;

/// The longest duration any key accepts: a year (`8760h`). Every deadline the proxy
/// computes from a configured duration fits far inside what clocks can hold.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses `123`, `64KiB`, `4MiB` (also `K`, `KB`, `M`, `MB`, all binary multiples).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let (n, unit) = split_number(s).ok_or_else(|| format!("{s:?} is not a size in bytes"))?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use KiB or MiB)")),
    };
    n.and_then(|n| usize::try_from(n).ok())
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// A size in the config file: a string (`"4MiB"`, `"1024"`) or a TOML integer of bytes.
pub(crate) fn size_value(v: &toml::Value) -> Result<usize, String> {
    match v {
        toml::Value::String(s) => parse_size(s),
        toml::Value::Integer(n) => count_value(*n),
        _ => Err(format!(
            "expected a number of bytes or a string such as \"4MiB\", found a {}",
            v.type_str()
        )),
    }
}

/// A count in the config file (`max_connections = 500`): a TOML integer, not negative.
pub(crate) fn count_value(n: i64) -> Result<usize, String> {
    usize::try_from(n).map_err(|_| format!("{n} is negative"))
}

/// Parses `250ms`, `30s`, `5m`, `1h` (a bare number is milliseconds), at most
/// [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) =
        split_number(s).ok_or_else(|| format!("{s:?} is not a duration (e.g. 500ms, 30s, 5m)"))?;
    let secs_per_unit = match unit {
        "" | "ms" => None,
        "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3600),
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    let too_long = || format!("{s:?} is too long: at most 8760h (a year)");
    let n = n.ok_or_else(too_long)?;
    let d = match secs_per_unit {
        None => Duration::from_millis(n),
        Some(k) => Duration::from_secs(n.checked_mul(k).ok_or_else(too_long)?),
    };
    check_duration(d).map_err(|_| too_long())
}

/// Refuses a duration longer than [`MAX_DURATION`] (deadlines computed from it must fit).
pub(crate) fn check_duration(d: Duration) -> Result<Duration, String> {
    if d > MAX_DURATION {
        return Err(format!("{d:?} is too long: at most 8760h (a year)"));
    }
    Ok(d)
}

/// The digits (`None` when they overflow a `u64`) and the unit after them; `None` when
/// there are no digits.
fn split_number(s: &str) -> Option<(Option<u64>, &str)> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() {
        return None;
    }
    Some((digits.parse().ok(), unit.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("4m"), Ok(4 << 20));
        assert!(parse_size("4GiB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("18446744073709551615MiB").is_err());
        assert_eq!(size_value(&toml::Value::Integer(1024)), Ok(1024));
        assert!(size_value(&toml::Value::Integer(-1)).is_err());
        assert!(size_value(&toml::Value::Float(1.5)).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_millis(15)));
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3 days").is_err());
        assert_eq!(parse_duration("8760h"), Ok(MAX_DURATION));
        for huge in [
            "8761h",
            "18446744073709551615s",
            "18446744073709551615",
            "9999999999999h",
            "99999999999999999999ms",
        ] {
            assert!(
                parse_duration(huge).unwrap_err().contains("too long"),
                "{huge}"
            );
        }
    }
}

//! Deadlines from durations that may be huge (a client's `grpc-timeout` of `99999999H`, a
//! timeout set through the library API): `Instant + Duration` panics on overflow, so
//! deadlines are computed here, saturating at thirty years from `start` (as tokio's own
//! "far future" does).

use std::time::Duration;
use tokio::time::Instant;

const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `start + d`, or thirty years from `start` when `d` is longer.
pub(crate) fn after(start: Instant, d: Duration) -> Instant {
    start + clamp(d)
}

/// `d`, at most thirty years: for timeouts handed to code that adds them to `Instant::now()`
/// unchecked (hyper's `header_read_timeout`).
pub(crate) fn clamp(d: Duration) -> Duration {
    d.min(FAR_FUTURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturates() {
        let now = Instant::now();
        assert_eq!(
            after(now, Duration::from_secs(2)),
            now + Duration::from_secs(2)
        );
        assert_eq!(after(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(after(now, Duration::from_secs(u64::MAX)), now + FAR_FUTURE);
    }
}

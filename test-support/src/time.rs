//! Timeouts that turn a hang into a test failure.

use std::future::Future;
use std::time::Duration;

/// The timeout [`crate::WebClient`] applies to each wait unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `fut`, failing with "timed out after ..." if it takes longer than `limit`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use grpcweb_test_support::within;
/// use std::time::Duration;
/// let slow = tokio::time::sleep(Duration::from_secs(60));
/// assert!(within(Duration::from_millis(10), slow).await.is_err());
/// # }
/// ```
pub async fn within<F: Future>(limit: Duration, fut: F) -> anyhow::Result<F::Output> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {limit:?}"))
}

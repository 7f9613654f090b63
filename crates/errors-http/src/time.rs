//! The middleware's time: tokio's monotonic clock since one anchor for the whole process
//! (what the policy is handed), and durations as whole milliseconds (log fields, and the
//! store link's health kept in an atomic).

use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::Instant;

/// The monotonic time handed to the policy: tokio's clock (so `tokio::time::pause` drives it
/// in tests) since one anchor for the whole process.
///
/// One anchor, not one per middleware: a [`ClientRetryState`](errors_core::retry::ClientRetryState)
/// may be shared by clients built at different moments, and its rate-limit window is a time
/// since the anchor, so every client reading it must measure from the same one. The anchor
/// is set a little before the first use, so a paused tokio clock started just before it
/// (whose time stands still at its start) still reads past it.
pub(crate) fn mono_now() -> Duration {
    static ANCHOR: OnceLock<std::time::Instant> = OnceLock::new();
    let anchor = *ANCHOR.get_or_init(|| {
        let now = std::time::Instant::now();
        [3600, 60, 1]
            .into_iter()
            .find_map(|s| now.checked_sub(Duration::from_secs(s)))
            .unwrap_or(now)
    });
    Instant::now().into_std().saturating_duration_since(anchor)
}

/// Whole milliseconds, saturating at `u64::MAX` for absurd durations.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

//! A rate-limit window shared by the requests of one client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// When the server tells one request to wait (`429` + `Retry-After`), every request through
/// the same client waits out the same window instead of hitting the server during it.
///
/// Time is a [`Duration`] since an anchor the driver chooses (its client's creation, on a
/// monotonic clock), so the gate itself never reads a clock.
///
/// ```
/// use std::time::Duration;
/// use errors_core::RateLimitGate;
///
/// let gate = RateLimitGate::default();
/// gate.close_until(Duration::from_secs(12));
/// assert_eq!(gate.remaining(Duration::from_secs(10)), Duration::from_secs(2));
/// assert_eq!(gate.remaining(Duration::from_secs(13)), Duration::ZERO);
///
/// // Never rounded down: a window ending at 1.0000001 s is still closed at 1 s.
/// gate.close_until(Duration::from_nanos(1_000_000_100));
/// assert!(gate.remaining(Duration::from_millis(1000)) > Duration::ZERO);
/// ```
#[derive(Debug, Default)]
pub struct RateLimitGate {
    /// Milliseconds since the anchor until which requests should hold off.
    open_at_ms: AtomicU64,
}

impl RateLimitGate {
    /// Holds requests off until `until` (since the anchor). A later close never shortens an
    /// earlier one.
    pub fn close_until(&self, until: Duration) {
        // Rounded up: a window must never open before the server said it would.
        let ms = u64::try_from(until.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        self.open_at_ms.fetch_max(ms, Ordering::AcqRel);
    }

    /// How long a request made at `now` (since the anchor) should wait.
    pub fn remaining(&self, now: Duration) -> Duration {
        let open_at = Duration::from_millis(self.open_at_ms.load(Ordering::Acquire));
        open_at.saturating_sub(now)
    }
}

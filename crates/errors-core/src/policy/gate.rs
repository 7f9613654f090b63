//! A rate-limit window shared by the requests of one client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// When the server says its window is closed (a `429` whose `Retry-After` is longer than
/// the header's one-second resolution, or headers saying nothing remains until a reset),
/// every request of the same partition of the client (by default the same route; see
/// [`Partitioning`](crate::ratelimit::Partitioning)) waits out the same window instead of
/// hitting the server during it.
///
/// Time is a [`Duration`] since an anchor the driver chooses (its client's creation, on a
/// monotonic clock), so the gate itself never reads a clock.
///
/// The client's retry runs close the gate (a caller reads it):
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use errors_core::http::{HeaderMap, HeaderValue, StatusCode};
/// use errors_core::{ApiError, Idempotency, RetryPolicy};
/// use errors_core::retry::{ClientRetryState, Outcome};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", HeaderValue::from_static("12"));
/// let limited = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &headers, b"", SystemTime::UNIX_EPOCH);
///
/// let shared = ClientRetryState::without_budget();
/// let mut run = RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
/// run.before_attempt(Duration::ZERO).unwrap();
/// run.after_attempt(Outcome::Api(&limited), Duration::ZERO);
///
/// // Every request of the partition holds until the server's window opens, 12 s on.
/// assert_eq!(shared.gate().open_at(), Duration::from_secs(12));
/// assert_eq!(shared.gate().remaining(Duration::from_secs(10)), Duration::from_secs(2));
/// assert_eq!(shared.gate().remaining(Duration::from_secs(13)), Duration::ZERO);
/// ```
#[derive(Debug, Default)]
pub struct RateLimitGate {
    /// Nanoseconds since the anchor until which requests should hold off.
    open_at_ns: AtomicU64,
}

impl RateLimitGate {
    /// Holds requests off until `until` (since the anchor). A later close never shortens an
    /// earlier one.
    pub(crate) fn close_until(&self, until: Duration) {
        // Nanoseconds, not rounded: a window must never open before the server said it
        // would, nor hold a request longer than it asked (u64 nanoseconds last 584 years).
        let ns = u64::try_from(until.as_nanos()).unwrap_or(u64::MAX);
        self.open_at_ns.fetch_max(ns, Ordering::AcqRel);
    }

    /// When the window opens (since the anchor; in the past when it is open).
    pub fn open_at(&self) -> Duration {
        Duration::from_nanos(self.open_at_ns.load(Ordering::Acquire))
    }

    /// How long a request made at `now` (since the anchor) should wait.
    pub fn remaining(&self, now: Duration) -> Duration {
        let open_at = Duration::from_nanos(self.open_at_ns.load(Ordering::Acquire));
        open_at.saturating_sub(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_exact_to_the_nanosecond_and_never_shortened() {
        let gate = RateLimitGate::default();
        assert_eq!(
            gate.remaining(Duration::ZERO),
            Duration::ZERO,
            "open at first"
        );
        gate.close_until(Duration::from_secs(12));
        assert_eq!(
            gate.remaining(Duration::from_secs(10)),
            Duration::from_secs(2)
        );
        assert_eq!(gate.remaining(Duration::from_secs(13)), Duration::ZERO);
        // Exact: a window ending at 12.0000001 s is still closed at 12 s.
        gate.close_until(Duration::from_nanos(12_000_000_100));
        assert_eq!(
            gate.remaining(Duration::from_secs(12)),
            Duration::from_nanos(100)
        );
        // A later close never shortens an earlier one.
        gate.close_until(Duration::from_secs(5));
        assert_eq!(gate.open_at(), Duration::from_nanos(12_000_000_100));
        // Far futures saturate instead of wrapping.
        gate.close_until(Duration::MAX);
        assert_eq!(gate.open_at(), Duration::from_nanos(u64::MAX));
    }
}

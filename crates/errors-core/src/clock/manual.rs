//! [`ManualClock`]: a clock for tests (errors-core's `test-util` feature).

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::Clock;

/// A clock that only moves when told to, for tests (behind the `test-util` feature).
///
/// ```
/// use std::time::Duration;
/// use errors_core::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::at_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now().duration_since(start).unwrap(), Duration::from_secs(5));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: SystemTime) -> ManualClock {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    /// A clock stopped at an HTTP-date such as `Sun, 06 Nov 1994 08:49:37 GMT`.
    pub fn at_http_date(date: &str) -> Result<ManualClock, httpdate::Error> {
        httpdate::parse_http_date(date).map(ManualClock::new)
    }

    /// Moves the clock forward, stopping at the latest time the platform can represent
    /// rather than overflowing.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use errors_core::clock::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
    /// clock.advance(Duration::MAX);
    /// assert!(clock.now() > SystemTime::UNIX_EPOCH);
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = saturating_add(*now, by);
    }

    /// Sets the clock to `now`.
    pub fn set(&self, now: SystemTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }
}

/// `at + by`, or the latest representable time reachable from `at` when that overflows.
fn saturating_add(at: SystemTime, by: Duration) -> SystemTime {
    if let Some(sum) = at.checked_add(by) {
        return sum;
    }
    // Climb towards the limit by halving steps: at most ~2 × 96 checked additions.
    let (mut at, mut step) = (at, by);
    while !step.is_zero() {
        match at.checked_add(step) {
            Some(next) => at = next,
            None => step /= 2,
        }
    }
    at
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_saturates_instead_of_overflowing() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        clock.advance(Duration::MAX);
        let top = clock.now();
        assert!(top.checked_add(Duration::from_secs(1)).is_none());
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), top);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), top);
    }
}

//! Where wall-clock time comes from, so policy and parsing can be tested without waiting:
//! the [`Clock`] trait, the [`SystemClock`] (the one place errors-core reads the wall clock),
//! and, behind the `test-util` feature, `ManualClock`, a clock that moves only when told to.
//!
//! Only dates need a clock (a `Retry-After` date becomes a delay). Elapsed time (deadlines,
//! attempt timeouts, pacing) is a [`Duration`](std::time::Duration) the drivers hand in.

use std::fmt;
use std::time::SystemTime;

/// A source of wall-clock time, used to turn a `Retry-After` date into a delay.
///
/// Elapsed time (deadlines, attempt timeouts) is measured by the drivers with a monotonic
/// clock and handed to the policy as a [`Duration`](std::time::Duration); only dates need this trait.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[cfg(feature = "test-util")]
mod manual;
#[cfg(feature = "test-util")]
pub use manual::ManualClock;

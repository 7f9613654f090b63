//! Durations as this crate shows them: to people (`2s`, `250ms`) and in JSON (milliseconds).

use std::fmt;
use std::time::Duration;

/// A duration for people: `2s`, `1.5s`, `250ms`.
pub(crate) struct DisplayDuration(pub(crate) Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_millis() == 0 && d.as_secs() > 0 {
            write!(f, "{}s", d.as_secs())
        } else if d.as_secs() == 0 {
            write!(f, "{}ms", d.as_millis())
        } else {
            write!(f, "{}.{:03}s", d.as_secs(), d.subsec_millis())
        }
    }
}

/// Milliseconds, saturating at `u64::MAX` for absurd delays.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

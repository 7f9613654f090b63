//! The `tracing` events of a logical call, inside its `api_request` span.
//!
//! Levels follow the ecosystem's convention for libraries: what may still succeed (a retry,
//! a rate-limit hold) is not a warning; a call that ends in failure because of a limit or
//! after retrying is.

use errors_core::retry::{Decision, RetryRun, StopReason};
use std::time::Duration;
use tracing::Level;

use crate::time::millis;

/// Where retry decisions are logged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trace {
    /// The level of retries and holds.
    level: Level,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            level: Level::DEBUG,
        }
    }
}

macro_rules! event_at {
    ($level:expr, $($field:tt)*) => {
        match $level {
            Level::ERROR => tracing::event!(Level::ERROR, $($field)*),
            Level::WARN => tracing::event!(Level::WARN, $($field)*),
            Level::INFO => tracing::event!(Level::INFO, $($field)*),
            Level::DEBUG => tracing::event!(Level::DEBUG, $($field)*),
            _ => tracing::event!(Level::TRACE, $($field)*),
        }
    };
}

impl Trace {
    pub(crate) fn new(level: Level) -> Trace {
        Trace { level }
    }

    /// Logs a hold before the next attempt: the client's rate-limit window is closed or other
    /// requests are ahead in the paced queue.
    pub(crate) fn hold(&self, run: &RetryRun, hold: Duration) {
        event_at!(
            self.level,
            attempt = run.attempts().len() as u64 + 1,
            hold_ms = millis(hold),
            "holding for the client's rate limit"
        );
    }

    /// Logs a call that stops because the next attempt could not start in time (usually
    /// because the client's rate-limit window stays closed past the deadline).
    pub(crate) fn held_too_long(&self, run: &RetryRun, stop: StopReason) {
        tracing::warn!(
            attempt = run.attempts().len() as u64 + 1,
            reason = %stop,
            "request failed: no time left for the next attempt"
        );
    }

    /// Logs the attempt just recorded in `run` and what was decided after it.
    pub(crate) fn attempt(&self, run: &RetryRun, decision: Decision) {
        let Some(last) = run.attempts().last() else {
            return;
        };
        let status = last.status.unwrap_or(0);
        let code = last.code.as_ref().map_or("", |c| c.as_str());
        let request_id = last.request_id.as_deref().unwrap_or("");
        let transport = last
            .transport
            .map_or("", errors_core::retry::TransportKind::as_str);
        let held_ms = millis(last.held);
        // A retry and a failure describe the attempt with the same fields; only what was
        // decided differs. (A macro: `tracing` takes its fields as tokens.)
        macro_rules! attempt_event {
            ($level:expr, $($decided:tt)*) => {
                event_at!(
                    $level,
                    attempt = last.number,
                    status,
                    code,
                    request_id,
                    transport,
                    held_ms,
                    $($decided)*
                )
            };
        }
        match decision {
            Decision::Retry { wait, reason } => attempt_event!(
                self.level,
                wait_ms = millis(wait),
                reason = %reason,
                "retrying request"
            ),
            Decision::Stop(StopReason::Succeeded) => {
                tracing::debug!(attempt = last.number, status, held_ms, "request succeeded")
            }
            Decision::Stop(stop) => {
                // A first answer that is final (404, 401...) reaches the caller as an error;
                // the library has nothing to warn about.
                let level = if stop.is_limit() || last.number > 1 {
                    Level::WARN
                } else {
                    Level::DEBUG
                };
                attempt_event!(level, reason = %stop, "request failed")
            }
        }
    }
}

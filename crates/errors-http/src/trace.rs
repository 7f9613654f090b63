//! One `tracing` event per retry decision.

use errors_core::{Decision, RetryRun, StopReason};
use tracing::Level;

/// Where retry decisions are logged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trace {
    level: Level,
}

impl Default for Trace {
    fn default() -> Self {
        Trace { level: Level::WARN }
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

    /// Logs a retry that was decided but could not start: the deadline leaves no time for it
    /// (usually because the client's rate-limit window stays closed past it).
    pub(crate) fn held_too_long(&self, run: &RetryRun, stop: StopReason) {
        event_at!(
            self.level,
            attempt = run.attempts().len() as u64 + 1,
            reason = %stop,
            "request failed: no time left for the next attempt"
        );
    }

    /// Logs the attempt just recorded in `run` and what was decided after it. Success is
    /// logged at DEBUG, retries and failures at the configured level.
    pub(crate) fn attempt(&self, run: &RetryRun, decision: Decision) {
        let Some(last) = run.attempts().last() else {
            return;
        };
        let status = last.status.unwrap_or(0);
        let code = last.code.as_ref().map_or("", |c| c.as_str());
        let request_id = last.request_id.as_deref().unwrap_or("");
        let transport = last
            .transport
            .map_or("", errors_core::TransportKind::as_str);
        match decision {
            Decision::Retry { wait, reason } => event_at!(
                self.level,
                attempt = last.number,
                status,
                code,
                request_id,
                transport,
                wait_ms = wait.as_millis() as u64,
                reason = %reason,
                "retrying request"
            ),
            Decision::Stop(StopReason::Succeeded) => {
                tracing::debug!(attempt = last.number, status, "request succeeded")
            }
            Decision::Stop(stop) => event_at!(
                self.level,
                attempt = last.number,
                status,
                code,
                request_id,
                transport,
                reason = %stop,
                "request failed"
            ),
        }
    }
}

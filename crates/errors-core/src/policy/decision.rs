//! What the policy decides after an attempt, and why.

use std::fmt;
use std::time::Duration;

use crate::display::DisplayDuration;

/// Why an attempt is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryReason {
    /// 429 or `RATE_LIMIT_ERROR`: the rate limiter rejected it before any work was done.
    RateLimited,
    /// A transient server error (500, 502, 503, 504 and other 5xx but 501 and 505).
    ServerError,
    /// The request never left the client (connection refused, DNS).
    NotSent,
    /// A timeout or broken connection on a request that may be repeated.
    Transport,
    /// A rule of the caller's said to retry an error the contract would not
    /// ([`RetryOverride::Retry`](super::RetryOverride::Retry)).
    Overridden,
}

impl RetryReason {
    /// A snake_case tag for logs, metrics and JSON (`"rate_limited"`, `"server_error"`...).
    pub fn as_str(&self) -> &'static str {
        match self {
            RetryReason::RateLimited => "rate_limited",
            RetryReason::ServerError => "server_error",
            RetryReason::NotSent => "not_sent",
            RetryReason::Transport => "transport",
            RetryReason::Overridden => "overridden",
        }
    }
}

impl fmt::Display for RetryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetryReason::RateLimited => "rate limited",
            RetryReason::ServerError => "transient server error",
            RetryReason::NotSent => "request was not sent",
            RetryReason::Transport => "transport failure",
            RetryReason::Overridden => "retried by the caller's rule",
        })
    }
}

/// Why there is no further attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[non_exhaustive]
pub enum StopReason {
    /// The attempt succeeded.
    Succeeded,
    /// The error is not one waiting can fix (auth, validation, quotas, 501...).
    NotRetryable,
    /// The outcome is unknown and the request is not safe to repeat (a POST after a 500 or a
    /// timeout). Mark the request as safe to repeat to allow it.
    UnsafeToRepeat,
    /// The server asked for a longer wait than the policy's maximum.
    RetryAfterTooLong {
        /// What the server asked for, in milliseconds.
        requested_ms: u64,
    },
    /// All allowed retries were used.
    RetriesExhausted,
    /// The next attempt could not finish before the total deadline.
    DeadlineExceeded,
    /// The client's retry budget is spent: the server is failing a large share of requests.
    BudgetExhausted,
    /// The request body is a stream that cannot be sent twice.
    NotReplayable,
}

impl StopReason {
    /// The server-requested delay, for [`StopReason::RetryAfterTooLong`].
    pub fn requested_delay(&self) -> Option<Duration> {
        match self {
            StopReason::RetryAfterTooLong { requested_ms } => {
                Some(Duration::from_millis(*requested_ms))
            }
            _ => None,
        }
    }

    /// Whether a limit of the client's stopped a request the policy would otherwise have
    /// retried: the retries allowed ([`RetriesExhausted`](StopReason::RetriesExhausted)), the
    /// deadline ([`DeadlineExceeded`](StopReason::DeadlineExceeded), also when a request
    /// held for a rate limit could not start in time), the retry budget
    /// ([`BudgetExhausted`](StopReason::BudgetExhausted)) or the maximum wait
    /// ([`RetryAfterTooLong`](StopReason::RetryAfterTooLong)). The same request can succeed
    /// later. The other reasons are about the answer or the request itself: a success, an
    /// error waiting cannot fix, a request not safe or not possible to send again.
    ///
    /// ```
    /// use errors_core::retry::StopReason;
    /// assert!(StopReason::BudgetExhausted.is_limit());
    /// assert!(!StopReason::NotRetryable.is_limit());
    /// ```
    pub fn is_limit(&self) -> bool {
        match self {
            StopReason::RetryAfterTooLong { .. }
            | StopReason::RetriesExhausted
            | StopReason::DeadlineExceeded
            | StopReason::BudgetExhausted => true,
            StopReason::Succeeded
            | StopReason::NotRetryable
            | StopReason::UnsafeToRepeat
            | StopReason::NotReplayable => false,
        }
    }

    /// A snake_case tag for logs and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            StopReason::Succeeded => "succeeded",
            StopReason::NotRetryable => "not_retryable",
            StopReason::UnsafeToRepeat => "unsafe_to_repeat",
            StopReason::RetryAfterTooLong { .. } => "retry_after_too_long",
            StopReason::RetriesExhausted => "retries_exhausted",
            StopReason::DeadlineExceeded => "deadline_exceeded",
            StopReason::BudgetExhausted => "budget_exhausted",
            StopReason::NotReplayable => "not_replayable",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Succeeded => f.write_str("succeeded"),
            StopReason::NotRetryable => f.write_str("not retryable"),
            StopReason::UnsafeToRepeat => f.write_str(
                "not retried: the request may have been processed and is not safe to repeat",
            ),
            StopReason::RetryAfterTooLong { requested_ms } => write!(
                f,
                "server asked to retry after {}, longer than the maximum wait",
                DisplayDuration(Duration::from_millis(*requested_ms))
            ),
            StopReason::RetriesExhausted => f.write_str("retries exhausted"),
            StopReason::DeadlineExceeded => f.write_str("deadline exceeded"),
            StopReason::BudgetExhausted => f.write_str("retry budget exhausted"),
            StopReason::NotReplayable => {
                f.write_str("not retried: the request body cannot be sent twice")
            }
        }
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait exactly `wait`, then send the request again.
    Retry {
        /// How long to wait before the next attempt.
        wait: Duration,
        /// Why.
        reason: RetryReason,
    },
    /// Stop and hand the last outcome to the caller.
    Stop(StopReason),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_the_clients_and_nothing_else_is() {
        for limit in [
            StopReason::RetryAfterTooLong { requested_ms: 1 },
            StopReason::RetriesExhausted,
            StopReason::DeadlineExceeded,
            StopReason::BudgetExhausted,
        ] {
            assert!(limit.is_limit(), "{limit:?}");
        }
        for other in [
            StopReason::Succeeded,
            StopReason::NotRetryable,
            StopReason::UnsafeToRepeat,
            StopReason::NotReplayable,
        ] {
            assert!(!other.is_limit(), "{other:?}");
        }
    }

    /// Logs, metrics labels, JSON and error messages carry these: a changed word shows here.
    #[test]
    fn every_reason_has_its_tag_and_its_words() {
        let retries = [
            RetryReason::RateLimited,
            RetryReason::ServerError,
            RetryReason::NotSent,
            RetryReason::Transport,
            RetryReason::Overridden,
        ];
        let stops = [
            StopReason::Succeeded,
            StopReason::NotRetryable,
            StopReason::UnsafeToRepeat,
            StopReason::RetryAfterTooLong {
                requested_ms: 86_400_000,
            },
            StopReason::RetriesExhausted,
            StopReason::DeadlineExceeded,
            StopReason::BudgetExhausted,
            StopReason::NotReplayable,
        ];
        let mut table = String::new();
        for reason in retries {
            table.push_str(&format!("retry {}: {reason}\n", reason.as_str()));
        }
        for reason in stops {
            table.push_str(&format!("stop {}: {reason}\n", reason.as_str()));
        }
        insta::assert_snapshot!(table);
    }
}

//! The retry policy: pure decisions from data and a clock reading, no I/O.
//!
//! [`RetryPolicy`] holds the settings and classifies outcomes; [`RetryRun`] walks one logical
//! request through its attempts; [`RetryBudget`], [`RateLimitGate`] and [`Pacer`] are the
//! state one client shares across its requests ([`ClientRetryState`] bundles them: one
//! budget, and a window and a pacer per [`Partitioning`] partition). The async and the
//! blocking drivers only send, sleep, and ask these what to do next.

mod budget;
mod decision;
mod gate;
mod outcome;
mod pacing;
mod partition;
mod partitions;
mod run;

use std::time::Duration;

pub use budget::RetryBudget;
pub use decision::{Decision, RetryReason, StopReason};
pub use gate::RateLimitGate;
pub use outcome::{Idempotency, Outcome, TransportFailure, TransportKind};
pub use pacing::{PaceSource, Pacer, RateLimitQuota, RateLimitStatement};
pub use partition::{MAX_KEY_LEN, Partitioning, route_key};
pub use partitions::{MAX_PARTITIONS, Partition};
pub use run::{AttemptRecord, ClientRetryState, RetryRun};

use crate::{ApiError, ApiErrorKind};

/// Retry settings and the rules that apply them.
///
/// | outcome | retried? | wait before the retry |
/// |---|---|---|
/// | 429 or `RATE_LIMIT_ERROR`, `Retry-After` ≤ max wait | yes, any method, not counted in `max_retries` nor spent from the budget | the `Retry-After`, plus up to 10%, then its turn in the paced queue |
/// | 429 with `Retry-After` > max wait | no: the error carries the requested delay | — |
/// | 429 without `Retry-After` | yes, any method | exponential backoff |
/// | quota, auth, validation, not found, conflict, too large, payment (any status) | never | — |
/// | 500, 502, 503, 504, other 5xx | idempotent or marked safe only | the larger of the backoff and `Retry-After` |
/// | 501, 505 | never | — |
/// | connection refused (never sent) | yes, any method | backoff |
/// | timeout or reset after sending | idempotent or marked safe only | backoff |
/// | refused by the HTTP client before sending (bad URL, a scheme the build cannot speak) | never | — |
/// | TLS certificate not trusted, TLS handshake failure | never | — |
/// | success body over the client's size limit | never | — |
///
/// Every retry is also bounded by the total deadline (a wait that would end past it is not
/// started; jitter is cut so a wait that fits stays inside it). Retries after 5xx, transport
/// failures and 429s without a requested wait are bounded by `max_retries` and the shared
/// [`RetryBudget`]; retries after a 429 whose wait the server stated are bounded by
/// `max_rate_limit_retries` instead, so a rate limit whose wait fits the deadline does not
/// fail the call.
///
/// A 429 also closes its partition's rate-limit window for the requested wait (the other
/// requests of that partition hold off too; by default a partition is a route, see
/// [`Partitioning`]) and starts the partition's [`Pacer`]: from then on its requests are
/// spaced at the rate the server stated or the client learned, and leave a closed window
/// one by one.
///
/// ```
/// use std::time::Duration;
/// use errors_core::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_retries(5)
///     .with_max_retry_after(Duration::from_secs(10))
///     .with_deadline(Some(Duration::from_secs(30)));
/// assert_eq!(policy.max_retries(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    deadline: Option<Duration>,
    attempt_timeout: Option<Duration>,
    retry_after_jitter: f64,
    max_rate_limit_retries: u32,
    pacing: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            deadline: Some(Duration::from_secs(120)),
            attempt_timeout: None,
            retry_after_jitter: 0.1,
            max_rate_limit_retries: 50,
            pacing: true,
        }
    }
}

impl RetryPolicy {
    /// Retries after the first attempt (default 3, so at most 4 attempts).
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The backoff ceiling for the first retry; it doubles for each further one (default
    /// 500 ms). The wait is drawn uniformly below the ceiling ("full jitter").
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff ceiling (default 8 s).
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest server-requested wait (`Retry-After`, or a rate-limit reset when nothing
    /// remains) the client sleeps through (default 60 s).
    ///
    /// A request asked to wait longer is not retried: it stops at once with
    /// [`StopReason::RetryAfterTooLong`] and the requested delay on the error. A 429 asking
    /// for that longer wait still closes its partition's rate-limit window, but for this maximum
    /// only: other requests hold off at most this long, then ask the server again. A wait up
    /// to this maximum is slept in full (plus jitter), as long as it ends before the deadline.
    pub fn with_max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// The total time for all attempts and waits of one request (default 120 s; `None` for no
    /// limit). Waits that would end past it are not started.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The time limit for each attempt (default none: the HTTP client's own timeout). It is
    /// always cut to the time left before the deadline.
    pub fn with_attempt_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The most jitter added on top of a server-requested wait, as a fraction of it (default
    /// 0.1; clamped to `0.0..=1.0`). Jitter never shortens a server-requested wait.
    pub fn with_retry_after_jitter(mut self, fraction: f64) -> Self {
        self.retry_after_jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// The most retries after 429s whose wait the server stated (`Retry-After`, or a
    /// rate-limit reset): default 50. They are not counted in `max_retries` and do not spend
    /// the retry budget, since waiting as asked is flow control, not an outage; the deadline
    /// bounds them, and this count bounds a server that rejects forever with short waits. (A
    /// `Retry-After: 0` or a date in the past asks for no wait: that retry counts as an
    /// outage retry, against `max_retries` and the budget.)
    pub fn with_max_rate_limit_retries(mut self, retries: u32) -> Self {
        self.max_rate_limit_retries = retries;
        self
    }

    /// Whether the client paces its requests after a 429 (default `true`): see [`Pacer`].
    /// Without pacing, requests held by a closed window all leave when it opens.
    pub fn with_pacing(mut self, pacing: bool) -> Self {
        self.pacing = pacing;
        self
    }

    /// Retries after 429s with a server-requested wait.
    pub fn max_rate_limit_retries(&self) -> u32 {
        self.max_rate_limit_retries
    }

    /// Whether requests are paced after a 429.
    pub fn pacing(&self) -> bool {
        self.pacing
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The total deadline.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The per-attempt timeout.
    pub fn attempt_timeout(&self) -> Option<Duration> {
        self.attempt_timeout
    }

    /// Whether an outcome calls for a retry at all, regardless of attempts, time and budget.
    pub fn classify(
        &self,
        idempotency: Idempotency,
        outcome: &Outcome<'_>,
    ) -> Result<RetryReason, StopReason> {
        match outcome {
            Outcome::Success { .. } => Err(StopReason::Succeeded),
            Outcome::Transport(failure) => {
                if failure.kind.is_permanent() {
                    Err(StopReason::NotRetryable)
                } else if !failure.may_have_reached_server {
                    Ok(RetryReason::NotSent)
                } else if idempotency.is_repeatable() {
                    Ok(RetryReason::Transport)
                } else {
                    Err(StopReason::UnsafeToRepeat)
                }
            }
            Outcome::Api(error) => classify_api_error(idempotency, error),
        }
    }

    /// Whether the first attempt of a request with this idempotency would be retried after
    /// `error` (ignoring the deadline and budget).
    pub fn would_retry(&self, idempotency: Idempotency, error: &ApiError) -> bool {
        let Ok(reason) = self.classify(idempotency, &Outcome::Api(error)) else {
            return false;
        };
        let allowed = match (reason, error.retry_after()) {
            (RetryReason::RateLimited, Some(_)) => self.max_rate_limit_retries,
            _ => self.max_retries,
        };
        allowed > 0
            && error
                .retry_after()
                .is_none_or(|d| d <= self.max_retry_after)
    }

    /// Starts a logical request in the client's default partition (see [`Partitioning`]):
    /// for a driver that does not know the request's target. `now` is the driver's
    /// monotonic time since its anchor, `seed` seeds the jitter (drivers pass a random one;
    /// tests a fixed one).
    pub fn start(
        &self,
        idempotency: Idempotency,
        shared: &ClientRetryState,
        now: Duration,
        seed: u64,
    ) -> RetryRun {
        RetryRun::new(*self, idempotency, shared, "", now, seed)
    }

    /// Starts a logical request for `method` on `url` (absolute, as sent): its rate-limit
    /// window and pacer are those of its partition, by the state's [`Partitioning`] (by
    /// default its route). A `429` on it holds and paces that partition only.
    pub fn start_for(
        &self,
        idempotency: Idempotency,
        shared: &ClientRetryState,
        method: &http::Method,
        url: &str,
        now: Duration,
        seed: u64,
    ) -> RetryRun {
        let key = shared.partitioning().key(method, url);
        RetryRun::new(*self, idempotency, shared, &key, now, seed)
    }

    /// The full-jitter backoff before retry number `retry` (0 for the first retry), given a
    /// uniform sample `unit` in `[0, 1)`.
    pub(crate) fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// A server-requested wait plus up to `retry_after_jitter` of it.
    pub(crate) fn jittered_retry_after(&self, requested: Duration, unit: f64) -> Duration {
        let extra = requested.mul_f64(self.retry_after_jitter * unit.clamp(0.0, 1.0));
        requested.saturating_add(extra)
    }
}

/// The API's contract for an error response: whether the same request can succeed later,
/// and why. Shared by [`RetryPolicy::classify`] and [`ApiError::is_retryable`].
pub(crate) fn classify_api_error(
    idempotency: Idempotency,
    error: &ApiError,
) -> Result<RetryReason, StopReason> {
    let status = error.status().as_u16();
    // The body's code says more than the status: a quota at 429 is not a rate limit, and a
    // rate limit is one whatever status a proxy put on it.
    let kind = error.kind();
    let waiting_cannot_help = match kind {
        ApiErrorKind::Authentication
        | ApiErrorKind::Authorization
        | ApiErrorKind::PaymentRequired
        | ApiErrorKind::BadRequest
        | ApiErrorKind::NotFound
        | ApiErrorKind::Conflict
        | ApiErrorKind::PayloadTooLarge
        | ApiErrorKind::Validation
        | ApiErrorKind::Quota
        | ApiErrorKind::Processing
        | ApiErrorKind::Client
        | ApiErrorKind::UnexpectedStatus => true,
        ApiErrorKind::RateLimited
        | ApiErrorKind::Upstream
        | ApiErrorKind::Timeout
        | ApiErrorKind::Server
        | ApiErrorKind::Unknown => false,
        // Future kinds: decide by status below.
        #[allow(unreachable_patterns)]
        _ => false,
    };
    if waiting_cannot_help {
        return Err(StopReason::NotRetryable);
    }
    // A 429 is the rate limiter's answer, whatever transient code came with it (a throttled
    // provider's `VLM_PROVIDER_ERROR`, an undocumented code): the request was not processed.
    if kind == ApiErrorKind::RateLimited || status == 429 {
        return Ok(RetryReason::RateLimited);
    }
    match status {
        501 | 505 => Err(StopReason::NotRetryable),
        500..=599 if idempotency.is_repeatable() => Ok(RetryReason::ServerError),
        500..=599 => Err(StopReason::UnsafeToRepeat),
        _ => Err(StopReason::NotRetryable),
    }
}

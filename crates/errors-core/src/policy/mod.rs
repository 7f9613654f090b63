//! The retry policy: pure decisions from data and a clock reading, no I/O.
//!
//! [`RetryPolicy`] holds the settings and classifies outcomes; [`RetryRun`] walks one logical
//! request through its attempts; [`RetryBudget`], [`RateLimitGate`] and [`Pacer`] are the
//! state one client shares across its requests ([`ClientRetryState`] bundles them: one
//! budget, and a window and a pacer per [`Partitioning`] partition). The async and the
//! blocking drivers only send, sleep, and ask these what to do next.

mod budget;
mod cubic;
mod decision;
mod gate;
mod learned;
mod outcome;
mod overrides;
mod pacer;
mod partition;
mod partitions;
mod queue;
mod run;
mod stated_window;
mod statement;
mod traffic;

use std::sync::Arc;
use std::time::Duration;

pub use budget::RetryBudget;
pub use decision::{Decision, RetryReason, StopReason};
pub use gate::RateLimitGate;
pub use outcome::{Idempotency, Outcome, TransportFailure, TransportKind};
pub use overrides::RetryOverride;
pub use pacer::{PaceSource, Pacer};
pub use partition::{MAX_KEY_LEN, Partitioning, route_key};
pub use partitions::{MAX_PARTITIONS, Partition};
pub use run::{AttemptRecord, ClientRetryState, RateLimitEvent, RetryRun};
pub use statement::{RateLimitQuota, RateLimitStatement};

use crate::classify::RetryClass;
use crate::{ApiError, ErrorCode};

use overrides::Rule;

/// Retry settings and the rules that apply them.
///
/// | outcome | retried? | wait before the retry |
/// |---|---|---|
/// | 429 or `RATE_LIMIT_ERROR`, `Retry-After` ≤ max wait | yes, any method, not counted in `max_retries` nor spent from the budget | the `Retry-After`, plus up to 10% (none when a wait over a second closes a paced partition's window), then its turn in the paced queue |
/// | 429 with `Retry-After` > max wait | no: the error carries the requested delay | — |
/// | 429 without `Retry-After` | yes, any method | the reset of `RateLimit` / `X-RateLimit-*` headers when nothing remains, else exponential backoff |
/// | quota, auth, validation, not found, conflict, too large, payment (any status) | never | — |
/// | 500, 502, 503, 504, other 5xx | idempotent or marked safe only | the larger of the backoff and `Retry-After` |
/// | anything after a redirect of a request that is not idempotent ([`RetryRun::mark_redirected`]) | no: the request was received | — |
/// | 501, 505 | never | — |
/// | connection refused (never sent) | yes, any method | backoff |
/// | timeout or reset after sending | idempotent or marked safe only | backoff |
/// | refused by the HTTP client before sending (bad URL, a scheme the build cannot speak) | never | — |
/// | a redirect that cannot be followed (too many, an unusable `Location`) | never | — |
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
/// A 429 also teaches its partition's [`Pacer`] (by default a partition is a route, see
/// [`Partitioning`]): a stated limit paces the partition at once, at its rate and burst; an
/// unstated one once most of what the partition sends is rejected. A wait longer than the
/// header's one-second resolution also closes the partition's rate-limit window: its other
/// requests hold off until it opens.
///
/// ```
/// use std::time::Duration;
/// use errors_core::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_retries(5)
///     .with_max_wait(Duration::from_secs(10))
///     .with_deadline(Duration::from_secs(30));
/// assert_eq!(policy.max_retries(), 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
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
    /// The caller's rules for API errors, consulted before the contract; `None` when there
    /// are none (the common case costs no allocation per request).
    overrides: Option<Arc<[Rule]>>,
}

/// The default total time for one call, all attempts and waits included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

/// The default time limit for one attempt, body included: half the default deadline, so a
/// hung attempt (a server that accepted the request and never answers) leaves time for one
/// more. A slower answer is rare in practice: the gateways in front of most APIs end a
/// request at 60 s themselves (nginx's `proxy_read_timeout`, the idle timeout of AWS's load
/// balancers), and the API answers `504 TIMEOUT` for its own long operations.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default longest server-requested wait slept through (`Retry-After`).
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

/// The longest a driver sleeps on a hold from [`RetryRun::before_attempt`] before it asks
/// again: a pace that speeds up meanwhile (a learned limit climbing, a stated one probed)
/// moves the request's slot earlier, and a request asleep past its new slot leaves late, on
/// top of the slots given after it (a driver that slept whole holds sent a probe's queue
/// in a burst after the probe's `429`: a dozen more `429`s). A quarter second bounds how
/// late a held request notices, at four wake-ups a second per held request; a fleet store
/// books slots at the same period.
pub const MAX_NAP: Duration = Duration::from_millis(250);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: DEFAULT_MAX_WAIT,
            deadline: Some(DEFAULT_DEADLINE),
            attempt_timeout: Some(DEFAULT_ATTEMPT_TIMEOUT),
            retry_after_jitter: 0.1,
            max_rate_limit_retries: 50,
            pacing: true,
            overrides: None,
        }
    }
}

impl RetryPolicy {
    /// No retries of any kind: one attempt per call, whatever it meets (a 5xx, a transport
    /// failure, a 429 with a short `Retry-After`). The error still carries the requested
    /// delay, so the caller can decide. The deadline, the attempt timeout and the rate-limit
    /// window still apply (a request may hold off while another request's 429 asked the
    /// client to wait; that is not a retry: turn it off too with
    /// [`with_pacing(false)`](RetryPolicy::with_pacing)).
    ///
    /// ```
    /// use errors_core::RetryPolicy;
    ///
    /// let policy = RetryPolicy::disabled();
    /// assert_eq!(policy.max_retries(), 0);
    /// assert_eq!(policy.max_rate_limit_retries(), 0);
    /// ```
    pub fn disabled() -> RetryPolicy {
        RetryPolicy::default()
            .with_max_retries(0)
            .with_max_rate_limit_retries(0)
    }

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

    /// The "max wait": the longest server-requested wait (`Retry-After`, or a rate-limit
    /// reset when nothing remains) the client sleeps through (default 60 s,
    /// [`DEFAULT_MAX_WAIT`]).
    ///
    /// A request asked to wait longer is not retried: it stops at once with
    /// [`StopReason::RetryAfterTooLong`] and the requested delay on the error. A 429 asking
    /// for that longer wait still closes its partition's rate-limit window, but for this maximum
    /// only: other requests hold off at most this long, then ask the server again. A wait up
    /// to this maximum is slept in full (plus jitter), as long as it ends before the deadline.
    pub fn with_max_wait(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// The total time for all attempts and waits of one call (default 120 s). Waits that
    /// would end past it are not started, and an attempt is cut at it.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// No total deadline: a call ends when its retries do.
    pub fn without_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// The time limit for each attempt, body included (default 60 s,
    /// [`DEFAULT_ATTEMPT_TIMEOUT`]). It is always cut to the time left before the deadline.
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// No time limit per attempt: only the deadline cuts a slow one.
    pub fn without_attempt_timeout(mut self) -> Self {
        self.attempt_timeout = None;
        self
    }

    /// A rule for errors with the application code `code`, consulted before the API's
    /// contract: e.g. never retry `TIMEOUT` (the reference's remedy is a smaller batch, not
    /// the same request again). Rules are consulted in the order added; the first that says
    /// anything but [`RetryOverride::Contract`] decides. No rule overrides the deadline, the
    /// limits on retries, or the safety of a request that is not idempotent (see
    /// [`RetryOverride::Retry`]).
    ///
    /// ```
    /// use errors_core::{ErrorCode, Idempotency, RetryPolicy};
    /// use errors_core::retry::RetryOverride;
    /// # use errors_core::ApiError;
    /// # use http::{HeaderMap, StatusCode};
    ///
    /// let policy = RetryPolicy::default().with_code_override(ErrorCode::Timeout, RetryOverride::Never);
    /// let body = br#"{"error":{"code":"TIMEOUT","message":"Operation timed out"}}"#;
    /// let timeout = ApiError::parse(StatusCode::GATEWAY_TIMEOUT, &HeaderMap::new(), body, std::time::SystemTime::UNIX_EPOCH);
    /// assert!(!policy.would_retry(Idempotency::Idempotent, &timeout));
    /// assert!(RetryPolicy::default().would_retry(Idempotency::Idempotent, &timeout));
    /// ```
    pub fn with_code_override(self, code: ErrorCode, says: RetryOverride) -> Self {
        self.with_rule(Rule::Code(code, says))
    }

    /// A rule for error responses with the HTTP status `status` (see
    /// [`with_code_override`](RetryPolicy::with_code_override) for how rules combine).
    pub fn with_status_override(self, status: u16, says: RetryOverride) -> Self {
        self.with_rule(Rule::Status(status, says))
    }

    /// A rule of any shape: `hook` sees each API error the policy classifies (see
    /// [`with_code_override`](RetryPolicy::with_code_override) for how rules combine). It
    /// runs once per error response, so keep it cheap; it must not panic.
    pub fn with_override(
        self,
        hook: impl Fn(&ApiError) -> RetryOverride + Send + Sync + 'static,
    ) -> Self {
        self.with_rule(Rule::Hook(Arc::new(hook)))
    }

    fn with_rule(mut self, rule: Rule) -> Self {
        let mut rules: Vec<Rule> = self.overrides.as_deref().unwrap_or_default().to_vec();
        rules.push(rule);
        self.overrides = Some(rules.into());
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
    /// Without pacing, every 429 closes its partition's window for its whole wait, and the
    /// requests it held all leave when it opens.
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

    /// The longest server-requested wait slept through.
    pub fn max_wait(&self) -> Duration {
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
            Outcome::Api(error) => {
                let contract = classify_api_error(idempotency, error);
                match &self.overrides {
                    Some(rules) => {
                        overrides::apply(overrides::first_say(rules, error), idempotency, contract)
                    }
                    None => contract,
                }
            }
        }
    }

    /// [`classify`](RetryPolicy::classify) with the maximum wait: an error whose
    /// `Retry-After` is longer than [`max_wait`](RetryPolicy::max_wait) stops with
    /// [`StopReason::RetryAfterTooLong`]. All that one outcome tells, for a driver that
    /// keeps the count of retries, the deadline and the budget itself (a `reqwest-retry`
    /// strategy).
    pub fn verdict(
        &self,
        idempotency: Idempotency,
        outcome: &Outcome<'_>,
    ) -> Result<RetryReason, StopReason> {
        let reason = self.classify(idempotency, outcome)?;
        match outcome {
            Outcome::Api(error) => match error.retry_after() {
                Some(wait) if wait > self.max_retry_after => Err(StopReason::RetryAfterTooLong {
                    requested_ms: crate::display::millis(wait),
                }),
                _ => Ok(reason),
            },
            _ => Ok(reason),
        }
    }

    /// Whether the same request could succeed if sent again later, by this policy's rules
    /// (the API's contract and the caller's overrides): [`classify`](RetryPolicy::classify)
    /// for a request that may be repeated. No limit counts (a `Retry-After` of a day is
    /// retryable, tomorrow), nor whether the method makes sending again safe (a POST after a
    /// 503 is retryable; `classify` stops it with [`StopReason::UnsafeToRepeat`]).
    pub fn is_retryable(&self, outcome: &Outcome<'_>) -> bool {
        self.classify(Idempotency::Idempotent, outcome).is_ok()
    }

    /// Whether the first attempt of a request with this idempotency would be retried after
    /// `error` (ignoring the deadline and budget).
    pub fn would_retry(&self, idempotency: Idempotency, error: &ApiError) -> bool {
        let Ok(reason) = self.verdict(idempotency, &Outcome::Api(error)) else {
            return false;
        };
        let allowed = match (reason, error.retry_after()) {
            (RetryReason::RateLimited, Some(_)) => self.max_rate_limit_retries,
            _ => self.max_retries,
        };
        allowed > 0
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
        RetryRun::new(self.clone(), idempotency, shared, "", now, seed)
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
        RetryRun::new(self.clone(), idempotency, shared, &key, now, seed)
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

/// The API's contract for an error response: whether the same request can succeed later
/// ([`ApiError::is_retryable`] asks the same class), and why, for a request of this
/// idempotency.
pub(crate) fn classify_api_error(
    idempotency: Idempotency,
    error: &ApiError,
) -> Result<RetryReason, StopReason> {
    match error.retry_class() {
        RetryClass::Permanent => Err(StopReason::NotRetryable),
        RetryClass::RateLimited => Ok(RetryReason::RateLimited),
        RetryClass::Transient if idempotency.is_repeatable() => Ok(RetryReason::ServerError),
        RetryClass::Transient => Err(StopReason::UnsafeToRepeat),
    }
}

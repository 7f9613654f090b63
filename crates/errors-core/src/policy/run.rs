//! One logical request walked through its attempts.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{
    Decision, Idempotency, Outcome, RateLimitGate, RetryBudget, RetryPolicy, RetryReason,
    StopReason, TransportKind,
};
use crate::ErrorCode;
use crate::api_error::millis;

/// The retry state one client shares across all its requests: the budget and the
/// rate-limit window. Cheap to clone (it is an `Arc` inside).
#[derive(Debug, Clone, Default)]
pub struct ClientRetryState {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    budget: Option<RetryBudget>,
    gate: RateLimitGate,
}

impl ClientRetryState {
    /// State with a retry budget.
    pub fn with_budget(budget: RetryBudget) -> ClientRetryState {
        ClientRetryState {
            inner: Arc::new(Shared {
                budget: Some(budget),
                gate: RateLimitGate::default(),
            }),
        }
    }

    /// State without a retry budget: only the per-request limits apply.
    pub fn without_budget() -> ClientRetryState {
        ClientRetryState::default()
    }

    /// The budget, if any.
    pub fn budget(&self) -> Option<&RetryBudget> {
        self.inner.budget.as_ref()
    }

    /// The shared rate-limit window.
    pub fn gate(&self) -> &RateLimitGate {
        &self.inner.gate
    }
}

/// What happened on one attempt, kept for the caller and for logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AttemptRecord {
    /// 1 for the first attempt.
    pub number: u32,
    /// The status, if a response came.
    pub status: Option<u16>,
    /// The application code, if the body carried one.
    pub code: Option<ErrorCode>,
    /// The request id, if the response carried one.
    pub request_id: Option<String>,
    /// The transport failure, if no response came.
    pub transport: Option<TransportKind>,
    /// The pause before this attempt (backoff, `Retry-After`, or a shared rate-limit window).
    #[serde(rename = "waited_ms", serialize_with = "as_millis")]
    pub waited: Duration,
    /// Why the next attempt was made, if one was.
    pub retry: Option<RetryReason>,
    /// Why no attempt followed, if none did.
    pub stop: Option<StopReason>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(millis(*d))
}

/// The attempts of one logical request, from first send to final outcome.
///
/// A driver loops: [`RetryRun::before_attempt`] (how long to hold off, or stop), send with
/// [`RetryRun::attempt_timeout`], then [`RetryRun::after_attempt`] (retry after a wait, or
/// stop). Time is the driver's monotonic clock as a [`Duration`] since its anchor: nothing
/// here reads a clock or sleeps.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use errors_core::{ApiError, ClientRetryState, Decision, Idempotency, Outcome, RetryPolicy};
/// use http::{HeaderMap, StatusCode};
///
/// let shared = ClientRetryState::default();
/// let mut run = RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 7);
/// assert_eq!(run.before_attempt(Duration::ZERO), Ok(Duration::ZERO));
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "2".parse().unwrap());
/// let error = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &headers, b"", SystemTime::UNIX_EPOCH);
/// let Decision::Retry { wait, .. } = run.after_attempt(Outcome::Api(&error), Duration::from_millis(30)) else { panic!() };
/// assert!(wait >= Duration::from_secs(2)); // never earlier than asked
/// ```
#[derive(Debug)]
pub struct RetryRun {
    policy: RetryPolicy,
    idempotency: Idempotency,
    shared: ClientRetryState,
    started: Duration,
    rng: fastrand::Rng,
    attempts: Vec<AttemptRecord>,
    pending_wait: Duration,
    replayable: bool,
}

impl RetryRun {
    pub(super) fn new(
        policy: RetryPolicy,
        idempotency: Idempotency,
        shared: &ClientRetryState,
        now: Duration,
        seed: u64,
    ) -> RetryRun {
        if let Some(budget) = shared.budget() {
            budget.deposit();
        }
        RetryRun {
            policy,
            idempotency,
            shared: shared.clone(),
            started: now,
            rng: fastrand::Rng::with_seed(seed),
            attempts: Vec::with_capacity(2),
            pending_wait: Duration::ZERO,
            replayable: true,
        }
    }

    /// How long to hold off before the next attempt because the client's rate-limit window
    /// is closed, or [`StopReason::DeadlineExceeded`] if it opens too late.
    pub fn before_attempt(&mut self, now: Duration) -> Result<Duration, StopReason> {
        let hold = self.shared.gate().remaining(now);
        if let Some(deadline) = self.policy.deadline {
            let elapsed = now.saturating_sub(self.started);
            if elapsed.saturating_add(hold) >= deadline {
                return Err(StopReason::DeadlineExceeded);
            }
        }
        self.pending_wait += hold;
        Ok(hold)
    }

    /// Says the request cannot be sent again (its body is a stream): an outcome that would
    /// be retried stops with [`StopReason::NotReplayable`] instead.
    pub fn mark_not_replayable(&mut self) {
        self.replayable = false;
    }

    /// The time limit for an attempt starting at `now`: the per-attempt timeout, cut to the
    /// time left before the deadline.
    pub fn attempt_timeout(&self, now: Duration) -> Option<Duration> {
        let left = self
            .policy
            .deadline
            .map(|d| d.saturating_sub(now.saturating_sub(self.started)));
        match (self.policy.attempt_timeout, left) {
            (Some(a), Some(l)) => Some(a.min(l)),
            (a, l) => a.or(l),
        }
    }

    /// Records an attempt that ended at `now` and decides what comes next. (A `Retry-After`
    /// date was already resolved against the wall clock when the error was parsed.) A retry
    /// also closes the client's rate-limit window when the server asked for the wait.
    pub fn after_attempt(&mut self, outcome: Outcome<'_>, now: Duration) -> Decision {
        let decision = self.decide(&outcome, now);
        let (status, code, request_id, transport) = match outcome {
            Outcome::Success { status } => (Some(status.as_u16()), None, None, None),
            Outcome::Api(e) => (
                Some(e.status().as_u16()),
                e.code().cloned(),
                e.request_id().map(str::to_owned),
                None,
            ),
            Outcome::Transport(t) => (None, None, None, Some(t.kind)),
        };
        let (retry, stop) = match decision {
            Decision::Retry { reason, .. } => (Some(reason), None),
            Decision::Stop(reason) => (None, Some(reason)),
        };
        self.attempts.push(AttemptRecord {
            number: self.attempts.len() as u32 + 1,
            status,
            code,
            request_id,
            transport,
            waited: std::mem::take(&mut self.pending_wait),
            retry,
            stop,
        });
        if let Decision::Retry { wait, .. } = decision {
            self.pending_wait = wait;
        }
        decision
    }

    fn decide(&mut self, outcome: &Outcome<'_>, now: Duration) -> Decision {
        let reason = match self.policy.classify(self.idempotency, outcome) {
            Ok(reason) => reason,
            Err(stop) => return Decision::Stop(stop),
        };
        if !self.replayable {
            return Decision::Stop(StopReason::NotReplayable);
        }
        let requested = match outcome {
            Outcome::Api(e) => e.retry_after(),
            _ => None,
        };
        if let Some(requested) = requested
            && requested > self.policy.max_retry_after
        {
            return Decision::Stop(StopReason::RetryAfterTooLong {
                requested_ms: millis(requested),
            });
        }
        let retries_done = self.attempts.len() as u32;
        if retries_done >= self.policy.max_retries {
            return Decision::Stop(StopReason::RetriesExhausted);
        }
        let unit = self.rng.f64();
        let wait = match requested {
            Some(requested) => self.policy.jittered_retry_after(requested, unit),
            None => self.policy.backoff(retries_done, unit),
        };
        if let Some(deadline) = self.policy.deadline
            && now.saturating_sub(self.started).saturating_add(wait) >= deadline
        {
            return Decision::Stop(StopReason::DeadlineExceeded);
        }
        if let Some(budget) = self.shared.budget()
            && !budget.try_withdraw()
        {
            return Decision::Stop(StopReason::BudgetExhausted);
        }
        if requested.is_some() && reason == RetryReason::RateLimited {
            self.shared.gate().close_until(now.saturating_add(wait));
        }
        Decision::Retry { wait, reason }
    }

    /// The attempts so far.
    pub fn attempts(&self) -> &[AttemptRecord] {
        &self.attempts
    }

    /// The attempts, for the final result.
    pub fn into_attempts(self) -> Vec<AttemptRecord> {
        self.attempts
    }
}

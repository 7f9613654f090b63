//! Whether and when to retry, as pure functions of data and time: the [`RetryPolicy`] and
//! its defaults, one logical request's [`RetryRun`] attempt by attempt, the [`Decision`] it
//! makes with its [`RetryReason`] or [`StopReason`], the [`AttemptRecord`]s it keeps, and the
//! state a client shares ([`ClientRetryState`]: a [`RetryBudget`], and the rate-limit state of
//! [`ratelimit`](crate::ratelimit)). [`RetryAfter`] is the server's requested wait;
//! [`Outcome`], [`TransportFailure`] and [`Idempotency`] are what a driver tells the policy.
//!
//! [`RetryPolicy`], [`Idempotency`] and [`RetryAfter`] are also at the crate's root. The
//! drivers (errors-http, errors-blocking) only send, sleep and ask these what to do next.
//!
//! ```
//! use std::time::Duration;
//! use errors_core::retry::{
//!     ClientRetryState, Decision, Idempotency, Outcome, RetryPolicy, StopReason, TransportFailure,
//! };
//!
//! // One logical request: a refused connection is retried once, then the run stops.
//! let policy = RetryPolicy::default().with_max_retries(1);
//! let shared = ClientRetryState::without_budget();
//! let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 7);
//! let refused = || Outcome::Transport(TransportFailure::connect());
//! assert!(matches!(run.after_attempt(refused(), Duration::ZERO), Decision::Retry { .. }));
//! assert_eq!(
//!     run.after_attempt(refused(), Duration::from_secs(1)),
//!     Decision::Stop(StopReason::RetriesExhausted),
//! );
//! ```

pub use crate::policy::{
    AttemptRecord, ClientRetryState, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_DEADLINE, DEFAULT_MAX_WAIT,
    Decision, Idempotency, MAX_NAP, Outcome, RetryBudget, RetryOverride, RetryPolicy, RetryReason,
    RetryRun, StopReason, TransportFailure, TransportKind,
};
pub use crate::retry_after::{InvalidRetryAfter, RetryAfter};

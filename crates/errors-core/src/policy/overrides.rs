//! A caller's own rules for API errors, consulted before the API's contract: "never retry
//! `TIMEOUT`" (the reference's remedy for it is a smaller batch, not the same request
//! again), "retry this 409 of ours".

use std::fmt;
use std::sync::Arc;

use crate::{ApiError, ErrorCode};

use super::{Idempotency, RetryReason, StopReason};

/// What a caller's rule says about an API error (see [`RetryPolicy::with_code_override`]
/// and its siblings).
///
/// [`RetryPolicy::with_code_override`]: super::RetryPolicy::with_code_override
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryOverride {
    /// The API's contract decides, as if the rule were not there.
    Contract,
    /// Never retried ([`StopReason::NotRetryable`]).
    Never,
    /// Retried as a transient failure ([`RetryReason::Overridden`]: backoff, counted in
    /// `max_retries`, spent from the budget), but only where repeating is safe: a POST not
    /// marked safe to repeat still stops ([`StopReason::UnsafeToRepeat`]). The deadline and
    /// every other limit apply as to any retry.
    Retry,
}

/// A caller's rule, in the order added.
#[derive(Clone)]
pub(super) enum Rule {
    Code(ErrorCode, RetryOverride),
    Status(u16, RetryOverride),
    Hook(Arc<dyn Fn(&ApiError) -> RetryOverride + Send + Sync>),
}

impl Rule {
    fn says(&self, error: &ApiError) -> RetryOverride {
        match self {
            Rule::Code(code, says) if error.code() == Some(code) => *says,
            Rule::Status(status, says) if error.status().as_u16() == *status => *says,
            Rule::Hook(hook) => hook(error),
            _ => RetryOverride::Contract,
        }
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        match (self, other) {
            (Rule::Code(a, x), Rule::Code(b, y)) => a == b && x == y,
            (Rule::Status(a, x), Rule::Status(b, y)) => a == b && x == y,
            (Rule::Hook(a), Rule::Hook(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Code(code, says) => write!(f, "Code({code}, {says:?})"),
            Rule::Status(status, says) => write!(f, "Status({status}, {says:?})"),
            Rule::Hook(_) => f.write_str("Hook(..)"),
        }
    }
}

/// The first rule that says anything but [`RetryOverride::Contract`] decides.
pub(super) fn first_say(rules: &[Rule], error: &ApiError) -> RetryOverride {
    rules
        .iter()
        .map(|rule| rule.says(error))
        .find(|says| *says != RetryOverride::Contract)
        .unwrap_or(RetryOverride::Contract)
}

/// The contract's classification of an API error, changed as a rule says.
pub(super) fn apply(
    says: RetryOverride,
    idempotency: Idempotency,
    contract: Result<RetryReason, StopReason>,
) -> Result<RetryReason, StopReason> {
    match (says, contract) {
        (RetryOverride::Never, Ok(_)) => Err(StopReason::NotRetryable),
        (RetryOverride::Retry, Err(StopReason::NotRetryable)) if idempotency.is_repeatable() => {
            Ok(RetryReason::Overridden)
        }
        (RetryOverride::Retry, Err(StopReason::NotRetryable)) => Err(StopReason::UnsafeToRepeat),
        (_, contract) => contract,
    }
}

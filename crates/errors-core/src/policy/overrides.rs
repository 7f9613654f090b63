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

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::{HeaderMap, StatusCode};

    use super::RetryOverride::{Contract, Never, Retry};
    use super::*;

    fn error(status: u16, code: &str) -> ApiError {
        let body = format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#);
        ApiError::parse(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            SystemTime::UNIX_EPOCH,
        )
    }

    fn hook(says: RetryOverride) -> Rule {
        Rule::Hook(Arc::new(move |_: &ApiError| says))
    }

    #[test]
    fn rules_speak_only_of_their_own_code_or_status() {
        let code = Rule::Code(ErrorCode::Timeout, Never);
        assert_eq!(code.says(&error(504, "TIMEOUT")), Never);
        assert_eq!(code.says(&error(504, "GATEWAY_SLOW")), Contract);
        let status = Rule::Status(409, Retry);
        assert_eq!(status.says(&error(409, "CONFLICT")), Retry);
        assert_eq!(status.says(&error(410, "CONFLICT")), Contract);
        let conflicts = Rule::Hook(Arc::new(|e: &ApiError| {
            if e.status() == StatusCode::CONFLICT {
                Retry
            } else {
                Contract
            }
        }));
        assert_eq!(conflicts.says(&error(409, "CONFLICT")), Retry);
        assert_eq!(conflicts.says(&error(404, "NOT_FOUND")), Contract);
    }

    #[test]
    fn the_first_rule_that_speaks_decides() {
        let e = error(409, "CONFLICT");
        let rules = [
            Rule::Status(418, Never),
            hook(Contract),
            hook(Retry),
            hook(Never),
        ];
        assert_eq!(first_say(&rules, &e), Retry);
        assert_eq!(first_say(&rules[..2], &e), Contract);
        assert_eq!(first_say(&[], &e), Contract);
    }

    #[test]
    fn a_rule_changes_the_contract_only_where_repeating_is_safe() {
        use Idempotency::{Idempotent, NonIdempotent};
        let refused = Err(StopReason::NotRetryable);
        assert_eq!(
            apply(Retry, Idempotent, refused),
            Ok(RetryReason::Overridden)
        );
        assert_eq!(
            apply(Retry, NonIdempotent, refused),
            Err(StopReason::UnsafeToRepeat)
        );
        assert_eq!(
            apply(Never, NonIdempotent, Ok(RetryReason::RateLimited)),
            Err(StopReason::NotRetryable)
        );
        // What a rule cannot change: a request unsafe to repeat stays so, a contract left
        // to itself stays as it is.
        let unsafe_post = Err(StopReason::UnsafeToRepeat);
        assert_eq!(apply(Retry, NonIdempotent, unsafe_post), unsafe_post);
        assert_eq!(
            apply(Contract, Idempotent, Ok(RetryReason::ServerError)),
            Ok(RetryReason::ServerError)
        );
    }

    #[test]
    fn rules_are_equal_when_they_say_the_same_of_the_same() {
        let timeout = Rule::Code(ErrorCode::Timeout, Never);
        assert_eq!(timeout, Rule::Code(ErrorCode::Timeout, Never));
        assert_ne!(timeout, Rule::Code(ErrorCode::Timeout, Retry));
        assert_ne!(timeout, Rule::Code(ErrorCode::RateLimitError, Never));
        let conflict = Rule::Status(409, Retry);
        assert_eq!(conflict, Rule::Status(409, Retry));
        assert_ne!(conflict, Rule::Status(410, Retry));
        assert_ne!(conflict, Rule::Status(409, Never));
        assert_ne!(timeout, conflict);
        // A hook is equal to itself only: two closures cannot be compared.
        let shared = hook(Retry);
        assert_eq!(shared, shared.clone());
        assert_ne!(shared, hook(Retry));
        assert_ne!(shared, conflict);
    }

    #[test]
    fn rules_debug_as_what_they_say() {
        assert_eq!(
            format!("{:?}", Rule::Code(ErrorCode::Timeout, Never)),
            "Code(TIMEOUT, Never)"
        );
        assert_eq!(
            format!("{:?}", Rule::Status(409, Retry)),
            "Status(409, Retry)"
        );
        assert_eq!(format!("{:?}", hook(Contract)), "Hook(..)");
    }
}

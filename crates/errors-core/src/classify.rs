//! What the API's contract says about retrying an error, from the error alone: its status and
//! its [`ApiErrorKind`]. The retry policy adds the request's idempotency and the client's
//! limits; [`ApiError::is_retryable`](crate::ApiError::is_retryable) asks this directly.

use crate::ApiErrorKind;

/// Whether the same request can succeed later, whatever the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryClass {
    /// Waiting cannot help: a quota, auth, validation, 501, 505, a status that is not an
    /// error.
    Permanent,
    /// The rate limiter rejected it before any work was done: retried whatever the method.
    RateLimited,
    /// A transient server error (5xx): retried only when the request may be repeated.
    Transient,
}

/// The contract's class for an error with this status and kind.
pub(crate) fn retry_class(status: u16, kind: ApiErrorKind) -> RetryClass {
    // The body's code says more than the status: a quota at 429 is not a rate limit, and a
    // rate limit is one whatever status a proxy put on it.
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
        return RetryClass::Permanent;
    }
    // A 429 is the rate limiter's answer, whatever transient code came with it (a throttled
    // provider's `VLM_PROVIDER_ERROR`, an undocumented code): the request was not processed.
    if kind == ApiErrorKind::RateLimited || status == 429 {
        return RetryClass::RateLimited;
    }
    match status {
        501 | 505 => RetryClass::Permanent,
        500..=599 => RetryClass::Transient,
        _ => RetryClass::Permanent,
    }
}

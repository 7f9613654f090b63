//! [`ApiRetryableStrategy`]: the API's rules for users of `reqwest_retry`.

use errors_core::clock::{Clock as _, SystemClock};
use errors_core::retry::Outcome;
use errors_core::{ApiError, Idempotency, RetryPolicy};
use reqwest_retry::{Retryable, RetryableStrategy};

use crate::error::failure_in;

/// A `reqwest_retry::RetryableStrategy` that classifies by the API's rules, for services that
/// already use `RetryTransientMiddleware`.
///
/// What it sees: the response's status and headers (so a `Retry-After` longer than the
/// policy's maximum wait makes it [`Retryable::Fatal`], as [`RetryMiddleware`](crate::RetryMiddleware)
/// stops there too), or the transport error (a rejected certificate, a scheme the build
/// cannot speak or a malformed URL is `Fatal`; a refused connection is `Transient`).
///
/// What it cannot see, because `reqwest_retry` hands it only the result: the body (so a
/// 429 `USAGE_LIMIT_EXCEEDED` monthly limit looks like a rate limit and is retried) and the
/// request's method. So by default it retries only what is safe for *any* method: a 429 and
/// a connection that was never made; a 5xx or a timeout, after which a POST may have acted,
/// is `Fatal`. Tell it with [`assume_idempotent`](ApiRetryableStrategy::assume_idempotent)
/// when every request through the client may be repeated (GETs only, or idempotency keys).
/// And `reqwest_retry` waits its own backoff, not the `Retry-After` a retried 429 asked for.
/// Use [`RetryMiddleware`](crate::RetryMiddleware), which sees all of it, unless you must keep
/// reqwest-retry.
///
/// Rate limits: a strategy only answers "transient or fatal" for one response, so under a
/// rate limiter reqwest-retry cannot honour `Retry-After`, close a window for the client's
/// other requests, or pace them (see [`errors_core::ratelimit::Pacer`]); its retries are
/// bounded only by its own policy, so a batch either gives up on calls a short wait would
/// have saved or sends about twice the requests (`cargo run --release --example ratelimit`
/// measures both side by side).
///
/// ```
/// use errors_http::ApiRetryableStrategy;
/// use reqwest_retry::{RetryTransientMiddleware, policies::ExponentialBackoff};
///
/// let retry = RetryTransientMiddleware::new_with_policy_and_strategy(
///     ExponentialBackoff::builder().build_with_max_retries(3),
///     // This client only sends GETs: 5xx and timeouts may be retried too.
///     ApiRetryableStrategy::default().assume_idempotent(),
/// );
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(retry).build();
/// # let _ = client;
/// ```
#[derive(Debug, Clone)]
pub struct ApiRetryableStrategy {
    policy: RetryPolicy,
    idempotency: Idempotency,
}

impl Default for ApiRetryableStrategy {
    fn default() -> Self {
        ApiRetryableStrategy::new(RetryPolicy::default())
    }
}

impl ApiRetryableStrategy {
    /// A strategy that classifies with `policy` (its maximum wait applies to `Retry-After`;
    /// the number of retries and the backoff are reqwest-retry's), treating every request
    /// as one that may not be repeated after an unknown outcome.
    pub fn new(policy: RetryPolicy) -> ApiRetryableStrategy {
        ApiRetryableStrategy {
            policy,
            idempotency: Idempotency::NonIdempotent,
        }
    }

    /// Treats every request as safe to repeat: 5xx answers and timeouts become `Transient`.
    pub fn assume_idempotent(mut self) -> ApiRetryableStrategy {
        self.idempotency = Idempotency::Idempotent;
        self
    }
}

impl RetryableStrategy for ApiRetryableStrategy {
    fn handle(
        &self,
        result: &Result<reqwest::Response, reqwest_middleware::Error>,
    ) -> Option<Retryable> {
        let answer;
        let outcome = match result {
            Ok(response) => {
                let status = response.status();
                if !errors_core::status::is_error_status(status) {
                    return None;
                }
                // Status and headers only: the body is the caller's to read.
                answer = ApiError::parse(status, response.headers(), b"", SystemClock.now());
                Outcome::Api(&answer)
            }
            Err(error) => Outcome::Transport(failure_in(error)),
        };
        // The policy's rules and its maximum wait; the count of retries is reqwest-retry's.
        let retry = self.policy.verdict(self.idempotency, &outcome).is_ok();
        Some(if retry {
            Retryable::Transient
        } else {
            Retryable::Fatal
        })
    }
}

//! [`ApiRetryableStrategy`]: the API's rules for users of `reqwest_retry`.

use errors_core::{ApiError, ErrorBody, Idempotency, Outcome, RetryPolicy};

use crate::transport::transport_failure;
use reqwest_retry::{Retryable, RetryableStrategy};

/// A `reqwest_retry::RetryableStrategy` that classifies by the API's rules, for services that
/// already use `RetryTransientMiddleware`.
///
/// What it cannot see, because `reqwest_retry` only shows it the response head: the body's
/// application code (so a 429 `USAGE_LIMIT_EXCEEDED` monthly limit looks like a rate limit
/// and is retried), the `Retry-After` header (reqwest-retry waits its own backoff instead, so
/// a `Retry-After: 2` may be retried after 100 ms), and the request method (so it treats
/// every request as idempotent: a POST answered 500 is retried). Use
/// [`RetryMiddleware`](crate::RetryMiddleware), which sees all three, unless you must keep
/// reqwest-retry.
///
/// ```
/// use errors_http::ApiRetryableStrategy;
/// use reqwest_retry::{RetryTransientMiddleware, policies::ExponentialBackoff};
///
/// let retry = RetryTransientMiddleware::new_with_policy_and_strategy(
///     ExponentialBackoff::builder().build_with_max_retries(3),
///     ApiRetryableStrategy::default(),
/// );
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(retry).build();
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiRetryableStrategy {
    policy: RetryPolicy,
}

impl RetryableStrategy for ApiRetryableStrategy {
    fn handle(
        &self,
        result: &Result<reqwest::Response, reqwest_middleware::Error>,
    ) -> Option<Retryable> {
        let verdict = match result {
            Ok(response) => {
                let status = response.status();
                if !status.is_client_error() && !status.is_server_error() {
                    return None;
                }
                let error = ApiError::new(status, ErrorBody::Empty);
                self.policy
                    .classify(Idempotency::Idempotent, &Outcome::Api(&error))
            }
            Err(error) => self.policy.classify(
                Idempotency::Idempotent,
                &Outcome::Transport(transport_failure(error)),
            ),
        };
        Some(match verdict {
            Ok(_) => Retryable::Transient,
            Err(_) => Retryable::Fatal,
        })
    }
}

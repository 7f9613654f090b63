//! Matching the error a facade returns in one call: `code()`, `status()`, `request_id()`,
//! `retry_after()`, `is_retryable()`, `is_rate_limited()`, `is_timeout()`.

use std::time::Duration;

use errors_core::{ErrorCode, RetryPolicy};
use errors_http::{ApiClient, Error};
use errors_testkit::{Fixture, MockApi};
use reqwest::StatusCode;

async fn answer(fixture: Fixture, policy: RetryPolicy) -> Error {
    let server = MockApi::start().await;
    server.mount(fixture).await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(policy)
        .build()
        .unwrap();
    client
        .get_json::<serde_json::Value>("thing")
        .await
        .unwrap_err()
}

/// `status` with a JSON body sent as written.
fn json(status: u16, body: &str) -> Fixture {
    Fixture::raw(status, "application/json", body)
}

#[tokio::test]
async fn a_throttled_provider_error_is_a_rate_limit() {
    let err = answer(
        json(
            429,
            r#"{"error":{"code":"VLM_PROVIDER_ERROR","message":"provider throttled"},"request_id":"r-1"}"#,
        )
        .with_retry_after_secs(2),
        // No retries of either kind (a rate limit's wait has its own count).
        RetryPolicy::default()
            .with_max_retries(0)
            .with_max_rate_limit_retries(0),
    )
    .await;
    assert_eq!(err.code(), Some(&ErrorCode::VlmProviderError));
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(err.request_id(), Some("r-1"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert!(err.is_rate_limited());
    assert!(err.is_retryable());
    assert!(!err.is_timeout());
}

#[tokio::test]
async fn a_monthly_quota_is_neither_retryable_nor_a_rate_limit() {
    let err = answer(
        json(
            429,
            r#"{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly limit"},"request_id":12345}"#,
        )
        .with_retry_after_secs(3600),
        RetryPolicy::default(),
    )
    .await;
    assert_eq!(err.code(), Some(&ErrorCode::UsageLimitExceeded));
    assert_eq!(err.request_id(), Some("12345"));
    assert!(!err.is_rate_limited());
    assert!(!err.is_retryable());
    assert_eq!(err.attempts().len(), 1, "a quota is not retried");
}

#[tokio::test]
async fn a_rate_limit_past_the_maximum_wait_is_still_retryable_later() {
    let err = answer(
        json(
            429,
            r#"{"error":{"code":"RATE_LIMIT_ERROR","message":"slow down"}}"#,
        )
        .with_retry_after_secs(86400),
        RetryPolicy::default(),
    )
    .await;
    assert_eq!(err.retry_after(), Some(Duration::from_secs(86_400)));
    assert_eq!(err.requested_delay(), Some(Duration::from_secs(86_400)));
    assert!(err.is_retryable() && err.is_rate_limited());
}

#[tokio::test]
async fn a_gateway_timeout_is_a_timeout() {
    let err = answer(
        json(
            504,
            r#"{"detail":{"code":"TIMEOUT","message":"Operation timed out"}}"#,
        ),
        RetryPolicy::default().with_max_retries(0),
    )
    .await;
    assert!(err.is_timeout());
    assert!(err.is_retryable());
    assert!(!err.is_rate_limited());
}

#[tokio::test]
async fn an_attempt_that_runs_out_of_time_is_a_timeout() {
    let err = answer(
        json(200, "{}").with_delay(Duration::from_secs(5)),
        RetryPolicy::default()
            .with_max_retries(0)
            .with_attempt_timeout(Duration::from_millis(100)),
    )
    .await;
    assert!(err.is_timeout(), "{err}");
    assert!(err.is_retryable());
    assert_eq!((err.code(), err.status()), (None, None));
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_not_a_timeout() {
    let refusing = errors_testkit::FaultServer::refusing();
    let client = ApiClient::builder()
        .base_url(refusing.uri())
        .policy(RetryPolicy::default().with_max_retries(0))
        .build()
        .unwrap();
    let err = client
        .get_json::<serde_json::Value>("thing")
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(!err.is_timeout() && !err.is_rate_limited());
    assert_eq!(err.retry_after(), None);
}

#[tokio::test]
async fn validation_is_not_retryable() {
    let err = answer(
        json(
            422,
            r#"{"detail":[{"loc":["query","limit"],"msg":"Input should be less than or equal to 100","type":"less_than_equal"}]}"#,
        ),
        RetryPolicy::default(),
    )
    .await;
    assert_eq!(err.code(), None);
    assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert!(!err.is_retryable() && !err.is_timeout() && !err.is_rate_limited());
}

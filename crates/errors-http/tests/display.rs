//! The caller-facing error text.

mod support;

use std::time::Duration;

use errors_core::RetryPolicy;
use errors_http::ApiClient;
use errors_testkit::{FaultServer, Fixture, MockApi};
use reqwest::Method;
use support::envelope;

async fn error_for(first: Fixture, method: Method) -> errors_http::Error {
    let server = MockApi::start().await;
    server.mount(first).await;
    let policy = RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_retries(2);
    let client = ApiClient::builder()
        .base_url(server.uri())
        .api_key("sk-live-secret")
        .policy(policy)
        .build()
        .unwrap();
    client.send(client.request(method, "x")).await.unwrap_err()
}

#[tokio::test]
async fn error_lines() {
    let mut lines = Vec::new();
    lines.push(
        error_for(
            envelope(
                429,
                "USAGE_LIMIT_EXCEEDED",
                "Monthly API call limit reached",
            ),
            Method::GET,
        )
        .await
        .to_string(),
    );
    lines.push(
        error_for(
            envelope(429, "RATE_LIMIT_ERROR", "Rate limit exceeded").with_retry_after_secs(86400),
            Method::GET,
        )
        .await
        .to_string(),
    );
    lines.push(
        error_for(Fixture::empty(503), Method::GET)
            .await
            .to_string(),
    );
    lines.push(
        error_for(envelope(500, "INTERNAL", "Something broke"), Method::POST)
            .await
            .to_string(),
    );
    lines.push(
        error_for(
            Fixture::raw(404, "application/json", r#"{"detail":"Rule not found"}"#)
                .with_header("x-request-id", "req-404"),
            Method::GET,
        )
        .await
        .to_string(),
    );
    let refusing = FaultServer::refusing();
    let client = ApiClient::builder()
        .base_url(format!("{}/", refusing.uri()))
        .policy(
            RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_retries(1),
        )
        .build()
        .unwrap();
    lines.push(
        client
            .send(client.request(Method::GET, "x"))
            .await
            .unwrap_err()
            .to_string(),
    );
    for line in &lines {
        assert!(!line.contains("sk-live-secret"));
    }
    insta::assert_snapshot!(lines.join("\n"));
}

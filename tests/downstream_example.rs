//! How a downstream project tests its own code with errors-testkit: the function under test
//! is the user's, the failure modes are the API's.

use errors_blocking::{Client, RetryPolicy};
use errors_core::ApiErrorKind;
use errors_testkit::{BlockingMockApi, catalogue, fixtures};

/// The user's code: fetch a label, or a message a person can act on.
fn label_or_advice(client: &Client, image: u32) -> Result<String, String> {
    match client.get_json::<serde_json::Value>(&format!("images/{image}")) {
        Ok(v) => Ok(v["label"].as_str().unwrap_or("unknown").to_owned()),
        Err(err) => Err(match err.api_error().and_then(|e| e.solution()) {
            Some(solution) => format!("{err} ({solution})"),
            None => err.to_string(),
        }),
    }
}

fn client(api: &BlockingMockApi) -> Client {
    let policy = RetryPolicy::default()
        .with_initial_backoff(std::time::Duration::from_millis(1))
        .with_max_retries(1);
    Client::builder()
        .base_url(api.uri())
        .api_key("sk-test")
        .policy(policy)
        .build()
        .unwrap()
}

#[test]
fn every_documented_error_gives_advice_and_never_a_label() {
    for entry in catalogue() {
        // Arrange
        let api = BlockingMockApi::start();
        api.mount(entry.fixture.clone());
        // Act
        let result = label_or_advice(&client(&api), 1);
        // Assert
        let advice = result.expect_err(&entry.name);
        assert!(
            advice.starts_with(&entry.status.to_string()),
            "{}: {advice}",
            entry.name
        );
        if let Some(solution) = entry.code.as_ref().and_then(|c| c.solution()) {
            assert!(advice.contains(solution), "{}: {advice}", entry.name);
        }
    }
}

#[test]
fn a_monthly_limit_is_reported_once_without_retrying() {
    let api = BlockingMockApi::start();
    api.mount(fixtures::usage_limit_exceeded());
    let advice = label_or_advice(&client(&api), 1).unwrap_err();
    assert!(advice.contains("upgrade plan"), "{advice}");
    api.journal().assert_attempts(1);
    api.journal()
        .assert_header_sent("authorization", "Bearer sk-test");
    assert_eq!(
        ApiErrorKind::Quota,
        errors_core::ErrorCode::UsageLimitExceeded.kind()
    );
}

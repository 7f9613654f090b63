//! How a downstream project tests its own code with errors-testkit: the code under test is
//! the user's (their client stack, their calls), the failure modes are the API's.
//!
//! - Retry timing on tokio's paused clock with `FakeApi` (in process, no socket): a minute of
//!   `Retry-After` takes milliseconds, and the journal still shows the minute.
//! - Real sockets with `MockApi` (async) and `BlockingMockApi` (sync), on the wall clock.
//!
//! Every assertion is a row of the README's retry table.

use std::time::Duration;

use errors_blocking::ApiClient;
use errors_core::{ErrorCode, RetryPolicy};
use errors_http::{ResponseExt as _, RetryMiddleware};
use errors_testkit::{BlockingMockApi, FakeApi, MockApi, Script, catalogue, fixtures};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::{Value, json};

// ---- The user's code --------------------------------------------------------------------

/// The user's middleware stack; production calls `.build()` on it, tests add a fake last.
fn api_stack(http: reqwest::Client) -> ClientBuilder {
    ClientBuilder::new(http).with(RetryMiddleware::new(RetryPolicy::default()))
}

/// The user's call: submit a job, get its JSON, or the API's error.
async fn submit_job(
    client: &ClientWithMiddleware,
    base: &str,
    job: &Value,
) -> Result<Value, errors_http::Error> {
    let response = client
        .post(format!("{base}/v1/jobs"))
        .json(job)
        .send()
        .await
        .map_err(errors_http::Error::from_middleware)?
        .error_for_api_status()
        .await?;
    response
        .json()
        .await
        .map_err(|e| errors_http::Error::from_middleware(e.into()))
}

/// The user's other call: an image's label.
async fn label(client: &ClientWithMiddleware, base: &str, image: u32) -> Option<String> {
    let response = client
        .get(format!("{base}/v1/images/{image}"))
        .send()
        .await
        .ok()?
        .error_for_api_status()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    body["label"].as_str().map(str::to_owned)
}

/// The same stack over a fake API: the fake goes last, where the network would be.
fn over(api: &FakeApi) -> ClientWithMiddleware {
    api_stack(reqwest::Client::new()).with(api.clone()).build()
}

// ---- Virtual time: FakeApi on a paused clock ---------------------------------------------

/// Self-contained, for the workspace README: the outage of the API reference, one POST.
#[tokio::test(start_paused = true)]
async fn a_post_is_retried_after_a_rate_limit_but_not_after_an_unknown_outcome() {
    // Arrange: a rate limit asking for a minute, then the AI provider fails; answered in
    // process by the last middleware, on tokio's paused clock.
    let api = FakeApi::new();
    api.mount_at(
        "/v1/jobs",
        Script::new()
            .then(fixtures::rate_limited().with_retry_after_secs(60))
            .then(fixtures::vlm_provider_error())
            .then(fixtures::ok_json(&serde_json::json!({"id": "job_1"}))),
    );
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(RetryPolicy::default())) // your stack
        .with(api.clone()) // last: answers instead of the network
        .build();

    // Act
    let response = client
        .post(format!("{}/v1/jobs", api.uri()))
        .send()
        .await
        .unwrap();
    let error = response.error_for_api_status().await.unwrap_err();

    // Assert: the 429 was retried after its whole minute (virtual: the test takes
    // milliseconds); the 503 was not, as the POST's outcome is unknown.
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    api.journal().assert_received("POST", "/v1/jobs", 2);
    api.journal()
        .assert_gap_at_least(1, Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn the_users_own_call_gets_the_same_treatment() {
    // The same outage through the user's `submit_job` and stack.
    let api = FakeApi::new();
    api.mount_at(
        "/v1/jobs",
        Script::new()
            .then(fixtures::rate_limited().with_retry_after_secs(60))
            .then(fixtures::vlm_provider_error()),
    );

    let error = submit_job(&over(&api), &api.uri(), &json!({"image": 1}))
        .await
        .unwrap_err();

    assert_eq!(
        error.api_error().and_then(|e| e.code()),
        Some(&ErrorCode::VlmProviderError)
    );
    assert_eq!(error.attempts().len(), 2);
    api.journal().assert_received("POST", "/v1/jobs", 2);
}

#[tokio::test(start_paused = true)]
async fn a_get_waits_out_the_whole_retry_after_and_no_more_than_its_jitter() {
    let api = FakeApi::new();
    api.mount_at(
        "/v1/images/1",
        Script::fail_then_succeed(
            1,
            fixtures::rate_limited().with_retry_after_secs(60),
            fixtures::ok_json(&json!({"label": "cat"})),
        ),
    );
    let started = tokio::time::Instant::now();

    let label = label(&over(&api), &api.uri(), 1).await;

    assert_eq!(label.as_deref(), Some("cat"));
    let journal = api.journal();
    journal.assert_received("GET", "/v1/images/1", 2);
    journal.assert_gap_at_least(1, Duration::from_secs(60));
    journal.assert_gap_at_most(1, Duration::from_secs(66)); // jitter: 0-10% on top
    assert!(started.elapsed() >= Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn a_post_after_a_server_error_arrives_once_and_reports_it() {
    let api = FakeApi::new();
    api.mount(fixtures::internal_server_error().with_request_id("req-500"));

    let error = submit_job(&over(&api), &api.uri(), &json!({"image": 2}))
        .await
        .unwrap_err();

    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(error.attempts().len(), 1);
    api.journal().assert_received_once("POST", "/v1/jobs");
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_past_the_max_wait_is_handed_back_at_once() {
    let api = FakeApi::new();
    api.mount(fixtures::rate_limited().with_retry_after_secs(86_400));
    let started = tokio::time::Instant::now();

    let error = submit_job(&over(&api), &api.uri(), &json!({"image": 3}))
        .await
        .unwrap_err();

    assert_eq!(started.elapsed(), Duration::ZERO, "it slept");
    assert_eq!(error.requested_delay(), Some(Duration::from_secs(86_400)));
    api.journal().assert_attempts(1);
}

// ---- Real sockets: MockApi on the wall clock ---------------------------------------------

#[tokio::test]
async fn over_the_network_the_key_is_sent_and_a_monthly_limit_is_not_retried() {
    let api = MockApi::start().await;
    api.mount_at("/v1/images/7", fixtures::usage_limit_exceeded())
        .await;
    let client = api_stack(reqwest::Client::new()).build();

    let error = client
        .get(format!("{}/v1/images/7", api.uri()))
        .bearer_auth("sk-test")
        .send()
        .await
        .unwrap()
        .error_for_api_status()
        .await
        .unwrap_err();

    let api_error = error.api_error().unwrap();
    assert_eq!(api_error.code(), Some(&ErrorCode::UsageLimitExceeded));
    assert_eq!(
        api_error.solution(),
        Some("Wait for next billing cycle or upgrade plan")
    );
    api.journal().assert_attempts(1);
    api.journal()
        .assert_header_sent("authorization", "Bearer sk-test");
}

#[tokio::test]
async fn over_the_network_a_one_second_retry_after_is_waited_in_real_time() {
    let api = MockApi::start().await;
    api.mount(Script::fail_then_succeed(
        1,
        fixtures::rate_limited().with_retry_after_secs(1),
        fixtures::ok_json(&json!({"label": "dog"})),
    ))
    .await;

    let label = label(&api_stack(reqwest::Client::new()).build(), &api.uri(), 2).await;

    assert_eq!(label.as_deref(), Some("dog"));
    // A wall-clock gap: at least the second asked for; the upper bound leaves room for the
    // jitter (10%) and a slow machine.
    api.journal().assert_gap_at_least(1, Duration::from_secs(1));
    api.journal().assert_gap_at_most(1, Duration::from_secs(3));
}

// ---- Synchronous code: BlockingMockApi ---------------------------------------------------

/// The user's synchronous code: fetch a label, or a message a person can act on.
fn label_or_advice(client: &ApiClient, image: u32) -> Result<String, String> {
    match client.get_json::<Value>(&format!("images/{image}")) {
        Ok(v) => Ok(v["label"].as_str().unwrap_or("unknown").to_owned()),
        Err(err) => Err(match err.api_error().and_then(|e| e.solution()) {
            Some(solution) => format!("{err} ({solution})"),
            None => err.to_string(),
        }),
    }
}

fn blocking_client(api: &BlockingMockApi, max_retries: u32) -> ApiClient {
    let policy = RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_retries(max_retries)
        .with_max_rate_limit_retries(max_retries);
    ApiClient::builder()
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
        // Act (no retries: what is retried, and after how long, is tested above)
        let result = label_or_advice(&blocking_client(&api, 0), 1);
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
    // One retry allowed, none taken: waiting does not lift a monthly limit.
    let advice = label_or_advice(&blocking_client(&api, 1), 1).unwrap_err();
    assert!(advice.contains("upgrade plan"), "{advice}");
    api.journal().assert_attempts(1);
    api.journal()
        .assert_header_sent("authorization", "Bearer sk-test");
}

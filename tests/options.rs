//! What a user sets to change the retry behaviour, through both facades: retries off in one
//! call, a rule of their own for a code or a status, options for one request, the timeouts
//! in one place, and the metadata of a success.

mod support;

use std::time::Duration;

use errors_core::retry::{RetryOverride, StopReason};
use errors_core::{ErrorCode, RetryPolicy};
use errors_http::{ApiClient, RequestOptions};
use errors_testkit::{FakeApi, Script, fixtures};
use reqwest::Method;
use support::fast;

fn ok() -> errors_testkit::Fixture {
    fixtures::ok_json(&serde_json::json!({"id": 1}))
}

fn async_client(api: &FakeApi, policy: RetryPolicy) -> ApiClient {
    ApiClient::builder()
        .base_url(api.uri())
        .policy(policy)
        .with_middleware(api.clone())
        .build()
        .unwrap()
}

fn blocking_client(api: &FakeApi, policy: RetryPolicy) -> errors_blocking::ApiClient {
    errors_blocking::ApiClient::builder()
        .base_url(api.uri())
        .policy(policy)
        .with_middleware(api.clone())
        .build()
        .unwrap()
}

/// The attempts and stop reason of `GET path` through each facade, each against a fresh
/// fake answering `script()`.
fn both(
    script: impl Fn() -> Script,
    policy: RetryPolicy,
    path: &str,
) -> [(usize, Option<StopReason>); 2] {
    let run = |blocking: bool| {
        let api = FakeApi::new();
        api.mount(script());
        let result = if blocking {
            blocking_client(&api, policy.clone()).get_json::<serde_json::Value>(path)
        } else {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async_client(&api, policy.clone()).get_json::<serde_json::Value>(path))
        };
        match result {
            Ok(_) => (api.journal().len(), None),
            Err(err) => {
                assert_eq!(err.attempts().len(), api.journal().len());
                (api.journal().len(), err.stop_reason())
            }
        }
    };
    [run(false), run(true)]
}

#[test]
fn retries_turn_off_in_one_call_429s_included() {
    for (name, failure) in [
        (
            "a 429 with a short Retry-After",
            fixtures::rate_limited().with_retry_after_secs(1),
        ),
        ("a 503", fixtures::vlm_provider_error()),
    ] {
        let script = || Script::new().then(failure.clone()).then(ok());
        // By default both are retried; disabled, each is one attempt.
        assert_eq!(both(script, fast(), "x"), [(2, None); 2], "{name}");
        let off = both(script, RetryPolicy::disabled(), "x");
        assert_eq!(off, [(1, Some(StopReason::RetriesExhausted)); 2], "{name}");
    }
}

#[test]
fn a_rule_of_the_callers_can_stop_a_retry_the_contract_would_make() {
    let script = || {
        Script::new()
            .then(fixtures::code(ErrorCode::Timeout))
            .then(ok())
    };
    assert_eq!(both(script, fast(), "x"), [(2, None); 2]);
    let never = fast().with_code_override(ErrorCode::Timeout, RetryOverride::Never);
    assert_eq!(
        both(script, never, "x"),
        [(1, Some(StopReason::NotRetryable)); 2]
    );
    // By status, and by a hook that sees the whole error.
    let by_status = fast().with_status_override(504, RetryOverride::Never);
    assert_eq!(
        both(script, by_status, "x"),
        [(1, Some(StopReason::NotRetryable)); 2]
    );
    let hook = fast().with_override(|e| {
        if e.message().is_some_and(|m| m.contains("timed out")) {
            RetryOverride::Never
        } else {
            RetryOverride::Contract
        }
    });
    assert_eq!(
        both(script, hook, "x"),
        [(1, Some(StopReason::NotRetryable)); 2]
    );
}

#[test]
fn a_rule_can_retry_what_the_contract_would_not_but_never_an_unsafe_post() {
    let script = || Script::new().then(fixtures::conflict()).then(ok());
    assert_eq!(
        both(script, fast(), "x"),
        [(1, Some(StopReason::NotRetryable)); 2]
    );
    let retry = fast().with_status_override(409, RetryOverride::Retry);
    assert_eq!(both(script, retry.clone(), "x"), [(2, None); 2]);
    // A POST whose outcome the rule cannot make safe: not repeated.
    let api = FakeApi::new();
    api.mount(script());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let err = runtime
        .block_on(
            async_client(&api, retry)
                .post_json::<_, serde_json::Value>("x", &serde_json::json!({})),
        )
        .unwrap_err();
    assert_eq!(err.stop_reason(), Some(StopReason::UnsafeToRepeat));
    api.journal().assert_attempts(1);
}

#[test]
fn options_for_one_request_leave_the_clients_alone() {
    for blocking in [false, true] {
        let api = FakeApi::new();
        api.mount(fixtures::vlm_provider_error());
        let send = |request: reqwest_middleware::RequestBuilder| {
            if blocking {
                blocking_client(&api, fast()).send(request)
            } else {
                let client = async_client(&api, fast());
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(true)
                    .build()
                    .unwrap()
                    .block_on(client.send(request))
            }
        };
        let client = async_client(&api, fast());
        // No retries for this one request.
        let err = send(
            client
                .request(Method::GET, "x")
                .with_extension(RequestOptions::new().max_retries(0)),
        )
        .unwrap_err();
        assert_eq!(err.attempts().len(), 1, "blocking={blocking}");
        // The client's own setting for the next one: 1 + 3 retries.
        let err = send(client.request(Method::GET, "x")).unwrap_err();
        assert_eq!(err.attempts().len(), 4, "blocking={blocking}");
        // A POST marked safe to repeat for this request only.
        let err = send(
            client
                .request(Method::POST, "x")
                .with_extension(RequestOptions::new().safe_to_repeat().max_retries(1)),
        )
        .unwrap_err();
        assert_eq!(err.attempts().len(), 2, "blocking={blocking}");
        let err = send(client.request(Method::POST, "x")).unwrap_err();
        assert_eq!(err.stop_reason(), Some(StopReason::UnsafeToRepeat));
    }
}

#[tokio::test(start_paused = true)]
async fn options_for_one_request_set_its_deadline_and_attempt_timeout() {
    let api = FakeApi::new();
    api.mount(fixtures::hang(Duration::from_secs(30)));
    let client = async_client(&api, RetryPolicy::default());
    let started = tokio::time::Instant::now();
    let err = client
        .send(
            client.request(Method::GET, "x").with_extension(
                RequestOptions::new()
                    .attempt_timeout(Duration::from_secs(2))
                    .deadline(Duration::from_secs(5)),
            ),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let took = started.elapsed();
    // Attempts of 2 s with backoffs between them, all within the 5 s deadline.
    assert!(err.attempts().len() >= 2, "{err:?}");
    assert!(took <= Duration::from_secs(5), "{took:?}");
    assert!(took >= Duration::from_secs(4), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn the_builders_timeouts_win_over_the_policys_whatever_the_order() {
    let api = FakeApi::new();
    api.mount(fixtures::hang(Duration::from_secs(300)));
    let client = ApiClient::builder()
        .base_url(api.uri())
        .attempt_timeout(Duration::from_secs(3))
        .no_deadline()
        .policy(
            fast()
                .with_max_retries(1)
                .with_deadline(Duration::from_secs(1)),
        )
        .with_middleware(api.clone())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = client.get_json::<serde_json::Value>("x").await.unwrap_err();
    // Two attempts of 3 s each (the policy's 1 s deadline was replaced by none).
    assert_eq!(err.attempts().len(), 2, "{err:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    // The default: one hung attempt takes 60 s of the 120 s deadline, not all of it.
    let client = async_client(&api, RetryPolicy::default());
    let err = client.get_json::<serde_json::Value>("x").await.unwrap_err();
    assert_eq!(
        err.attempts()[0].transport,
        Some(errors_core::retry::TransportKind::Timeout)
    );
    assert!(err.attempts().len() >= 2, "{err:?}");
}

#[test]
fn a_success_keeps_its_status_headers_request_id_and_attempts() {
    let script = || {
        Script::new()
            .then(fixtures::vlm_provider_error())
            .then(ok().with_header("x-request-id", "req-ok-1"))
    };
    let api = FakeApi::new();
    api.mount(script());
    let blocking = blocking_client(&api, fast())
        .get_json_response::<serde_json::Value>("x")
        .unwrap();
    let api = FakeApi::new();
    api.mount(script());
    let asynchronous = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(async_client(&api, fast()).get_json_response::<serde_json::Value>("x"))
        .unwrap();
    for response in [blocking, asynchronous] {
        assert_eq!(response.value["id"], 1);
        assert_eq!(response.status, 200);
        assert_eq!(response.request_id(), Some("req-ok-1"));
        assert_eq!(response.attempts.len(), 2);
        assert_eq!(response.attempts[0].status, Some(503));
    }
}

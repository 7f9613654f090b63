//! Every row of the README's retry table, through the real middleware against a local server.

mod support;

use std::time::Duration;

use errors_core::retry::StopReason;
use errors_core::{ErrorCode, RetryPolicy, Shape};
use errors_http::{ApiClient, ErrorKind, SafeToRepeat};
use errors_testkit::{Fault, FaultServer, Fixture, MockApi, Script, fixtures};
use reqwest::Method;
use support::envelope;

/// Short waits so the table runs fast; the timing tests use the real ones.
fn fast_policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(2))
        .with_max_backoff(Duration::from_millis(10))
        .with_max_retries(2)
}

/// `first`, then 200 (repeating), to one `method` request: the server, which counts the
/// attempts, and the result.
async fn run(
    first: Fixture,
    method: Method,
    safe: bool,
) -> (
    MockApi,
    Result<errors_http::ApiResponse, errors_http::Error>,
) {
    let server = MockApi::start().await;
    server
        .mount(Script::new().then(first).then(fixtures::ok()))
        .await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(fast_policy())
        .jitter_seed(1)
        .build()
        .unwrap();
    let mut request = client.request(method, "resource");
    if safe {
        request = request.with_extension(SafeToRepeat);
    }
    let result = client.send(request).await;
    (server, result)
}

async fn attempts_for(first: Fixture, method: Method) -> usize {
    let (server, _) = run(first, method, false).await;
    server.journal().len()
}

/// A 429 asking for a short wait (1 s, on a paused clock) is retried after that wait, for
/// any method, and as flow control: with no outage retries allowed at all, it is retried
/// all the same. (A `Retry-After: 0` asks for no wait and takes the outage branch instead.)
#[tokio::test(start_paused = true)]
async fn rate_limited_with_short_retry_after_is_retried_for_any_method() {
    for method in [Method::GET, Method::POST, Method::PATCH] {
        let server = MockApi::start().await;
        let script = Script::new()
            .then(envelope(429, "RATE_LIMIT_ERROR", "Rate limit exceeded").with_retry_after_secs(1))
            .then(fixtures::ok());
        server.mount(script).await;
        // No deadline nor attempt timeout: with paused time, tokio jumps to the next timer
        // whenever the runtime waits on I/O, so either timer would fire while the loopback
        // server answers.
        let client = ApiClient::builder()
            .base_url(server.uri())
            .policy(
                fast_policy()
                    .with_max_retries(0)
                    .without_deadline()
                    .without_attempt_timeout(),
            )
            .jitter_seed(1)
            .build()
            .unwrap();
        let response = client
            .send(client.request(method.clone(), "resource"))
            .await
            .unwrap();
        assert_eq!(server.journal().len(), 2, "{method}");
        assert_eq!(response.attempts.len(), 2);
        assert_eq!(response.attempts[0].code, Some(ErrorCode::RateLimitError));
        assert_eq!(
            response.attempts[0].retry,
            Some(errors_core::retry::RetryReason::RateLimited)
        );
        let waited = response.attempts[1].waited;
        assert!(
            waited >= Duration::from_secs(1) && waited <= Duration::from_millis(1100),
            "{method}: waited {waited:?} for a Retry-After of 1 s"
        );
    }
}

#[tokio::test]
async fn retry_after_beyond_max_wait_returns_at_once_with_the_delay() {
    let first =
        envelope(429, "RATE_LIMIT_ERROR", "Rate limit exceeded").with_retry_after_secs(86400);
    let started = std::time::Instant::now();
    let (server, result) = run(first, Method::GET, false).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.journal().len(), 1);
    let err = result.unwrap_err();
    assert_eq!(err.requested_delay(), Some(Duration::from_secs(86_400)));
    assert_eq!(
        err.stop_reason(),
        Some(StopReason::RetryAfterTooLong {
            requested_ms: 86_400_000
        })
    );
    assert_eq!(err.request_id(), Some("req-429"));
}

#[tokio::test]
async fn rate_limited_without_retry_after_backs_off_and_retries() {
    assert_eq!(attempts_for(Fixture::empty(429), Method::POST).await, 2);
}

#[tokio::test]
async fn permanent_codes_and_client_errors_are_never_retried() {
    let cases = [
        envelope(
            429,
            "USAGE_LIMIT_EXCEEDED",
            "Monthly API call limit reached",
        )
        .with_retry_after_secs(1),
        envelope(
            413,
            "STORAGE_QUOTA_EXCEEDED",
            "Account storage limit reached",
        ),
        envelope(401, "INVALID_API_KEY", "Invalid API key"),
        envelope(401, "EXPIRED_API_KEY", "Expired"),
        envelope(401, "DEACTIVATED_API_KEY", "Deactivated"),
        envelope(403, "AUTHZ_ERROR", "Missing scope"),
        envelope(413, "HTTP_413", "File too large"),
        envelope(422, "VALIDATION_ERROR", "Invalid request parameters"),
        envelope(500, "IMAGE_PROCESSING_ERROR", "Image processing failed"),
        Fixture::raw(
            402,
            "application/json",
            r#"{"detail":"Subscription is past due"}"#,
        ),
        Fixture::raw(400, "application/json", r#"{"detail":"Bad"}"#),
        Fixture::raw(404, "application/json", r#"{"detail":"Rule not found"}"#),
        Fixture::raw(409, "application/json", r#"{"detail":"Exists"}"#),
        Fixture::raw(
            422,
            "application/json",
            r#"{"detail":[{"loc":["query","limit"],"msg":"too big","type":"less_than_equal"}]}"#,
        ),
    ];
    for first in cases {
        let (server, result) = run(first, Method::GET, false).await;
        let err = result.unwrap_err();
        assert_eq!(server.journal().len(), 1, "{err}");
        assert_eq!(err.stop_reason(), Some(StopReason::NotRetryable), "{err}");
        assert_eq!(err.attempts().len(), 1);
    }
}

#[tokio::test]
async fn server_errors_are_retried_for_idempotent_requests() {
    for status in [500, 502, 503, 504] {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            assert_eq!(
                attempts_for(Fixture::empty(status), method.clone()).await,
                2,
                "{status} {method}"
            );
        }
    }
    assert_eq!(
        attempts_for(
            envelope(503, "VLM_PROVIDER_ERROR", "Provider down"),
            Method::GET
        )
        .await,
        2
    );
    assert_eq!(
        attempts_for(envelope(504, "TIMEOUT", "Operation timed out"), Method::GET).await,
        2
    );
}

#[tokio::test]
async fn other_server_errors_are_retried_like_500() {
    for status in [507, 508, 599] {
        assert_eq!(
            attempts_for(Fixture::empty(status), Method::GET).await,
            2,
            "{status}"
        );
        assert_eq!(
            attempts_for(Fixture::empty(status), Method::POST).await,
            1,
            "{status} POST"
        );
    }
}

#[tokio::test]
async fn a_rate_limit_code_is_a_rate_limit_whatever_the_status_and_method() {
    // A proxy put a 503 on the API's rate-limit envelope: it is still "not processed".
    let first = envelope(503, "RATE_LIMIT_ERROR", "Rate limit exceeded").with_retry_after_secs(0);
    let (server, result) = run(first, Method::POST, false).await;
    assert_eq!(server.journal().len(), 2);
    let response = result.unwrap();
    assert_eq!(
        response.attempts[0].retry,
        Some(errors_core::retry::RetryReason::RateLimited)
    );
}

#[tokio::test]
async fn a_reset_after_sending_is_retried_only_for_repeatable_requests() {
    for (method, expected, stop) in [
        (Method::GET, 3, StopReason::RetriesExhausted),
        (Method::POST, 1, StopReason::UnsafeToRepeat),
    ] {
        // Each connection: the request is read, then closed without a byte of answer.
        let server = FaultServer::start(Fault::close_before_headers()).await;
        let client = ApiClient::builder()
            .base_url(format!("{}/", server.uri()))
            .policy(fast_policy())
            .build()
            .unwrap();
        let err = client
            .send(client.request(method.clone(), "x").body("{}"))
            .await
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Transport(_)), "{err:?}");
        assert_eq!(err.stop_reason(), Some(stop), "{method}");
        assert_eq!(server.requests().len(), expected, "{method}");
        assert_eq!(err.attempts().len(), expected);
        assert_eq!(
            err.attempts()[0].transport,
            Some(errors_core::retry::TransportKind::Other)
        );
    }
}

#[tokio::test]
async fn a_post_answered_500_reaches_the_server_exactly_once_unless_marked_safe() {
    for status in [500, 502, 503, 504] {
        let (server, result) = run(Fixture::empty(status), Method::POST, false).await;
        assert_eq!(server.journal().len(), 1, "{status}");
        assert_eq!(
            result.unwrap_err().stop_reason(),
            Some(StopReason::UnsafeToRepeat)
        );
        let (server, result) = run(Fixture::empty(status), Method::POST, true).await;
        assert_eq!(server.journal().len(), 2, "{status} marked safe");
        assert!(result.is_ok());
    }
}

/// A 5xx that also says when to come back (`Retry-After`) is still a 5xx: the POST may
/// have been processed, and is not sent again.
#[tokio::test]
async fn a_post_answered_5xx_with_retry_after_reaches_the_server_exactly_once() {
    for status in [500, 502, 503, 504] {
        for retry_after in ["1", "0"] {
            let first = Fixture::empty(status).with_header("retry-after", retry_after);
            let (server, result) = run(first, Method::POST, false).await;
            assert_eq!(
                server.journal().len(),
                1,
                "{status} Retry-After: {retry_after}"
            );
            let err = result.unwrap_err();
            assert_eq!(err.stop_reason(), Some(StopReason::UnsafeToRepeat));
            assert_eq!(err.attempts().len(), 1);
        }
    }
}

#[tokio::test]
async fn not_implemented_and_version_not_supported_are_never_retried() {
    for status in [501, 505] {
        assert_eq!(
            attempts_for(Fixture::empty(status), Method::GET).await,
            1,
            "{status}"
        );
    }
}

#[tokio::test]
async fn connection_refused_is_retried_for_any_method() {
    for method in [Method::GET, Method::POST] {
        let refusing = FaultServer::refusing();
        let client = ApiClient::builder()
            .base_url(format!("{}/", refusing.uri()))
            .policy(fast_policy())
            .build()
            .unwrap();
        let err = client
            .send(client.request(method.clone(), "x"))
            .await
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Transport(_)), "{err:?}");
        assert_eq!(err.attempts().len(), 3, "{method}: 1 + 2 retries");
        assert_eq!(err.stop_reason(), Some(StopReason::RetriesExhausted));
        assert!(err.to_string().starts_with("connection failed"), "{err}");
    }
}

#[tokio::test]
async fn a_timeout_after_sending_is_retried_only_for_repeatable_requests() {
    for (method, expected) in [(Method::GET, 3), (Method::POST, 1)] {
        let server = MockApi::start().await;
        server
            .mount(Fixture::empty(200).with_delay(Duration::from_secs(5)))
            .await;
        let policy = fast_policy().with_attempt_timeout(Duration::from_millis(100));
        let client = ApiClient::builder()
            .base_url(server.uri())
            .policy(policy)
            .build()
            .unwrap();
        let err = client
            .send(client.request(method.clone(), "slow"))
            .await
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
        assert_eq!(server.journal().len(), expected, "{method}");
    }
}

#[tokio::test]
async fn success_statuses_pass_through_with_their_attempts() {
    let server = MockApi::start().await;
    server.mount(fixtures::no_content()).await;
    let client = ApiClient::builder().base_url(server.uri()).build().unwrap();
    let response = client
        .send(client.request(Method::DELETE, "rules/1"))
        .await
        .unwrap();
    assert_eq!(response.status, 204);
    assert!(response.body.is_empty());
    assert_eq!(response.attempts.len(), 1);
    assert_eq!(response.attempts[0].stop, Some(StopReason::Succeeded));
}

#[tokio::test]
async fn a_proxy_html_page_is_retried_then_reported_with_its_title() {
    let page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>";
    let (server, result) = run(Fixture::raw(502, "text/html", page), Method::GET, false).await;
    assert_eq!(server.journal().len(), 2);
    assert!(result.is_ok());

    let server = MockApi::start().await;
    server.mount(Fixture::raw(502, "text/html", page)).await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(fast_policy())
        .build()
        .unwrap();
    let err = client.get_json::<serde_json::Value>("x").await.unwrap_err();
    let api = err.api_error().unwrap();
    assert_eq!(api.shape(), Shape::Text);
    assert_eq!(api.message(), Some("502 Bad Gateway"));
    assert_eq!(err.attempts().len(), 3);
    assert_eq!(err.stop_reason(), Some(StopReason::RetriesExhausted));
}

#[tokio::test]
async fn a_streaming_body_is_sent_once() {
    let server = MockApi::start().await;
    server
        .mount(Script::new().then(Fixture::empty(503)).then(fixtures::ok()))
        .await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(fast_policy())
        .build()
        .unwrap();
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"part one"), Ok(b"part two")];
    let body = reqwest::Body::wrap_stream(futures_util_stream(chunks));
    let request = client.request(Method::PUT, "upload").body(body);
    let err = client.send(request).await.unwrap_err();
    assert_eq!(server.journal().len(), 1);
    assert_eq!(err.stop_reason(), Some(StopReason::NotReplayable));
    assert_eq!(err.status(), Some(reqwest::StatusCode::SERVICE_UNAVAILABLE));
}

/// A stream from a vector, without pulling in a stream crate for one test.
fn futures_util_stream<T: Send + Unpin + 'static>(
    items: Vec<T>,
) -> impl futures_core::Stream<Item = T> + Send + 'static {
    struct Iter<T>(std::vec::IntoIter<T>);
    impl<T> futures_core::Stream for Iter<T>
    where
        T: Unpin,
    {
        type Item = T;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(items.into_iter())
}

#[tokio::test]
async fn the_caller_gets_the_original_status_headers_and_body_from_the_raw_middleware() {
    use errors_http::{Attempts, ResponseExt as _, RetryMiddleware};
    let server = MockApi::start().await;
    server
        .mount(envelope(404, "NOT_THERE", "Rule not found").with_header("x-custom", "kept"))
        .await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(fast_policy()))
        .build();
    let response = client
        .get(format!("{}/rules/9", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-custom"], "kept");
    assert_eq!(response.url().path(), "/rules/9");
    assert_eq!(
        response.extensions().get::<Attempts>().unwrap().stop,
        StopReason::NotRetryable
    );
    let err = response.error_for_api_status().await.unwrap_err();
    assert_eq!(
        err.api_error().unwrap().code().unwrap().as_str(),
        "NOT_THERE"
    );

    let response = client
        .get(format!("{}/rules/9", server.uri()))
        .send()
        .await
        .unwrap();
    let body = response.text().await.unwrap();
    assert!(body.contains("Rule not found"), "{body}");
}

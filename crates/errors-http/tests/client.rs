//! The front door: the API key, bounded error bodies, decoding and bad requests.

mod support;

use std::time::Duration;

use errors_core::{RetryPolicy, Shape};
use errors_http::{ApiClient, Attempts, ErrorKind, ResponseExt as _, RetryMiddleware};
use errors_testkit::{Fixture, MockApi, Script, fixtures};
use reqwest::Method;
use support::envelope;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

#[tokio::test]
async fn the_api_key_is_sent_and_never_shown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/rules"))
        .and(header("authorization", "Bearer sk-live-secret"))
        .respond_with(envelope(401, "EXPIRED_API_KEY", "The API key has expired"))
        .expect(1)
        .mount(&server)
        .await;
    let builder = ApiClient::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key("sk-live-secret");
    assert!(!format!("{builder:?}").contains("sk-live-secret"));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains("sk-live-secret"));

    let request = client.request(Method::GET, "/rules");
    assert!(!format!("{request:?}").contains("sk-live-secret"));
    let err = client.send(request).await.unwrap_err();
    assert_eq!(err.status(), Some(reqwest::StatusCode::UNAUTHORIZED));
    for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
        assert!(!text.contains("sk-live-secret"), "{text}");
    }
}

#[tokio::test]
async fn the_key_header_and_scheme_are_configurable() {
    let server = MockServer::start().await;
    Mock::given(header("x-api-key", "k-123"))
        .respond_with(fixtures::ok())
        .expect(1)
        .mount(&server)
        .await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .api_key("k-123")
        .auth_header("X-API-Key", None)
        .build()
        .unwrap();
    let value: serde_json::Value = client.get_json("anything").await.unwrap();
    assert_eq!(value, serde_json::json!({"ok": true}));
}

#[tokio::test]
async fn absolute_urls_bypass_the_base_url() {
    let server = MockApi::start().await;
    server.mount(fixtures::ok()).await;
    let client = ApiClient::builder()
        .base_url("http://127.0.0.1:9/unused")
        .build()
        .unwrap();
    let response = client
        .send(client.request(Method::GET, &format!("{}/direct", server.uri())))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(server.journal().len(), 1);
}

#[tokio::test]
async fn a_large_error_body_is_cut_at_the_limit() {
    let server = MockApi::start().await;
    let huge = format!("<html><title>Oops</title>{}</html>", "x".repeat(1 << 20));
    server.mount(Fixture::raw(404, "text/html", huge)).await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(
            RetryMiddleware::builder(RetryPolicy::default())
                .error_body_limit(4096)
                .build(),
        )
        .build();
    let response = client.get(server.uri()).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.extensions().get::<Attempts>().is_some());
    // The framing of the original no longer describes the cut body.
    assert!(response.headers().get("content-length").is_none());
    let body = client.get(server.uri()).send().await.unwrap().bytes().await;
    assert_eq!(body.unwrap().len(), 4096);

    let err = response.error_for_api_status().await.unwrap_err();
    let api = err.api_error().unwrap();
    assert!(api.is_truncated());
    assert_eq!(api.shape(), Shape::Text);
    assert_eq!(api.message(), Some("Oops"));
}

#[tokio::test]
async fn response_ext_works_without_the_middleware() {
    let server = MockApi::start().await;
    let not_found = Fixture::raw(404, "application/json", r#"{"detail":"Rule not found"}"#);
    server
        .mount_at("/missing", not_found.with_header("x-request-id", "req-9"))
        .await;
    server.mount_at("/ok", fixtures::ok()).await;
    server
        .mount_at("/not-json", Fixture::raw(200, "text/plain", "hello"))
        .await;

    let response = reqwest::get(format!("{}/missing", server.uri()))
        .await
        .unwrap();
    let err = response.error_for_api_status().await.unwrap_err();
    assert_eq!(err.api_error().unwrap().message(), Some("Rule not found"));
    assert_eq!(err.request_id(), Some("req-9"));
    assert!(err.attempts().is_empty());
    assert_eq!(err.stop_reason(), None);

    let ok: serde_json::Value = reqwest::get(format!("{}/ok", server.uri()))
        .await
        .unwrap()
        .json_or_api_error()
        .await
        .unwrap();
    assert_eq!(ok["ok"], true);

    let err = reqwest::get(format!("{}/not-json", server.uri()))
        .await
        .unwrap()
        .json_or_api_error::<serde_json::Value>()
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Decode(_)), "{err:?}");
    assert_eq!(err.to_string(), "failed to decode the response body");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn a_success_body_that_does_not_decode_keeps_its_attempts() {
    let server = MockApi::start().await;
    let script =
        Script::new()
            .then(Fixture::empty(503))
            .then(Fixture::raw(200, "text/plain", "not json"));
    server.mount(script).await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    let err = client.get_json::<Vec<u32>>("x").await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Decode(_)));
    assert_eq!(err.attempts().len(), 2);
}

#[tokio::test]
async fn bad_requests_are_reported_not_sent() {
    assert!(matches!(
        ApiClient::builder()
            .base_url("not a url")
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidRequest(_)
    ));
    let err = ApiClient::builder()
        .api_key("bad\nkey")
        .build()
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidRequest(_)));
    assert!(!err.to_string().contains("bad\nkey"));

    // A relative path with no base URL.
    let client = ApiClient::builder().build().unwrap();
    let err = client
        .send(client.request(Method::GET, "relative/path"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidRequest(_)),
        "{err:?}"
    );
    assert!(err.attempts().is_empty());

    // A URL reqwest refuses to send to: reported at once, not retried with backoff.
    let started = std::time::Instant::now();
    let err = client
        .send(client.request(Method::GET, "ftp://127.0.0.1:1/x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidRequest(_)),
        "{err:?}"
    );
    assert_eq!(err.attempts().len(), 1, "one attempt, not retried");
    assert_eq!(
        err.attempts()[0].transport,
        Some(errors_core::retry::TransportKind::Rejected)
    );
    assert_eq!(
        err.stop_reason(),
        Some(errors_core::retry::StopReason::NotRetryable)
    );
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn a_key_the_server_echoes_back_is_redacted_everywhere() {
    let server = MockApi::start().await;
    let echo = Fixture::raw(
        503,
        "application/json",
        r#"{"detail":"upstream rejected Authorization: Bearer sk-live-secret"}"#,
    );
    server
        .mount(echo.with_header("x-request-id", "id-sk-live-secret"))
        .await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .api_key("sk-live-secret")
        .policy(
            RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_retries(1),
        )
        .build()
        .unwrap();
    let err = client
        .send(client.request(Method::GET, "x"))
        .await
        .unwrap_err();
    let api = err.api_error().unwrap();
    assert_eq!(
        api.message(),
        Some("upstream rejected Authorization: Bearer [redacted]")
    );
    assert_eq!(err.request_id(), Some("id-[redacted]"));
    let json = serde_json::to_string(api).unwrap();
    let attempts = serde_json::to_string(err.attempts()).unwrap();
    for text in [err.to_string(), format!("{err:?}"), json, attempts] {
        assert!(!text.contains("sk-live-secret"), "{text}");
    }
}

/// `send` runs a request through the client that built it: a builder from another client
/// keeps that client's middleware, even when this client would skip its own chain.
#[tokio::test]
async fn a_request_from_another_client_goes_through_that_clients_stack() {
    let server = MockApi::start().await;
    server
        .mount_given(
            method("GET"),
            fixtures::ok_json(&serde_json::json!({"from": "server"})),
        )
        .await;
    let plain = ApiClient::builder()
        .base_url(format!("{}/v1", server.uri()))
        .build()
        .unwrap();
    let fake = errors_testkit::FakeApi::new();
    fake.mount(fixtures::ok_json(&serde_json::json!({"from": "fake"})));
    let faked = ApiClient::builder()
        .base_url(fake.uri())
        .with_middleware(fake.clone())
        .build()
        .unwrap();

    let answer = |response: errors_http::ApiResponse| {
        response.json::<serde_json::Value>().unwrap()["from"].clone()
    };
    let own = plain.send(plain.request(Method::GET, "a")).await.unwrap();
    assert_eq!(answer(own), "server");
    let foreign = plain.send(faked.request(Method::GET, "a")).await.unwrap();
    assert_eq!(answer(foreign), "fake");
    let other_way = faked.send(plain.request(Method::GET, "a")).await.unwrap();
    assert_eq!(answer(other_way), "server");
}

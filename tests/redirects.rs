//! Redirects and the request the caller made: a POST answered with a redirect is never sent
//! again, each hop is sent as the previous answer asks, a loop or an unusable `Location` is
//! an error naming it, and paths stay under the base URL.

mod support;

use errors_core::retry::StopReason;
use errors_http::{ApiClient, ErrorKind, RetryMiddleware};
use errors_testkit::{FaultServer, Fixture, MockApi, Script, fixtures};
use reqwest::Method;
use support::three_retries;
use wiremock::Request;
use wiremock::matchers::method;

fn client(api: &MockApi) -> ApiClient {
    ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .api_key("sk-redirects")
        .policy(three_retries())
        .build()
        .unwrap()
}

/// `status` with `Location: location`.
fn redirect(status: u16, location: impl Into<String>) -> Fixture {
    Fixture::empty(status).with_header("location", location)
}

/// Requests with `verb` to `at`.
fn sent(verb: &'static str, at: &'static str) -> impl Fn(&Request) -> bool + Send + Sync {
    move |r: &Request| r.method == verb && r.url.path() == at
}

/// `POST /v1/jobs` -> 303 to `/v1/jobs/1`, whose GET answers 429 (`Retry-After: 1`) once,
/// then 200.
async fn post_then_rate_limited_get(api: &MockApi) {
    api.mount_given(sent("POST", "/v1/jobs"), redirect(303, "/v1/jobs/1"))
        .await;
    let limited = fixtures::rate_limited()
        .with_message("Rate limit exceeded")
        .with_retry_after_secs(1);
    let then_ok = Script::new().then(limited).then(fixtures::ok());
    api.mount_given(sent("GET", "/v1/jobs/1"), then_ok).await;
}

#[tokio::test]
async fn a_post_answered_with_a_redirect_is_not_sent_again_after_a_429_on_the_next_hop() {
    let api = MockApi::start().await;
    post_then_rate_limited_get(&api).await;
    let err = client(&api)
        .post_json::<_, serde_json::Value>("jobs", &serde_json::json!({"a": 1}))
        .await
        .unwrap_err();
    api.journal().assert_received("POST", "/v1/jobs", 1);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.stop_reason(), Some(StopReason::UnsafeToRepeat));
    assert_eq!(err.attempts().len(), 1);
}

#[tokio::test]
async fn a_post_marked_safe_to_repeat_is_sent_again() {
    let api = MockApi::start().await;
    post_then_rate_limited_get(&api).await;
    let client = client(&api);
    let request = client
        .request(Method::POST, "jobs")
        .json(&serde_json::json!({"a": 1}))
        .with_extension(errors_http::SafeToRepeat);
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status, 200);
    api.journal().assert_received("POST", "/v1/jobs", 2);
}

#[tokio::test]
async fn the_middleware_alone_over_a_following_client_sends_the_post_once() {
    // reqwest follows the redirect itself (its default policy): the answer is for another URL.
    let api = MockApi::start().await;
    post_then_rate_limited_get(&api).await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(three_retries()))
        .build();
    let response = client
        .post(format!("{}/v1/jobs", api.uri()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    api.journal().assert_received("POST", "/v1/jobs", 1);
}

#[tokio::test]
async fn a_post_redirected_to_a_refused_connection_is_not_sent_again() {
    let api = MockApi::start().await;
    // A port nothing listens on: "never sent" is true of that hop, not of the POST.
    let refusing = FaultServer::refusing();
    let refused = format!("{}/gone", refusing.uri());
    api.mount_at("/v1/jobs", redirect(303, refused.as_str()))
        .await;
    let err = client(&api)
        .post_json::<_, serde_json::Value>("jobs", &serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Transport(_)), "{err:?}");
    assert_eq!(err.stop_reason(), Some(StopReason::UnsafeToRepeat));
    api.journal().assert_received("POST", "/v1/jobs", 1);
    // A GET is the same request every time: it is retried.
    let err = client(&api)
        .get_json::<serde_json::Value>("jobs")
        .await
        .unwrap_err();
    assert_eq!(err.attempts().len(), 4, "{err:?}");
}

#[tokio::test]
async fn a_cross_origin_307_after_a_303_sends_what_the_303_asked_for() {
    let api = MockApi::start().await;
    let other = MockApi::start().await;
    api.mount_given(sent("POST", "/v1/jobs"), redirect(303, "/v1/a"))
        .await;
    api.mount_at("/v1/a", redirect(307, format!("{}/b", other.uri())))
        .await;
    other.mount_at("/b", fixtures::ok()).await;
    client(&api)
        .post_json::<_, serde_json::Value>("jobs", &serde_json::json!({"secret": "body"}))
        .await
        .unwrap();
    let hops = other.journal().requests();
    assert_eq!(hops.len(), 1);
    assert_eq!(hops[0].method, "GET");
    assert!(hops[0].body.is_empty());
    assert!(hops[0].header("content-type").is_none());
    assert!(hops[0].header("authorization").is_none());
    let to_api = api.journal().requests();
    assert_eq!(
        to_api
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>(),
        ["POST /v1/jobs", "GET /v1/a"]
    );
}

#[tokio::test]
async fn a_redirect_loop_is_too_many_redirects_and_never_retried() {
    // Within one origin.
    let api = MockApi::start().await;
    api.mount_at("/v1/loop", redirect(302, "/v1/loop")).await;
    let err = client(&api)
        .get_json::<serde_json::Value>("loop")
        .await
        .unwrap_err();
    let ErrorKind::TooManyRedirects { location } = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(location, &format!("{}/v1/loop", api.uri()));
    assert_eq!(err.stop_reason(), Some(StopReason::NotRetryable));
    assert_eq!(err.attempts().len(), 1);
    // The first request and ten redirects followed.
    assert_eq!(api.journal().len(), 11);
    assert!(
        err.to_string()
            .starts_with("too many redirects, the last to http://127.0.0.1:"),
        "{err}"
    );

    // Across two origins.
    let a = MockApi::start().await;
    let b = MockApi::start().await;
    a.mount_at("/v1/ping", redirect(307, format!("{}/pong", b.uri())))
        .await;
    b.mount_at("/pong", redirect(307, format!("{}/v1/ping", a.uri())))
        .await;
    let err = client(&a)
        .get_json::<serde_json::Value>("ping")
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::TooManyRedirects { .. }),
        "{err:?}"
    );
    let sent = a.journal().len() + b.journal().len();
    assert_eq!(sent, 11);
}

#[tokio::test]
async fn a_redirect_that_cannot_be_followed_is_an_error_naming_the_location() {
    let api = MockApi::start().await;
    api.mount_at(
        "/v1/ftp",
        redirect(302, "ftp://files.example.com/export.csv?token=sk-9"),
    )
    .await;
    let err = client(&api)
        .get_json::<serde_json::Value>("ftp")
        .await
        .unwrap_err();
    let ErrorKind::RedirectNotFollowed { location, .. } = err.kind() else {
        panic!("{err:?}")
    };
    // Named, without the query that may carry a credential.
    assert_eq!(location, "ftp://files.example.com/export.csv");
    assert_eq!(
        err.to_string(),
        "redirect to ftp://files.example.com/export.csv not followed: only http and https urls are followed"
    );
    assert_eq!(err.attempts().len(), 1);
    assert_eq!(err.stop_reason(), Some(StopReason::NotRetryable));
}

#[tokio::test]
async fn a_path_that_leaves_the_base_path_is_refused_and_nothing_is_sent() {
    let api = MockApi::start().await;
    api.mount_given(method("GET"), fixtures::ok()).await;
    let client = client(&api);
    for escape in [
        "../../admin",
        "%2e%2e/%2e%2e/admin",
        "images/../../admin",
        "..",
        "./../v2/x",
    ] {
        let err = client
            .get_json::<serde_json::Value>(escape)
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidRequest(_)),
            "{escape}: {err:?}"
        );
        assert!(
            err.to_string().contains("outside the base url's path"),
            "{err}"
        );
        assert_eq!(err.attempts().len(), 1, "{escape}");
    }
    assert!(api.journal().is_empty());
    // `..` that stays under the base is a path like any other.
    client
        .get_json::<serde_json::Value>("images/../jobs")
        .await
        .unwrap();
    let received = api.journal().requests();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/v1/jobs"]);
}

#[tokio::test]
async fn the_base_urls_query_is_kept_on_every_request() {
    let api = MockApi::start().await;
    api.mount_given(method("GET"), fixtures::ok()).await;
    let client = ApiClient::builder()
        .base_url(format!("{}/v1?api-version=2", api.uri()))
        .build()
        .unwrap();
    client
        .get_json::<serde_json::Value>("images")
        .await
        .unwrap();
    client
        .get_json::<serde_json::Value>("images?page=3")
        .await
        .unwrap();
    let urls: Vec<String> = api
        .journal()
        .requests()
        .iter()
        .map(|r| format!("{}?{}", r.path, r.query.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        urls,
        [
            "/v1/images?api-version=2",
            "/v1/images?api-version=2&page=3"
        ]
    );
}

#[tokio::test]
async fn every_value_of_a_multi_valued_default_header_is_sent() {
    let api = MockApi::start().await;
    api.mount_given(method("GET"), fixtures::ok()).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.append("x-feature", "a".parse().unwrap());
    headers.append("x-feature", "b".parse().unwrap());
    headers.append("x-team", "c".parse().unwrap());
    let client = ApiClient::builder()
        .base_url(api.uri())
        .default_headers(headers)
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("x").await.unwrap();
    let received = &api.journal().requests()[0];
    let values: Vec<&str> = received
        .headers
        .iter()
        .filter(|(name, _)| name == "x-feature")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(values, ["a", "b"]);
    assert_eq!(received.header("x-team"), Some("c"));
}

#[tokio::test]
async fn secrets_in_a_url_stay_out_of_error_text() {
    let client = ApiClient::builder()
        .policy(three_retries().with_max_retries(0))
        .build()
        .unwrap();
    let refusing = FaultServer::refusing();
    let addr = refusing.uri().trim_start_matches("http://").to_owned();
    for url in [
        // reqwest refuses the scheme: "builder error for url (...)".
        "ftp://user:hunter2@127.0.0.1/x?token=sk-live-1".to_owned(),
        // Nothing listens: "error sending request for url (...)".
        format!("http://user:hunter2@{addr}/x?token=sk-live-1"),
    ] {
        let err = client
            .get_json::<serde_json::Value>(&url)
            .await
            .unwrap_err();
        let mut text = format!("{err} {err:?}");
        let mut cause = std::error::Error::source(&err);
        while let Some(e) = cause {
            text.push_str(&format!(" {e} {e:?}"));
            cause = e.source();
        }
        assert!(!text.contains("sk-live-1"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("/x"), "the url is still named: {text}");
    }
}

#[test]
fn a_custom_key_header_with_a_client_that_follows_redirects_is_refused() {
    let err = ApiClient::builder()
        .base_url("http://127.0.0.1:9/v1")
        .api_key("sk-1")
        .auth_header("X-API-Key", None)
        .with_client(reqwest::Client::new())
        .build()
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidRequest(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("with_client_builder"), "{err}");
    assert!(!err.to_string().contains("sk-1"));
    // `Authorization` is stripped by reqwest itself across origins: allowed.
    ApiClient::builder()
        .base_url("http://127.0.0.1:9/v1")
        .api_key("sk-1")
        .with_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = errors_blocking::ApiClient::builder()
        .base_url("http://127.0.0.1:9/v1")
        .api_key("sk-1")
        .auth_header("X-API-Key", None)
        .with_client(reqwest::Client::new())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("with_client_builder"), "{err}");
}

#[tokio::test]
async fn a_client_builder_of_the_callers_keeps_a_custom_key_header_home() {
    let api = MockApi::start().await;
    let other = MockApi::start().await;
    api.mount_at("/v1/export", redirect(302, format!("{}/file", other.uri())))
        .await;
    other.mount_at("/file", fixtures::ok()).await;
    let client = ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .api_key("sk-stays")
        .auth_header("X-API-Key", None)
        // reqwest's default redirect policy would follow with the key: it is replaced.
        .with_client_builder(reqwest::Client::builder())
        .build()
        .unwrap();
    client
        .get_json::<serde_json::Value>("export")
        .await
        .unwrap();
    let hop = &other.journal().requests()[0];
    assert!(hop.header("x-api-key").is_none());
    assert_eq!(
        api.journal().requests()[0].header("x-api-key"),
        Some("sk-stays")
    );
}

//! The API key stays with the API: it goes only to the base URL's origin, never to another
//! origin named by an absolute URL, and never across a cross-origin redirect, whatever header
//! carries it. Paths join under the base, `jobs:cancel` included.

use errors_http::ApiClient;
use errors_testkit::{BlockingMockApi, Fixture, MockApi, Received, fixtures};
use reqwest::Method;
use wiremock::matchers::method;

const KEY: &str = "sk-stays-home";

/// Whether any header of `request` carries the key.
fn carries_key(request: &Received) -> bool {
    request.headers.iter().any(|(_, v)| v.contains(KEY))
}

fn client(api: &MockApi, custom_header: bool) -> ApiClient {
    let mut builder = ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .api_key(KEY);
    if custom_header {
        builder = builder.auth_header("X-API-Key", None);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn the_key_goes_only_to_the_base_origin() {
    for custom_header in [false, true] {
        let api = MockApi::start().await;
        let other = MockApi::start().await;
        api.mount_given(method("GET"), fixtures::ok()).await;
        other.mount_given(method("GET"), fixtures::ok()).await;
        let client = client(&api, custom_header);
        client
            .get_json::<serde_json::Value>("images")
            .await
            .unwrap();
        client
            .get_json::<serde_json::Value>(&format!("{}/v1/images", api.uri()))
            .await
            .unwrap();
        // A presigned download URL, a URL from user input: another origin.
        client
            .get_json::<serde_json::Value>(&format!("{}/download?sig=abc", other.uri()))
            .await
            .unwrap();
        let to_api = api.journal().requests();
        assert_eq!(to_api.len(), 2);
        assert!(to_api.iter().all(carries_key), "custom={custom_header}");
        let to_other = other.journal().requests();
        assert_eq!(to_other.len(), 1);
        assert!(!carries_key(&to_other[0]), "custom={custom_header}");
    }
}

#[test]
fn the_blocking_client_keeps_the_key_home_too() {
    let api = BlockingMockApi::start();
    let other = BlockingMockApi::start();
    api.mount_given(method("GET"), fixtures::ok());
    other.mount_given(method("GET"), fixtures::ok());
    let client = errors_blocking::ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .api_key(KEY)
        .auth_header("X-API-Key", None)
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("images").unwrap();
    client
        .get_json::<serde_json::Value>(&format!("{}/elsewhere", other.uri()))
        .unwrap();
    assert!(carries_key(&api.journal().requests()[0]));
    assert!(!carries_key(&other.journal().requests()[0]));
}

#[tokio::test]
async fn a_cross_origin_redirect_drops_every_credential_header() {
    for custom_header in [false, true] {
        for (status, verb) in [(302, "GET"), (303, "POST"), (307, "POST"), (308, "PUT")] {
            let api = MockApi::start().await;
            let other = MockApi::start().await;
            let location = format!("{}/bucket/file", other.uri());
            api.mount_at(
                "/v1/export",
                Fixture::empty(status).with_header("location", location),
            )
            .await;
            other.mount_at("/bucket/file", fixtures::ok()).await;
            let client = client(&api, custom_header);
            let request = client
                .request(Method::from_bytes(verb.as_bytes()).unwrap(), "export")
                .header("cookie", "session=1")
                .body("{\"a\":1}");
            let response = client.send(request).await.unwrap();
            assert_eq!(response.status, 200, "{status} {verb}");
            let to_other = other.journal().requests();
            assert_eq!(to_other.len(), 1);
            let hop = &to_other[0];
            assert!(!carries_key(hop), "custom={custom_header} {status}");
            assert!(hop.header("cookie").is_none());
            assert!(hop.header("authorization").is_none());
            // 307 and 308 keep the method and the body; 301, 302 and 303 become a bodiless GET.
            let expect = if matches!(status, 307 | 308) {
                verb
            } else {
                "GET"
            };
            assert_eq!(hop.method, expect, "{status} {verb}");
            if matches!(status, 307 | 308) {
                assert_eq!(hop.body, b"{\"a\":1}");
            } else {
                assert!(hop.body.is_empty());
            }
            assert!(carries_key(&api.journal().requests()[0]));
        }
    }
}

#[tokio::test]
async fn a_redirect_within_the_origin_keeps_the_key() {
    let api = MockApi::start().await;
    api.mount_at(
        "/v1/old",
        Fixture::empty(301).with_header("location", "/v1/new"),
    )
    .await;
    api.mount_at("/v1/new", fixtures::ok()).await;
    let client = client(&api, true);
    client.get_json::<serde_json::Value>("old").await.unwrap();
    let received = api.journal().requests();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(carries_key));
}

#[tokio::test]
async fn paths_join_under_the_base() {
    let api = MockApi::start().await;
    api.mount(fixtures::ok()).await;
    let client = client(&api, false);
    client
        .post_json::<_, serde_json::Value>("jobs/42:cancel", &serde_json::json!({}))
        .await
        .unwrap();
    client
        .post_json::<_, serde_json::Value>("jobs:cancel", &serde_json::json!({}))
        .await
        .unwrap();
    client
        .get_json::<serde_json::Value>("/images")
        .await
        .unwrap();
    let received = api.journal().requests();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/v1/jobs/42:cancel", "/v1/jobs:cancel", "/v1/images"]
    );
    assert!(received.iter().all(carries_key));
}

#[test]
fn a_key_without_a_base_url_is_refused() {
    let err = ApiClient::builder().api_key(KEY).build().unwrap_err();
    assert!(err.to_string().contains("base url"), "{err}");
    assert!(!err.to_string().contains(KEY));
    let err = errors_blocking::ApiClient::builder()
        .api_key(KEY)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("base url"), "{err}");
}

//! The API key stays with the API: it goes only to the base URL's origin, never to another
//! origin named by an absolute URL, and never across a cross-origin redirect, whatever header
//! carries it. Paths join under the base, `jobs:cancel` included.

use errors_http::ApiClient;
use reqwest::Method;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk-stays-home";

/// Whether any header of `request` carries the key.
fn carries_key(request: &Request) -> bool {
    request
        .headers
        .values()
        .any(|v| v.to_str().is_ok_and(|v| v.contains(KEY)))
}

async fn ok(server: &MockServer) {
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(server)
        .await;
}

fn client(api: &MockServer, custom_header: bool) -> ApiClient {
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
        let api = MockServer::start().await;
        let other = MockServer::start().await;
        ok(&api).await;
        ok(&other).await;
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
        let to_api = api.received_requests().await.unwrap();
        assert_eq!(to_api.len(), 2);
        assert!(to_api.iter().all(carries_key), "custom={custom_header}");
        let to_other = other.received_requests().await.unwrap();
        assert_eq!(to_other.len(), 1);
        assert!(!carries_key(&to_other[0]), "custom={custom_header}");
    }
}

#[test]
fn the_blocking_client_keeps_the_key_home_too() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (api, other) = runtime.block_on(async {
        let api = MockServer::start().await;
        let other = MockServer::start().await;
        ok(&api).await;
        ok(&other).await;
        (api, other)
    });
    let client = errors_blocking::Client::builder()
        .base_url(format!("{}/v1", api.uri()))
        .api_key(KEY)
        .auth_header("X-API-Key", None)
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("images").unwrap();
    client
        .get_json::<serde_json::Value>(&format!("{}/elsewhere", other.uri()))
        .unwrap();
    runtime.block_on(async {
        assert!(carries_key(&api.received_requests().await.unwrap()[0]));
        assert!(!carries_key(&other.received_requests().await.unwrap()[0]));
    });
}

#[tokio::test]
async fn a_cross_origin_redirect_drops_every_credential_header() {
    for custom_header in [false, true] {
        for (status, verb) in [(302, "GET"), (303, "POST"), (307, "POST"), (308, "PUT")] {
            let api = MockServer::start().await;
            let other = MockServer::start().await;
            Mock::given(path("/v1/export"))
                .respond_with(
                    ResponseTemplate::new(status)
                        .insert_header("location", format!("{}/bucket/file", other.uri())),
                )
                .mount(&api)
                .await;
            Mock::given(path("/bucket/file"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_raw("{\"ok\":1}", "application/json"),
                )
                .mount(&other)
                .await;
            let client = client(&api, custom_header);
            let request = client
                .request(Method::from_bytes(verb.as_bytes()).unwrap(), "export")
                .header("cookie", "session=1")
                .body("{\"a\":1}");
            let response = client.send(request).await.unwrap();
            assert_eq!(response.status, 200, "{status} {verb}");
            let to_other = other.received_requests().await.unwrap();
            assert_eq!(to_other.len(), 1);
            let hop = &to_other[0];
            assert!(!carries_key(hop), "custom={custom_header} {status}");
            assert!(hop.headers.get("cookie").is_none());
            assert!(hop.headers.get("authorization").is_none());
            // 307 and 308 keep the method and the body; 301, 302 and 303 become a bodiless GET.
            let expect = if matches!(status, 307 | 308) {
                verb
            } else {
                "GET"
            };
            assert_eq!(hop.method.as_str(), expect, "{status} {verb}");
            if matches!(status, 307 | 308) {
                assert_eq!(hop.body, b"{\"a\":1}");
            } else {
                assert!(hop.body.is_empty());
            }
            assert!(carries_key(&api.received_requests().await.unwrap()[0]));
        }
    }
}

#[tokio::test]
async fn a_redirect_within_the_origin_keeps_the_key() {
    let api = MockServer::start().await;
    Mock::given(path("/v1/old"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/v1/new"))
        .mount(&api)
        .await;
    Mock::given(path("/v1/new"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(&api)
        .await;
    let client = client(&api, true);
    client.get_json::<serde_json::Value>("old").await.unwrap();
    let received = api.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(carries_key));
}

#[tokio::test]
async fn paths_join_under_the_base() {
    let api = MockServer::start().await;
    ok(&api).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(&api)
        .await;
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
    let paths: Vec<String> = api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        ["/v1/jobs/42:cancel", "/v1/jobs:cancel", "/v1/images"]
    );
    assert!(
        api.received_requests()
            .await
            .unwrap()
            .iter()
            .all(carries_key)
    );
}

#[test]
fn a_key_without_a_base_url_is_refused() {
    let err = ApiClient::builder().api_key(KEY).build().unwrap_err();
    assert!(err.to_string().contains("base url"), "{err}");
    assert!(!err.to_string().contains(KEY));
    let err = errors_blocking::Client::builder()
        .api_key(KEY)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("base url"), "{err}");
}

//! The kit's own behaviour: scripts under concurrency, journals, the blocking server.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use errors_testkit::{BlockingMockApi, Fixture, MockApi, Script, fixtures};

#[tokio::test]
async fn a_script_serves_each_step_once_under_concurrent_requests() {
    let api = MockApi::start().await;
    let mut script = Script::new();
    for i in 0..20 {
        script = script.then(Fixture::raw(200, "text/plain", format!("step-{i:02}")));
    }
    api.mount_script(script.clone()).await;
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (client, uri) = (client.clone(), api.uri());
            tokio::spawn(async move { client.get(uri).send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        bodies.push(task.await.unwrap());
    }
    bodies.sort();
    let expected: Vec<String> = (0..20).map(|i| format!("step-{i:02}")).collect();
    assert_eq!(bodies, expected);
    assert_eq!(script.served(), 20);
    api.journal().assert_attempts(20);
}

#[tokio::test]
async fn the_last_step_repeats_and_fail_then_succeed_reads_as_it_says() {
    let api = MockApi::start().await;
    api.mount_script(Script::fail_then_succeed(
        2,
        fixtures::empty_unavailable(),
        fixtures::no_content(),
    ))
    .await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            client
                .get(api.uri())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [503, 503, 204, 204]);
}

#[tokio::test]
async fn per_path_scripts_and_the_fallback() {
    let api = MockApi::start().await;
    api.mount_at("/a", Script::new().then(fixtures::not_found()))
        .await;
    api.mount_at("/b", fixtures::conflict()).await;
    let client = reqwest::Client::new();
    let status = |path: &'static str| {
        let (client, uri) = (client.clone(), api.uri());
        async move {
            client
                .get(format!("{uri}{path}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status("/a").await, 404);
    assert_eq!(status("/b").await, 409);
    assert_eq!(status("/unmounted").await, 404);
    let paths: Vec<_> = api
        .journal()
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(paths, ["/a", "/b", "/unmounted"]);
}

#[tokio::test]
async fn gaps_are_measured_from_arrival_times() {
    let api = MockApi::start().await;
    // The first answer is held back 300 ms; a client that waits for it cannot send the
    // second request sooner.
    api.mount_script(
        Script::new()
            .then(fixtures::no_content().delay_by(Duration::from_millis(300)))
            .then(fixtures::no_content()),
    )
    .await;
    let client = reqwest::Client::new();
    client
        .post(format!("{}/jobs", api.uri()))
        .header("authorization", "Bearer sk-1")
        .send()
        .await
        .unwrap();
    client
        .get(format!("{}/jobs/1", api.uri()))
        .header("authorization", "Bearer sk-1")
        .send()
        .await
        .unwrap();
    let journal = api.journal();
    journal.assert_gap_at_least(1, Duration::from_millis(300));
    journal.assert_received_once("POST", "/jobs");
    journal.assert_header_sent("authorization", "Bearer sk-1");
    assert!(
        !journal.describe().contains("sk-1"),
        "assertion listings leave header values out"
    );
}

#[tokio::test]
#[should_panic(expected = "expected 3 requests, received 1")]
async fn a_failed_assertion_lists_what_arrived() {
    let api = MockApi::start().await;
    reqwest::get(format!("{}/x", api.uri())).await.unwrap();
    api.journal().assert_attempts(3);
}

#[tokio::test]
async fn fixture_overrides() {
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let fixture = fixtures::rate_limited()
        .message("Slow down")
        .details(serde_json::json!({"limit": 100}))
        .request_id("req-9")
        .retry_after_date(at);
    let body: serde_json::Value = serde_json::from_slice(fixture.body()).unwrap();
    assert_eq!(body["error"]["message"], "Slow down");
    assert_eq!(body["error"]["details"]["limit"], 100);
    assert_eq!(body["request_id"], "req-9");
    let headers = fixture.headers();
    assert!(headers.contains(&("x-request-id".to_owned(), "req-9".to_owned())));
    assert!(headers.contains(&("retry-after".to_owned(), httpdate::fmt_http_date(at))));
    let detail = fixtures::validation_error()
        .field("name")
        .message("Name is required");
    let body: serde_json::Value = serde_json::from_slice(detail.body()).unwrap();
    assert_eq!(body["detail"]["field"], "name");
    assert_eq!(body["detail"]["message"], "Name is required");
    assert_eq!(fixtures::large_body(500, 1 << 20).body().len(), 1 << 20);
}

/// A plain synchronous test: no tokio in sight.
#[test]
fn the_blocking_server_works_from_a_plain_test() {
    let api = BlockingMockApi::start();
    api.mount(fixtures::usage_limit_exceeded());
    let address = api.uri().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET /v1/images HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 429"), "{response}");
    assert!(response.contains("USAGE_LIMIT_EXCEEDED"));
    api.journal().assert_received_once("GET", "/v1/images");
}

//! `FakeApi` through its public API, on tokio's paused clock: what it answers, what it
//! records and when, and which clock each server's journal reads.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime};

use errors_core::ApiError;
use errors_testkit::wiremock::ResponseTemplate;
use errors_testkit::wiremock::matchers::method;
use errors_testkit::{FakeApi, Fixture, MockApi, Script, catalogue, fixtures};
use tokio::time::Instant;

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .unwrap_or_default(),
    }
}

#[tokio::test(start_paused = true)]
async fn the_journal_shows_the_virtual_wait_between_requests() {
    let api = FakeApi::new();
    api.mount(Script::fail_then_succeed(
        1,
        fixtures::rate_limited().with_retry_after_secs(60),
        fixtures::no_content(),
    ));
    let client = api.client();
    let started = std::time::Instant::now();

    client.get(api.uri()).send().await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    client.get(api.uri()).send().await.unwrap();

    // Exactly the sleep: nothing else moves a paused clock.
    assert_eq!(api.journal().gaps(), [Duration::from_secs(60)]);
    api.journal()
        .assert_gap_at_least(1, Duration::from_secs(60));
    api.journal().assert_gap_at_most(1, Duration::from_secs(60));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "real time passed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_delayed_fixture_takes_exactly_its_delay_in_virtual_time() {
    let api = FakeApi::new();
    api.mount_at("/slow", fixtures::hang(Duration::from_secs(30)));
    api.mount_at("/hang", fixtures::hang(Duration::from_secs(86_400)));
    let client = api.client();

    let started = Instant::now();
    let response = client
        .get(format!("{}/slow", api.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!(response.text().await.unwrap(), r#"{"late":true}"#);

    // A client's timeout cuts a hang at the timeout, to the millisecond.
    let started = Instant::now();
    let cut = tokio::time::timeout(
        Duration::from_secs(2),
        client.get(format!("{}/hang", api.uri())).send(),
    )
    .await;
    assert!(cut.is_err(), "the hang answered");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    // Both arrived; the journal timed their arrival, not their answer.
    assert_eq!(api.journal().gaps(), [Duration::from_secs(30)]);
}

#[tokio::test]
async fn mounts_match_as_on_mock_api_and_the_rest_is_fastapi_404() {
    let api = FakeApi::new();
    api.mount_at(
        "/a",
        Script::new()
            .then(fixtures::not_found())
            .then(fixtures::no_content()),
    );
    api.mount_given(method("POST"), fixtures::conflict());
    api.mount(fixtures::ok_json(&serde_json::json!({"any": true})));
    api.mount(fixtures::internal_server_error()); // never reached: the first catch-all wins
    let client = api.client();
    let get = |path: &'static str| {
        let (client, uri) = (client.clone(), api.uri());
        async move {
            let response = client.get(format!("{uri}{path}")).send().await.unwrap();
            response.status().as_u16()
        }
    };
    assert_eq!(get("/a").await, 404);
    assert_eq!(get("/b").await, 200);
    assert_eq!(get("/a").await, 204, "the /a script kept its own count");
    let post = client
        .post(format!("{}/c", api.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 409);

    let unmounted = FakeApi::new();
    let response = unmounted
        .client()
        .get(format!("{}/nothing", unmounted.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), r#"{"detail":"Not Found"}"#);
    unmounted.journal().assert_received_once("GET", "/nothing");
}

#[tokio::test]
async fn what_arrived_is_recorded_whole_streamed_bodies_included() {
    let api = FakeApi::new();
    api.mount(fixtures::no_content());
    let client = api.client();
    client
        .post(format!("{}/v1/jobs?dry_run=1", api.uri()))
        .bearer_auth("sk-test")
        .header("content-type", "application/json")
        .body(r#"{"n":1}"#)
        .send()
        .await
        .unwrap();
    let streamed = reqwest::Body::wrap(http_body_util::Full::new(&b"streamed bytes"[..]));
    client
        .put(format!("{}/v1/blobs/1", api.uri()))
        .body(streamed)
        .send()
        .await
        .unwrap();

    let journal = api.journal();
    journal.assert_received_once("POST", "/v1/jobs");
    journal.assert_received_once("PUT", "/v1/blobs/1");
    let requests = journal.requests();
    assert_eq!(requests[0].query.as_deref(), Some("dry_run=1"));
    assert_eq!(requests[0].header("Authorization"), Some("Bearer sk-test"));
    assert_eq!(requests[0].body, br#"{"n":1}"#);
    assert_eq!(requests[1].body, b"streamed bytes");
}

#[tokio::test]
async fn every_catalogue_entry_reads_back_as_over_the_network() {
    for entry in catalogue() {
        let api = FakeApi::new();
        api.mount(&entry.fixture);
        let url = format!("{}/v1/x", api.uri());
        let response = api.client().get(&url).send().await.unwrap();
        assert_eq!(response.url().as_str(), url, "{}", entry.name);
        assert_eq!(
            response.headers().get("content-type").map(|v| v.as_bytes()),
            entry.fixture.content_type().map(str::as_bytes),
            "{}",
            entry.name
        );
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.bytes().await.unwrap();
        assert_eq!(body, entry.fixture.body(), "{}", entry.name);
        let error = ApiError::parse(status, &headers, &body, SystemTime::now());
        assert_eq!(error.status().as_u16(), entry.status, "{}", entry.name);
        assert_eq!(error.code(), entry.code.as_ref(), "{}", entry.name);
        assert_eq!(error.shape(), entry.shape, "{}", entry.name);
        assert_eq!(
            error.request_id(),
            entry.fixture.request_id_sent(),
            "{}",
            entry.name
        );
    }
}

#[test]
fn a_wiremock_template_is_refused_when_mounted_not_when_requested() {
    let api = FakeApi::new();
    let script = Script::new()
        .then(fixtures::no_content())
        .then(ResponseTemplate::new(200));
    let failure = catch_unwind(AssertUnwindSafe(|| api.mount(script))).unwrap_err();
    let message = panic_message(failure);
    assert!(
        message.starts_with(
            "FakeApi cannot send step 1 of this script: it is a wiremock ResponseTemplate"
        ),
        "{message}"
    );
    // Nothing half-mounted: the fake still answers its 404.
    assert!(format!("{api:?}").contains("mounts: 0"), "{api:?}");
}

#[tokio::test(start_paused = true)]
async fn an_empty_script_answers_500_as_on_mock_api() {
    let api = FakeApi::new();
    api.mount(Script::new());
    let response = api.client().get(api.uri()).send().await.unwrap();
    assert_eq!(response.status(), 500);
}

#[tokio::test(start_paused = true)]
async fn clones_share_mounts_and_journal() {
    let api = FakeApi::new();
    let clone = api.clone();
    clone.mount(Fixture::empty(202));
    let response = api.client().get(api.uri()).send().await.unwrap();
    assert_eq!(response.status(), 202);
    clone.journal().assert_attempts(1);
}

/// A MockApi's journal reads the clock of the runtime that started it, not wiremock's own:
/// a paused test sees its virtual waits there too. (Only the lower bound is certain: while a
/// request is on a real socket, a paused runtime with nothing to run may jump its clock to
/// its next timer, which is why `FakeApi` exists.)
#[tokio::test(start_paused = true)]
async fn a_mock_api_journal_reads_the_test_clock() {
    let api = MockApi::start().await;
    api.mount(fixtures::no_content()).await;
    let client = reqwest::Client::new();
    client.get(api.uri()).send().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3_600)).await;
    client.get(api.uri()).send().await.unwrap();
    api.journal()
        .assert_gap_at_least(1, Duration::from_secs(3_600));
}

/// A BlockingMockApi's journal reads its own runtime's clock, which is never paused: even
/// from a paused test, gaps are wall-clock time (a virtual hour between two requests does not
/// show).
#[tokio::test(start_paused = true)]
async fn a_blocking_mock_api_journal_reads_the_wall_clock() {
    let api = errors_testkit::BlockingMockApi::start();
    api.mount(fixtures::no_content());
    let client = reqwest::Client::new();
    client.get(api.uri()).send().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3_600)).await;
    client.get(api.uri()).send().await.unwrap();
    api.journal().assert_attempts(2);
    api.journal().assert_gap_at_most(1, Duration::from_secs(60));
}

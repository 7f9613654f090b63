//! The kit's own behaviour through its public API: scripts under concurrency, journals and
//! their failure messages, the blocking server.

use std::io::{Read as _, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use errors_core::Shape;
use errors_testkit::wiremock::matchers::{any, method};
use errors_testkit::wiremock::{Mock, ResponseTemplate};
use errors_testkit::{BlockingMockApi, Fixture, MockApi, Script, fixtures};

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .unwrap_or_default(),
    }
}

#[tokio::test]
async fn a_script_serves_each_step_exactly_once_under_concurrent_requests() {
    let api = MockApi::start().await;
    let script = (0..20).fold(Script::new(), |script, i| {
        script.then(Fixture::raw(200, "text/plain", format!("step-{i:02}")))
    });
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
        let response = client.get(api.uri()).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [503, 503, 204, 204]);
}

#[tokio::test]
async fn per_path_scripts_matchers_and_the_fallback() {
    let api = MockApi::start().await;
    api.mount_at(
        "/a",
        Script::new()
            .then(fixtures::not_found())
            .then(fixtures::no_content()),
    )
    .await;
    api.mount_given(method("POST"), fixtures::conflict()).await;
    api.mount(fixtures::ok_json(&serde_json::json!({"any": true})))
        .await;
    let client = reqwest::Client::new();
    let get = |path: &'static str| {
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
    assert_eq!(get("/a").await, 404);
    assert_eq!(get("/b").await, 200);
    assert_eq!(get("/a").await, 204, "the /a script kept its own count");
    let post = client
        .post(format!("{}/c", api.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 409);

    let paths: Vec<_> = api
        .journal()
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(paths, ["/a", "/b", "/a", "/c"]);
}

#[tokio::test]
async fn an_unmounted_server_answers_fastapi_404_and_records_it() {
    let api = MockApi::start().await;
    let response = reqwest::get(format!("{}/nothing?x=1", api.uri()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), r#"{"detail":"Not Found"}"#);
    let received = &api.journal().requests()[0];
    assert_eq!(
        (received.path.as_str(), received.query.as_deref()),
        ("/nothing", Some("x=1"))
    );
}

#[tokio::test]
async fn gaps_are_measured_from_arrival_times() {
    let api = MockApi::start().await;
    // The first answer is held back 300 ms; a client that awaits it cannot send the second
    // request sooner, so the gap between arrivals is at least that.
    api.mount_script(
        Script::new()
            .then(fixtures::no_content().with_delay(Duration::from_millis(300)))
            .then(fixtures::no_content()),
    )
    .await;
    let client = reqwest::Client::new();
    client
        .post(format!("{}/jobs", api.uri()))
        .header("authorization", "Bearer sk-1")
        .body("{\"n\":1}")
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
    assert_eq!(journal.gaps().len(), 1);
    journal.assert_gap_at_least(1, Duration::from_millis(300));
    journal.assert_all_gaps_at_least(Duration::from_millis(300));
    journal.assert_gap_at_most(1, Duration::from_secs(30));
    journal.assert_received_once("POST", "/jobs");
    journal.assert_received("GET", "/jobs/1", 1);
    journal.assert_header_sent("authorization", "Bearer sk-1");
    journal.assert_header_absent("x-api-key");
    assert_eq!(journal.requests()[0].body, b"{\"n\":1}");
}

#[tokio::test]
#[should_panic(
    expected = "expected 3 requests, received 1; the mock API received:\n  #0 at +0ns (gap 0ns): GET /x"
)]
async fn a_failed_assertion_lists_what_arrived() {
    let api = MockApi::start().await;
    reqwest::get(format!("{}/x", api.uri())).await.unwrap();
    api.journal().assert_attempts(3);
}

#[tokio::test]
async fn failure_messages_never_show_a_secret_in_full() {
    let api = MockApi::start().await;
    let secret = "sk-live-0123456789abcdefghij";
    reqwest::Client::new()
        .post(format!("{}/v1/upload", api.uri()))
        .bearer_auth(secret)
        .header("x-api-key", secret)
        .send()
        .await
        .unwrap();
    let journal = api.journal();
    for check in [
        &(|| journal.assert_header_sent("authorization", "Bearer sk-live-other-key-000000"))
            as &dyn Fn(),
        &|| journal.assert_received_once("POST", "/v1/other"),
        &|| journal.assert_gap_at_least(1, Duration::from_secs(1)),
    ] {
        let message = panic_message(catch_unwind(AssertUnwindSafe(check)).unwrap_err());
        assert!(message.contains("POST /v1/upload"), "{message}");
        assert!(
            message.contains("authorization: Bearer sk-l… (28 chars)"),
            "{message}"
        );
        assert!(!message.contains("0123456789"), "{message}");
    }
}

#[test]
fn fixture_overrides() {
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let fixture = fixtures::rate_limited()
        .with_message("Slow down")
        .with_details(serde_json::json!({"limit": 100}))
        .with_request_id("req-9")
        .with_retry_after_secs(3)
        .with_retry_after_date(at);
    let body: serde_json::Value = serde_json::from_slice(fixture.body()).unwrap();
    assert_eq!(body["error"]["message"], "Slow down");
    assert_eq!(body["error"]["details"]["limit"], 100);
    assert_eq!(body["request_id"], "req-9");
    assert_eq!(
        fixture.headers(),
        [("retry-after".to_owned(), httpdate::fmt_http_date(at))]
    );

    let detail = fixtures::validation_error()
        .with_field("name")
        .with_message("Name is required");
    let body: serde_json::Value = serde_json::from_slice(detail.body()).unwrap();
    assert_eq!(body["detail"]["field"], "name");
    assert_eq!(body["detail"]["message"], "Name is required");
    assert_eq!(
        detail.header_value("x-request-id"),
        Some("req-validation-error")
    );

    let list = detail.with_shape(Shape::DetailList);
    let body: serde_json::Value = serde_json::from_slice(list.body()).unwrap();
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["query", "name"])
    );

    assert_eq!(fixtures::large_body(500, 1 << 20).body().len(), 1 << 20);
    assert!(
        serde_json::from_slice::<serde_json::Value>(fixtures::truncated_json(429).body()).is_err()
    );
    assert_eq!(
        fixtures::unauthorized().body(),
        br#"{"detail":"Missing or invalid API key"}"#
    );
}

#[tokio::test]
async fn a_hang_outlasts_a_client_timeout() {
    let api = MockApi::start().await;
    api.mount(fixtures::hang(Duration::from_secs(5))).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = client.get(api.uri()).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    api.journal().assert_attempts(1);
}

/// A plain synchronous test: no tokio in sight.
#[test]
fn the_blocking_server_works_from_a_plain_test() {
    let api = BlockingMockApi::start();
    api.mount_at("/v1/images", fixtures::usage_limit_exceeded());
    let address = api.uri().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET /v1/images HTTP/1.1\r\nHost: {address}\r\nx-api-key: sk-test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 429"), "{response}");
    assert!(response.contains("USAGE_LIMIT_EXCEEDED"));
    api.journal().assert_received_once("GET", "/v1/images");
    api.journal().assert_header_sent("x-api-key", "sk-test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_server_also_works_inside_a_runtime_and_with_raw_wiremock() {
    let api = BlockingMockApi::start();
    api.mount(fixtures::no_content());
    let status = reqwest::get(api.uri()).await.unwrap().status();
    assert_eq!(status, 204);
    let recorded = api.run(|api| async move { api.server().received_requests().await });
    assert_eq!(recorded.map(|r| r.len()), Some(1));
    drop(api);
}

#[test]
fn dropping_the_blocking_server_raises_unmet_wiremock_expectations() {
    let api = BlockingMockApi::start();
    api.run(|api| async move {
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .named("the one call")
            .mount(api.server())
            .await;
    });
    let message = panic_message(catch_unwind(AssertUnwindSafe(|| drop(api))).unwrap_err());
    assert!(message.contains("the one call"), "{message}");
}

#[test]
fn dropping_the_blocking_server_while_panicking_does_not_panic_again() {
    let outcome = catch_unwind(|| {
        let api = BlockingMockApi::start();
        api.run(|api| async move {
            Mock::given(any())
                .respond_with(ResponseTemplate::new(200))
                .expect(1)
                .mount(api.server())
                .await;
        });
        panic!("the test's own failure");
    });
    // A double panic would abort the process instead of landing here.
    assert_eq!(
        panic_message(outcome.unwrap_err()),
        "the test's own failure"
    );
}

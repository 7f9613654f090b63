//! The metrics a user can graph (errors-http's `metrics` feature), through both facades,
//! read back from the `metrics` example's in-process recorder.

#[allow(dead_code)]
#[path = "../examples/metrics.rs"]
mod example;

use std::time::Duration;

use errors_http::{ApiClient, RetryPolicy};
use errors_testkit::{FakeApi, Script, fixtures};
use example::{Recorded, Value};

const IMAGES: &str = "http://127.0.0.1:0/v1/images/{id}";
const SEARCH: &str = "http://127.0.0.1:0/v1/search";

fn line(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

fn counter(recorded: &Recorded, name: &str, labels: &[(&str, &str)]) -> u64 {
    match recorded.get(&line(name, labels)) {
        Some(Value::Counter(n)) => n,
        other => panic!("{name} {labels:?}: {other:?}\n{}", recorded.render()),
    }
}

#[test]
fn retries_rate_limits_holds_outcomes_and_the_budget_are_counted_per_partition() {
    let recorded = Recorded::default();
    metrics::set_global_recorder(recorded.clone()).unwrap();
    let api = FakeApi::new();
    // Each facade: a provider error then an answer on /images/N, and a rate limit then an
    // answer on /search; another /search call is held by that 429.
    for n in [17, 18] {
        api.mount_at(
            &format!("/v1/images/{n}"),
            Script::new()
                .then(fixtures::vlm_provider_error())
                .then(fixtures::ok_json(&serde_json::json!({"id": n}))),
        );
    }
    api.mount_at(
        "/v1/search",
        Script::new()
            .then(fixtures::rate_limited().with_retry_after_secs(1))
            .then(fixtures::ok_json(&serde_json::json!([]))),
    );
    let policy = RetryPolicy::default().with_initial_backoff(Duration::from_millis(5));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = ApiClient::builder()
            .base_url(format!("{}/v1", api.uri()))
            .policy(policy.clone())
            .with_middleware(api.clone())
            .build()
            .unwrap();
        client
            .get_json::<serde_json::Value>("images/17")
            .await
            .unwrap();
        let (first, second) = tokio::join!(client.get_json::<serde_json::Value>("search"), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            client.get_json::<serde_json::Value>("search").await
        });
        first.unwrap();
        second.unwrap();
    });
    let blocking = errors_blocking::ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .policy(policy)
        .with_middleware(api.clone())
        .build()
        .unwrap();
    blocking.get_json::<serde_json::Value>("images/18").unwrap();

    // Both /images/N calls share the route's partition: 2 calls, 4 attempts, 2 retries.
    assert_eq!(
        counter(
            &recorded,
            "errors_http_attempts_total",
            &[("partition", IMAGES)]
        ),
        4
    );
    assert_eq!(
        counter(
            &recorded,
            "errors_http_retries_total",
            &[("partition", IMAGES), ("reason", "server_error")]
        ),
        2
    );
    assert_eq!(
        counter(
            &recorded,
            "errors_http_calls_total",
            &[("partition", IMAGES), ("outcome", "succeeded")]
        ),
        2
    );
    // /search: one 429, one retry after it, the other call held, both succeed.
    assert_eq!(
        counter(
            &recorded,
            "errors_http_rate_limited_total",
            &[("partition", SEARCH)]
        ),
        1
    );
    assert_eq!(
        counter(
            &recorded,
            "errors_http_retries_total",
            &[("partition", SEARCH), ("reason", "rate_limited")]
        ),
        1
    );
    assert!(
        counter(
            &recorded,
            "errors_http_holds_total",
            &[("partition", SEARCH)]
        ) >= 1
    );
    match recorded.get(&line("errors_http_hold_seconds", &[("partition", SEARCH)])) {
        Some(Value::Histogram { count, sum }) => assert!(count >= 1 && sum > 0.5, "{count} {sum}"),
        other => panic!("{other:?}"),
    }
    match recorded.get(&line(
        "errors_http_retry_wait_seconds",
        &[("partition", SEARCH)],
    )) {
        Some(Value::Histogram { count: 1, sum }) => assert!(sum >= 1.0, "{sum}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        counter(
            &recorded,
            "errors_http_calls_total",
            &[("partition", SEARCH), ("outcome", "succeeded")]
        ),
        2
    );
    // The blocking client's budget: the default reserve of 10, less the retry it spent,
    // plus what its first request deposited (whole retries only).
    match recorded.get("errors_http_budget_available{}") {
        Some(Value::Gauge(v)) => assert!((8.0..=10.0).contains(&v), "{v}"),
        other => panic!("{other:?}"),
    }
}

//! Rate-limit state per partition, through the client on tokio's paused clock: a `429`
//! holds the requests of its route, never those of a neighbouring route (unless the client
//! is one partition).

use std::time::Duration;

use errors_core::RetryPolicy;
use errors_core::ratelimit::Partitioning;
use errors_http::{ApiClient, ApiResponse, Error};
use errors_testkit::{FakeApi, Fixture, Script, fixtures, wait_until};
use http::Method;
use tokio::time::Instant;

/// `/v1/search` and `/v1/images/17/analysis` answer a `429` asking for 5 s, then 200;
/// `/v1/items` and `/v1/images/18/analysis` always answer 200.
fn api() -> FakeApi {
    let api = FakeApi::new();
    let limited = || {
        Script::new()
            .then(fixtures::rate_limited().with_retry_after_secs(5))
            .then(Fixture::empty(200))
    };
    api.mount_at("/v1/search", limited());
    api.mount_at("/v1/images/17/analysis", limited());
    api.mount_at("/v1/items", Fixture::empty(200));
    api.mount_at("/v1/images/18/analysis", Fixture::empty(200));
    api
}

fn client(api: &FakeApi, partitioning: Option<Partitioning>) -> ApiClient {
    let mut builder = ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .policy(RetryPolicy::default().with_retry_after_jitter(0.0))
        .jitter_seed(1)
        .with_middleware(api.clone());
    if let Some(partitioning) = partitioning {
        builder = builder.partition_by(partitioning);
    }
    builder.build().unwrap()
}

/// Sends a GET to `path` in a task of its own, and waits until its `429` has closed a
/// window of the client.
async fn rejected(
    client: &ApiClient,
    path: &str,
) -> tokio::task::JoinHandle<Result<ApiResponse, Error>> {
    let task = tokio::spawn({
        let client = client.clone();
        let request = client.request(Method::GET, path);
        async move { client.send(request).await }
    });
    wait_until("the request got its 429", async || {
        !client.rate_limited_for().is_zero()
    })
    .await;
    task
}

#[tokio::test(start_paused = true)]
async fn an_unlimited_route_is_not_held_after_its_neighbours_429() {
    let api = api();
    let client = client(&api, None);
    let search = rejected(&client, "search?q=cats").await;
    let began = Instant::now();
    let items = client
        .send(client.request(Method::GET, "items?page=2"))
        .await
        .unwrap();
    // Sent at once, not held by `/search`'s window.
    assert_eq!(began.elapsed(), Duration::ZERO);
    assert_eq!(items.attempts.len(), 1);
    assert_eq!(items.attempts[0].held, Duration::ZERO);
    assert_eq!(items.attempts[0].waited, Duration::ZERO);
    // `/search` itself waits as asked.
    let search = search.await.unwrap().unwrap();
    assert_eq!(search.attempts.len(), 2);
    assert!(search.attempts[1].waited >= Duration::from_secs(5));
    assert!(client.rate_limited_for().is_zero());
}

#[tokio::test(start_paused = true)]
async fn a_429_holds_the_next_request_to_the_same_route() {
    // `/images/17/analysis` and `/images/18/analysis` are one route: ids are folded.
    let api = api();
    let client = client(&api, None);
    let first = rejected(&client, "images/17/analysis").await;
    let began = Instant::now();
    let second = client
        .send(client.request(Method::GET, "images/18/analysis"))
        .await
        .unwrap();
    // The rest of the 5 s window, then its turn behind the rejected request: the 429
    // states "100 calls per 60 seconds", so one paced interval (0.6 s, 2% more) after it.
    let held = second.attempts[0].held;
    assert!(held > Duration::from_millis(4_900), "{held:?}");
    assert!(held < Duration::from_secs(6), "{held:?}");
    assert!(began.elapsed() >= held);
    first.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn one_partition_for_the_whole_client_holds_every_route() {
    // A limit per API key across all routes: `Partitioning::whole_client`.
    let api = api();
    let client = client(&api, Some(Partitioning::whole_client()));
    let search = rejected(&client, "search").await;
    let items = client
        .send(client.request(Method::GET, "items"))
        .await
        .unwrap();
    let held = items.attempts[0].held;
    assert!(held > Duration::from_millis(4_900), "{held:?}");
    search.await.unwrap().unwrap();
}

#[test]
fn partitioning_applies_to_the_state_the_client_builds() {
    let shared = errors_core::retry::ClientRetryState::without_budget();
    let error = ApiClient::builder()
        .retry_state(shared)
        .partition_by(Partitioning::whole_client())
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("partition_by"), "{error}");
}

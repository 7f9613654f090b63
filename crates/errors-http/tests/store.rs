//! The Redis store against a real Redis (`redis-server`, started by the testkit; CI
//! installs it): several clients on one key share one pace, API keys and prefixes never
//! share state, nothing secret reaches Redis, and Redis stopped, paused or restarted loses
//! no call.
#![cfg(feature = "redis")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use errors_http::{ApiClient, RedisStore};
use errors_testkit::{MockApi, RedisServer, fixtures, holds_within};
use wiremock::{Request, Respond, ResponseTemplate};

/// The simulation's and the loopback benchmark's model limiters.
#[path = "../../errors-core/tests/support/limiters.rs"]
#[allow(dead_code)]
mod model;

/// A token bucket in front of the API, stating "N calls per 1 seconds" in its 429s.
#[derive(Clone)]
struct Bucket {
    bucket: Arc<Mutex<model::TokenBucket>>,
    started: Instant,
}

impl Respond for Bucket {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        use model::Model as _;
        let mut bucket = self.bucket.lock().unwrap();
        if bucket.admit(self.started.elapsed()).is_ok() {
            return fixtures::ok().to_template();
        }
        let (calls, secs) = bucket.statement();
        let stated = format!("Rate limit exceeded: {calls} calls per {secs} seconds");
        fixtures::rate_limited()
            .with_message(stated)
            .with_retry_after_secs(1)
            .to_template()
    }
}

async fn limited_api(rate: u32, burst: u32) -> MockApi {
    let server = MockApi::start().await;
    let bucket = model::TokenBucket::new(rate, 1, burst);
    server
        .mount(Bucket {
            bucket: Arc::new(Mutex::new(bucket)),
            started: Instant::now(),
        })
        .await;
    server
}

fn client(api: &MockApi, redis: &RedisServer, key: &str, prefix: &str) -> ApiClient {
    ApiClient::builder()
        .base_url(api.uri())
        .api_key(key)
        .rate_limit_store(RedisStore::new(&redis.url()).unwrap().with_prefix(prefix))
        .build()
        .unwrap()
}

/// Whether Redis holds some state within 3 s: a report reached it.
async fn until_reported(redis: &RedisServer) -> bool {
    holds_within(Duration::from_secs(3), async || {
        !keys(redis).await.is_empty()
    })
    .await
}

/// `first` spends a bucket of 2 a second and meets its 429 (stating the limit), and while
/// its rejected call waits out its second, `second`, which never met the limit, calls:
/// what `second` was held, the rejected call's attempts, and whether the 429 reached Redis.
async fn meet_the_limit_then_call(
    first: &ApiClient,
    second: &ApiClient,
    redis: &RedisServer,
) -> (errors_http::ApiResponse, usize, bool) {
    for _ in 0..2 {
        get(first).await;
    }
    let rejected = tokio::spawn({
        let first = first.clone();
        async move { get(&first).await.attempts.len() }
    });
    let reported = until_reported(redis).await;
    let paced = get(second).await;
    (paced, rejected.await.unwrap(), reported)
}

async fn get(client: &ApiClient) -> errors_http::ApiResponse {
    client
        .send(client.request(errors_http::Method::GET, "v1/items"))
        .await
        .expect("no call fails")
}

/// Keys in the Redis, through its own protocol.
async fn keys(redis: &RedisServer) -> Vec<String> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_process_that_never_met_the_limit_is_paced_by_what_another_learned() {
    let redis = RedisServer::start();
    // Two calls a second, holding two: the first process spends them and meets a 429.
    let api = limited_api(2, 2).await;
    let first = client(&api, &redis, "sk-fleet", "test");
    let second = client(&api, &redis, "sk-fleet", "test");
    let (paced, rejected, reported) = meet_the_limit_then_call(&first, &second, &redis).await;
    assert_eq!(rejected, 2, "the third call met the 429");
    assert!(reported, "the 429 reached Redis");
    // The second process, which never saw a 429, is held by the shared pace (two a second:
    // its slot half a second after the 429) instead of being rejected.
    assert_eq!(paced.attempts.len(), 1, "{:?}", paced.attempts);
    let held = paced.attempts[0].held;
    assert!(
        held >= Duration::from_millis(300) && held <= Duration::from_millis(700),
        "{:?}",
        paced.attempts
    );
}

#[tokio::test]
async fn other_api_keys_and_other_prefixes_never_share_state() {
    let redis = RedisServer::start();
    let api = limited_api(1, 1).await;
    let limited = client(&api, &redis, "sk-one", "test");
    get(&limited).await;
    assert_eq!(get(&limited).await.attempts.len(), 2, "met the 429");
    // The same route under another key, or another prefix: no pace from it.
    for (key, prefix) in [("sk-two", "test"), ("sk-one", "staging")] {
        let unlimited = limited_api(100, 100).await;
        let other = client(&unlimited, &redis, key, prefix);
        let response = get(&other).await;
        assert_eq!(response.attempts[0].held, Duration::ZERO, "{key} {prefix}");
    }
    // Nothing secret and nothing unbounded in Redis: the prefix, then hashes.
    let keys = keys(&redis).await;
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(
            !key.contains("sk-one") && !key.contains("127.0.0.1"),
            "{key}"
        );
        assert!(
            key.starts_with("test:") || key.starts_with("staging:"),
            "{key}"
        );
        assert!(key.len() < 64, "{key}");
    }
}

#[tokio::test]
async fn every_key_expires() {
    let redis = RedisServer::start();
    let api = limited_api(1, 1).await;
    let limited = client(&api, &redis, "sk-ttl", "test");
    get(&limited).await;
    get(&limited).await;
    let connection_client = redis::Client::open(redis.url()).unwrap();
    let mut connection = connection_client
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for key in keys(&redis).await {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 120_000, "{key}: {ttl}");
    }
}

#[tokio::test]
async fn redis_down_from_the_start_loses_no_call_and_costs_one_bounded_wait() {
    let mut redis = RedisServer::start();
    redis.stop();
    let api = limited_api(5, 5).await;
    let client = client(&api, &redis, "sk-down", "test");
    // The first call waits for Redis at most 50 ms (connection refused is quicker), then
    // the process paces itself; the calls after it do not ask Redis for a second.
    let started = Instant::now();
    get(&client).await;
    assert!(started.elapsed() < Duration::from_millis(500));
    let started = Instant::now();
    for _ in 0..4 {
        get(&client).await;
    }
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    // Rate limited while Redis is down: paced locally, every call succeeds.
    for _ in 0..10 {
        get(&client).await;
    }
}

#[tokio::test]
async fn redis_paused_holds_no_request_past_the_bound() {
    let redis = RedisServer::start();
    let api = limited_api(100, 100).await;
    let client = client(&api, &redis, "sk-paused", "test");
    get(&client).await;
    redis.pause();
    // A stalled Redis answers nothing: the request gives up on it after 50 ms.
    let started = Instant::now();
    get(&client).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(45) && took < Duration::from_millis(400),
        "{took:?}"
    );
    // The next ones, within the second, do not wait for it at all.
    let started = Instant::now();
    for _ in 0..5 {
        get(&client).await;
    }
    assert!(started.elapsed() < Duration::from_millis(200));
    redis.resume();
}

#[tokio::test]
async fn after_a_restart_the_fleet_shares_its_pace_again() {
    let mut redis = RedisServer::start();
    let api = limited_api(2, 2).await;
    let first = client(&api, &redis, "sk-restart", "test");
    let second = client(&api, &redis, "sk-restart", "test");
    get(&first).await;
    redis.restart();
    // Redis lost everything. The next calls find the connection gone and pace in the
    // process (for a second); then the same clients ask Redis again, and share. Each round
    // is about two seconds of real time; the second one at the latest finds Redis back.
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (paced, rejected, reported) = meet_the_limit_then_call(&first, &second, &redis).await;
        rounds.push((paced.attempts[0].held, rejected, reported));
        if paced.attempts[0].held >= Duration::from_millis(300) {
            return;
        }
    }
    panic!("the fleet never shared its pace again: {rounds:?}");
}

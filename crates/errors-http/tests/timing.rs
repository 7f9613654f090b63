//! Waits, deadlines, the shared rate-limit window and the retry budget.

mod support;

use std::time::{Duration, Instant};

use errors_core::RetryPolicy;
use errors_core::ratelimit::Partitioning;
use errors_core::retry::{ClientRetryState, RetryBudget, StopReason};
use errors_http::{ApiClient, ErrorKind};
use errors_testkit::{FakeApi, Fixture, MockApi, Script, fixtures, wait_until};
use reqwest::Method;
use support::envelope;

fn rate_limited(retry_after: &str) -> Fixture {
    envelope(
        429,
        "RATE_LIMIT_ERROR",
        // A limit stated fast enough that the paced release after the window stays short.
        "Rate limit exceeded: 200 calls per 1 seconds",
    )
    .with_header("retry-after", retry_after)
}

/// A server answering `first`, then 200 (repeating).
async fn serve(first: Fixture) -> MockApi {
    let server = MockApi::start().await;
    server
        .mount(Script::new().then(first).then(fixtures::ok()))
        .await;
    server
}

#[tokio::test]
async fn retry_after_one_second_is_waited_in_full_and_not_much_more() {
    let server = serve(rate_limited("1")).await;
    let client = ApiClient::builder().base_url(server.uri()).build().unwrap();
    let response = client.send(client.request(Method::GET, "x")).await.unwrap();
    let gap = server.journal().gaps()[0];
    // Never earlier than asked; jitter adds at most 10%, plus a loopback round trip.
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert!(
        gap < Duration::from_millis(1100 + 250),
        "retried after {gap:?}"
    );
    // The recorded wait is the time the request was held, measured: it includes how late
    // the runtime woke it (under a loaded machine, a few ms past the 10% jitter).
    let waited = response.attempts[1].waited;
    assert!(
        waited >= Duration::from_secs(1) && waited <= Duration::from_millis(1100 + 50),
        "{waited:?}"
    );
}

#[tokio::test]
async fn an_http_date_retry_after_is_honoured() {
    // The client reads dates against a frozen wall clock and the date is made from it, so
    // the wait asked is exactly 2 s whenever the request is sent (a date made from the real
    // clock before the request is truncated to the second and may ask for less than 1 s).
    let wall = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let date = httpdate::fmt_http_date(wall + Duration::from_secs(2));
    let server = serve(rate_limited(&date)).await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .clock(std::sync::Arc::new(errors_core::clock::ManualClock::new(
            wall,
        )))
        .build()
        .unwrap();
    let response = client.send(client.request(Method::GET, "x")).await.unwrap();
    // Jitter adds at most 10%; the recorded wait is measured (wake-up lateness: 50 ms).
    let waited = response.attempts[1].waited;
    assert!(
        waited >= Duration::from_secs(2) && waited <= Duration::from_millis(2200 + 50),
        "{waited:?}"
    );
    // Never earlier than asked; jitter adds at most 10%, plus a loopback round trip.
    let gap = server.journal().gaps()[0];
    assert!(
        gap >= Duration::from_secs(2) && gap < Duration::from_millis(2200 + 250),
        "{gap:?}"
    );
}

#[tokio::test]
async fn a_two_second_deadline_holds_against_a_server_that_hangs() {
    let server = MockApi::start().await;
    server
        .mount(Fixture::empty(200).with_delay(Duration::from_secs(30)))
        .await;
    let policy = RetryPolicy::default().with_deadline(Duration::from_secs(2));
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(policy)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .send(client.request(Method::GET, "hang"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(2300),
        "took {took:?}"
    );
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
    assert_eq!(err.stop_reason(), Some(StopReason::DeadlineExceeded));
}

#[tokio::test]
async fn concurrent_requests_wait_out_the_servers_rate_limit_window() {
    // "20 calls per 1 seconds", come back in 2 s: a wait longer than the header's one-second
    // resolution says the server's window is closed, so the whole partition holds.
    let limited = envelope(
        429,
        "RATE_LIMIT_ERROR",
        "Rate limit exceeded: 20 calls per 1 seconds",
    )
    .with_retry_after_secs(2);
    let server = serve(limited).await;
    // The 429 on `a` holds `b0`..`b49`, other routes: one partition for the whole client
    // (a limit per API key). Per route, the default, they would not wait.
    let client = ApiClient::builder()
        .base_url(server.uri())
        .budget(None)
        .partition_by(Partitioning::whole_client())
        .build()
        .unwrap();

    let first = tokio::spawn({
        let client = client.clone();
        async move { client.send(client.request(Method::GET, "a")).await }
    });
    wait_until("the first request got its 429", async || {
        !client.rate_limited_for().is_zero()
    })
    .await;
    let others: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .send(client.request(Method::GET, &format!("b{i}")))
                    .await
            })
        })
        .collect();
    first.await.unwrap().unwrap();
    for task in others {
        task.await.unwrap().unwrap();
    }
    let arrivals = server.journal().arrivals();
    assert_eq!(
        arrivals.len(),
        52,
        "one 429, its retry, and 50 others sent once each"
    );
    let window_end = arrivals[0] + Duration::from_secs(2);
    for (i, at) in arrivals.iter().enumerate().skip(1) {
        assert!(
            *at + Duration::from_millis(5) >= window_end,
            "request {i} hit the server {:?} before the window ended",
            window_end - *at
        );
    }
    // The window's opening is a new window: the stated burst of 20 at once, then the rest
    // paced at the stated 20 a second (51 ms apart), not as a herd: 31 intervals, 1.58 s.
    let spread = arrivals[51] - arrivals[1];
    assert!(
        spread >= Duration::from_millis(1500) && spread <= Duration::from_millis(2500),
        "{spread:?}"
    );
}

async fn requests_per_call(budget: Option<RetryBudget>, calls: usize) -> f64 {
    let server = MockApi::start().await;
    server.mount(Fixture::empty(503)).await;
    let policy = RetryPolicy::default()
        .with_initial_backoff(Duration::ZERO)
        .with_max_retries(3);
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(policy)
        .budget(budget)
        .build()
        .unwrap();
    for _ in 0..calls {
        let err = client
            .send(client.request(Method::GET, "x"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(reqwest::StatusCode::SERVICE_UNAVAILABLE));
    }
    server.journal().len() as f64 / calls as f64
}

#[tokio::test]
async fn the_budget_keeps_an_outage_near_one_request_per_call() {
    let without = requests_per_call(None, 200).await;
    assert_eq!(without, 4.0);
    let with = requests_per_call(Some(RetryBudget::default()), 200).await;
    // 10 retries from the reserve, then one per 10 calls: (200 + 10 + 20) / 200.
    assert!((1.1..=1.2).contains(&with), "{with}");
}

#[tokio::test]
async fn clients_can_share_one_budget() {
    let server = MockApi::start().await;
    server.mount(Fixture::empty(503)).await;
    let shared = ClientRetryState::with_budget(RetryBudget::new(2, 0.0));
    let policy = RetryPolicy::default().with_initial_backoff(Duration::ZERO);
    let a = ApiClient::builder()
        .base_url(server.uri())
        .policy(policy.clone())
        .retry_state(shared.clone())
        .build()
        .unwrap();
    let b = ApiClient::builder()
        .base_url(server.uri())
        .policy(policy)
        .retry_state(shared)
        .build()
        .unwrap();
    a.send(a.request(Method::GET, "x")).await.unwrap_err();
    let err = b.send(b.request(Method::GET, "x")).await.unwrap_err();
    assert_eq!(err.stop_reason(), Some(StopReason::BudgetExhausted));
    assert_eq!(
        server.journal().len(),
        4,
        "a: 1 + 2 retries from the shared reserve; b: 1"
    );
}

/// With tokio's clock paused and the testkit's `FakeApi` answering in process (no I/O, so
/// nothing but the client's own sleeps moves time), the time the call took is the sum of
/// the waits the policy decided: not less, and not more (tokio rounds each sleep up to the
/// millisecond).
#[tokio::test(start_paused = true)]
async fn with_paused_time_the_waits_are_exactly_what_the_policy_decided() {
    let api = FakeApi::new();
    api.mount(
        Script::new()
            .then(fixtures::rate_limited().with_retry_after_secs(30))
            .then(Fixture::empty(503))
            .then(fixtures::ok()),
    );
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let client = ApiClient::builder()
        .base_url("http://api.test/v1")
        .policy(policy)
        .jitter_seed(5)
        .with_middleware(api.clone())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let response = client.send(client.request(Method::GET, "x")).await.unwrap();
    let took = started.elapsed();
    let waits: Vec<_> = response.attempts.iter().map(|a| a.waited).collect();
    assert_eq!(waits.len(), 3);
    assert_eq!(waits[0], Duration::ZERO);
    assert_eq!(waits[1], Duration::from_secs(30));
    assert!(
        waits[2] < Duration::from_millis(1000),
        "second backoff ceiling is 1 s: {:?}",
        waits[2]
    );
    let total: Duration = waits.iter().sum();
    assert!(
        took >= total && took <= total + Duration::from_millis(2),
        "took {took:?} for waits adding up to {total:?}"
    );
    // And the server saw the same gaps.
    let gaps = api.journal().gaps();
    assert_eq!(gaps.len(), 2);
    for (gap, wait) in gaps.iter().zip(&waits[1..]) {
        assert!(
            gap >= wait && *gap <= *wait + Duration::from_millis(1),
            "gap {gap:?} for a wait of {wait:?}"
        );
    }
}

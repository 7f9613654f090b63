//! Success-path cost of the retry middleware against bare reqwest and reqwest-retry, in one
//! run, on loopback keep-alive; then the outage measurement: requests sent per logical call
//! when every response is 503, with and without the retry budget. Bare reqwest is measured
//! first and again last, so each run shows its own noise.
//!
//! `cargo bench -p errors-http --bench middleware`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use errors_core::RetryPolicy;
use errors_core::retry::RetryBudget;
use errors_http::{ApiClient, ApiRetryableStrategy, RetryMiddleware};
use reqwest_retry::{RetryTransientMiddleware, policies::ExponentialBackoff};

#[path = "support/keep_alive.rs"]
mod keep_alive;

/// A minimal keep-alive HTTP/1.1 server on 127.0.0.1 answering every request with `response`,
/// so the server's own cost is small next to the client's. Counts requests.
async fn serve(response: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/ping", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(keep_alive::answer_each(socket, move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
                response
            }));
        }
    });
    (url, count)
}

const OK: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
const UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";

fn success_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (url, _) = runtime.block_on(serve(OK));
    let bare = reqwest::Client::new();
    let ours = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(RetryPolicy::default()))
        .build();
    let ours_no_deadline = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(
            RetryPolicy::default().without_deadline(),
        ))
        .build();
    let retry = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryTransientMiddleware::new_with_policy(
            ExponentialBackoff::builder().build_with_max_retries(3),
        ))
        .build();
    let retry_with_strategy = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryTransientMiddleware::new_with_policy_and_strategy(
            ExponentialBackoff::builder().build_with_max_retries(3),
            ApiRetryableStrategy::default(),
        ))
        .build();
    let api = ApiClient::builder().build().unwrap();

    let mut group = c.benchmark_group("success_get");
    group.bench_function("bare_reqwest", |b| {
        b.to_async(&runtime)
            .iter(|| async { bare.get(&url).send().await.unwrap().bytes().await.unwrap() })
    });
    group.bench_function("errors_http_middleware", |b| {
        b.to_async(&runtime)
            .iter(|| async { ours.get(&url).send().await.unwrap().bytes().await.unwrap() })
    });
    group.bench_function("errors_http_middleware_no_deadline", |b| {
        b.to_async(&runtime).iter(|| async {
            ours_no_deadline
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        })
    });
    group.bench_function("reqwest_retry", |b| {
        b.to_async(&runtime)
            .iter(|| async { retry.get(&url).send().await.unwrap().bytes().await.unwrap() })
    });
    group.bench_function("reqwest_retry_api_strategy", |b| {
        b.to_async(&runtime).iter(|| async {
            retry_with_strategy
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        })
    });
    group.bench_function("errors_http_api_client", |b| {
        b.to_async(&runtime).iter(|| async {
            api.send(api.request(reqwest::Method::GET, &url))
                .await
                .unwrap()
        })
    });
    // The same client as the first row, measured last: the gap between the two rows is the
    // noise of this run, the floor under which no other difference means anything.
    group.bench_function("bare_reqwest_again", |b| {
        b.to_async(&runtime)
            .iter(|| async { bare.get(&url).send().await.unwrap().bytes().await.unwrap() })
    });
    group.finish();
}

/// The success path with a fleet's store on loopback (`redis-server`, started here): one
/// script round trip to Redis per request while the partition is not paced, beside the
/// same middleware without a store. `cargo bench -p errors-http --features redis --bench
/// middleware -- store`.
#[cfg(feature = "redis")]
fn store_success_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (url, _) = runtime.block_on(serve(OK));
    let redis = errors_testkit::RedisServer::start();
    let without = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(RetryPolicy::default()))
        .build();
    let store = errors_http::RedisStore::new(&redis.url()).unwrap();
    let with = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(
            RetryMiddleware::builder(RetryPolicy::default())
                .rate_limit_store(store, "bench")
                .build(),
        )
        .build();
    let mut group = c.benchmark_group("success_get_store");
    group.bench_function("middleware_no_store", |b| {
        b.to_async(&runtime).iter(|| async {
            without
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        })
    });
    group.bench_function("middleware_redis_store", |b| {
        b.to_async(&runtime)
            .iter(|| async { with.get(&url).send().await.unwrap().bytes().await.unwrap() })
    });
    group.finish();
}

#[cfg(not(feature = "redis"))]
fn store_success_path(_: &mut Criterion) {}

/// Not a timing: how many requests 1,000 logical calls send while every answer is 503.
fn outage_amplification(_: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let policy = RetryPolicy::default()
            .with_initial_backoff(Duration::ZERO)
            .with_max_retries(3);
        for (name, budget) in [
            ("without budget", None),
            ("with default budget", Some(RetryBudget::default())),
        ] {
            let (url, count) = serve(UNAVAILABLE).await;
            let client = ApiClient::builder()
                .policy(policy.clone())
                .budget(budget)
                .build()
                .unwrap();
            for _ in 0..1000 {
                let _ = client
                    .send(client.request(reqwest::Method::GET, &url))
                    .await;
            }
            let sent = count.load(Ordering::Relaxed);
            println!(
                "outage/{name}: {sent} requests for 1000 calls = {:.3} requests per call",
                sent as f64 / 1000.0
            );
        }
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50);
    targets = success_path, store_success_path, outage_amplification
}
criterion_main!(benches);

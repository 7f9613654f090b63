//! Load with faults: 1,000 logical requests, 64 at a time, against a local mock that answers
//! 30% 503, 10% 429 with `Retry-After: 1`, 5% hangs past the per-attempt timeout, the rest
//! 200. Reports requests sent per logical call, p50/p99 latency, outcomes, and the budget's
//! effect (the same run with and without it).
//!
//! ```text
//! cargo run --release --example load
//! ```

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use errors_core::RetryPolicy;
use errors_core::retry::RetryBudget;
use errors_http::ApiClient;
use errors_testkit::{MockApi, fixtures};
use wiremock::{Request, Respond, ResponseTemplate};

const CALLS: usize = 1000;
const CONCURRENCY: usize = 64;
const DEADLINE: Duration = Duration::from_secs(10);

/// Answers each request by a seeded draw, so runs are comparable.
struct Faulty {
    rng: Mutex<fastrand::Rng>,
}

impl Respond for Faulty {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let draw = self.rng.lock().unwrap().f64();
        if draw < 0.30 {
            fixtures::vlm_provider_error().to_template()
        } else if draw < 0.40 {
            // A 429 at random is not a rate limiter with a pace: its message states none
            // (a stated "100 calls per 60 seconds" would rightly pace the client to that).
            fixtures::rate_limited()
                .with_message("Rate limit exceeded")
                .with_retry_after_secs(1)
                .to_template()
        } else if draw < 0.45 {
            fixtures::hang(Duration::from_secs(5)).to_template()
        } else {
            fixtures::ok_json(&serde_json::json!({"ok": true})).to_template()
        }
    }
}

#[tokio::main]
async fn main() {
    for (name, budget) in [
        ("with the default budget", Some(RetryBudget::default())),
        ("without a budget", None),
    ] {
        run(name, budget).await;
    }
}

async fn run(name: &str, budget: Option<RetryBudget>) {
    let api = MockApi::start().await;
    api.mount(Faulty {
        rng: Mutex::new(fastrand::Rng::with_seed(42)),
    })
    .await;
    let policy = RetryPolicy::default()
        .with_attempt_timeout(Duration::from_millis(300))
        .with_deadline(DEADLINE)
        .with_initial_backoff(Duration::from_millis(50));
    let client = ApiClient::builder()
        .base_url(api.uri())
        .policy(policy)
        .budget(budget)
        .jitter_seed(1)
        .build()
        .unwrap();

    let started = Instant::now();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let (client, semaphore) = (client.clone(), semaphore.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            let begun = Instant::now();
            let result = client
                .send(client.request(reqwest::Method::GET, &format!("items/{i}")))
                .await;
            (begun.elapsed(), result)
        }));
    }
    let mut latencies = Vec::with_capacity(CALLS);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut over_deadline = 0;
    for task in tasks {
        let (took, result) = task.await.expect("every request ends");
        latencies.push(took);
        if took > DEADLINE + Duration::from_millis(200) {
            over_deadline += 1;
        }
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!(
                "{} ({})",
                e.status()
                    .map_or("no response".to_owned(), |s| s.as_u16().to_string()),
                e.stop_reason().map_or("-", |s| s.as_str())
            ),
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!("== {name}");
    println!(
        "  {CALLS} calls, {CONCURRENCY} at a time, in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  requests sent: {} ({:.3} per logical call)",
        api.journal().len(),
        api.journal().len() as f64 / CALLS as f64
    );
    println!(
        "  latency p50 {:?}, p99 {:?}, max {:?}",
        pct(0.50),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    println!("  calls that outlived the {DEADLINE:?} deadline (+200 ms): {over_deadline}");
    for (outcome, n) in outcomes {
        println!("  {n:>5}  {outcome}");
    }
}

//! The project's main job: play the API's documented errors and a short outage through both
//! clients against a local mock of the API (no account, no network), and show what happened.
//!
//! ```text
//! cargo run --example demo
//! ```

use std::time::{Duration, Instant};

use errors_core::retry::AttemptRecord;
use errors_core::status::StatusInfo;
use errors_core::{RetryPolicy, Shape};
use errors_http::{ApiClient, ApiClientBuilder, ApiResponse, Error};
use errors_testkit::{BlockingMockApi, Script, catalogue, fixtures};
use reqwest::Method;

/// One played request, as a table row.
struct Row {
    name: String,
    result: Result<ApiResponse, Error>,
}

fn main() {
    let started = Instant::now();
    let api = BlockingMockApi::start();

    // (a) Each documented error once, each at its own path.
    let mut errors = Vec::new();
    for entry in catalogue().into_iter().filter(|e| {
        e.shape != Shape::Envelope
            || e.code
                .as_ref()
                .is_some_and(|c| c.typical_status() == Some(429))
    }) {
        let path = format!("/errors/{}", entry.name.replace('/', "-"));
        let fixture = entry
            .fixture
            .with_request_id(format!("req-{}", errors.len() + 1));
        api.mount_at(&path, fixture);
        errors.push((entry.name, path));
    }
    // (b) An outage: rate limited (Retry-After 1 s), the AI provider fails twice, then recovery.
    for client in ["async", "blocking"] {
        api.mount_at(
            &format!("/outage/{client}"),
            Script::new()
                .then(
                    fixtures::rate_limited()
                        .with_retry_after_secs(1)
                        .with_request_id(format!("req-{client}-1")),
                )
                .then(fixtures::vlm_provider_error().with_request_id(format!("req-{client}-2")))
                .then(fixtures::vlm_provider_error().with_request_id(format!("req-{client}-3")))
                .then(fixtures::ok_json(
                    &serde_json::json!({"id": "img_1", "status": "done"}),
                )),
        );
    }

    // Short waits so the whole demo takes seconds; Retry-After is still honoured in full.
    let policy = RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_millis(400))
        .with_max_retries(1)
        .with_max_rate_limit_retries(1)
        .with_deadline(Duration::from_secs(10));
    let outage_policy = policy.clone().with_max_retries(4);

    println!("errors-* demo: a local mock of the API at {}\n", api.uri());

    // Every row is a call of its own, each at its own path (its own rate-limit partition):
    // they run at once, and both clients at once, so the demo takes as long as its slowest
    // row (the outage, about 2 s), not the sum of them.
    let blocking_side = {
        let (errors, policy, outage_policy, api) = (
            errors.clone(),
            policy.clone(),
            outage_policy.clone(),
            api.uri(),
        );
        std::thread::spawn(move || {
            // The blocking client (errors-blocking): same calls, no async in sight, one
            // thread per call on one shared client.
            let blocking = blocking_client(&api, policy);
            let outage_client = blocking_client(&api, outage_policy);
            std::thread::scope(|scope| {
                let rows: Vec<_> = errors
                    .iter()
                    .map(|(name, path)| {
                        let blocking = &blocking;
                        scope.spawn(move || Row {
                            name: name.clone(),
                            result: blocking.send(blocking.request(Method::GET, path)),
                        })
                    })
                    .collect();
                let outage = Row {
                    name: "outage: 429, 503, 503, 200".into(),
                    result: outage_client
                        .send(outage_client.request(Method::GET, "/outage/blocking")),
                };
                let rows: Vec<Row> = rows
                    .into_iter()
                    .map(|row| row.join().expect("a demo call panicked"))
                    .collect();
                (rows, outage)
            })
        })
    };

    // The async client (errors-http) on a tokio runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (async_errors, async_outage) = runtime.block_on(async {
        let client = async_client(&api.uri(), policy.clone());
        let calls: Vec<_> = errors
            .iter()
            .map(|(name, path)| {
                let (client, name, path) = (client.clone(), name.clone(), path.clone());
                tokio::spawn(async move {
                    Row {
                        result: client.send(client.request(Method::GET, &path)).await,
                        name,
                    }
                })
            })
            .collect();
        let outage_client = async_client(&api.uri(), outage_policy.clone());
        let outage = Row {
            name: "outage: 429, 503, 503, 200".into(),
            result: outage_client
                .send(outage_client.request(Method::GET, "/outage/async"))
                .await,
        };
        let mut rows = Vec::with_capacity(calls.len());
        for call in calls {
            rows.push(call.await.expect("a demo call panicked"));
        }
        (rows, outage)
    });
    drop(runtime);
    let (blocking_errors, blocking_outage) =
        blocking_side.join().expect("the blocking side panicked");

    println!("(a) every documented error, once\n");
    print_table("async client (errors-http)", &async_errors);
    print_table("blocking client (errors-blocking)", &blocking_errors);
    println!("(b) a scripted outage\n");
    print_table(
        "async client (errors-http)",
        std::slice::from_ref(&async_outage),
    );
    print_table(
        "blocking client (errors-blocking)",
        std::slice::from_ref(&blocking_outage),
    );

    let agree = async_errors
        .iter()
        .zip(&blocking_errors)
        .all(|(a, b)| summary(a) == summary(b))
        && summary(&async_outage) == summary(&blocking_outage);
    println!(
        "both clients agree on every outcome and attempt count: {}",
        if agree { "yes" } else { "NO" }
    );
    println!("requests received by the mock API: {}", api.journal().len());
    println!("finished in {:.1}s", started.elapsed().as_secs_f64());
    if !agree {
        std::process::exit(1);
    }
}

/// The settings both clients are built with, so that they can be compared row by row.
fn settings(api: &str, policy: RetryPolicy) -> ApiClientBuilder {
    ApiClient::builder()
        .base_url(api)
        .api_key("sk-demo")
        .policy(policy)
        .budget(None)
        .jitter_seed(7)
}

fn async_client(api: &str, policy: RetryPolicy) -> ApiClient {
    settings(api, policy).build().expect("client")
}

fn blocking_client(api: &str, policy: RetryPolicy) -> errors_blocking::ApiClient {
    errors_blocking::ApiClientBuilder::from(settings(api, policy))
        .build()
        .expect("client")
}

/// What must be equal between the two clients: outcome, status and attempt statuses.
fn summary(row: &Row) -> (bool, Vec<Option<u16>>) {
    (
        row.result.is_ok(),
        attempts(row).iter().map(|a| a.status).collect(),
    )
}

fn attempts(row: &Row) -> &[AttemptRecord] {
    match &row.result {
        Ok(response) => &response.attempts,
        Err(err) => err.attempts(),
    }
}

fn print_table(title: &str, rows: &[Row]) {
    println!("{title}");
    println!(
        "  {:<38} {:>6} {:<14} {:>3} {:<18} {:<18} {:<22} what to do (the reference's Solution unless marked)",
        "error", "status", "shape", "try", "waits", "outcome", "request id"
    );
    for row in rows {
        let attempts = attempts(row);
        let waits: Vec<String> = attempts
            .iter()
            .skip(1)
            .map(|a| format!("{}ms", a.waited.as_millis()))
            .collect();
        let (status, shape, outcome, request_id, solution) = match &row.result {
            Ok(response) => (
                response.status.as_u16(),
                "-".to_owned(),
                "ok".to_owned(),
                String::new(),
                String::new(),
            ),
            Err(err) => {
                let api = err.api_error();
                let outcome = match err.stop_reason() {
                    Some(stop) => stop.as_str().to_owned(),
                    None => "error".to_owned(),
                };
                // The reference's Solution verbatim; else our own advice, or what the
                // reference says the status means, each marked as such.
                let solution = api
                    .and_then(|e| {
                        e.solution()
                            .map(str::to_owned)
                            .or_else(|| e.advice().map(|a| format!("(our advice) {a}")))
                            .or_else(|| {
                                StatusInfo::lookup(e.status().as_u16())
                                    .map(|s| format!("(status) {}", s.meaning))
                            })
                    })
                    .unwrap_or_default();
                (
                    err.status().map_or(0, |s| s.as_u16()),
                    api.map_or("-".into(), |e| e.shape().to_string()),
                    outcome,
                    err.request_id().unwrap_or("").to_owned(),
                    solution,
                )
            }
        };
        println!(
            "  {:<38} {:>6} {:<14} {:>3} {:<18} {:<18} {:<22} {}",
            row.name,
            status,
            shape,
            attempts.len(),
            if waits.is_empty() {
                "-".to_owned()
            } else {
                waits.join(",")
            },
            outcome,
            request_id,
            solution
        );
    }
    println!();
}

//! An async service: concurrent requests through the retry middleware, with a tracing
//! subscriber that shows every retry decision as it happens.
//!
//! ```text
//! cargo run --example service
//! RUST_LOG=errors_http=debug cargo run --example service   # also the successes
//! ```
//!
//! It runs against a local mock of the API (errors-testkit), so it needs no account.

use std::time::Duration;

use errors_core::RetryPolicy;
use errors_http::ApiClient;
use errors_testkit::{MockApi, Script, fixtures};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("errors_http=info")),
        )
        .with_target(false)
        .init();

    // The API is rate limiting, then its AI provider has a hiccup, then it recovers.
    let api = MockApi::start().await;
    api.mount_script(
        Script::new()
            .then(
                fixtures::rate_limited()
                    .with_retry_after_secs(1)
                    .with_request_id("req-1"),
            )
            .then(fixtures::vlm_provider_error().with_request_id("req-2"))
            .then(fixtures::ok_json(
                &serde_json::json!({"status": "analysed"}),
            )),
    )
    .await;

    let client = ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .api_key("sk-example")
        .policy(
            RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(200))
                .with_deadline(Duration::from_secs(10)),
        )
        .log_level(tracing::Level::INFO)
        .build()
        .expect("valid settings");

    let tasks: Vec<_> = (1..=4)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                (
                    i,
                    client
                        .get_json::<serde_json::Value>(&format!("images/{i}/analysis"))
                        .await,
                )
            })
        })
        .collect();
    for task in tasks {
        let (i, result) = task.await.expect("task");
        match result {
            Ok(value) => println!("image {i}: {value}"),
            Err(err) => println!("image {i}: {err}"),
        }
    }
    println!("the mock API received {} requests", api.journal().len());
}

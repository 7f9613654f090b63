//! A script: synchronous calls, and error handling that tells the user what to do.
//!
//! ```text
//! cargo run --example script
//! ```
//!
//! It runs against a local mock of the API (errors-testkit), so it needs no account.

use errors_blocking::{ApiClient, RetryPolicy};
use errors_testkit::{BlockingMockApi, fixtures};

fn main() {
    // A stand-in for the API: one image exists, the account is out of storage, and the key
    // lacks a scope.
    let api = BlockingMockApi::start();
    api.mount_at(
        "/v1/images/1",
        fixtures::ok_json(&serde_json::json!({"id": 1, "labels": ["cat"]})),
    );
    api.mount_at(
        "/v1/uploads",
        fixtures::storage_quota_exceeded().with_request_id("req-upl-1"),
    );
    api.mount_at("/v1/admin/keys", fixtures::authz_error());
    api.mount_at("/v1/images/2", fixtures::not_found());

    let client = ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .api_key("sk-example")
        .policy(RetryPolicy::default().with_max_retries(2))
        .build()
        .expect("valid settings");

    for path in ["images/1", "uploads", "admin/keys", "images/2"] {
        match client.get_json::<serde_json::Value>(path) {
            Ok(value) => println!("GET {path}: {value}"),
            Err(err) => {
                println!("GET {path} failed: {err}");
                if let Some(api_error) = err.api_error() {
                    if let Some(solution) = api_error.solution() {
                        println!("  what to do: {solution}");
                    }
                    if let Some(id) = api_error.request_id() {
                        println!("  quote this request id to support: {id}");
                    }
                }
            }
        }
    }
}

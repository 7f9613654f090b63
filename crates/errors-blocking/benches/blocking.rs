//! Per-request cost of the blocking facade against the async client it drives and bare
//! reqwest, on the success path, in one run (loopback, keep-alive, the testkit's mock API).
//!
//! `cargo bench -p errors-blocking --bench blocking`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use errors_blocking::{ApiClient, Method};
use errors_testkit::{BlockingMockApi, fixtures};

fn success_path(c: &mut Criterion) {
    let api = BlockingMockApi::start();
    api.mount(fixtures::ok_json(&serde_json::json!({"ok": true})));
    let url = format!("{}/v1/ping", api.uri());

    let blocking = ApiClient::builder().build().unwrap();
    // The same two clients driven from a current-thread runtime, one block_on per request:
    // what a script would write by hand without this crate.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (bare, api_client) = runtime.block_on(async {
        (
            reqwest::Client::new(),
            errors_http::ApiClient::builder().build().unwrap(),
        )
    });

    let mut group = c.benchmark_group("blocking_success_get");
    group.bench_function("bare_reqwest_block_on", |b| {
        b.iter(|| {
            runtime.block_on(async { bare.get(&url).send().await.unwrap().bytes().await.unwrap() })
        })
    });
    group.bench_function("errors_http_api_client_block_on", |b| {
        b.iter(|| {
            runtime.block_on(async {
                api_client
                    .send(api_client.request(Method::GET, &url))
                    .await
                    .unwrap()
            })
        })
    });
    group.bench_function("errors_blocking_client", |b| {
        b.iter(|| blocking.send(blocking.request(Method::GET, &url)).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50);
    targets = success_path
}
criterion_main!(benches);

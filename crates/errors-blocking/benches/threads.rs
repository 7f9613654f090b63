//! Throughput of one shared blocking client used by 1, 2, 4 and 8 threads, against one shared
//! `reqwest::blocking::Client`, in the same run: GETs to a minimal keep-alive HTTP/1.1 server
//! on 127.0.0.1 (its own two-worker runtime), each body read whole.
//!
//! `cargo bench -p errors-blocking --bench threads`

use std::time::Duration;

#[path = "support/server.rs"]
mod support;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Requests each thread sends per iteration.
const PER_THREAD: usize = 25;

fn threads(c: &mut Criterion) {
    let url = support::server();
    let ours = errors_blocking::ApiClient::builder().build().unwrap();
    let no_deadline = errors_blocking::ApiClient::builder()
        .policy(errors_blocking::RetryPolicy::default().without_deadline())
        .build()
        .unwrap();
    let theirs = reqwest::blocking::Client::new();
    // Warm both pools.
    ours.send(ours.request(errors_blocking::Method::GET, &url))
        .unwrap();
    theirs.get(&url).send().unwrap().bytes().unwrap();

    let mut group = c.benchmark_group("blocking_shared_client");
    for n in [1usize, 2, 4, 8] {
        group.throughput(Throughput::Elements((n * PER_THREAD) as u64));
        group.bench_with_input(BenchmarkId::new("errors_blocking", n), &n, |b, &n| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..n {
                        s.spawn(|| {
                            for _ in 0..PER_THREAD {
                                let response = ours
                                    .send(ours.request(errors_blocking::Method::GET, &url))
                                    .unwrap();
                                assert_eq!(response.body.len(), support::BODY_LEN);
                            }
                        });
                    }
                })
            })
        });
        group.bench_with_input(
            BenchmarkId::new("errors_blocking_no_deadline", n),
            &n,
            |b, &n| {
                b.iter(|| {
                    std::thread::scope(|s| {
                        for _ in 0..n {
                            s.spawn(|| {
                                for _ in 0..PER_THREAD {
                                    let response = no_deadline
                                        .send(
                                            no_deadline.request(errors_blocking::Method::GET, &url),
                                        )
                                        .unwrap();
                                    assert_eq!(response.body.len(), support::BODY_LEN);
                                }
                            });
                        }
                    })
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("reqwest_blocking", n), &n, |b, &n| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..n {
                        s.spawn(|| {
                            for _ in 0..PER_THREAD {
                                let body = theirs.get(&url).send().unwrap().bytes().unwrap();
                                assert_eq!(body.len(), support::BODY_LEN);
                            }
                        });
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = threads
}
criterion_main!(benches);

//! Parsing error bodies: errors-core's single-pass parser against a straightforward
//! `serde_json::Value` parse of the same bodies, in one run.
//!
//! `cargo bench -p errors-core --bench parse`

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use errors_core::ApiError;
use errors_core::error::DEFAULT_BODY_LIMIT;
use errors_core::http::{HeaderMap, StatusCode};
use serde_json::Value;

const ENVELOPE: &[u8] = br#"{ "error": { "code": "RATE_LIMIT_ERROR", "message": "Rate limit exceeded: 100 calls per 60 seconds", "details": {} }, "request_id": "550e8400-e29b-41d4-a716-446655440000"}"#;
const DETAIL_STRING: &[u8] = br#"{ "detail": "Rule not found"}"#;
const VALIDATION_LIST: &[u8] = br#"{"detail":[{"type":"missing","loc":["body","name"],"msg":"Field required","input":{}},{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 100","input":"500","ctx":{"le":100}},{"type":"int_parsing","loc":["body","items",3,"count"],"msg":"Input should be a valid integer","input":"x"}]}"#;

fn html(size: usize) -> Vec<u8> {
    let mut page = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>".to_vec();
    while page.len() < size {
        page.extend_from_slice(
            b"<p>upstream connect error or disconnect/reset before headers</p>\n",
        );
    }
    page.truncate(size);
    page
}

/// What a client without this crate typically writes: a `Value` tree, then field lookups,
/// and the whole body as text when it is not JSON.
fn value_baseline(
    status: u16,
    body: &[u8],
) -> (u16, Option<String>, Option<String>, Option<String>) {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let error = v.get("error");
            let detail = v.get("detail");
            let code = error
                .and_then(|e| e.get("code"))
                .or_else(|| detail.and_then(|d| d.get("code")))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let message = error
                .and_then(|e| e.get("message"))
                .or_else(|| detail.and_then(|d| d.get("message")))
                .or(detail)
                .map(|m| {
                    m.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| m.to_string())
                });
            let request_id = v
                .get("request_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            (status, code, message, request_id)
        }
        Err(_) => (
            status,
            None,
            Some(String::from_utf8_lossy(body).into_owned()),
            None,
        ),
    }
}

fn bench(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let now = SystemTime::UNIX_EPOCH;
    let html_at_bound = html(DEFAULT_BODY_LIMIT);
    let html_1mib = html(1024 * 1024);
    let cases: [(&str, u16, &[u8]); 5] = [
        ("envelope", 429, ENVELOPE),
        ("detail_string", 404, DETAIL_STRING),
        ("validation_list", 422, VALIDATION_LIST),
        ("html_64kib", 502, &html_at_bound),
        ("html_1mib", 502, &html_1mib),
    ];
    let mut group = c.benchmark_group("parse");
    for (name, status, body) in cases {
        group.throughput(Throughput::Bytes(body.len() as u64));
        let code = StatusCode::from_u16(status).unwrap();
        group.bench_with_input(BenchmarkId::new("errors_core", name), body, |b, body| {
            b.iter(|| ApiError::parse(black_box(code), black_box(&headers), black_box(body), now))
        });
        group.bench_with_input(BenchmarkId::new("value_baseline", name), body, |b, body| {
            b.iter(|| value_baseline(black_box(status), black_box(body)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);

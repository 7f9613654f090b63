//! The `explain` example's contract (DESIGN.md): raw responses and JSON lines in, the explain
//! object out. The example's functions are compiled in here and driven directly.

#[allow(dead_code)]
#[path = "../examples/explain.rs"]
mod explain;

use std::time::SystemTime;

use serde_json::Value;

fn now() -> SystemTime {
    httpdate::parse_http_date("Tue, 24 Nov 2026 12:00:00 GMT").unwrap()
}

fn raw(input: &[u8]) -> Value {
    let (status, headers, body) = explain::parse_raw_response(input).unwrap();
    explain::explain(status, &headers, body, now())
}

const FIELDS: [&str; 11] = [
    "status",
    "code",
    "message",
    "request_id",
    "field",
    "details",
    "kind",
    "shape",
    "retryable",
    "retry_after_ms",
    "solution",
];

#[test]
fn shipped_sample_responses() {
    let mut all = serde_json::Map::new();
    for name in ["rate-limited.http", "validation.http", "proxy-502.http"] {
        let input = std::fs::read(format!(
            "{}/examples/responses/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let out = raw(&input);
        for field in FIELDS {
            assert!(out.get(field).is_some(), "{name}: {field} missing");
        }
        all.insert(name.to_owned(), out);
    }
    insta::assert_json_snapshot!("samples", all);
}

#[test]
fn every_documented_status_and_shape() {
    let cases: &[(&str, &[u8])] = &[
        ("200", b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"ok\":true}"),
        ("201", b"HTTP/1.1 201 Created\r\n\r\n{}"),
        ("204", b"HTTP/1.1 204 No Content\r\n\r\n"),
        ("400", b"HTTP/1.1 400 Bad Request\r\n\r\n{\"detail\":\"Invalid request syntax\"}"),
        ("401", b"HTTP/1.1 401 Unauthorized\r\n\r\n{\"detail\":{\"code\":\"INVALID_API_KEY\",\"message\":\"Invalid API key\"}}"),
        ("402", b"HTTP/1.1 402 Payment Required\r\n\r\n{\"detail\":\"Subscription is past due\"}"),
        ("403", b"HTTP/1.1 403 Forbidden\r\n\r\n{\"detail\":{\"code\":\"AUTHZ_ERROR\",\"message\":\"Missing scope\",\"field\":\"scope\"}}"),
        ("404", b"HTTP/1.1 404 Not Found\r\nx-request-id: req-404\r\n\r\n{\"detail\":\"Rule not found\"}"),
        ("409", b"HTTP/1.1 409 Conflict\r\n\r\n{\"detail\":\"File already exists\"}"),
        ("413", b"HTTP/1.1 413 Payload Too Large\r\n\r\n{\"error\":{\"code\":\"HTTP_413\",\"message\":\"File exceeds 50 MB\"},\"request_id\":\"r-413\"}"),
        ("422", b"HTTP/1.1 422 Unprocessable Entity\r\n\r\n{\"detail\":[{\"loc\":[\"query\",\"limit\"],\"msg\":\"Input should be less than or equal to 100\",\"type\":\"less_than_equal\"}]}"),
        ("429", b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: Tue, 24 Nov 2026 12:00:07 GMT\r\n\r\n{\"error\":{\"code\":\"RATE_LIMIT_ERROR\",\"message\":\"Rate limit exceeded\"},\"request_id\":\"r-429\"}"),
        ("500", b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n\r\nInternal Server Error"),
        ("503", b"HTTP/1.1 503 Service Unavailable\r\n\r\n"),
        ("504", b"HTTP/2 504\nserver: nginx\n\n<html><head><title>504 Gateway Time-out</title></head></html>"),
    ];
    let mut all = serde_json::Map::new();
    for (name, input) in cases {
        let out = raw(input);
        assert_eq!(out["status"].as_u64().unwrap().to_string(), *name);
        all.insert((*name).to_owned(), out);
    }
    insta::assert_json_snapshot!("statuses", all);
}

#[test]
fn jsonl_lines_use_their_own_clock_and_base64_bodies() {
    let line = r#"{"status":429,"headers":{"Retry-After":"Tue, 24 Nov 2026 12:00:30 GMT"},"body":"","now":"Tue, 24 Nov 2026 12:00:00 GMT"}"#;
    let far_future_default = now() + std::time::Duration::from_secs(3600);
    let out = explain::explain_json_line(line, far_future_default).unwrap();
    assert_eq!(out["retry_after_ms"], 30_000);

    let binary = r#"{"status":500,"headers":{},"body_base64":"/w=="}"#;
    let out = explain::explain_json_line(binary, now()).unwrap();
    assert_eq!(out["shape"], "text");
    assert_eq!(out["excerpt"], "\u{fffd}");
}

#[test]
fn bad_input_is_a_one_line_error() {
    for input in [
        &b"garbage"[..],
        b"",
        b"HTTP/1.1 abc\r\n\r\n",
        b"HTTP/1.1 1000 Nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ] {
        let err = explain::parse_raw_response(input).unwrap_err();
        assert!(!err.contains('\n'), "{err}");
    }
    for line in [
        "{",
        r#"{"status":"x"}"#,
        r#"{"status":200,"headers":[]}"#,
        r#"{"status":200,"body":"a","body_base64":"YQ=="}"#,
        r#"{"status":200,"now":"yesterday"}"#,
    ] {
        assert!(explain::explain_json_line(line, now()).is_err(), "{line}");
    }
}

#[test]
fn interim_responses_are_skipped() {
    let out = raw(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\r\n",
    );
    assert_eq!(out["status"], 503);
    assert_eq!(out["retry_after_ms"], 1000);
}

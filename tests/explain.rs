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
    for name in [
        "rate-limited.http",
        "validation.http",
        "proxy-502.http",
        "through-proxy.http",
        "redirected.http",
    ] {
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
        b"HTTP/1.1 600 Nope\r\n\r\n",
        b"HTTP/1.1 099 Nope\r\n\r\n",
        b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 700 Odd\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ] {
        let err = explain::parse_raw_response(input).unwrap_err();
        assert!(!err.contains('\n'), "{err}");
    }
    for line in [
        "{",
        r#"{"status":"x"}"#,
        r#"{"status":600}"#,
        r#"{"status":99}"#,
        r#"{"status":65936}"#,
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

#[test]
fn the_last_response_of_a_transcript_is_the_answer() {
    // Through an HTTPS proxy: the proxy's CONNECT answer, then the API's.
    let out = raw(b"HTTP/1.1 200 Connection established\r\nProxy-Agent: squid\r\n\r\nHTTP/2 429 \r\nretry-after: 2\r\n\r\n{\"error\":{\"code\":\"VLM_PROVIDER_ERROR\",\"message\":\"throttled\"},\"request_id\":\"r-1\"}");
    assert_eq!(out["status"], 429);
    assert_eq!(out["code"], "VLM_PROVIDER_ERROR");
    assert_eq!(out["retryable"], true);
    assert_eq!(out["retry_after_ms"], 2000);

    // `curl -i -L`: two redirects, one with a body, then the answer.
    let out = raw(b"HTTP/1.1 302 Found\r\nLocation: /b\r\n\r\n<a href=\"/b\">moved</a>\r\nHTTP/1.1 307 Temporary Redirect\r\nLocation: /c\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\n{\"detail\":\"Rule not found\",\"request_id\":\"r-2\"}");
    assert_eq!(out["status"], 404);
    assert_eq!(out["request_id"], "r-2");
    assert_eq!(out["shape"], "detail_string");

    // Interim responses, several of them, with `\n` line ends.
    let out = raw(b"HTTP/1.1 100 Continue\n\nHTTP/1.1 103 Early Hints\nLink: </style.css>\n\nHTTP/1.1 503 Service Unavailable\n\n");
    assert_eq!(out["status"], 503);

    // A final answer is not split on text that only mentions a status line.
    let out =
        raw(b"HTTP/1.1 500 Internal Server Error\r\n\r\nupstream said:\r\nHTTP/1.1 200 OK\r\n");
    assert_eq!(out["status"], 500);
    // A redirect with nothing after it is the answer.
    let out = raw(b"HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n");
    assert_eq!(out["status"], 301);
    assert_eq!(out["ok"], true);
}

#[test]
fn retryable_is_the_contract_not_the_clients_caps() {
    // A rate limit asking for a day is still retryable (tomorrow); a quota never is.
    let out = raw(b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 86400\r\n\r\n{\"error\":{\"code\":\"RATE_LIMIT_ERROR\",\"message\":\"m\"}}");
    assert_eq!(out["retryable"], true);
    assert_eq!(out["retry_after_ms"], 86_400_000);
    let out = raw(b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 60\r\n\r\n{\"error\":{\"code\":\"USAGE_LIMIT_EXCEEDED\",\"message\":\"m\"}}");
    assert_eq!(out["retryable"], false);
    // 501 is not transient; a POST-only concern does not apply to explain's GET.
    assert_eq!(
        raw(b"HTTP/1.1 501 Not Implemented\r\n\r\n")["retryable"],
        false
    );
    assert_eq!(raw(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")["retryable"], true);
}

//! Hostile and broken servers on loopback. Each case ends in a typed error that keeps the
//! status and request id where there was one, in bounded time and memory.

mod support;

use std::time::{Duration, Instant};

use errors_core::retry::StopReason;
use errors_core::{RetryPolicy, Shape};
use errors_http::{ApiClient, Error, ErrorKind};
use errors_testkit::{Fault, FaultServer};
use reqwest::Method;
use support::one_retry;

/// A server on 127.0.0.1 that plays `fault` on every connection, and its base URL.
async fn hostile(fault: Fault) -> (FaultServer, String) {
    let server = FaultServer::start(fault).await;
    let url = format!("{}/", server.uri());
    (server, url)
}

fn client(url: &str, policy: RetryPolicy) -> ApiClient {
    ApiClient::builder()
        .base_url(url)
        .policy(policy)
        .build()
        .unwrap()
}

async fn get(url: &str, policy: RetryPolicy) -> (Error, Duration) {
    let started = Instant::now();
    let client = client(url, policy);
    let err = client
        .send(client.request(Method::GET, "x"))
        .await
        .unwrap_err();
    (err, started.elapsed())
}

#[tokio::test]
async fn a_200_mib_error_body_is_read_only_up_to_the_bound() {
    let (_server, url) = hostile(
        Fault::answer(500, "")
            .with_header("x-request-id", "req-huge")
            .with_repeated_body(b'x', 200 << 20),
    )
    .await;
    let (err, took) = get(&url, RetryPolicy::default().with_max_retries(0)).await;
    // Reading 200 MiB over loopback would take seconds; stopping at 64 KiB takes milliseconds.
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let api = err.api_error().expect("an API error");
    assert_eq!(api.status(), 500);
    assert!(api.is_truncated());
    assert_eq!(api.shape(), Shape::Text);
    assert!(api.excerpt().unwrap().len() <= 1024);
    assert_eq!(err.request_id(), Some("req-huge"));
}

#[tokio::test]
async fn a_body_dripping_one_byte_a_second_does_not_outlive_the_deadline() {
    let (_server, url) = hostile(
        Fault::drip(503, vec![b'x'; 1000], Duration::from_secs(1))
            .with_header("x-request-id", "req-drip"),
    )
    .await;
    let (err, took) = get(&url, one_retry().with_deadline(Duration::from_secs(2))).await;
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
    assert_eq!(err.stop_reason(), Some(StopReason::DeadlineExceeded));
}

#[tokio::test]
async fn a_reset_mid_body_keeps_the_status_and_request_id() {
    let (_server, url) = hostile(
        Fault::reset_mid_body(502, vec![b'{'; 100_000], 10)
            .with_header("x-request-id", "req-reset"),
    )
    .await;
    let (err, took) = get(&url, one_retry()).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502), "{err:?}");
    assert_eq!(err.request_id(), Some("req-reset"));
    assert_eq!(err.attempts().len(), 2, "a 502 on a GET is retried once");
}

#[tokio::test]
async fn a_response_that_never_comes_ends_at_the_deadline() {
    let (_server, url) = hostile(Fault::no_answer()).await;
    let (err, took) = get(&url, one_retry().with_deadline(Duration::from_secs(1))).await;
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1500),
        "took {took:?}"
    );
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
}

fn raw(status_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Fault {
    let mut out = format!(
        "HTTP/1.1 {status_line}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Fault::raw(bytes)
}

#[tokio::test]
async fn hostile_retry_after_values() {
    let body =
        br#"{"error":{"code":"RATE_LIMIT_ERROR","message":"slow down"},"request_id":"req-ra"}"#;
    // 10^12 seconds: not slept, returned at once with the requested delay.
    let (_server, url) = hostile(raw(
        "429 Too Many Requests",
        &[("retry-after", "1000000000000")],
        body,
    ))
    .await;
    let (err, took) = get(&url, one_retry()).await;
    assert!(took < Duration::from_secs(1));
    assert_eq!(
        err.requested_delay(),
        Some(Duration::from_secs(1_000_000_000_000))
    );
    assert_eq!(err.request_id(), Some("req-ra"));
    // Negative, garbage, and a date far in the past: no usable delay, so backoff or no wait.
    for value in ["-5", "soon, maybe", "Thu, 01 Jan 1970 00:00:00 GMT"] {
        let (_server, url) = hostile(raw(
            "429 Too Many Requests",
            &[("retry-after", value)],
            body,
        ))
        .await;
        let (err, took) = get(&url, one_retry()).await;
        assert!(took < Duration::from_secs(1), "{value}: took {took:?}");
        assert_eq!(err.attempts().len(), 2, "{value}: retried once");
        assert_eq!(
            err.stop_reason(),
            Some(StopReason::RetriesExhausted),
            "{value}"
        );
    }
}

#[tokio::test]
async fn hostile_headers_a_64_kib_request_id_is_bounded() {
    let long_id = "r".repeat(64 * 1024);
    let (_server, url) = hostile(raw(
        "500 Internal Server Error",
        &[("x-request-id", &long_id)],
        b"oops",
    ))
    .await;
    let (err, _) = get(&url, one_retry()).await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(
        err.request_id().map(str::len),
        Some(256),
        "request ids are bounded"
    );
}

#[tokio::test]
async fn hostile_bodies_invalid_utf8_is_replaced_not_refused() {
    let (_server, url) = hostile(raw(
        "400 Bad Request",
        &[("x-request-id", "req-utf8")],
        b"bad \xff\xfe bytes",
    ))
    .await;
    let (err, _) = get(&url, one_retry()).await;
    assert_eq!(
        err.api_error().unwrap().message(),
        Some("bad \u{fffd}\u{fffd} bytes")
    );
    assert_eq!(err.request_id(), Some("req-utf8"));
}

#[tokio::test]
async fn hostile_bodies_json_nested_10_000_deep_is_text() {
    let nested = format!(
        r#"{{"detail":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (_server, url) = hostile(raw(
        "422 Unprocessable Entity",
        &[("x-request-id", "req-deep")],
        nested.as_bytes(),
    ))
    .await;
    let (err, _) = get(&url, one_retry()).await;
    let api = err.api_error().unwrap();
    assert_eq!(api.shape(), Shape::Text);
    assert_eq!(api.status(), 422);
    assert_eq!(err.request_id(), Some("req-deep"));
}

#[test]
fn the_blocking_client_is_bounded_the_same_way() {
    let server = FaultServer::start_blocking(Fault::no_answer());
    let url = format!("{}/", server.uri());
    let client = errors_blocking::ApiClient::builder()
        .base_url(url)
        .policy(one_retry().with_deadline(Duration::from_secs(1)))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.send(client.request(Method::GET, "x")).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
}

//! The deadline and the attempt timeout cover the whole response, body included, in both
//! facades; a body that breaks off is an attempt the policy decides on; an optional cap on
//! success bodies ends the call with a typed error without buffering past it.

#[allow(dead_code)]
#[path = "../examples/fetch.rs"]
mod fetch;
mod support;

use std::time::{Duration, Instant};

use errors_core::retry::{StopReason, TransportKind};
use errors_http::{ApiClient, ApiResponse, Error, ErrorKind, SafeToRepeat};
use errors_testkit::{Fault, FaultServer};
use reqwest::Method;
use support::one_retry;

/// `200`, as JSON, with a request id: the head every connection here sends.
fn ok(fault: Fault) -> Fault {
    fault
        .with_header("content-type", "application/json")
        .with_header("x-request-id", "req-body")
}

/// `200` headers promising `len` bytes, then `{` and nothing more (for a minute at most).
fn stall(len: usize) -> Fault {
    let mut body = vec![b' '; len];
    body[0] = b'{';
    ok(Fault::stall_mid_body(200, body, 1))
}

/// `200` headers promising `len` bytes, `sent` of them, then a reset.
fn reset(len: usize, sent: usize) -> Fault {
    ok(Fault::reset_mid_body(200, vec![b' '; len], sent))
}

/// `200` with this JSON body.
fn json(body: &'static str) -> Fault {
    ok(Fault::answer(200, body))
}

/// `200` with `len` bytes and a `Content-Length`.
fn sized(len: usize) -> Fault {
    ok(Fault::answer(200, "").with_repeated_body(b' ', len))
}

/// `200` with `len` bytes, chunked (no `Content-Length`).
fn chunked(len: usize) -> Fault {
    sized(len).with_chunked_encoding()
}

/// A server on 127.0.0.1: connection `n` plays `script[n]` (the last entry repeats).
/// Returns it (it counts the connections it accepted) and its base URL.
async fn server(script: Vec<Fault>) -> (FaultServer, String) {
    let server = FaultServer::start(script).await;
    let url = format!("{}/v1/", server.uri());
    (server, url)
}

/// One request through the async facade, or through the blocking one on its own thread.
async fn call(
    url: &str,
    blocking: bool,
    configure: impl Fn(errors_http::ApiClientBuilder) -> errors_http::ApiClientBuilder + Send + 'static,
    method: Method,
) -> (Result<ApiResponse, Error>, Duration) {
    let url = url.to_owned();
    if blocking {
        tokio::task::spawn_blocking(move || {
            let client = errors_blocking::ApiClientBuilder::from(configure(
                ApiClient::builder().base_url(url),
            ))
            .build()
            .unwrap();
            let started = Instant::now();
            let mut request = client.request(method, "body");
            request = request.with_extension(SafeToRepeat);
            let result = client.send(request);
            (result, started.elapsed())
        })
        .await
        .unwrap()
    } else {
        let client = configure(ApiClient::builder().base_url(url))
            .build()
            .unwrap();
        let started = Instant::now();
        let request = client.request(method, "body").with_extension(SafeToRepeat);
        let result = client.send(request).await;
        (result, started.elapsed())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_success_body_ends_at_the_deadline_in_both_facades() {
    for blocking in [false, true] {
        let (_server, url) = server(vec![stall(1000)]).await;
        let policy = one_retry().with_deadline(Duration::from_secs(1));
        let (result, took) = call(
            &url,
            blocking,
            move |b| b.policy(policy.clone()),
            Method::GET,
        )
        .await;
        let err = result.unwrap_err();
        assert!(
            took >= Duration::from_millis(950) && took < Duration::from_millis(1600),
            "blocking={blocking}: took {took:?}"
        );
        assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
        assert_eq!(err.stop_reason(), Some(StopReason::DeadlineExceeded));
        assert_eq!(err.to_string().split(';').next(), Some("request timed out"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attempt_timeout_covers_the_body_and_the_policy_retries_it() {
    for blocking in [false, true] {
        let (accepted, url) = server(vec![stall(1000), json(r#"{"id":7}"#)]).await;
        let policy = one_retry().with_attempt_timeout(Duration::from_millis(300));
        let (result, took) = call(
            &url,
            blocking,
            move |b| b.policy(policy.clone()),
            Method::GET,
        )
        .await;
        let response = result.unwrap();
        assert_eq!(response.json::<serde_json::Value>().unwrap()["id"], 7);
        assert_eq!(response.attempts.len(), 2);
        assert_eq!(response.attempts[0].transport, Some(TransportKind::Timeout));
        assert!(took >= Duration::from_millis(290), "took {took:?}");
        assert!(took < Duration::from_secs(2), "took {took:?}");
        assert_eq!(accepted.connections(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_own_timeout_on_the_body_is_the_same_timeout_kind_with_its_source() {
    let (_server, url) = server(vec![stall(1000)]).await;
    let policy = one_retry().with_max_retries(0);
    let (result, _) = call(
        &url,
        false,
        move |b| {
            b.policy(policy.clone())
                .with_client_builder(reqwest::Client::builder().timeout(Duration::from_millis(200)))
        },
        Method::GET,
    )
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
    assert_eq!(err.attempts()[0].transport, Some(TransportKind::Timeout));
    let source = std::error::Error::source(&err).expect("reqwest's error is kept");
    let reqwest = source
        .downcast_ref::<reqwest::Error>()
        .expect("the source is reqwest's error");
    assert!(reqwest.is_timeout());
    // The policy's own limit has no lower cause.
    let (_server, url) = server(vec![stall(1000)]).await;
    let policy = one_retry()
        .with_max_retries(0)
        .with_attempt_timeout(Duration::from_millis(200));
    let (result, _) = call(&url, false, move |b| b.policy(policy.clone()), Method::GET).await;
    let err = result.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
    assert!(std::error::Error::source(&err).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_mid_body_is_retried_for_an_idempotent_request_only() {
    for blocking in [false, true] {
        let (_server, url) = server(vec![reset(10_000, 100), json(r#"{"id":8}"#)]).await;
        let (result, _) = call(&url, blocking, |b| b.policy(one_retry()), Method::GET).await;
        let response = result.unwrap();
        assert_eq!(response.json::<serde_json::Value>().unwrap()["id"], 8);
        assert_eq!(response.attempts.len(), 2, "blocking={blocking}");
        assert_eq!(response.attempts[0].transport, Some(TransportKind::Other));
    }
    // A POST whose body broke off may have been acted on: not repeated unless marked (the
    // helper marks it, so build it here without the mark).
    let (accepted, url) = server(vec![reset(10_000, 100), json("{}")]).await;
    let client = ApiClient::builder()
        .base_url(url)
        .policy(one_retry())
        .build()
        .unwrap();
    let err = client
        .send(client.request(Method::POST, "body").body("{}"))
        .await
        .unwrap_err();
    assert_eq!(
        err.stop_reason(),
        Some(StopReason::UnsafeToRepeat),
        "{err:?}"
    );
    assert_eq!(err.attempts().len(), 1);
    assert_eq!(accepted.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_body_over_the_cap_is_a_typed_error_and_not_retried() {
    for blocking in [false, true] {
        for conn in [sized(1 << 20), chunked(1 << 20)] {
            let (accepted, url) = server(vec![conn]).await;
            let (result, _) = call(
                &url,
                blocking,
                |b| b.policy(one_retry()).response_body_limit(64 * 1024),
                Method::GET,
            )
            .await;
            let err = result.unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::ResponseTooLarge { limit: 65536 }),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                "response body larger than the 65536-byte limit"
            );
            assert_eq!(err.attempts().len(), 1);
            assert_eq!(
                err.attempts()[0].transport,
                Some(TransportKind::ResponseTooLarge)
            );
            assert_eq!(err.stop_reason(), Some(StopReason::NotRetryable));
            assert_eq!(accepted.connections(), 1);
        }
    }
    // At the cap exactly: read whole.
    let (_server, url) = server(vec![chunked(64 * 1024)]).await;
    let (result, _) = call(
        &url,
        false,
        |b| b.response_body_limit(64 * 1024),
        Method::GET,
    )
    .await;
    assert_eq!(result.unwrap().body.len(), 64 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_deadline_bounds_the_body_too() {
    let (_server, url) = server(vec![stall(1000)]).await;
    for blocking in [false, true] {
        let url = url.clone();
        let (out, code, took) = tokio::task::spawn_blocking(move || {
            let mut args = vec!["--deadline".to_owned(), "1".to_owned(), format!("{url}x")];
            if blocking {
                args.insert(0, "--blocking".to_owned());
            }
            let args = fetch::parse_args(args.into_iter()).unwrap();
            let started = Instant::now();
            let (out, code) = fetch::report(fetch::run(&args));
            (out, code, started.elapsed())
        })
        .await
        .unwrap();
        assert_eq!(code, 2, "{out}");
        assert!(took < Duration::from_millis(1600), "took {took:?}");
        assert_eq!(out["stop"], "deadline_exceeded", "{out}");
    }
}

//! Hostile and broken servers on loopback. Each case ends in a typed error that keeps the
//! status and request id where there was one, in bounded time and memory.

use std::time::{Duration, Instant};

use errors_core::{RetryPolicy, Shape, StopReason};
use errors_http::{ApiClient, Error, ErrorKind};
use reqwest::Method;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What a connection does after reading the request head.
#[derive(Clone)]
enum Behaviour {
    /// Writes the head, then `body_len` bytes of `fill` in 64 KiB chunks (stops when the
    /// client goes away).
    Stream { head: String, body_len: usize },
    /// Writes the head, then one byte per `every`.
    Drip { head: String, every: Duration },
    /// Writes the head and `partial` bytes of a longer body, then resets the connection.
    ResetMidBody { head: String, partial: usize },
    /// Reads the request and never answers.
    Silent,
    /// Writes these bytes and closes.
    Raw(Vec<u8>),
}

/// A server on 127.0.0.1 that behaves the same for every connection; stops with the runtime.
async fn hostile(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, behaviour.clone()));
        }
    });
    url
}

async fn serve(mut socket: TcpStream, behaviour: Behaviour) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut filled = 0;
    while !buf[..filled].windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        if filled == buf.len() {
            return;
        }
    }
    match behaviour {
        Behaviour::Stream { head, body_len } => {
            let _ = socket.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < body_len {
                let n = chunk.len().min(body_len - sent);
                if socket.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent += n;
            }
        }
        Behaviour::Drip { head, every } => {
            let _ = socket.write_all(head.as_bytes()).await;
            // Bounded: a minute at most, far past any deadline in these tests.
            for _ in 0..60 {
                tokio::time::sleep(every).await;
                if socket.write_all(b"x").await.is_err() {
                    return;
                }
            }
        }
        Behaviour::ResetMidBody { head, partial } => {
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&vec![b'{'; partial]).await;
            let _ = socket.set_zero_linger(); // an RST, not a clean close
            drop(socket);
        }
        Behaviour::Silent => {
            let _ = socket.read(&mut buf).await;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Behaviour::Raw(bytes) => {
            let _ = socket.write_all(&bytes).await;
        }
    }
}

fn client(url: &str, policy: RetryPolicy) -> ApiClient {
    ApiClient::builder()
        .base_url(url)
        .policy(policy)
        .build()
        .unwrap()
}

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_retries(1)
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
    let head = format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: {}\r\nx-request-id: req-huge\r\n\r\n",
        200 << 20
    );
    let url = hostile(Behaviour::Stream {
        head,
        body_len: 200 << 20,
    })
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
    let head = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 1000\r\nx-request-id: req-drip\r\n\r\n".to_owned();
    let url = hostile(Behaviour::Drip {
        head,
        every: Duration::from_secs(1),
    })
    .await;
    let (err, took) = get(&url, fast().with_deadline(Some(Duration::from_secs(2)))).await;
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
    assert_eq!(err.stop_reason(), Some(StopReason::DeadlineExceeded));
}

#[tokio::test]
async fn a_reset_mid_body_keeps_the_status_and_request_id() {
    let head =
        "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 100000\r\nx-request-id: req-reset\r\n\r\n"
            .to_owned();
    let url = hostile(Behaviour::ResetMidBody { head, partial: 10 }).await;
    let (err, took) = get(&url, fast()).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502), "{err:?}");
    assert_eq!(err.request_id(), Some("req-reset"));
    assert_eq!(err.attempts().len(), 2, "a 502 on a GET is retried once");
}

#[tokio::test]
async fn a_response_that_never_comes_ends_at_the_deadline() {
    let url = hostile(Behaviour::Silent).await;
    let (err, took) = get(&url, fast().with_deadline(Some(Duration::from_secs(1)))).await;
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1500),
        "took {took:?}"
    );
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
}

fn raw(status_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Behaviour {
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
    Behaviour::Raw(bytes)
}

#[tokio::test]
async fn hostile_retry_after_values() {
    let body =
        br#"{"error":{"code":"RATE_LIMIT_ERROR","message":"slow down"},"request_id":"req-ra"}"#;
    // 10^12 seconds: not slept, returned at once with the requested delay.
    let url = hostile(raw(
        "429 Too Many Requests",
        &[("retry-after", "1000000000000")],
        body,
    ))
    .await;
    let (err, took) = get(&url, fast()).await;
    assert!(took < Duration::from_secs(1));
    assert_eq!(
        err.requested_delay(),
        Some(Duration::from_secs(1_000_000_000_000))
    );
    assert_eq!(err.request_id(), Some("req-ra"));
    // Negative, garbage, and a date far in the past: no usable delay, so backoff or no wait.
    for value in ["-5", "soon, maybe", "Thu, 01 Jan 1970 00:00:00 GMT"] {
        let url = hostile(raw(
            "429 Too Many Requests",
            &[("retry-after", value)],
            body,
        ))
        .await;
        let (err, took) = get(&url, fast()).await;
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
    let url = hostile(raw(
        "500 Internal Server Error",
        &[("x-request-id", &long_id)],
        b"oops",
    ))
    .await;
    let (err, _) = get(&url, fast()).await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(
        err.request_id().map(str::len),
        Some(256),
        "request ids are bounded"
    );
}

#[tokio::test]
async fn hostile_bodies_invalid_utf8_is_replaced_not_refused() {
    let url = hostile(raw(
        "400 Bad Request",
        &[("x-request-id", "req-utf8")],
        b"bad \xff\xfe bytes",
    ))
    .await;
    let (err, _) = get(&url, fast()).await;
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
    let url = hostile(raw(
        "422 Unprocessable Entity",
        &[("x-request-id", "req-deep")],
        nested.as_bytes(),
    ))
    .await;
    let (err, _) = get(&url, fast()).await;
    let api = err.api_error().unwrap();
    assert_eq!(api.shape(), Shape::Text);
    assert_eq!(api.status(), 422);
    assert_eq!(err.request_id(), Some("req-deep"));
}

#[test]
fn the_blocking_client_is_bounded_the_same_way() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(hostile(Behaviour::Silent));
    let client = errors_blocking::Client::builder()
        .base_url(url)
        .policy(fast().with_deadline(Some(Duration::from_secs(1))))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.send(client.request(Method::GET, "x")).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
}

//! Rate limits at the server's full speed: loopback rate limiters of several shapes, each
//! answering `429` with the API's envelope and an integer `Retry-After`, driven by 1,000 GETs
//! 64 at a time through the default `ApiClient` and, in the same run, through reqwest-retry's
//! default (`RetryTransientMiddleware` + `ExponentialBackoff`, 3 retries).
//!
//! Prints, per shape and client: wall time against the ideal (N / rate), requests sent per
//! call, 429s and failed calls.
//!
//! ```text
//! cargo run --release --example ratelimit               # every shape (about 15 minutes)
//! cargo run --release --example ratelimit -- tb-50-5    # shapes whose name contains this
//! cargo run --release --example ratelimit -- slowapi    # FastAPI behind slowapi (PyPI)
//! ```
//!
//! The `slowapi-*` shapes (examples/ratelimit/slowapi.rs) put a real limiter we did not write
//! in front: tests/fastapi/slowapi_app.py under uvicorn, with `FASTAPI_PYTHON` (skipped, saying
//! so, when no such Python is there).

#[path = "ratelimit/slowapi.rs"]
mod slowapi;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use errors_http::ApiClient;
use reqwest_retry::{RetryTransientMiddleware, policies::ExponentialBackoff};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const CONCURRENCY: usize = 64;
/// No run may last longer than this (every loop here is bounded).
const RUN_CAP: Duration = Duration::from_secs(60);

/// A limiter's verdict on a request arriving at `now`: admitted, or rejected with the time
/// until it would be admitted.
trait Limiter: Send {
    fn admit(&mut self, now: Instant) -> Result<(), Duration>;
}

struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Limiter for TokenBucket {
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

struct FixedWindow {
    limit: u32,
    window: Duration,
    start: Instant,
    used: u32,
}

impl Limiter for FixedWindow {
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.start);
        if elapsed >= self.window {
            let windows = elapsed.as_nanos() / self.window.as_nanos();
            self.start += self.window * windows as u32;
            self.used = 0;
        }
        if self.used < self.limit {
            self.used += 1;
            Ok(())
        } else {
            Err((self.start + self.window).saturating_duration_since(now))
        }
    }
}

/// A sliding log: at most `limit` admissions in any `window`.
struct SlidingLog {
    limit: usize,
    window: Duration,
    log: std::collections::VecDeque<Instant>,
}

impl Limiter for SlidingLog {
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        while self
            .log
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.log.pop_front();
        }
        if self.log.len() < self.limit {
            self.log.push_back(now);
            Ok(())
        } else {
            Err((self.log[0] + self.window).saturating_duration_since(now))
        }
    }
}

/// What the limiter tells the client about its limit.
#[derive(Clone, Copy, PartialEq)]
enum Says {
    /// "Rate limit exceeded: 50 calls per 1 seconds" and `Retry-After`.
    Message,
    /// "Rate limit exceeded" and `Retry-After` only: the client must learn the limit.
    Nothing,
    /// An unstated message, but IETF `RateLimit-Policy` / `RateLimit` on every response.
    Headers,
}

struct Shape {
    name: &'static str,
    calls: usize,
    /// Requests per second the limiter allows in the long run.
    rate: f64,
    limit: u32,
    window_secs: u32,
    says: Says,
    make: fn() -> Box<dyn Limiter>,
}

fn shapes() -> Vec<Shape> {
    vec![
        Shape {
            name: "tb-50-50 token bucket 50/s, burst 50, stated",
            calls: 1000,
            rate: 50.0,
            limit: 50,
            window_secs: 1,
            says: Says::Message,
            make: || {
                Box::new(TokenBucket {
                    rate: 50.0,
                    burst: 50.0,
                    tokens: 50.0,
                    at: Instant::now(),
                })
            },
        },
        Shape {
            name: "tb-50-5 token bucket 50/s, burst 5, stated",
            calls: 1000,
            rate: 50.0,
            limit: 50,
            window_secs: 1,
            says: Says::Message,
            make: || {
                Box::new(TokenBucket {
                    rate: 50.0,
                    burst: 5.0,
                    tokens: 5.0,
                    at: Instant::now(),
                })
            },
        },
        Shape {
            name: "fw-50-1 fixed window 50 per 1 s, stated",
            calls: 1000,
            rate: 50.0,
            limit: 50,
            window_secs: 1,
            says: Says::Message,
            make: || {
                Box::new(FixedWindow {
                    limit: 50,
                    window: Duration::from_secs(1),
                    start: Instant::now(),
                    used: 0,
                })
            },
        },
        Shape {
            name: "fw-100-5 fixed window 100 per 5 s, stated",
            calls: 1000,
            rate: 20.0,
            limit: 100,
            window_secs: 5,
            says: Says::Message,
            make: || {
                Box::new(FixedWindow {
                    limit: 100,
                    window: Duration::from_secs(5),
                    start: Instant::now(),
                    used: 0,
                })
            },
        },
        Shape {
            name: "sw-50-1 sliding window 50 per 1 s, stated",
            calls: 1000,
            rate: 50.0,
            limit: 50,
            window_secs: 1,
            says: Says::Message,
            make: || {
                Box::new(SlidingLog {
                    limit: 50,
                    window: Duration::from_secs(1),
                    log: Default::default(),
                })
            },
        },
        Shape {
            name: "tb-50-50-headers token bucket 50/s, burst 50, IETF headers only",
            calls: 1000,
            rate: 50.0,
            limit: 50,
            window_secs: 1,
            says: Says::Headers,
            make: || {
                Box::new(TokenBucket {
                    rate: 50.0,
                    burst: 50.0,
                    tokens: 50.0,
                    at: Instant::now(),
                })
            },
        },
        Shape {
            name: "tb-50-50-unstated token bucket 50/s, burst 50, limit not stated",
            calls: 1000,
            rate: 50.0,
            limit: 50,
            window_secs: 1,
            says: Says::Nothing,
            make: || {
                Box::new(TokenBucket {
                    rate: 50.0,
                    burst: 50.0,
                    tokens: 50.0,
                    at: Instant::now(),
                })
            },
        },
        Shape {
            name: "tb-50-5-unstated token bucket 50/s, burst 5, limit not stated",
            calls: 1000,
            rate: 50.0,
            limit: 50,
            window_secs: 1,
            says: Says::Nothing,
            make: || {
                Box::new(TokenBucket {
                    rate: 50.0,
                    burst: 5.0,
                    tokens: 5.0,
                    at: Instant::now(),
                })
            },
        },
        Shape {
            // A burst of four seconds of its rate (as some shop APIs' buckets hold): its
            // first batch's goodput is no rate to pace at.
            name: "tb-10-40-unstated token bucket 10/s, burst 40, limit not stated",
            calls: 1000,
            rate: 10.0,
            limit: 10,
            window_secs: 1,
            says: Says::Nothing,
            make: || {
                Box::new(TokenBucket {
                    rate: 10.0,
                    burst: 40.0,
                    tokens: 40.0,
                    at: Instant::now(),
                })
            },
        },
        Shape {
            name: "fw-50-1-unstated fixed window 50 per 1 s, limit not stated",
            calls: 1000,
            rate: 50.0,
            limit: 50,
            window_secs: 1,
            says: Says::Nothing,
            make: || {
                Box::new(FixedWindow {
                    limit: 50,
                    window: Duration::from_secs(1),
                    start: Instant::now(),
                    used: 0,
                })
            },
        },
    ]
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    rejected: AtomicU64,
    id: AtomicU64,
}

/// A keep-alive HTTP/1.1 server on 127.0.0.1 in front of `limiter`.
async fn serve(
    limiter: Box<dyn Limiter>,
    shape: &Shape,
) -> (String, Arc<Counters>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/", listener.local_addr().unwrap());
    let counters = Arc::new(Counters::default());
    let limiter = Arc::new(Mutex::new(limiter));
    let (says, limit, window) = (shape.says, shape.limit, shape.window_secs);
    let shared = counters.clone();
    let handle = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (counters, limiter) = (shared.clone(), limiter.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut filled = 0;
                loop {
                    let Ok(n) = socket.read(&mut buf[filled..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    filled += n;
                    while let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                        counters.requests.fetch_add(1, Ordering::Relaxed);
                        let verdict = limiter.lock().unwrap().admit(Instant::now());
                        let response = respond(verdict, says, limit, window, &counters);
                        if socket.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                        buf.copy_within(end + 4..filled, 0);
                        filled -= end + 4;
                    }
                    if filled == buf.len() {
                        return;
                    }
                }
            });
        }
    });
    (url, counters, handle)
}

fn respond(
    verdict: Result<(), Duration>,
    says: Says,
    limit: u32,
    window: u32,
    counters: &Counters,
) -> String {
    let headers = if says == Says::Headers {
        let remaining = u32::from(verdict.is_ok());
        format!(
            "ratelimit-policy: \"default\";q={limit};w={window}\r\nratelimit: \"default\";r={remaining};t=1\r\n"
        )
    } else {
        String::new()
    };
    match verdict {
        Ok(()) => {
            let body = r#"{"ok":true}"#;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\n\r\n{body}",
                body.len()
            )
        }
        Err(wait) => {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            // An integer Retry-After, rounded up as real limiters do.
            let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
            let message = match says {
                Says::Message => format!("Rate limit exceeded: {limit} calls per {window} seconds"),
                _ => "Rate limit exceeded".to_owned(),
            };
            let id = counters.id.fetch_add(1, Ordering::Relaxed);
            let body = format!(
                r#"{{"error":{{"code":"RATE_LIMIT_ERROR","message":"{message}","details":{{}}}},"request_id":"req-{id}"}}"#
            );
            format!(
                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: {retry_after}\r\n{headers}content-length: {}\r\n\r\n{body}",
                body.len()
            )
        }
    }
}

struct Report {
    wall: Duration,
    requests: u64,
    rejected: u64,
    failed: usize,
}

/// Sends `calls` GETs, `CONCURRENCY` at a time; `send` returns whether the call succeeded.
async fn drive<F, Fut>(calls: usize, send: F) -> (Duration, usize)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = Vec::with_capacity(calls);
    for i in 0..calls {
        let (send, semaphore) = (send.clone(), semaphore.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            tokio::time::timeout(RUN_CAP, send(i))
                .await
                .unwrap_or(false)
        }));
    }
    let mut failed = 0;
    for task in tasks {
        if !task.await.unwrap_or(false) {
            failed += 1;
        }
    }
    (started.elapsed(), failed)
}

async fn run_ours(shape: &Shape) -> Report {
    let (url, counters, server) = serve((shape.make)(), shape).await;
    let (wall, failed) = drive_ours(url, shape.calls).await;
    server.abort();
    Report {
        wall,
        requests: counters.requests.load(Ordering::Relaxed),
        rejected: counters.rejected.load(Ordering::Relaxed),
        failed,
    }
}

/// The default `ApiClient` sending `calls` GETs of `items/{i}` under `url`.
async fn drive_ours(url: String, calls: usize) -> (Duration, usize) {
    let client = ApiClient::builder().base_url(url).build().unwrap();
    drive(calls, move |i| {
        let client = client.clone();
        async move {
            client
                .send(client.request(reqwest::Method::GET, &format!("items/{i}")))
                .await
                .is_ok()
        }
    })
    .await
}

async fn run_reqwest_retry(shape: &Shape) -> Report {
    let (url, counters, server) = serve((shape.make)(), shape).await;
    let (wall, failed) = drive_reqwest_retry(url, shape.calls).await;
    server.abort();
    Report {
        wall,
        requests: counters.requests.load(Ordering::Relaxed),
        rejected: counters.rejected.load(Ordering::Relaxed),
        failed,
    }
}

/// reqwest-retry's default sending `calls` GETs of `items/{i}` under `url`.
async fn drive_reqwest_retry(url: String, calls: usize) -> (Duration, usize) {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryTransientMiddleware::new_with_policy(
            ExponentialBackoff::builder().build_with_max_retries(3),
        ))
        .build();
    drive(calls, move |i| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            match client.get(format!("{url}items/{i}")).send().await {
                Ok(response) => {
                    let ok = response.status().is_success();
                    let _ = response.bytes().await;
                    ok
                }
                Err(_) => false,
            }
        }
    })
    .await
}

/// A shape's heading and its table's header; `rate` is the limiter's long-run rate.
fn table_head(name: &str, calls: usize, rate: f64) {
    let ideal = calls as f64 / rate;
    println!("\n{name} ({calls} GETs, {CONCURRENCY} at a time, ideal {ideal:.1} s)");
    println!("| client | wall | vs ideal | requests/call | 429s | failed |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
}

/// One client's row: wall time against the ideal (`calls / rate`), requests per call, 429s
/// and failed calls.
fn row(client: &str, calls: usize, rate: f64, report: &Report) {
    let ideal = calls as f64 / rate;
    println!(
        "| {client} | {:.1} s | {:.3}x | {:.3} | {} | {} of {calls} |",
        report.wall.as_secs_f64(),
        report.wall.as_secs_f64() / ideal,
        report.requests as f64 / calls as f64,
        report.rejected,
        report.failed,
    );
}

#[tokio::main]
async fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let filters: Vec<String> = std::env::args().skip(1).collect();
    for shape in shapes() {
        if !filters.is_empty() && !filters.iter().any(|f| shape.name.contains(f.as_str())) {
            continue;
        }
        let calls = std::env::var("CALLS").ok().and_then(|c| c.parse().ok());
        let shape = Shape {
            calls: calls.unwrap_or(shape.calls),
            ..shape
        };
        table_head(shape.name, shape.calls, shape.rate);
        let ours = run_ours(&shape).await;
        row("ApiClient (default)", shape.calls, shape.rate, &ours);
        let theirs = run_reqwest_retry(&shape).await;
        row("reqwest-retry default", shape.calls, shape.rate, &theirs);
    }
    slowapi::run_shapes(&filters).await;
}

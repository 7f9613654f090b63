//! A fleet on one API key: N real OS processes of this example share one rate limit (a
//! loopback token bucket, 50 calls a second holding 50) through one Redis, and each prints
//! its wall time.
//!
//! ```sh
//! cargo run --release --example fleet                  # 4 processes, limit stated, Redis
//! cargo run --release --example fleet -- 4 unstated    # the limit not stated
//! cargo run --release --example fleet -- 4 all         # stated and unstated; with Redis,
//!                                                      # without it, and reqwest-retry
//! ```
//!
//! Redis is a `redis-server` this example starts on a free loopback port (set
//! `ERRORS_REDIS_URL` to use one of your own). Each process makes 250 GETs, 16 at a time.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use errors_http::{ApiClient, Method, RedisStore};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// The bucket: a rate and what it holds.
const RATE: f64 = 50.0;
const BURST: f64 = 50.0;
const CALLS: usize = 250;
const CONCURRENCY: usize = 16;

/// How a process calls the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// `ApiClient` with every default and a `RedisStore`.
    Fleet,
    /// `ApiClient` with every default, no store: each process paces itself.
    Alone,
    /// reqwest-retry's `RetryTransientMiddleware`, its defaults (3 retries).
    ReqwestRetry,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Fleet => "ApiClient + RedisStore",
            Client::Alone => "ApiClient, no store",
            Client::ReqwestRetry => "reqwest-retry",
        }
    }

    fn parse(text: &str) -> Client {
        match text {
            "fleet" => Client::Fleet,
            "alone" => Client::Alone,
            _ => Client::ReqwestRetry,
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Client::Fleet => "fleet",
            Client::Alone => "alone",
            Client::ReqwestRetry => "reqwest-retry",
        }
    }
}

/// A token bucket in front of the API; 429s state the limit or not.
#[derive(Clone)]
struct Bucket {
    state: Arc<Mutex<BucketState>>,
    stated: bool,
}

/// Tokens, when they were counted (from the first request), requests, rejections.
type BucketState = (f64, Option<Instant>, u64, u64);

impl Respond for Bucket {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let now = Instant::now();
        // The bucket starts full at the first request.
        let last = state.1.unwrap_or(now);
        let tokens = (state.0 + (now - last).as_secs_f64() * RATE).min(BURST);
        state.1 = Some(now);
        state.2 += 1;
        if tokens >= 1.0 {
            state.0 = tokens - 1.0;
            return ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true}));
        }
        state.0 = tokens;
        state.3 += 1;
        let wait = ((1.0 - tokens) / RATE).ceil().max(1.0) as u64;
        let message = if self.stated {
            format!("Rate limit exceeded: {RATE} calls per 1 seconds")
        } else {
            "Rate limit exceeded".to_owned()
        };
        ResponseTemplate::new(429)
            .insert_header("retry-after", wait.to_string())
            .set_body_json(serde_json::json!({
                "error": {"code": "RATE_LIMIT_ERROR", "message": message}
            }))
    }
}

/// One process's report.
#[derive(Debug)]
struct Run {
    wall: Duration,
    failed: usize,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]).await;
    }
    let processes: usize = args.first().and_then(|n| n.parse().ok()).unwrap_or(4);
    let which = args.get(1).map_or("stated", String::as_str);
    let own_redis = std::env::var("ERRORS_REDIS_URL").is_err();
    let redis = own_redis.then(errors_testkit::RedisServer::start);
    let redis_url = std::env::var("ERRORS_REDIS_URL")
        .unwrap_or_else(|_| redis.as_ref().map(|r| r.url()).unwrap_or_default());
    let (statements, clients): (&[bool], &[Client]) = match which {
        "unstated" => (&[false], &[Client::Fleet]),
        "all" => (
            &[true, false],
            &[Client::Fleet, Client::Alone, Client::ReqwestRetry],
        ),
        _ => (&[true], &[Client::Fleet]),
    };
    println!(
        "{processes} processes on one key, {CALLS} GETs each, {CONCURRENCY} at a time, against \
         a token bucket of {RATE}/s holding {BURST}; ideal {:.1} s",
        ideal(processes)
    );
    println!();
    println!(
        "| limit | client | wall vs ideal | requests/call | failed | each process's wall (s) | slowest vs mean |"
    );
    println!("| --- | --- | ---: | ---: | ---: | --- | ---: |");
    for &stated in statements {
        for &client in clients {
            fleet_run(processes, stated, client, &redis_url).await;
        }
    }
}

/// The ideal wall time: all calls at the bucket's rate, its burst at once.
fn ideal(processes: usize) -> f64 {
    ((processes * CALLS) as f64 - BURST) / RATE
}

async fn fleet_run(processes: usize, stated: bool, client: Client, redis_url: &str) {
    let server = MockServer::start().await;
    let bucket = Bucket {
        state: Arc::new(Mutex::new((BURST, None, 0, 0))),
        stated,
    };
    Mock::given(any())
        .respond_with(bucket.clone())
        .mount(&server)
        .await;
    // A fresh key prefix per run: runs never share state.
    let prefix = format!("fleet-example:{}", fastrand::u64(..));
    let exe = std::env::current_exe().expect("this example's path");
    let started = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(&exe)
                .args(["--child", &server.uri(), redis_url, &prefix, client.arg()])
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn a process of the fleet")
        })
        .collect();
    let mut runs = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("a process of the fleet");
        let text = String::from_utf8_lossy(&output.stdout);
        let mut fields = text.split_whitespace();
        let wall = fields
            .next()
            .and_then(|w| w.parse::<f64>().ok())
            .unwrap_or(f64::NAN);
        let failed = fields.next().and_then(|f| f.parse().ok()).unwrap_or(CALLS);
        runs.push(Run {
            wall: Duration::from_secs_f64(wall.max(0.0)),
            failed,
        });
    }
    let wall = started.elapsed().as_secs_f64();
    let (requests, _rejected) = {
        let state = bucket.state.lock().unwrap();
        (state.2, state.3)
    };
    let calls = processes * CALLS;
    let failed: usize = runs.iter().map(|r| r.failed).sum();
    let walls: Vec<f64> = runs.iter().map(|r| r.wall.as_secs_f64()).collect();
    let mean = walls.iter().sum::<f64>() / walls.len() as f64;
    let slowest = walls.iter().cloned().fold(0.0, f64::max);
    let each: Vec<String> = walls.iter().map(|w| format!("{w:.1}")).collect();
    println!(
        "| {} | {} | {:.3}x | {:.3} | {failed} of {calls} | {} | {:.2}x |",
        if stated { "stated" } else { "not stated" },
        client.name(),
        wall / ideal(processes),
        requests as f64 / calls as f64,
        each.join(" / "),
        slowest / mean,
    );
}

/// One process of the fleet: its calls, then "<wall seconds> <failed calls>" on stdout.
async fn child(args: &[String]) {
    let [api, redis_url, prefix, client] = args else {
        panic!("--child <api> <redis> <prefix> <client>")
    };
    let client = Client::parse(client);
    let started = Instant::now();
    let failed = match client {
        Client::ReqwestRetry => drive_reqwest_retry(api).await,
        _ => {
            let mut builder = ApiClient::builder().base_url(api).api_key("sk-fleet");
            if client == Client::Fleet {
                let store = RedisStore::new(redis_url)
                    .expect("a Redis URL")
                    .with_prefix(prefix.clone());
                builder = builder.rate_limit_store(store);
            }
            drive_ours(builder.build().expect("a client")).await
        }
    };
    println!("{:.3} {failed}", started.elapsed().as_secs_f64());
}

async fn drive_ours(client: ApiClient) -> usize {
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let tasks: Vec<_> = (0..CALLS)
        .map(|_| {
            let (client, permits) = (client.clone(), permits.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("open semaphore");
                client
                    .send(client.request(Method::GET, "v1/items"))
                    .await
                    .is_err()
            })
        })
        .collect();
    let mut failed = 0;
    for task in tasks {
        failed += usize::from(task.await.unwrap_or(true));
    }
    failed
}

async fn drive_reqwest_retry(api: &str) -> usize {
    use reqwest_retry::{RetryTransientMiddleware, policies::ExponentialBackoff};
    let policy = ExponentialBackoff::builder().build_with_max_retries(3);
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .build();
    let url = format!("{api}/v1/items");
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let tasks: Vec<_> = (0..CALLS)
        .map(|_| {
            let (client, permits, url) = (client.clone(), permits.clone(), url.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("open semaphore");
                !matches!(client.get(&url).send().await, Ok(r) if r.status().is_success())
            })
        })
        .collect();
    let mut failed = 0;
    for task in tasks {
        failed += usize::from(task.await.unwrap_or(true));
    }
    failed
}

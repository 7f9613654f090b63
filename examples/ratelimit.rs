//! Rate limits at the server's full speed: loopback rate limiters of several shapes, each
//! answering `429` with the API's envelope (`RATE_LIMIT_ERROR`, "Rate limit exceeded: 50 calls
//! per 1 seconds" where the limit is stated, "Rate limit exceeded" where it is not) and an
//! integer `Retry-After` rounded up, driven through the default `ApiClient` and, in the same
//! run, through reqwest-retry's default (`RetryTransientMiddleware` + `ExponentialBackoff`,
//! 3 retries). Every server listens on 127.0.0.1 only.
//!
//! With no argument (or a filter), the single-route shapes: 1,000 GETs 64 at a time, printing
//! per shape and client the wall time against the ideal (N / rate), requests sent per call,
//! 429s and failed calls. With a scenario's name, that scenario (examples/ratelimit/
//! scenarios.rs): one markdown table, both clients side by side. `cargo run --release
//! --example ratelimit -- <argument>`, where `<argument>` is (times on a quiet machine):
//!
//! | argument | what runs | about |
//! | --- | --- | ---: |
//! | (none) | the 15 single-route shapes, slowapi's included | 15 min |
//! | `tb-50-5` (not a scenario) | the shapes whose name contains it | |
//! | `slowapi` | the 5 shapes behind FastAPI + slowapi | 3 min |
//! | `routes` | `/search` behind 10/s, `/items` not limited, at once; stated, unstated | 3 min |
//! | `routes-slowapi` | the same behind FastAPI + slowapi (`10/second` on `/search`) | 2 min |
//! | `keywide` | one bucket of 30/s shared by three routes; stated, unstated | 2 min |
//! | `window` | fixed window of 100 calls per 60 s, 250 calls, stated | 3 min |
//! | `changing` | a bucket of 50/s, 20/s from 5 s, 50/s from 15 s; 3 ways to say it | 3 min |
//! | `random` | no limit, but 10% of requests answered 429 with `Retry-After: 1` | 1 min |
//! | `window-unstated` | fixed window of 20 calls per 10 s, 80 calls, not stated | 1 min |
//! | `slow` | a bucket of 1 call per 2 s holding 1, 15 calls, stated | 1 min |
//! | `small-burst [N]` | a bucket of 50/s holding 5, N runs (default 20); both ways | 30 min |
//! | `poisson` | Poisson arrivals at 80% of 50/s: latency with and without the limiter | 4 min |
//! | `all [N]` | the ten scenarios above, in this order (N for `small-burst`) | 50 min |
//!
//! A scenario's name is the scenario, never a filter: `window` and `slow` no longer select
//! shapes (`fw-`, `sw-` and `slowapi` do). The slowapi shapes and `routes-slowapi` put a real
//! limiter we did not write in front (examples/ratelimit/slowapi.rs): the FastAPI app
//! tests/fastapi/slowapi_app.py under uvicorn, with `FASTAPI_PYTHON` (skipped, saying so, when
//! no such Python is there).

/// The loopback server's connections, answered as the middleware bench's are.
#[path = "../crates/errors-http/benches/support/keep_alive.rs"]
mod keep_alive;
/// The limiters of the simulation (crates/errors-core/tests/limiters.rs), on time since
/// the server started. (The simulation reads their long-run rates; this reads their
/// statements.)
#[path = "../crates/errors-core/tests/support/limiters.rs"]
#[allow(dead_code)]
mod model;
#[path = "ratelimit/scenarios.rs"]
mod scenarios;
#[path = "ratelimit/slowapi.rs"]
mod slowapi;
/// The uvicorn launcher the FastAPI tests use too.
#[path = "../tests/support/uvicorn.rs"]
mod uvicorn;

use model::{ChangingBucket, FixedWindow, Model, SlidingLog, TokenBucket};

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use errors_http::ApiClient;
use reqwest_retry::{RetryTransientMiddleware, policies::ExponentialBackoff};

const CONCURRENCY: usize = 64;
/// No call of a shape may last longer than this (every loop here is bounded).
const RUN_CAP: Duration = Duration::from_secs(60);

/// A limit as a limiter states it: `calls` per `secs` seconds.
#[derive(Clone, Copy)]
struct Quota {
    calls: u32,
    secs: u32,
}

/// A limiter's verdict on a request arriving `now` after the server started: admitted, or
/// rejected with the time until it would be admitted.
trait Limiter: Send {
    fn admit(&mut self, now: Duration) -> Result<(), Duration>;
    /// The limit in force, as a stated 429 or `RateLimit-Policy` gives it; none for a
    /// limiter that limits nothing.
    fn quota(&self) -> Option<Quota>;
}

/// The model limiters the simulation puts in front of the client too: their verdict, and
/// their statement as the quota.
impl<M: Model> Limiter for M {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        Model::admit(self, now)
    }

    fn quota(&self) -> Option<Quota> {
        let (calls, secs) = self.statement();
        Some(Quota { calls, secs })
    }
}

/// Limits nothing, but answers a `share` of requests (drawn from a seeded generator) 429
/// with `Retry-After: 1`.
struct RandomRejects {
    share: f64,
    rng: fastrand::Rng,
}

impl Limiter for RandomRejects {
    fn admit(&mut self, _now: Duration) -> Result<(), Duration> {
        if self.rng.f64() < self.share {
            Err(Duration::from_secs(1))
        } else {
            Ok(())
        }
    }

    fn quota(&self) -> Option<Quota> {
        None
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
    /// The stated message, and `RateLimit-Policy` (the quota in force) on every response,
    /// success too.
    MessageAndPolicy,
}

struct Shape {
    name: &'static str,
    calls: usize,
    /// Requests per second the limiter allows in the long run.
    rate: f64,
    says: Says,
    make: fn() -> Box<dyn Limiter>,
}

fn shapes() -> Vec<Shape> {
    vec![
        Shape {
            name: "tb-50-50 token bucket 50/s, burst 50, stated",
            calls: 1000,
            rate: 50.0,
            says: Says::Message,
            make: || Box::new(TokenBucket::new(50, 1, 50)),
        },
        Shape {
            name: "tb-50-5 token bucket 50/s, burst 5, stated",
            calls: 1000,
            rate: 50.0,
            says: Says::Message,
            make: || Box::new(TokenBucket::new(50, 1, 5)),
        },
        Shape {
            name: "fw-50-1 fixed window 50 per 1 s, stated",
            calls: 1000,
            rate: 50.0,
            says: Says::Message,
            make: || Box::new(FixedWindow::new(50, 1)),
        },
        Shape {
            name: "fw-100-5 fixed window 100 per 5 s, stated",
            calls: 1000,
            rate: 20.0,
            says: Says::Message,
            make: || Box::new(FixedWindow::new(100, 5)),
        },
        Shape {
            name: "sw-50-1 sliding window 50 per 1 s, stated",
            calls: 1000,
            rate: 50.0,
            says: Says::Message,
            make: || Box::new(SlidingLog::new(50, 1)),
        },
        Shape {
            name: "tb-50-50-headers token bucket 50/s, burst 50, IETF headers only",
            calls: 1000,
            rate: 50.0,
            says: Says::Headers,
            make: || Box::new(TokenBucket::new(50, 1, 50)),
        },
        Shape {
            name: "tb-50-50-unstated token bucket 50/s, burst 50, limit not stated",
            calls: 1000,
            rate: 50.0,
            says: Says::Nothing,
            make: || Box::new(TokenBucket::new(50, 1, 50)),
        },
        Shape {
            name: "tb-50-5-unstated token bucket 50/s, burst 5, limit not stated",
            calls: 1000,
            rate: 50.0,
            says: Says::Nothing,
            make: || Box::new(TokenBucket::new(50, 1, 5)),
        },
        Shape {
            // A burst of four seconds of its rate (as some shop APIs' buckets hold): its
            // first batch's goodput is no rate to pace at.
            name: "tb-10-40-unstated token bucket 10/s, burst 40, limit not stated",
            calls: 1000,
            rate: 10.0,
            says: Says::Nothing,
            make: || Box::new(TokenBucket::new(10, 1, 40)),
        },
        Shape {
            name: "fw-50-1-unstated fixed window 50 per 1 s, limit not stated",
            calls: 1000,
            rate: 50.0,
            says: Says::Nothing,
            make: || Box::new(FixedWindow::new(50, 1)),
        },
    ]
}

/// A route of the local server: requests whose path starts with `path` go through the
/// limiter `limiter` (an index into [`Setup::limiters`]), or through none.
struct Route {
    path: &'static str,
    limiter: Option<usize>,
}

/// What the local server does: its routes, their limiters (several routes may share one)
/// and what a 429 says.
struct Setup {
    routes: Vec<Route>,
    limiters: Vec<Box<dyn Limiter>>,
    says: Says,
}

impl Setup {
    /// Every path under `/v1/` behind `limiter`.
    fn one_route(limiter: Box<dyn Limiter>, says: Says) -> Self {
        Setup {
            routes: vec![Route {
                path: "/v1/",
                limiter: Some(0),
            }],
            limiters: vec![limiter],
            says,
        }
    }

    /// Every path under `/v1/`, never limited.
    fn unlimited() -> Self {
        Setup {
            routes: vec![Route {
                path: "/v1/",
                limiter: None,
            }],
            limiters: Vec::new(),
            says: Says::Nothing,
        }
    }
}

#[derive(Default)]
struct RouteCounters {
    requests: AtomicU64,
    rejected: AtomicU64,
}

#[derive(Default)]
struct Counters {
    /// In the setup's route order.
    routes: Vec<RouteCounters>,
    id: AtomicU64,
    first: OnceLock<Instant>,
    /// When each 429 was sent, from the first request.
    rejections: Mutex<Vec<Duration>>,
}

/// The local server's state, shared by its connections.
struct State {
    /// What the limiters' time counts from.
    started: Instant,
    routes: Vec<Route>,
    limiters: Vec<Mutex<Box<dyn Limiter>>>,
    says: Says,
    counters: Arc<Counters>,
}

impl State {
    /// The response to the request whose head (up to the blank line) is `head`.
    fn answer(&self, head: &[u8]) -> String {
        let now = Instant::now();
        let first = *self.counters.first.get_or_init(|| now);
        let path = head.split(|&b| b == b' ').nth(1).unwrap_or_default();
        let Some(index) = self
            .routes
            .iter()
            .position(|route| path.starts_with(route.path.as_bytes()))
        else {
            return "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_owned();
        };
        let counters = &self.counters.routes[index];
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let (verdict, quota) = match self.routes[index].limiter {
            Some(limiter) => {
                let mut limiter = self.limiters[limiter].lock().unwrap();
                let since_start = now.saturating_duration_since(self.started);
                (limiter.admit(since_start), limiter.quota())
            }
            None => (Ok(()), None),
        };
        if verdict.is_err() {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            let at = now.saturating_duration_since(first);
            self.counters.rejections.lock().unwrap().push(at);
        }
        respond(verdict, self.says, quota, &self.counters.id)
    }
}

/// A keep-alive HTTP/1.1 server on 127.0.0.1, bound before it is returned; stops accepting
/// when dropped.
struct LocalServer {
    url: String,
    routes: Vec<&'static str>,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalServer {
    fn counts(&self) -> Counts {
        let routes = self.routes.iter().zip(&self.counters.routes);
        let mut rejections = self.counters.rejections.lock().unwrap().clone();
        rejections.sort();
        Counts {
            routes: routes
                .map(|(route, c)| RouteCount {
                    route: (*route).to_owned(),
                    requests: c.requests.load(Ordering::Relaxed),
                    rejected: c.rejected.load(Ordering::Relaxed),
                })
                .collect(),
            rejections,
        }
    }
}

async fn serve(setup: Setup) -> LocalServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/", listener.local_addr().unwrap());
    let counters = Arc::new(Counters {
        routes: setup.routes.iter().map(|_| Default::default()).collect(),
        ..Default::default()
    });
    let routes = setup.routes.iter().map(|r| r.path).collect();
    let state = Arc::new(State {
        started: Instant::now(),
        routes: setup.routes,
        limiters: setup.limiters.into_iter().map(Mutex::new).collect(),
        says: setup.says,
        counters: counters.clone(),
    });
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(keep_alive::answer_each(socket, move |head| {
                state.answer(head)
            }));
        }
    });
    LocalServer {
        url,
        routes,
        counters,
        task,
    }
}

fn respond(
    verdict: Result<(), Duration>,
    says: Says,
    quota: Option<Quota>,
    id: &AtomicU64,
) -> String {
    let headers = match (says, quota) {
        (Says::Headers, Some(Quota { calls, secs })) => {
            let remaining = u32::from(verdict.is_ok());
            format!(
                "ratelimit-policy: \"default\";q={calls};w={secs}\r\nratelimit: \"default\";r={remaining};t=1\r\n"
            )
        }
        (Says::MessageAndPolicy, Some(Quota { calls, secs })) => {
            format!("ratelimit-policy: \"default\";q={calls};w={secs}\r\n")
        }
        _ => String::new(),
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
            // An integer Retry-After, rounded up as real limiters do.
            let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
            let message = match (says, quota) {
                (Says::Message | Says::MessageAndPolicy, Some(Quota { calls, secs })) => {
                    format!("Rate limit exceeded: {calls} calls per {secs} seconds")
                }
                _ => "Rate limit exceeded".to_owned(),
            };
            let id = id.fetch_add(1, Ordering::Relaxed);
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

struct RouteCount {
    route: String,
    requests: u64,
    rejected: u64,
}

/// What a server counted: requests and 429s per route, and (the local server only) when
/// each 429 was sent, from the first request.
struct Counts {
    routes: Vec<RouteCount>,
    rejections: Vec<Duration>,
}

impl Counts {
    /// (requests, 429s) of `route`; none if it saw no request.
    fn route(&self, route: &str) -> (u64, u64) {
        self.routes
            .iter()
            .find(|r| r.route == route)
            .map_or((0, 0), |r| (r.requests, r.rejected))
    }

    /// (requests, 429s) over every route.
    fn total(&self) -> (u64, u64) {
        self.routes
            .iter()
            .fold((0, 0), |(q, r), c| (q + c.requests, r + c.rejected))
    }

    /// 429s sent `at` or later after the first request.
    fn rejected_from(&self, at: Duration) -> usize {
        self.rejections.iter().filter(|t| **t >= at).count()
    }
}

/// A server for one run, stopped when dropped: ours in this process, or the slowapi app.
enum Running {
    Local(LocalServer),
    App(uvicorn::App),
}

impl Running {
    /// The base URL, ending in `/v1/`.
    fn url(&self) -> String {
        match self {
            Running::Local(server) => server.url.clone(),
            Running::App(app) => format!("{}v1/", app.url()),
        }
    }

    async fn counts(&self) -> Result<Counts, String> {
        match self {
            Running::Local(server) => Ok(server.counts()),
            Running::App(app) => slowapi::stats(app.url()).await,
        }
    }
}

/// The two clients compared, each with its defaults.
#[derive(Clone, Copy)]
enum Peer {
    Ours,
    ReqwestRetry,
}

impl Peer {
    const BOTH: [Peer; 2] = [Peer::Ours, Peer::ReqwestRetry];

    fn label(self) -> &'static str {
        match self {
            Peer::Ours => "ApiClient (default)",
            Peer::ReqwestRetry => "reqwest-retry default",
        }
    }
}

/// A client of either kind, under a base URL; cheap to clone.
#[derive(Clone)]
enum Client {
    /// `ApiClient::builder().base_url(..).build()`: every default.
    Ours(ApiClient),
    /// `RetryTransientMiddleware` + `ExponentialBackoff::builder().build_with_max_retries(3)`.
    ReqwestRetry {
        http: reqwest_middleware::ClientWithMiddleware,
        base: String,
    },
}

impl Client {
    fn new(peer: Peer, base: &str) -> Self {
        match peer {
            Peer::Ours => Client::Ours(ApiClient::builder().base_url(base).build().unwrap()),
            Peer::ReqwestRetry => Client::ReqwestRetry {
                http: reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                    .with(RetryTransientMiddleware::new_with_policy(
                        ExponentialBackoff::builder().build_with_max_retries(3),
                    ))
                    .build(),
                base: base.to_owned(),
            },
        }
    }

    /// GETs `path` under the base URL, reading the whole body: whether the call succeeded.
    async fn get(&self, path: &str) -> bool {
        match self {
            Client::Ours(client) => client
                .send(client.request(reqwest::Method::GET, path))
                .await
                .is_ok(),
            Client::ReqwestRetry { http, base } => {
                match http.get(format!("{base}{path}")).send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.bytes().await;
                        ok
                    }
                    Err(_) => false,
                }
            }
        }
    }
}

/// Calls on one route: `callers` callers, each sending GETs of `path(i)` one after the other
/// until `calls` have been sent in all.
#[derive(Clone, Copy)]
struct Lane {
    path: fn(usize) -> String,
    calls: usize,
    callers: usize,
}

fn item_path(i: usize) -> String {
    format!("items/{i}")
}

/// What a lane saw: when its last call ended (from the start of all lanes), its failed
/// calls, and each call's latency.
struct LaneResult {
    wall: Duration,
    failed: usize,
    latencies: Vec<Duration>,
}

/// Drives `lanes` at once through `client`, each call given up after `cap`.
async fn drive_lanes(client: &Client, lanes: &[Lane], cap: Duration) -> Vec<LaneResult> {
    let started = Instant::now();
    let lanes: Vec<_> = lanes
        .iter()
        .map(|&lane| {
            let next = Arc::new(AtomicUsize::new(0));
            let callers: Vec<_> = (0..lane.callers)
                .map(|_| {
                    let (client, next) = (client.clone(), next.clone());
                    tokio::spawn(async move {
                        let mut seen = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= lane.calls {
                                return seen;
                            }
                            let at = Instant::now();
                            let path = (lane.path)(i);
                            let call = client.get(&path);
                            let ok = tokio::time::timeout(cap, call).await.unwrap_or(false);
                            seen.push((at.elapsed(), ok));
                        }
                    })
                })
                .collect();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(lane.calls);
                let mut succeeded = 0;
                for caller in callers {
                    for (latency, ok) in caller.await.unwrap_or_default() {
                        latencies.push(latency);
                        succeeded += usize::from(ok);
                    }
                }
                LaneResult {
                    wall: started.elapsed(),
                    failed: lane.calls - succeeded,
                    latencies,
                }
            })
        })
        .collect();
    let mut results = Vec::with_capacity(lanes.len());
    for lane in lanes {
        results.push(lane.await.expect("a lane's task panicked"));
    }
    results
}

/// One client's run: what each lane saw and what the server counted.
struct Run {
    lanes: Vec<LaneResult>,
    counts: Counts,
}

impl Run {
    /// Until the last call of any lane ended.
    fn wall(&self) -> Duration {
        self.lanes.iter().map(|l| l.wall).max().unwrap_or_default()
    }

    fn failed(&self) -> usize {
        self.lanes.iter().map(|l| l.failed).sum()
    }
}

/// A fresh client of `peer` drives `lanes` against `server`, each call capped at `cap`.
async fn run_on(server: Running, peer: Peer, lanes: &[Lane], cap: Duration) -> Result<Run, String> {
    let client = Client::new(peer, &server.url());
    let lanes = drive_lanes(&client, lanes, cap).await;
    let counts = server.counts().await?;
    Ok(Run { lanes, counts })
}

struct Report {
    wall: Duration,
    requests: u64,
    rejected: u64,
    failed: usize,
}

async fn run_shape(peer: Peer, shape: &Shape) -> Report {
    let server = serve(Setup::one_route((shape.make)(), shape.says)).await;
    let (wall, failed) = drive_shape(peer, server.url.clone(), shape.calls).await;
    let (requests, rejected) = server.counts().total();
    Report {
        wall,
        requests,
        rejected,
        failed,
    }
}

/// A shape's load: `calls` GETs of `items/{i}` under `url`, `CONCURRENCY` at a time, from a
/// fresh client of `peer`; returns (wall, failed calls).
async fn drive_shape(peer: Peer, url: String, calls: usize) -> (Duration, usize) {
    let lane = Lane {
        path: item_path,
        calls,
        callers: CONCURRENCY,
    };
    let result = drive_lanes(&Client::new(peer, &url), &[lane], RUN_CAP).await;
    (result[0].wall, result[0].failed)
}

/// Prints a blank line, `heading`, and a markdown table's header (the first column
/// left-aligned, the others right-aligned).
fn header(heading: &str, columns: &[&str]) {
    println!("\n{heading}");
    println!("| {} |", columns.join(" | "));
    let align: Vec<&str> = (0..columns.len())
        .map(|i| if i == 0 { "---" } else { "---:" })
        .collect();
    println!("| {} |", align.join(" | "));
}

/// Prints one markdown table row.
fn line<S: AsRef<str>>(cells: &[S]) {
    let cells: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
    println!("| {} |", cells.join(" | "));
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `wall` against `ideal` seconds.
fn vs(wall: Duration, ideal: f64) -> String {
    format!("{:.3}x", wall.as_secs_f64() / ideal)
}

fn per_call(requests: u64, calls: usize) -> String {
    format!("{:.3}", requests as f64 / calls as f64)
}

fn failed_of(failed: usize, calls: usize) -> String {
    format!("{failed} of {calls}")
}

/// A shape's heading and its table's header; `rate` is the limiter's long-run rate.
fn table_head(name: &str, calls: usize, rate: f64) {
    let ideal = calls as f64 / rate;
    header(
        &format!("{name} ({calls} GETs, {CONCURRENCY} at a time, ideal {ideal:.1} s)"),
        &[
            "client",
            "wall",
            "vs ideal",
            "requests/call",
            "429s",
            "failed",
        ],
    );
}

/// One client's row: wall time against the ideal (`calls / rate`), requests per call, 429s
/// and failed calls.
fn row(client: &str, calls: usize, rate: f64, report: &Report) {
    line(&[
        client.to_owned(),
        secs(report.wall),
        vs(report.wall, calls as f64 / rate),
        per_call(report.requests, calls),
        report.rejected.to_string(),
        failed_of(report.failed, calls),
    ]);
}

/// The single-route shapes whose name contains one of `filters` (all when empty).
async fn run_shapes(filters: &[String]) {
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
        for peer in Peer::BOTH {
            row(
                peer.label(),
                shape.calls,
                shape.rate,
                &run_shape(peer, &shape).await,
            );
        }
    }
    slowapi::run_shapes(filters).await;
}

/// The scenarios, in the order `all` runs them.
const SCENARIOS: [&str; 10] = [
    "routes",
    "routes-slowapi",
    "keywide",
    "window",
    "changing",
    "random",
    "window-unstated",
    "slow",
    "small-burst",
    "poisson",
];

/// `small-burst`'s runs when no second argument says.
const DEFAULT_RUNS: usize = 20;

async fn run_scenario(name: &str, runs: usize) {
    match name {
        "routes" => scenarios::routes().await,
        "routes-slowapi" => scenarios::routes_slowapi().await,
        "keywide" => scenarios::keywide().await,
        "window" => scenarios::window().await,
        "changing" => scenarios::changing().await,
        "random" => scenarios::random().await,
        "window-unstated" => scenarios::window_unstated().await,
        "slow" => scenarios::slow().await,
        "small-burst" => scenarios::small_burst(runs).await,
        "poisson" => scenarios::poisson().await,
        _ => unreachable!("not a scenario: {name}"),
    }
}

#[tokio::main]
async fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let first = args.first().map_or("", String::as_str);
    let chosen = match SCENARIOS.iter().position(|s| *s == first) {
        _ if first == "all" => &SCENARIOS[..],
        Some(i) => &SCENARIOS[i..=i],
        None => return run_shapes(&args).await,
    };
    let runs = match args.get(1) {
        None => DEFAULT_RUNS,
        Some(n) => n.parse().unwrap_or_else(|_| {
            eprintln!("the number of runs (for small-burst) must be a whole number, not {n:?}");
            std::process::exit(2)
        }),
    };
    for name in chosen {
        run_scenario(name, runs).await;
    }
}

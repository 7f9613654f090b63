//! The default policy against model rate limiters, on virtual time: a batch of GETs, a fixed
//! number in flight, each call a `RetryRun` driven exactly as the middleware drives it
//! (`before_attempt` until it may send, held in naps of at most `MAX_NAP`, the limiter's
//! verdict, `after_attempt`, the wait it decides), every answer 2 ms after its request (a
//! server answering 429 at random: 1 to 60 ms, or never, past the attempt timeout). No clock, no network: each shape runs in
//! milliseconds and gives the same figures every time, so what the loopback benchmark
//! (`cargo run --release --example ratelimit`) measures with noise is pinned here without.
//!
//! To see a run: `PACE_TRACE=1` prints the pace every 250 ms of virtual time and each stop,
//! `PACE_TRACE=2` each 429 too, `PACE_TRACE=3` each request sent (`-- --nocapture`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, SystemTime};

use errors_core::ratelimit::{Partition, Partitioning, RateLimitStatement};
use errors_core::retry::{
    ClientRetryState, Decision, MAX_NAP, Outcome, RetryBudget, RetryRun, TransportFailure,
};
use errors_core::{ApiError, Idempotency, RetryPolicy};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// The limiters the loopback benchmark puts in front of the client too.
#[path = "support/limiters.rs"]
mod model;

use model::{ChangingBucket, FixedWindow, Model, SlidingLog, TokenBucket};

/// Time from a request to its answer.
const LATENCY: Duration = Duration::from_millis(2);

/// A limiter's verdict on a request arriving at `now`: admitted, or rejected with the time
/// until it would be admitted.
trait Limiter {
    fn admit(&mut self, now: Duration) -> Result<(), Duration>;
    /// Requests per second in the long run.
    fn rate(&self) -> f64;
    /// "N calls per S seconds", as the API's message states it.
    fn stated(&self) -> (u32, u64);
    /// Whether an admitted request is answered 503 all the same.
    fn unavailable(&mut self) -> bool {
        false
    }

    /// Whether an admitted request hangs past any attempt timeout.
    fn hangs(&mut self) -> bool {
        false
    }
    /// Time from a request to its answer.
    fn latency(&mut self) -> Duration {
        LATENCY
    }
}

/// Every model limiter, as the simulation asks it.
impl<M: Model> Limiter for M {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        Model::admit(self, now)
    }

    fn rate(&self) -> f64 {
        Model::rate(self)
    }

    fn stated(&self) -> (u32, u64) {
        let (calls, per) = self.statement();
        (calls, per.into())
    }
}

/// Not a limiter: one answer in ten is a 429 asking for a second, drawn at random whatever
/// the pace (a server shedding load, a flaky gateway), and a share of the others a 503.
struct AtRandom {
    rng: fastrand::Rng,
    unavailable: f64,
    hang: f64,
}

impl Limiter for AtRandom {
    fn admit(&mut self, _: Duration) -> Result<(), Duration> {
        if self.rng.f64() < 0.1 {
            Err(Duration::from_secs(1))
        } else {
            Ok(())
        }
    }

    fn unavailable(&mut self) -> bool {
        self.rng.f64() < self.unavailable
    }

    fn hangs(&mut self) -> bool {
        self.rng.f64() < self.hang
    }

    /// 1 to 60 ms: answers of one batch arrive spread out, as a real server's do.
    fn latency(&mut self) -> Duration {
        Duration::from_millis(self.rng.u64(1..=60))
    }

    /// Without pacing, the window each 429 closes lets through about one batch a second.
    fn rate(&self) -> f64 {
        64.0
    }

    fn stated(&self) -> (u32, u64) {
        (64, 1)
    }
}

/// A limiter in front of a service that fails a share of what the limiter lets through with
/// a 503: the limiter's pace is unchanged, and what gets past it is every answer but a 429.
struct BehindFailures {
    limiter: Box<dyn Limiter>,
    rng: fastrand::Rng,
    share: f64,
}

impl Limiter for BehindFailures {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        self.limiter.admit(now)
    }

    fn unavailable(&mut self) -> bool {
        self.rng.f64() < self.share
    }

    fn rate(&self) -> f64 {
        self.limiter.rate()
    }

    fn stated(&self) -> (u32, u64) {
        self.limiter.stated()
    }
}

/// A limiter whose answers come back out of order: its successes in `admitted_ms`, its
/// 429s in `rejected_ms` (milliseconds, drawn).
struct OutOfOrder {
    limiter: Box<dyn Limiter>,
    rng: fastrand::Rng,
    admitted: bool,
    admitted_ms: std::ops::RangeInclusive<u64>,
    rejected_ms: std::ops::RangeInclusive<u64>,
}

impl OutOfOrder {
    /// 429s in 1 to 5 ms, successes in 5 to 40 ms: over many new connections, as on
    /// loopback, most of a first batch's successes can arrive after its first 429, which
    /// then looks like 429s drawn at random.
    fn successes_late(limiter: Box<dyn Limiter>, seed: u64) -> OutOfOrder {
        OutOfOrder::new(limiter, seed, 5..=40, 1..=5)
    }

    /// Successes in 2 ms, 429s in 20 to 40 ms: an app whose rejection goes through an
    /// exception handler, as slowapi's behind uvicorn does on loopback. A first batch's
    /// callers that got through send again before its first 429 arrives, so every caller
    /// has a request rejected in the first round trip.
    fn rejections_late(limiter: Box<dyn Limiter>, seed: u64) -> OutOfOrder {
        OutOfOrder::new(limiter, seed, 2..=2, 20..=40)
    }

    fn new(
        limiter: Box<dyn Limiter>,
        seed: u64,
        admitted_ms: std::ops::RangeInclusive<u64>,
        rejected_ms: std::ops::RangeInclusive<u64>,
    ) -> OutOfOrder {
        OutOfOrder {
            limiter,
            rng: fastrand::Rng::with_seed(seed),
            admitted: false,
            admitted_ms,
            rejected_ms,
        }
    }
}

impl Limiter for OutOfOrder {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        let verdict = self.limiter.admit(now);
        self.admitted = verdict.is_ok();
        verdict
    }

    fn latency(&mut self) -> Duration {
        let ms = if self.admitted {
            self.admitted_ms.clone()
        } else {
            self.rejected_ms.clone()
        };
        Duration::from_millis(self.rng.u64(ms))
    }

    fn rate(&self) -> f64 {
        self.limiter.rate()
    }

    fn stated(&self) -> (u32, u64) {
        self.limiter.stated()
    }
}

/// A 429 with the API's envelope and an integer `Retry-After` rounded up (at least 1), as
/// real limiters send it; the message states the limit or not.
fn rejection(wait: Duration, stated: Option<(u32, u64)>) -> (ApiError, HeaderMap) {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from(seconds.max(1)));
    let message = match stated {
        Some((limit, per)) => format!("Rate limit exceeded: {limit} calls per {per} seconds"),
        None => "Rate limit exceeded".to_owned(),
    };
    let body = format!(
        r#"{{"error":{{"code":"RATE_LIMIT_ERROR","message":"{message}","details":{{}}}},"request_id":"req-1"}}"#
    );
    let error = ApiError::parse(
        StatusCode::TOO_MANY_REQUESTS,
        &headers,
        body.as_bytes(),
        SystemTime::UNIX_EPOCH,
    );
    (error, headers)
}

#[derive(Debug)]
struct Report {
    /// Wall time over the ideal (calls / the limiter's long-run rate).
    vs_ideal: f64,
    requests_per_call: f64,
    failed: usize,
    /// Whether the pacer, once started, ever stepped aside (went back to inactive).
    stepped_aside: bool,
    /// Whether the pacer was ever active.
    paced: bool,
    /// From the first request to the last answer.
    wall: Duration,
    /// When each 429 was sent, from the first request.
    rejections: Rejections,
    /// How long each call took.
    latencies: Latencies,
}

/// How long each call took, from its start to its end, shown as p50 and p99.
struct Latencies(Vec<Duration>);

impl Latencies {
    /// The `q` quantile (0 to 1).
    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }
}

impl std::fmt::Debug for Latencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:?}, p99 {:?}",
            self.quantile(0.5),
            self.quantile(0.99)
        )
    }
}

/// Times of 429s, shown as their count.
struct Rejections(Vec<Duration>);

impl Rejections {
    /// How many were sent at or after `from`.
    fn from(&self, from: Duration) -> usize {
        self.0.iter().filter(|&&at| at >= from).count()
    }
}

impl std::fmt::Debug for Rejections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.len())
    }
}

enum Next {
    /// Ask the run whether it may send.
    Ready,
    /// The limiter's verdict arrives.
    Answer(Result<(), Duration>),
    /// A 503 arrives.
    Unavailable,
    /// The attempt timed out waiting for an answer that hangs.
    TimedOut,
}

/// `calls` GETs, `in_flight` at a time, through one client with the default policy and
/// budget, against `limiter`.
fn batch(limiter: &mut dyn Limiter, stated: bool, calls: usize, in_flight: usize) -> Report {
    batch_with(RetryPolicy::default(), limiter, stated, calls, in_flight)
}

fn batch_with(
    policy: RetryPolicy,
    limiter: &mut dyn Limiter,
    stated: bool,
    calls: usize,
    in_flight: usize,
) -> Report {
    drive(policy, limiter, stated, calls, in_flight, &[])
}

/// One GET arriving at each of `arrivals` (from the start), whatever is in flight: an open
/// loop, as requests from users arrive.
fn open_loop(limiter: &mut dyn Limiter, stated: bool, arrivals: &[Duration]) -> Report {
    drive(
        RetryPolicy::default(),
        limiter,
        stated,
        arrivals.len(),
        arrivals.len(),
        arrivals,
    )
}

/// The batch: `calls` GETs, `in_flight` at a time; or, with `arrivals`, each call at its
/// own time.
fn drive(
    policy: RetryPolicy,
    limiter: &mut dyn Limiter,
    stated: bool,
    calls: usize,
    in_flight: usize,
    arrivals: &[Duration],
) -> Report {
    let begin = Duration::from_secs(100);
    let state = ClientRetryState::with_budget(RetryBudget::default());
    let start = |n: usize, now: Duration| -> RetryRun {
        policy.start(Idempotency::of(&Method::GET, false), &state, now, n as u64)
    };
    let mut runs: Vec<Option<(RetryRun, Next)>> = Vec::new();
    // When each slot's call started, for its latency.
    let mut started_at = Vec::new();
    let mut latencies = Vec::new();
    // (when, sequence, slot): the sequence keeps equal times in the order they were queued.
    let mut events = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut started = 0;
    for slot in 0..in_flight.min(calls) {
        let at = begin + arrivals.get(slot).copied().unwrap_or_default();
        runs.push(Some((start(started, at), Next::Ready)));
        started_at.push(at);
        events.push(Reverse((at, sequence, slot)));
        sequence += 1;
        started += 1;
    }
    let (mut requests, mut failed, mut now) = (0usize, 0usize, begin);
    let (mut paced, mut stepped_aside) = (false, false);
    let mut steps = 0u64;
    let mut last_trace = u128::MAX;
    let mut rejections = Vec::new();
    while let Some(Reverse((at, _, slot))) = events.pop() {
        steps += 1;
        assert!(steps < 10_000_000, "the batch must end");
        now = at - begin;
        let now_abs = at;
        let Some((run, next)) = runs[slot].as_mut() else {
            continue;
        };
        let mut ended = None;
        let mut again = None;
        match std::mem::replace(next, Next::Ready) {
            Next::Ready => match run.before_attempt(now_abs) {
                Ok(hold) if hold.is_zero() => {
                    requests += 1;
                    *next = match limiter.admit(now) {
                        Ok(()) if limiter.unavailable() => Next::Unavailable,
                        Ok(()) if limiter.hangs() => Next::TimedOut,
                        verdict => Next::Answer(verdict),
                    };
                    if matches!(next, Next::Answer(Err(_))) {
                        rejections.push(now);
                    }
                    if std::env::var("PACE_TRACE").as_deref() == Ok("3") {
                        eprintln!(
                            "{:>8.3}s send slot {slot} rate {:?} attempt {} {}",
                            now.as_secs_f64(),
                            state.pacer().rate(),
                            run.attempts().len(),
                            if matches!(next, Next::Answer(Err(_))) {
                                "429"
                            } else {
                                "ok"
                            }
                        );
                    }
                    again = Some(match (&next, run.attempt_timeout(now_abs)) {
                        (Next::TimedOut, Some(limit)) => now_abs + limit,
                        (Next::TimedOut, None) => now_abs + Duration::from_secs(3600),
                        _ => now_abs + limiter.latency(),
                    });
                }
                // In naps, as the middleware holds: a faster pace is noticed.
                Ok(hold) => again = Some(now_abs + hold.min(MAX_NAP)),
                Err(stop) => {
                    if std::env::var_os("PACE_TRACE").is_some() {
                        eprintln!("{now:?} held stop {stop:?} {:?}", run.attempts());
                    }
                    ended = Some(false)
                }
            },
            Next::Answer(Ok(())) => {
                run.observe_rate_limit(RateLimitStatement::default());
                let decision = run.after_attempt(
                    Outcome::Success {
                        status: StatusCode::OK,
                    },
                    now_abs,
                );
                assert!(matches!(decision, Decision::Stop(_)));
                ended = Some(true);
            }
            Next::TimedOut => {
                match run.after_attempt(Outcome::Transport(TransportFailure::timeout()), now_abs) {
                    Decision::Retry { wait, .. } => again = Some(now_abs + wait),
                    Decision::Stop(_) => ended = Some(false),
                }
            }
            Next::Unavailable => {
                let error = ApiError::parse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &HeaderMap::new(),
                    br#"{"error":{"code":"VLM_PROVIDER_ERROR","message":"try again"}}"#,
                    SystemTime::UNIX_EPOCH,
                );
                run.observe_rate_limit(RateLimitStatement::default());
                match run.after_attempt(Outcome::Api(&error), now_abs) {
                    Decision::Retry { wait, .. } => again = Some(now_abs + wait),
                    Decision::Stop(_) => ended = Some(false),
                }
            }
            Next::Answer(Err(wait)) => {
                if std::env::var("PACE_TRACE").as_deref() == Ok("2") {
                    eprintln!(
                        "{:>8.3}s 429 wait {:?} rate {:?}",
                        now.as_secs_f64(),
                        wait,
                        state.pacer().rate()
                    );
                }
                // The limit in force when it rejected (it may change).
                let (error, headers) = rejection(wait, stated.then(|| limiter.stated()));
                run.observe_rate_limit(RateLimitStatement::from_headers(
                    &headers,
                    SystemTime::UNIX_EPOCH,
                ));
                match run.after_attempt(Outcome::Api(&error), now_abs) {
                    Decision::Retry { wait, .. } => again = Some(now_abs + wait),
                    Decision::Stop(stop) => {
                        if std::env::var_os("PACE_TRACE").is_some() {
                            eprintln!("{now:?} stop {stop:?} {:?}", run.attempts());
                        }
                        ended = Some(false)
                    }
                }
            }
        }
        let active = state.pacer().is_active();
        if std::env::var_os("PACE_TRACE").is_some() && now.as_millis() / 250 != last_trace {
            last_trace = now.as_millis() / 250;
            eprintln!(
                "{:>7.3}s requests {requests} failed {failed} rate {:?}",
                now.as_secs_f64(),
                state.pacer().rate()
            );
        }
        stepped_aside |= paced && !active;
        paced |= active;
        if let Some(ok) = ended {
            failed += usize::from(!ok);
            latencies.push(now_abs - started_at[slot]);
            if started < calls {
                runs[slot] = Some((start(started, now_abs), Next::Ready));
                started_at[slot] = now_abs;
                started += 1;
                again = Some(now_abs);
            } else {
                runs[slot] = None;
            }
        }
        if let Some(when) = again {
            events.push(Reverse((when, sequence, slot)));
            sequence += 1;
        }
    }
    let ideal = calls as f64 / limiter.rate();
    Report {
        vs_ideal: now.as_secs_f64() / ideal,
        requests_per_call: requests as f64 / calls as f64,
        failed,
        stepped_aside,
        paced,
        wall: now,
        rejections: Rejections(rejections),
        latencies: Latencies(latencies),
    }
}

/// The limiter shapes of the loopback benchmark (indexed by number below), and a bucket
/// whose burst is larger than a second of its rate (its first batch's goodput, 40 a second,
/// overstates what it sustains).
fn shapes() -> Vec<(&'static str, Box<dyn Limiter>)> {
    vec![
        (
            "bucket 50/s, burst 50",
            Box::new(TokenBucket::new(50, 1, 50)),
        ),
        ("bucket 50/s, burst 5", Box::new(TokenBucket::new(50, 1, 5))),
        ("fixed window 50 per 1 s", Box::new(FixedWindow::new(50, 1))),
        (
            "fixed window 100 per 5 s",
            Box::new(FixedWindow::new(100, 5)),
        ),
        (
            "bucket 20/s, burst 40",
            Box::new(TokenBucket::new(20, 1, 40)),
        ),
        (
            "sliding window 50 per 1 s",
            Box::new(SlidingLog::new(50, 1)),
        ),
    ]
}

#[test]
fn a_stated_fixed_window_a_minute_long_sends_its_count_at_each_opening_and_loses_no_call() {
    // Issue #20: "100 calls per 60 seconds", 250 calls 16 at a time: 100 at each window's
    // start (0, 60, 120 s), within 1.05x of the ideal (the last window's start), every call
    // within its 120 s deadline.
    let mut limiter = FixedWindow::new(100, 60);
    let report = batch(&mut limiter, true, 250, 16);
    eprintln!("100 per 60 s: {report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    let wall = report.vs_ideal * 250.0 / Model::rate(&limiter);
    assert!(wall <= 120.0 * 1.05, "{wall:.1} s: {report:?}");
}

#[test]
fn stated_limits_are_met_at_full_speed() {
    let shapes = shapes();
    for (name, mut limiter) in shapes {
        let report = batch(limiter.as_mut(), true, 1000, 64);
        eprintln!("{name}, stated: {report:?}");
        assert_eq!(report.failed, 0, "{name}");
        // At most 1.1 requests per call as the issue asks; 1.13 for the bucket holding two
        // seconds of its rate, where each probe of the stated limit (after 100 intervals
        // without a 429: the limit may have risen) costs a few rejections.
        let per_call = if name.contains("burst 40") { 1.13 } else { 1.1 };
        assert!(report.requests_per_call <= per_call, "{name}: {report:?}");
        // 1.05x as the issue asks, except the small-burst bucket (1.067x): its first 429 says
        // `Retry-After: 1` for a 20 ms refill, and the client honours it.
        assert!(report.vs_ideal <= 1.07, "{name}: {report:?}");
        assert!(!report.stepped_aside, "{name}: {report:?}");
    }
}

#[test]
fn learned_limits_lose_no_call_and_keep_the_pacer_on() {
    let shapes = shapes();
    for (name, mut limiter) in shapes {
        let report = batch(limiter.as_mut(), false, 1000, 64);
        eprintln!("{name}, learned: {report:?}");
        assert_eq!(report.failed, 0, "{name}");
        assert!(report.requests_per_call <= 1.3, "{name}: {report:?}");
        assert!(!report.stepped_aside, "{name}: {report:?}");
        // Issue #20: a learned small-burst bucket within 1.3x (it takes 1.26x: CUBIC climbs
        // from what the first batch got through, five, to the limit, fifty a second).
        assert!(report.vs_ideal <= 1.3, "{name}: {report:?}");
    }
}

#[test]
fn limiters_whose_burst_is_many_seconds_of_their_rate_are_learned_not_doubted() {
    // Buckets that hold several seconds of their rate (a shop API's 40 at 2 a second): the
    // first batch gets the whole burst through, so paces far under that burst's rate are
    // still too fast. The pacer used to take their 429s for ones that are not about the pace,
    // stepped aside, and every window then released a herd: 1.5 to 4.1 requests per call.
    for (rate, burst, calls) in [
        (10.0, 40.0, 1000),
        (10.0, 64.0, 1000),
        (5.0, 40.0, 1000),
        (25.0, 100.0, 1000),
        (20.0, 60.0, 1000),
        (2.0, 40.0, 300),
        (2.0, 10.0, 300),
    ] {
        let mut limiter = TokenBucket::new(rate as u32, 1, burst as u32);
        let report = batch(&mut limiter, false, calls, 64);
        let name = format!("bucket {rate}/s, burst {burst}, learned");
        eprintln!("{name}: {report:?}");
        assert_eq!(report.failed, 0, "{name}: {report:?}");
        assert!(!report.stepped_aside, "{name}: {report:?}");
        // Each probe of the law above the limit costs a rejection: a larger share of the
        // calls at two a second (1.42 requests per call) than at five or more (1.11-1.21).
        let per_call = if rate < 5.0 { 1.5 } else { 1.3 };
        assert!(report.requests_per_call <= per_call, "{name}: {report:?}");
        // Against the ideal that counts the burst: (calls - burst) / rate.
        let calls = calls as f64;
        let vs_ideal = report.vs_ideal * calls / (calls - burst);
        assert!(
            vs_ideal <= 1.1,
            "{name}: {vs_ideal:.3} of the ideal, {report:?}"
        );
    }
}

#[test]
fn a_limiter_mistaken_for_random_429s_is_found_again_by_the_next_batch() {
    // The same buckets, their answers out of order: the first batch can look like 429s
    // drawn at random, and the pacer may step aside. The batch it then sends unpaced gets
    // through only what the bucket refilled, a far smaller share than the first: a limiter
    // after all, paced at that batch's goodput. Before this check, each such run spent its
    // 30 s of calm releasing herds into the bucket (2.7 requests per call on loopback).
    for (rate, burst) in [
        (10.0, 40.0),
        (10.0, 64.0),
        (5.0, 40.0),
        (25.0, 100.0),
        (20.0, 60.0),
    ] {
        for seed in 0..5 {
            let bucket = TokenBucket::new(rate as u32, 1, burst as u32);
            let mut limiter = OutOfOrder::successes_late(Box::new(bucket), seed);
            let report = batch(&mut limiter, false, 1000, 64);
            let name = format!("bucket {rate}/s, burst {burst}, out of order, seed {seed}");
            eprintln!("{name}: {report:?}");
            assert_eq!(report.failed, 0, "{name}: {report:?}");
            assert!(report.requests_per_call <= 1.3, "{name}: {report:?}");
            let vs_ideal = report.vs_ideal * 1000.0 / (1000.0 - burst);
            assert!(
                vs_ideal <= 1.1,
                "{name}: {vs_ideal:.3} of the ideal, {report:?}"
            );
        }
    }
}

#[test]
fn random_429s_never_pace_the_client_and_lose_no_call() {
    // A server that limits nothing but answers a tenth of requests 429 (`Retry-After: 1`):
    // the client-side throttling ratio never takes that for a limiter, so only the
    // rejected requests wait. Issue #20 asks for at most 6 s for 2,000 calls 64 at a time
    // on loopback; here 1,000 (answers in 1 to 60 ms).
    for seed in 0..5 {
        let mut server = AtRandom {
            rng: fastrand::Rng::with_seed(seed),
            unavailable: 0.0,
            hang: 0.0,
        };
        let report = batch(&mut server, false, 1000, 64);
        eprintln!("429s at random, seed {seed}: {report:?}");
        assert_eq!(report.failed, 0, "{report:?}");
        assert!(!report.paced, "{report:?}");
        let wall = report.vs_ideal * 1000.0 / server.rate();
        assert!(wall <= 6.0, "{wall:.2} s: {report:?}");
    }
}

#[test]
fn random_429s_among_503s_and_hangs_do_not_stall_calls_behind_the_pacer() {
    // The load example's mix (10% 429 asking for a second, about 30% 503, 5% hanging past
    // the 300 ms attempt timeout, answers spread over 1 to 60 ms, a 10 s deadline, the
    // default budget) and harsher ones, over many draws: the 503s got past the limiter
    // (there is none), so the ratio of rejections stays low and the pacer never starts;
    // calls are sent, not failed behind a pace (the budget fails some fast on 503s and
    // hangs).
    let policy = RetryPolicy::default()
        .with_attempt_timeout(Duration::from_millis(300))
        .with_initial_backoff(Duration::from_millis(50))
        .with_deadline(Duration::from_secs(10));
    for (unavailable, hang) in [(0.33, 0.08), (0.5, 0.15), (0.6, 0.2), (0.7, 0.0)] {
        for seed in 0..25 {
            let mut server = AtRandom {
                rng: fastrand::Rng::with_seed(seed),
                unavailable,
                hang,
            };
            let report = batch_with(policy.clone(), &mut server, false, 1000, 64);
            let context = format!("{unavailable} 503s, {hang} hangs, seed {seed}: {report:?}");
            assert!(report.requests_per_call >= 1.0, "{context}");
            assert!(!report.paced, "{context}");
            if unavailable < 0.4 {
                assert!(report.failed < 450, "{context}");
            }
        }
    }
}

#[test]
fn limiters_in_front_of_a_failing_service_are_learned_at_their_pace() {
    // A third of what each limiter lets through fails with a 503 (retried within the
    // budget). Counting only successes as what got through read each limiter as a third
    // slower, and every later 429 cut the pace again: the small-burst bucket took 2.3x the
    // ideal time, the fixed window 1.85x.
    for shape in 0..shapes().len() {
        let mut worst: f64 = 0.0;
        for seed in 0..5 {
            let (name, limiter) = shapes().swap_remove(shape);
            let mut server = BehindFailures {
                limiter,
                rng: fastrand::Rng::with_seed(seed),
                share: 0.3,
            };
            let report = batch(&mut server, false, 1000, 64);
            eprintln!("{name} behind 30% 503s, seed {seed}: {report:?}");
            assert!(!report.stepped_aside, "{name}, seed {seed}: {report:?}");
            assert!(
                report.requests_per_call <= 1.3,
                "{name}, seed {seed}: {report:?}"
            );
            worst = worst.max(report.vs_ideal);
        }
        // The small-burst bucket takes up to 1.50x: while its callers wait out 503
        // backoffs and `Retry-After`s the client sends less than the limit, and the best
        // delivery rate the law is cut to reads low; CUBIC then takes a few seconds to climb
        // back (it took 1.35x under the pacer this replaced).
        let bound = if shape == 1 { 1.55 } else { 1.25 };
        assert!(worst <= bound, "shape {shape}: {worst:.3}");
    }
}

#[test]
fn a_queue_a_minute_long_loses_no_call_when_the_pace_changes() {
    // 64 calls in flight against 1 or 2 a second: each call waits about a minute behind the
    // pacer, half its 120 s deadline. Every change of pace used to drop the queue's order
    // (each holder took a new slot at the back when it woke) and a request rejected after
    // its turn went to the back too: pushed back twice, a call passed its deadline. 20 of
    // 300 calls failed against 1 a second holding 5, 23 against 1 a second holding 1.
    for (rate, burst, stated) in [
        (1.0, 5.0, true),
        (1.0, 1.0, true),
        (1.0, 5.0, false),
        (1.0, 1.0, false),
        (2.0, 5.0, false),
    ] {
        let mut limiter = TokenBucket::new(rate as u32, 1, burst as u32);
        let report = batch(&mut limiter, stated, 300, 64);
        let name = format!("bucket {rate}/s, burst {burst}, stated {stated}");
        eprintln!("{name}: {report:?}");
        assert_eq!(report.failed, 0, "{name}: {report:?}");
        if !stated {
            // Learned, 1 a second holding 1 lost 235 of 300 calls: its first second's
            // cuts read a delivery rate from one or two answers, took the pace to its
            // floor, and the queue ran past the calls' deadlines.
            continue;
        }
        assert!(report.requests_per_call <= 1.32, "{name}: {report:?}");
        assert!(report.vs_ideal <= 1.15, "{name}: {report:?}");
        assert!(!report.stepped_aside, "{name}: {report:?}");
    }
}

/// One route of a client in [`routes_batch`]: its URL, the limiter in front of it (an index
/// into the limiters, several routes may share one; `None` for none), its calls and how
/// many of them are in flight at a time.
struct Route {
    url: &'static str,
    limiter: Option<usize>,
    calls: usize,
    callers: usize,
}

#[derive(Debug)]
struct RouteReport {
    /// From the first call to the end of the route's last.
    took: Duration,
    requests: usize,
    failed: usize,
    /// The longest an attempt of the route was held by the client's rate limiting.
    held_most: Duration,
}

/// The calls of several routes through one client (default policy and budget, partitioned
/// by route), each driven as the middleware drives it, against limiters that may sit in
/// front of one route or several.
fn routes_batch(
    limiters: &mut [Box<dyn Limiter>],
    stated: bool,
    routes: &[Route],
) -> (Vec<RouteReport>, ClientRetryState) {
    let state = ClientRetryState::with_budget(RetryBudget::default());
    let reports = routes_batch_in(&state, limiters, stated, routes);
    (reports, state)
}

fn routes_batch_in(
    state: &ClientRetryState,
    limiters: &mut [Box<dyn Limiter>],
    stated: bool,
    routes: &[Route],
) -> Vec<RouteReport> {
    let policy = RetryPolicy::default();
    let begin = Duration::from_secs(100);
    let start = |route: &Route, n: usize, now: Duration| -> RetryRun {
        let url = format!("{}?call={n}", route.url);
        policy.start_for(
            Idempotency::Idempotent,
            state,
            &Method::GET,
            &url,
            now,
            n as u64,
        )
    };
    let mut reports: Vec<RouteReport> = routes
        .iter()
        .map(|_| RouteReport {
            took: Duration::ZERO,
            requests: 0,
            failed: 0,
            held_most: Duration::ZERO,
        })
        .collect();
    let mut started = vec![0usize; routes.len()];
    // Per caller: its route, its run and what happens next.
    let mut callers: Vec<(usize, Option<(RetryRun, Next)>)> = Vec::new();
    let mut events = BinaryHeap::new();
    let mut sequence = 0u64;
    for (r, route) in routes.iter().enumerate() {
        for _ in 0..route.callers.min(route.calls) {
            callers.push((r, Some((start(route, started[r], begin), Next::Ready))));
            started[r] += 1;
            events.push(Reverse((begin, sequence, callers.len() - 1)));
            sequence += 1;
        }
    }
    let mut steps = 0u64;
    let mut last_trace = u128::MAX;
    while let Some(Reverse((now, _, slot))) = events.pop() {
        steps += 1;
        assert!(steps < 10_000_000, "the batch must end");
        if std::env::var_os("PACE_TRACE").is_some() && (now - begin).as_millis() / 100 != last_trace
        {
            last_trace = (now - begin).as_millis() / 100;
            let rates: Vec<_> = routes
                .iter()
                .map(|r| {
                    let key = state.partitioning().key(&Method::GET, r.url);
                    state
                        .partition(&key)
                        .and_then(|p| p.pacer().rate())
                        .map(|(r, _)| r as u32)
                })
                .collect();
            let requests: Vec<_> = reports.iter().map(|r| r.requests).collect();
            eprintln!(
                "{:>7.3}s requests {requests:?} rates {rates:?} gate {:?}",
                (now - begin).as_secs_f64(),
                state.rate_limited_for(now)
            );
        }
        let r = callers[slot].0;
        let route = &routes[r];
        let Some((run, next)) = callers[slot].1.as_mut() else {
            continue;
        };
        let (mut ended, mut again) = (None, None);
        match std::mem::replace(next, Next::Ready) {
            Next::Ready => match run.before_attempt(now) {
                Ok(hold) if hold.is_zero() => {
                    reports[r].requests += 1;
                    let (verdict, latency) = match route.limiter {
                        Some(l) => (limiters[l].admit(now - begin), limiters[l].latency()),
                        None => (Ok(()), LATENCY),
                    };
                    *next = Next::Answer(verdict);
                    again = Some(now + latency);
                }
                Ok(hold) => again = Some(now + hold.min(MAX_NAP)),
                Err(_) => ended = Some(false),
            },
            Next::Answer(Ok(())) => {
                run.observe_rate_limit(RateLimitStatement::default());
                let status = StatusCode::OK;
                let decision = run.after_attempt(Outcome::Success { status }, now);
                assert!(matches!(decision, Decision::Stop(_)));
                ended = Some(true);
            }
            Next::Answer(Err(wait)) => {
                let statement = route
                    .limiter
                    .filter(|_| stated)
                    .map(|l| limiters[l].stated());
                let (error, headers) = rejection(wait, statement);
                run.observe_rate_limit(RateLimitStatement::from_headers(
                    &headers,
                    SystemTime::UNIX_EPOCH,
                ));
                match run.after_attempt(Outcome::Api(&error), now) {
                    Decision::Retry { wait, .. } => again = Some(now + wait),
                    Decision::Stop(_) => ended = Some(false),
                }
            }
            Next::Unavailable | Next::TimedOut => unreachable!("not modelled here"),
        }
        if let Some(ok) = ended {
            let Some((run, _)) = callers[slot].1.take() else {
                unreachable!()
            };
            let report = &mut reports[r];
            report.failed += usize::from(!ok);
            report.took = report.took.max(now - begin);
            let held = run.attempts().iter().map(|a| a.held).max();
            report.held_most = report.held_most.max(held.unwrap_or_default());
            if started[r] < route.calls {
                callers[slot].1 = Some((start(route, started[r], now), Next::Ready));
                started[r] += 1;
                again = Some(now);
            }
        }
        if let Some(when) = again {
            events.push(Reverse((when, sequence, slot)));
            sequence += 1;
        }
    }
    reports
}

/// The partition of a route's requests.
fn partition_of(state: &ClientRetryState, url: &str) -> Partition {
    let key = state.partitioning().key(&Method::GET, url);
    state
        .partition(&key)
        .expect("the route's partition is kept")
}

#[test]
fn an_unlimited_route_beside_a_limited_one_is_not_paced_at_its_limit() {
    // Issue #20: `/search` limited to 10 a second (429s stating it) beside an unlimited
    // `/items`, 16 callers each, through one client. With one window and one pacer for the
    // client, 3,000 `/items` calls took 318 s instead of 0.04 s.
    // The limit unstated too: `/search` is learned, and `/items`, never rejected, is
    // never merged with it.
    let routes = [
        Route {
            url: "https://api.example.com/v1/search",
            limiter: Some(0),
            calls: 300,
            callers: 16,
        },
        Route {
            url: "https://api.example.com/v1/items",
            limiter: None,
            calls: 3000,
            callers: 16,
        },
    ];
    let (mut alone, _) = routes_batch(&mut [], true, &routes[1..]);
    let alone = alone.remove(0);
    for stated in [true, false] {
        let mut limiters: Vec<Box<dyn Limiter>> = vec![Box::new(TokenBucket::new(10, 1, 10))];
        let (both, state) = routes_batch(&mut limiters, stated, &routes);
        let (search, items) = (&both[0], &both[1]);
        let ideal = 300.0 / 10.0;
        let vs_ideal = search.took.as_secs_f64() / ideal;
        eprintln!(
            "stated {stated}: items alone {alone:?}, beside search {items:?}; search {search:?}, {vs_ideal:.3} of its ideal"
        );
        assert_eq!(items.failed + search.failed, 0, "{both:?}");
        assert_eq!(items.requests, 3000, "{items:?}");
        assert_eq!(items.held_most, Duration::ZERO, "{items:?}");
        assert!(
            items.took.as_secs_f64() <= alone.took.as_secs_f64() * 1.1 + 0.1,
            "{items:?} against {alone:?} alone"
        );
        let (search_partition, items_partition) = (
            partition_of(&state, routes[0].url),
            partition_of(&state, routes[1].url),
        );
        assert!(!search_partition.shares_limiter_with(&items_partition));
        assert!(search_partition.pacer().is_active());
        assert!(!items_partition.pacer().is_active());
        assert!(
            !state.pacer().is_active(),
            "the default partition is not used"
        );
        // Stated, as asked of the issue; learned, a regression bound (the limiter's burst
        // of 10 is a third of a second of the ideal 30 s, and a learned pace costs a few
        // probes, as `learned_limits_lose_no_call_and_keep_the_pacer_on` measures).
        let bound = if stated { 1.1 } else { 1.25 };
        assert!(vs_ideal <= bound, "{vs_ideal:.3}: {search:?}");
    }
}

#[test]
fn routes_behind_one_key_wide_limit_share_one_limiter() {
    // One bucket, 30 a second, in front of three routes (a limit per API key): the three
    // partitions are merged, stated on the first 429s that state the same quota, unstated
    // on 429s that come together with nothing through between, and paced together at the
    // bucket's rate.
    let routes: Vec<Route> = ["/v1/search", "/v1/images/7/analysis", "/v1/items"]
        .into_iter()
        .map(|path| Route {
            url: Box::leak(format!("https://api.example.com{path}").into_boxed_str()),
            limiter: Some(0),
            calls: 300,
            callers: 16,
        })
        .collect();
    for stated in [true, false] {
        let mut limiters: Vec<Box<dyn Limiter>> = vec![Box::new(TokenBucket::new(30, 1, 30))];
        let (reports, state) = routes_batch(&mut limiters, stated, &routes);
        let took = reports.iter().map(|r| r.took).max().unwrap_or_default();
        let requests: usize = reports.iter().map(|r| r.requests).sum();
        let ideal = 900.0 / 30.0;
        let vs_ideal = took.as_secs_f64() / ideal;
        let per_call = requests as f64 / 900.0;
        eprintln!(
            "key-wide, stated {stated}: {vs_ideal:.3} of the ideal, {per_call:.3} requests per call, {reports:?}"
        );
        let first = partition_of(&state, routes[0].url);
        for route in &routes[1..] {
            assert!(
                partition_of(&state, route.url).shares_limiter_with(&first),
                "stated {stated}"
            );
        }
        assert!(reports.iter().all(|r| r.failed == 0), "{reports:?}");
        assert!(per_call <= 1.1, "stated {stated}: {reports:?}");
        assert!(
            vs_ideal <= 1.05,
            "stated {stated}, {vs_ideal:.3}: {reports:?}"
        );
    }
}

#[test]
fn routes_with_limits_of_their_own_keep_limiters_of_their_own() {
    // `/search` at 10 a second and `/upload` at 5, each its own bucket stating its own
    // limit: different quotas are different limiters, never merged.
    let routes = [
        Route {
            url: "https://api.example.com/v1/search",
            limiter: Some(0),
            calls: 300,
            callers: 16,
        },
        Route {
            url: "https://api.example.com/v1/upload",
            limiter: Some(1),
            calls: 150,
            callers: 16,
        },
    ];
    let mut limiters: Vec<Box<dyn Limiter>> = vec![
        Box::new(TokenBucket::new(10, 1, 10)),
        Box::new(TokenBucket::new(5, 1, 5)),
    ];
    let (reports, state) = routes_batch(&mut limiters, true, &routes);
    eprintln!("own limits: {reports:?}");
    let (search, upload) = (
        partition_of(&state, routes[0].url),
        partition_of(&state, routes[1].url),
    );
    assert!(!search.shares_limiter_with(&upload));
    for report in &reports {
        assert_eq!(report.failed, 0, "{reports:?}");
        assert!(report.took.as_secs_f64() <= 30.0 * 1.1, "{reports:?}");
    }
}

#[test]
fn equal_limits_of_their_own_are_kept_apart_when_merging_is_off() {
    // Two routes, each its own bucket stating the same "10 calls per 1 seconds": by
    // default their equal statements merge them, and they are paced at 10 a second
    // together (about 60 s for what takes 30). `Partitioning::merging(false)` keeps them
    // apart.
    let routes = [
        Route {
            url: "https://api.example.com/v1/search",
            limiter: Some(0),
            calls: 300,
            callers: 16,
        },
        Route {
            url: "https://api.example.com/v1/upload",
            limiter: Some(1),
            calls: 300,
            callers: 16,
        },
    ];
    let buckets = || -> Vec<Box<dyn Limiter>> {
        vec![
            Box::new(TokenBucket::new(10, 1, 10)),
            Box::new(TokenBucket::new(10, 1, 10)),
        ]
    };
    let (merged, state) = routes_batch(&mut buckets(), true, &routes);
    assert!(
        partition_of(&state, routes[0].url)
            .shares_limiter_with(&partition_of(&state, routes[1].url))
    );
    let apart = ClientRetryState::new(
        Some(RetryBudget::default()),
        Partitioning::per_route().merging(false),
    );
    let reports = routes_batch_in(&apart, &mut buckets(), true, &routes);
    eprintln!("equal limits of their own, merged: {merged:?}; apart: {reports:?}");
    assert!(
        !partition_of(&apart, routes[0].url)
            .shares_limiter_with(&partition_of(&apart, routes[1].url))
    );
    for report in &reports {
        assert_eq!(report.failed, 0, "{reports:?}");
        assert!(report.took.as_secs_f64() <= 30.0 * 1.1, "{reports:?}");
    }
}

/// Answers that take 1 to 10 ms, drawn per request: a first batch over new connections
/// starts spread out, as on loopback, rather than in one instant.
struct Spread {
    limiter: Box<dyn Limiter>,
    rng: fastrand::Rng,
}

impl Limiter for Spread {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        self.limiter.admit(now)
    }

    fn latency(&mut self) -> Duration {
        Duration::from_micros(self.rng.u64(1_000..=10_000))
    }

    fn rate(&self) -> f64 {
        self.limiter.rate()
    }

    fn stated(&self) -> (u32, u64) {
        self.limiter.stated()
    }
}

#[test]
fn a_limit_that_drops_then_rises_is_followed_both_ways() {
    // Issue #20: a bucket at 50/s (holding 50), 20/s (holding 20) from 5 s, 50/s again from
    // 15 s; 1,000 calls 64 at a time. Within 1.15x of the ideal (the rate's integral: 26 s)
    // and at most 10 429s from the drop on, stated or not. (Held in whole holds rather than
    // naps, the probe's queue left in a burst after its 429: 32.)
    const STEPS: &[(u64, u32)] = &[(0, 50), (5, 20), (15, 50)];
    let ideal = ChangingBucket::ideal(STEPS, 1000);
    assert!((ideal - 26.0).abs() < 1e-9, "{ideal}");
    for stated in [true, false] {
        let mut limiter = ChangingBucket::new(STEPS);
        let report = batch(&mut limiter, stated, 1000, 64);
        let after_drop = report.rejections.from(Duration::from_secs(5));
        let vs_ideal = report.wall.as_secs_f64() / ideal;
        eprintln!(
            "50 -> 20 -> 50/s, stated {stated}: {vs_ideal:.3}x, {after_drop} 429s from the drop, {report:?}"
        );
        assert_eq!(report.failed, 0, "{report:?}");
        assert!(vs_ideal <= 1.15, "{vs_ideal:.3}x: {report:?}");
        // Where nothing states the limit, it is found by probing above it (CUBIC), and
        // each probe that finds it costs a rejection. A 429 among answers let through
        // within the recovery of the last cut lowers the rate the law climbs back to
        // (CUBIC's fast convergence, RFC 9438 section 4.7), so the probes at 20/s come
        // slower: 9 from the drop on here, against 14 when the law aimed back at the rate
        // it cut from (before any 429 among answers that got through could act within the
        // `Retry-After` of the last cut, one cut a second took 130 to 170).
        assert!(after_drop <= 10, "{after_drop} 429s: {report:?}");
        if !stated {
            assert!(report.requests_per_call <= 1.3, "{report:?}");
        }
    }
}

#[test]
fn an_unstated_window_sends_a_windows_worth_at_each_start() {
    // Issue #20: 20 calls per 10 s window, not stated, 80 calls 16 at a time: within 1.2x
    // of the ideal, 30 s (the last window's start).
    let mut limiter = FixedWindow::new(20, 10);
    let report = batch(&mut limiter, false, 80, 16);
    eprintln!("20 per 10 s, learned: {report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(report.wall.as_secs_f64() <= 30.0 * 1.2, "{report:?}");
}

#[test]
fn a_stated_limit_of_one_call_per_two_seconds_is_met() {
    // Issue #20: a bucket of one call per 2 s holding 1, stated, 15 calls 8 at a time:
    // within 1.1x of 28 s (the first call at 0, the last at 28 s) and at most 1.55 requests
    // per call (the 7 sent beside the first, before a 429 states the limit, are the floor).
    let mut limiter = TokenBucket::new(1, 2, 1);
    let report = batch(&mut limiter, true, 15, 8);
    eprintln!("1 per 2 s, stated: {report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(report.wall.as_secs_f64() <= 28.0 * 1.1, "{report:?}");
    assert!(report.requests_per_call <= 1.55, "{report:?}");
}

#[test]
fn a_stated_window_met_in_a_burst_is_paced_as_a_window() {
    // A moving (sliding-log) window of 50 per second, stated, its 429s slower than its
    // successes: the first round trip is all rejected, the rejected requests come back
    // together after their `Retry-After` and fill the window at once. Paced as a bucket
    // after that burst, every request of the next second is rejected (the window is full
    // until the burst is a second old): 1.07x on loopback against slowapi. The first request
    // of the pace rejected with nothing let through shows a window; it is then paced as
    // one. A fixed window the same way.
    type Make = fn() -> Box<dyn Limiter>;
    let shapes: [(&str, Make); 2] = [
        ("sliding window 50 per 1 s", || {
            Box::new(SlidingLog::new(50, 1))
        }),
        ("fixed window 50 per 1 s", || {
            Box::new(FixedWindow::new(50, 1))
        }),
    ];
    for (name, make) in shapes {
        for seed in 0..5 {
            let mut limiter = OutOfOrder::rejections_late(make(), seed);
            let report = batch(&mut limiter, true, 1000, 64);
            eprintln!("{name}, 429s slower than successes, seed {seed}: {report:?}");
            assert_eq!(report.failed, 0, "{name}: {report:?}");
            // A window's worth at each second from the first: under the ideal, which
            // counts the rate alone (the bucket's pace gave 1.02x and 1.05x, 1.1 per call).
            assert!(report.vs_ideal <= 1.0, "{name}: {report:?}");
            assert!(report.requests_per_call <= 1.08, "{name}: {report:?}");
        }
    }
}

#[test]
fn a_window_closed_for_seconds_lets_through_one_burst_at_its_opening() {
    // A fixed window of 100 per 5 s, stated, 1,000 calls 64 at a time, answers spread over
    // 1 to 10 ms as on loopback: the 429s of a burst that found the window full arrive
    // over several milliseconds, each asking the client to wait for the opening. The
    // requests queued for the opening are the window's 100; re-spacing the queue at each
    // of those 429s must not count them as gone (they have not left: the window is
    // closed), or the next opening lets through more than its 100, and each extra is
    // rejected, window after window (1.18-1.23 requests per call here; 1.2-1.3 on
    // loopback).
    for seed in 0..5 {
        let mut limiter = Spread {
            limiter: Box::new(FixedWindow::new(100, 5)),
            rng: fastrand::Rng::with_seed(seed),
        };
        let report = batch(&mut limiter, true, 1000, 64);
        eprintln!("fixed window 100 per 5 s, spread answers, seed {seed}: {report:?}");
        assert_eq!(report.failed, 0, "seed {seed}: {report:?}");
        assert!(report.requests_per_call <= 1.06, "seed {seed}: {report:?}");
        assert!(report.vs_ideal <= 1.05, "seed {seed}: {report:?}");
    }
}

#[test]
fn a_small_burst_bucket_is_met_stated_and_learned_over_many_draws() {
    // Issue #20: 50/s holding 5, 1,000 calls 64 at a time, answers spread over 1 to 10 ms:
    // stated within 1.05x; learned within 1.3x in at least 19 of 20 draws.
    let mut learned_within = 0;
    for seed in 0..20 {
        for stated in [true, false] {
            let mut limiter = Spread {
                limiter: Box::new(TokenBucket::new(50, 1, 5)),
                rng: fastrand::Rng::with_seed(seed),
            };
            let report = batch(&mut limiter, stated, 1000, 64);
            eprintln!("50/s holding 5, stated {stated}, seed {seed}: {report:?}");
            assert_eq!(report.failed, 0, "seed {seed}: {report:?}");
            if stated {
                assert!(report.vs_ideal <= 1.05, "seed {seed}: {report:?}");
            } else {
                learned_within += usize::from(report.vs_ideal <= 1.3);
            }
        }
    }
    assert!(learned_within >= 19, "{learned_within} of 20");
}

#[test]
fn open_loop_arrivals_under_a_stated_limit_wait_little_more_than_the_limit_makes_them() {
    // Issue #20: requests arriving at random (Poisson) at 80% of a stated 50/s, to a bucket
    // holding 50: at most 50 ms added to the p99 latency that a client knowing the bucket
    // exactly would have (none: the bucket never rejects them). Over several draws. (A
    // bucket holding 5 under the same statement rejects the draws' clusters, which the
    // statement, 50 at once, allows: that is the small-burst row of the batch tests.)
    let burst = 50.0;
    for seed in 0..5 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut at = Duration::ZERO;
        let arrivals: Vec<Duration> = (0..2000)
            .map(|_| {
                // Exponential gaps of mean 1/40 s.
                at += Duration::from_secs_f64(-(1.0 - rng.f64()).ln() / 40.0);
                at
            })
            .collect();
        let limited = open_loop(&mut TokenBucket::new(50, 1, burst as u32), true, &arrivals);
        // What a client that knew the bucket exactly would wait: each request at its
        // arrival or when the bucket has a token, whichever is later (GCRA at 50/s).
        let (interval, mut tat) = (Duration::from_millis(20), Duration::ZERO);
        let tolerance = interval * (burst as u32 - 1);
        let ideal = Latencies(
            arrivals
                .iter()
                .map(|&arrival| {
                    let sent = arrival.max(tat.saturating_sub(tolerance));
                    tat = tat.max(sent) + interval;
                    sent - arrival + LATENCY
                })
                .collect(),
        );
        let added = limited
            .latencies
            .quantile(0.99)
            .saturating_sub(ideal.quantile(0.99));
        eprintln!("Poisson at 40/s, holding {burst}, seed {seed}: {limited:?}; ideal: {ideal:?}");
        assert_eq!(limited.failed, 0, "{limited:?}");
        assert!(added <= Duration::from_millis(50), "{added:?}: {limited:?}");
    }
}

/// A limiter that other clients on the same key exhaust for a while (what is left for this
/// one: `during`), then leave: from `until` on, everything is admitted.
struct Crowded {
    during: TokenBucket,
    until: Duration,
}

impl Limiter for Crowded {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        if now < self.until {
            Model::admit(&mut self.during, now)
        } else {
            Ok(())
        }
    }

    fn rate(&self) -> f64 {
        Model::rate(&self.during)
    }

    fn stated(&self) -> (u32, u64) {
        let (calls, per) = self.during.statement();
        (calls, per.into())
    }
}

#[test]
fn a_learned_pace_at_its_floor_climbs_when_the_neighbours_leave() {
    // Four processes on one key without a store: the others took nearly all of it (one call
    // every 2 s left for this one) for 20 s, then finished. The law had fallen to its floor
    // (half a request a second); capped at twice what was sent in the last second (0 or 1
    // by turns at that pace), it never climbed, and with requests always waiting the pace
    // never went quiet: one process of the fleet example took 421 s where the others took
    // 15. Once the limiter admits everything, the pace must climb back within seconds.
    let mut limiter = Crowded {
        during: TokenBucket::new(1, 2, 1),
        until: Duration::from_secs(20),
    };
    let report = batch(&mut limiter, false, 300, 16);
    eprintln!("crowded for 20 s, then free: {report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(report.paced, "{report:?}");
    // About 10 calls go through in the 20 s; the other 290 need a few seconds of climb.
    assert!(report.wall <= Duration::from_secs(45), "{report:?}");
}

#[test]
fn a_first_batch_still_going_out_when_the_limiter_is_found_is_part_of_the_load() {
    // On loopback the 64 callers' first requests do not always leave together: in some
    // runs a third of them had been answered (5 let through, 15 rejected) before the rest
    // left. Read from those 21, the learned pace started at 6 a second against a limit of
    // 50, and the late 43 waited in its queue while CUBIC climbed: 1.22x the ideal where
    // the batch leaving together gives 1.06-1.10x. The late ones, whose connections took
    // longer, are part of the load that overran the limiter, counted up to as many again
    // as were sent (the AWS SDKs' cap): 1.13-1.14x here, 1.18-1.19x without them.
    let mut reports = Vec::new();
    for seed in 0..5 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let starts: Vec<Duration> = (0..64)
            .map(|slot| {
                let late = if slot < 21 { 0 } else { 15_000 };
                Duration::from_micros(late + rng.u64(0..1_000))
            })
            .collect();
        let mut limiter = Spread {
            limiter: Box::new(TokenBucket::new(50, 1, 5)),
            rng: fastrand::Rng::with_seed(seed),
        };
        let report = drive(
            RetryPolicy::default(),
            &mut limiter,
            false,
            1000,
            64,
            &starts,
        );
        eprintln!(
            "50/s holding 5, limit not stated, a first batch in two parts, seed {seed}: {report:?}"
        );
        reports.push(report);
    }
    for report in &reports {
        assert_eq!(report.failed, 0, "{reports:?}");
        assert!(report.vs_ideal <= 1.15, "{reports:?}");
    }
}

//! One conformance suite for both facades: every scenario runs through the async client
//! (errors-http) and the blocking client (errors-blocking) against the testkit's mock API.
//! Each facade is checked against the retry table itself (outcome, stop reason, attempts and
//! the wait before each), and the two must agree: same outcome, same attempts, same codes,
//! waits within a small tolerance. (The blocking client drives the async one, so agreement
//! alone would prove the wrapper, not the behaviour.)

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use errors_core::RetryPolicy;
use errors_core::clock::{Clock, ManualClock};
use errors_core::retry::{RetryBudget, StopReason};
use errors_http::{ApiClient, ApiResponse, Error, SafeToRepeat};
use errors_testkit::{BlockingMockApi, FaultServer, Fixture, Script, catalogue, fixtures};
use reqwest::Method;

/// Waits may differ by scheduling only: both clients draw the same jitter from the same seed.
const TOLERANCE: Duration = Duration::from_millis(150);

struct Scenario {
    name: String,
    steps: Vec<Fixture>,
    method: Method,
    safe_to_repeat: bool,
    policy: RetryPolicy,
    budget: Option<RetryBudget>,
    calls: usize,
    base_url: Option<String>,
    /// The wall clock both clients read `Retry-After` dates against.
    clock: Option<Arc<dyn Clock>>,
}

impl Scenario {
    fn new(name: impl Into<String>, steps: Vec<Fixture>) -> Scenario {
        Scenario {
            name: name.into(),
            steps,
            method: Method::GET,
            safe_to_repeat: false,
            policy: RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(80)),
            budget: None,
            calls: 1,
            base_url: None,
            clock: None,
        }
    }
    fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }
    fn safe(mut self) -> Self {
        self.safe_to_repeat = true;
        self
    }
    fn policy(mut self, f: impl FnOnce(RetryPolicy) -> RetryPolicy) -> Self {
        self.policy = f(self.policy);
        self
    }
}

/// What must agree between the clients, per logical call.
#[derive(Debug, PartialEq)]
struct Outcome {
    ok: bool,
    status: Option<u16>,
    stop: Option<StopReason>,
    attempts: Vec<(Option<u16>, Option<String>)>,
    request_id: Option<String>,
}

fn outcome(result: &Result<ApiResponse, Error>) -> (Outcome, Vec<Duration>) {
    let (records, stop, status, request_id) = match result {
        Ok(r) => (
            r.attempts.as_slice(),
            r.attempts.last().and_then(|a| a.stop),
            Some(r.status.as_u16()),
            None,
        ),
        Err(e) => (
            e.attempts(),
            e.stop_reason(),
            e.status().map(|s| s.as_u16()),
            e.request_id().map(str::to_owned),
        ),
    };
    let attempts = records
        .iter()
        .map(|a| (a.status, a.code.as_ref().map(|c| c.as_str().to_owned())))
        .collect();
    // The wait the policy decided: what was waited, less any hold for the client's pace
    // (after a 429 the pacer may hold a retry a little longer; that is the pace's business).
    let waits = records
        .iter()
        .map(|a| a.waited.saturating_sub(a.held))
        .collect();
    (
        Outcome {
            ok: result.is_ok(),
            status,
            stop,
            attempts,
            request_id,
        },
        waits,
    )
}

fn serve(scenario: &Scenario) -> (BlockingMockApi, String) {
    let api = BlockingMockApi::start();
    let mut script = Script::new();
    for step in &scenario.steps {
        script = script.then(step.clone());
    }
    api.mount_script(script);
    let base = scenario.base_url.clone().unwrap_or_else(|| api.uri());
    (api, base)
}

fn run_async(scenario: &Scenario) -> Vec<Result<ApiResponse, Error>> {
    let (_api, base) = serve(scenario);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut builder = ApiClient::builder()
            .base_url(base)
            .policy(scenario.policy.clone())
            .budget(scenario.budget.as_ref().map(clone_budget))
            .jitter_seed(11);
        if let Some(clock) = &scenario.clock {
            builder = builder.clock(clock.clone());
        }
        let client = builder.build().unwrap();
        let mut results = Vec::new();
        for _ in 0..scenario.calls {
            let mut request = client.request(scenario.method.clone(), "v1/resource");
            if scenario.safe_to_repeat {
                request = request.with_extension(SafeToRepeat);
            }
            results.push(client.send(request).await);
        }
        results
    })
}

fn run_blocking(scenario: &Scenario) -> Vec<Result<ApiResponse, Error>> {
    let (_api, base) = serve(scenario);
    let mut builder = errors_blocking::ApiClient::builder()
        .base_url(base)
        .policy(scenario.policy.clone())
        .budget(scenario.budget.as_ref().map(clone_budget))
        .jitter_seed(11);
    if let Some(clock) = &scenario.clock {
        builder = builder.clock(clock.clone());
    }
    let client = builder.build().unwrap();
    (0..scenario.calls)
        .map(|_| {
            let mut request = client.request(scenario.method.clone(), "v1/resource");
            if scenario.safe_to_repeat {
                request = request.with_extension(SafeToRepeat);
            }
            client.send(request)
        })
        .collect()
}

/// Budgets are not Clone (they hold shared counters); make an equal fresh one per client.
fn clone_budget(budget: &RetryBudget) -> RetryBudget {
    RetryBudget::new(budget.available() as u32, 0.0)
}

fn check(scenario: &Scenario) -> Vec<Outcome> {
    let a = run_async(scenario);
    let b = run_blocking(scenario);
    let mut outcomes = Vec::new();
    for (call, (a, b)) in a.iter().zip(&b).enumerate() {
        let (oa, wa) = outcome(a);
        let (ob, wb) = outcome(b);
        assert_eq!(
            oa, ob,
            "{} (call {call}): the facades disagree",
            scenario.name
        );
        for (i, (x, y)) in wa.iter().zip(&wb).enumerate() {
            let diff = if x > y { *x - *y } else { *y - *x };
            assert!(
                diff <= TOLERANCE,
                "{} (call {call}) attempt {i}: waits {x:?} vs {y:?}",
                scenario.name
            );
        }
        outcomes.push(oa);
    }
    outcomes
}

/// What the retry table promises for one row: the outcome, why the call stopped, and the
/// wait before each attempt (one range per attempt, so also how many attempts).
struct Row {
    scenario: Scenario,
    ok: bool,
    stop: StopReason,
    waits: Vec<(Duration, Duration)>,
}

fn row(
    scenario: Scenario,
    ok: bool,
    stop: StopReason,
    waits: impl IntoIterator<Item = (Duration, Duration)>,
) -> Row {
    Row {
        scenario,
        ok,
        stop,
        waits: waits.into_iter().collect(),
    }
}

/// No wait: the first attempt.
fn at_once() -> (Duration, Duration) {
    (Duration::ZERO, Duration::ZERO)
}

/// The full-jitter backoff before retry `k` (0 for the first) under `Scenario::new`'s policy:
/// below a ceiling of 20 ms doubling up to 80 ms.
fn backoff(k: u32) -> (Duration, Duration) {
    let ceiling = Duration::from_millis(20 * 2u64.pow(k)).min(Duration::from_millis(80));
    (Duration::ZERO, ceiling)
}

/// A server-requested wait: never shorter, at most 10% longer.
fn asked(secs: u64) -> (Duration, Duration) {
    let wait = Duration::from_secs(secs);
    (wait, wait.mul_f64(1.1))
}

/// Checks one facade's result against the row, on its own.
fn check_row(facade: &str, row: &Row, result: &Result<ApiResponse, Error>) {
    let name = &row.scenario.name;
    let (o, waits) = outcome(result);
    assert_eq!(o.ok, row.ok, "{name} ({facade}): {o:?}");
    assert_eq!(o.stop, Some(row.stop), "{name} ({facade}): {o:?}");
    assert_eq!(
        waits.len(),
        row.waits.len(),
        "{name} ({facade}): attempts {o:?}, waits {waits:?}"
    );
    for (i, (wait, (min, max))) in waits.iter().zip(&row.waits).enumerate() {
        assert!(
            wait >= min && wait <= max,
            "{name} ({facade}) attempt {i}: waited {wait:?}, the table says {min:?}..={max:?}"
        );
    }
}

fn check_rows(rows: &[Row]) {
    for row in rows {
        let a = run_async(&row.scenario);
        let b = run_blocking(&row.scenario);
        check_row("async", row, &a[0]);
        check_row("blocking", row, &b[0]);
        // And the two agree with each other.
        assert_eq!(
            outcome(&a[0]).0,
            outcome(&b[0]).0,
            "{}: the facades disagree",
            row.scenario.name
        );
    }
}

#[test]
fn the_retry_table() {
    let hang = || fixtures::hang(Duration::from_secs(5));
    let attempt_timeout = |p: RetryPolicy| p.with_attempt_timeout(Duration::from_millis(200));
    let rows = [
        row(
            Scenario::new(
                "429 retry-after 86400",
                vec![fixtures::rate_limited().with_retry_after_secs(86_400)],
            ),
            false,
            StopReason::RetryAfterTooLong {
                requested_ms: 86_400_000,
            },
            [at_once()],
        ),
        row(
            Scenario::new(
                "429 without retry-after",
                vec![Fixture::empty(429), fixtures::ok()],
            )
            .method(Method::POST),
            true,
            StopReason::Succeeded,
            [at_once(), backoff(0)],
        ),
        row(
            Scenario::new(
                "usage limit",
                vec![fixtures::usage_limit_exceeded(), fixtures::ok()],
            ),
            false,
            StopReason::NotRetryable,
            [at_once()],
        ),
        row(
            Scenario::new(
                "storage quota",
                vec![fixtures::storage_quota_exceeded(), fixtures::ok()],
            ),
            false,
            StopReason::NotRetryable,
            [at_once()],
        ),
        row(
            Scenario::new(
                "invalid key",
                vec![fixtures::invalid_api_key(), fixtures::ok()],
            ),
            false,
            StopReason::NotRetryable,
            [at_once()],
        ),
        row(
            Scenario::new(
                "503, 503, ok",
                vec![
                    fixtures::vlm_provider_error(),
                    fixtures::empty_unavailable(),
                    fixtures::ok(),
                ],
            ),
            true,
            StopReason::Succeeded,
            [at_once(), backoff(0), backoff(1)],
        ),
        row(
            Scenario::new(
                "500 on POST",
                vec![fixtures::internal_error_text(), fixtures::ok()],
            )
            .method(Method::POST),
            false,
            StopReason::UnsafeToRepeat,
            [at_once()],
        ),
        row(
            Scenario::new(
                "503 with retry-after on POST",
                vec![
                    fixtures::empty_unavailable().with_retry_after_secs(1),
                    fixtures::ok(),
                ],
            )
            .method(Method::POST),
            false,
            StopReason::UnsafeToRepeat,
            [at_once()],
        ),
        row(
            Scenario::new(
                "500 on POST marked safe",
                vec![fixtures::internal_error_text(), fixtures::ok()],
            )
            .method(Method::POST)
            .safe(),
            true,
            StopReason::Succeeded,
            [at_once(), backoff(0)],
        ),
        row(
            Scenario::new("501", vec![Fixture::empty(501), fixtures::ok()]),
            false,
            StopReason::NotRetryable,
            [at_once()],
        ),
        row(
            Scenario::new("505", vec![Fixture::empty(505), fixtures::ok()]),
            false,
            StopReason::NotRetryable,
            [at_once()],
        ),
        row(
            Scenario::new("html 502 until exhausted", vec![fixtures::proxy_html(502)])
                .policy(|p| p.with_max_retries(2)),
            false,
            StopReason::RetriesExhausted,
            [at_once(), backoff(0), backoff(1)],
        ),
        row(
            Scenario::new("timeout after sending, GET", vec![hang(), fixtures::ok()])
                .policy(attempt_timeout),
            true,
            StopReason::Succeeded,
            [at_once(), backoff(0)],
        ),
        row(
            Scenario::new("timeout after sending, POST", vec![hang(), fixtures::ok()])
                .method(Method::POST)
                .policy(attempt_timeout),
            false,
            StopReason::UnsafeToRepeat,
            [at_once()],
        ),
    ];
    check_rows(&rows);
}

/// The "429 with a short `Retry-After`" row, for any method: waited as asked, and counted
/// apart from the outage retries (there are none here), so it is the server-directed branch
/// and not the outage one a `Retry-After: 0` takes. One test per method, so they run side by
/// side.
fn short_retry_after_row(method: Method) {
    check_rows(&[row(
        Scenario::new(
            format!("429 retry-after 1, {method}"),
            vec![
                fixtures::rate_limited().with_retry_after_secs(1),
                fixtures::ok(),
            ],
        )
        .method(method)
        .policy(|p| p.with_max_retries(0)),
        true,
        StopReason::Succeeded,
        [at_once(), asked(1)],
    )]);
}

#[test]
fn the_retry_table_short_retry_after_get() {
    short_retry_after_row(Method::GET);
}

#[test]
fn the_retry_table_short_retry_after_post() {
    short_retry_after_row(Method::POST);
}

#[test]
fn retry_after_in_both_forms_is_waited_in_full() {
    // Both clients read dates against one frozen wall clock, and the date is made from it:
    // the wait asked is exactly 1 s whenever the request is sent.
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let at = |name: &str, fixture: Fixture| {
        let mut scenario = Scenario::new(name, vec![fixture, fixtures::ok()]);
        scenario.clock = Some(Arc::new(ManualClock::new(wall)));
        scenario
    };
    let rows = [
        row(
            at("seconds", fixtures::rate_limited().with_retry_after_secs(1)),
            true,
            StopReason::Succeeded,
            [at_once(), asked(1)],
        ),
        row(
            at(
                "http-date",
                fixtures::rate_limited().with_retry_after_date(wall + Duration::from_secs(1)),
            ),
            true,
            StopReason::Succeeded,
            [at_once(), asked(1)],
        ),
    ];
    check_rows(&rows);
}

#[test]
fn every_catalogue_entry() {
    for entry in catalogue() {
        let scenario = Scenario::new(entry.name.clone(), vec![entry.fixture.clone()])
            .policy(|p| p.with_max_retries(1).with_max_rate_limit_retries(1));
        let outcomes = check(&scenario);
        let first = &outcomes[0];
        assert!(!first.ok);
        assert_eq!(first.status, Some(entry.status), "{}", entry.name);
        assert_eq!(
            first.attempts[0].1.as_deref(),
            entry.code.as_ref().map(|c| c.as_str()),
            "{}",
            entry.name
        );
    }
}

#[test]
fn deadline_and_budget() {
    let hang = Scenario::new(
        "deadline 1 s against a hang",
        vec![fixtures::hang(Duration::from_secs(10))],
    )
    .policy(|p| p.with_deadline(Duration::from_secs(1)));
    let outcomes = check(&hang);
    assert_eq!(outcomes[0].stop, Some(StopReason::DeadlineExceeded));

    let mut outage = Scenario::new(
        "outage with a budget of 2 retries",
        vec![fixtures::empty_unavailable()],
    )
    .policy(|p| p.with_max_retries(3));
    outage.budget = Some(RetryBudget::new(2, 0.0));
    outage.calls = 3;
    let outcomes = check(&outage);
    let attempts: Vec<usize> = outcomes.iter().map(|o| o.attempts.len()).collect();
    assert_eq!(attempts, [3, 1, 1]);
    assert_eq!(outcomes[2].stop, Some(StopReason::BudgetExhausted));

    let mut refused =
        Scenario::new("connection refused", vec![fixtures::ok()]).policy(|p| p.with_max_retries(2));
    let refusing = FaultServer::refusing();
    refused.base_url = Some(format!("{}/", refusing.uri()));
    let outcomes = check(&refused);
    assert_eq!(outcomes[0].attempts.len(), 3);
    assert_eq!(outcomes[0].stop, Some(StopReason::RetriesExhausted));
}

/// Each call of `scenario` through one facade, with the moment it was made.
fn run_timed(scenario: &Scenario, blocking: bool) -> Vec<(Instant, ApiResponse)> {
    let (_api, base) = serve(scenario);
    let calls = scenario.calls;
    if blocking {
        let client = errors_blocking::ApiClient::builder()
            .base_url(base)
            .policy(scenario.policy.clone())
            .jitter_seed(11)
            .build()
            .unwrap();
        (0..calls)
            .map(|_| {
                let at = Instant::now();
                (
                    at,
                    client
                        .send(client.request(Method::GET, "v1/resource"))
                        .unwrap(),
                )
            })
            .collect()
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = ApiClient::builder()
                .base_url(base)
                .policy(scenario.policy.clone())
                .jitter_seed(11)
                .build()
                .unwrap();
            let mut results = Vec::new();
            for _ in 0..calls {
                let at = Instant::now();
                let response = client.send(client.request(Method::GET, "v1/resource"));
                results.push((at, response.await.unwrap()));
            }
            results
        })
    }
}

/// The pacing after a rate limit is the same through both facades (the blocking client
/// drives the async one, so it inherits the pacer): the rejected call waits its
/// `Retry-After`, the calls after it go at the stated pace (its burst, then one interval
/// apart), and each hold is in the attempt history.
#[test]
fn rate_limits_are_paced_the_same_through_both_facades() {
    let limited = fixtures::rate_limited()
        .with_message("Rate limit exceeded: 5 calls per 1 seconds")
        .with_retry_after_secs(1);
    let mut scenario = Scenario::new("stated limit, then paced", vec![limited, fixtures::ok()])
        .policy(|p| p.with_retry_after_jitter(0.0));
    scenario.calls = 10;
    let outcomes = check(&scenario);
    assert!(outcomes.iter().all(|o| o.ok), "{outcomes:?}");
    assert_eq!(outcomes[0].attempts.len(), 2);
    // 5 a second, less the margin: one slot every 204 ms.
    let interval = Duration::from_millis(204);
    for blocking in [false, true] {
        let calls = run_timed(&scenario, blocking);
        assert!(calls[0].1.attempts[1].waited >= Duration::from_secs(1));
        // When each later call was let go: when it was made, plus its hold. (Not the hold
        // alone: a call made late, after a slow round trip, is held that much less.)
        let slots: Vec<Instant> = calls[1..]
            .iter()
            .map(|(at, response)| {
                assert_eq!(response.attempts.len(), 1);
                let held = response.attempts[0].held;
                // Never held longer than one interval after the call before it. (The hold
                // is measured: it includes how late a loaded machine wakes the call, the
                // same 25 ms allowed for the gaps below; 216 ms was seen under a build.)
                assert!(held <= interval + Duration::from_millis(25), "{held:?}");
                *at + held
            })
            .collect();
        // The bucket refilled while the rejected call waited (4.9 of its 5): its retry and
        // the next three calls go at once, the fourth as the last fraction of a token
        // comes, then the pace holds each call one interval after the one before (less the
        // moments between making a call and the client reading its clock): not a herd.
        let held: Vec<Duration> = calls[1..].iter().map(|(_, r)| r.attempts[0].held).collect();
        assert!(
            held[..3].iter().all(|h| *h < Duration::from_millis(25)),
            "blocking: {blocking}: the burst was held: {held:?}"
        );
        for pair in slots[3..].windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= interval - Duration::from_millis(25),
                "blocking: {blocking}: calls let go {gap:?} apart: {held:?}"
            );
        }
    }
}

/// A 429 whose wait is beyond the maximum stops its own call, and still holds the client's
/// next call (for the maximum wait at most), through both facades.
#[test]
fn a_stopped_429_still_closes_the_window_through_both_facades() {
    let mut scenario = Scenario::new(
        "429 beyond the maximum wait, then another call",
        vec![
            fixtures::rate_limited().with_retry_after_secs(3600),
            fixtures::ok(),
        ],
    )
    .policy(|p| p.with_max_wait(Duration::from_secs(1)));
    scenario.calls = 2;
    let outcomes = check(&scenario);
    assert_eq!(
        outcomes[0].stop,
        Some(StopReason::RetryAfterTooLong {
            requested_ms: 3_600_000
        })
    );
    assert!(outcomes[1].ok);
    for run in [run_async(&scenario), run_blocking(&scenario)] {
        let second = &run[1].as_ref().unwrap().attempts[0];
        assert!(second.held >= Duration::from_millis(900), "{second:?}");
        // Measured: 10% of jitter, and up to 50 ms of a loaded machine's wake-up lateness.
        assert!(
            second.held <= Duration::from_millis(1100 + 50),
            "{second:?}"
        );
    }
}

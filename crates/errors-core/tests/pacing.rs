//! Rate limits as flow control: what the server states, the pacer, the shared window and how
//! a 429 is decided. Time is handed in as a `Duration` (the drivers' monotonic clock), and
//! dates come from a `ManualClock`: nothing here sleeps or reads a clock.

use std::time::{Duration, SystemTime};

use errors_core::clock::{Clock, ManualClock};
use errors_core::ratelimit::{RateLimitQuota, RateLimitStatement};
use errors_core::retry::{
    ClientRetryState, Decision, Outcome, RetryBudget, RetryReason, StopReason,
};
use errors_core::{ApiError, Idempotency, RetryPolicy};
use http::{HeaderMap, HeaderValue, StatusCode};

const MS: Duration = Duration::from_millis(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn rate_limited(message: &str, retry_after: Option<&str>) -> ApiError {
    let mut map = HeaderMap::new();
    if let Some(value) = retry_after {
        map.insert("retry-after", HeaderValue::from_str(value).unwrap());
    }
    let body = format!(
        r#"{{"error":{{"code":"RATE_LIMIT_ERROR","message":"{message}","details":{{}}}},"request_id":"req-1"}}"#
    );
    ApiError::parse(
        StatusCode::TOO_MANY_REQUESTS,
        &map,
        body.as_bytes(),
        SystemTime::UNIX_EPOCH,
    )
}

fn unavailable(retry_after: Option<&str>) -> ApiError {
    let mut map = HeaderMap::new();
    if let Some(value) = retry_after {
        map.insert("retry-after", HeaderValue::from_str(value).unwrap());
    }
    // Parsed in 2023, so the 1994 date is in the past.
    ApiError::parse(
        StatusCode::SERVICE_UNAVAILABLE,
        &map,
        b"",
        SystemTime::UNIX_EPOCH + secs(1_700_000_000),
    )
}

fn ok() -> Outcome<'static> {
    Outcome::Success {
        status: StatusCode::OK,
    }
}

// ---- what the server states ----

#[test]
fn the_apis_message_states_its_limit() {
    let cases = [
        ("Rate limit exceeded: 100 calls per 60 seconds", 100, 60),
        ("Rate limit exceeded: 50 calls per 1 seconds", 50, 1),
        ("rate limit exceeded: 1,000 requests per hour.", 1000, 3600),
        ("Too many requests (10 requests per minute)", 10, 60),
        ("Limit: 5 calls per 2 min", 5, 120),
        // The `limits` library, behind slowapi, says it without a noun.
        ("Rate limit exceeded: 50 per 1 second", 50, 1),
        ("20 per minute", 20, 60),
    ];
    for (message, limit, window) in cases {
        let quota = RateLimitQuota::from_message(message).unwrap_or_else(|| panic!("{message}"));
        assert_eq!(
            (quota.limit(), quota.window()),
            (limit, secs(window)),
            "{message}"
        );
    }
    // A count that is not followed by "per" states nothing.
    for message in [
        "Rate limit exceeded: 50",
        "per second",
        "50 calls",
        "0 per 0 seconds",
    ] {
        assert_eq!(RateLimitQuota::from_message(message), None, "{message}");
    }
    assert!(
        (RateLimitQuota::from_message(cases[0].0)
            .unwrap()
            .per_second()
            - 100.0 / 60.0)
            .abs()
            < 1e-9
    );
}

#[test]
fn absurd_or_missing_statements_are_not_believed() {
    for message in [
        "Rate limit exceeded",
        "Rate limit exceeded: 0 calls per 0 seconds",
        "Rate limit exceeded: 0 calls per 60 seconds",
        "Rate limit exceeded: 10 calls per 0 seconds",
        "Rate limit exceeded: -5 calls per 60 seconds",
        "Rate limit exceeded: 10 calls per 99999999999999999999 seconds",
        "Rate limit exceeded: 10 calls per 400 days",
        "Rate limit exceeded: 100 calls per fortnight",
        "Rate limit exceeded: 1e9 calls per 1 seconds",
        "",
    ] {
        assert_eq!(RateLimitQuota::from_message(message), None, "{message}");
    }
    // Huge but well-formed counts are kept (they only mean "fast").
    let huge = RateLimitQuota::from_message("18446744073709551615 calls per 1 second").unwrap();
    assert_eq!(huge.limit(), u64::MAX);
    // A long message is read only at its start, and never panics on a char boundary.
    let long = format!("{}: 5 calls per 1 second", "é".repeat(2000));
    assert_eq!(RateLimitQuota::from_message(&long), None);
}

#[test]
fn ietf_fields_of_every_draft_are_read() {
    let now = SystemTime::UNIX_EPOCH + secs(1_700_000_000);
    // Draft 8 and later: structured fields with named policies; the strictest one counts.
    let stated = RateLimitStatement::from_headers(
        &headers(&[
            (
                "RateLimit-Policy",
                r#""burst";q=100;w=1, "daily";q=1000;w=86400"#,
            ),
            ("RateLimit", r#""daily";r=3;t=50"#),
        ]),
        now,
    );
    assert_eq!(stated.quota(), RateLimitQuota::new(1000, secs(86_400)));
    assert_eq!(stated.remaining(), Some(3));
    assert_eq!(stated.reset(), Some(secs(50)));
    assert_eq!(stated.requested_wait(), None);
    // Draft 7.
    let stated = RateLimitStatement::from_headers(
        &headers(&[
            ("RateLimit-Policy", "10;w=60"),
            ("RateLimit", "limit=10, remaining=0, reset=42"),
        ]),
        now,
    );
    assert_eq!(stated.quota(), RateLimitQuota::new(10, secs(60)));
    assert_eq!(stated.requested_wait(), Some(secs(42)));
    // Drafts up to 6: separate fields, the window as a `w` parameter.
    let stated = RateLimitStatement::from_headers(
        &headers(&[
            ("RateLimit-Limit", "100, 100;w=60"),
            ("RateLimit-Remaining", "0"),
            ("RateLimit-Reset", "7"),
        ]),
        now,
    );
    assert_eq!(stated.quota(), RateLimitQuota::new(100, secs(60)));
    assert_eq!(stated.requested_wait(), Some(secs(7)));
}

#[test]
fn x_ratelimit_headers_are_read_with_a_reset_in_seconds_or_unix_time() {
    let clock = ManualClock::at_http_date("Tue, 14 Nov 2023 22:13:20 GMT").unwrap();
    let unix_now = clock
        .now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stated = RateLimitStatement::from_headers(
        &headers(&[
            ("X-RateLimit-Limit", "60"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", &(unix_now + 30).to_string()),
        ]),
        clock.now(),
    );
    // No window is stated, so no quota; the reset is 30 s ahead of the clock.
    assert_eq!(stated.quota(), None);
    assert_eq!(stated.requested_wait(), Some(secs(30)));
    clock.advance(secs(10));
    let later = RateLimitStatement::from_headers(
        &headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", &(unix_now + 30).to_string()),
        ]),
        clock.now(),
    );
    assert_eq!(later.requested_wait(), Some(secs(20)));
    // A fractional Unix time (as `limits` sends it) is rounded up; garbage after the point
    // is not a reset.
    let fractional = RateLimitStatement::from_headers(
        &headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", &format!("{}.6764777", unix_now + 30)),
        ]),
        clock.now(),
    );
    assert_eq!(fractional.requested_wait(), Some(secs(21)));
    for bad in [".5", "12.x", "12.-5", "1.2.3"] {
        let stated = RateLimitStatement::from_headers(
            &headers(&[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", bad)]),
            clock.now(),
        );
        assert_eq!(stated.requested_wait(), None, "{bad}");
    }
}

#[test]
fn contradictory_or_absurd_headers_are_dropped() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + secs(1_700_000_000));
    let cases: &[&[(&str, &str)]] = &[
        // remaining above the limit
        &[("X-RateLimit-Limit", "10"), ("X-RateLimit-Remaining", "50")],
        // negative values
        &[
            ("X-RateLimit-Remaining", "-1"),
            ("X-RateLimit-Reset", "-30"),
        ],
        // a reset in the past (Unix time) and years ahead
        &[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1000000000"),
        ],
        &[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "4000000000"),
        ],
        &[("RateLimit", "r=0;t=315360000")],
        // "0 calls per 0 seconds", and garbage
        &[("RateLimit-Policy", "q=0;w=0")],
        &[("RateLimit-Policy", "0;w=0")],
        &[("RateLimit-Policy", "q=99999999999999999999999;w=abc")],
        &[("RateLimit", "r=;t=, ;;; ,=,")],
        &[("X-RateLimit-Reset", "0")],
    ];
    for pairs in cases {
        let stated = RateLimitStatement::from_headers(&headers(pairs), clock.now());
        assert_eq!(stated.requested_wait(), None, "{pairs:?}");
        assert_eq!(stated.quota(), None, "{pairs:?}");
        if pairs[0].0 == "X-RateLimit-Limit" {
            assert_eq!(stated.remaining(), None, "{pairs:?}");
        }
    }
    assert!(RateLimitStatement::from_headers(&HeaderMap::new(), clock.now()).is_empty());
}

// ---- the pacer ----

// ---- how a run uses it ----

#[test]
fn waiting_as_the_limiter_asks_spends_neither_the_budget_nor_max_retries() {
    let shared = ClientRetryState::with_budget(RetryBudget::new(0, 0.0));
    let policy = RetryPolicy::default().with_max_retries(0);
    let mut run = policy.start(Idempotency::NonIdempotent, &shared, Duration::ZERO, 1);
    let e = rate_limited("Rate limit exceeded: 50 calls per 1 seconds", Some("1"));
    for k in 0..5 {
        let now = secs(k * 2);
        assert_eq!(run.before_attempt(now), Ok(Duration::ZERO));
        let decision = run.after_attempt(Outcome::Api(&e), now);
        assert!(
            matches!(
                decision,
                Decision::Retry {
                    reason: RetryReason::RateLimited,
                    ..
                }
            ),
            "{decision:?}"
        );
    }
    // An outage still stops at once: the budget is empty and no retry is allowed.
    let mut outage = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 2);
    let e = unavailable(None);
    assert_eq!(
        outage.after_attempt(Outcome::Api(&e), Duration::ZERO),
        Decision::Stop(StopReason::RetriesExhausted)
    );
    let mut outage =
        policy
            .with_max_retries(3)
            .start(Idempotency::Idempotent, &shared, Duration::ZERO, 3);
    assert_eq!(
        outage.after_attempt(Outcome::Api(&e), Duration::ZERO),
        Decision::Stop(StopReason::BudgetExhausted)
    );
}

#[test]
fn rate_limit_retries_have_their_own_bound() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default()
        .with_max_rate_limit_retries(2)
        .without_deadline();
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    let e = rate_limited("Rate limit exceeded", Some("1"));
    assert!(matches!(
        run.after_attempt(Outcome::Api(&e), ms(1)),
        Decision::Retry { .. }
    ));
    assert!(matches!(
        run.after_attempt(Outcome::Api(&e), ms(2)),
        Decision::Retry { .. }
    ));
    assert_eq!(
        run.after_attempt(Outcome::Api(&e), ms(3)),
        Decision::Stop(StopReason::RetriesExhausted)
    );
}

#[test]
fn a_429_closes_the_window_for_the_whole_client_even_when_its_request_stops() {
    let policy = RetryPolicy::default()
        .with_max_wait(secs(10))
        .with_pacing(false);
    // Stops because the wait is beyond the maximum: the others still hold off, for the
    // maximum at most.
    let shared = ClientRetryState::without_budget();
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    let e = rate_limited("Rate limit exceeded", Some("3600"));
    assert_eq!(
        run.after_attempt(Outcome::Api(&e), secs(1)),
        Decision::Stop(StopReason::RetryAfterTooLong {
            requested_ms: 3_600_000
        })
    );
    assert_eq!(shared.gate().remaining(secs(1)), secs(10));

    // Stops because it cannot be replayed, or has no retries left: same.
    let e = rate_limited("Rate limit exceeded", Some("4"));
    for (name, policy, replayable) in [
        ("not replayable", policy.clone(), false),
        ("no retries", policy.with_max_rate_limit_retries(0), true),
    ] {
        let shared = ClientRetryState::without_budget();
        let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
        if !replayable {
            run.mark_not_replayable();
        }
        let decision = run.after_attempt(Outcome::Api(&e), secs(1));
        assert!(
            matches!(decision, Decision::Stop(_)),
            "{name}: {decision:?}"
        );
        assert_eq!(shared.gate().remaining(secs(1)), secs(4), "{name}");
    }
}

#[test]
fn a_held_request_looks_again_after_waking_and_keeps_its_place_otherwise() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let e = rate_limited("Rate limit exceeded: 10 calls per 1 seconds", Some("1"));
    let mut first = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    first.before_attempt(Duration::ZERO).unwrap();
    first.after_attempt(Outcome::Api(&e), ms(100));

    // A `Retry-After: 1` may be 20 ms rounded up: the others go at the stated pace (10 a
    // second less the margin: 102 ms apart) from the rejection, not after a closed second.
    let mut held = policy.start(Idempotency::Idempotent, &shared, ms(150), 2);
    let hold = held.before_attempt(ms(150)).unwrap();
    assert_eq!(hold, Duration::from_nanos(52_040_816), "{hold:?}");
    // Waking on time: its place is still valid.
    assert_eq!(held.before_attempt(ms(150) + hold), Ok(Duration::ZERO));
    held.after_attempt(ok(), ms(250));
    assert_eq!(held.attempts()[0].held, hold);
    assert_eq!(held.attempts()[0].waited, hold);
    // The rejected request's own retry: its whole Retry-After, then the head of the queue.
    assert_eq!(first.before_attempt(ms(1100)), Ok(Duration::ZERO));
    first.after_attempt(ok(), ms(1150));
    assert_eq!(first.attempts()[1].waited, secs(1));
    assert_eq!(first.attempts()[1].held, Duration::ZERO);

    // After an idle second the stated burst (10) goes at once; the next request waits for
    // its turn, and meanwhile a 429 asking for 3 s (more than the header's resolution: the
    // server's window is closed) closes the window past it.
    let mut burst: Vec<_> = (0..10)
        .map(|seed| policy.start(Idempotency::Idempotent, &shared, ms(2150), 10 + seed))
        .collect();
    for run in &mut burst {
        assert_eq!(run.before_attempt(ms(2150)), Ok(Duration::ZERO));
    }
    let mut late = policy.start(Idempotency::Idempotent, &shared, ms(2150), 3);
    let other = &mut burst[0];
    let turn = late.before_attempt(ms(2150)).unwrap();
    assert!(turn > Duration::ZERO);
    let closed = rate_limited("Rate limit exceeded: 10 calls per 1 seconds", Some("3"));
    other.after_attempt(Outcome::Api(&closed), ms(2160));
    let again = late.before_attempt(ms(2150) + turn).unwrap();
    assert!(
        ms(2150) + turn + again >= ms(5160),
        "it holds until the window ends"
    );
    assert_eq!(
        late.before_attempt(ms(2150) + turn + again),
        Ok(Duration::ZERO)
    );
    late.after_attempt(ok(), ms(5200));
    let record = &late.attempts()[0];
    assert_eq!(record.held, turn + again, "the whole hold is recorded");
    assert_eq!(record.waited, record.held);
}

/// Callers of one client played in time order, as the middleware drives them: each asks
/// before every attempt and holds as told (looking again after each hold), is answered
/// `LATENCY` after it sends (a success, or the 429 its script gives for that attempt) and
/// waits what the decision says. Returns each caller's send times.
fn play(
    policy: &RetryPolicy,
    shared: &ClientRetryState,
    callers: &[(Duration, Vec<Option<&ApiError>>)],
) -> Vec<Vec<Duration>> {
    const LATENCY: Duration = Duration::from_millis(50);
    use std::cmp::Reverse;
    let mut runs: Vec<_> = callers
        .iter()
        .enumerate()
        .map(|(n, (start, _))| policy.start(Idempotency::Idempotent, shared, *start, n as u64))
        .collect();
    let mut sends = vec![Vec::new(); callers.len()];
    // (when, order of scheduling, caller, whether it is an answer)
    let mut events: std::collections::BinaryHeap<_> = callers
        .iter()
        .enumerate()
        .map(|(n, (start, _))| Reverse((*start, n as u64, n, false)))
        .collect();
    let mut order = callers.len() as u64;
    for _ in 0..100_000 {
        let Some(Reverse((now, _, n, answer))) = events.pop() else {
            return sends;
        };
        let next = if answer {
            let attempt = sends[n].len() - 1;
            let outcome = match callers[n].1.get(attempt).copied().flatten() {
                Some(error) => Outcome::Api(error),
                None => ok(),
            };
            match runs[n].after_attempt(outcome, now) {
                Decision::Retry { wait, .. } => Some((now + wait, false)),
                Decision::Stop(_) => None,
            }
        } else {
            match runs[n].before_attempt(now).expect("within the deadline") {
                hold if hold.is_zero() => {
                    sends[n].push(now);
                    Some((now + LATENCY, true))
                }
                hold => Some((now + hold, false)),
            }
        };
        if let Some((at, answer)) = next {
            events.push(Reverse((at, order, n, answer)));
            order += 1;
        }
    }
    panic!("the callers must be done")
}

/// A client paced at a stated 10 a second with 20 requests queued behind the pacer; the
/// first of them is rejected with `rejection`, and a request arrives 300 ms later. Returns
/// when each is sent: the rejected one's retry, the 19 others, the late one; and the end of
/// the rejected one's `Retry-After` (from its answer).
fn queue_through_a_rejection(
    rejection: &ApiError,
) -> (Duration, Vec<Duration>, Duration, Duration) {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let e10 = rate_limited("Rate limit exceeded: 10 calls per 1 seconds", Some("1"));
    let mut callers = vec![(Duration::ZERO, vec![Some(&e10)])];
    callers.push((ms(100), vec![Some(rejection)]));
    callers.extend((0..19).map(|_| (ms(100), vec![])));
    callers.push((ms(400), vec![]));
    let sends = play(&policy, &shared, &callers);
    let rejected = &sends[1];
    let wait_end = rejected[0] + ms(50) + secs(1);
    let others = sends[2..21].iter().map(|s| s[0]).collect();
    (rejected[1], others, sends[21][0], wait_end)
}

/// Send times, sorted, never closer than `gap` (less a microsecond of rounding).
fn spaced(sends: &[Duration], gap: Duration) -> bool {
    let mut sorted = sends.to_vec();
    sorted.sort();
    sorted
        .windows(2)
        .all(|pair| pair[1] + Duration::from_micros(1) >= pair[0] + gap)
}

#[test]
fn a_request_rejected_after_its_turn_goes_first_and_the_queue_keeps_its_order() {
    // Rejected at the pace the server stated (the pace stays): the rejected request waits
    // its Retry-After, then takes the head of the queue; the others keep their order, the
    // late one after them, and nothing leaves faster than the pace. (It used to go to the
    // back of the queue: with a minute of queue, 64 calls in flight against 1 a second, 20
    // of 300 calls passed their 120 s deadline in the simulation.)
    let same = rate_limited("Rate limit exceeded: 10 calls per 1 seconds", Some("1"));
    let (retry, others, late, wait_end) = queue_through_a_rejection(&same);
    assert!(
        retry >= wait_end && retry < wait_end + ms(103),
        "{retry:?} {wait_end:?}"
    );
    let after: Vec<_> = others.iter().filter(|s| **s > retry).collect();
    assert!(!after.is_empty());
    assert!(others.windows(2).all(|p| p[0] < p[1]), "{others:?}");
    assert!(late > others[others.len() - 1], "{late:?} {others:?}");
    let mut all = others.clone();
    all.extend([retry, late]);
    // 10 a second less the margin: 102 ms apart.
    assert!(spaced(&all, ms(102)), "{all:?}");
}

#[test]
fn a_whole_batch_rejected_goes_ahead_of_the_queue_and_the_queue_keeps_its_order() {
    // 30 requests sent together are rejected, one after another, while 20 others queue
    // behind the pacer: each rejected one takes the head of the queue when its wait is
    // over, the queued ones keep their order, a request that came after them all goes after
    // them, and nothing leaves faster than the pace.
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let e10 = rate_limited("Rate limit exceeded: 10 calls per 1 seconds", Some("1"));
    let mut callers: Vec<(Duration, Vec<Option<&ApiError>>)> = (0..31)
        .map(|_| (Duration::ZERO, vec![Some(&e10)]))
        .collect();
    callers.extend((0..20).map(|_| (ms(55), vec![])));
    callers.push((ms(100), vec![]));
    let sends = play(&policy, &shared, &callers);
    let queued: Vec<Duration> = sends[31..51].iter().map(|s| s[0]).collect();
    assert!(queued.windows(2).all(|p| p[0] < p[1]), "{queued:?}");
    assert!(sends[51][0] > queued[19], "{sends:?}");
    for retries in &sends[..31] {
        assert!(retries[1] >= ms(1050), "{sends:?}");
    }
    // Every send but the first batch's, which went unpaced before the first 429.
    let all: Vec<Duration> = sends[..31]
        .iter()
        .flat_map(|s| s[1..].iter().copied())
        .chain(sends[31..].iter().flat_map(|s| s.iter().copied()))
        .collect();
    assert!(spaced(&all, ms(102)), "{all:?}");
    // The rejected ones in the order their waits ended.
    let retries: Vec<Duration> = sends[..31].iter().map(|s| s[1]).collect();
    assert!(retries.windows(2).all(|p| p[0] < p[1]), "{retries:?}");
}

#[test]
fn a_change_of_pace_stretches_the_queue_and_keeps_its_order() {
    // The rejection states a slower limit: the queue is spaced at the new pace from the
    // rejection, in the same order, ahead of a request that came after the change.
    let slower = rate_limited("Rate limit exceeded: 5 calls per 1 seconds", Some("1"));
    let (retry, others, late, wait_end) = queue_through_a_rejection(&slower);
    assert!(retry >= wait_end, "{retry:?}");
    assert!(others.windows(2).all(|p| p[0] < p[1]), "{others:?}");
    assert!(late > others[others.len() - 1], "{late:?} {others:?}");
    let mut all = others.clone();
    all.extend([retry, late]);
    // 5 a second less the margin: 204 ms apart.
    assert!(spaced(&all, ms(204)), "{all:?}");
}

#[test]
fn jitter_never_pushes_a_wait_that_fits_past_the_deadline() {
    let e = rate_limited("Rate limit exceeded", Some("30"));
    for seed in 0..200 {
        let shared = ClientRetryState::without_budget();
        let policy = RetryPolicy::default()
            .with_deadline(secs(60))
            .with_retry_after_jitter(1.0);
        let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, seed);
        // 31 s left.
        match run.after_attempt(Outcome::Api(&e), secs(29)) {
            Decision::Retry { wait, .. } => {
                assert!(wait >= secs(30), "never shortened: {wait:?}");
                assert!(secs(29) + wait < secs(60), "inside the deadline: {wait:?}");
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    // A wait that does not fit stops.
    let shared = ClientRetryState::without_budget();
    let mut run = RetryPolicy::default().with_deadline(secs(60)).start(
        Idempotency::Idempotent,
        &shared,
        Duration::ZERO,
        1,
    );
    assert_eq!(
        run.after_attempt(Outcome::Api(&e), secs(30)),
        Decision::Stop(StopReason::DeadlineExceeded)
    );
}

#[test]
fn a_server_errors_retry_after_zero_does_not_remove_the_backoff() {
    let policy = RetryPolicy::default()
        .with_initial_backoff(secs(2))
        .with_retry_after_jitter(0.0);
    for seed in 0..50 {
        let wait_of = |error: &ApiError| {
            let shared = ClientRetryState::without_budget();
            let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, seed);
            match run.after_attempt(Outcome::Api(error), Duration::ZERO) {
                Decision::Retry { wait, .. } => wait,
                other => panic!("{other:?}"),
            }
        };
        let backoff = wait_of(&unavailable(None));
        assert_eq!(wait_of(&unavailable(Some("0"))), backoff, "seed {seed}");
        assert_eq!(
            wait_of(&unavailable(Some("Sun, 06 Nov 1994 08:49:37 GMT"))),
            backoff
        );
        // A longer Retry-After wins.
        assert!(wait_of(&unavailable(Some("5"))) >= secs(5));
    }
}

#[test]
fn headers_on_a_429_without_retry_after_give_the_wait() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    let e = rate_limited("Rate limit exceeded", None);
    run.observe_rate_limit(RateLimitStatement::from_headers(
        &headers(&[("RateLimit", r#""default";r=0;t=3"#)]),
        SystemTime::UNIX_EPOCH,
    ));
    assert_eq!(
        run.after_attempt(Outcome::Api(&e), secs(1)),
        Decision::Retry {
            wait: secs(3),
            reason: RetryReason::RateLimited
        }
    );
    assert_eq!(shared.gate().remaining(secs(1)), secs(3));
}

#[test]
fn after_a_stated_429_the_client_runs_at_the_stated_pace() {
    // A client sending as fast as its runs allow: count how many requests leave in each
    // second after the first rejection. A `Retry-After: 1` with a stated limit holds the
    // rejected request only; the rest go at the stated pace at once.
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let e = rate_limited("Rate limit exceeded: 50 calls per 1 seconds", Some("1"));
    let mut first = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 0);
    first.before_attempt(Duration::ZERO).unwrap();
    first.after_attempt(Outcome::Api(&e), ms(5));
    let mut sends = Vec::new();
    for seed in 1..=200 {
        let mut run = policy.start(Idempotency::Idempotent, &shared, ms(10), seed);
        let hold = run.before_attempt(ms(10)).unwrap();
        sends.push(ms(10) + hold);
    }
    // One interval after the rejection (50 a second less the margin: 20.4 ms).
    assert_eq!(sends[0], ms(5) + Duration::from_nanos(20_408_163));
    for second in 0..3u64 {
        let n = sends
            .iter()
            .filter(|s| **s >= secs(second) + MS * 5 && **s < secs(second + 1) + MS * 5)
            .count();
        assert_eq!(n, 49, "second {second}");
    }
}

#[test]
fn a_zero_or_past_retry_after_is_no_flow_control_and_counts_as_an_outage_retry() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_max_retries(1);
    for value in ["0", "Thu, 01 Jan 1970 00:00:00 GMT"] {
        let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
        let e = rate_limited("Rate limit exceeded", Some(value));
        assert!(
            matches!(
                run.after_attempt(Outcome::Api(&e), ms(1)),
                Decision::Retry { .. }
            ),
            "{value}"
        );
        assert_eq!(
            run.after_attempt(Outcome::Api(&e), ms(2)),
            Decision::Stop(StopReason::RetriesExhausted),
            "{value}"
        );
    }
}

#[test]
fn one_429_among_successes_does_not_pace_the_partition() {
    // The first 429 came after a single success, no limit stated: too few answers to tell
    // a limiter from a random rejection (the client-side throttling ratio needs 20), so
    // the partition is not paced and, the wait being within the header's one-second
    // resolution, only the rejected request waits.
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default()
        .with_retry_after_jitter(0.0)
        .with_deadline(secs(3));
    let unstated = rate_limited("Rate limit exceeded", Some("1"));
    let mut lucky = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    lucky.before_attempt(Duration::ZERO).unwrap();
    lucky.after_attempt(ok(), ms(2));
    let mut rejected = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 2);
    rejected.before_attempt(Duration::ZERO).unwrap();
    rejected.after_attempt(Outcome::Api(&unstated), ms(3));
    assert!(!shared.pacer().is_active());
    for i in 0..30 {
        let mut call = policy.start(Idempotency::Idempotent, &shared, ms(100), 10 + i);
        assert_eq!(call.before_attempt(ms(100)), Ok(Duration::ZERO), "call {i}");
    }
}

/// A stated daily quota is not a pace: after its 429's window, the partition's requests go
/// at once instead of one every 17 s ("5000 per 1 day"), while a per-minute limit ("100 per
/// 60 seconds", a window within the max wait) still paces them.
#[test]
fn a_daily_quota_is_not_a_pace() {
    let held_after = |message: &str| {
        let shared = ClientRetryState::without_budget();
        let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
        let mut first = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
        assert_eq!(first.before_attempt(Duration::ZERO), Ok(Duration::ZERO));
        let limited = rate_limited(message, Some("1"));
        assert!(matches!(
            first.after_attempt(Outcome::Api(&limited), ms(10)),
            Decision::Retry { .. }
        ));
        // Ten more requests once the window has opened: the longest any of them is held.
        (0..10)
            .map(|seed| {
                let mut run = policy.start(Idempotency::Idempotent, &shared, secs(2), seed);
                run.before_attempt(secs(2)).unwrap()
            })
            .max()
            .unwrap()
    };
    assert_eq!(
        held_after("Rate limit exceeded: 5000 per 1 day"),
        Duration::ZERO
    );
    // The reference's own per-minute example still paces.
    assert!(held_after("Rate limit exceeded: 100 calls per 60 seconds") > Duration::ZERO);
}

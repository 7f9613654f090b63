//! Rate limits as flow control: what the server states, the pacer, the shared window and how
//! a 429 is decided. Time is handed in as a `Duration` (the drivers' monotonic clock), and
//! dates come from a `ManualClock`: nothing here sleeps or reads a clock.

use std::time::{Duration, SystemTime};

use errors_core::{
    ApiError, ClientRetryState, Clock, Decision, Idempotency, ManualClock, Outcome, PaceSource,
    Pacer, RateLimitQuota, RateLimitStatement, RetryBudget, RetryPolicy, RetryReason, StopReason,
};
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

#[test]
fn a_client_that_is_never_rate_limited_is_never_paced() {
    let pacer = Pacer::default();
    for i in 0..1000 {
        assert_eq!(pacer.reserve(ms(i), ms(i)), ms(i));
        pacer.on_admitted(ms(i));
    }
    assert!(!pacer.is_active());
    assert_eq!(pacer.rate(), None);
}

#[test]
fn held_requests_leave_one_by_one_at_the_stated_rate() {
    let pacer = Pacer::default();
    let quota = RateLimitQuota::new(50, secs(1));
    pacer.on_throttle(ms(10), ms(0), Some(secs(1)), quota);
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Stated);
    assert!((48.0..50.0).contains(&rate), "{rate}");

    // 64 requests held until the window opens at 1.01 s.
    let slots: Vec<Duration> = (0..64).map(|_| pacer.reserve(ms(20), ms(1010))).collect();
    assert_eq!(slots[0], ms(1010), "the first leaves when the window opens");
    for pair in slots.windows(2) {
        let gap = pair[1] - pair[0];
        // 50/s less the margin: 20.4 ms apart, never a herd.
        assert!(gap >= ms(20) && gap <= ms(21), "{gap:?}");
    }
    // Over any second, no more than the server allows.
    let in_first_second = slots.iter().filter(|s| **s < ms(2010)).count();
    assert!(in_first_second <= 50, "{in_first_second}");
}

#[test]
fn a_request_that_cannot_wait_for_its_slot_takes_no_place_in_the_queue() {
    let pacer = Pacer::default();
    pacer.on_throttle(
        ms(0),
        ms(0),
        Some(secs(1)),
        RateLimitQuota::new(10, secs(1)),
    );
    // 100 ms apart from the window's end at 1 s: the third slot is at 1.2 s.
    assert_eq!(pacer.try_reserve(ms(10), secs(1), secs(5)), Ok(secs(1)));
    assert!(pacer.try_reserve(ms(10), secs(1), secs(5)).is_ok());
    // Callers whose deadline falls before their slot give up without taking it...
    for _ in 0..1000 {
        let refused = pacer.try_reserve(ms(10), secs(1), ms(1100)).unwrap_err();
        assert!(refused >= ms(1100), "{refused:?}");
    }
    // ...so the next patient request still gets the third slot, not the thousand-and-third.
    let third = pacer.try_reserve(ms(10), secs(1), secs(5)).unwrap();
    assert!(third < ms(1300), "{third:?}");
}

#[test]
fn an_idle_pacer_does_not_save_up_a_burst() {
    let pacer = Pacer::default();
    pacer.on_throttle(
        ms(0),
        ms(0),
        Some(secs(1)),
        RateLimitQuota::new(10, secs(1)),
    );
    let first = pacer.reserve(secs(60), secs(1));
    let second = pacer.reserve(secs(60), secs(1));
    assert_eq!(first, secs(60));
    assert!(second - first >= ms(100));
}

/// Requests queued at `now` go out on their slots for a second and succeed; one more waits
/// past it, so requests are still queued when the next second starts.
fn send_for_a_second(pacer: &Pacer, now: Duration) {
    loop {
        let slot = pacer.reserve(now, now);
        if slot >= now + secs(1) {
            return;
        }
        pacer.on_admitted(slot);
    }
}

#[test]
fn a_rise_of_the_pace_waits_until_the_client_sends_at_it() {
    // A first estimate of 10 a second, from a batch whose first 429 came back at once.
    let pacer = Pacer::default();
    for i in 0..9 {
        pacer.on_admitted(ms(i));
    }
    pacer.on_throttle(ms(10), ms(0), Some(secs(1)), None);
    pacer.schedule(ms(1010));
    let (first, _) = pacer.rate().unwrap();
    // 40 requests queue at that pace (4 s of slots) and go out on them. The pace rises
    // once, but the requests keep the slots they took: while what goes out stays at the
    // first pace, the pace does not rise again on a rise never tried.
    let mut now = ms(1010);
    let mut slots: Vec<Duration> = (0..40).map(|_| pacer.reserve(now, now)).collect();
    for _ in 0..4 {
        now += secs(1);
        for slot in slots.iter().filter(|&&s| s + secs(1) > now && s <= now) {
            pacer.on_admitted(*slot);
        }
        slots.push(pacer.reserve(now, now));
    }
    let (once, _) = pacer.rate().unwrap();
    assert!(once <= first * 1.5 + 0.01, "{first} -> {once}");
    now += secs(1);
    // Once the client sends at the pace, it rises.
    for _ in 0..3 {
        send_for_a_second(&pacer, now);
        now += secs(1);
    }
    let (grown, _) = pacer.rate().unwrap();
    assert!(grown > first * 1.4, "{first} -> {grown}");
}

#[test]
fn the_pace_is_learned_from_goodput_when_the_limit_is_not_stated() {
    let pacer = Pacer::default();
    // 50 successes in the first 100 ms, then a 429 asking for 1 s.
    for i in 0..50 {
        pacer.on_admitted(ms(i * 2));
    }
    pacer.on_throttle(ms(100), ms(90), Some(secs(1)), None);
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Learned);
    // What the client tried over the cycle that ends with the window (~1.1 s): the 50
    // successes and the rejection.
    assert!((40.0..=52.0).contains(&rate), "{rate}");

    // While requests queue, go out at the pace and nothing is rejected, the pace rises
    // every second.
    let mut now = ms(1100);
    for _ in 0..3 {
        send_for_a_second(&pacer, now);
        now += secs(1);
    }
    let (grown, _) = pacer.rate().unwrap();
    assert!(grown > rate * 2.0, "{rate} -> {grown}");

    // A request sent at that pace is rejected (45 got through in the last second): the
    // pace falls under it, to what got through since the window opened beyond the first
    // burst, over the time since.
    for i in 0..45 {
        pacer.on_admitted(now - secs(1) + ms(i * 20));
    }
    pacer.on_throttle(now, now - ms(5), Some(secs(1)), None);
    let (after, _) = pacer.rate().unwrap();
    // (It stays above the 45 of the last second: over the seconds before, the server took
    // every request sent at the rising pace.)
    assert!(after <= grown * 0.95, "{grown} -> {after}");
    assert!(after > 45.0, "{grown} -> {after}");
    // That estimate is the ceiling: the pace does not creep back toward the rejected one
    // (which would only meet the limit again)...
    now += secs(2);
    for _ in 0..25 {
        send_for_a_second(&pacer, now);
        now += secs(1);
    }
    assert_eq!(pacer.rate().unwrap().0, after);
    // ...until 30 s pass without a rejection: then it probes a little higher, in case the
    // server's limit was raised, still under the pace that was rejected.
    for _ in 0..10 {
        send_for_a_second(&pacer, now);
        now += secs(1);
    }
    let (crept, _) = pacer.rate().unwrap();
    assert!(
        crept > after && crept <= after * 1.1 && crept < grown,
        "{after} -> {crept} (rejected at {grown})"
    );
}

#[test]
fn a_statement_contradicted_by_what_got_through_is_not_believed() {
    // The message claims one call per day while 50 a second were getting through: pacing at
    // the claim would make the client far slower than without it.
    let pacer = Pacer::default();
    for i in 0..50 {
        pacer.on_admitted(ms(i * 20));
    }
    pacer.on_throttle(
        secs(1),
        secs(1),
        Some(secs(1)),
        RateLimitQuota::new(1, secs(86_400)),
    );
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Learned);
    assert!(rate > 20.0, "{rate}");
}

#[test]
fn rejections_of_requests_sent_before_the_last_change_do_not_lower_the_pace_again() {
    let pacer = Pacer::default();
    for i in 0..50 {
        pacer.on_admitted(ms(i));
    }
    pacer.on_throttle(ms(60), ms(50), Some(secs(1)), None);
    let (rate, _) = pacer.rate().unwrap();
    // 13 more 429s for requests that were already in flight: they never lower the pace
    // (during the first window they count as what the client tried to send).
    for i in 0..13 {
        pacer.on_throttle(ms(61 + i), ms(40), Some(secs(1)), None);
    }
    let (after_batch, _) = pacer.rate().unwrap();
    assert!(after_batch >= rate, "{rate} -> {after_batch}");
    // Nor do late ones, after the window (where the first estimate settles).
    pacer.schedule(secs(2));
    let (after_batch, _) = pacer.rate().unwrap();
    assert!(after_batch >= rate, "{rate} -> {after_batch}");
    pacer.on_throttle(secs(2), ms(40), Some(secs(1)), None);
    assert_eq!(pacer.rate().unwrap().0, after_batch);
}

#[test]
fn absurd_times_never_panic() {
    let pacer = Pacer::default();
    pacer.on_admitted(Duration::MAX);
    pacer.on_throttle(Duration::MAX, Duration::MAX, Some(Duration::MAX), None);
    let _ = pacer.reserve(Duration::MAX, Duration::MAX);
    let _ = pacer.reserve(Duration::ZERO, Duration::MAX);
    pacer.on_throttle(
        Duration::ZERO,
        Duration::MAX,
        Some(Duration::ZERO),
        RateLimitQuota::new(u64::MAX, Duration::from_nanos(1)),
    );
    let _ = pacer.reserve(Duration::ZERO, Duration::ZERO);
    let _ = pacer.reserve(Duration::ZERO, Duration::ZERO);
}

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

    let mut held = policy.start(Idempotency::Idempotent, &shared, ms(200), 2);
    let hold = held.before_attempt(ms(200)).unwrap();
    // The window opens at 1.1 s; the rejected request goes first, this one a paced interval
    // (102 ms at 10 a second less the margin) later.
    assert!(hold >= ms(1002) && hold <= ms(1003), "{hold:?}");
    // Waking on time: its place is still valid.
    assert_eq!(held.before_attempt(ms(200) + hold), Ok(Duration::ZERO));
    held.after_attempt(ok(), ms(1300));
    assert_eq!(held.attempts()[0].held, hold);
    assert_eq!(held.attempts()[0].waited, hold);
    // The rejected request's own retry: its Retry-After, and the head of the queue.
    assert_eq!(first.before_attempt(ms(1100)), Ok(Duration::ZERO));
    first.after_attempt(ok(), ms(1150));
    assert_eq!(first.attempts()[1].waited, secs(1));
    assert_eq!(first.attempts()[1].held, Duration::ZERO);

    // Another request waits for its turn; meanwhile a 429 closes the window again past it.
    let mut late = policy.start(Idempotency::Idempotent, &shared, ms(1100), 3);
    let turn = late.before_attempt(ms(1100)).unwrap();
    assert!(turn > Duration::ZERO);
    let mut other = policy.start(Idempotency::Idempotent, &shared, ms(1100), 4);
    other.before_attempt(ms(1100)).unwrap();
    other.after_attempt(Outcome::Api(&e), ms(1150));
    let again = late.before_attempt(ms(1100) + turn).unwrap();
    assert!(
        ms(1100) + turn + again >= ms(2150),
        "it holds until the new window ends"
    );
    assert_eq!(
        late.before_attempt(ms(1100) + turn + again),
        Ok(Duration::ZERO)
    );
    late.after_attempt(ok(), ms(2200));
    let record = &late.attempts()[0];
    assert_eq!(record.held, turn + again, "the whole hold is recorded");
    assert_eq!(record.waited, record.held);
}

/// When `run`, woken at `now`, may send: it looks again after each hold, as the middleware
/// does (a held request's place can move while it sleeps).
fn send_time(run: &mut errors_core::RetryRun, mut now: Duration) -> Duration {
    for _ in 0..10 {
        let hold = run.before_attempt(now).unwrap();
        if hold.is_zero() {
            return now;
        }
        now += hold;
    }
    panic!("a held request keeps looking again")
}

/// A client paced at a stated 10 a second with 20 requests queued behind the pacer; the
/// first of them is sent and rejected with `rejection`, and a request arrives just after.
/// Returns when each of them is sent: the rejected one's retry, the 19 others (woken at
/// the slots they held), the late one; and when the rejection's window ends.
fn queue_through_a_rejection(
    rejection: &ApiError,
) -> (Duration, Vec<Duration>, Duration, Duration) {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let e10 = rate_limited("Rate limit exceeded: 10 calls per 1 seconds", Some("1"));
    let mut first = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 0);
    first.before_attempt(Duration::ZERO).unwrap();
    first.after_attempt(Outcome::Api(&e10), ms(100));
    let mut holders: Vec<_> = (1..=20)
        .map(|seed| {
            let mut run = policy.start(Idempotency::Idempotent, &shared, ms(200), seed);
            let slot = ms(200) + run.before_attempt(ms(200)).unwrap();
            (run, slot)
        })
        .collect();
    assert_eq!(send_time(&mut first, ms(1100)), ms(1100));
    first.after_attempt(ok(), ms(1150));

    let (rejected, sent) = &mut holders[0];
    let sent = *sent;
    assert_eq!(rejected.before_attempt(sent), Ok(Duration::ZERO));
    let answered = sent + ms(50);
    assert!(matches!(
        rejected.after_attempt(Outcome::Api(rejection), answered),
        Decision::Retry { .. }
    ));
    let window_end = answered + secs(1);
    let mut late = policy.start(Idempotency::Idempotent, &shared, answered + ms(10), 99);
    let late_sent = send_time(&mut late, answered + ms(10));
    let retry = send_time(rejected, window_end);
    let others = holders[1..]
        .iter_mut()
        .map(|(run, slot)| send_time(run, *slot))
        .collect();
    (retry, others, late_sent, window_end)
}

#[test]
fn a_request_rejected_after_its_turn_goes_first_and_the_queue_keeps_its_order() {
    // Rejected at the pace the server stated (the pace stays): the rejected request goes
    // first once the window opens, the others follow in their order, the late one after
    // them. It used to go to the back of the queue, and the requests whose slots the window
    // covered too: with a minute of queue (64 calls in flight against 1 a second), 20 of 300
    // calls passed their 120 s deadline in the simulation.
    let same = rate_limited("Rate limit exceeded: 10 calls per 1 seconds", Some("1"));
    let (retry, others, late, window_end) = queue_through_a_rejection(&same);
    assert!(retry >= window_end, "{retry:?}");
    assert!(retry < others[0], "{retry:?} {others:?}");
    for pair in others.windows(2) {
        // 10 a second less the margin: 102 ms apart.
        assert!(pair[1] >= pair[0] + ms(100), "{others:?}");
    }
    assert!(late > others[others.len() - 1], "{late:?} {others:?}");
}

#[test]
fn a_whole_batch_rejected_goes_ahead_of_the_queue_and_the_queue_keeps_its_order() {
    // 30 requests sent together are rejected one after another, after 20 others queued
    // behind the pacer: each rejected one takes the head of the queue in turn (a change of
    // schedule each), the 20 keep their order behind them, and a request that came after
    // them all goes last. When fewer changes were kept than a batch makes, the queued
    // requests fell back to the end, behind the late one, and left holes in the schedule (a
    // stated bucket of 50/s took 1.076x the ideal time on loopback, not 1.021x); when the
    // last 429s of the batch closed the window past the first retries' slots, those went to
    // the end too.
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let e10 = rate_limited("Rate limit exceeded: 10 calls per 1 seconds", Some("1"));
    let mut batch: Vec<_> = (0..31)
        .map(|seed| {
            let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, seed);
            assert_eq!(run.before_attempt(Duration::ZERO), Ok(Duration::ZERO));
            run
        })
        .collect();
    batch[0].after_attempt(Outcome::Api(&e10), ms(100));
    let mut queued: Vec<_> = (100..120)
        .map(|seed| {
            let mut run = policy.start(Idempotency::Idempotent, &shared, ms(105), seed);
            let slot = ms(105) + run.before_attempt(ms(105)).unwrap();
            (run, slot)
        })
        .collect();
    for (n, run) in batch[1..].iter_mut().enumerate() {
        run.after_attempt(Outcome::Api(&e10), ms(110 + n as u64));
    }
    let mut late = policy.start(Idempotency::Idempotent, &shared, ms(150), 200);
    let late = send_time(&mut late, ms(150));
    let retries: Vec<Duration> = batch
        .iter_mut()
        .map(|run| send_time(run, ms(1100)))
        .collect();
    let others: Vec<Duration> = queued
        .iter_mut()
        .map(|(run, slot)| send_time(run, *slot))
        .collect();
    let last_retry = *retries.iter().max().unwrap();
    assert!(others[0] > last_retry, "{retries:?} {others:?}");
    assert!(late > others[others.len() - 1], "{late:?} {others:?}");
    for pair in others.windows(2) {
        assert!(
            pair[1] >= pair[0] + ms(100) && pair[1] <= pair[0] + ms(110),
            "{others:?}"
        );
    }
}

#[test]
fn a_change_of_pace_stretches_the_queue_and_keeps_its_order() {
    // The rejection states a slower limit: the queue is spaced at the new pace from the end
    // of the window, in the same order, ahead of a request that came after the change. The
    // holders used to take new slots as they woke, behind it.
    let slower = rate_limited("Rate limit exceeded: 5 calls per 1 seconds", Some("1"));
    let (retry, others, late, window_end) = queue_through_a_rejection(&slower);
    assert!(
        retry >= window_end && retry < others[0],
        "{retry:?} {others:?}"
    );
    assert!(others[0] >= window_end, "{others:?}");
    for pair in others.windows(2) {
        // 5 a second less the margin: 204 ms apart.
        assert!(pair[1] >= pair[0] + ms(200), "{others:?}");
    }
    assert!(late > others[others.len() - 1], "{late:?} {others:?}");
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
    // A client sending as fast as its runs allow, 64 at a time in effect: count how many
    // requests leave in each second after the first rejection.
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
    assert!(sends.iter().all(|s| *s >= ms(1005)));
    for second in 1..4u64 {
        let n = sends
            .iter()
            .filter(|s| **s >= secs(second) + MS * 5 && **s < secs(second + 1) + MS * 5)
            .count();
        // 49 slots a second (50 less the margin), the first one the rejected request's.
        assert!((47..=49).contains(&n), "second {second}: {n}");
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
fn the_first_estimate_counts_the_whole_batch_before_the_window_opens() {
    // A batch of 64 meets a limiter that lets 50 through and asks for 1 s: the answers come
    // back in any order, the first 429 after only one success.
    let pacer = Pacer::default();
    pacer.on_admitted(ms(2));
    pacer.on_throttle(ms(3), ms(0), Some(secs(1)), None);
    let (provisional, _) = pacer.rate().unwrap();
    assert!(provisional < 5.0, "{provisional}");
    // Nobody is spaced at that pace: requests wait for the estimate to settle.
    assert_eq!(pacer.reserve(ms(4), ms(1003)), ms(1003));
    assert_eq!(pacer.reserve(ms(4), ms(1003)), ms(1003));
    for i in 0..49 {
        pacer.on_admitted(ms(4 + i / 10));
    }
    for i in 0..13 {
        pacer.on_throttle(ms(5 + i), ms(0), Some(secs(1)), None);
    }
    let before = pacer.schedule(ms(500));
    assert_eq!(pacer.schedule(ms(1002)), before, "still provisional");
    // When the window opens, the estimate settles on the whole batch: 64 tried in ~1 s.
    let settled = pacer.schedule(ms(1003));
    assert_ne!(
        settled, before,
        "a new schedule: slots taken before are taken again"
    );
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Learned);
    assert!((60.0..=64.0).contains(&rate), "{rate}");
}

#[test]
fn requests_held_at_a_provisional_pace_look_again_when_it_settles() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let unstated = rate_limited("Rate limit exceeded", Some("1"));
    // One success, then the first 429: the provisional pace is about one request a second.
    let mut lucky = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    lucky.before_attempt(Duration::ZERO).unwrap();
    lucky.after_attempt(ok(), ms(2));
    let mut rejected: Vec<_> = (0..20)
        .map(|i| {
            let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, i + 2);
            run.before_attempt(Duration::ZERO).unwrap();
            run
        })
        .collect();
    for (i, run) in rejected.iter_mut().enumerate() {
        let decision = run.after_attempt(Outcome::Api(&unstated), ms(3 + i as u64 / 4));
        assert!(matches!(decision, Decision::Retry { .. }));
    }
    // Each waits out its Retry-After, then holds: not past the window's opening, where the
    // pace settles.
    let opens = shared.gate().open_at();
    let mut slots = Vec::new();
    for run in &mut rejected {
        let hold = run.before_attempt(secs(1)).unwrap();
        assert!(
            secs(1) + hold <= opens,
            "{hold:?} past the opening {opens:?}"
        );
    }
    for run in &mut rejected {
        let mut now = opens;
        let mut steps = 0;
        loop {
            let hold = run.before_attempt(now).unwrap();
            if hold.is_zero() {
                break;
            }
            now += hold;
            steps += 1;
            assert!(steps < 4, "a held request converges on its slot");
        }
        slots.push(now);
    }
    // Settled on 21 tried in about a second: the last of the 20 leaves within a second of
    // the opening, not 20 s later as the provisional pace would have spaced them.
    let last = *slots.iter().max().unwrap();
    assert!(last - opens < secs(1), "{:?}", last - opens);
    slots.sort();
    assert!(
        slots.windows(2).all(|w| w[1] > w[0]),
        "one by one: {slots:?}"
    );
}

/// Unpaced, 40 a second got through; then a 429, and the rest of the batch mostly
/// succeeds: 429s among successes, as answers drawn at random come. The window opens at 2 s.
fn mixed_first_batch() -> Pacer {
    let pacer = Pacer::default();
    for i in 0..40 {
        pacer.on_admitted(ms(i * 25));
    }
    pacer.on_throttle(secs(1), ms(990), Some(secs(1)), None);
    for i in 0..4 {
        pacer.on_admitted(ms(1001 + i));
    }
    pacer.schedule(secs(2));
    pacer
}

#[test]
fn rejections_at_random_whatever_the_pace_turn_the_pacer_off_for_a_while() {
    let pacer = mixed_first_batch();
    assert!(pacer.is_active());
    // Over the first cycle (to the window's end, 2 s), 20 a second got through unpaced.
    // Paced and rejected at the first estimate (what the client tried: a little above
    // that), then twice more at lower paces: no limiter rejects a client that slowed below
    // what it let through unpaced. The second such rejection ends pacing.
    pacer.on_throttle(ms(2200), ms(2190), Some(secs(1)), None);
    assert!(pacer.is_active());
    let (rate, _) = pacer.rate().unwrap();
    assert!(rate <= 20.0, "{rate}");
    pacer.on_throttle(ms(3400), ms(3390), Some(secs(1)), None);
    assert!(pacer.is_active(), "one rejection proves nothing");
    pacer.on_throttle(ms(4600), ms(4590), Some(secs(1)), None);
    assert!(!pacer.is_active());
    assert_eq!(
        pacer.reserve(ms(4700), ms(5600)),
        ms(5600),
        "the window only"
    );
    assert_eq!(pacer.reserve(ms(4700), ms(5600)), ms(5600), "no spacing");
    // For 30 s, 429s do not start it again; later they may.
    pacer.on_throttle(secs(20), secs(20), Some(secs(1)), None);
    assert!(!pacer.is_active());
    for i in 0..40 {
        pacer.on_admitted(secs(40) + ms(i * 25));
    }
    pacer.on_throttle(secs(41), secs(41), Some(secs(1)), None);
    assert!(pacer.is_active());
}

/// A pacer that stepped aside as in the test above (429s that look random, paced requests
/// rejected twice), its window open again at 5.6 s.
fn stepped_aside() -> Pacer {
    let pacer = mixed_first_batch();
    for at in [2200, 3400, 4600] {
        pacer.on_throttle(ms(at), ms(at - 10), Some(secs(1)), None);
    }
    assert!(!pacer.is_active());
    pacer
}

/// Answers to a batch sent unpaced when the window opened at 5.6 s: `through` got through,
/// then `rejected` 429s came, `gap` apart.
fn answer_batch_sent_at_opening(pacer: &Pacer, through: u64, rejected: u64, gap: u64) {
    for i in 0..through {
        pacer.on_admitted_sent_at(ms(5610 + i), ms(5600));
    }
    for i in 0..rejected {
        pacer.on_throttle(ms(5620 + i * gap), ms(5600), Some(secs(1)), None);
    }
}

#[test]
fn a_limiter_taken_for_random_429s_is_paced_again_once_its_answers_show_it() {
    // The 64 requests sent unpaced when the window opens get 10 through (what a bucket of
    // 10 a second refilled) and 54 rejected: a far smaller share than before. A limiter
    // after all: the pacer starts again, at about what got through.
    let pacer = stepped_aside();
    answer_batch_sent_at_opening(&pacer, 10, 54, 1);
    assert!(pacer.is_active());
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Learned);
    assert!((8.0..=12.0).contains(&rate), "{rate}");
    // Slots are spaced at that pace once the window opens.
    let first = pacer.reserve(ms(5700), ms(6700));
    let second = pacer.reserve(ms(5700), ms(6700));
    assert!(second - first >= ms(80), "{first:?} {second:?}");
}

#[test]
fn random_429s_keep_the_pacer_aside_when_its_conclusion_is_checked() {
    // The same 64 requests, 429s drawn at random: 58 through, 6 rejected, the share of the
    // first batch. The pacer stays aside; later 429s do not start it either.
    let pacer = stepped_aside();
    answer_batch_sent_at_opening(&pacer, 58, 6, 10);
    assert!(!pacer.is_active());
    for i in 0..64 {
        pacer.on_throttle(ms(6700 + i), ms(6690), Some(secs(1)), None);
    }
    assert!(!pacer.is_active(), "no second trial within the calm");
    // Answers to requests sent before the window opened are not on trial.
    let early = stepped_aside();
    for i in 0..64 {
        early.on_throttle(ms(5000 + i), ms(4500), Some(secs(1)), None);
    }
    assert!(!early.is_active());
}

/// The first batch of 64 meets a limiter that lets `burst` through and asks for 1 s; the
/// first estimate settles when the window opens at 1,010 ms. Returns it.
fn first_batch(pacer: &Pacer, burst: u64) -> f64 {
    for i in 0..burst {
        pacer.on_admitted(ms(i / 10));
    }
    for i in 0..64 - burst {
        pacer.on_throttle(ms(10 + i / 10), ms(0), Some(secs(1)), None);
    }
    pacer.schedule(ms(1010));
    pacer.rate().unwrap().0
}

#[test]
fn a_small_burst_bucket_is_paced_at_its_rate_not_its_burst() {
    // A token bucket of 50/s with a burst of 5: 5 of the first batch got through.
    let pacer = Pacer::default();
    let first = first_batch(&pacer, 5);
    assert!(first > 55.0, "{first}");
    // Sent at that pace from the opening, the bucket lets through its 5 and then 50 a
    // second; 360 ms later it is empty and rejects.
    for i in 0..5 {
        pacer.on_admitted(ms(1010 + i));
    }
    for i in 0..18 {
        pacer.on_admitted(ms(1030 + i * 20));
    }
    pacer.on_throttle(ms(1380), ms(1379), Some(secs(1)), None);
    // The estimate is the 18 beyond the burst (and the half token the rejected request
    // found short, on average) over the 370 ms: the bucket's rate, paced a margin under it,
    // not the 23 that got through in the last second, nor the 62 a second that were
    // rejected. (Without the half token: 48.6 a second, paced at 47.7.)
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Learned);
    assert!((48.5..=50.0).contains(&rate), "{rate}");
}

#[test]
fn a_window_that_filled_is_paced_at_its_count_and_not_probed_again_soon() {
    // A fixed window of 50 per second: 50 of the first batch got through.
    let pacer = Pacer::default();
    let first = first_batch(&pacer, 50);
    assert!(first > 55.0, "{first}");
    // At that pace the next window's 50 go in 800 ms, and the 51st is rejected.
    for i in 0..50 {
        pacer.on_admitted(ms(1010 + i * 16));
    }
    pacer.on_throttle(ms(1820), ms(1818), Some(secs(1)), None);
    let (rate, _) = pacer.rate().unwrap();
    assert!((45.0..=50.0).contains(&rate), "{rate}");
    // For the rest of a 20 s batch the pace stays at or under the window's count: no
    // request is sent into a full window to find the limit again.
    let mut now = ms(2820);
    let mut sent = Vec::new();
    while now < secs(20) {
        let slot = pacer.reserve(now, now);
        sent.push(slot);
        now = slot;
    }
    for second in 3..19 {
        let in_window = sent
            .iter()
            .filter(|&&at| at >= secs(second) && at < secs(second + 1))
            .count();
        assert!(in_window <= 50, "{in_window} sent in second {second}");
    }
}

#[test]
fn a_limiter_that_rejects_only_above_its_rate_keeps_the_pacer_on() {
    // A small-burst bucket: 5 of the first batch got through, then the client was paced
    // above the bucket's rate and rejected, twice.
    let pacer = Pacer::default();
    for i in 0..5 {
        pacer.on_admitted(ms(i));
    }
    for i in 0..59 {
        pacer.on_throttle(ms(5 + i / 10), ms(0), Some(secs(1)), None);
    }
    pacer.schedule(ms(1020));
    let (first, _) = pacer.rate().unwrap();
    assert!(first > 50.0, "{first}");
    for i in 0..25 {
        pacer.on_admitted(ms(1020 + i * 16));
    }
    pacer.on_throttle(ms(1420), ms(1419), Some(secs(1)), None);
    let (second, _) = pacer.rate().unwrap();
    assert!(second < first, "{first} -> {second}");
    for i in 0..20 {
        pacer.on_admitted(ms(2420 + i * 22));
    }
    pacer.on_throttle(ms(2900), ms(2899), Some(secs(1)), None);
    assert!(pacer.is_active());
    assert_eq!(pacer.rate().unwrap().1, PaceSource::Learned);
}

#[test]
fn a_bucket_holding_many_seconds_of_its_rate_is_paced_down_not_doubted() {
    // A bucket of 2 a second holding 40 (as a shop API's is): the first batch gets its 40
    // through and the rest of it rejected. Paced, each cycle gets through the 2 the bucket
    // refilled during the window, and every pace above 2 a second is rejected in turn, far
    // under the 40 a second that got through unpaced. A limiter's 429s, not random ones:
    // the pacer steps down instead of stepping aside (it used to, at the second pace under
    // half of 40 a second, and every window then released a herd).
    let pacer = Pacer::default();
    let mut rates = vec![first_batch(&pacer, 40)];
    let mut now = ms(1010);
    for _ in 0..6 {
        pacer.on_admitted(now + ms(1));
        pacer.on_admitted(now + ms(2));
        now += ms(100);
        pacer.on_throttle(now, now - ms(1), Some(secs(1)), None);
        assert!(pacer.is_active(), "stepped aside after {rates:?}");
        rates.push(pacer.rate().unwrap().0);
        now += secs(1);
        pacer.schedule(now);
    }
    assert!(rates.windows(2).all(|w| w[1] <= w[0]), "{rates:?}");
    assert!(*rates.last().unwrap() < 3.0, "{rates:?}");
}

#[test]
fn calls_started_before_the_first_estimate_settles_are_not_failed_by_it() {
    // The first 429 came after a single success: the provisional pace is about a request a
    // second. Calls that start meanwhile, with a 3 s deadline, wait for the window and the
    // settled pace; none is failed because 30 slots at the provisional pace would have
    // reached past its deadline.
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
    assert!(shared.pacer().is_active());
    for i in 0..30 {
        let mut call = policy.start(Idempotency::Idempotent, &shared, ms(100), 10 + i);
        let hold = call.before_attempt(ms(100));
        assert_eq!(
            hold,
            Ok(ms(903)),
            "call {i} waits for the window, no longer"
        );
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

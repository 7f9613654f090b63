//! Every row of the retry table (README and `RetryPolicy` docs), plus the limits around it.

use std::time::Duration;

use errors_core::http::{HeaderMap, Method, StatusCode};
use errors_core::retry::{
    ClientRetryState, Decision, Outcome, RetryBudget, RetryReason, StopReason, TransportFailure,
    TransportKind,
};
use errors_core::{ApiError, Idempotency, RetryPolicy};

const NOW: Duration = Duration::from_millis(10);

fn error(status: u16, body: &str, retry_after: Option<&str>) -> ApiError {
    let mut headers = HeaderMap::new();
    if let Some(value) = retry_after {
        headers.insert("retry-after", value.parse().unwrap());
    }
    let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
    ApiError::parse(
        StatusCode::from_u16(status).unwrap(),
        &headers,
        body.as_bytes(),
        now,
    )
}

fn envelope(code: &str) -> String {
    format!(r#"{{"error":{{"code":"{code}","message":"m"}},"request_id":"r"}}"#)
}

/// The first decision for a fresh request with this method.
fn first_decision(method: Method, error: &ApiError) -> Decision {
    first_decision_with(
        RetryPolicy::default(),
        Idempotency::of(&method, false),
        Outcome::Api(error),
    )
}

fn first_decision_with(
    policy: RetryPolicy,
    idempotency: Idempotency,
    outcome: Outcome<'_>,
) -> Decision {
    let shared = ClientRetryState::without_budget();
    let mut run = policy.start(idempotency, &shared, Duration::ZERO, 1);
    run.before_attempt(Duration::ZERO).unwrap();
    run.after_attempt(outcome, NOW)
}

fn wait_of(decision: Decision) -> Duration {
    match decision {
        Decision::Retry { wait, .. } => wait,
        Decision::Stop(reason) => panic!("expected a retry, got stop: {reason}"),
    }
}

#[test]
fn row_429_with_short_retry_after_waits_at_least_that_long_for_any_method() {
    for method in [Method::GET, Method::POST, Method::PATCH] {
        let e = error(429, &envelope("RATE_LIMIT_ERROR"), Some("2"));
        let decision = first_decision(method.clone(), &e);
        let Decision::Retry { wait, reason } = decision else {
            panic!("{method}: {decision:?}")
        };
        assert_eq!(reason, RetryReason::RateLimited);
        assert!(
            wait >= Duration::from_secs(2),
            "{method}: {wait:?} is earlier than asked"
        );
        assert!(
            wait <= Duration::from_millis(2200),
            "{method}: jitter over 10%: {wait:?}"
        );
    }
}

#[test]
fn row_429_with_http_date_retry_after() {
    // 10 s after the parse clock.
    let e = error(429, "", Some("Sun, 06 Nov 1994 08:49:47 GMT"));
    let wait = wait_of(first_decision(Method::GET, &e));
    assert!(
        wait >= Duration::from_secs(10) && wait <= Duration::from_secs(11),
        "{wait:?}"
    );
}

#[test]
fn row_429_with_retry_after_beyond_max_wait_stops_with_the_requested_delay() {
    let e = error(429, &envelope("RATE_LIMIT_ERROR"), Some("86400"));
    let decision = first_decision(Method::GET, &e);
    assert_eq!(
        decision,
        Decision::Stop(StopReason::RetryAfterTooLong {
            requested_ms: 86_400_000
        })
    );
    let Decision::Stop(reason) = decision else {
        unreachable!()
    };
    assert_eq!(reason.requested_delay(), Some(Duration::from_secs(86_400)));
    assert!(!RetryPolicy::default().would_retry(Idempotency::Idempotent, &e));
}

#[test]
fn row_429_without_retry_after_backs_off_for_any_method() {
    let e = error(429, "", None);
    for method in [Method::GET, Method::POST] {
        let Decision::Retry { wait, reason } = first_decision(method, &e) else {
            panic!()
        };
        assert_eq!(reason, RetryReason::RateLimited);
        assert!(
            wait < Duration::from_millis(500),
            "first backoff ceiling is 500 ms: {wait:?}"
        );
    }
}

#[test]
fn row_permanent_codes_are_never_retried_whatever_the_status() {
    let cases = [
        (429, "USAGE_LIMIT_EXCEEDED"),
        (503, "USAGE_LIMIT_EXCEEDED"),
        (413, "STORAGE_QUOTA_EXCEEDED"),
        (429, "STORAGE_QUOTA_EXCEEDED"),
        (401, "INVALID_API_KEY"),
        (401, "EXPIRED_API_KEY"),
        (401, "DEACTIVATED_API_KEY"),
        (403, "AUTHZ_ERROR"),
        (413, "HTTP_413"),
        (422, "VALIDATION_ERROR"),
        (500, "IMAGE_PROCESSING_ERROR"),
        (422, "IMAGE_PROCESSING_ERROR"),
    ];
    for (status, code) in cases {
        let e = error(status, &envelope(code), Some("1"));
        assert_eq!(
            first_decision(Method::GET, &e),
            Decision::Stop(StopReason::NotRetryable),
            "{status} {code}"
        );
    }
}

#[test]
fn row_client_statuses_are_never_retried() {
    for status in [400, 401, 402, 403, 404, 405, 409, 413, 422] {
        for body in ["", r#"{"detail":"Rule not found"}"#, "<html>oops</html>"] {
            let e = error(status, body, None);
            assert_eq!(
                first_decision(Method::GET, &e),
                Decision::Stop(StopReason::NotRetryable),
                "{status} {body}"
            );
        }
    }
}

#[test]
fn row_server_errors_retry_idempotent_requests_with_backoff() {
    for status in [500, 502, 503, 504, 507, 599] {
        for method in [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ] {
            let e = error(status, "", None);
            let Decision::Retry { reason, wait } = first_decision(method.clone(), &e) else {
                panic!("{status} {method}")
            };
            assert_eq!(reason, RetryReason::ServerError);
            assert!(wait < Duration::from_millis(500));
        }
    }
    // Documented transient codes.
    for (status, code) in [
        (503, "VLM_PROVIDER_ERROR"),
        (504, "TIMEOUT"),
        (500, "SOMETHING_NEW"),
    ] {
        let e = error(status, &envelope(code), None);
        assert!(
            matches!(first_decision(Method::GET, &e), Decision::Retry { .. }),
            "{code}"
        );
    }
}

#[test]
fn row_server_errors_honour_retry_after_when_sent() {
    let e = error(503, &envelope("VLM_PROVIDER_ERROR"), Some("3"));
    let wait = wait_of(first_decision(Method::GET, &e));
    assert!(wait >= Duration::from_secs(3) && wait <= Duration::from_millis(3300));
}

#[test]
fn row_server_errors_do_not_repeat_a_post_unless_marked_safe() {
    for status in [500, 502, 503, 504] {
        for method in [Method::POST, Method::PATCH] {
            let e = error(status, "", None);
            assert_eq!(
                first_decision(method.clone(), &e),
                Decision::Stop(StopReason::UnsafeToRepeat),
                "{status} {method}"
            );
            let marked = first_decision_with(
                RetryPolicy::default(),
                Idempotency::of(&method, true),
                Outcome::Api(&e),
            );
            assert!(
                matches!(marked, Decision::Retry { .. }),
                "{status} {method} marked safe"
            );
        }
    }
}

#[test]
fn row_501_and_505_are_never_retried() {
    for status in [501, 505] {
        let e = error(status, "", None);
        let marked = first_decision_with(
            RetryPolicy::default(),
            Idempotency::Idempotent,
            Outcome::Api(&e),
        );
        assert_eq!(marked, Decision::Stop(StopReason::NotRetryable));
    }
}

#[test]
fn row_connection_refused_is_retried_for_any_method() {
    for idempotency in [Idempotency::Idempotent, Idempotency::NonIdempotent] {
        let decision = first_decision_with(
            RetryPolicy::default(),
            idempotency,
            Outcome::Transport(TransportFailure::connect()),
        );
        assert!(
            matches!(
                decision,
                Decision::Retry {
                    reason: RetryReason::NotSent,
                    ..
                }
            ),
            "{idempotency:?}"
        );
    }
}

#[test]
fn row_timeouts_and_resets_after_sending_retry_only_repeatable_requests() {
    for failure in [TransportFailure::timeout(), TransportFailure::other()] {
        let get = first_decision_with(
            RetryPolicy::default(),
            Idempotency::Idempotent,
            Outcome::Transport(failure),
        );
        assert!(matches!(
            get,
            Decision::Retry {
                reason: RetryReason::Transport,
                ..
            }
        ));
        let post = first_decision_with(
            RetryPolicy::default(),
            Idempotency::NonIdempotent,
            Outcome::Transport(failure),
        );
        assert_eq!(post, Decision::Stop(StopReason::UnsafeToRepeat));
    }
}

#[test]
fn success_stops() {
    let decision = first_decision_with(
        RetryPolicy::default(),
        Idempotency::Idempotent,
        Outcome::Success {
            status: StatusCode::NO_CONTENT,
        },
    );
    assert_eq!(decision, Decision::Stop(StopReason::Succeeded));
}

/// At most `max_retries` retries, and the stop says why. (That no wait follows the last
/// attempt is the driver's part: `errors-http/tests/paused.rs`,
/// `the_last_attempt_is_not_followed_by_a_wait`.)
#[test]
fn attempts_are_bounded_by_max_retries() {
    let policy = RetryPolicy::default()
        .with_max_retries(3)
        .without_deadline();
    let shared = ClientRetryState::without_budget();
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 42);
    let e = error(503, "", None);
    let mut now = Duration::ZERO;
    let mut decisions = Vec::new();
    loop {
        now += run.before_attempt(now).unwrap();
        let decision = run.after_attempt(Outcome::Api(&e), now);
        decisions.push(decision);
        match decision {
            Decision::Retry { wait, .. } => now += wait,
            Decision::Stop(_) => break,
        }
    }
    assert_eq!(decisions.len(), 4);
    assert_eq!(decisions[3], Decision::Stop(StopReason::RetriesExhausted));
    let attempts = run.attempts();
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[0].waited, Duration::ZERO);
    // Full jitter under a doubling ceiling: 500 ms, 1 s, 2 s.
    for (i, ceiling_ms) in [(1, 500), (2, 1000), (3, 2000)] {
        assert!(
            attempts[i].waited < Duration::from_millis(ceiling_ms),
            "{i}: {:?}",
            attempts[i].waited
        );
    }
    assert_eq!(attempts[3].stop, Some(StopReason::RetriesExhausted));
    assert_eq!(attempts[1].status, Some(503));
}

#[test]
fn the_same_seed_gives_the_same_waits() {
    let waits = |seed| {
        let shared = ClientRetryState::without_budget();
        let mut run =
            RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, seed);
        let e = error(500, "", None);
        (0..3)
            .map(|_| wait_of(run.after_attempt(Outcome::Api(&e), NOW)))
            .collect::<Vec<_>>()
    };
    assert_eq!(waits(9), waits(9));
    assert_ne!(waits(9), waits(10));
}

#[test]
fn backoff_ceiling_is_capped() {
    let policy = RetryPolicy::default()
        .with_max_retries(40)
        .without_deadline()
        .with_initial_backoff(Duration::from_secs(1))
        .with_max_backoff(Duration::from_secs(4));
    let shared = ClientRetryState::without_budget();
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 3);
    let e = error(500, "", None);
    for _ in 0..40 {
        assert!(wait_of(run.after_attempt(Outcome::Api(&e), NOW)) < Duration::from_secs(4));
    }
}

#[test]
fn a_wait_that_would_end_past_the_deadline_is_not_started() {
    let policy = RetryPolicy::default().with_deadline(Duration::from_secs(5));
    let shared = ClientRetryState::without_budget();
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    let e = error(429, "", Some("3"));
    assert!(matches!(
        run.after_attempt(Outcome::Api(&e), Duration::from_secs(1)),
        Decision::Retry { .. }
    ));
    assert_eq!(
        run.after_attempt(Outcome::Api(&e), Duration::from_secs(4)),
        Decision::Stop(StopReason::DeadlineExceeded)
    );
}

#[test]
fn attempt_timeout_is_cut_to_the_time_left() {
    let policy = RetryPolicy::default()
        .with_deadline(Duration::from_secs(10))
        .with_attempt_timeout(Duration::from_secs(4));
    let shared = ClientRetryState::without_budget();
    let run = policy.start(
        Idempotency::Idempotent,
        &shared,
        Duration::from_secs(100),
        1,
    );
    assert_eq!(
        run.attempt_timeout(Duration::from_secs(100)),
        Some(Duration::from_secs(4))
    );
    assert_eq!(
        run.attempt_timeout(Duration::from_secs(107)),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        run.attempt_timeout(Duration::from_secs(200)),
        Some(Duration::ZERO)
    );
    let no_limits = RetryPolicy::default()
        .without_deadline()
        .without_attempt_timeout()
        .start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    assert_eq!(no_limits.attempt_timeout(Duration::from_secs(5)), None);
    // By default, one hung attempt cannot take the whole deadline: 60 s of its 120 s.
    let default = RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    assert_eq!(
        default.attempt_timeout(Duration::ZERO),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        default.attempt_timeout(Duration::from_secs(100)),
        Some(Duration::from_secs(20))
    );
}

#[test]
fn a_rate_limit_closes_the_window_for_the_whole_client() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let mut first = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    let e = error(429, "", Some("2"));
    assert_eq!(
        wait_of(first.after_attempt(Outcome::Api(&e), Duration::from_secs(1))),
        Duration::from_secs(2)
    );

    // Another request of the same client, half a second later, holds off until the window ends.
    let mut second = policy.start(
        Idempotency::Idempotent,
        &shared,
        Duration::from_millis(1500),
        2,
    );
    assert_eq!(
        second.before_attempt(Duration::from_millis(1500)),
        Ok(Duration::from_millis(1500))
    );
    assert_eq!(
        second.before_attempt(Duration::from_secs(3)),
        Ok(Duration::ZERO)
    );

    // A request of another client does not.
    let other = ClientRetryState::without_budget();
    let mut third = policy.start(
        Idempotency::Idempotent,
        &other,
        Duration::from_millis(1500),
        3,
    );
    assert_eq!(
        third.before_attempt(Duration::from_millis(1500)),
        Ok(Duration::ZERO)
    );

    // One whose deadline ends inside the window stops without sending.
    let short = policy.with_deadline(Duration::from_secs(1));
    let mut fourth = short.start(
        Idempotency::Idempotent,
        &shared,
        Duration::from_millis(1500),
        4,
    );
    assert_eq!(
        fourth.before_attempt(Duration::from_millis(1500)),
        Err(StopReason::DeadlineExceeded)
    );
}

#[test]
fn the_hold_off_is_recorded_as_the_wait_before_the_attempt() {
    let shared = ClientRetryState::without_budget();
    // An earlier request's 429 closed the window for 2 s.
    let limited = error(429, "", Some("2"));
    let mut earlier =
        RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    earlier.before_attempt(Duration::ZERO).unwrap();
    earlier.after_attempt(Outcome::Api(&limited), Duration::ZERO);
    let mut run = RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    assert_eq!(
        run.before_attempt(Duration::ZERO),
        Ok(Duration::from_secs(2))
    );
    run.after_attempt(
        Outcome::Success {
            status: StatusCode::OK,
        },
        Duration::from_secs(2),
    );
    assert_eq!(run.attempts()[0].waited, Duration::from_secs(2));
}

#[test]
fn an_exhausted_budget_stops_retries_across_requests() {
    let shared = ClientRetryState::with_budget(RetryBudget::new(2, 0.0));
    let e = error(503, "", None);
    let mut sent = 0;
    for seed in 0..10 {
        let mut run = RetryPolicy::default().without_deadline().start(
            Idempotency::Idempotent,
            &shared,
            Duration::ZERO,
            seed,
        );
        loop {
            sent += 1;
            if let Decision::Stop(reason) = run.after_attempt(Outcome::Api(&e), NOW) {
                if seed >= 1 {
                    assert_eq!(reason, StopReason::BudgetExhausted);
                }
                break;
            }
        }
    }
    // Two retries from the reserve, then one attempt per request.
    assert_eq!(sent, 12);
}

#[test]
fn a_request_that_cannot_be_replayed_is_sent_once() {
    let shared = ClientRetryState::without_budget();
    let mut run = RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    run.mark_not_replayable();
    let e = error(503, "", None);
    assert_eq!(
        run.after_attempt(Outcome::Api(&e), NOW),
        Decision::Stop(StopReason::NotReplayable)
    );
    // A permanent error keeps its own reason.
    let mut run = RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    run.mark_not_replayable();
    let e = error(404, "", None);
    assert_eq!(
        run.after_attempt(Outcome::Api(&e), NOW),
        Decision::Stop(StopReason::NotRetryable)
    );
}

#[test]
fn a_post_answered_with_a_redirect_is_never_sent_again() {
    // POST -> 303 -> GET answered 429 (Retry-After: 1), or refused: the POST was received.
    let shared = ClientRetryState::without_budget();
    let limited = error(429, &envelope("RATE_LIMIT_ERROR"), Some("1"));
    let outcomes = [
        Outcome::Api(&limited),
        Outcome::Transport(TransportFailure::connect()),
    ];
    for outcome in outcomes {
        let mut run =
            RetryPolicy::default().start(Idempotency::NonIdempotent, &shared, Duration::ZERO, 1);
        run.mark_redirected();
        assert_eq!(
            run.after_attempt(outcome, NOW),
            Decision::Stop(StopReason::UnsafeToRepeat),
            "{outcome:?}"
        );
        // Without the redirect the same outcome is retried: the mark is what stops it.
        let mut run =
            RetryPolicy::default().start(Idempotency::NonIdempotent, &shared, Duration::ZERO, 1);
        assert!(
            matches!(run.after_attempt(outcome, NOW), Decision::Retry { .. }),
            "{outcome:?}"
        );
        // A request that may be repeated (a GET, or a POST marked safe) is retried all the same.
        let mut run =
            RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
        run.mark_redirected();
        assert!(
            matches!(run.after_attempt(outcome, NOW), Decision::Retry { .. }),
            "{outcome:?}"
        );
    }
}

#[test]
fn a_redirect_that_cannot_be_followed_is_never_retried() {
    for idempotency in [Idempotency::Idempotent, Idempotency::NonIdempotent] {
        let decision = first_decision_with(
            RetryPolicy::default(),
            idempotency,
            Outcome::Transport(TransportFailure::redirect()),
        );
        assert_eq!(decision, Decision::Stop(StopReason::NotRetryable));
    }
    assert!(TransportKind::Redirect.is_permanent());
    assert_eq!(TransportKind::Redirect.as_str(), "redirect");
}

#[test]
fn row_a_request_the_client_refused_to_send_is_never_retried() {
    for idempotency in [Idempotency::Idempotent, Idempotency::NonIdempotent] {
        let decision = first_decision_with(
            RetryPolicy::default(),
            idempotency,
            Outcome::Transport(TransportFailure::rejected()),
        );
        assert_eq!(
            decision,
            Decision::Stop(StopReason::NotRetryable),
            "{idempotency:?}"
        );
    }
}

#[test]
fn a_429_with_a_transient_code_is_retried_after_its_retry_after_for_any_method() {
    // A throttled provider's error passed on with the limiter's 429, and a code we do not know.
    for code in ["VLM_PROVIDER_ERROR", "TIMEOUT", "SOME_NEW_THROTTLE"] {
        let e = error(429, &envelope(code), Some("2"));
        for method in [Method::GET, Method::POST] {
            match first_decision(method.clone(), &e) {
                Decision::Retry { wait, reason } => {
                    assert_eq!(reason, RetryReason::RateLimited, "{code} {method}");
                    assert!(wait >= Duration::from_secs(2), "{code} {method}: {wait:?}");
                }
                Decision::Stop(stop) => panic!("{code} {method}: stopped: {stop}"),
            }
        }
    }
}

#[test]
fn a_429_whose_code_says_waiting_cannot_help_is_never_retried() {
    for code in [
        "USAGE_LIMIT_EXCEEDED",
        "STORAGE_QUOTA_EXCEEDED",
        "AUTHZ_ERROR",
        "HTTP_413",
    ] {
        let e = error(429, &envelope(code), Some("2"));
        assert_eq!(
            first_decision(Method::GET, &e),
            Decision::Stop(StopReason::NotRetryable),
            "{code}"
        );
    }
}

#[test]
fn a_fractional_or_listed_retry_after_is_never_shortened() {
    for (value, secs) in [("2.5", 3), ("1.0", 1), ("120, 120", 120)] {
        let e = error(429, &envelope("RATE_LIMIT_ERROR"), Some(value));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(secs)), "{value}");
        let policy = RetryPolicy::default()
            .with_max_wait(Duration::from_secs(200))
            .without_deadline();
        let wait = wait_of(first_decision_with(
            policy,
            Idempotency::Idempotent,
            Outcome::Api(&e),
        ));
        assert!(wait >= Duration::from_secs(secs), "{value}: {wait:?}");
    }
}

#[test]
fn row_failures_retrying_cannot_fix_are_never_retried() {
    for failure in [
        TransportFailure::certificate(),
        TransportFailure::tls(),
        TransportFailure::response_too_large(),
    ] {
        assert!(failure.kind.is_permanent(), "{failure:?}");
        for idempotency in [Idempotency::Idempotent, Idempotency::NonIdempotent] {
            let decision = first_decision_with(
                RetryPolicy::default(),
                idempotency,
                Outcome::Transport(failure),
            );
            assert_eq!(
                decision,
                Decision::Stop(StopReason::NotRetryable),
                "{failure:?} {idempotency:?}"
            );
        }
    }
    for failure in [
        TransportFailure::connect(),
        TransportFailure::timeout(),
        TransportFailure::other(),
    ] {
        assert!(!failure.kind.is_permanent(), "{failure:?}");
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The backoff before retry `k` is drawn uniformly below a ceiling that starts at the
/// initial backoff and doubles for each retry. Over many seeds each retry's waits fill their
/// ceiling: the largest comes close to it (a backoff that never doubles stays under the
/// first ceiling), none reaches it, and the mean is about half of it (a backoff without
/// jitter, or one stuck at the ceiling, is off by half).
#[test]
fn backoff_ceilings_double_and_the_waits_fill_them() {
    let policy = RetryPolicy::default()
        .with_max_retries(4)
        .without_deadline()
        .with_max_backoff(Duration::from_secs(60));
    let e = error(503, "", None);
    let ceilings = [ms(500), ms(1000), ms(2000), ms(4000)];
    let seeds = 400u32;
    let mut sums = [Duration::ZERO; 4];
    let mut maxes = [Duration::ZERO; 4];
    for seed in 0..seeds {
        let shared = ClientRetryState::without_budget();
        let mut run = policy.start(
            Idempotency::Idempotent,
            &shared,
            Duration::ZERO,
            seed.into(),
        );
        for (i, ceiling) in ceilings.iter().enumerate() {
            let wait = wait_of(run.after_attempt(Outcome::Api(&e), NOW));
            assert!(wait < *ceiling, "seed {seed}, retry {i}: {wait:?}");
            sums[i] += wait;
            maxes[i] = maxes[i].max(wait);
        }
    }
    for (i, ceiling) in ceilings.iter().enumerate() {
        assert!(
            maxes[i] >= ceiling.mul_f64(0.95),
            "retry {i}: the largest wait {:?} stays far under its ceiling {ceiling:?}",
            maxes[i]
        );
        let mean = sums[i] / seeds;
        assert!(
            mean >= ceiling.mul_f64(0.42) && mean <= ceiling.mul_f64(0.58),
            "retry {i}: mean wait {mean:?} is not about half of {ceiling:?}"
        );
    }
}

/// Past the cap the ceiling stays at the maximum backoff: it neither grows past it nor
/// falls back.
#[test]
fn backoff_ceiling_stays_at_the_cap() {
    let policy = RetryPolicy::default()
        .with_max_retries(12)
        .without_deadline()
        .with_initial_backoff(Duration::from_secs(1))
        .with_max_backoff(Duration::from_secs(4));
    let e = error(500, "", None);
    // Retries 3 to 11 (ceilings 8 s to 2048 s before the cap), over many seeds.
    let mut maxes = [Duration::ZERO; 12];
    for seed in 0..200 {
        let shared = ClientRetryState::without_budget();
        let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, seed);
        for max in &mut maxes {
            let wait = wait_of(run.after_attempt(Outcome::Api(&e), NOW));
            assert!(wait < Duration::from_secs(4), "{wait:?}");
            *max = (*max).max(wait);
        }
    }
    for (i, max) in maxes.iter().enumerate().skip(2) {
        assert!(*max >= ms(3800), "retry {i}: {max:?}");
    }
}

#[test]
fn row_server_errors_with_retry_after_do_not_repeat_a_post_either() {
    let vlm = envelope("VLM_PROVIDER_ERROR");
    for status in [500, 502, 503, 504] {
        for body in ["", vlm.as_str()] {
            for (retry_after, secs) in [("1", 1), ("0", 0), ("30", 30)] {
                let e = error(status, body, Some(retry_after));
                for method in [Method::POST, Method::PATCH] {
                    let case = format!("{status} {method} Retry-After: {retry_after} {body}");
                    assert_eq!(
                        first_decision(method.clone(), &e),
                        Decision::Stop(StopReason::UnsafeToRepeat),
                        "{case}"
                    );
                    assert!(
                        !RetryPolicy::default().would_retry(Idempotency::of(&method, false), &e)
                    );
                    // Marked safe, the same answer is retried after at least its wait.
                    let marked = wait_of(first_decision_with(
                        RetryPolicy::default(),
                        Idempotency::of(&method, true),
                        Outcome::Api(&e),
                    ));
                    assert!(marked >= Duration::from_secs(secs), "{case}: {marked:?}");
                }
            }
        }
    }
}

fn stated_rate_limit(retry_after: &str) -> ApiError {
    error(
        429,
        r#"{"error":{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded: 2 calls per 1 seconds"}}"#,
        Some(retry_after),
    )
}

/// `with_pacing(false)`: a 429 closes the window for the whole client, but teaches no pace:
/// every request held by the window leaves when it opens, the rejected request's retry
/// takes no slot at the head of a queue, and a rate stated later is ignored. (With pacing,
/// the same requests are spaced: checked first, so the test tells the two apart.)
#[test]
fn without_pacing_held_requests_all_leave_when_the_window_opens() {
    for pacing in [true, false] {
        let policy = RetryPolicy::default()
            .with_retry_after_jitter(0.0)
            .with_pacing(pacing);
        let shared = ClientRetryState::without_budget();
        let mut first = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
        assert_eq!(first.before_attempt(Duration::ZERO), Ok(Duration::ZERO));
        let e = stated_rate_limit("1");
        assert_eq!(
            first.after_attempt(Outcome::Api(&e), NOW),
            Decision::Retry {
                wait: Duration::from_secs(1),
                reason: RetryReason::RateLimited
            }
        );
        // The window is closed until 1.01 s. Four more requests arrive at 0.5 s.
        let mut others: Vec<_> = (0..4)
            .map(|seed| policy.start(Idempotency::Idempotent, &shared, ms(500), seed + 2))
            .collect();
        let holds: Vec<Duration> = others
            .iter_mut()
            .map(|run| run.before_attempt(ms(500)).unwrap())
            .collect();
        // The rejected request, back after its wait.
        let retry_hold = first.before_attempt(ms(1010)).unwrap();
        if pacing {
            assert!(shared.pacer().is_active(), "{pacing}");
            assert!(
                holds.windows(2).all(|w| w[1] >= w[0] + ms(400)),
                "with pacing the held requests are spaced at 2 a second: {holds:?}"
            );
        } else {
            assert!(!shared.pacer().is_active());
            assert_eq!(shared.pacer().rate(), None);
            assert_eq!(holds, [ms(510); 4], "without pacing all leave at 1.01 s");
            assert_eq!(retry_hold, Duration::ZERO);
            // A held request asked again when the window opens is sent at once.
            for run in &mut others {
                assert_eq!(run.before_attempt(ms(1010)), Ok(Duration::ZERO));
            }
            // A rate stated on a success teaches nothing either.
            let mut stated = policy.start(Idempotency::Idempotent, &shared, ms(1010), 9);
            assert_eq!(stated.before_attempt(ms(1010)), Ok(Duration::ZERO));
            stated.observe_rate_limit(errors_core::ratelimit::RateLimitStatement::with_quota(
                errors_core::ratelimit::RateLimitQuota::new(1, Duration::from_secs(10)).unwrap(),
            ));
            stated.after_attempt(
                Outcome::Success {
                    status: StatusCode::OK,
                },
                ms(1020),
            );
            assert!(!shared.pacer().is_active());
            let mut next = policy.start(Idempotency::Idempotent, &shared, ms(1030), 10);
            assert_eq!(next.before_attempt(ms(1030)), Ok(Duration::ZERO));
        }
    }
}

/// A 429 without `Retry-After` (or with `Retry-After: 0`) asks for no wait: its retries are
/// budgeted like a 5xx's, from the shared reserve.
#[test]
fn a_429_without_a_requested_wait_spends_the_budget_like_a_5xx() {
    for retry_after in [None, Some("0")] {
        let shared = ClientRetryState::with_budget(RetryBudget::new(2, 0.0));
        let e = error(429, "", retry_after);
        let mut sent = 0;
        for seed in 0..10 {
            let mut run = RetryPolicy::default()
                .without_deadline()
                .with_pacing(false)
                .start(Idempotency::Idempotent, &shared, Duration::ZERO, seed);
            loop {
                sent += 1;
                match run.after_attempt(Outcome::Api(&e), NOW) {
                    Decision::Retry { reason, .. } => {
                        assert_eq!(reason, RetryReason::RateLimited, "{retry_after:?}")
                    }
                    Decision::Stop(reason) => {
                        if seed >= 1 {
                            assert_eq!(reason, StopReason::BudgetExhausted, "{retry_after:?}");
                        }
                        break;
                    }
                }
            }
        }
        // Two retries from the reserve, then one attempt per request.
        assert_eq!(sent, 12, "{retry_after:?}");
        assert_eq!(shared.budget().unwrap().available(), 0, "{retry_after:?}");
    }
    // A 429 whose wait the server stated is flow control: it spends nothing.
    let shared = ClientRetryState::with_budget(RetryBudget::new(2, 0.0));
    let mut run = RetryPolicy::default().without_deadline().start(
        Idempotency::Idempotent,
        &shared,
        Duration::ZERO,
        1,
    );
    for _ in 0..5 {
        wait_of(run.after_attempt(Outcome::Api(&error(429, "", Some("1"))), NOW));
    }
    assert_eq!(shared.budget().unwrap().available(), 2);
}

/// A client without pacing may share its state with one that paces: the window holds it,
/// the pace does not, and it teaches the pacer nothing (neither a rate stated in its
/// answers' headers nor a place at the head of the queue for its own rejected request).
#[test]
fn without_pacing_a_shared_pace_is_neither_followed_nor_taught() {
    let shared = ClientRetryState::without_budget();
    let pacing = RetryPolicy::default().with_retry_after_jitter(0.0);
    let unpaced = pacing.clone().with_pacing(false);
    // The pacing client meets the limit: 2 calls a second, come back in 3 s (a window
    // closed longer than the header's resolution: the whole partition holds).
    let mut first = pacing.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    assert_eq!(first.before_attempt(Duration::ZERO), Ok(Duration::ZERO));
    wait_of(first.after_attempt(Outcome::Api(&stated_rate_limit("3")), NOW));
    assert!(shared.pacer().is_active());
    let rate = shared.pacer().rate();

    // Requests of the unpaced client, at 0.5 s: held to the end of the window, all of them
    // (the pace would space them 510 ms apart).
    let holds: Vec<Duration> = (0..4)
        .map(|seed| {
            unpaced
                .start(Idempotency::Idempotent, &shared, ms(500), seed + 2)
                .before_attempt(ms(500))
                .unwrap()
        })
        .collect();
    assert_eq!(holds, [ms(2510); 4]);

    // One of them is answered with a rate stated in the headers, another with a 429: the
    // pace is unchanged.
    let mut stated = unpaced.start(Idempotency::Idempotent, &shared, ms(500), 7);
    stated.before_attempt(ms(500)).unwrap();
    stated.observe_rate_limit(errors_core::ratelimit::RateLimitStatement::with_quota(
        errors_core::ratelimit::RateLimitQuota::new(1, Duration::from_secs(10)).unwrap(),
    ));
    stated.after_attempt(
        Outcome::Success {
            status: StatusCode::OK,
        },
        ms(510),
    );
    let mut rejected = unpaced.start(Idempotency::Idempotent, &shared, ms(500), 8);
    rejected.before_attempt(ms(500)).unwrap();
    let wait = wait_of(rejected.after_attempt(Outcome::Api(&stated_rate_limit("1")), ms(510)));
    assert_eq!(shared.pacer().rate(), rate);
    // Its retry leaves when its wait is over and the window open, not at a slot of the
    // pace, nor at the head of a queue.
    let back = ms(510) + wait;
    assert!(back < ms(3010));
    assert_eq!(rejected.before_attempt(back), Ok(ms(3010) - back));
    assert_eq!(rejected.before_attempt(ms(3010)), Ok(Duration::ZERO));
}

// --- The caller's rules, `disabled()`, and the names of the reasons ---

#[test]
fn a_disabled_policy_retries_nothing_the_contract_would() {
    let policy = RetryPolicy::disabled();
    assert_eq!(policy.max_retries(), 0);
    assert_eq!(policy.max_rate_limit_retries(), 0);
    let shared = ClientRetryState::without_budget();
    for e in [
        error(503, "", None),
        error(429, &envelope("RATE_LIMIT_ERROR"), Some("1")),
    ] {
        assert!(RetryPolicy::default().would_retry(Idempotency::Idempotent, &e));
        let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
        run.before_attempt(Duration::ZERO).unwrap();
        assert!(
            matches!(
                run.after_attempt(Outcome::Api(&e), Duration::ZERO),
                Decision::Stop(_)
            ),
            "{}",
            e.status()
        );
    }
}

#[test]
fn a_code_rule_changes_that_code_only() {
    let timeout = error(504, &envelope("TIMEOUT"), None);
    let other = error(503, &envelope("SERVICE_UNAVAILABLE"), None);
    let policy = RetryPolicy::default().with_code_override(
        errors_core::ErrorCode::Timeout,
        errors_core::retry::RetryOverride::Never,
    );
    assert!(RetryPolicy::default().would_retry(Idempotency::Idempotent, &timeout));
    assert!(!policy.would_retry(Idempotency::Idempotent, &timeout));
    assert!(policy.would_retry(Idempotency::Idempotent, &other));
}

#[test]
fn a_status_rule_changes_that_status_only() {
    let conflict = error(409, &envelope("CONFLICT"), None);
    let not_found = error(404, &envelope("NOT_FOUND"), None);
    let policy =
        RetryPolicy::default().with_status_override(409, errors_core::retry::RetryOverride::Retry);
    assert!(!RetryPolicy::default().would_retry(Idempotency::Idempotent, &conflict));
    assert!(policy.would_retry(Idempotency::Idempotent, &conflict));
    assert!(!policy.would_retry(Idempotency::Idempotent, &not_found));
    // Retry only where repeating is safe.
    assert!(!policy.would_retry(Idempotency::NonIdempotent, &conflict));
}

#[test]
fn the_first_rule_that_says_something_decides() {
    use errors_core::retry::RetryOverride::{Contract, Never, Retry};
    let conflict = error(409, &envelope("CONFLICT"), None);
    // A rule that does not match (another status), one that defers (a hook saying
    // `Contract`), then the one that decides, then one too late to count.
    let policy = RetryPolicy::default()
        .with_status_override(418, Never)
        .with_override(|_| Contract)
        .with_status_override(409, Retry)
        .with_status_override(409, Never);
    assert!(policy.would_retry(Idempotency::Idempotent, &conflict));
}

#[test]
fn the_rate_limit_retry_cap_is_what_was_set() {
    assert_eq!(RetryPolicy::default().max_rate_limit_retries(), 50);
    assert_eq!(
        RetryPolicy::default()
            .with_max_rate_limit_retries(7)
            .max_rate_limit_retries(),
        7
    );
}

#[test]
fn reasons_have_stable_snake_case_tags() {
    // Logs, metrics labels and JSON carry these strings: changing one breaks dashboards.
    let tags = [
        (RetryReason::RateLimited, "rate_limited"),
        (RetryReason::ServerError, "server_error"),
        (RetryReason::NotSent, "not_sent"),
        (RetryReason::Transport, "transport"),
        (RetryReason::Overridden, "overridden"),
    ];
    for (reason, tag) in tags {
        assert_eq!(reason.as_str(), tag);
    }
}

#[test]
fn each_setting_reads_back_as_set() {
    let default = RetryPolicy::default();
    assert_eq!(default.max_retries(), 3);
    assert!(default.pacing());
    assert_eq!(default.max_wait(), errors_core::retry::DEFAULT_MAX_WAIT);
    assert_eq!(
        default.deadline(),
        Some(errors_core::retry::DEFAULT_DEADLINE)
    );
    assert_eq!(
        default.attempt_timeout(),
        Some(errors_core::retry::DEFAULT_ATTEMPT_TIMEOUT)
    );

    let set = RetryPolicy::default()
        .with_max_retries(5)
        .with_pacing(false)
        .with_max_wait(Duration::from_secs(7))
        .with_deadline(Duration::from_secs(9))
        .with_attempt_timeout(Duration::from_secs(2));
    assert_eq!(set.max_retries(), 5);
    assert!(!set.pacing());
    assert_eq!(set.max_wait(), Duration::from_secs(7));
    assert_eq!(set.deadline(), Some(Duration::from_secs(9)));
    assert_eq!(set.attempt_timeout(), Some(Duration::from_secs(2)));

    let unbounded = set.without_deadline().without_attempt_timeout();
    assert_eq!(unbounded.deadline(), None);
    assert_eq!(unbounded.attempt_timeout(), None);
}

#[test]
fn a_stated_429_counts_against_the_rate_limit_cap_and_other_errors_against_max_retries() {
    let limited = error(429, &envelope("RATE_LIMIT_ERROR"), Some("1"));
    let unstated = error(429, &envelope("RATE_LIMIT_ERROR"), None);
    let outage = error(503, "", None);
    let no_outage_retries = RetryPolicy::default().with_max_retries(0);
    assert!(no_outage_retries.would_retry(Idempotency::Idempotent, &limited));
    assert!(!no_outage_retries.would_retry(Idempotency::Idempotent, &unstated));
    assert!(!no_outage_retries.would_retry(Idempotency::Idempotent, &outage));
    let no_rate_limit_retries = RetryPolicy::default().with_max_rate_limit_retries(0);
    assert!(!no_rate_limit_retries.would_retry(Idempotency::Idempotent, &limited));
    assert!(no_rate_limit_retries.would_retry(Idempotency::Idempotent, &unstated));
    assert!(no_rate_limit_retries.would_retry(Idempotency::Idempotent, &outage));
}

#[test]
fn the_client_state_reports_its_budget_partitions_and_longest_hold() {
    assert!(ClientRetryState::without_budget().budget().is_none());
    let shared = ClientRetryState::without_budget();
    assert_eq!(shared.partition_count(), 0);
    let policy = RetryPolicy::default();
    for (url, retry_after) in [
        ("https://api.example.com/v1/a", "5"),
        ("https://api.example.com/v1/b", "2"),
    ] {
        let mut run = policy.start_for(
            Idempotency::Idempotent,
            &shared,
            &Method::GET,
            url,
            Duration::ZERO,
            1,
        );
        run.before_attempt(Duration::ZERO).unwrap();
        let limited = error(429, "", Some(retry_after));
        run.after_attempt(Outcome::Api(&limited), Duration::ZERO);
    }
    assert_eq!(shared.partition_count(), 2);
    // The longest hold of any partition: `/v1/a`'s five seconds.
    assert_eq!(
        shared.rate_limited_for(Duration::from_secs(1)),
        Duration::from_secs(4)
    );
    assert_eq!(
        shared.rate_limited_for(Duration::from_secs(6)),
        Duration::ZERO
    );
}

#[test]
fn a_short_retry_after_is_waited_as_asked_whatever_the_backoff() {
    // A server-directed wait is not an outage's backoff: a long initial backoff does not
    // lengthen a `Retry-After: 1`.
    let policy = RetryPolicy::default()
        .with_initial_backoff(Duration::from_secs(5))
        .with_max_backoff(Duration::from_secs(10))
        .with_retry_after_jitter(0.0);
    let shared = ClientRetryState::without_budget();
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    run.before_attempt(Duration::ZERO).unwrap();
    let limited = error(429, &envelope("RATE_LIMIT_ERROR"), Some("1"));
    match run.after_attempt(Outcome::Api(&limited), Duration::ZERO) {
        Decision::Retry { wait, reason } => {
            assert_eq!(reason, RetryReason::RateLimited);
            assert_eq!(wait, Duration::from_secs(1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_429_that_is_not_a_rate_limit_is_neither_admitted_nor_a_rejection() {
    // Twenty monthly-limit 429s (stopped at the door, not by the rate limiter), then twenty
    // rate-limit 429s: nothing got through, so the limiter is overrun.
    let shared = ClientRetryState::without_budget();
    let usage = error(429, &envelope("USAGE_LIMIT_EXCEEDED"), None);
    let limited = error(429, &envelope("RATE_LIMIT_ERROR"), Some("1"));
    for (i, e) in std::iter::repeat_n(&usage, 20)
        .chain(std::iter::repeat_n(&limited, 20))
        .enumerate()
    {
        let now = Duration::from_millis(i as u64);
        let mut run = RetryPolicy::default().start(Idempotency::Idempotent, &shared, now, 1);
        run.before_attempt(now).unwrap();
        run.after_attempt(Outcome::Api(e), now);
    }
    assert!(shared.pacer().is_active());
}

#[test]
fn a_limit_stated_on_a_success_moves_a_stated_pace() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default();
    let limited = error(
        429,
        r#"{"error":{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded: 5 calls per 1 seconds"}}"#,
        Some("1"),
    );
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    run.before_attempt(Duration::ZERO).unwrap();
    run.after_attempt(Outcome::Api(&limited), Duration::ZERO);
    let (rate, _) = shared.pacer().rate().unwrap();
    assert!((rate - 5.0 * 0.98).abs() < 1e-9, "{rate}");
    // A success whose headers state a higher limit: the pace follows it.
    let mut headers = HeaderMap::new();
    headers.insert("ratelimit-policy", "20;w=1".parse().unwrap());
    let now = Duration::from_secs(2);
    let mut run = policy.start(Idempotency::Idempotent, &shared, now, 2);
    run.before_attempt(now).unwrap();
    run.observe_rate_limit(errors_core::ratelimit::RateLimitStatement::from_headers(
        &headers,
        std::time::SystemTime::UNIX_EPOCH,
    ));
    run.after_attempt(
        Outcome::Success {
            status: StatusCode::OK,
        },
        now,
    );
    let (rate, _) = shared.pacer().rate().unwrap();
    assert!((rate - 20.0 * 0.98).abs() < 1e-9, "{rate}");
}

fn stated_429(limit: &str, retry_after: &str) -> ApiError {
    error(
        429,
        &format!(
            r#"{{"error":{{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded: {limit}"}}}}"#
        ),
        Some(retry_after),
    )
}

#[test]
fn a_rejected_request_asked_again_early_still_waits_its_retry_after() {
    // Drivers nap and ask again (the middleware every 250 ms): a request the limiter
    // rejected with `Retry-After: 1` is not let go before its second is over.
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    run.before_attempt(Duration::ZERO).unwrap();
    let limited = stated_429("10 calls per 1 seconds", "1");
    let Decision::Retry { wait, .. } = run.after_attempt(Outcome::Api(&limited), Duration::ZERO)
    else {
        panic!("not retried");
    };
    assert_eq!(wait, Duration::from_secs(1));
    let early = run.before_attempt(Duration::from_millis(250)).unwrap();
    assert_eq!(early, Duration::from_millis(750));
}

#[test]
fn a_request_held_by_a_closed_window_queues_behind_the_pace_that_started_meanwhile() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let at = Duration::from_millis;
    // An unstated 429 closes the window for 5 s; nothing paces yet.
    let mut first = policy.start(Idempotency::Idempotent, &shared, at(0), 1);
    first.before_attempt(at(0)).unwrap();
    first.after_attempt(Outcome::Api(&error(429, "", Some("5"))), at(0));
    assert!(!shared.pacer().is_active());
    // `held` waits for the window.
    let mut held = policy.start(Idempotency::Idempotent, &shared, at(100), 2);
    assert_eq!(held.before_attempt(at(100)), Ok(at(4900)));
    // A 429 states one call a second: the partition is paced from the window's opening.
    let mut stated = policy.start(Idempotency::Idempotent, &shared, at(200), 3);
    stated.before_attempt(at(200)).unwrap();
    stated.after_attempt(
        Outcome::Api(&stated_429("1 calls per 1 seconds", "5")),
        at(200),
    );
    assert!(shared.pacer().is_active());
    // `ahead` asks for a slot first: the window's one call.
    let mut ahead = policy.start(Idempotency::Idempotent, &shared, at(300), 4);
    let ahead_slot = at(300) + ahead.before_attempt(at(300)).unwrap();
    // `held`, asking again, takes a place in the queue behind it, a second later.
    let held_slot = at(1000) + held.before_attempt(at(1000)).unwrap();
    assert!(
        held_slot >= ahead_slot + at(900),
        "held at {held_slot:?}, ahead at {ahead_slot:?}"
    );
}

#[test]
fn a_run_paced_elsewhere_holds_for_the_window_only_and_records_the_stores_hold() {
    let shared = ClientRetryState::without_budget();
    let policy = RetryPolicy::default().with_retry_after_jitter(0.0);
    let at = Duration::from_millis;
    let mut limited = policy.start(Idempotency::Idempotent, &shared, at(0), 1);
    limited.before_attempt(at(0)).unwrap();
    limited.after_attempt(
        Outcome::Api(&stated_429("1 calls per 1 seconds", "1")),
        at(0),
    );
    // Paced here, the next request waits for the next slot, about a second on.
    let mut local = policy.start(Idempotency::Idempotent, &shared, at(100), 2);
    assert!(local.before_attempt(at(100)).unwrap() >= at(800));
    // Paced by a store, it holds for the (open) window only; the store's hold is recorded.
    let mut fleet = policy.start(Idempotency::Idempotent, &shared, at(100), 3);
    fleet.pace_elsewhere(true);
    assert_eq!(fleet.before_attempt(at(100)), Ok(Duration::ZERO));
    fleet.held_elsewhere(at(300));
    fleet.held_elsewhere(at(200));
    fleet.after_attempt(
        Outcome::Success {
            status: StatusCode::OK,
        },
        at(700),
    );
    let attempts = fleet.into_attempts();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].held, at(500));
    assert_eq!(attempts[0].waited, at(500));
}

#[test]
fn a_rejection_is_reported_once_for_a_store_to_share() {
    let shared = ClientRetryState::without_budget();
    let mut run = RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 1);
    run.before_attempt(Duration::ZERO).unwrap();
    assert!(run.take_rate_limit_event().is_none());
    run.after_attempt(
        Outcome::Api(&stated_429("10 calls per 1 seconds", "1")),
        Duration::from_millis(20),
    );
    let event = run.take_rate_limit_event().expect("a rejection to report");
    assert!(event.throttled);
    assert_eq!(event.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(event.sent_ago, Duration::from_millis(20));
    assert_eq!(event.quota.map(|q| q.limit()), Some(10));
    assert!(run.take_rate_limit_event().is_none(), "reported once");
}

#[test]
fn a_hook_rule_decides_what_it_says() {
    let outage = error(503, "", None);
    let never = RetryPolicy::default().with_override(|e| {
        if e.status() == StatusCode::SERVICE_UNAVAILABLE {
            errors_core::retry::RetryOverride::Never
        } else {
            errors_core::retry::RetryOverride::Contract
        }
    });
    assert!(RetryPolicy::default().would_retry(Idempotency::Idempotent, &outage));
    assert!(!never.would_retry(Idempotency::Idempotent, &outage));
    assert!(never.would_retry(Idempotency::Idempotent, &error(502, "", None)));
}

//! Property tests for rate-limit statements and pacing: contradictory or absurd headers and
//! messages (remaining above the limit, negative values, resets in the past or years ahead,
//! "0 calls per 0 seconds", huge numbers) never panic, never hold a call past its deadline,
//! and a server-requested wait is never shortened.

use std::time::{Duration, SystemTime};

use errors_core::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use errors_core::ratelimit::{RateLimitQuota, RateLimitStatement};
use errors_core::retry::{ClientRetryState, Decision, Outcome, RetryBudget, RetryReason};
use errors_core::{ApiError, Idempotency, RetryPolicy};
use proptest::prelude::*;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

const NAMES: &[&str] = &[
    "ratelimit-policy",
    "ratelimit",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
];

/// Values a hostile or broken deployment might send.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..200, 0u64..200).prop_map(|(q, w)| format!("\"default\";q={q};w={w}")),
        (0u64..200, 0u64..200).prop_map(|(r, t)| format!("\"default\";r={r};t={t}")),
        (any::<u64>(), any::<i64>(), any::<u64>())
            .prop_map(|(l, r, t)| format!("limit={l}, remaining={r}, reset={t}")),
        "[ -~]{0,40}",
    ]
}

fn message() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            any::<i64>(),
            any::<i64>(),
            "(seconds|minute|hours|days|fortnight)"
        )
            .prop_map(|(n, w, u)| format!("Rate limit exceeded: {n} calls per {w} {u}")),
        (any::<u64>(), any::<u64>())
            .prop_map(|(n, w)| format!("Rate limit exceeded: {n} calls per {w} seconds")),
        "\\PC{0,80}",
    ]
}

fn header_map(pairs: &[(usize, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(value) {
            map.append(HeaderName::from_static(NAMES[name % NAMES.len()]), v);
        }
    }
    map
}

fn rate_limited(map: &HeaderMap, message: &str) -> ApiError {
    let body = serde_json::json!({
        "error": {"code": "RATE_LIMIT_ERROR", "message": message, "details": {}},
        "request_id": "req-p"
    });
    ApiError::parse(
        StatusCode::TOO_MANY_REQUESTS,
        map,
        body.to_string().as_bytes(),
        now(),
    )
}

/// One step of a client's life: a call that gets `429`s with these headers and message,
/// then a success, `gap_ms` after the previous call.
#[derive(Debug, Clone)]
struct Step {
    headers: Vec<(usize, String)>,
    message: String,
    rejections: usize,
    gap_ms: u64,
}

fn step() -> impl Strategy<Value = Step> {
    (
        proptest::collection::vec((0usize..NAMES.len(), value()), 0..5),
        message(),
        0usize..4,
        0u64..3_000,
    )
        .prop_map(|(headers, message, rejections, gap_ms)| Step {
            headers,
            message,
            rejections,
            gap_ms,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn statements_never_panic_and_stay_sane(
        pairs in proptest::collection::vec((0usize..NAMES.len(), value()), 0..8),
        text in message(),
    ) {
        let stated = RateLimitStatement::from_headers(&header_map(&pairs), now());
        if let Some(reset) = stated.reset() {
            prop_assert!(!reset.is_zero() && reset <= Duration::from_secs(86_400));
        }
        for quota in [stated.quota(), RateLimitQuota::from_message(&text)].into_iter().flatten() {
            prop_assert!(quota.limit() > 0);
            prop_assert!(!quota.window().is_zero() && quota.window() <= Duration::from_secs(86_400));
            prop_assert!(quota.per_second().is_finite() && quota.per_second() > 0.0);
        }
    }

    #[test]
    fn a_client_fed_any_statements_never_holds_past_the_deadline_nor_shortens_a_wait(
        steps in proptest::collection::vec(step(), 1..12),
        deadline_s in 1u64..60,
        seed in any::<u64>(),
    ) {
        let shared = ClientRetryState::with_budget(RetryBudget::default());
        let deadline = Duration::from_secs(deadline_s);
        let policy = RetryPolicy::default().with_deadline(deadline);
        let mut clock = Duration::from_secs(1);
        for (k, step) in steps.iter().enumerate() {
            clock += Duration::from_millis(step.gap_ms);
            let started = clock;
            let mut run = policy.start(Idempotency::Idempotent, &shared, clock, seed ^ k as u64);
            let map = header_map(&step.headers);
            let error = rate_limited(&map, &step.message);
            let mut rejections = step.rejections;
            loop {
                // Hold as asked, looking again after each hold; never past the deadline.
                let mut passes = 0;
                let held = loop {
                    passes += 1;
                    prop_assert!(passes < 100);
                    match run.before_attempt(clock) {
                        Ok(hold) if hold.is_zero() => break true,
                        Ok(hold) => {
                            prop_assert!(clock - started + hold < deadline);
                            clock += hold;
                        }
                        Err(_) => break false,
                    }
                };
                if !held {
                    break;
                }
                clock += Duration::from_millis(3);
                if rejections == 0 {
                    run.observe_rate_limit(RateLimitStatement::from_headers(&map, now()));
                    run.after_attempt(Outcome::Success { status: StatusCode::OK }, clock);
                    break;
                }
                rejections -= 1;
                run.observe_rate_limit(RateLimitStatement::from_headers(&map, now()));
                match run.after_attempt(Outcome::Api(&error), clock) {
                    Decision::Retry { wait, reason } => {
                        prop_assert_eq!(reason, RetryReason::RateLimited);
                        if let Some(asked) = error.retry_after() {
                            prop_assert!(wait >= asked, "{:?} < {:?}", wait, asked);
                        }
                        prop_assert!(clock - started + wait < deadline);
                        clock += wait;
                    }
                    Decision::Stop(_) => break,
                }
            }
            for record in run.attempts() {
                prop_assert!(record.held <= record.waited);
                prop_assert!(record.waited < deadline);
            }
        }
    }
}

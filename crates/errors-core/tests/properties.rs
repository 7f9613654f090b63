//! Property tests: any status, header and body bytes parse without panicking, keep the
//! status, stay bounded; the API's own bodies survive parse → serialize → parse; the policy
//! never waits less than the server asked nor past the deadline.

use std::time::{Duration, SystemTime};

use errors_core::body::{DetailObject, Envelope, ErrorBody, LocSegment, ValidationIssue};
use errors_core::clock::{Clock, ManualClock};
use errors_core::error::{ErrorParser, MAX_BODY_LIMIT};
use errors_core::http::{HeaderMap, HeaderValue, StatusCode};
use errors_core::retry::{ClientRetryState, Decision, Outcome, StopReason};
use errors_core::{ApiError, ErrorCode, Idempotency, RetryAfter, RetryPolicy};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn headers(retry_after: &[u8], request_id: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(retry_after) {
        map.insert("retry-after", v);
    }
    if let Ok(v) = HeaderValue::from_bytes(request_id) {
        map.insert("x-request-id", v);
    }
    map
}

/// Bodies that look a little like the API's, so the JSON paths are exercised too.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        "[{}\\[\\]\":,a-z0-9 \\\\]{0,300}".prop_map(String::into_bytes),
        (any::<String>(), any::<String>()).prop_map(|(c, m)| {
            format!(
                r#"{{"error":{{"code":{},"message":{}}},"request_id":1}}"#,
                serde_json::json!(c),
                serde_json::json!(m)
            )
            .into_bytes()
        }),
        any::<String>()
            .prop_map(
                |s| format!(r#"{{"detail":[{{"loc":[{s:?}, -1, 2.5],"msg":3}}]}}"#).into_bytes()
            ),
    ]
}

fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.chars().take(40).collect())
}

fn api_body() -> impl Strategy<Value = ErrorBody> {
    let code = prop_oneof![
        proptest::sample::select(errors_core::ErrorCode::documented().to_vec()),
        text().prop_map(|s| errors_core::ErrorCode::from_wire(&s)),
    ];
    let segment = prop_oneof![
        text().prop_map(LocSegment::Name),
        any::<u64>().prop_map(LocSegment::Index)
    ];
    prop_oneof![
        (code.clone(), text(), proptest::option::of(text())).prop_map(|(c, m, id)| {
            let mut e = Envelope::new(c, m).with_details(serde_json::json!({"n": 1}));
            e.request_id = id;
            ErrorBody::Envelope(e)
        }),
        text().prop_map(ErrorBody::DetailString),
        (code, text(), text())
            .prop_map(|(c, m, f)| ErrorBody::DetailObject(DetailObject::new(c, m).with_field(f))),
        proptest::collection::vec(
            (proptest::collection::vec(segment, 0..4), text(), text()),
            0..5
        )
        .prop_map(|items| {
            ErrorBody::DetailList(
                items
                    .into_iter()
                    .map(|(loc, msg, kind)| ValidationIssue::new(loc, msg, kind))
                    .collect(),
            )
        }),
    ]
}

/// 2000 cases; failures are recorded beside this file (`properties.proptest-regressions`,
/// checked in) and the recorded ones run first, every time.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// The recorded regressions are found from where the tests run (the crate's directory, while
/// `file!()` is relative to the workspace), so they replay: a lookup that found nothing, or
/// persistence turned off, would silently replay nothing.
#[test]
fn the_recorded_regressions_are_found() {
    let recorded = include_str!("properties.proptest-regressions")
        .lines()
        .filter(|line| line.starts_with("cc "))
        .count();
    assert!(recorded >= 1);
    let loaded = config()
        .failure_persistence
        .expect("failures are recorded")
        .load_persisted_failures2(Some(file!()));
    assert_eq!(loaded.len(), recorded);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_input_parses_without_panicking_and_keeps_the_status(
        status in 100u16..=999,
        retry_after in proptest::collection::vec(any::<u8>(), 0..80),
        request_id in proptest::collection::vec(any::<u8>(), 0..400),
        body in body_bytes(),
        limit in prop_oneof![1024usize..4096, Just(0usize), Just(usize::MAX), any::<usize>()],
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        let parser = ErrorParser::new().with_body_limit(limit);
        // A driver reads `limit() + 1` bytes: that must never overflow.
        prop_assert!(parser.body_limit() >= 1024 && parser.body_limit() <= MAX_BODY_LIMIT);
        prop_assert!(parser.body_limit().checked_add(1).is_some());
        let e = parser.parse(status, &headers(&retry_after, &request_id), &body, now());
        prop_assert_eq!(e.status(), status);
        prop_assert_eq!(e.is_truncated(), body.len() > parser.body_limit());
        if let Some(excerpt) = e.excerpt() {
            prop_assert!(excerpt.len() <= 1024);
        }
        if let Some(id) = e.request_id() {
            prop_assert!(id.len() <= 256);
        }
        let shown = e.to_string();
        prop_assert!(shown.starts_with(&status.as_u16().to_string()));
        prop_assert!(!shown.contains('\n') && !shown.contains('\r'));
        let json = serde_json::to_value(&e).unwrap();
        prop_assert_eq!(json["status"].as_u64(), Some(u64::from(status.as_u16())));
    }

    #[test]
    fn api_bodies_survive_parse_serialize_parse(body in api_body(), status in 400u16..600) {
        let status = StatusCode::from_u16(status).unwrap();
        let wire = body.to_json().unwrap();
        let first = ApiError::parse(status, &HeaderMap::new(), &wire, now());
        prop_assert_eq!(first.body(), &body);
        let again = ApiError::parse(status, &HeaderMap::new(), &first.body().to_json().unwrap(), now());
        prop_assert_eq!(again.body(), first.body());
        prop_assert_eq!(again.shape(), body.shape());
        prop_assert_eq!(again.request_id(), first.request_id());
        prop_assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&first).unwrap());
    }

    #[test]
    fn retry_after_never_panics(value in proptest::collection::vec(any::<u8>(), 0..100), secs in any::<u64>()) {
        if let Ok(parsed) = RetryAfter::parse(&value, now()) {
            let _ = parsed.delay_from(now());
            let _ = parsed.delay_from(SystemTime::UNIX_EPOCH);
        }
        let digits = secs.to_string();
        prop_assert_eq!(RetryAfter::parse(digits.as_bytes(), now()).unwrap(), RetryAfter::Delay(Duration::from_secs(secs)));
    }

    #[test]
    fn retry_after_is_never_shortened(secs in 0u64..1_000_000_000, fraction in 0u32..1000, list in any::<bool>()) {
        let mut value = format!("{secs}.{fraction:03}");
        if list {
            value = format!("{value}, {}", secs / 2);
        }
        let parsed = RetryAfter::parse(value.as_bytes(), now()).unwrap();
        let delay = parsed.delay_from(now());
        let asked = Duration::from_secs(secs) + Duration::from_millis(u64::from(fraction));
        prop_assert!(delay >= asked, "{} -> {:?}", value, delay);
        prop_assert!(delay < asked + Duration::from_secs(1));
        // Display writes what was asked, rounded up as well.
        let shown: u64 = parsed.to_string().parse().unwrap();
        prop_assert_eq!(Duration::from_secs(shown), delay);
    }

    #[test]
    fn retry_after_dates_display_without_panicking_and_round_trip(secs in any::<i64>(), nanos in 0u32..1_000_000_000) {
        let epoch = SystemTime::UNIX_EPOCH;
        let at = if secs >= 0 {
            epoch.checked_add(Duration::new(secs.unsigned_abs(), nanos))
        } else {
            epoch.checked_sub(Duration::new(secs.unsigned_abs(), nanos))
        };
        if let Some(at) = at {
            let shown = RetryAfter::At(at).to_string();
            // Years 1..=9999 are HTTP-dates and read back to the same second.
            let year_1 = -62_135_596_800i64;
            let year_10000 = 253_402_300_800i64;
            if (year_1 + 1..year_10000 - 1).contains(&secs) {
                let back = RetryAfter::parse(shown.as_bytes(), now()).unwrap();
                let RetryAfter::At(back) = back else { panic!("{back:?}") };
                let delta = match at.duration_since(back) { Ok(d) => d, Err(e) => e.duration() };
                prop_assert!(delta < Duration::from_secs(1), "{} {:?}", shown, delta);
            }
        }
    }

    /// RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the most recent past
    /// year with those digits, whatever the clock says (even absurd clocks must not panic).
    #[test]
    fn rfc850_two_digit_years_against_any_clock(now_secs in prop_oneof![any::<i64>(), 0i64..253_402_300_799], yy in 0u32..100) {
        let epoch = SystemTime::UNIX_EPOCH;
        let Some(clock) = (if now_secs >= 0 {
            epoch.checked_add(Duration::from_secs(now_secs.unsigned_abs()))
        } else {
            epoch.checked_sub(Duration::from_secs(now_secs.unsigned_abs()))
        }) else {
            return Ok(());
        };
        let value = format!("Sunday, 06-Nov-{yy:02} 08:49:37 GMT");
        let parsed = RetryAfter::parse(value.as_bytes(), clock);
        if let Ok(parsed) = parsed {
            let _ = parsed.delay_from(clock);
            let shown = parsed.to_string();
            let now_shown = RetryAfter::At(clock).to_string();
            let year = |s: &str| s.split(' ').nth(3).unwrap().parse::<i64>().unwrap();
            let (y, now_y) = (year(&shown), year(&now_shown));
            prop_assert_eq!(y.rem_euclid(100), i64::from(yy));
            prop_assert!((-51..=50).contains(&(y - now_y)), "{} read at {}", shown, now_shown);
        } else {
            // Only when the resolved date is past what SystemTime can hold.
            prop_assert!(now_secs.unsigned_abs() > 1 << 50, "{} rejected at {}", value, now_secs);
        }
    }

    #[test]
    fn a_manual_clock_never_overflows(start in any::<u64>(), steps in proptest::collection::vec(any::<u64>(), 0..6)) {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(start >> 2));
        let mut last = clock.now();
        for step in steps {
            clock.advance(Duration::from_secs(step));
            prop_assert!(clock.now() >= last);
            last = clock.now();
        }
    }

    /// For every documented code, any one member of the body of the wrong type still yields
    /// that code and the same retry decision.
    #[test]
    fn one_mistyped_member_keeps_the_code_and_the_decision(
        code_index in 0usize..ErrorCode::documented().len(),
        shape in 0usize..2,
        member in 0usize..4,
        bad in prop_oneof![
            Just(json!(12345)), Just(json!(2.5)), Just(json!(true)), Just(json!(null)),
            Just(json!([1, "x"])), Just(json!({"nested": {"a": [1]}})), Just(json!(-7)),
        ],
        retry_after in proptest::option::of(0u64..120),
    ) {
        let code = &ErrorCode::documented()[code_index];
        let status = code.typical_status().unwrap();
        let (mut good, members): (Value, &[&str]) = if shape == 0 {
            (
                json!({"error": {"code": code.as_str(), "message": "m", "details": {}}, "request_id": "r-1"}),
                &["error.message", "error.details", "request_id", "extra"],
            )
        } else {
            (
                json!({"detail": {"code": code.as_str(), "message": "m", "field": "f"}}),
                &["detail.message", "detail.field", "detail.extra", "request_id"],
            )
        };
        let clean = good.to_string();
        let path: Vec<&str> = members[member].split('.').collect();
        let mut target = &mut good;
        for key in &path[..path.len() - 1] {
            target = &mut target[*key];
        }
        target[path[path.len() - 1]] = bad.clone();

        let mut headers = HeaderMap::new();
        if let Some(secs) = retry_after {
            headers.insert("retry-after", HeaderValue::from(secs));
        }
        let status = StatusCode::from_u16(status).unwrap();
        let reference = ApiError::parse(status, &headers, clean.as_bytes(), now());
        let mistyped = ApiError::parse(status, &headers, good.to_string().as_bytes(), now());
        prop_assert_eq!(mistyped.code(), Some(code));
        prop_assert_eq!(mistyped.shape(), reference.shape());
        prop_assert_eq!(mistyped.kind(), reference.kind());
        let policy = RetryPolicy::default();
        for idempotency in [Idempotency::Idempotent, Idempotency::NonIdempotent] {
            prop_assert_eq!(
                policy.would_retry(idempotency, &mistyped),
                policy.would_retry(idempotency, &reference)
            );
            prop_assert_eq!(
                policy.classify(idempotency, &Outcome::Api(&mistyped)),
                policy.classify(idempotency, &Outcome::Api(&reference))
            );
        }
        prop_assert_eq!(mistyped.is_retryable(), reference.is_retryable());
        prop_assert_eq!(mistyped.retry_after(), reference.retry_after());
    }

    /// A secret the server echoes anywhere in its body, or in the request id header, is gone
    /// from everything the error shows after `redact`: Display, Debug, JSON and `source()`.
    #[test]
    fn redaction_leaves_no_trace_of_the_secret(
        secret in "sk-[a-z0-9]{8,24}",
        template in 0usize..9,
        status in 400u16..600,
        pad in 0usize..1100,
    ) {
        let padding = "x".repeat(pad);
        let body = match template {
            0 => format!(r#"{{"error":{{"code":"E_{secret}","message":"{padding}{secret}","details":{{"{secret}":["{secret}"]}}}},"request_id":"{secret}"}}"#),
            1 => format!(r#"{{"detail":"{padding}{secret}","request_id":"{secret}"}}"#),
            2 => format!(r#"{{"detail":{{"code":"{secret}","message":"m","field":"{secret}","{secret}":{{"k":"{secret}"}}}}}}"#),
            3 => format!(r#"{{"detail":[{{"loc":["header","{secret}"],"msg":"{padding}{secret}","type":"{secret}","input":"{secret}"}}]}}"#),
            4 => format!("<html><title>{padding}{secret}</title></html>"),
            5 => format!("{padding}{secret}"),
            6 => format!(r#"{{"detail": "{padding}{secret}" "#),
            7 => format!(r#"{{"message":"{padding}{secret}","request_id":"{secret}"}}"#),
            _ => format!(r#"{{"error":"{secret}","title":"{secret}"}}"#),
        };
        let mut map = HeaderMap::new();
        map.insert("x-request-id", HeaderValue::from_str(&format!("{padding}{secret}")).unwrap());
        let mut e = ApiError::parse(StatusCode::from_u16(status).unwrap(), &map, body.as_bytes(), now());
        e.redact(&secret);
        let source = std::error::Error::source(&e).map(ToString::to_string);
        let shown = format!("{e} {e:?} {} {source:?}", serde_json::to_string(&e).unwrap());
        prop_assert!(!shown.contains(&secret), "{}", shown);
    }

    #[test]
    fn waits_respect_retry_after_and_the_deadline(
        retry_after in 0u64..120,
        status in prop_oneof![Just(429u16), Just(503u16), Just(500u16)],
        elapsed_ms in 0u64..200_000,
        deadline_s in 1u64..200,
        seed in any::<u64>(),
    ) {
        let mut map = HeaderMap::new();
        map.insert("retry-after", HeaderValue::from(retry_after));
        let e = ApiError::parse(StatusCode::from_u16(status).unwrap(), &map, b"", now());
        let deadline = Duration::from_secs(deadline_s);
        let policy = RetryPolicy::default().with_deadline(deadline);
        let shared = ClientRetryState::without_budget();
        let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, seed);
        let elapsed = Duration::from_millis(elapsed_ms);
        let requested = Duration::from_secs(retry_after);
        // The least the policy must wait: what the server asked, and for a 5xx or a zero
        // wait at least some backoff (under the first ceiling, 500 ms).
        let first_ceiling = Duration::from_millis(500);
        match run.after_attempt(Outcome::Api(&e), elapsed) {
            Decision::Retry { wait, .. } => {
                prop_assert!(wait >= requested, "{:?} < {:?}", wait, requested);
                prop_assert!(retry_after <= 60);
                prop_assert!(elapsed + wait < deadline);
                // Jitter adds at most 10% of the requested wait; a backoff stays under its
                // first ceiling.
                prop_assert!(
                    wait <= (requested.mul_f64(1.1) + Duration::from_millis(1)).max(first_ceiling),
                    "{:?}", wait
                );
            }
            // A stop needs a reason the inputs give: a wait beyond the maximum, or one that
            // cannot end before the deadline. (A policy that never retries fails here.)
            Decision::Stop(StopReason::RetryAfterTooLong { requested_ms }) => {
                prop_assert!(retry_after > 60, "stopped for a {}s wait", retry_after);
                prop_assert_eq!(requested_ms, retry_after * 1000);
            }
            Decision::Stop(StopReason::DeadlineExceeded) => {
                prop_assert!(retry_after <= 60);
                prop_assert!(
                    elapsed + requested.max(first_ceiling) >= deadline,
                    "stopped at {:?} of {:?} for a {}s wait", elapsed, deadline, retry_after
                );
            }
            Decision::Stop(other) => prop_assert!(false, "unexpected stop: {}", other),
        }
    }
}

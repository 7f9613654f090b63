//! Property tests: any status, header and body bytes parse without panicking, keep the
//! status, stay bounded; the API's own bodies survive parse → serialize → parse; the policy
//! never waits less than the server asked nor past the deadline.

use std::time::{Duration, SystemTime};

use errors_core::http::{HeaderMap, HeaderValue, StatusCode};
use errors_core::{
    ApiError, ClientRetryState, Decision, DetailObject, Envelope, ErrorBody, ErrorParser,
    Idempotency, LocSegment, Outcome, RetryAfter, RetryPolicy, ValidationIssue,
};
use proptest::prelude::*;

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_input_parses_without_panicking_and_keeps_the_status(
        status in 100u16..=999,
        retry_after in proptest::collection::vec(any::<u8>(), 0..80),
        request_id in proptest::collection::vec(any::<u8>(), 0..400),
        body in body_bytes(),
        limit in 1024usize..4096,
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        let e = ErrorParser::new().body_limit(limit).parse(status, &headers(&retry_after, &request_id), &body, now());
        prop_assert_eq!(e.status(), status);
        prop_assert_eq!(e.is_truncated(), body.len() > limit);
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
        if let Ok(parsed) = RetryAfter::parse(&value) {
            let _ = parsed.delay_from(now());
            let _ = parsed.delay_from(SystemTime::UNIX_EPOCH);
        }
        let digits = secs.to_string();
        prop_assert_eq!(RetryAfter::parse(digits.as_bytes()).unwrap(), RetryAfter::Delay(Duration::from_secs(secs)));
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
        let policy = RetryPolicy::default().with_deadline(Some(deadline));
        let shared = ClientRetryState::without_budget();
        let mut run = policy.start(Idempotency::Idempotent, &shared, Duration::ZERO, seed);
        let elapsed = Duration::from_millis(elapsed_ms);
        match run.after_attempt(Outcome::Api(&e), elapsed) {
            Decision::Retry { wait, .. } => {
                prop_assert!(wait >= Duration::from_secs(retry_after));
                prop_assert!(retry_after <= 60);
                prop_assert!(elapsed + wait < deadline);
            }
            Decision::Stop(_) => {}
        }
    }
}

//! Parsing every body shape, and every kind of body that is not the API's.

use std::error::Error as _;
use std::time::SystemTime;

use errors_core::error::{BodyProblem, ErrorParser};
use errors_core::http::{HeaderMap, HeaderValue, StatusCode};
use errors_core::{ApiError, ApiErrorKind, ErrorCode, Shape};

fn parse_with(status: u16, headers: &[(&str, &str)], body: &[u8]) -> ApiError {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            errors_core::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    ApiError::parse(
        StatusCode::from_u16(status).unwrap(),
        &map,
        body,
        SystemTime::UNIX_EPOCH,
    )
}

fn parse(status: u16, body: &str) -> ApiError {
    parse_with(status, &[], body.as_bytes())
}

#[test]
fn envelope_from_the_docs() {
    let e = parse(
        429,
        r#"{ "error": { "code": "RATE_LIMIT_ERROR", "message": "Rate limit exceeded: 100 calls per 60 seconds", "details": {} }, "request_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
    );
    assert_eq!(e.shape(), Shape::Envelope);
    assert_eq!(e.code(), Some(&ErrorCode::RateLimitError));
    assert_eq!(
        e.message(),
        Some("Rate limit exceeded: 100 calls per 60 seconds")
    );
    assert_eq!(e.request_id(), Some("550e8400-e29b-41d4-a716-446655440000"));
    assert_eq!(e.details(), Some(&serde_json::json!({})));
    assert_eq!(e.kind(), ApiErrorKind::RateLimited);
    assert!(e.body_problem().is_none() && e.source().is_none());
}

#[test]
fn detail_string_and_object_from_the_docs() {
    let s = parse(404, r#"{ "detail": "Rule not found"}"#);
    assert_eq!(
        (s.shape(), s.message(), s.code(), s.kind()),
        (
            Shape::DetailString,
            Some("Rule not found"),
            None,
            ApiErrorKind::NotFound
        )
    );

    let o = parse(
        422,
        r#"{ "detail": { "code": "VALIDATION_ERROR", "message": "Invalid request parameters", "field": "limit" }}"#,
    );
    assert_eq!(o.shape(), Shape::DetailObject);
    assert_eq!(o.code(), Some(&ErrorCode::ValidationError));
    assert_eq!(o.field(), Some("limit"));
    assert_eq!(o.kind(), ApiErrorKind::Validation);
}

#[test]
fn fastapi_validation_list_gets_a_one_line_message() {
    let body = r#"{"detail":[
        {"type":"missing","loc":["body","name"],"msg":"Field required","input":{}},
        {"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 100","input":"500","ctx":{"le":100}},
        {"type":"int_parsing","loc":["body","items",3,"count"],"msg":"Input should be a valid integer"},
        {"type":"missing","loc":["header","x-key"],"msg":"Field required"}]}"#;
    let e = parse(422, body);
    assert_eq!(e.shape(), Shape::DetailList);
    assert_eq!(e.field(), Some("name"));
    assert_eq!(
        e.message(),
        Some(
            "name: Field required; limit: Input should be less than or equal to 100; items.3.count: Input should be a valid integer (and 1 more)"
        )
    );
    let errors_core::body::ErrorBody::DetailList(issues) = e.body() else {
        panic!()
    };
    assert_eq!(issues.len(), 4);
    assert_eq!(issues[1].kind, "less_than_equal");
}

#[test]
fn request_id_falls_back_to_headers() {
    let e = parse_with(
        404,
        &[("X-Request-ID", "hdr-1")],
        br#"{"detail":"Rule not found"}"#,
    );
    assert_eq!(e.request_id(), Some("hdr-1"));
    let body_wins = parse_with(
        429,
        &[("x-request-id", "hdr")],
        br#"{"error":{"code":"X"},"request_id":"body"}"#,
    );
    assert_eq!(body_wins.request_id(), Some("body"));
    let other_header = parse_with(500, &[("x-correlation-id", "corr")], b"");
    assert_eq!(other_header.request_id(), Some("corr"));
    let long = "a".repeat(60_000);
    let bounded = parse_with(500, &[("x-request-id", &long)], b"");
    assert_eq!(bounded.request_id().unwrap().len(), 256);
}

#[test]
fn proxy_html_is_summarised_by_its_title() {
    let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n";
    let e = parse_with(502, &[("content-type", "text/html")], page.as_bytes());
    assert_eq!(e.shape(), Shape::Text);
    assert_eq!(e.message(), Some("502 Bad Gateway"));
    assert!(matches!(e.body_problem(), Some(BodyProblem::NotJson)));
    assert_eq!(e.excerpt(), Some(page));
    assert_eq!(e.kind(), ApiErrorKind::Server);
    assert!(e.is_retryable());
}

#[test]
fn empty_and_whitespace_bodies() {
    for body in ["", "  \r\n\t "] {
        let e = parse(503, body);
        assert_eq!(e.shape(), Shape::Empty);
        assert_eq!(e.message(), None);
        assert_eq!(e.to_string(), "503 Service Unavailable: empty body");
    }
}

#[test]
fn broken_json_keeps_the_status_an_excerpt_and_the_cause() {
    for body in [
        r#"{"error": {"code": "RATE_LIMIT_ERROR", "mess"#,
        r#"{"error": {"code": "X"} trailing"#,
        r#"{"detail": 'single quotes'}"#,
    ] {
        let e = parse_with(500, &[("x-request-id", "r-9")], body.as_bytes());
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(e.shape(), Shape::Text, "{body}");
        assert_eq!(e.excerpt(), Some(body));
        assert_eq!(e.request_id(), Some("r-9"));
        assert!(
            matches!(e.body_problem(), Some(BodyProblem::InvalidJson(_))),
            "{body}"
        );
        let source = e.source().expect("the json error is the source");
        assert!(source.to_string().contains("line 1 column"), "{source}");
    }
}

#[test]
fn json_that_is_not_the_apis_is_text_with_its_message_and_request_id() {
    let e = parse_with(
        403,
        &[("x-request-id", "hdr")],
        br#"{"message":"Forbidden","request_id":"gw-1"}"#,
    );
    assert_eq!(e.shape(), Shape::Text);
    assert_eq!(e.message(), Some("Forbidden"));
    assert_eq!(e.request_id(), Some("gw-1"));
    assert!(matches!(e.body_problem(), Some(BodyProblem::OtherJson)));
    assert!(e.source().is_none());
    assert_eq!(e.kind(), ApiErrorKind::Authorization);
}

#[test]
fn mistyped_members_do_not_throw_the_body_away() {
    // The issue's example: a monthly quota on a 429 with a numeric request id.
    let e = parse(
        429,
        r#"{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly limit"},"request_id":12345}"#,
    );
    assert_eq!(e.shape(), Shape::Envelope);
    assert_eq!(e.code(), Some(&ErrorCode::UsageLimitExceeded));
    assert_eq!(e.request_id(), Some("12345"));
    assert_eq!(e.kind(), ApiErrorKind::Quota);
    assert!(!e.is_retryable() && !e.is_rate_limited());
    assert_eq!(e.repairs().len(), 1);

    // A gateway's envelope with an integer code keeps its message.
    let e = parse(
        502,
        r#"{"error":{"code":502,"message":"upstream unavailable"}}"#,
    );
    assert_eq!(e.code().map(ErrorCode::as_str), Some("502"));
    assert_eq!(e.message(), Some("upstream unavailable"));
    assert!(e.is_retryable());

    // `msg: null` and a float in `loc`.
    let e = parse(
        422,
        r#"{"detail":[{"loc":["body",1.5],"msg":null,"type":"value_error"},{"loc":["query","limit"],"msg":"too big","type":"x"}]}"#,
    );
    assert_eq!(e.shape(), Shape::DetailList);
    assert_eq!(e.field(), Some("1.5"));
    assert_eq!(e.message(), Some("1.5: ; limit: too big"));

    // A byte order mark, and a byte that is not UTF-8 inside a string.
    let e = parse_with(
        404,
        &[],
        b"\xEF\xBB\xBF{\"detail\":\"Rule \xff not found\",\"request_id\":\"r-1\"}",
    );
    assert_eq!(e.shape(), Shape::DetailString);
    assert_eq!(e.message(), Some("Rule \u{fffd} not found"));
    assert_eq!(e.request_id(), Some("r-1"));
    let repairs: Vec<String> = e.repairs().iter().map(ToString::to_string).collect();
    assert_eq!(
        repairs,
        [
            "skipped a utf-8 byte order mark",
            "replaced bytes that are not utf-8"
        ]
    );
    assert_eq!(
        serde_json::to_value(&e).unwrap()["repairs"],
        serde_json::json!(repairs)
    );
}

#[test]
fn the_body_request_id_wins_in_every_shape_then_headers() {
    let headers = [("x-request-id", "hdr")];
    for body in [
        r#"{"detail":"Rule not found","request_id":"r-1"}"#,
        r#"{"request_id":"r-1","detail":{"code":"AUTHZ_ERROR","message":"no"}}"#,
        r#"{"detail":{"code":"AUTHZ_ERROR","message":"no","request_id":"r-1"}}"#,
        r#"{"detail":[{"loc":["query","q"],"msg":"m","type":"t"}],"request_id":"r-1"}"#,
        r#"{"error":{"code":"X"},"request_id":"r-1"}"#,
        r#"{"message":"gateway","request_id":"r-1"}"#,
    ] {
        let e = parse_with(400, &headers, body.as_bytes());
        assert_eq!(e.request_id(), Some("r-1"), "{body}");
    }
    for body in [
        r#"{"detail":"x","request_id":""}"#,
        r#"{"detail":"x","request_id":null}"#,
        r#"{"detail":"x","request_id":{"id":1}}"#,
        r#"{"error":{"code":"X"},"request_id":"  "}"#,
    ] {
        let e = parse_with(400, &headers, body.as_bytes());
        assert_eq!(e.request_id(), Some("hdr"), "{body}");
    }
}

#[test]
fn a_429_is_a_rate_limit_unless_its_code_says_waiting_cannot_help() {
    use errors_core::{Idempotency, RetryPolicy};
    let policy = RetryPolicy::default();
    let code_at_429 = |code: &str| {
        parse_with(
            429,
            &[("retry-after", "2")],
            format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#).as_bytes(),
        )
    };
    for code in [
        "RATE_LIMIT_ERROR",
        "VLM_PROVIDER_ERROR",
        "TIMEOUT",
        "NEW_THROTTLE",
    ] {
        let e = code_at_429(code);
        assert!(e.is_rate_limited() && e.is_retryable(), "{code}");
        // Retried whatever the method: the limiter rejected it before any work.
        assert!(policy.would_retry(Idempotency::NonIdempotent, &e), "{code}");
    }
    for code in [
        "USAGE_LIMIT_EXCEEDED",
        "STORAGE_QUOTA_EXCEEDED",
        "INVALID_API_KEY",
        "AUTHZ_ERROR",
        "HTTP_413",
        "VALIDATION_ERROR",
        "IMAGE_PROCESSING_ERROR",
    ] {
        let e = code_at_429(code);
        assert!(!e.is_rate_limited() && !e.is_retryable(), "{code}");
        assert!(!policy.would_retry(Idempotency::Idempotent, &e), "{code}");
    }
}

#[test]
fn redaction_reaches_the_source_keys_and_a_cut_secret() {
    let secret = "sk-live-0123456789";
    // Broken JSON: the parser's message is the source.
    let body = format!(r#"{{"detail": "{secret}" "#);
    let mut e = parse(400, &body);
    e.redact(secret);
    let source = e.source().unwrap().to_string();
    assert!(!source.contains(secret), "{source}");
    // A secret as a key of `details`, and a validation issue's type.
    let body = format!(r#"{{"error":{{"code":"X","details":{{"{secret}":1}}}},"detail":[]}}"#);
    let mut e = parse(400, &body);
    e.redact(secret);
    assert!(!serde_json::to_string(&e).unwrap().contains(secret));
    let body = format!(r#"{{"detail":[{{"loc":[],"msg":"m","type":"{secret}"}}]}}"#);
    let mut e = parse(400, &body);
    e.redact(secret);
    assert!(!format!("{e:?}").contains(secret));
    // An excerpt cut in the middle of the secret.
    let mut page = "x".repeat(1024 - 10);
    page.push_str(secret);
    let mut e = parse(502, &page);
    e.redact(secret);
    let shown = format!("{e:?}");
    assert!(!shown.contains(&secret[..10]), "{shown}");
}

#[test]
fn deeply_nested_json_is_rejected_without_overflowing_the_stack() {
    let depth = 10_000;
    let body = format!(
        r#"{{"error":{{"details":{}{}}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let e = parse(500, &body);
    assert_eq!(e.shape(), Shape::Text);
    assert!(e.excerpt().unwrap().len() <= 1024);
}

#[test]
fn a_byte_order_mark_is_not_part_of_a_text_excerpt() {
    let e = parse_with(502, &[], b"\xEF\xBB\xBFupstream unavailable");
    assert_eq!(e.excerpt(), Some("upstream unavailable"));
    assert_eq!(e.message(), Some("upstream unavailable"));
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let e = parse_with(500, &[], b"oops \xff\xfe broken \xe2\x82");
    assert_eq!(e.shape(), Shape::Text);
    assert_eq!(e.excerpt(), Some("oops \u{fffd}\u{fffd} broken \u{fffd}"));
}

#[test]
fn large_bodies_are_cut_at_the_limit() {
    let mut page = b"<html><head><title>Gateway Timeout</title></head><body>".to_vec();
    page.resize(1024 * 1024, b'x');
    let e = parse_with(504, &[], &page);
    assert!(e.is_truncated());
    assert_eq!(e.message(), Some("Gateway Timeout"));
    assert!(e.excerpt().unwrap().len() <= 1024);

    // A JSON body cut by the limit is reported as cut, not silently misread.
    let json = format!(r#"{{"detail":"{}"}}"#, "y".repeat(5000));
    let cut = ErrorParser::new().with_body_limit(2048).parse(
        StatusCode::BAD_REQUEST,
        &HeaderMap::new(),
        json.as_bytes(),
        SystemTime::UNIX_EPOCH,
    );
    assert!(cut.is_truncated());
    assert_eq!(cut.shape(), Shape::Text);
    let whole = ErrorParser::new().with_body_limit(8192).parse(
        StatusCode::BAD_REQUEST,
        &HeaderMap::new(),
        json.as_bytes(),
        SystemTime::UNIX_EPOCH,
    );
    assert!(!whole.is_truncated());
    assert_eq!(whole.shape(), Shape::DetailString);
}

#[test]
fn invalid_retry_after_is_ignored() {
    for value in ["-5", "soon", "1e3", ""] {
        let e = parse_with(429, &[("retry-after", value)], b"");
        assert_eq!(e.retry_after(), None, "{value}");
        assert!(
            e.is_retryable(),
            "429 without a usable Retry-After still backs off"
        );
    }
}

#[test]
fn retry_after_is_never_shortened() {
    for (value, secs) in [("2.5", 3), ("1.0", 1), ("120, 120", 120)] {
        let e = parse_with(429, &[("retry-after", value)], b"");
        assert_eq!(
            e.retry_after(),
            Some(std::time::Duration::from_secs(secs)),
            "{value}"
        );
    }
}

#[test]
fn unknown_codes_keep_the_status_kind() {
    let e = parse(
        429,
        r#"{"error":{"code":"NEW_THROTTLE","message":"slow down"}}"#,
    );
    assert_eq!(e.code().map(ErrorCode::as_str), Some("NEW_THROTTLE"));
    assert_eq!(e.kind(), ApiErrorKind::RateLimited);
    assert_eq!(e.solution(), None);
}

#[test]
fn display_stays_on_one_line() {
    let e = parse(400, r#"{"detail":"line one\nline two\r\n\u0000end"}"#);
    let shown = e.to_string();
    assert!(
        !shown.contains('\n') && !shown.contains('\r') && !shown.contains('\0'),
        "{shown}"
    );
    assert_eq!(shown, "400 Bad Request: line one line two   end");
}

#[test]
fn redaction_scrubs_a_secret_echoed_anywhere_in_the_body() {
    let secret = "sk-live-0123456789";
    let bodies = [
        format!(
            r#"{{"error":{{"code":"BAD","message":"got Bearer {secret}","details":{{"headers":{{"authorization":"Bearer {secret}"}},"list":["{secret}"]}}}},"request_id":"{secret}"}}"#
        ),
        format!(r#"{{"detail":"Authorization: Bearer {secret}"}}"#),
        format!(r#"{{"error":{{"code":"ECHO_{secret}","message":"m"}}}}"#),
        format!(
            r#"{{"detail":{{"code":"BAD","message":"{secret}","field":"{secret}","echo":{{"k":"{secret}"}}}}}}"#
        ),
        format!(
            r#"{{"detail":[{{"loc":["header","{secret}"],"msg":"bad key {secret}","type":"x"}}]}}"#
        ),
        format!("<html><title>{secret}</title></html>"),
    ];
    for body in bodies {
        let mut e = parse_with(400, &[("x-request-id", secret)], body.as_bytes());
        e.redact(secret);
        let shown = format!("{e} {e:?} {}", serde_json::to_string(&e).unwrap());
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}

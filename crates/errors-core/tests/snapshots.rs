//! What users see: `Display` and JSON for every documented code in every shape it can arrive
//! in, and for the bodies that are not the API's.

use std::time::SystemTime;

use errors_core::body::{DetailObject, Envelope, ErrorBody, ValidationIssue};
use errors_core::http::{HeaderMap, HeaderValue, StatusCode};
use errors_core::{ApiError, ErrorCode};
use serde_json::json;

fn now() -> SystemTime {
    httpdate::parse_http_date("Tue, 24 Nov 2026 12:00:00 GMT").unwrap()
}

fn shown(status: u16, headers: &[(&str, &str)], body: &[u8]) -> serde_json::Value {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            errors_core::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let e = ApiError::parse(StatusCode::from_u16(status).unwrap(), &map, body, now());
    json!({ "display": e.to_string(), "json": e })
}

#[test]
fn every_documented_code_in_every_shape() {
    for code in ErrorCode::documented() {
        let status = code.typical_status().unwrap();
        let message = code.description().unwrap();
        let retry_after: &[(&str, &str)] = if *code == ErrorCode::RateLimitError {
            &[("retry-after", "2")]
        } else {
            &[]
        };
        let envelope = ErrorBody::Envelope(
            Envelope::new(code.clone(), message)
                .with_details(json!({}))
                .with_request_id("550e8400-e29b-41d4-a716-446655440000"),
        );
        let detail =
            ErrorBody::DetailObject(DetailObject::new(code.clone(), message).with_field("file"));
        let value = json!({
            "envelope": shown(status, retry_after, &envelope.to_json().unwrap()),
            "detail_object": shown(status, &[("x-request-id", "req-hdr-1")], &detail.to_json().unwrap()),
        });
        insta::assert_json_snapshot!(format!("code_{}", code.as_str().to_lowercase()), value);
    }
}

#[test]
fn shapes_without_a_code() {
    let list = ErrorBody::DetailList(vec![
        ValidationIssue::new(
            ["query".into(), "limit".into()],
            "Input should be less than or equal to 100",
            "less_than_equal",
        ),
        ValidationIssue::new(["body".into(), "name".into()], "Field required", "missing"),
    ]);
    let value = json!({
        "detail_string_404": shown(404, &[("x-request-id", "req-7")], br#"{"detail":"Rule not found"}"#),
        "detail_string_402": shown(402, &[], br#"{"detail":"Subscription is past due"}"#),
        "detail_string_409": shown(409, &[], br#"{"detail":"File already exists"}"#),
        "detail_list_422": shown(422, &[], &list.to_json().unwrap()),
        "html_502": shown(502, &[], b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"),
        "empty_503": shown(503, &[("retry-after", "Tue, 24 Nov 2026 12:00:05 GMT")], b""),
        "text_500": shown(500, &[], b"Internal Server Error"),
        "broken_json_500": shown(500, &[("x-request-id", "req-9")], br#"{"error": {"code": "RATE_LI"#),
        "retry_after_too_long_429": shown(429, &[("retry-after", "86400")], br#"{"error":{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded"},"request_id":"r-1"}"#),
        "usage_limit_429": shown(429, &[], br#"{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly API call limit reached"},"request_id":"r-2"}"#),
        "unknown_code_400": shown(400, &[], br#"{"detail":{"code":"SCHEMA_INVALID","message":"Custom schema is invalid","field":"schema","hint":"see docs"}}"#),
    });
    insta::assert_json_snapshot!("shapes_without_a_code", value);
}

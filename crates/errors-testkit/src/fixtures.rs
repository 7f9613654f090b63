//! One constructor per documented code and status, with the API's defaults.
//!
//! Codes raised by the API's middleware (the rate limiter) come as the envelope; codes
//! raised through FastAPI's `HTTPException` come as a detail object. Switch shape with
//! [`Fixture::code`].

use std::time::Duration;

use errors_core::{ErrorBody, ErrorCode, LocSegment, Shape, ValidationIssue};

use crate::Fixture;

macro_rules! code_fixtures {
    ($($(#[$doc:meta])* $name:ident => $code:ident, $shape:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name() -> Fixture {
                Fixture::code(ErrorCode::$code, Shape::$shape)
            }
        )*
    };
}

code_fixtures! {
    /// 401 `INVALID_API_KEY`, as a detail object.
    invalid_api_key => InvalidApiKey, DetailObject;
    /// 401 `EXPIRED_API_KEY`, as a detail object.
    expired_api_key => ExpiredApiKey, DetailObject;
    /// 401 `DEACTIVATED_API_KEY`, as a detail object.
    deactivated_api_key => DeactivatedApiKey, DetailObject;
    /// 403 `AUTHZ_ERROR`, as a detail object.
    authz_error => AuthzError, DetailObject;
    /// 413 `HTTP_413`, as a detail object.
    payload_too_large => Http413, DetailObject;
    /// 413 `STORAGE_QUOTA_EXCEEDED`, as a detail object.
    storage_quota_exceeded => StorageQuotaExceeded, DetailObject;
    /// 429 `RATE_LIMIT_ERROR`, as the middleware's envelope (add `Retry-After` with
    /// [`Fixture::retry_after_secs`]).
    rate_limited => RateLimitError, Envelope;
    /// 429 `USAGE_LIMIT_EXCEEDED` (a monthly limit: not to be retried), as the envelope.
    usage_limit_exceeded => UsageLimitExceeded, Envelope;
    /// 422 `IMAGE_PROCESSING_ERROR`, as a detail object.
    image_processing_error => ImageProcessingError, DetailObject;
    /// 503 `VLM_PROVIDER_ERROR`, as a detail object.
    vlm_provider_error => VlmProviderError, DetailObject;
    /// 504 `TIMEOUT`, as a detail object.
    timeout => Timeout, DetailObject;
    /// 422 `VALIDATION_ERROR` with `field: "limit"`, as a detail object.
    validation_error => ValidationError, DetailObject;
}

/// 400 with `{"detail": "Invalid request syntax or parameters"}`.
pub fn bad_request() -> Fixture {
    Fixture::api(
        400,
        ErrorBody::DetailString("Invalid request syntax or parameters".into()),
    )
}

/// 402 with `{"detail": "Subscription is past due or payment required"}`.
pub fn payment_required() -> Fixture {
    Fixture::api(
        402,
        ErrorBody::DetailString("Subscription is past due or payment required".into()),
    )
}

/// 404 with `{"detail": "Rule not found"}` (the API reference's example).
pub fn not_found() -> Fixture {
    Fixture::api(404, ErrorBody::DetailString("Rule not found".into()))
}

/// 409 with `{"detail": "Resource already exists"}`.
pub fn conflict() -> Fixture {
    Fixture::api(
        409,
        ErrorBody::DetailString("Resource already exists".into()),
    )
}

/// FastAPI's own 422: `{"detail": [{"loc": ["query", "limit"], "msg": ..., "type": ...}]}`.
pub fn validation_list() -> Fixture {
    Fixture::api(
        422,
        ErrorBody::DetailList(vec![ValidationIssue::new(
            [LocSegment::from("query"), LocSegment::from("limit")],
            "Input should be less than or equal to 100",
            "less_than_equal",
        )]),
    )
}

/// The framework's own 500 for an unhandled exception: `Internal Server Error` as plain text.
pub fn internal_error_text() -> Fixture {
    Fixture::raw(500, "text/plain; charset=utf-8", "Internal Server Error")
}

/// A proxy's HTML error page (nginx style) with `status`, e.g. 502 or 504.
pub fn proxy_html(status: u16) -> Fixture {
    let reason = errors_core::reason_phrase(status);
    let page = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    Fixture::raw(status, "text/html", page).header("server", "nginx")
}

/// A 503 with no body at all.
pub fn empty_unavailable() -> Fixture {
    Fixture::empty(503)
}

/// A body that claims to be JSON and is not.
pub fn not_json(status: u16) -> Fixture {
    Fixture::raw(status, "application/json", "upstream returned garbage: <<<")
}

/// An envelope cut off midway.
pub fn truncated_json(status: u16) -> Fixture {
    Fixture::raw(
        status,
        "application/json",
        r#"{"error": {"code": "RATE_LIMIT_ERROR", "mess"#,
    )
}

/// An error with a body of `size` bytes (HTML filler), to check that clients bound reads.
pub fn large_body(status: u16, size: usize) -> Fixture {
    let mut body = b"<html><head><title>Huge error page</title></head><body>".to_vec();
    body.resize(size.max(body.len()), b'x');
    Fixture::raw(status, "text/html", body)
}

/// A 200 that only arrives after `delay`: a server that hangs past a client's timeout.
pub fn hang(delay: Duration) -> Fixture {
    ok_json(&serde_json::json!({"late": true})).delay_by(delay)
}

/// 204 No Content.
pub fn no_content() -> Fixture {
    Fixture::empty(204)
}

/// 200 with `value` as JSON.
pub fn ok_json(value: &serde_json::Value) -> Fixture {
    Fixture::json(200, value)
}

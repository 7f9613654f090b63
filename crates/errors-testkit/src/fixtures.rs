//! One constructor per documented code and status, with the API reference's defaults, plus
//! what sits in front of a real API.
//!
//! Codes raised by the API's middleware (rate and usage limits) come as the envelope with a
//! `request_id`; codes raised through FastAPI's `HTTPException` come as a detail object with
//! the request id in `X-Request-ID`. Any of them can arrive in another shape:
//! [`Fixture::with_shape`] switches, keeping every override.
//!
//! ```
//! use errors_core::Shape;
//! use errors_testkit::fixtures;
//!
//! let quota = fixtures::storage_quota_exceeded();
//! assert_eq!((quota.status(), quota.shape()), (413, Shape::DetailObject));
//! let as_envelope = quota.with_shape(Shape::Envelope).with_message("Storage limit of 5 GB reached");
//! assert!(String::from_utf8_lossy(as_envelope.body()).contains("5 GB"));
//! ```

use std::time::Duration;

use errors_core::body::{Envelope, ErrorBody, LocSegment, ValidationIssue};
use errors_core::{ErrorCode, Shape};

use crate::Fixture;

macro_rules! code_fixtures {
    ($($(#[$doc:meta])* $wire:literal $name:ident => $code:ident, $shape:ident;)*) => {
        $(
            $(#[$doc])*
            #[doc(alias = $wire)]
            pub fn $name() -> Fixture {
                Fixture::for_code(ErrorCode::$code, Shape::$shape)
            }
        )*
    };
}

code_fixtures! {
    /// 401 `INVALID_API_KEY` as a detail object: "The API key provided is invalid or malformed".
    "INVALID_API_KEY" invalid_api_key => InvalidApiKey, DetailObject;
    /// 401 `EXPIRED_API_KEY` as a detail object: "The API key has expired".
    "EXPIRED_API_KEY" expired_api_key => ExpiredApiKey, DetailObject;
    /// 401 `DEACTIVATED_API_KEY` as a detail object: "The API key has been deactivated".
    "DEACTIVATED_API_KEY" deactivated_api_key => DeactivatedApiKey, DetailObject;
    /// 403 `AUTHZ_ERROR` as a detail object: "API key lacks required authorization for this
    /// operation".
    "AUTHZ_ERROR" authz_error => AuthzError, DetailObject;
    /// 413 `HTTP_413` as a detail object with `field: "file"`: "File exceeds maximum size limit
    /// or storage quota exceeded".
    "HTTP_413" payload_too_large => Http413, DetailObject;
    /// 413 `STORAGE_QUOTA_EXCEEDED` as a detail object: "Account storage limit reached".
    "STORAGE_QUOTA_EXCEEDED" storage_quota_exceeded => StorageQuotaExceeded, DetailObject;
    /// 429 `RATE_LIMIT_ERROR` as the middleware's envelope, exactly the API reference's
    /// example: "Rate limit exceeded: 100 calls per 60 seconds", `details: {}`.
    ///
    /// It has no `Retry-After` until you add one with [`Fixture::with_retry_after_secs`] or
    /// [`Fixture::with_retry_after_date`] (the catalogue's entry has `Retry-After: 1`).
    "RATE_LIMIT_ERROR" rate_limited => RateLimitError, Envelope;
    /// 429 `USAGE_LIMIT_EXCEEDED` as the envelope: "Monthly API call or processing limit
    /// reached". A monthly limit: waiting seconds does not fix it.
    "USAGE_LIMIT_EXCEEDED" usage_limit_exceeded => UsageLimitExceeded, Envelope;
    /// 422 `IMAGE_PROCESSING_ERROR` as a detail object with `field: "file"`: "Image processing
    /// or analysis failed".
    "IMAGE_PROCESSING_ERROR" image_processing_error => ImageProcessingError, DetailObject;
    /// 503 `VLM_PROVIDER_ERROR` as a detail object: "AI vision provider encountered an error
    /// during analysis".
    "VLM_PROVIDER_ERROR" vlm_provider_error => VlmProviderError, DetailObject;
    /// 504 `TIMEOUT` as a detail object: "Operation timed out".
    "TIMEOUT" timeout => Timeout, DetailObject;
    /// 422 `VALIDATION_ERROR` as a detail object, the API reference's example: "Invalid request
    /// parameters", `field: "limit"`.
    "VALIDATION_ERROR" validation_error => ValidationError, DetailObject;
}

/// A documented code with its usual shape: the envelope for the middleware's codes
/// (`RATE_LIMIT_ERROR`, `USAGE_LIMIT_EXCEEDED`), a detail object for the others.
pub fn code(code: ErrorCode) -> Fixture {
    let shape = match code {
        ErrorCode::RateLimitError | ErrorCode::UsageLimitExceeded => Shape::Envelope,
        _ => Shape::DetailObject,
    };
    Fixture::for_code(code, shape)
}

/// A status as FastAPI's `HTTPException` sends it, `{"detail": "<message>"}`, the message
/// being what the API reference says the status means (e.g. 401: "Missing or invalid API
/// key"). Use [`Fixture::for_status`] for another shape.
pub fn status(status: u16) -> Fixture {
    Fixture::for_status(status, Shape::DetailString)
}

/// 400 `{"detail": "Invalid request syntax or parameters"}`.
pub fn bad_request() -> Fixture {
    status(400)
}

/// 401 `{"detail": "Missing or invalid API key"}`.
pub fn unauthorized() -> Fixture {
    status(401)
}

/// 402 `{"detail": "Subscription is past due or payment required"}`.
pub fn payment_required() -> Fixture {
    status(402)
}

/// 403 `{"detail": "Valid API key but insufficient permissions or scope"}`.
pub fn forbidden() -> Fixture {
    status(403)
}

/// 404 `{"detail": "Rule not found"}`, the API reference's example.
pub fn not_found() -> Fixture {
    status(404).with_message("Rule not found")
}

/// 409 `{"detail": "Resource already exists (e.g., duplicate upload)"}`.
pub fn conflict() -> Fixture {
    status(409)
}

/// 422 `{"detail": "Request is well-formed but contains validation errors or violates business
/// rules"}`: a business rule raised as `HTTPException`.
pub fn unprocessable() -> Fixture {
    status(422)
}

/// FastAPI's own 422 for request validation:
/// `{"detail": [{"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100",
/// "type": "less_than_equal"}]}`.
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

/// 429 `{"detail": "Rate limit exceeded. Check Retry-After header."}` with no code and no
/// `Retry-After` (add one with [`Fixture::with_retry_after_secs`]).
pub fn too_many_requests() -> Fixture {
    status(429)
}

/// 500 `{"detail": "Server error. Retry with exponential backoff."}`.
pub fn internal_server_error() -> Fixture {
    status(500)
}

/// 503 `{"detail": "AI provider error, upstream service failure, or temporary overload. Retry
/// after a short delay."}`.
pub fn service_unavailable() -> Fixture {
    status(503)
}

/// 504 `{"detail": "Operation timed out. Retry with a smaller batch size or simpler query."}`.
pub fn gateway_timeout() -> Fixture {
    status(504)
}

/// The framework's own 500 for an unhandled exception: `Internal Server Error` as plain text.
pub fn internal_error_text() -> Fixture {
    Fixture::raw(500, "text/plain; charset=utf-8", "Internal Server Error")
}

/// A proxy's HTML error page (nginx's) with `status`, e.g. 502 or 504.
pub fn proxy_html(status: u16) -> Fixture {
    let reason = errors_core::status::reason_phrase(status);
    let page = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    Fixture::raw(status, "text/html", page).with_header("server", "nginx")
}

/// 502 Bad Gateway from the proxy in front of the API, as an HTML page.
pub fn proxy_bad_gateway() -> Fixture {
    proxy_html(502)
}

/// 504 Gateway Timeout from the proxy in front of the API, as an HTML page.
pub fn proxy_gateway_timeout() -> Fixture {
    proxy_html(504)
}

/// A 503 with no body at all (a load balancer with no healthy backend).
pub fn empty_unavailable() -> Fixture {
    Fixture::empty(503)
}

/// A body that claims to be JSON (`Content-Type: application/json`) and is not.
pub fn not_json(status: u16) -> Fixture {
    Fixture::raw(status, "application/json", "upstream returned garbage: <<<")
}

/// The API reference's rate-limit envelope cut off halfway, as a dropped connection leaves it.
pub fn truncated_json(status: u16) -> Fixture {
    let envelope = Envelope::new(
        ErrorCode::RateLimitError,
        "Rate limit exceeded: 100 calls per 60 seconds",
    )
    .with_request_id("550e8400-e29b-41d4-a716-446655440000");
    let mut json = ErrorBody::Envelope(envelope).to_json().unwrap_or_default();
    json.truncate(json.len() / 2);
    Fixture::raw(status, "application/json", json)
}

/// An HTML error page of `size` bytes (or just its opening tags if `size` is smaller), to
/// check that a client bounds what it reads.
pub fn large_body(status: u16, size: usize) -> Fixture {
    let mut body = b"<html><head><title>Huge error page</title></head><body>".to_vec();
    body.resize(size.max(body.len()), b'x');
    Fixture::raw(status, "text/html", body)
}

/// A 200 `{"late": true}` that only starts after `delay`: a server that hangs past a
/// client's timeout. Any fixture can hang with [`Fixture::with_delay`].
pub fn hang(delay: Duration) -> Fixture {
    ok_json(&serde_json::json!({"late": true})).with_delay(delay)
}

/// 204 No Content.
pub fn no_content() -> Fixture {
    Fixture::empty(204)
}

/// 200 with `value` as JSON.
pub fn ok_json(value: &serde_json::Value) -> Fixture {
    Fixture::json(200, value)
}

/// 200 `{"ok":true}`: a success whose body does not matter, for the answer after an outage
/// or a mock that only has to say yes.
///
/// ```
/// use errors_testkit::fixtures;
///
/// let ok = fixtures::ok();
/// assert_eq!(ok.status(), 200);
/// assert_eq!(ok.body(), br#"{"ok":true}"#);
/// assert_eq!(ok.content_type(), Some("application/json"));
/// ```
pub fn ok() -> Fixture {
    ok_json(&serde_json::json!({"ok": true}))
}

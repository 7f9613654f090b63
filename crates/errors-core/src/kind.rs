//! The category of an error: what went wrong, in one word a program can branch on.

use std::fmt;

/// What kind of failure an error is.
///
/// Derived from the application code when the body carries a documented one, else from the
/// HTTP status. Serialized in `snake_case` (`rate_limited`, `quota`...).
///
/// ```
/// use std::time::SystemTime;
/// use errors_core::{ApiError, ApiErrorKind};
/// use errors_core::http::{HeaderMap, StatusCode};
///
/// let parse = |status, body: &str| {
///     ApiError::parse(status, &HeaderMap::new(), body.as_bytes(), SystemTime::UNIX_EPOCH).kind()
/// };
/// // The code decides when there is one: a 429 can be a quota, not a rate limit.
/// let quota = parse(StatusCode::TOO_MANY_REQUESTS, r#"{"detail":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly limit"}}"#);
/// assert_eq!(quota, ApiErrorKind::Quota);
/// // Otherwise the status does, whatever the body is.
/// assert_eq!(parse(StatusCode::SERVICE_UNAVAILABLE, "<html>Service Unavailable</html>"), ApiErrorKind::Upstream);
/// assert_eq!(ApiErrorKind::RateLimited.to_string(), "rate_limited");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// Missing, invalid, expired or deactivated API key (401).
    Authentication,
    /// Valid key without the required permission or scope (403).
    Authorization,
    /// Subscription past due or payment required (402).
    PaymentRequired,
    /// Malformed request (400).
    BadRequest,
    /// Resource does not exist or is not visible to this key (404).
    NotFound,
    /// Resource already exists (409).
    Conflict,
    /// File too large or storage exceeded on upload (413).
    PayloadTooLarge,
    /// Request well-formed but invalid, or violating a business rule (422).
    Validation,
    /// A usage or storage quota that waiting within a request's life will not restore.
    Quota,
    /// Too many requests in the window (429): wait, then retry.
    RateLimited,
    /// Image processing failed.
    Processing,
    /// An upstream provider or the service itself is unavailable (503).
    Upstream,
    /// The operation or a gateway timed out (504).
    Timeout,
    /// Any other server error (5xx).
    Server,
    /// Any other client error (4xx).
    Client,
    /// A status that is not an error (1xx, 2xx, 3xx) reached the error path.
    UnexpectedStatus,
    /// An undocumented application code: see the status for the broad class.
    Unknown,
}

impl ApiErrorKind {
    /// The kind implied by an HTTP status alone.
    pub fn from_status(status: u16) -> ApiErrorKind {
        match status {
            400 => ApiErrorKind::BadRequest,
            401 => ApiErrorKind::Authentication,
            402 => ApiErrorKind::PaymentRequired,
            403 => ApiErrorKind::Authorization,
            404 => ApiErrorKind::NotFound,
            409 => ApiErrorKind::Conflict,
            413 => ApiErrorKind::PayloadTooLarge,
            422 => ApiErrorKind::Validation,
            429 => ApiErrorKind::RateLimited,
            503 => ApiErrorKind::Upstream,
            504 => ApiErrorKind::Timeout,
            _ if (400..500).contains(&status) => ApiErrorKind::Client,
            _ if (500..600).contains(&status) => ApiErrorKind::Server,
            _ => ApiErrorKind::UnexpectedStatus,
        }
    }

    /// The `snake_case` name used in JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            ApiErrorKind::Authentication => "authentication",
            ApiErrorKind::Authorization => "authorization",
            ApiErrorKind::PaymentRequired => "payment_required",
            ApiErrorKind::BadRequest => "bad_request",
            ApiErrorKind::NotFound => "not_found",
            ApiErrorKind::Conflict => "conflict",
            ApiErrorKind::PayloadTooLarge => "payload_too_large",
            ApiErrorKind::Validation => "validation",
            ApiErrorKind::Quota => "quota",
            ApiErrorKind::RateLimited => "rate_limited",
            ApiErrorKind::Processing => "processing",
            ApiErrorKind::Upstream => "upstream",
            ApiErrorKind::Timeout => "timeout",
            ApiErrorKind::Server => "server",
            ApiErrorKind::Client => "client",
            ApiErrorKind::UnexpectedStatus => "unexpected_status",
            ApiErrorKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

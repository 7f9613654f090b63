//! The category of an error: what went wrong, in one word a program can branch on.

use std::fmt;

/// What kind of failure an error is.
///
/// Derived from the application code when the body carries a documented one, else from the
/// HTTP status. Serialized in `snake_case` (`rate_limited`, `quota`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
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

impl ErrorKind {
    /// The kind implied by an HTTP status alone.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Authentication,
            402 => ErrorKind::PaymentRequired,
            403 => ErrorKind::Authorization,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            413 => ErrorKind::PayloadTooLarge,
            422 => ErrorKind::Validation,
            429 => ErrorKind::RateLimited,
            503 => ErrorKind::Upstream,
            504 => ErrorKind::Timeout,
            _ if (400..500).contains(&status) => ErrorKind::Client,
            _ if (500..600).contains(&status) => ErrorKind::Server,
            _ => ErrorKind::UnexpectedStatus,
        }
    }

    /// The `snake_case` name used in JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication",
            ErrorKind::Authorization => "authorization",
            ErrorKind::PaymentRequired => "payment_required",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::Validation => "validation",
            ErrorKind::Quota => "quota",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Processing => "processing",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Server => "server",
            ErrorKind::Client => "client",
            ErrorKind::UnexpectedStatus => "unexpected_status",
            ErrorKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

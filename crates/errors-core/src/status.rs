//! The HTTP statuses the API documents, with their meaning ([`StatusInfo`]); the rule that
//! says which statuses are the API's errors ([`is_error_status`]); reason phrases for any
//! status ([`reason_phrase`]).
//!
//! ```
//! use errors_core::status::{StatusInfo, reason_phrase};
//!
//! let payment = StatusInfo::lookup(402).unwrap();
//! assert_eq!(payment.meaning, "Subscription is past due or payment required");
//! assert_eq!(reason_phrase(429), "Too Many Requests");
//! ```

/// A status from the API reference's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusInfo {
    /// The numeric status.
    pub status: u16,
    /// The standard reason phrase.
    pub reason: &'static str,
    /// What the API means by it, as its reference words it.
    pub meaning: &'static str,
}

const STATUSES: [StatusInfo; 14] = [
    info(200, "OK", "Request succeeded"),
    info(201, "Created", "Resource created successfully"),
    info(
        204,
        "No Content",
        "Request succeeded, no content to return (typically for DELETE)",
    ),
    info(400, "Bad Request", "Invalid request syntax or parameters"),
    info(401, "Unauthorized", "Missing or invalid API key"),
    info(
        402,
        "Payment Required",
        "Subscription is past due or payment required",
    ),
    info(
        403,
        "Forbidden",
        "Valid API key but insufficient permissions or scope",
    ),
    info(
        404,
        "Not Found",
        "Resource does not exist or you don't have access",
    ),
    info(
        409,
        "Conflict",
        "Resource already exists (e.g., duplicate upload)",
    ),
    info(
        422,
        "Unprocessable Entity",
        "Request is well-formed but contains validation errors or violates business rules",
    ),
    info(
        429,
        "Too Many Requests",
        "Rate limit exceeded. Check Retry-After header.",
    ),
    info(
        500,
        "Internal Server Error",
        "Server error. Retry with exponential backoff.",
    ),
    info(
        503,
        "Service Unavailable",
        "AI provider error, upstream service failure, or temporary overload. Retry after a short delay.",
    ),
    info(
        504,
        "Gateway Timeout",
        "Operation timed out. Retry with a smaller batch size or simpler query.",
    ),
];

const fn info(status: u16, reason: &'static str, meaning: &'static str) -> StatusInfo {
    StatusInfo {
        status,
        reason,
        meaning,
    }
}

impl StatusInfo {
    /// Every status the API reference documents, in ascending order.
    pub fn documented() -> &'static [StatusInfo] {
        &STATUSES
    }

    /// The documented entry for `status`, if the API reference lists it.
    pub fn lookup(status: u16) -> Option<&'static StatusInfo> {
        STATUSES.iter().find(|s| s.status == status)
    }
}

/// The reason phrase for any status: the standard one, or `""` for an unregistered code.
pub fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// Whether a response with this status is an error answer under the API's contract (4xx and
/// 5xx): the one rule every driver uses to decide between handing the response back and
/// parsing an [`ApiError`](crate::ApiError) from it.
///
/// ```
/// use errors_core::http::StatusCode;
/// use errors_core::status::is_error_status;
///
/// assert!(is_error_status(StatusCode::TOO_MANY_REQUESTS));
/// assert!(is_error_status(StatusCode::BAD_GATEWAY));
/// assert!(!is_error_status(StatusCode::NO_CONTENT));
/// assert!(!is_error_status(StatusCode::FOUND)); // a redirect is not the API's error
/// ```
pub fn is_error_status(status: http::StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_reasons_agree_with_the_standard_phrases() {
        for s in StatusInfo::documented() {
            assert_eq!(reason_phrase(s.status), s.reason, "status {}", s.status);
            assert_eq!(StatusInfo::lookup(s.status), Some(s));
        }
        assert!(StatusInfo::lookup(418).is_none());
        assert_eq!(reason_phrase(599), "");
    }
}

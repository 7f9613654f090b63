//! Application error codes and their documented meaning and solution.

use std::fmt;

use crate::ApiErrorKind;

/// An application error code, as sent in the body's `code` field.
///
/// Every code the API documents is a variant; any other code is kept verbatim in
/// [`ErrorCode::Other`] and round-trips exactly through [`ErrorCode::as_str`], so a code the
/// API adds later is never lost.
///
/// ```
/// use errors_core::{ErrorCode, ApiErrorKind};
///
/// let code = ErrorCode::from_wire("USAGE_LIMIT_EXCEEDED");
/// assert_eq!(code, ErrorCode::UsageLimitExceeded);
/// assert_eq!(code.kind(), ApiErrorKind::Quota);
/// assert_eq!(code.solution(), Some("Wait for next billing cycle or upgrade plan"));
///
/// let new = ErrorCode::from_wire("CUSTOM_SCHEMA_INVALID");
/// assert_eq!(new.as_str(), "CUSTOM_SCHEMA_INVALID");
/// assert_eq!(new.solution(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `INVALID_API_KEY`: the API key provided is invalid or malformed.
    InvalidApiKey,
    /// `EXPIRED_API_KEY`: the API key has expired.
    ExpiredApiKey,
    /// `DEACTIVATED_API_KEY`: the API key has been deactivated.
    DeactivatedApiKey,
    /// `AUTHZ_ERROR`: the API key lacks the authorization required for the operation.
    AuthzError,
    /// `HTTP_413`: the file exceeds the maximum size or the storage quota.
    Http413,
    /// `STORAGE_QUOTA_EXCEEDED`: the account's storage limit is reached.
    StorageQuotaExceeded,
    /// `RATE_LIMIT_ERROR`: too many requests in the time window.
    RateLimitError,
    /// `USAGE_LIMIT_EXCEEDED`: the monthly API call or processing limit is reached.
    UsageLimitExceeded,
    /// `IMAGE_PROCESSING_ERROR`: image processing or analysis failed.
    ImageProcessingError,
    /// `VLM_PROVIDER_ERROR`: the AI vision provider failed during analysis.
    VlmProviderError,
    /// `TIMEOUT`: the operation timed out.
    Timeout,
    /// `VALIDATION_ERROR`: invalid request parameters. The reference shows it in an example
    /// body but does not list it, so it has no documented solution (see
    /// [`ErrorCode::advice`]).
    ValidationError,
    /// A code the documentation does not list, kept exactly as received.
    Other(Box<str>),
}

/// The documented codes, in the order the API reference lists them.
const DOCUMENTED: [ErrorCode; 12] = [
    ErrorCode::InvalidApiKey,
    ErrorCode::ExpiredApiKey,
    ErrorCode::DeactivatedApiKey,
    ErrorCode::AuthzError,
    ErrorCode::Http413,
    ErrorCode::StorageQuotaExceeded,
    ErrorCode::RateLimitError,
    ErrorCode::UsageLimitExceeded,
    ErrorCode::ImageProcessingError,
    ErrorCode::VlmProviderError,
    ErrorCode::Timeout,
    ErrorCode::ValidationError,
];

impl ErrorCode {
    /// Every code the API documents, in the order its reference lists them.
    pub fn documented() -> &'static [ErrorCode] {
        &DOCUMENTED
    }

    /// Reads a code from its wire spelling; an unknown spelling becomes [`ErrorCode::Other`].
    pub fn from_wire(code: &str) -> ErrorCode {
        match code {
            "INVALID_API_KEY" => ErrorCode::InvalidApiKey,
            "EXPIRED_API_KEY" => ErrorCode::ExpiredApiKey,
            "DEACTIVATED_API_KEY" => ErrorCode::DeactivatedApiKey,
            "AUTHZ_ERROR" => ErrorCode::AuthzError,
            "HTTP_413" => ErrorCode::Http413,
            "STORAGE_QUOTA_EXCEEDED" => ErrorCode::StorageQuotaExceeded,
            "RATE_LIMIT_ERROR" => ErrorCode::RateLimitError,
            "USAGE_LIMIT_EXCEEDED" => ErrorCode::UsageLimitExceeded,
            "IMAGE_PROCESSING_ERROR" => ErrorCode::ImageProcessingError,
            "VLM_PROVIDER_ERROR" => ErrorCode::VlmProviderError,
            "TIMEOUT" => ErrorCode::Timeout,
            "VALIDATION_ERROR" => ErrorCode::ValidationError,
            other => ErrorCode::Other(other.into()),
        }
    }

    /// The wire spelling, exactly as the API sends it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidApiKey => "INVALID_API_KEY",
            ErrorCode::ExpiredApiKey => "EXPIRED_API_KEY",
            ErrorCode::DeactivatedApiKey => "DEACTIVATED_API_KEY",
            ErrorCode::AuthzError => "AUTHZ_ERROR",
            ErrorCode::Http413 => "HTTP_413",
            ErrorCode::StorageQuotaExceeded => "STORAGE_QUOTA_EXCEEDED",
            ErrorCode::RateLimitError => "RATE_LIMIT_ERROR",
            ErrorCode::UsageLimitExceeded => "USAGE_LIMIT_EXCEEDED",
            ErrorCode::ImageProcessingError => "IMAGE_PROCESSING_ERROR",
            ErrorCode::VlmProviderError => "VLM_PROVIDER_ERROR",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::Other(code) => code,
        }
    }

    /// Whether the API reference documents this code.
    pub fn is_documented(&self) -> bool {
        !matches!(self, ErrorCode::Other(_))
    }

    /// What the code means, as the API reference words it.
    pub fn description(&self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::InvalidApiKey => "The API key provided is invalid or malformed",
            ErrorCode::ExpiredApiKey => "The API key has expired",
            ErrorCode::DeactivatedApiKey => "The API key has been deactivated",
            ErrorCode::AuthzError => "API key lacks required authorization for this operation",
            ErrorCode::Http413 => "File exceeds maximum size limit or storage quota exceeded",
            ErrorCode::StorageQuotaExceeded => "Account storage limit reached",
            ErrorCode::RateLimitError => "Too many API requests in the time window",
            ErrorCode::UsageLimitExceeded => "Monthly API call or processing limit reached",
            ErrorCode::ImageProcessingError => "Image processing or analysis failed",
            ErrorCode::VlmProviderError => {
                "AI vision provider encountered an error during analysis"
            }
            ErrorCode::Timeout => "Operation timed out",
            ErrorCode::ValidationError => "Invalid request parameters",
            ErrorCode::Other(_) => return None,
        })
    }

    /// The documented remedy, word for word from the API reference, for the codes it gives
    /// one for. `VALIDATION_ERROR` has none there: see [`ErrorCode::advice`].
    pub fn solution(&self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::InvalidApiKey => {
                "Check that you're using a valid API key from your dashboard"
            }
            ErrorCode::ExpiredApiKey | ErrorCode::DeactivatedApiKey => {
                "Generate a new API key from your dashboard"
            }
            ErrorCode::AuthzError => "Create a new API key with the required scope",
            ErrorCode::Http413 => "Reduce file size. Check the message for details.",
            ErrorCode::StorageQuotaExceeded => "Delete unused files or upgrade your plan",
            ErrorCode::RateLimitError => "Implement exponential backoff and respect Retry-After",
            ErrorCode::UsageLimitExceeded => "Wait for next billing cycle or upgrade plan",
            ErrorCode::ImageProcessingError => "Check file integrity and try re-uploading",
            ErrorCode::VlmProviderError => {
                "Retry the request. If the error persists, the provider may be temporarily unavailable."
            }
            ErrorCode::Timeout => "Retry with smaller batch size or simpler query",
            ErrorCode::ValidationError | ErrorCode::Other(_) => return None,
        })
    }

    /// This crate's own advice, **not the API reference's**, for a documented code whose
    /// reference entry has no solution (today only `VALIDATION_ERROR`, which the reference
    /// uses in an example body without listing it). `None` for every code that has a
    /// [`solution`](ErrorCode::solution), and for undocumented codes.
    ///
    /// ```
    /// use errors_core::ErrorCode;
    ///
    /// assert_eq!(ErrorCode::ValidationError.solution(), None);
    /// assert!(ErrorCode::ValidationError.advice().is_some());
    /// assert_eq!(ErrorCode::RateLimitError.advice(), None);
    /// ```
    pub fn advice(&self) -> Option<&'static str> {
        match self {
            ErrorCode::ValidationError => Some(
                "Fix the request parameters named in the message and field, then send it again",
            ),
            _ => None,
        }
    }

    /// The category the code belongs to; [`ApiErrorKind::Unknown`] for an undocumented code.
    pub fn kind(&self) -> ApiErrorKind {
        match self {
            ErrorCode::InvalidApiKey | ErrorCode::ExpiredApiKey | ErrorCode::DeactivatedApiKey => {
                ApiErrorKind::Authentication
            }
            ErrorCode::AuthzError => ApiErrorKind::Authorization,
            ErrorCode::Http413 => ApiErrorKind::PayloadTooLarge,
            ErrorCode::StorageQuotaExceeded | ErrorCode::UsageLimitExceeded => ApiErrorKind::Quota,
            ErrorCode::RateLimitError => ApiErrorKind::RateLimited,
            ErrorCode::ImageProcessingError => ApiErrorKind::Processing,
            ErrorCode::VlmProviderError => ApiErrorKind::Upstream,
            ErrorCode::Timeout => ApiErrorKind::Timeout,
            ErrorCode::ValidationError => ApiErrorKind::Validation,
            ErrorCode::Other(_) => ApiErrorKind::Unknown,
        }
    }

    /// The HTTP status the API usually sends this code with.
    pub fn typical_status(&self) -> Option<u16> {
        Some(match self {
            ErrorCode::InvalidApiKey | ErrorCode::ExpiredApiKey | ErrorCode::DeactivatedApiKey => {
                401
            }
            ErrorCode::AuthzError => 403,
            ErrorCode::Http413 | ErrorCode::StorageQuotaExceeded => 413,
            ErrorCode::RateLimitError | ErrorCode::UsageLimitExceeded => 429,
            ErrorCode::ImageProcessingError | ErrorCode::ValidationError => 422,
            ErrorCode::VlmProviderError => 503,
            ErrorCode::Timeout => 504,
            ErrorCode::Other(_) => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        ErrorCode::from_wire(code)
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than `String`/`Cow`: a documented code then costs no allocation.
        struct CodeVisitor;
        impl serde::de::Visitor<'_> for CodeVisitor {
            type Value = ErrorCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error code string")
            }
            fn visit_str<E: serde::de::Error>(self, code: &str) -> Result<ErrorCode, E> {
                Ok(ErrorCode::from_wire(code))
            }
        }
        deserializer.deserialize_str(CodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_codes_round_trip_through_their_wire_spelling() {
        for code in ErrorCode::documented() {
            assert_eq!(&ErrorCode::from_wire(code.as_str()), code);
            assert!(code.is_documented());
            assert!(
                code.solution().is_some() != code.advice().is_some(),
                "{code} has a solution or our advice, not both"
            );
            assert!(code.description().is_some(), "{code} has no description");
            assert!(code.typical_status().is_some(), "{code} has no status");
        }
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        for wire in ["NEW_CODE", "invalid_api_key", "", " TIMEOUT", "ÜNÏCODE"] {
            let code = ErrorCode::from_wire(wire);
            assert_eq!(code.as_str(), wire);
            assert!(!code.is_documented());
            assert_eq!(code.kind(), ApiErrorKind::Unknown);
        }
    }
}

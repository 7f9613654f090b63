//! What the lenient parser read past rather than reject a body, and how it names JSON types.

use std::fmt;

/// The type of a JSON value, as named in a [`Repair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// A list.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// The type's name with an article, as used in messages: `a number`, `an object`.
    pub fn describe(&self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "a boolean",
            JsonType::Number => "a number",
            JsonType::String => "a string",
            JsonType::Array => "a list",
            JsonType::Object => "an object",
        }
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Something in a body that was not as the API documents it, and what the parser did rather
/// than throw the body away. [`crate::ApiError::repairs`] lists them.
///
/// ```
/// use std::time::SystemTime;
/// use errors_core::{ApiError, ErrorCode};
/// use errors_core::body::{JsonType, Repair};
/// use http::{HeaderMap, StatusCode};
///
/// let body = br#"{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly limit","details":[]},"request_id":12345}"#;
/// let err = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body, SystemTime::UNIX_EPOCH);
/// assert_eq!(err.code(), Some(&ErrorCode::UsageLimitExceeded));
/// assert_eq!(err.request_id(), Some("12345"));
/// assert_eq!(err.repairs()[0].to_string(), "kept request_id (a number) as text");
/// assert!(matches!(&err.repairs()[0], Repair::Stringified { found: JsonType::Number, .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repair {
    /// A UTF-8 byte order mark before the JSON was skipped.
    ByteOrderMark,
    /// Bytes that are not UTF-8 were replaced with U+FFFD.
    InvalidUtf8,
    /// A member of an unexpected type was left out; the rest of the body was kept.
    #[non_exhaustive]
    Dropped {
        /// Where it was: `error.code`, `detail[0].loc[2]`.
        member: String,
        /// What it was.
        found: JsonType,
    },
    /// A number or a boolean where text belongs was kept as its text (`12345` → `"12345"`).
    #[non_exhaustive]
    Stringified {
        /// Where it was.
        member: String,
        /// What it was.
        found: JsonType,
    },
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repair::ByteOrderMark => f.write_str("skipped a utf-8 byte order mark"),
            Repair::InvalidUtf8 => f.write_str("replaced bytes that are not utf-8"),
            Repair::Dropped { member, found } => write!(f, "dropped {member} ({found})"),
            Repair::Stringified { member, found } => {
                write!(f, "kept {member} ({found}) as text")
            }
        }
    }
}

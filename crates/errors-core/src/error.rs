//! The API's error as one value: [`ApiError`], what kind of failure it is
//! ([`ApiErrorKind`]) and its documented [`ErrorCode`], and how it is read from a response:
//! [`ErrorParser`] with its bounds on the body, [`BodyProblem`] and [`JsonSyntaxError`] when
//! the body is not the API's JSON, and the headers a request id is looked for in.
//!
//! [`ApiError`], [`ApiErrorKind`] and [`ErrorCode`] are also at the crate's root.
//!
//! ```
//! use std::time::SystemTime;
//! use errors_core::error::{BodyProblem, ErrorParser};
//! use errors_core::http::{HeaderMap, StatusCode};
//!
//! let parser = ErrorParser::new().with_body_limit(4 * 1024);
//! let html = b"<html><title>502 Bad Gateway</title></html>";
//! let err = parser.parse(StatusCode::BAD_GATEWAY, &HeaderMap::new(), html, SystemTime::UNIX_EPOCH);
//! assert!(matches!(err.body_problem(), Some(BodyProblem::NotJson)));
//! assert_eq!(err.message(), Some("502 Bad Gateway"));
//! ```

pub use crate::api_error::{
    ApiError, BodyProblem, DEFAULT_BODY_LIMIT, ErrorParser, JsonSyntaxError, MAX_BODY_LIMIT,
    REQUEST_ID_HEADERS, request_id_in,
};
pub use crate::code::ErrorCode;
pub use crate::kind::ApiErrorKind;

//! The API's error contract as plain Rust data: no network, no async runtime.
//!
//! Give it a response's status, headers and body bytes and get back one [`ApiError`] that
//! knows its [`ErrorCode`] (with the documented [`solution`](ErrorCode::solution)), its
//! [`ApiErrorKind`], the [`Shape`] the body came in, the request id to quote to support and the
//! server's `Retry-After`. Then ask the pure [`RetryPolicy`] whether and when to retry.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use errors_core::{ApiError, ErrorCode, Idempotency, RetryPolicy, Shape};
//! use http::{HeaderMap, StatusCode};
//!
//! let body = br#"{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly API call limit reached"},"request_id":"req-42"}"#;
//! let err = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body, SystemTime::UNIX_EPOCH);
//!
//! assert_eq!(err.shape(), Shape::Envelope);
//! assert_eq!(err.code(), Some(&ErrorCode::UsageLimitExceeded));
//! assert_eq!(err.request_id(), Some("req-42"));
//! assert_eq!(err.solution(), Some("Wait for next billing cycle or upgrade plan"));
//! // A monthly limit is not a rate limit: waiting seconds will not fix it.
//! assert!(!RetryPolicy::default().would_retry(Idempotency::Idempotent, &err));
//! assert_eq!(
//!     err.to_string(),
//!     "429 Too Many Requests: USAGE_LIMIT_EXCEEDED: Monthly API call limit reached (request id req-42)"
//! );
//! ```
//!
//! Bodies that are not the API's (a proxy's HTML page, plain text, broken JSON, nothing) still
//! give a useful [`ApiError`] with the status and a bounded excerpt; parsing never fails. Only
//! the first 64 KiB of a body are considered ([`ErrorParser::with_body_limit`] changes that).
//!
//! # Where things are
//!
//! The root holds what a first program uses: [`ApiError`], its [`ApiErrorKind`] and
//! [`ErrorCode`], the [`Shape`] its body came in, [`RetryAfter`], [`RetryPolicy`] and
//! [`Idempotency`]. Each is also in its module, with the rest of its kind:
//!
//! - [`error`]: the error, its kind and code, and how it is parsed ([`ErrorParser`] and its
//!   bounds, why a body was not the API's JSON, where a request id is looked for).
//! - [`body`]: the wire model, every shape the API sends a body in.
//! - [`retry`]: the retry policy, one request's run through it, the reasons it gives, the
//!   budget and the state a client shares, `Retry-After`.
//! - [`ratelimit`]: rate limits as flow control: partitions, stated limits, the pacer.
//! - [`status`]: the HTTP statuses the API documents.
//! - [`clock`]: where wall-clock time comes from (and `ManualClock` for tests, behind the
//!   `test-util` feature).
//!
//! [`ErrorParser`]: error::ErrorParser
//! [`ErrorParser::with_body_limit`]: error::ErrorParser::with_body_limit
//!
//! # Modules, for maintainers
//!
//! `error`, `retry` and `ratelimit` are facades: the code lives in private modules, and each
//! module uses only the ones above it, so there are no circles.
//!
//! - `kind`, `status`, `retry_after`, `clock`, `excerpt` (bounded UTF-8 views of text) and
//!   `display` (durations for people and for JSON) use no other module.
//! - `code` uses `kind`; `classify` (what the contract says about retrying an error, from its
//!   status and kind) uses `kind`.
//! - `body` (the wire model, its JSON and the lenient parser) uses `code`.
//! - `api_error` (the error, its parser, request id, redaction and `explain` JSON) uses
//!   `body`, `code`, `kind`, `classify`, `status`, `retry_after`, `excerpt` and `display`.
//! - `policy` (the retry policy and the state a client shares) uses `api_error`, `code`,
//!   `classify`, `excerpt` and `display`.
//! - The facades `error` (over `api_error`, `kind`, `code`), `retry` (over `policy` and
//!   `retry_after`) and `ratelimit` (over `policy`) only re-export.

mod api_error;
pub mod body;
mod classify;
pub mod clock;
mod code;
mod display;
pub mod error;
mod excerpt;
mod kind;
mod policy;
pub mod ratelimit;
pub mod retry;
mod retry_after;
pub mod status;

pub use api_error::ApiError;
pub use body::Shape;
pub use code::ErrorCode;
pub use kind::ApiErrorKind;
pub use policy::{Idempotency, RetryPolicy};
pub use retry_after::RetryAfter;

/// Re-exported so callers name the same `http` types this crate takes.
pub use http;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! The error bodies the API sends, as they are on the wire: the model that
//! [`ApiError`](crate::ApiError) reads a body into and test fixtures serve.
//!
//! Middleware-raised errors use an [`Envelope`]; errors raised through FastAPI's
//! `HTTPException` use `{"detail": ...}` where `detail` is a string, a [`DetailObject`], or
//! (for request validation) a list of [`ValidationIssue`]s. Anything else (HTML from a proxy,
//! plain text, nothing) is kept as a [`TextBody`]. [`Shape`] says which one a body was;
//! [`Repair`] is what the lenient reader read past in JSON that was almost the API's.
//!
//! ```
//! use errors_core::body::{Envelope, ErrorBody, Shape};
//! use errors_core::ErrorCode;
//!
//! let body = ErrorBody::from_json(br#"{"detail":"Rule not found"}"#).unwrap();
//! assert_eq!(body.shape(), Shape::DetailString);
//! let envelope = ErrorBody::Envelope(Envelope::new(ErrorCode::Timeout, "Operation timed out"));
//! assert_eq!(envelope.to_json().unwrap(), br#"{"error":{"code":"TIMEOUT","message":"Operation timed out"}}"#);
//! ```
//!
//! For maintainers: `model.rs` is the model, `serialize.rs` writes its JSON, `lenient.rs`
//! reads it leniently, `repair.rs` says what that reader read past.

mod lenient;
mod model;
mod repair;
mod serialize;
#[cfg(test)]
mod tests;

pub(crate) use lenient::parse_bytes;
pub use model::{DetailObject, Envelope, ErrorBody, LocSegment, Shape, TextBody, ValidationIssue};
pub use repair::{JsonType, Repair};

//! [`ApiError`]: one error response from the API, parsed and ready to act on.
//!
//! This file holds the type, its accessors and its `Display`. `parser.rs` makes one from a
//! response, `request_id.rs` finds its request id, `redact.rs` does [`ApiError::redact`] and
//! `explain.rs` writes its JSON for `explain`.

mod explain;
mod parser;
mod redact;
mod request_id;

use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::body::{ErrorBody, Repair, Shape, ValidationIssue};
use crate::classify::{RetryClass, retry_class};
use crate::display::DisplayDuration;
use crate::{ApiErrorKind, ErrorCode, RetryAfter, status};

use request_id::body_request_id;

pub use parser::{BodyProblem, DEFAULT_BODY_LIMIT, ErrorParser, JsonSyntaxError, MAX_BODY_LIMIT};
pub use request_id::{REQUEST_ID_HEADERS, request_id_in};

/// How many validation issues the one-line message names before "and N more".
const LIST_MESSAGE_ISSUES: usize = 3;
/// The longest message `Display` prints, in characters.
const DISPLAY_MESSAGE_CHARS: usize = 300;

/// An error response from the API: status, parsed body, request id and `Retry-After`.
///
/// Built by [`ApiError::parse`] (or an [`ErrorParser`] with other limits) from any status,
/// headers and bytes; parsing never fails and never panics. It is lenient member by member:
/// a member of an unexpected type is dropped or kept as its text and listed in
/// [`ApiError::repairs`], the rest of the body is kept. A body that is not one of the API's
/// shapes becomes [`Shape::Text`] with a bounded excerpt; why is [`ApiError::body_problem`],
/// and for broken JSON the parser's error is the [`source`].
///
/// ```
/// use std::time::SystemTime;
/// use errors_core::{ApiError, ErrorCode, ApiErrorKind, Shape};
/// use http::{HeaderMap, HeaderName, StatusCode};
///
/// let body = br#"{"error":{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded: 100 calls per 60 seconds","details":{}},"request_id":"550e8400-e29b-41d4-a716-446655440000"}"#;
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "2".parse().unwrap());
///
/// let err = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &headers, body, SystemTime::UNIX_EPOCH);
/// assert_eq!(err.code(), Some(&ErrorCode::RateLimitError));
/// assert_eq!(err.kind(), ApiErrorKind::RateLimited);
/// assert_eq!(err.shape(), Shape::Envelope);
/// assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(2)));
/// assert_eq!(
///     err.to_string(),
///     "429 Too Many Requests: RATE_LIMIT_ERROR: Rate limit exceeded: 100 calls per 60 seconds \
///      (retry after 2s; request id 550e8400-e29b-41d4-a716-446655440000)"
/// );
/// ```
///
/// [`source`]: std::error::Error::source
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// A header's request id, or a cut copy of an over-long body id; else the body's serves.
    request_id: Option<String>,
    retry_after: Option<RetryAfter>,
    retry_after_delay: Option<Duration>,
    truncated: bool,
    problem: Option<BodyProblem>,
    /// For a validation list: the one-line message and the first issue's field.
    list_summary: Option<(String, String)>,
    /// What the lenient parser read past.
    repairs: Vec<Repair>,
}

impl ApiError {
    /// Parses one error response with the default limits. See [`ErrorParser::parse`].
    pub fn parse(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> ApiError {
        ErrorParser::default().parse(status, headers, body, now)
    }

    /// An error from a status and a body model, as a test double or an adapter would make it.
    pub fn new(status: StatusCode, body: ErrorBody) -> ApiError {
        let list_summary = match &body {
            ErrorBody::DetailList(issues) => Some(list_summary(issues)),
            _ => None,
        };
        ApiError {
            status,
            body,
            request_id: None,
            retry_after: None,
            retry_after_delay: None,
            truncated: false,
            problem: None,
            list_summary,
            repairs: Vec::new(),
        }
    }

    /// Sets the request id (as an `X-Request-ID` header would).
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> ApiError {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets `Retry-After`, resolved against `now`.
    pub fn with_retry_after(mut self, retry_after: RetryAfter, now: SystemTime) -> ApiError {
        self.retry_after = Some(retry_after);
        self.retry_after_delay = Some(retry_after.delay_from(now));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body as parsed.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// Which shape the body came in.
    pub fn shape(&self) -> Shape {
        self.body.shape()
    }

    /// The application code, when the body carries one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match &self.body {
            ErrorBody::Envelope(e) => e.code.as_ref(),
            ErrorBody::DetailObject(d) => d.code.as_ref(),
            _ => None,
        }
    }

    /// The message: the body's, a one-line summary of a validation list, or the start of a
    /// text body (an HTML page's title).
    pub fn message(&self) -> Option<&str> {
        match &self.body {
            ErrorBody::Envelope(e) => e.message.as_deref(),
            ErrorBody::DetailString(s) => Some(s),
            ErrorBody::DetailObject(d) => d.message.as_deref(),
            ErrorBody::DetailList(_) => self.list_summary.as_ref().map(|(m, _)| m.as_str()),
            ErrorBody::Text(t) => Some(t.summary.as_str()).filter(|s| !s.is_empty()),
            ErrorBody::Empty => None,
        }
    }

    /// The request parameter at fault: a detail object's `field`, or the first validation
    /// issue's location (`items.0.name`).
    pub fn field(&self) -> Option<&str> {
        match &self.body {
            ErrorBody::DetailObject(d) => d.field.as_deref(),
            ErrorBody::DetailList(_) => self
                .list_summary
                .as_ref()
                .map(|(_, f)| f.as_str())
                .filter(|f| !f.is_empty()),
            _ => None,
        }
    }

    /// The envelope's `details`, for debugging.
    pub fn details(&self) -> Option<&Value> {
        match &self.body {
            ErrorBody::Envelope(e) => e.details.as_ref(),
            _ => None,
        }
    }

    /// The request id: the body's, else one of [`REQUEST_ID_HEADERS`]. Quote it to support.
    pub fn request_id(&self) -> Option<&str> {
        match (&self.request_id, body_request_id(&self.body)) {
            (Some(copied), _) => Some(copied),
            (None, from_body) => from_body,
        }
    }

    /// How long the server asked the client to wait, resolved when the error was parsed.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_delay
    }

    /// The `Retry-After` header as sent, if it was valid.
    pub fn retry_after_header(&self) -> Option<RetryAfter> {
        self.retry_after
    }

    /// What kind of failure this is: from a documented code if there is one, else the status.
    pub fn kind(&self) -> ApiErrorKind {
        match self.code().map(ErrorCode::kind) {
            Some(kind) if kind != ApiErrorKind::Unknown => kind,
            _ => ApiErrorKind::from_status(self.status.as_u16()),
        }
    }

    /// The remedy the API reference documents for the code, word for word, when it has one.
    /// See [`ApiError::advice`] for what to do about the rest.
    pub fn solution(&self) -> Option<&'static str> {
        self.code().and_then(ErrorCode::solution)
    }

    /// This crate's own advice, not the API reference's, for a documented code the reference
    /// gives no solution for (`VALIDATION_ERROR`). `None` when [`ApiError::solution`] has the
    /// reference's words, and for undocumented codes.
    pub fn advice(&self) -> Option<&'static str> {
        self.code().and_then(ErrorCode::advice)
    }

    /// What the API reference says the status means, when it lists it.
    pub fn status_meaning(&self) -> Option<&'static str> {
        status::StatusInfo::lookup(self.status.as_u16()).map(|s| s.meaning)
    }

    /// Whether the body was longer than the parser's limit and was cut.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Why the body was not one of the API's JSON shapes, for a [`Shape::Text`] body.
    pub fn body_problem(&self) -> Option<&BodyProblem> {
        self.problem.as_ref()
    }

    /// What the parser read past rather than reject the body: members of an unexpected type
    /// (dropped, or kept as text), a byte order mark, bytes that are not UTF-8. Empty for a
    /// body exactly as the API documents it. At most 16 are listed.
    pub fn repairs(&self) -> &[Repair] {
        &self.repairs
    }

    /// The start of a body that was not one of the API's JSON shapes.
    pub fn excerpt(&self) -> Option<&str> {
        match &self.body {
            ErrorBody::Text(t) => Some(&t.excerpt),
            _ => None,
        }
    }

    /// Replaces every occurrence of `secret` in what the server sent (undocumented codes,
    /// messages, details, validation issues, excerpts, request id) with `[redacted]`.
    ///
    /// A server that echoes request headers back in its error body would otherwise put the
    /// caller's API key into `Display`, logs and serialized errors. Secrets shorter than 4
    /// bytes are ignored: replacing them would mangle ordinary text.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use errors_core::ApiError;
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let body = br#"{"detail":"bad header: Authorization: Bearer sk-live-123"}"#;
    /// let mut err = ApiError::parse(StatusCode::BAD_REQUEST, &HeaderMap::new(), body, SystemTime::UNIX_EPOCH);
    /// err.redact("sk-live-123");
    /// assert_eq!(err.message(), Some("bad header: Authorization: Bearer [redacted]"));
    /// ```
    pub fn redact(&mut self, secret: &str) {
        redact::redact(self, secret);
    }

    /// Whether the same GET can succeed later, as the API's contract says: a rate limit, a
    /// transient server error, a timeout. It holds however long the server asks to wait; it
    /// is not limited by a client's maximum wait or retry count (ask
    /// [`RetryPolicy::would_retry`] whether a given policy would retry it now).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use errors_core::{ApiError, Idempotency, RetryPolicy};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("retry-after", "86400".parse().unwrap());
    /// let body = br#"{"error":{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded"}}"#;
    /// let err = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &headers, body, SystemTime::UNIX_EPOCH);
    /// assert!(err.is_retryable() && err.is_rate_limited());
    /// // ... but not within the default policy's 60 s maximum wait.
    /// assert!(!RetryPolicy::default().would_retry(Idempotency::Idempotent, &err));
    /// ```
    ///
    /// [`RetryPolicy::would_retry`]: crate::RetryPolicy::would_retry
    pub fn is_retryable(&self) -> bool {
        self.retry_class() != RetryClass::Permanent
    }

    /// Whether the rate limiter rejected the request: a 429 whose code does not say waiting
    /// cannot help, or `RATE_LIMIT_ERROR` whatever the status. Such a request is retried
    /// whatever its method.
    pub fn is_rate_limited(&self) -> bool {
        self.retry_class() == RetryClass::RateLimited
    }

    /// Whether the API or a gateway in front of it timed out: a 504, or the `TIMEOUT` code.
    pub fn is_timeout(&self) -> bool {
        self.kind() == ApiErrorKind::Timeout
    }

    /// What the API's contract says about retrying this error.
    pub(crate) fn retry_class(&self) -> RetryClass {
        retry_class(self.status.as_u16(), self.kind())
    }
}

/// A validation list's one-line message and its first issue's field.
fn list_summary(issues: &[ValidationIssue]) -> (String, String) {
    let mut message = String::new();
    for (i, issue) in issues.iter().take(LIST_MESSAGE_ISSUES).enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        let field = issue.field();
        if !field.is_empty() {
            message.push_str(&field);
            message.push_str(": ");
        }
        message.push_str(&issue.msg);
    }
    if issues.len() > LIST_MESSAGE_ISSUES {
        let _ = write!(
            message,
            " (and {} more)",
            issues.len() - LIST_MESSAGE_ISSUES
        );
    }
    if issues.is_empty() {
        message.push_str("validation failed");
    }
    let field = issues.first().map(|i| i.field()).unwrap_or_default();
    (message, field)
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status.as_u16())?;
        let reason = status::reason_phrase(self.status.as_u16());
        if !reason.is_empty() {
            write!(f, " {reason}")?;
        }
        if let Some(code) = self.code() {
            f.write_str(": ")?;
            write_one_line(f, code.as_str(), DISPLAY_MESSAGE_CHARS)?;
        }
        match self.message() {
            Some(message) => {
                f.write_str(": ")?;
                write_one_line(f, message, DISPLAY_MESSAGE_CHARS)?;
            }
            None if self.shape() == Shape::Empty => f.write_str(": empty body")?,
            None => {}
        }
        let mut notes = Notes::new(f);
        if let Some(delay) = self.retry_after_delay {
            notes.note(format_args!("retry after {}", DisplayDuration(delay)))?;
        }
        if let Some(id) = self.request_id() {
            notes.note(format_args!("request id {}", OneLine(id)))?;
        }
        notes.finish()
    }
}

/// Writes `(a; b)` after the main text, only when there are notes.
struct Notes<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    any: bool,
}

impl<'a, 'b> Notes<'a, 'b> {
    fn new(f: &'a mut fmt::Formatter<'b>) -> Self {
        Notes { f, any: false }
    }
    fn note(&mut self, args: fmt::Arguments<'_>) -> fmt::Result {
        self.f.write_str(if self.any { "; " } else { " (" })?;
        self.any = true;
        self.f.write_fmt(args)
    }
    fn finish(self) -> fmt::Result {
        if self.any {
            self.f.write_str(")")
        } else {
            Ok(())
        }
    }
}

/// Text from the wire, printed on one line: control characters become spaces.
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_one_line(f, self.0, usize::MAX)
    }
}

fn write_one_line(f: &mut fmt::Formatter<'_>, text: &str, max_chars: usize) -> fmt::Result {
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            return f.write_char('…');
        }
        f.write_char(if c.is_control() { ' ' } else { c })?;
    }
    Ok(())
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Some(BodyProblem::InvalidJson(e)) => Some(e),
            _ => None,
        }
    }
}

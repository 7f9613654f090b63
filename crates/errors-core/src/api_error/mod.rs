//! [`ApiError`]: one error response from the API, parsed and ready to act on.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, StatusCode};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::body::{ErrorBody, Repair, Shape, TextBody, parse_bytes};
use crate::excerpt::{summarize, summarize_line, utf8_prefix};
use crate::policy::Idempotency;
#[cfg(doc)]
use crate::policy::RetryPolicy;
use crate::{ApiErrorKind, ErrorCode, RetryAfter, status};

/// The default bound on how much of an error body is considered: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// The largest body limit an [`ErrorParser`] accepts: 1 GiB. A larger request is clamped, so
/// a driver's `limit() + 1` can never overflow.
pub const MAX_BODY_LIMIT: usize = 1 << 30;
/// How much of a non-JSON body is kept as an excerpt.
const EXCERPT_LIMIT: usize = 1024;
/// The longest request id kept; longer ones are cut (they come from untrusted input).
const REQUEST_ID_LIMIT: usize = 256;
/// How many validation issues the one-line message names before "and N more".
const LIST_MESSAGE_ISSUES: usize = 3;
/// The longest message `Display` prints, in characters.
const DISPLAY_MESSAGE_CHARS: usize = 300;

/// Headers that carry a request id when the body does not, in the order they are tried.
pub const REQUEST_ID_HEADERS: [&str; 4] = [
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-amzn-requestid",
];

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

/// Why a body was not read as one of the API's JSON shapes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BodyProblem {
    /// The body is not JSON (HTML, plain text).
    NotJson,
    /// The body starts like JSON but is not valid JSON: broken syntax, cut short, nested too
    /// deep.
    InvalidJson(JsonSyntaxError),
    /// The body is valid JSON but has neither an `error` object nor a `detail` member (a
    /// gateway's or another service's JSON).
    OtherJson,
}

impl fmt::Display for BodyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyProblem::NotJson => f.write_str("error body is not json"),
            BodyProblem::InvalidJson(_) => f.write_str("error body is not valid json"),
            BodyProblem::OtherJson => {
                f.write_str("error body is json but not one of the api's shapes")
            }
        }
    }
}

/// Why an error body that starts like JSON is not valid JSON: the JSON parser's message and
/// where it stopped. It is the [`source`](std::error::Error::source) of such an [`ApiError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonSyntaxError {
    message: String,
    line: usize,
    column: usize,
}

impl JsonSyntaxError {
    fn new(error: &serde_json::Error) -> JsonSyntaxError {
        JsonSyntaxError {
            message: error.to_string(),
            line: error.line(),
            column: error.column(),
        }
    }

    /// The line (from 1) where the parser stopped.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column (from 1) where the parser stopped.
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for JsonSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonSyntaxError {}

/// Parses error responses with limits other than the defaults.
///
/// ```
/// use errors_core::ErrorParser;
/// let parser = ErrorParser::new().body_limit(16 * 1024);
/// assert_eq!(parser.limit(), 16 * 1024);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorParser {
    body_limit: usize,
}

impl Default for ErrorParser {
    fn default() -> Self {
        ErrorParser {
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl ErrorParser {
    /// A parser with the default 64 KiB body limit.
    pub fn new() -> ErrorParser {
        ErrorParser::default()
    }

    /// Sets how many bytes of a body are considered; more are cut off. Clamped to
    /// `1 KiB..=`[`MAX_BODY_LIMIT`].
    pub fn body_limit(mut self, limit: usize) -> ErrorParser {
        self.body_limit = limit.clamp(1024, MAX_BODY_LIMIT);
        self
    }

    /// The body limit. A driver reads at most `limit() + 1` bytes: the extra byte tells the
    /// parser the body was cut.
    pub fn limit(&self) -> usize {
        self.body_limit
    }

    /// Parses one error response. `now` resolves a `Retry-After` date into a delay.
    pub fn parse(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> ApiError {
        let truncated = body.len() > self.body_limit;
        let body = &body[..body.len().min(self.body_limit)];
        let read = read_body(body);

        let list_summary = match &read.body {
            ErrorBody::DetailList(issues) => Some(list_summary(issues)),
            _ => None,
        };
        // The body's id comes first, whatever its shape; then the headers'. An envelope's id
        // is served from the body itself; others, or one too long to show, are copied.
        let request_id = match body_request_id(&read.body) {
            Some(id) if id.len() > REQUEST_ID_LIMIT => Some(bounded(id, REQUEST_ID_LIMIT)),
            Some(_) => None,
            None => read
                .request_id
                .as_deref()
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| bounded(id, REQUEST_ID_LIMIT))
                .or_else(|| header_request_id(headers)),
        };
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| RetryAfter::parse(v.as_bytes(), now).ok());

        ApiError {
            status,
            body: read.body,
            request_id,
            retry_after,
            retry_after_delay: retry_after.map(|r| r.delay_from(now)),
            truncated,
            problem: read.problem,
            list_summary,
            repairs: read.repairs,
        }
    }
}

/// What [`read_body`] made of the bytes.
struct ReadBody {
    body: ErrorBody,
    problem: Option<BodyProblem>,
    /// A request id the body carries outside an envelope.
    request_id: Option<String>,
    repairs: Vec<Repair>,
}

fn read_body(bytes: &[u8]) -> ReadBody {
    let Some(first) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return ReadBody {
            body: ErrorBody::Empty,
            problem: None,
            request_id: None,
            repairs: Vec::new(),
        };
    };
    let rest = &bytes[first..];
    let json = rest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(rest);
    let json_start = json.iter().position(|b| !b.is_ascii_whitespace());
    let (problem, hint, request_id, repairs) = if json_start.is_some_and(|i| json[i] == b'{') {
        match parse_bytes(rest) {
            Ok(parsed) => {
                let request_id = parsed.request_id.or_else(|| match &parsed.body {
                    Some(ErrorBody::DetailObject(d)) => match d.extra.get("request_id") {
                        Some(Value::String(id)) => Some(id.clone()),
                        Some(Value::Number(id)) => Some(id.to_string()),
                        _ => None,
                    },
                    _ => None,
                });
                if let Some(body) = parsed.body {
                    return ReadBody {
                        body,
                        problem: None,
                        request_id,
                        repairs: parsed.repairs,
                    };
                }
                (
                    BodyProblem::OtherJson,
                    parsed.hint,
                    request_id,
                    parsed.repairs,
                )
            }
            Err(e) => (
                BodyProblem::InvalidJson(JsonSyntaxError::new(&e)),
                None,
                None,
                Vec::new(),
            ),
        }
    } else {
        (BodyProblem::NotJson, None, None, Vec::new())
    };
    // The excerpt is text for people: without the byte order mark.
    let excerpt = utf8_prefix(json, EXCERPT_LIMIT);
    let summary = match hint {
        Some(hint) => summarize_line(&hint),
        None => summarize(&excerpt),
    };
    ReadBody {
        body: ErrorBody::Text(TextBody { excerpt, summary }),
        problem: Some(problem),
        request_id,
        repairs,
    }
}

fn list_summary(issues: &[crate::ValidationIssue]) -> (String, String) {
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

const REDACTED: &str = "[redacted]";

fn redact_value(value: &mut Value, secret: &str) {
    match value {
        Value::String(text) => scrub(text, secret),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, secret)),
        Value::Object(map) => redact_map(map, secret),
        _ => {}
    }
}

/// Scrubs the values of a map, and its keys (a server may echo a header as a key).
fn redact_map(map: &mut serde_json::Map<String, Value>, secret: &str) {
    if map.keys().any(|k| k.contains(secret)) {
        *map = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| (k.replace(secret, REDACTED), v))
            .collect();
    }
    map.values_mut().for_each(|v| redact_value(v, secret));
}

/// Replaces `secret` in `text`, and the start of it left at the end of a text cut by a bound
/// (an excerpt, a summary ending in `…`, a request id), when at least 4 bytes of it remain.
fn scrub(text: &mut String, secret: &str) {
    if text.contains(secret) {
        *text = text.replace(secret, REDACTED);
    }
    let end = text.strip_suffix('…').map_or(text.len(), str::len);
    let cut = (4..secret.len())
        .rev()
        .filter(|&n| secret.is_char_boundary(n))
        .find(|&n| text[..end].ends_with(&secret[..n]));
    if let Some(n) = cut {
        text.replace_range(end - n..end, REDACTED);
    }
}

fn body_request_id(body: &ErrorBody) -> Option<&str> {
    match body {
        ErrorBody::Envelope(e) => e.request_id.as_deref().filter(|id| !id.trim().is_empty()),
        _ => None,
    }
}

fn header_request_id(headers: &HeaderMap) -> Option<String> {
    request_id_in(headers).map(str::to_owned)
}

/// The request id a response's headers carry, success or error: the first of
/// [`REQUEST_ID_HEADERS`] that is set, as text, and not blank; trimmed, and cut to 256
/// bytes (it comes from the network).
///
/// ```
/// use errors_core::request_id_in;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-request-id", " req-9 ".parse().unwrap());
/// assert_eq!(request_id_in(&headers), Some("req-9"));
/// assert_eq!(request_id_in(&HeaderMap::new()), None);
/// ```
pub fn request_id_in(headers: &HeaderMap) -> Option<&str> {
    // Pre-built names: a lookup by `&str` would parse and validate the name every time.
    const NAMES: [HeaderName; 4] = [
        HeaderName::from_static(REQUEST_ID_HEADERS[0]),
        HeaderName::from_static(REQUEST_ID_HEADERS[1]),
        HeaderName::from_static(REQUEST_ID_HEADERS[2]),
        HeaderName::from_static(REQUEST_ID_HEADERS[3]),
    ];
    if headers.is_empty() {
        return None;
    }
    NAMES.iter().find_map(|name| {
        let value = headers.get(name)?.to_str().ok()?.trim();
        (!value.is_empty()).then(|| crate::excerpt::str_prefix(value, REQUEST_ID_LIMIT))
    })
}

fn bounded(text: &str, max: usize) -> String {
    crate::excerpt::str_prefix(text, max).to_owned()
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
        if secret.len() < 4 {
            return;
        }
        let scrub_code = |code: &mut Option<ErrorCode>| {
            if let Some(ErrorCode::Other(text)) = code {
                let mut text = text.to_string();
                scrub(&mut text, secret);
                *code = Some(ErrorCode::Other(text.into()));
            }
        };
        let scrub = |text: &mut String| scrub(text, secret);
        match &mut self.body {
            ErrorBody::Envelope(e) => {
                scrub_code(&mut e.code);
                e.message.as_mut().map(scrub);
                e.request_id.as_mut().map(scrub);
                if let Some(details) = &mut e.details {
                    redact_value(details, secret);
                }
            }
            ErrorBody::DetailString(text) => scrub(text),
            ErrorBody::DetailObject(d) => {
                scrub_code(&mut d.code);
                d.message.as_mut().map(scrub);
                d.field.as_mut().map(scrub);
                redact_map(&mut d.extra, secret);
            }
            ErrorBody::DetailList(issues) => {
                for issue in issues {
                    scrub(&mut issue.msg);
                    scrub(&mut issue.kind);
                    for segment in &mut issue.loc {
                        if let crate::LocSegment::Name(name) = segment {
                            scrub(name);
                        }
                    }
                }
            }
            ErrorBody::Text(t) => {
                scrub(&mut t.excerpt);
                scrub(&mut t.summary);
            }
            ErrorBody::Empty => {}
        }
        if let Some((message, field)) = &mut self.list_summary {
            scrub(message);
            scrub(field);
        }
        self.request_id.as_mut().map(scrub);
        // The JSON parser's message may quote the input it stopped at.
        if let Some(BodyProblem::InvalidJson(e)) = &mut self.problem {
            scrub(&mut e.message);
        }
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
    pub fn is_retryable(&self) -> bool {
        crate::policy::classify_api_error(Idempotency::Idempotent, self).is_ok()
    }

    /// Whether the rate limiter rejected the request: a 429 whose code does not say waiting
    /// cannot help, or `RATE_LIMIT_ERROR` whatever the status. Such a request is retried
    /// whatever its method.
    pub fn is_rate_limited(&self) -> bool {
        crate::policy::classify_api_error(Idempotency::NonIdempotent, self)
            == Ok(crate::RetryReason::RateLimited)
    }

    /// Whether the API or a gateway in front of it timed out: a 504, or the `TIMEOUT` code.
    pub fn is_timeout(&self) -> bool {
        self.kind() == ApiErrorKind::Timeout
    }
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

/// A duration for people: `2s`, `1.5s`, `250ms`.
pub(crate) struct DisplayDuration(pub(crate) Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_millis() == 0 && d.as_secs() > 0 {
            write!(f, "{}s", d.as_secs())
        } else if d.as_secs() == 0 {
            write!(f, "{}ms", d.as_millis())
        } else {
            write!(f, "{}.{:03}s", d.as_secs(), d.subsec_millis())
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Some(BodyProblem::InvalidJson(e)) => Some(e),
            _ => None,
        }
    }
}

/// Milliseconds, saturating at `u64::MAX` for absurd delays.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Serialize for ApiError {
    /// The fields of the `explain` contract: `status`, `code`, `message`, `request_id`,
    /// `field`, `details`, `kind`, `shape`, `retryable`, `retry_after_ms`, `solution` (the
    /// reference's words, else null), then `advice` (ours, only for a code that has it),
    /// `truncated`, `excerpt` (for text bodies) and `repairs` (when the parser repaired the
    /// body, one line each).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", &self.status.as_u16())?;
        map.serialize_entry("code", &self.code())?;
        map.serialize_entry("message", &self.message())?;
        map.serialize_entry("request_id", &self.request_id())?;
        map.serialize_entry("field", &self.field())?;
        let details: Option<Cow<'_, Value>> = match &self.body {
            ErrorBody::Envelope(e) => e.details.as_ref().map(Cow::Borrowed),
            ErrorBody::DetailObject(d) if !d.extra.is_empty() => {
                Some(Cow::Owned(Value::Object(d.extra.clone())))
            }
            ErrorBody::DetailList(issues) => Some(Cow::Owned(
                serde_json::to_value(issues).unwrap_or(Value::Null),
            )),
            _ => None,
        };
        map.serialize_entry("details", &details)?;
        map.serialize_entry("kind", &self.kind())?;
        map.serialize_entry("shape", &self.shape())?;
        map.serialize_entry("retryable", &self.is_retryable())?;
        map.serialize_entry("retry_after_ms", &self.retry_after_delay.map(millis))?;
        map.serialize_entry("solution", &self.solution())?;
        if let Some(advice) = self.advice() {
            map.serialize_entry("advice", advice)?;
        }
        map.serialize_entry("truncated", &self.truncated)?;
        if let Some(excerpt) = self.excerpt() {
            map.serialize_entry("excerpt", excerpt)?;
        }
        if !self.repairs.is_empty() {
            let repairs: Vec<String> = self.repairs.iter().map(ToString::to_string).collect();
            map.serialize_entry("repairs", &repairs)?;
        }
        map.end()
    }
}

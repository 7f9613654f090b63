//! Parsing an error response: the limits, the body read as one of the API's shapes or as
//! text, and why a body was not one of them.

use std::fmt;
use std::time::SystemTime;

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::request_id::copied_request_id;
use super::{ApiError, list_summary};
use crate::RetryAfter;
use crate::body::{ErrorBody, Repair, TextBody, parse_bytes};
use crate::excerpt::{summarize, summarize_line, utf8_prefix};

/// The default bound on how much of an error body is considered: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// The largest body limit an [`ErrorParser`] accepts: 1 GiB. A larger request is clamped, so
/// a driver's `body_limit() + 1` can never overflow.
pub const MAX_BODY_LIMIT: usize = 1 << 30;
/// How much of a non-JSON body is kept as an excerpt.
const EXCERPT_LIMIT: usize = 1024;

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
    /// Scrubbed by [`ApiError::redact`]: it may quote the input.
    pub(super) message: String,
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
/// use errors_core::error::ErrorParser;
/// let parser = ErrorParser::new().with_body_limit(16 * 1024);
/// assert_eq!(parser.body_limit(), 16 * 1024);
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
    pub fn with_body_limit(mut self, limit: usize) -> ErrorParser {
        self.body_limit = limit.clamp(1024, MAX_BODY_LIMIT);
        self
    }

    /// The body limit. A driver reads at most `body_limit() + 1` bytes: the extra byte tells
    /// the parser the body was cut.
    pub fn body_limit(&self) -> usize {
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
        let request_id = copied_request_id(&read.body, read.request_id.as_deref(), headers);
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

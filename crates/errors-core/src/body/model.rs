//! The model: [`ErrorBody`] in each of its shapes, and the parts they are made of.

use std::fmt;

use serde::Serialize;
use serde::de;
use serde_json::{Map, Value};

use super::lenient::parse_bytes;
use crate::ErrorCode;

/// Which of the API's body shapes an error arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Shape {
    /// `{"error": {"code", "message", "details"}, "request_id"}`, from the API's middleware.
    Envelope,
    /// `{"detail": "..."}`, FastAPI's `HTTPException` with a string.
    DetailString,
    /// `{"detail": {"code", "message", "field"}}`, `HTTPException` with a dict.
    DetailObject,
    /// `{"detail": [{"loc", "msg", "type"}]}`, FastAPI's request validation (its default 422).
    DetailList,
    /// A body that is none of the API's JSON shapes: HTML, plain text, broken JSON.
    Text,
    /// No body at all.
    Empty,
}

impl Shape {
    /// The `snake_case` name used in JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Shape::Envelope => "envelope",
            Shape::DetailString => "detail_string",
            Shape::DetailObject => "detail_object",
            Shape::DetailList => "detail_list",
            Shape::Text => "text",
            Shape::Empty => "empty",
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error body in one of the API's shapes.
///
/// Parsing goes through [`crate::ApiError`]; this type is the wire model, and it serializes
/// back to exactly the JSON the API sends, which is what test fixtures serve.
///
/// ```
/// use errors_core::ErrorCode;
/// use errors_core::body::{ErrorBody, Envelope};
///
/// let body = ErrorBody::Envelope(
///     Envelope::new(ErrorCode::RateLimitError, "Rate limit exceeded: 100 calls per 60 seconds")
///         .with_request_id("550e8400-e29b-41d4-a716-446655440000"),
/// );
/// let json = body.to_json().unwrap();
/// assert_eq!(ErrorBody::from_json(&json).unwrap(), body);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorBody {
    /// The middleware envelope.
    Envelope(Envelope),
    /// `{"detail": "..."}`.
    DetailString(String),
    /// `{"detail": {...}}`.
    DetailObject(DetailObject),
    /// `{"detail": [...]}`.
    DetailList(Vec<ValidationIssue>),
    /// Not one of the API's shapes: a bounded, UTF-8 safe excerpt of what came.
    Text(TextBody),
    /// No body.
    Empty,
}

/// `{"error": {"code", "message", "details"}, "request_id"}`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Envelope {
    /// `error.code`.
    pub code: Option<ErrorCode>,
    /// `error.message`.
    pub message: Option<String>,
    /// `error.details`, any JSON.
    pub details: Option<Value>,
    /// `request_id`.
    pub request_id: Option<String>,
}

/// `{"detail": {"code", "message", "field", ...}}`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct DetailObject {
    /// `detail.code`.
    pub code: Option<ErrorCode>,
    /// `detail.message`.
    pub message: Option<String>,
    /// `detail.field`: the request parameter at fault.
    pub field: Option<String>,
    /// Any other members of `detail`, kept as they came.
    pub extra: Map<String, Value>,
}

/// One item of FastAPI's validation list: `{"loc": [...], "msg": "...", "type": "..."}`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ValidationIssue {
    /// Where the problem is, outermost first: `["body", "items", 0, "name"]`.
    pub loc: Vec<LocSegment>,
    /// The human-readable message.
    pub msg: String,
    /// The machine-readable error type, such as `missing` or `less_than_equal`.
    pub kind: String,
}

/// One step of a [`ValidationIssue`] location: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocSegment {
    /// A member name.
    Name(String),
    /// A list index.
    Index(u64),
}

/// A body that is not one of the API's JSON shapes.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TextBody {
    /// The start of the body, cut at a character boundary; invalid UTF-8 is replaced.
    pub excerpt: String,
    /// A one-line summary: an HTML page's `<title>`, else the excerpt's first words.
    pub summary: String,
}

impl Envelope {
    /// An envelope with a code and a message.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Envelope {
        Envelope {
            code: Some(code.into()),
            message: Some(message.into()),
            details: None,
            request_id: None,
        }
    }

    /// Sets `error.details`.
    pub fn with_details(mut self, details: Value) -> Envelope {
        self.details = Some(details);
        self
    }

    /// Sets `request_id`.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Envelope {
        self.request_id = Some(request_id.into());
        self
    }
}

impl DetailObject {
    /// A detail object with a code and a message.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> DetailObject {
        DetailObject {
            code: Some(code.into()),
            message: Some(message.into()),
            field: None,
            extra: Map::new(),
        }
    }

    /// Sets `detail.field`.
    pub fn with_field(mut self, field: impl Into<String>) -> DetailObject {
        self.field = Some(field.into());
        self
    }
}

impl ValidationIssue {
    /// An issue at `loc` with message `msg` and type `kind`.
    pub fn new(
        loc: impl IntoIterator<Item = LocSegment>,
        msg: impl Into<String>,
        kind: impl Into<String>,
    ) -> ValidationIssue {
        ValidationIssue {
            loc: loc.into_iter().collect(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }

    /// The location as the caller named it, without FastAPI's `body`/`query`/`path`/`header`/
    /// `cookie` prefix: `items.0.name`.
    pub fn field(&self) -> String {
        let mut segments = self.loc.as_slice();
        if let Some(LocSegment::Name(first)) = segments.first()
            && segments.len() > 1
            && matches!(
                first.as_str(),
                "body" | "query" | "path" | "header" | "cookie"
            )
        {
            segments = &segments[1..];
        }
        let mut out = String::new();
        for (i, segment) in segments.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            match segment {
                LocSegment::Name(name) => out.push_str(name),
                LocSegment::Index(index) => out.push_str(&index.to_string()),
            }
        }
        out
    }
}

impl From<&str> for LocSegment {
    fn from(name: &str) -> Self {
        LocSegment::Name(name.to_owned())
    }
}

impl From<u64> for LocSegment {
    fn from(index: u64) -> Self {
        LocSegment::Index(index)
    }
}

impl ErrorBody {
    /// The shape of this body.
    pub fn shape(&self) -> Shape {
        match self {
            ErrorBody::Envelope(_) => Shape::Envelope,
            ErrorBody::DetailString(_) => Shape::DetailString,
            ErrorBody::DetailObject(_) => Shape::DetailObject,
            ErrorBody::DetailList(_) => Shape::DetailList,
            ErrorBody::Text(_) => Shape::Text,
            ErrorBody::Empty => Shape::Empty,
        }
    }

    /// Reads one of the API's JSON shapes, leniently: a member of an unexpected type is left
    /// out (a number where text belongs is kept as its text), a byte order mark is skipped and
    /// bytes that are not UTF-8 are replaced. [`crate::ApiError::parse`] also says what was
    /// repaired. Text and empty bodies are not JSON shapes: they are what [`crate::ApiError`]
    /// makes of a body this rejects (broken JSON, or JSON with neither `error` nor `detail`).
    ///
    /// ```
    /// use errors_core::ErrorCode;
    /// use errors_core::body::ErrorBody;
    ///
    /// let body = ErrorBody::from_json(br#"{"error":{"code":"TIMEOUT","message":null,"details":1}}"#).unwrap();
    /// let ErrorBody::Envelope(envelope) = body else { panic!() };
    /// assert_eq!(envelope.code, Some(ErrorCode::Timeout));
    /// assert!(ErrorBody::from_json(br#"{"message":"Forbidden"}"#).is_err());
    /// ```
    pub fn from_json(json: &[u8]) -> Result<ErrorBody, serde_json::Error> {
        let parsed = parse_bytes(json)?;
        match parsed.body {
            Some(ErrorBody::Envelope(mut envelope)) => {
                envelope.request_id = envelope.request_id.or(parsed.request_id);
                Ok(ErrorBody::Envelope(envelope))
            }
            Some(body) => Ok(body),
            None => Err(de::Error::custom("no `error` or `detail` member")),
        }
    }

    /// The wire bytes: JSON for the JSON shapes, the excerpt for text, nothing for empty.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        match self {
            ErrorBody::Text(text) => Ok(text.excerpt.clone().into_bytes()),
            ErrorBody::Empty => Ok(Vec::new()),
            json => serde_json::to_vec(json),
        }
    }
}

//! The error bodies the API sends, as they are on the wire.
//!
//! Middleware-raised errors use an envelope; errors raised through FastAPI's `HTTPException`
//! use `{"detail": ...}` where `detail` is a string, an object, or (for request validation) a
//! list of issues. Anything else (HTML from a proxy, plain text, nothing) is kept as text.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

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
/// use errors_core::{ErrorBody, ErrorCode, Envelope};
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

    /// Reads one of the API's JSON shapes. Text and empty bodies are not JSON shapes: they are
    /// what [`crate::ApiError`] makes of a body this rejects.
    pub fn from_json(json: &[u8]) -> Result<ErrorBody, serde_json::Error> {
        serde_json::from_slice::<JsonShape>(json).map(|shape| shape.0)
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

impl Serialize for ErrorBody {
    /// Serializes the JSON shapes as the API sends them; text as a JSON string.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ErrorBody::Envelope(envelope) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("error", &EnvelopeError(envelope))?;
                if let Some(id) = &envelope.request_id {
                    map.serialize_entry("request_id", id)?;
                }
                map.end()
            }
            ErrorBody::DetailString(detail) => single("detail", detail, serializer),
            ErrorBody::DetailObject(detail) => single("detail", detail, serializer),
            ErrorBody::DetailList(issues) => single("detail", issues, serializer),
            ErrorBody::Text(text) => serializer.serialize_str(&text.excerpt),
            ErrorBody::Empty => serializer.serialize_unit(),
        }
    }
}

fn single<S: Serializer, T: Serialize + ?Sized>(
    key: &str,
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

struct EnvelopeError<'a>(&'a Envelope);

impl Serialize for EnvelopeError<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(code) = &e.code {
            map.serialize_entry("code", code)?;
        }
        if let Some(message) = &e.message {
            map.serialize_entry("message", message)?;
        }
        if let Some(details) = &e.details {
            map.serialize_entry("details", details)?;
        }
        map.end()
    }
}

impl Serialize for DetailObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(code) = &self.code {
            map.serialize_entry("code", code)?;
        }
        if let Some(message) = &self.message {
            map.serialize_entry("message", message)?;
        }
        if let Some(field) = &self.field {
            map.serialize_entry("field", field)?;
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for ValidationIssue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("loc", &self.loc)?;
        map.serialize_entry("msg", &self.msg)?;
        map.serialize_entry("type", &self.kind)?;
        map.end()
    }
}

impl Serialize for LocSegment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            LocSegment::Name(name) => serializer.serialize_str(name),
            LocSegment::Index(index) => serializer.serialize_u64(*index),
        }
    }
}

// Deserialization is written by hand: one pass over the top-level object, borrowing keys,
// with no intermediate `Value` tree and no untagged-enum buffering. This is what keeps an
// envelope parse well under a microsecond.

/// A body in one of the four JSON shapes.
struct JsonShape(ErrorBody);

impl<'de> Deserialize<'de> for JsonShape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = JsonShape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with an `error` or a `detail` member")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonShape, A::Error> {
        let mut error: Option<Envelope> = None;
        let mut request_id: Option<String> = None;
        let mut detail: Option<ErrorBody> = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "error" => error = map.next_value::<Option<EnvelopeErrorDe>>()?.map(|e| e.0),
                "request_id" => request_id = map.next_value::<Option<String>>()?,
                "detail" => detail = map.next_value::<Option<DetailDe>>()?.map(|d| d.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(mut envelope) = error {
            envelope.request_id = request_id;
            return Ok(JsonShape(ErrorBody::Envelope(envelope)));
        }
        detail
            .map(JsonShape)
            .ok_or_else(|| de::Error::custom("no `error` or `detail` member"))
    }
}

/// A map key, borrowed when the input allows.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl Key<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_owned().into()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct EnvelopeErrorDe(Envelope);

impl<'de> Deserialize<'de> for EnvelopeErrorDe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EnvelopeErrorDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut envelope = Envelope::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_str() {
                        "code" => envelope.code = map.next_value()?,
                        "message" => envelope.message = map.next_value()?,
                        "details" => envelope.details = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(EnvelopeErrorDe(envelope))
            }
        }
        deserializer.deserialize_map(V)
    }
}

struct DetailDe(ErrorBody);

impl<'de> Deserialize<'de> for DetailDe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DetailVisitor)
    }
}

struct DetailVisitor;

impl<'de> Visitor<'de> for DetailVisitor {
    type Value = DetailDe;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, an object or a list of validation issues")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DetailDe, E> {
        Ok(DetailDe(ErrorBody::DetailString(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<DetailDe, E> {
        Ok(DetailDe(ErrorBody::DetailString(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DetailDe, A::Error> {
        let mut detail = DetailObject::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "code" => detail.code = map.next_value()?,
                "message" => detail.message = map.next_value()?,
                "field" => detail.field = map.next_value()?,
                other => {
                    let value: Value = map.next_value()?;
                    detail.extra.insert(other.to_owned(), value);
                }
            }
        }
        Ok(DetailDe(ErrorBody::DetailObject(detail)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DetailDe, A::Error> {
        // The hint comes from untrusted input: never trust it for the allocation size.
        let mut issues = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(issue) = seq.next_element::<IssueDe>()? {
            issues.push(issue.0);
        }
        Ok(DetailDe(ErrorBody::DetailList(issues)))
    }
}

struct IssueDe(ValidationIssue);

impl<'de> Deserialize<'de> for IssueDe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IssueDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a validation issue object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IssueDe, A::Error> {
                let mut issue = ValidationIssue::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_str() {
                        "loc" => {
                            issue.loc = map
                                .next_value::<Option<Vec<LocSegment>>>()?
                                .unwrap_or_default()
                        }
                        "msg" => issue.msg = map.next_value()?,
                        "type" => issue.kind = map.next_value()?,
                        _ => {
                            // `input`, `ctx`, `url`: `input` may echo secrets back; drop it.
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(IssueDe(issue))
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for LocSegment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LocSegment;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name or a list index")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LocSegment, E> {
                Ok(LocSegment::Name(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LocSegment, E> {
                Ok(LocSegment::Index(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LocSegment, E> {
                // A negative index is not FastAPI's, but it is not worth losing the body over.
                Ok(LocSegment::Name(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ErrorBody {
        ErrorBody::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_documented_shapes() {
        let envelope = parse(
            r#"{ "error": { "code": "RATE_LIMIT_ERROR", "message": "Rate limit exceeded: 100 calls per 60 seconds", "details": {} }, "request_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
        );
        let ErrorBody::Envelope(e) = &envelope else {
            panic!("{envelope:?}")
        };
        assert_eq!(e.code, Some(ErrorCode::RateLimitError));
        assert_eq!(
            e.request_id.as_deref(),
            Some("550e8400-e29b-41d4-a716-446655440000")
        );
        assert_eq!(e.details, Some(serde_json::json!({})));

        assert_eq!(
            parse(r#"{ "detail": "Rule not found"}"#),
            ErrorBody::DetailString("Rule not found".into())
        );

        let object = parse(
            r#"{ "detail": { "code": "VALIDATION_ERROR", "message": "Invalid request parameters", "field": "limit" }}"#,
        );
        assert_eq!(
            object,
            ErrorBody::DetailObject(
                DetailObject::new(ErrorCode::ValidationError, "Invalid request parameters")
                    .with_field("limit")
            )
        );

        let list = parse(
            r#"{"detail":[{"type":"missing","loc":["body","items",0,"name"],"msg":"Field required","input":{"api_key":"sk-secret"}}]}"#,
        );
        let ErrorBody::DetailList(issues) = &list else {
            panic!("{list:?}")
        };
        assert_eq!(issues[0].field(), "items.0.name");
        assert_eq!(issues[0].kind, "missing");
        assert!(!format!("{list:?}").contains("sk-secret"));
    }

    #[test]
    fn request_id_before_error_and_unknown_members_are_fine() {
        let body =
            parse(r#"{"request_id":"r1","extra":[1,2,{"a":null}],"error":{"code":"X","hint":1}}"#);
        let ErrorBody::Envelope(e) = body else {
            panic!()
        };
        assert_eq!(e.request_id.as_deref(), Some("r1"));
        assert_eq!(e.code, Some(ErrorCode::Other("X".into())));
        assert_eq!(e.message, None);
    }

    #[test]
    fn non_api_json_is_rejected() {
        for json in [
            r#"{}"#,
            r#"{"detail":null}"#,
            r#"{"message":"x"}"#,
            "[]",
            "1",
            r#""x""#,
            r#"{"detail":5}"#,
            r#"{"error":{"code":5}}"#,
            r#"{"detail":["a"]}"#,
        ] {
            assert!(ErrorBody::from_json(json.as_bytes()).is_err(), "{json}");
        }
    }

    #[test]
    fn every_json_shape_round_trips() {
        let bodies = [
            ErrorBody::Envelope(
                Envelope::new("USAGE_LIMIT_EXCEEDED", "Monthly limit")
                    .with_details(serde_json::json!({"limit": 1000}))
                    .with_request_id("abc"),
            ),
            ErrorBody::Envelope(Envelope::default()),
            ErrorBody::DetailString("Rule not found".into()),
            ErrorBody::DetailObject(
                DetailObject::new("AUTHZ_ERROR", "no scope").with_field("scope"),
            ),
            ErrorBody::DetailList(vec![ValidationIssue::new(
                ["query".into(), "limit".into()],
                "Input should be less than or equal to 100",
                "less_than_equal",
            )]),
        ];
        for body in bodies {
            let json = body.to_json().unwrap();
            assert_eq!(
                ErrorBody::from_json(&json).unwrap(),
                body,
                "{}",
                String::from_utf8_lossy(&json)
            );
        }
    }
}

//! The error bodies the API sends, as they are on the wire.
//!
//! Middleware-raised errors use an envelope; errors raised through FastAPI's `HTTPException`
//! use `{"detail": ...}` where `detail` is a string, an object, or (for request validation) a
//! list of issues. Anything else (HTML from a proxy, plain text, nothing) is kept as text.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
    /// use errors_core::{ErrorBody, ErrorCode};
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
//
// It is also lenient, member by member: a member of an unexpected type is left out (or, for
// a number where text belongs, kept as its text) and noted in `Ctx::repairs`; the rest of the
// body is kept. Only broken syntax rejects a body.

/// The most repairs recorded for one body; further ones are still made, but not listed.
pub(crate) const MAX_REPAIRS: usize = 16;

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
/// use errors_core::{ApiError, ErrorCode, JsonType, Repair};
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

/// What a lenient parse made of a JSON body.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// The body, when it is one of the API's shapes.
    pub(crate) body: Option<ErrorBody>,
    /// A top-level `request_id`, for shapes other than the envelope (which keeps its own).
    pub(crate) request_id: Option<String>,
    /// For JSON that is not one of the API's shapes: a top-level `message`, `title`, `error`
    /// or `error_description` string, the best one-line summary such a body has.
    pub(crate) hint: Option<String>,
    pub(crate) repairs: Vec<Repair>,
}

/// Parses JSON bytes leniently: a UTF-8 byte order mark is skipped and invalid UTF-8 is
/// replaced (both noted) before [`parse_json`].
pub(crate) fn parse_bytes(bytes: &[u8]) -> Result<Parsed, serde_json::Error> {
    let mut repairs = Vec::new();
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => {
            repairs.push(Repair::ByteOrderMark);
            rest
        }
        None => bytes,
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_json(text, repairs),
        Err(_) => {
            repairs.push(Repair::InvalidUtf8);
            parse_json(&String::from_utf8_lossy(bytes), repairs)
        }
    }
}

/// Parses JSON text leniently. `Err` only for broken syntax (or nesting past serde_json's
/// recursion limit); JSON that is not one of the API's shapes is `Ok` with no body.
pub(crate) fn parse_json(text: &str, repairs: Vec<Repair>) -> Result<Parsed, serde_json::Error> {
    let ctx = RefCell::new(repairs);
    let mut de = serde_json::Deserializer::from_str(text);
    let top = TopSeed(&ctx).deserialize(&mut de)?;
    de.end()?;
    let repairs = ctx.into_inner();
    Ok(match top.error {
        Some(mut envelope) => {
            envelope.request_id = top.request_id;
            Parsed {
                body: Some(ErrorBody::Envelope(envelope)),
                request_id: None,
                hint: None,
                repairs,
            }
        }
        None => Parsed {
            body: top.detail,
            request_id: top.request_id,
            hint: top.hint,
            repairs,
        },
    })
}

type Ctx = RefCell<Vec<Repair>>;

fn note(ctx: &Ctx, repair: impl FnOnce() -> Repair) {
    let mut repairs = ctx.borrow_mut();
    if repairs.len() < MAX_REPAIRS {
        repairs.push(repair());
    }
}

/// A mistyped member's value, skipped over. Unlike serde's `IgnoredAny` (which serde_json
/// skips without recursion, and which members outside the API's model use), it nests through
/// `deserialize_any`, so serde_json's recursion limit rejects a hostile `[[[[...]]]]` where
/// one of the API's members belongs, as it would if the member were read.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// A JSON value where a scalar belongs, read without failing on any type.
enum Item<'de> {
    Str(Cow<'de, str>),
    /// A number or a boolean, as its JSON text.
    Scalar(String, JsonType),
    Null,
    /// An object or an array, skipped.
    Skipped(JsonType),
}

impl<'de> Item<'de> {
    /// Text where text belongs: a string as is, a number or boolean as its text (noted).
    /// Anything else is dropped (noted, except `null`, which means "absent").
    fn into_text(self, ctx: &Ctx, member: impl FnOnce() -> String) -> Option<Cow<'de, str>> {
        match self {
            Item::Str(text) => Some(text),
            Item::Scalar(text, found) => {
                note(ctx, || Repair::Stringified {
                    member: member(),
                    found,
                });
                Some(Cow::Owned(text))
            }
            Item::Null => None,
            Item::Skipped(found) => {
                note(ctx, || Repair::Dropped {
                    member: member(),
                    found,
                });
                None
            }
        }
    }
}

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Item<'de>, E> {
        Ok(Item::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Item<'de>, E> {
        Ok(Item::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Item<'de>, E> {
        Ok(Item::Str(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Item<'de>, E> {
        Ok(Item::Scalar(v.to_string(), JsonType::Number))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Item<'de>, E> {
        Ok(Item::Scalar(v.to_string(), JsonType::Number))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Item<'de>, E> {
        // `{}` of 1e300 is 301 digits; serde_json's own form stays short.
        let text = serde_json::Number::from_f64(v)
            .map(|n| n.to_string())
            .unwrap_or_default();
        Ok(Item::Scalar(text, JsonType::Number))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Item<'de>, E> {
        Ok(Item::Scalar(v.to_string(), JsonType::Boolean))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Item<'de>, E> {
        Ok(Item::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Item<'de>, E> {
        Ok(Item::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'de>, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Item::Skipped(JsonType::Object))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item<'de>, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Item::Skipped(JsonType::Array))
    }
}

/// The top level of a body; all `None` for valid JSON that is not an object.
#[derive(Default)]
struct Top {
    error: Option<Envelope>,
    detail: Option<ErrorBody>,
    request_id: Option<String>,
    hint: Option<String>,
}

struct TopSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a json value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let ctx = self.0;
        let mut error: Option<Envelope> = None;
        let mut request_id: Option<String> = None;
        let mut detail: Option<ErrorBody> = None;
        let mut hint: Option<String> = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "error" => match map.next_value_seed(ErrorSeed(ctx))? {
                    ErrorMember::Envelope(envelope) => error = Some(envelope),
                    ErrorMember::Text(text) => {
                        note(ctx, || Repair::Dropped {
                            member: "error".into(),
                            found: JsonType::String,
                        });
                        hint = hint.or(Some(text));
                    }
                    ErrorMember::Absent => {}
                    ErrorMember::Other(found) => note(ctx, || Repair::Dropped {
                        member: "error".into(),
                        found,
                    }),
                },
                "request_id" => {
                    request_id = map
                        .next_value::<Item<'de>>()?
                        .into_text(ctx, || "request_id".into())
                        .map(Cow::into_owned)
                }
                "detail" => detail = map.next_value_seed(DetailSeed(ctx))?,
                "message" | "title" | "error_description" => {
                    if let Item::Str(text) = map.next_value::<Item<'de>>()?
                        && hint.is_none()
                    {
                        hint = Some(text.into_owned());
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Top {
            error,
            detail,
            request_id,
            hint,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Top::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::default())
    }
}

/// A map key, borrowed when the input allows.
struct Key<'de>(Cow<'de, str>);

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

/// The top-level `error` member.
enum ErrorMember {
    Envelope(Envelope),
    /// `"error": "..."`: not the envelope, but a good summary.
    Text(String),
    Absent,
    Other(JsonType),
}

struct ErrorSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for ErrorSeed<'_> {
    type Value = ErrorMember;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ErrorMember, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ErrorSeed<'_> {
    type Value = ErrorMember;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an error object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ErrorMember, A::Error> {
        let ctx = self.0;
        let mut envelope = Envelope::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "code" => {
                    envelope.code = map
                        .next_value::<Item<'de>>()?
                        .into_text(ctx, || "error.code".into())
                        .map(|code| ErrorCode::from_wire(&code))
                }
                "message" => {
                    envelope.message = map
                        .next_value::<Item<'de>>()?
                        .into_text(ctx, || "error.message".into())
                        .map(Cow::into_owned)
                }
                "details" => envelope.details = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ErrorMember::Envelope(envelope))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Text(v.to_owned()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Text(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Text(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Absent)
    }
    fn visit_none<E: de::Error>(self) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Absent)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Other(JsonType::Number))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Other(JsonType::Number))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Other(JsonType::Number))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<ErrorMember, E> {
        Ok(ErrorMember::Other(JsonType::Boolean))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ErrorMember, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(ErrorMember::Other(JsonType::Array))
    }
}

/// The `detail` member: a string, an object or a list of issues.
struct DetailSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for DetailSeed<'_> {
    type Value = Option<ErrorBody>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl DetailSeed<'_> {
    fn scalar<E: de::Error>(self, text: String, found: JsonType) -> Result<Option<ErrorBody>, E> {
        note(self.0, || Repair::Stringified {
            member: "detail".into(),
            found,
        });
        Ok(Some(ErrorBody::DetailString(text)))
    }
}

impl<'de> Visitor<'de> for DetailSeed<'_> {
    type Value = Option<ErrorBody>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, an object or a list of validation issues")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(ErrorBody::DetailString(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(ErrorBody::DetailString(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.scalar(v.to_string(), JsonType::Number)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.scalar(v.to_string(), JsonType::Number)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        let text = serde_json::Number::from_f64(v)
            .map(|n| n.to_string())
            .unwrap_or_default();
        self.scalar(text, JsonType::Number)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.scalar(v.to_string(), JsonType::Boolean)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut detail = DetailObject::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "code" => {
                    detail.code = map
                        .next_value::<Item<'de>>()?
                        .into_text(ctx, || "detail.code".into())
                        .map(|code| ErrorCode::from_wire(&code))
                }
                "message" => {
                    detail.message = map
                        .next_value::<Item<'de>>()?
                        .into_text(ctx, || "detail.message".into())
                        .map(Cow::into_owned)
                }
                "field" => {
                    detail.field = map
                        .next_value::<Item<'de>>()?
                        .into_text(ctx, || "detail.field".into())
                        .map(Cow::into_owned)
                }
                other => {
                    let value: Value = map.next_value()?;
                    detail.extra.insert(other.to_owned(), value);
                }
            }
        }
        Ok(Some(ErrorBody::DetailObject(detail)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // The hint comes from untrusted input: never trust it for the allocation size.
        let mut issues = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        let mut index = 0;
        while let Some(issue) = seq.next_element_seed(IssueSeed(self.0, index))? {
            issues.extend(issue);
            index += 1;
        }
        Ok(Some(ErrorBody::DetailList(issues)))
    }
}

/// One item of a validation list, at `detail[index]`.
struct IssueSeed<'c>(&'c Ctx, usize);

impl<'de> DeserializeSeed<'de> for IssueSeed<'_> {
    type Value = Option<ValidationIssue>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl IssueSeed<'_> {
    fn dropped<T, E>(self, found: JsonType) -> Result<Option<T>, E> {
        let index = self.1;
        note(self.0, || Repair::Dropped {
            member: format!("detail[{index}]"),
            found,
        });
        Ok(None)
    }
}

impl<'de> Visitor<'de> for IssueSeed<'_> {
    type Value = Option<ValidationIssue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a validation issue object")
    }

    /// FastAPI's `HTTPException(detail=["a", "b"])`: each string is an issue's message.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(ValidationIssue {
            msg: v.to_owned(),
            ..ValidationIssue::default()
        }))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.dropped(JsonType::Number)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.dropped(JsonType::Number)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.dropped(JsonType::Number)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.dropped(JsonType::Boolean)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.dropped(JsonType::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        self.dropped(JsonType::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (ctx, index) = (self.0, self.1);
        let mut issue = ValidationIssue::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "loc" => issue.loc = map.next_value_seed(LocSeed(ctx, index))?,
                "msg" => {
                    issue.msg = map
                        .next_value::<Item<'de>>()?
                        .into_text(ctx, || format!("detail[{index}].msg"))
                        .map(Cow::into_owned)
                        .unwrap_or_default()
                }
                "type" => {
                    issue.kind = map
                        .next_value::<Item<'de>>()?
                        .into_text(ctx, || format!("detail[{index}].type"))
                        .map(Cow::into_owned)
                        .unwrap_or_default()
                }
                _ => {
                    // `input`, `ctx`, `url`: `input` may echo secrets back; drop it.
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(issue))
    }
}

/// An issue's `loc`, at `detail[index].loc`.
struct LocSeed<'c>(&'c Ctx, usize);

impl<'de> DeserializeSeed<'de> for LocSeed<'_> {
    type Value = Vec<LocSegment>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LocSeed<'_> {
    type Value = Vec<LocSegment>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of field names and indexes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (ctx, index) = (self.0, self.1);
        let mut loc = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(8));
        let mut at = 0;
        while let Some(item) = seq.next_element::<Item<'de>>()? {
            let segment = match item {
                Item::Str(name) => Some(LocSegment::Name(name.into_owned())),
                Item::Scalar(text, JsonType::Number) => match text.parse::<u64>() {
                    Ok(i) => Some(LocSegment::Index(i)),
                    // A negative or fractional index is not FastAPI's, but it is not worth
                    // losing the body over.
                    Err(_) => {
                        note(ctx, || Repair::Stringified {
                            member: format!("detail[{index}].loc[{at}]"),
                            found: JsonType::Number,
                        });
                        Some(LocSegment::Name(text))
                    }
                },
                other => other
                    .into_text(ctx, || format!("detail[{index}].loc[{at}]"))
                    .map(|text| LocSegment::Name(text.into_owned())),
            };
            loc.extend(segment);
            at += 1;
        }
        Ok(loc)
    }

    /// `"loc": "limit"`: one segment.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(vec![LocSegment::Name(v.to_owned())])
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.drop_loc(JsonType::Number)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.drop_loc(JsonType::Number)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.drop_loc(JsonType::Number)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.drop_loc(JsonType::Boolean)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        self.drop_loc(JsonType::Object)
    }
}

impl LocSeed<'_> {
    fn drop_loc<E>(self, found: JsonType) -> Result<Vec<LocSegment>, E> {
        let index = self.1;
        note(self.0, || Repair::Dropped {
            member: format!("detail[{index}].loc"),
            found,
        });
        Ok(Vec::new())
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
    fn json_that_is_not_the_apis_is_rejected() {
        for json in [
            r#"{}"#,
            r#"{"detail":null}"#,
            r#"{"message":"x"}"#,
            r#"{"error":"invalid_token"}"#,
            r#"{"error":[1]}"#,
            "[]",
            "1",
            r#""x""#,
            "null",
            r#"{"error":{}"#,
            r#"{"detail":"a"} x"#,
        ] {
            assert!(ErrorBody::from_json(json.as_bytes()).is_err(), "{json}");
        }
    }

    fn repairs(json: &[u8]) -> (Option<ErrorBody>, Vec<String>) {
        let parsed = parse_bytes(json).unwrap();
        (
            parsed.body,
            parsed.repairs.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn mistyped_members_are_dropped_or_kept_as_text_and_noted() {
        let (body, notes) =
            repairs(br#"{"error":{"code":429,"message":["a"],"details":"x"},"request_id":12345}"#);
        let Some(ErrorBody::Envelope(e)) = body else {
            panic!("{body:?}")
        };
        assert_eq!(e.code, Some(ErrorCode::Other("429".into())));
        assert_eq!(e.message, None);
        assert_eq!(e.details, Some(Value::from("x")));
        assert_eq!(e.request_id.as_deref(), Some("12345"));
        assert_eq!(
            notes,
            [
                "kept error.code (a number) as text",
                "dropped error.message (a list)",
                "kept request_id (a number) as text"
            ]
        );

        let (body, notes) = repairs(
            br#"{"detail":[{"loc":["body",2.5,-1,true,null,{"a":1}],"msg":null,"type":7},"plain",3,[]]}"#,
        );
        let Some(ErrorBody::DetailList(issues)) = body else {
            panic!("{body:?}")
        };
        assert_eq!(
            issues[0].loc,
            [
                LocSegment::from("body"),
                LocSegment::from("2.5"),
                LocSegment::from("-1"),
                LocSegment::from("true"),
            ]
        );
        assert_eq!(issues[0].msg, "");
        assert_eq!(issues[0].kind, "7");
        assert_eq!(issues[1].msg, "plain");
        assert_eq!(issues.len(), 2);
        assert_eq!(
            notes,
            [
                "kept detail[0].loc[1] (a number) as text",
                "kept detail[0].loc[2] (a number) as text",
                "kept detail[0].loc[3] (a boolean) as text",
                "dropped detail[0].loc[5] (an object)",
                "kept detail[0].type (a number) as text",
                "dropped detail[2] (a number)",
                "dropped detail[3] (a list)",
            ]
        );

        let (body, notes) = repairs(
            b"\xEF\xBB\xBF{\"detail\":{\"code\":\"X\",\"message\":\"caf\xe9\",\"field\":false}}",
        );
        let Some(ErrorBody::DetailObject(d)) = body else {
            panic!("{body:?}")
        };
        assert_eq!(d.message.as_deref(), Some("caf\u{fffd}"));
        assert_eq!(d.field.as_deref(), Some("false"));
        assert_eq!(
            notes,
            [
                "skipped a utf-8 byte order mark",
                "replaced bytes that are not utf-8",
                "kept detail.field (a boolean) as text"
            ]
        );

        assert_eq!(
            repairs(br#"{"detail":5}"#).0,
            Some(ErrorBody::DetailString("5".into()))
        );
    }

    #[test]
    fn repairs_are_bounded() {
        let items = vec!["1"; 1000].join(",");
        let parsed = parse_bytes(format!(r#"{{"detail":[{items}]}}"#).as_bytes()).unwrap();
        assert_eq!(parsed.repairs.len(), MAX_REPAIRS);
    }

    #[test]
    fn nesting_past_the_limit_is_rejected_wherever_it_is() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for json in [
            format!(r#"{{"detail":{deep}}}"#),
            format!(r#"{{"error":{{"code":"X","message":{deep}}}}}"#),
            format!(r#"{{"detail":[{{"loc":[{deep}]}}]}}"#),
            format!(r#"{{"error":{deep}}}"#),
        ] {
            assert!(parse_bytes(json.as_bytes()).is_err(), "{}", &json[..30]);
        }
        // Members outside the API's model are skipped without recursion: no stack at risk.
        let parsed = parse_bytes(format!(r#"{{"detail":"x","other":{deep}}}"#).as_bytes());
        assert_eq!(
            parsed.unwrap().body,
            Some(ErrorBody::DetailString("x".into()))
        );
    }

    #[test]
    fn foreign_json_keeps_its_summary_and_request_id() {
        let parsed =
            parse_bytes(br#"{"title":"Forbidden","request_id":"r-7","status":403}"#).unwrap();
        assert_eq!(parsed.body, None);
        assert_eq!(parsed.hint.as_deref(), Some("Forbidden"));
        assert_eq!(parsed.request_id.as_deref(), Some("r-7"));
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

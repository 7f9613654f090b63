//! The lenient parser: JSON bytes to the body model, reading past what it can.
//!
//! Deserialization is written by hand: one pass over the top-level object, borrowing keys,
//! with no intermediate `Value` tree and no untagged-enum buffering. This is what keeps an
//! envelope parse well under a microsecond.
//!
//! It is also lenient, member by member: a member of an unexpected type is left out (or, for
//! a number where text belongs, kept as its text) and noted in `Ctx::repairs`; the rest of the
//! body is kept. Only broken syntax rejects a body.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{DetailObject, Envelope, ErrorBody, JsonType, LocSegment, Repair, ValidationIssue};
use crate::ErrorCode;

/// The most repairs recorded for one body; further ones are still made, but not listed.
pub(crate) const MAX_REPAIRS: usize = 16;

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

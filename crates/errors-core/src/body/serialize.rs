//! The body model written back as the API sends it: the JSON test fixtures serve.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{DetailObject, Envelope, ErrorBody, LocSegment, ValidationIssue};

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

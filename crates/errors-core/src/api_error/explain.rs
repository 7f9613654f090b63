//! An [`ApiError`] as JSON: the fields of the `explain` contract.

use std::borrow::Cow;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::ApiError;
use crate::body::ErrorBody;
use crate::display::millis;

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

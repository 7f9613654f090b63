//! Redaction: a secret the server echoed back, replaced wherever the error keeps its text.

use serde_json::Value;

use super::{ApiError, BodyProblem};
use crate::ErrorCode;
use crate::body::{ErrorBody, LocSegment};

const REDACTED: &str = "[redacted]";

/// [`ApiError::redact`]: every place the server's text is kept, scrubbed.
pub(super) fn redact(error: &mut ApiError, secret: &str) {
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
    match &mut error.body {
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
                    if let LocSegment::Name(name) = segment {
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
    if let Some((message, field)) = &mut error.list_summary {
        scrub(message);
        scrub(field);
    }
    error.request_id.as_mut().map(scrub);
    // The JSON parser's message may quote the input it stopped at.
    if let Some(BodyProblem::InvalidJson(e)) = &mut error.problem {
        scrub(&mut e.message);
    }
}

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

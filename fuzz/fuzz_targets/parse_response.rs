//! `ApiError::parse` / `ErrorParser::parse` on any status, a few headers and any body bytes.
//!
//! Parsing never fails, so the target asserts what must hold for every input: the status is
//! kept, the excerpt and request id stay bounded, `Display` is one bounded line, the error
//! always serializes, `is_truncated()` says exactly whether the body passed the limit, and a
//! valid `Retry-After` is resolved against the injected clock.
//!
//! Input layout (arbitrary's encoding): status u16 LE, body limit (enum: u32 LE selector, then
//! a u16 for `Bytes`), `now` u32 LE (seconds after the epoch), headers (for each: a byte with
//! the low bit set, a name selector u32, then the value as flag/byte pairs ended by a byte with
//! the low bit clear), a byte with the low bit clear, and the rest is the body, raw.
//! `seeds/make_seeds.py` writes inputs in this layout; `cargo fuzz fmt` prints one decoded.
#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use errors_core::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header::RETRY_AFTER};
use errors_core::{ApiError, RetryAfter, Shape};
use errors_core::error::{ErrorParser, MAX_BODY_LIMIT};
use libfuzzer_sys::fuzz_target;

/// Headers considered per input; more are ignored (keeps inputs small and fast).
const MAX_HEADERS: usize = 8;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    status: u16,
    limit: Limit,
    now: u32,
    headers: Vec<Header>,
    /// The last field takes the rest of the input as it is.
    body: &'a [u8],
}

#[derive(Arbitrary, Debug)]
enum Limit {
    /// `ApiError::parse`: the default 64 KiB.
    Default,
    /// `ErrorParser::new().with_body_limit(n)`: clamped by the parser to at least 1 KiB.
    Bytes(u16),
}

#[derive(Arbitrary, Debug)]
struct Header {
    name: Name,
    value: Vec<u8>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Name {
    RetryAfter,
    XRequestId,
    RequestId,
    XCorrelationId,
    XAmznRequestId,
    ContentType,
    Other,
}

impl Name {
    fn header(self) -> HeaderName {
        HeaderName::from_static(match self {
            Name::RetryAfter => "retry-after",
            Name::XRequestId => "x-request-id",
            Name::RequestId => "request-id",
            Name::XCorrelationId => "x-correlation-id",
            Name::XAmznRequestId => "x-amzn-requestid",
            Name::ContentType => "content-type",
            Name::Other => "x-other",
        })
    }
}

/// What `Display` can print at most: code and message are cut at 300 characters (4 bytes
/// each at worst, plus an ellipsis), the request id at 256 bytes, plus a status, a reason
/// phrase and a retry-after note.
const DISPLAY_BOUND: usize = 4096;

fuzz_target!(|input: Input<'_>| {
    let status = StatusCode::from_u16(100 + input.status % 900).expect("100..=999 is valid");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(input.now));

    let mut headers = HeaderMap::new();
    for header in input.headers.iter().take(MAX_HEADERS) {
        // A value the http crate refuses (CR, LF, NUL...) never reaches a parser in practice.
        if let Ok(value) = HeaderValue::from_bytes(&header.value) {
            headers.append(header.name.header(), value);
        }
    }

    let parser = match input.limit {
        Limit::Default => ErrorParser::new(),
        Limit::Bytes(n) => ErrorParser::new().with_body_limit(usize::from(n)),
    };
    let err = match input.limit {
        Limit::Default => ApiError::parse(status, &headers, input.body, now),
        Limit::Bytes(_) => parser.parse(status, &headers, input.body, now),
    };

    assert_eq!(err.status(), status, "status kept");
    assert!(parser.body_limit() >= 1024, "limit floor");
    assert!(parser.body_limit() <= MAX_BODY_LIMIT, "limit ceiling: `body_limit() + 1` never overflows");
    assert_eq!(
        err.is_truncated(),
        input.body.len() > parser.body_limit(),
        "truncated exactly when the body passes the limit ({} > {})",
        input.body.len(),
        parser.body_limit()
    );
    if let Some(excerpt) = err.excerpt() {
        assert!(excerpt.len() <= 1024, "excerpt of {} bytes", excerpt.len());
        assert_eq!(err.shape(), Shape::Text);
    }
    if let Some(id) = err.request_id() {
        assert!(id.len() <= 256, "request id of {} bytes", id.len());
        assert!(!id.is_empty(), "an empty request id is no request id");
    }

    // Retry-After: the first header decides; a valid one is resolved against `now`.
    let expected = headers
        .get(RETRY_AFTER)
        .and_then(|v| RetryAfter::parse(v.as_bytes(), now).ok());
    assert_eq!(err.retry_after_header(), expected);
    assert_eq!(err.retry_after(), expected.map(|r| r.delay_from(now)));

    let line = err.to_string();
    assert!(
        !line.contains('\n') && !line.contains('\r'),
        "Display is one line: {line:?}"
    );
    assert!(line.len() <= DISPLAY_BOUND, "Display of {} bytes", line.len());
    assert!(line.starts_with(&status.as_u16().to_string()));

    let json = serde_json::to_string(&err).expect("an ApiError always serializes");
    let value: serde_json::Value = serde_json::from_str(&json).expect("and the JSON parses back");
    assert_eq!(value["status"], u64::from(status.as_u16()));

    // The other accessors must not panic either.
    let _ = (err.code(), err.message(), err.field(), err.details(), err.kind());
    let _ = (err.solution(), err.status_meaning(), err.body_problem(), err.is_retryable());
    let _ = (err.advice(), err.is_rate_limited(), err.is_timeout(), err.repairs());
    assert!(err.repairs().len() <= 16, "repairs are bounded");
    // A secret echoed anywhere in the body is gone after `redact`, `source()` included.
    if let Some(secret) = secret_in(input.body) {
        let mut redacted = err.clone();
        redacted.redact(secret);
        let source = std::error::Error::source(&redacted).map(ToString::to_string);
        let all = format!(
            "{redacted} {redacted:?} {} {source:?}",
            serde_json::to_string(&redacted).unwrap()
        );
        assert!(!all.contains(secret), "{secret:?} survived redaction");
    }
    let _ = format!("{err:?}");
});

/// A secret-looking token in the body (`sk-` and 8+ letters or digits), as a server that
/// echoes the caller's key would put there.
fn secret_in(body: &[u8]) -> Option<&str> {
    let start = body.windows(3).position(|w| w == b"sk-")?;
    let len = 3 + body[start + 3..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    (len >= 11).then(|| std::str::from_utf8(&body[start..start + len]).unwrap())
}

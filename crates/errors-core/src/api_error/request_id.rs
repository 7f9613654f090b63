//! The request id to quote to support: from the body, else from the headers.

use http::{HeaderMap, HeaderName};

use crate::body::ErrorBody;
use crate::excerpt::str_prefix;

/// The longest request id kept; longer ones are cut (they come from untrusted input).
const REQUEST_ID_LIMIT: usize = 256;

/// Headers that carry a request id when the body does not, in the order they are tried.
pub const REQUEST_ID_HEADERS: [&str; 4] = [
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-amzn-requestid",
];

/// The request id an error keeps a copy of, beside its body: `None` when the body's envelope
/// has one it can serve as is. `outside` is a request id the body carries outside an
/// envelope.
pub(super) fn copied_request_id(
    body: &ErrorBody,
    outside: Option<&str>,
    headers: &HeaderMap,
) -> Option<String> {
    // The body's id comes first, whatever its shape; then the headers'. An envelope's id
    // is served from the body itself; others, or one too long to show, are copied.
    match body_request_id(body) {
        Some(id) if id.len() > REQUEST_ID_LIMIT => {
            Some(str_prefix(id, REQUEST_ID_LIMIT).to_owned())
        }
        Some(_) => None,
        None => outside
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| str_prefix(id, REQUEST_ID_LIMIT).to_owned())
            .or_else(|| request_id_in(headers).map(str::to_owned)),
    }
}

/// The envelope's request id, when it has one that is not blank.
pub(super) fn body_request_id(body: &ErrorBody) -> Option<&str> {
    match body {
        ErrorBody::Envelope(e) => e.request_id.as_deref().filter(|id| !id.trim().is_empty()),
        _ => None,
    }
}

/// The request id a response's headers carry, success or error: the first of
/// [`REQUEST_ID_HEADERS`] that is set, as text, and not blank; trimmed, and cut to 256
/// bytes (it comes from the network).
///
/// ```
/// use errors_core::error::request_id_in;
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
        (!value.is_empty()).then(|| str_prefix(value, REQUEST_ID_LIMIT))
    })
}

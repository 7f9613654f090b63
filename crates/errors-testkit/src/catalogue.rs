//! Every documented error, as data: "for every error the API documents, my code does X".

use errors_core::status::StatusInfo;
use errors_core::{ErrorCode, Shape};

use crate::{Fixture, fixtures};

/// One documented error in one shape it can arrive in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Entry {
    /// A stable, unique name: `rate_limit_error/envelope`, `404/detail_string`, `502/text`.
    pub name: String,
    /// The HTTP status.
    pub status: u16,
    /// The application code, when the body carries one.
    pub code: Option<ErrorCode>,
    /// The body shape.
    pub shape: Shape,
    /// The response, ready to mount.
    pub fixture: Fixture,
}

impl Entry {
    fn new(name: String, fixture: Fixture) -> Entry {
        Entry {
            name,
            status: fixture.status(),
            // Only these two shapes carry a code on the wire.
            code: fixture
                .code()
                .filter(|_| matches!(fixture.shape(), Shape::Envelope | Shape::DetailObject))
                .cloned(),
            shape: fixture.shape(),
            fixture,
        }
    }
}

/// Every error the API reference documents, each in the shapes it arrives in, in this order:
///
/// 1. each documented code ([`ErrorCode::documented`]) as the middleware's envelope (with a
///    `request_id` in the body) and as FastAPI's detail object (with `X-Request-ID`), at its
///    typical status; `RATE_LIMIT_ERROR` with `Retry-After: 1`;
/// 2. each documented error status as FastAPI's `{"detail": "..."}` with no code (429 with
///    `Retry-After: 1`), and FastAPI's validation list at 422;
/// 3. what sits in front of the API: a plain-text 500, nginx's HTML 502 and 504, an empty 503.
///
/// ```
/// use errors_core::Shape;
///
/// // For every error the API documents, ...
/// for entry in errors_testkit::catalogue() {
///     assert!(entry.status >= 400, "{}", entry.name);
///     assert_eq!(entry.code.is_some(), matches!(entry.shape, Shape::Envelope | Shape::DetailObject));
/// }
/// ```
pub fn catalogue() -> Vec<Entry> {
    let mut entries = Vec::new();
    for code in ErrorCode::documented() {
        for shape in [Shape::Envelope, Shape::DetailObject] {
            let mut fixture = Fixture::for_code(code.clone(), shape);
            if *code == ErrorCode::RateLimitError {
                fixture = fixture.with_retry_after_secs(1);
            }
            let name = format!("{}/{shape}", code.as_str().to_ascii_lowercase());
            entries.push(Entry::new(name, fixture));
        }
    }
    let statuses = StatusInfo::documented().iter().filter(|s| s.status >= 400);
    for info in statuses {
        let fixture = match info.status {
            404 => fixtures::not_found(),
            429 => fixtures::too_many_requests().with_retry_after_secs(1),
            status => fixtures::status(status),
        };
        entries.push(Entry::new(
            format!("{}/{}", info.status, Shape::DetailString),
            fixture,
        ));
    }
    let others = [
        fixtures::validation_list(),
        fixtures::internal_error_text(),
        fixtures::proxy_bad_gateway(),
        fixtures::empty_unavailable(),
        fixtures::proxy_gateway_timeout(),
    ];
    for fixture in others {
        let name = format!("{}/{}", fixture.status(), fixture.shape());
        entries.push(Entry::new(name, fixture));
    }
    entries
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_every_code_and_error_status_is_there() {
        let entries = catalogue();
        let names: HashSet<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), entries.len());
        for code in ErrorCode::documented() {
            assert!(
                entries.iter().any(|e| e.code.as_ref() == Some(code)),
                "{code}"
            );
        }
        for info in StatusInfo::documented().iter().filter(|s| s.status >= 400) {
            assert!(
                entries.iter().any(|e| e.status == info.status),
                "{}",
                info.status
            );
        }
        for shape in [Shape::DetailList, Shape::Text, Shape::Empty] {
            assert!(entries.iter().any(|e| e.shape == shape), "{shape}");
        }
    }
}

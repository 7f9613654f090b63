//! Every documented error, as data: "for every error the API documents, my code does X".

use errors_core::{ErrorCode, Shape};

use crate::{Fixture, fixtures};

/// One documented error in one shape it can arrive in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Entry {
    /// A stable name, e.g. `rate_limit_error/envelope` or `404/detail_string`.
    pub name: String,
    /// The HTTP status.
    pub status: u16,
    /// The application code, when the shape carries one.
    pub code: Option<ErrorCode>,
    /// The body shape.
    pub shape: Shape,
    /// The response.
    pub fixture: Fixture,
}

/// Every documented error: each documented code as the envelope and as a detail object, the
/// documented statuses whose bodies carry no code (detail strings, FastAPI's validation
/// list), and what sits in front of the API (a proxy's HTML, an empty 503, plain text).
///
/// ```
/// for entry in errors_testkit::catalogue() {
///     assert!(entry.status >= 400, "{}", entry.name);
/// }
/// ```
pub fn catalogue() -> Vec<Entry> {
    let mut entries = Vec::new();
    for code in ErrorCode::documented() {
        for shape in [Shape::Envelope, Shape::DetailObject] {
            let fixture = Fixture::code(code.clone(), shape);
            let fixture = if *code == ErrorCode::RateLimitError {
                fixture.retry_after_secs(1)
            } else {
                fixture
            };
            entries.push(Entry {
                name: format!("{}/{}", code.as_str().to_ascii_lowercase(), shape.as_str()),
                status: fixture.status(),
                code: Some(code.clone()),
                shape,
                fixture,
            });
        }
    }
    let plain = [
        (fixtures::bad_request(), Shape::DetailString),
        (fixtures::payment_required(), Shape::DetailString),
        (
            fixtures::not_found().request_id("req-404"),
            Shape::DetailString,
        ),
        (fixtures::conflict(), Shape::DetailString),
        (fixtures::validation_list(), Shape::DetailList),
        (fixtures::internal_error_text(), Shape::Text),
        (fixtures::proxy_html(502), Shape::Text),
        (fixtures::empty_unavailable(), Shape::Empty),
        (fixtures::proxy_html(504), Shape::Text),
    ];
    for (fixture, shape) in plain {
        entries.push(Entry {
            name: format!("{}/{}", fixture.status(), shape.as_str()),
            status: fixture.status(),
            code: None,
            shape,
            fixture,
        });
    }
    entries
}

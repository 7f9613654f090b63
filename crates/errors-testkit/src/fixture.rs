//! [`Fixture`]: one response the mock API sends, built from errors-core's wire model.

use std::time::{Duration, SystemTime};

use errors_core::body::{DetailObject, Envelope, ErrorBody, LocSegment, TextBody, ValidationIssue};
use errors_core::status::StatusInfo;
use errors_core::{ErrorCode, Shape};
use serde_json::{Map, Value};
use wiremock::{Request, Respond, ResponseTemplate};

/// The header a fixture's request id travels in when its body has no place for one.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// A response the mock API sends: status, headers, body and an optional delay.
///
/// An error fixture remembers its parts (code, message, details, field, request id) and
/// renders them in its [`Shape`] through errors-core's wire model ([`ErrorBody::to_json`]), so
/// a fixture says exactly what the API says. Each override lands where the shape carries it;
/// a shape with no place for a part leaves it out (and [`with_shape`](Fixture::with_shape)
/// brings it back):
///
/// | override | envelope | detail object | detail string | detail list | text, empty |
/// | --- | --- | --- | --- | --- | --- |
/// | [`with_message`](Fixture::with_message) | `error.message` | `detail.message` | `detail` | first issue's `msg` | the body |
/// | [`with_details`](Fixture::with_details) | `error.details` | - | - | - | - |
/// | [`with_field`](Fixture::with_field) | - | `detail.field` | - | first issue's `loc` | - |
/// | [`with_request_id`](Fixture::with_request_id) | `request_id` | `X-Request-ID` | `X-Request-ID` | `X-Request-ID` | `X-Request-ID` |
///
/// ```
/// use errors_core::Shape;
/// use errors_testkit::fixtures;
///
/// let fixture = fixtures::rate_limited().with_retry_after_secs(1).with_request_id("req-42");
/// assert_eq!(fixture.status(), 429);
/// assert_eq!(fixture.header_value("retry-after"), Some("1"));
/// assert!(String::from_utf8_lossy(fixture.body()).contains(r#""request_id":"req-42""#));
///
/// // The same error as FastAPI's detail object: the id moves to a header.
/// let detail = fixture.with_shape(Shape::DetailObject);
/// assert_eq!(detail.header_value("x-request-id"), Some("req-42"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    status: u16,
    content: Content,
    /// Headers set by the caller, in order.
    extra_headers: Vec<(String, String)>,
    delay: Option<Duration>,
    // Rendered from the above after every change.
    model: Option<ErrorBody>,
    body: Vec<u8>,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Content {
    /// One of the API's error shapes (or its text/empty rendering), drawn from parts.
    Error(Parts),
    /// Bytes as given: proxy pages, garbage, successes.
    Raw {
        content_type: Option<String>,
        bytes: Vec<u8>,
    },
}

/// Everything an error fixture was told; the shape picks what is shown.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    shape: Shape,
    code: Option<ErrorCode>,
    message: Option<String>,
    details: Option<Value>,
    field: Option<String>,
    /// Other members of a detail object.
    extra: Map<String, Value>,
    /// An explicit validation list; when empty, one issue is made from message and field.
    issues: Vec<ValidationIssue>,
    request_id: Option<String>,
}

impl Parts {
    fn new(shape: Shape, code: Option<ErrorCode>, message: Option<String>) -> Parts {
        Parts {
            shape,
            code,
            message,
            details: None,
            field: None,
            extra: Map::new(),
            issues: Vec::new(),
            request_id: None,
        }
    }

    fn from_model(body: ErrorBody) -> Parts {
        let shape = body.shape();
        match body {
            ErrorBody::Envelope(e) => Parts {
                details: e.details,
                request_id: e.request_id,
                ..Parts::new(shape, e.code, e.message)
            },
            ErrorBody::DetailString(message) => Parts::new(shape, None, Some(message)),
            ErrorBody::DetailObject(d) => Parts {
                field: d.field,
                extra: d.extra,
                ..Parts::new(shape, d.code, d.message)
            },
            ErrorBody::DetailList(issues) => Parts {
                issues,
                ..Parts::new(shape, None, None)
            },
            ErrorBody::Text(text) => Parts::new(shape, None, Some(text.excerpt)),
            _ => Parts::new(Shape::Empty, None, None),
        }
    }

    fn model(&self) -> Option<ErrorBody> {
        let message = self.message.clone().unwrap_or_default();
        Some(match self.shape {
            Shape::Envelope => {
                let mut envelope = Envelope::default();
                envelope.code = self.code.clone();
                envelope.message = self.message.clone();
                envelope.details = self.details.clone();
                envelope.request_id = self.request_id.clone();
                ErrorBody::Envelope(envelope)
            }
            Shape::DetailString => ErrorBody::DetailString(message),
            Shape::DetailObject => {
                let mut detail = DetailObject::default();
                detail.code = self.code.clone();
                detail.message = self.message.clone();
                detail.field = self.field.clone();
                detail.extra = self.extra.clone();
                ErrorBody::DetailObject(detail)
            }
            Shape::DetailList if self.issues.is_empty() => {
                let field = self.field.as_deref().unwrap_or("body");
                ErrorBody::DetailList(vec![ValidationIssue::new(
                    [LocSegment::from("query"), LocSegment::from(field)],
                    message,
                    "value_error",
                )])
            }
            Shape::DetailList => ErrorBody::DetailList(self.issues.clone()),
            _ => return None,
        })
    }
}

impl Fixture {
    fn from_content(status: u16, content: Content) -> Fixture {
        let mut fixture = Fixture {
            status,
            content,
            extra_headers: Vec::new(),
            delay: None,
            model: None,
            body: Vec::new(),
            content_type: None,
            headers: Vec::new(),
        };
        fixture.render();
        fixture
    }

    /// A response with `status` and no body.
    pub fn empty(status: u16) -> Fixture {
        Fixture::from_content(
            status,
            Content::Raw {
                content_type: None,
                bytes: Vec::new(),
            },
        )
    }

    /// A response with `body` sent as is, with a `Content-Type`.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Fixture {
        Fixture::from_content(
            status,
            Content::Raw {
                content_type: Some(content_type.to_owned()),
                bytes: body.into(),
            },
        )
    }

    /// A response with `value` as its JSON body (a success, or any JSON the API never sends).
    pub fn json(status: u16, value: &Value) -> Fixture {
        Fixture::raw(status, "application/json", value.to_string())
    }

    /// An error body built with errors-core's model, for anything the constructors in
    /// [`fixtures`](crate::fixtures) do not say (several validation issues, extra members).
    pub fn api(status: u16, body: ErrorBody) -> Fixture {
        Fixture::from_content(status, Content::Error(Parts::from_model(body)))
    }

    /// A documented code in `shape`, with the API reference's defaults: the status is
    /// [`ErrorCode::typical_status`] (400 for a code without one), the message the reference's
    /// wording, `details` `{}`, a `field` for the codes that name one, and a request id
    /// `req-<code>` (in the envelope's body, else in `X-Request-ID`).
    ///
    /// [`Shape::DetailString`] carries the message only, [`Shape::DetailList`] one FastAPI
    /// validation issue, [`Shape::Text`] the message as plain text, [`Shape::Empty`] nothing.
    pub fn for_code(code: ErrorCode, shape: Shape) -> Fixture {
        let status = code.typical_status().unwrap_or(400);
        let message = match code {
            // The API reference's own example of this error.
            ErrorCode::RateLimitError => "Rate limit exceeded: 100 calls per 60 seconds",
            _ => code.description().unwrap_or("Error"),
        };
        let field = match code {
            ErrorCode::ValidationError => Some("limit"),
            ErrorCode::Http413 | ErrorCode::ImageProcessingError => Some("file"),
            _ => None,
        };
        let request_id = format!(
            "req-{}",
            code.as_str().to_ascii_lowercase().replace('_', "-")
        );
        let parts = Parts {
            details: Some(Value::Object(Map::new())),
            field: field.map(str::to_owned),
            request_id: Some(request_id),
            ..Parts::new(shape, Some(code), Some(message.to_owned()))
        };
        Fixture::from_content(status, Content::Error(parts))
    }

    /// A documented status with no application code, in `shape`: the message is what the API
    /// reference says the status means (the reason phrase for a status it does not list).
    pub fn for_status(status: u16, shape: Shape) -> Fixture {
        let message = StatusInfo::lookup(status).map_or_else(
            || errors_core::status::reason_phrase(status),
            |info| info.meaning,
        );
        let parts = Parts::new(shape, None, Some(message.to_owned()));
        Fixture::from_content(status, Content::Error(parts))
    }

    /// Renders body, model, content type and headers from the parts.
    fn render(&mut self) {
        let mut id_header = None;
        match &self.content {
            Content::Error(parts) => {
                self.model = parts.model();
                match (&self.model, parts.shape) {
                    (Some(model), _) => {
                        // The model is built here from valid parts: serializing cannot fail.
                        self.body = model.to_json().unwrap_or_default();
                        self.content_type = Some("application/json".to_owned());
                    }
                    (None, Shape::Empty) => {
                        self.body = Vec::new();
                        self.content_type = None;
                    }
                    (None, _) => {
                        let text = parts.message.clone().unwrap_or_default();
                        self.body = ErrorBody::Text(text_body(text))
                            .to_json()
                            .unwrap_or_default();
                        self.content_type = Some("text/plain; charset=utf-8".to_owned());
                    }
                }
                if parts.shape != Shape::Envelope {
                    id_header = parts.request_id.clone();
                }
            }
            Content::Raw {
                content_type,
                bytes,
            } => {
                self.model = None;
                self.body = bytes.clone();
                self.content_type = content_type.clone();
            }
        }
        self.headers.clear();
        let caller_sets_id = self
            .extra_headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(REQUEST_ID_HEADER));
        if let (Some(id), false) = (id_header, caller_sets_id) {
            self.headers.push((REQUEST_ID_HEADER.to_owned(), id));
        }
        self.headers.extend(self.extra_headers.iter().cloned());
    }

    fn edit(mut self, change: impl FnOnce(&mut Content, &mut Vec<(String, String)>)) -> Fixture {
        change(&mut self.content, &mut self.extra_headers);
        self.render();
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The shape the body has: the error's, [`Shape::Text`] for other bytes, [`Shape::Empty`]
    /// for none.
    pub fn shape(&self) -> Shape {
        match &self.content {
            Content::Error(parts) => parts.shape,
            Content::Raw { bytes, .. } if bytes.is_empty() => Shape::Empty,
            Content::Raw { .. } => Shape::Text,
        }
    }

    /// The application code, when the fixture is an error that has one (whatever its shape).
    pub fn code(&self) -> Option<&ErrorCode> {
        match &self.content {
            Content::Error(parts) => parts.code.as_ref(),
            Content::Raw { .. } => None,
        }
    }

    /// The request id the response carries, in its body or in `X-Request-ID`; what a client
    /// that parses it should report.
    pub fn request_id_sent(&self) -> Option<&str> {
        match (&self.model, self.header_value(REQUEST_ID_HEADER)) {
            (Some(ErrorBody::Envelope(e)), header) => e.request_id.as_deref().or(header),
            (_, header) => header,
        }
    }

    /// The body bytes, as they will be sent.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The `Content-Type` sent with the body, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The headers, in the order they will be sent (`Content-Type` aside).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of header `name` (any case).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The error body model, for a fixture in one of the API's JSON shapes.
    pub fn model(&self) -> Option<&ErrorBody> {
        self.model.as_ref()
    }

    /// The delay before the response is sent.
    pub fn delay(&self) -> Option<Duration> {
        self.delay
    }

    /// The same error in another shape, keeping everything it was told (see the table on
    /// [`Fixture`]). A fixture that is not an error becomes one with the status's documented
    /// meaning as its message.
    pub fn with_shape(self, shape: Shape) -> Fixture {
        let status = self.status;
        self.edit(|content, _| match content {
            Content::Error(parts) => parts.shape = shape,
            Content::Raw { .. } => {
                let Content::Error(parts) = Fixture::for_status(status, shape).content else {
                    unreachable!("for_status makes an error fixture")
                };
                *content = Content::Error(parts);
            }
        })
    }

    /// Replaces the status (for a code the API sends with another status than usual).
    pub fn with_status(mut self, status: u16) -> Fixture {
        self.status = status;
        self
    }

    /// Replaces the message: `error.message`, `detail.message`, the detail string, the first
    /// validation issue's `msg`, or a text fixture's whole body.
    pub fn with_message(self, message: impl Into<String>) -> Fixture {
        let message = message.into();
        self.edit(|content, _| match content {
            Content::Error(parts) => {
                if let Some(first) = parts.issues.first_mut() {
                    first.msg.clone_from(&message);
                }
                parts.message = Some(message);
            }
            Content::Raw { bytes, .. } => *bytes = message.into_bytes(),
        })
    }

    /// Replaces the envelope's `error.details` (any JSON).
    pub fn with_details(self, details: Value) -> Fixture {
        self.edit(|content, _| {
            if let Content::Error(parts) = content {
                parts.details = Some(details);
            }
        })
    }

    /// Replaces the parameter at fault: a detail object's `field`, or the first validation
    /// issue's location (`["query", field]`, keeping the issue's own first segment).
    pub fn with_field(self, field: impl Into<String>) -> Fixture {
        let field = field.into();
        self.edit(|content, _| {
            if let Content::Error(parts) = content {
                if let Some(first) = parts.issues.first_mut() {
                    let place = match first.loc.first() {
                        Some(LocSegment::Name(place)) => place.clone(),
                        _ => "query".to_owned(),
                    };
                    first.loc = vec![LocSegment::Name(place), LocSegment::from(field.as_str())];
                }
                parts.field = Some(field);
            }
        })
    }

    /// Sets the request id where the API puts it: the envelope's `request_id`, else an
    /// `X-Request-ID` header (for shapes whose body has no place for it).
    pub fn with_request_id(self, id: impl Into<String>) -> Fixture {
        let id = id.into();
        self.edit(|content, headers| match content {
            Content::Error(parts) => parts.request_id = Some(id),
            Content::Raw { .. } => set_header(headers, REQUEST_ID_HEADER, id),
        })
    }

    /// Sends `X-Request-ID: <id>` whatever the shape (alongside an envelope's own
    /// `request_id`, to test which one a client prefers).
    pub fn with_request_id_header(self, id: impl Into<String>) -> Fixture {
        let id = id.into();
        self.edit(|_, headers| set_header(headers, REQUEST_ID_HEADER, id))
    }

    /// Leaves the request id out of both the body and the headers.
    pub fn without_request_id(self) -> Fixture {
        self.edit(|content, headers| {
            if let Content::Error(parts) = content {
                parts.request_id = None;
            }
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case(REQUEST_ID_HEADER));
        })
    }

    /// `Retry-After: <secs>` (delta-seconds), replacing any earlier `Retry-After`.
    pub fn with_retry_after_secs(self, secs: u64) -> Fixture {
        self.edit(|_, headers| set_header(headers, "retry-after", secs.to_string()))
    }

    /// `Retry-After: <HTTP-date>` (IMF-fixdate), replacing any earlier `Retry-After`.
    pub fn with_retry_after_date(self, at: SystemTime) -> Fixture {
        self.edit(|_, headers| set_header(headers, "retry-after", httpdate::fmt_http_date(at)))
    }

    /// Adds a header (sent as is, even if it repeats one already set).
    pub fn with_header(self, name: impl Into<String>, value: impl Into<String>) -> Fixture {
        let (name, value) = (name.into(), value.into());
        self.edit(|_, headers| headers.push((name, value)))
    }

    /// Waits this long before answering: a server that hangs past a client's timeout.
    pub fn with_delay(mut self, delay: Duration) -> Fixture {
        self.delay = Some(delay);
        self
    }

    /// The wiremock response.
    ///
    /// # Panics
    ///
    /// If a header set with [`with_header`](Fixture::with_header) is not a valid HTTP header.
    pub fn to_template(&self) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.status);
        match &self.content_type {
            Some(content_type) => template = template.set_body_raw(self.body.clone(), content_type),
            None if !self.body.is_empty() => template = template.set_body_bytes(self.body.clone()),
            None => {}
        }
        for (name, value) in &self.headers {
            template = template.append_header(name.as_str(), value.as_str());
        }
        if let Some(delay) = self.delay {
            template = template.set_delay(delay);
        }
        template
    }
}

/// FastAPI's answer for an unknown route: what the mock servers send when nothing mounted
/// matches.
pub(crate) fn fastapi_not_found() -> Fixture {
    Fixture::api(404, ErrorBody::DetailString("Not Found".into()))
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value));
}

fn text_body(text: String) -> TextBody {
    let mut body = TextBody::default();
    body.excerpt = text;
    body
}

impl From<Fixture> for ResponseTemplate {
    fn from(fixture: Fixture) -> Self {
        fixture.to_template()
    }
}

impl From<&Fixture> for ResponseTemplate {
    fn from(fixture: &Fixture) -> Self {
        fixture.to_template()
    }
}

/// A fixture answers every request the same way.
impl Respond for Fixture {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        self.to_template()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_renders_in_every_shape_and_reads_back() {
        for code in ErrorCode::documented() {
            for shape in [
                Shape::Envelope,
                Shape::DetailObject,
                Shape::DetailString,
                Shape::DetailList,
            ] {
                let fixture = Fixture::for_code(code.clone(), shape);
                assert_eq!(fixture.shape(), shape);
                assert_eq!(Some(fixture.status()), code.typical_status());
                let model = ErrorBody::from_json(fixture.body()).unwrap();
                assert_eq!(Some(&model), fixture.model(), "{code} {shape}");
                assert_eq!(model.shape(), shape);
            }
        }
    }

    #[test]
    fn overrides_survive_a_change_of_shape() {
        let fixture = Fixture::for_code(ErrorCode::ValidationError, Shape::DetailString)
            .with_message("Name is required")
            .with_field("name")
            .with_details(serde_json::json!({"max": 3}))
            .with_request_id("req-1");
        assert_eq!(fixture.body(), br#"{"detail":"Name is required"}"#);
        assert_eq!(fixture.request_id_sent(), Some("req-1"));

        let envelope = fixture.clone().with_shape(Shape::Envelope);
        assert_eq!(
            String::from_utf8_lossy(envelope.body()),
            r#"{"error":{"code":"VALIDATION_ERROR","message":"Name is required","details":{"max":3}},"request_id":"req-1"}"#
        );
        assert_eq!(envelope.header_value("x-request-id"), None);

        let list = fixture.with_shape(Shape::DetailList);
        let Some(ErrorBody::DetailList(issues)) = list.model() else {
            panic!("{list:?}")
        };
        assert_eq!(issues[0].field(), "name");
        assert_eq!(issues[0].msg, "Name is required");
    }

    #[test]
    fn text_and_empty_renderings_and_request_id_headers() {
        let text = Fixture::for_code(ErrorCode::Timeout, Shape::Text);
        assert_eq!(text.body(), b"Operation timed out");
        assert_eq!(text.content_type(), Some("text/plain; charset=utf-8"));
        assert_eq!(text.header_value("x-request-id"), Some("req-timeout"));
        let empty = Fixture::for_code(ErrorCode::Timeout, Shape::Empty).without_request_id();
        assert!(empty.body().is_empty() && empty.headers().is_empty());

        let both = Fixture::for_code(ErrorCode::RateLimitError, Shape::Envelope)
            .with_request_id("body-id")
            .with_request_id_header("header-id");
        assert_eq!(both.request_id_sent(), Some("body-id"));
        assert_eq!(both.header_value("x-request-id"), Some("header-id"));
    }

    #[test]
    fn retry_after_is_replaced_not_repeated() {
        let fixture = Fixture::empty(429)
            .with_retry_after_secs(1)
            .with_retry_after_date(SystemTime::UNIX_EPOCH);
        assert_eq!(
            fixture.headers(),
            [(
                "retry-after".to_owned(),
                "Thu, 01 Jan 1970 00:00:00 GMT".to_owned()
            )]
        );
    }
}

//! [`Fixture`]: one response the mock API sends, built from errors-core's wire model.

use std::time::{Duration, SystemTime};

use errors_core::{
    DetailObject, Envelope, ErrorBody, ErrorCode, LocSegment, Shape, ValidationIssue,
};
use wiremock::ResponseTemplate;

/// A response the mock API sends: status, headers, body and an optional delay.
///
/// Error bodies are rendered from `errors_core`'s wire model, so a fixture says exactly what
/// the API says. Builders override the documented defaults:
///
/// ```
/// use errors_testkit::fixtures;
///
/// let fixture = fixtures::rate_limited().retry_after_secs(1).request_id("req-42");
/// assert_eq!(fixture.status(), 429);
/// assert!(String::from_utf8_lossy(fixture.body()).contains("req-42"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    status: u16,
    model: Option<ErrorBody>,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    headers: Vec<(String, String)>,
    delay: Option<Duration>,
}

impl Fixture {
    /// A response with `status` and no body.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body bytes as they will be sent.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The headers, in the order they will be sent.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The error body model, for fixtures in one of the API's JSON shapes.
    pub fn model(&self) -> Option<&ErrorBody> {
        self.model.as_ref()
    }

    /// The delay before the response is sent.
    pub fn delay(&self) -> Option<Duration> {
        self.delay
    }

    /// An empty response with `status`.
    pub fn empty(status: u16) -> Fixture {
        Fixture {
            status,
            model: None,
            body: Vec::new(),
            content_type: None,
            headers: Vec::new(),
            delay: None,
        }
    }

    /// A response with a raw body and content type.
    pub fn raw(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Fixture {
        Fixture {
            content_type: Some(content_type),
            body: body.into(),
            ..Fixture::empty(status)
        }
    }

    /// A JSON success (or any status) with `value` as the body.
    pub fn json(status: u16, value: &serde_json::Value) -> Fixture {
        Fixture::raw(status, "application/json", value.to_string())
    }

    /// An error in one of the API's shapes, rendered from the model.
    pub fn api(status: u16, body: ErrorBody) -> Fixture {
        let mut fixture = Fixture::empty(status);
        fixture.set_model(body);
        fixture
    }

    /// A documented code in `shape`, with the documented status and wording. For
    /// [`Shape::DetailString`] the body carries the message only; for [`Shape::DetailList`]
    /// a FastAPI validation issue. Text and empty shapes are not the API's: they give the
    /// proxy-style fixtures of the same status.
    pub fn code(code: ErrorCode, shape: Shape) -> Fixture {
        let status = code.typical_status().unwrap_or(400);
        let message = code.description().unwrap_or("Error").to_owned();
        let field = if code == ErrorCode::ValidationError {
            "limit"
        } else {
            "file"
        };
        let request_id = format!(
            "req-{}",
            code.as_str().to_ascii_lowercase().replace('_', "-")
        );
        match shape {
            Shape::Envelope => Fixture::api(
                status,
                ErrorBody::Envelope(
                    Envelope::new(code, message)
                        .with_details(serde_json::json!({}))
                        .with_request_id(request_id),
                ),
            ),
            Shape::DetailString => Fixture::api(status, ErrorBody::DetailString(message)),
            Shape::DetailObject => Fixture::api(
                status,
                ErrorBody::DetailObject(DetailObject::new(code, message).with_field(field)),
            )
            .header("x-request-id", request_id),
            Shape::DetailList => Fixture::api(
                status,
                ErrorBody::DetailList(vec![ValidationIssue::new(
                    [LocSegment::from("query"), LocSegment::from(field)],
                    message,
                    "value_error",
                )]),
            ),
            Shape::Empty => Fixture::empty(status),
            _ => Fixture::raw(status, "text/plain", message),
        }
    }

    fn set_model(&mut self, body: ErrorBody) {
        self.body = body.to_json().unwrap_or_default();
        self.content_type = Some("application/json");
        self.model = Some(body);
    }

    /// Replaces the message (envelope or detail object `message`, or the detail string).
    pub fn message(mut self, message: impl Into<String>) -> Fixture {
        let message = message.into();
        match self.model.take() {
            Some(ErrorBody::Envelope(mut e)) => {
                e.message = Some(message);
                self.set_model(ErrorBody::Envelope(e));
            }
            Some(ErrorBody::DetailObject(mut d)) => {
                d.message = Some(message);
                self.set_model(ErrorBody::DetailObject(d));
            }
            Some(ErrorBody::DetailString(_)) => self.set_model(ErrorBody::DetailString(message)),
            Some(other) => self.set_model(other),
            None => self.body = message.into_bytes(),
        }
        self
    }

    /// Replaces the envelope's `details`.
    pub fn details(mut self, details: serde_json::Value) -> Fixture {
        if let Some(ErrorBody::Envelope(mut e)) = self.model.take() {
            e.details = Some(details);
            self.set_model(ErrorBody::Envelope(e));
        }
        self
    }

    /// Replaces the detail object's `field`.
    pub fn field(mut self, field: impl Into<String>) -> Fixture {
        if let Some(ErrorBody::DetailObject(mut d)) = self.model.take() {
            d.field = Some(field.into());
            self.set_model(ErrorBody::DetailObject(d));
        }
        self
    }

    /// Sets the request id: in the envelope's body when the fixture is one, and always as an
    /// `X-Request-ID` header.
    pub fn request_id(mut self, id: impl Into<String>) -> Fixture {
        let id = id.into();
        if let Some(ErrorBody::Envelope(mut e)) = self.model.take() {
            e.request_id = Some(id.clone());
            self.set_model(ErrorBody::Envelope(e));
        }
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("x-request-id"));
        self.header("x-request-id", id)
    }

    /// `Retry-After: <secs>`.
    pub fn retry_after_secs(self, secs: u64) -> Fixture {
        self.header("retry-after", secs.to_string())
    }

    /// `Retry-After: <HTTP-date>`.
    pub fn retry_after_date(self, at: SystemTime) -> Fixture {
        self.header("retry-after", httpdate::fmt_http_date(at))
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Fixture {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Waits this long before answering (a server that hangs past a client's timeout).
    pub fn delay_by(mut self, delay: Duration) -> Fixture {
        self.delay = Some(delay);
        self
    }

    /// The wiremock response.
    pub fn to_template(&self) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.status);
        if let Some(content_type) = self.content_type {
            template = template.set_body_raw(self.body.clone(), content_type);
        } else if !self.body.is_empty() {
            template = template.set_body_bytes(self.body.clone());
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

impl From<Fixture> for ResponseTemplate {
    fn from(fixture: Fixture) -> Self {
        fixture.to_template()
    }
}

//! [`FakeApi`]: the API answered in process, for tests on tokio's paused clock.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use http::Extensions;
use http_body_util::BodyExt as _;
use reqwest::ResponseBuilderExt as _;
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};
use tokio::time::Instant;
use wiremock::Match;
use wiremock::matchers::{any, path};

use crate::fixture::fastapi_not_found;
use crate::script::StepKind;
use crate::{Fixture, Journal, Script};

/// The base URL [`FakeApi::uri`] returns: an address nothing can listen on, so a client that
/// bypasses the fake fails at once, locally, instead of reaching some other server.
const FAKE_URI: &str = "http://127.0.0.1:0";

/// The API answered in process, without a socket: a [`reqwest_middleware::Middleware`] that
/// answers every request from the [`Fixture`]s and [`Script`]s mounted on it and records it in
/// a [`Journal`], as [`MockApi`](crate::MockApi) does over the network.
///
/// Use it for tests on tokio's paused clock (`#[tokio::test(start_paused = true)]` or
/// [`tokio::time::pause`]): nothing but the code under test moves time, so a client that
/// waits out `Retry-After: 60` finishes at once, the journal's gaps are the virtual time the
/// client waited, and a [`fixtures::hang`](crate::fixtures::hang) lasts exactly its delay. A real
/// socket does not mix with a paused clock: when the runtime has nothing to run, tokio jumps
/// the clock to the next timer even while a response is on its way, so a client's timeout can
/// fire before a real server's answer arrives.
///
/// Put it **last** in the client's middleware stack (it answers instead of sending), after
/// the middleware under test, or take [`client`](FakeApi::client) when there is none. Mounts
/// work as on [`MockApi`](crate::MockApi): a path or a matcher wins over a catch-all mount;
/// among mounts of the same kind the first one that matches wins; unmatched requests get
/// FastAPI's 404 `{"detail":"Not Found"}`. Clones share mounts and journal.
///
/// The journal holds the request as the middleware stack hands it over: what your code and
/// the middleware before the fake set (method, URL, body, `Authorization`, `Content-Type`),
/// but not what `reqwest::Client` would add itself on the wire (`Host`, `Accept`, its
/// default headers). A body is read whole, streamed ones included.
///
/// [`tokio::time::pause`]: https://docs.rs/tokio/1/tokio/time/fn.pause.html
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use errors_testkit::{FakeApi, Script, fixtures};
///
/// // Arrange: rate limited for a minute, then served.
/// let api = FakeApi::new();
/// api.mount_at(
///     "/v1/images/1",
///     Script::new()
///         .then(fixtures::rate_limited().with_retry_after_secs(60))
///         .then(fixtures::ok_json(&serde_json::json!({"id": 1}))),
/// );
///
/// // Act: code that waits out the Retry-After (yours would be your client).
/// let client = api.client();
/// let url = format!("{}/v1/images/1", api.uri());
/// let first = client.get(&url).send().await.unwrap();
/// let wait = first.headers()["retry-after"].to_str().unwrap().parse().unwrap();
/// tokio::time::sleep(Duration::from_secs(wait)).await; // virtual: returns at once
/// let second = client.get(&url).send().await.unwrap();
///
/// // Assert
/// assert_eq!(first.status(), 429);
/// assert_eq!(second.status(), 200);
/// api.journal().assert_gap_at_least(1, Duration::from_secs(60));
/// # }
/// ```
#[derive(Clone, Default)]
pub struct FakeApi {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    mounts: Mutex<Vec<Mount>>,
    journal: Journal,
}

struct Mount {
    matcher: Box<dyn Match>,
    priority: u8,
    script: Script,
}

/// Priorities (lower wins), as on `MockApi`: specific mounts, then catch-all ones.
const GIVEN_PRIORITY: u8 = 1;
const ANY_PRIORITY: u8 = 5;

impl fmt::Debug for FakeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeApi")
            .field("mounts", &self.mounts().len())
            .field("journal", &self.inner.journal)
            .finish()
    }
}

impl FakeApi {
    /// A fake with nothing mounted: it answers 404 `{"detail":"Not Found"}`.
    pub fn new() -> FakeApi {
        FakeApi::default()
    }

    /// A base URL for requests, `http://127.0.0.1:0`. The fake answers whatever the URL;
    /// this one only makes sure that a request which does not go through the fake goes
    /// nowhere (nothing listens on port 0).
    pub fn uri(&self) -> String {
        FAKE_URI.to_owned()
    }

    /// What the fake received. Arrival times are read from tokio's clock.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// A client whose only middleware is this fake: for code under test that takes a
    /// [`ClientWithMiddleware`] and has no middleware of its own to put in front.
    pub fn client(&self) -> ClientWithMiddleware {
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(self.clone())
            .build()
    }

    /// Answers every request with `response`: a [`Fixture`] (every time) or a [`Script`]
    /// (step by step).
    ///
    /// # Panics
    ///
    /// If a step of the script is a wiremock `ResponseTemplate` rather than a [`Fixture`]:
    /// wiremock does not expose a template's contents, so the fake could not send it.
    #[track_caller]
    pub fn mount(&self, response: impl Into<Script>) {
        self.mount_with(Box::new(any()), ANY_PRIORITY, response.into());
    }

    /// Answers requests to `path` (exactly, e.g. `/v1/images`) with `response`; other paths
    /// fall through to catch-all mounts.
    ///
    /// # Panics
    ///
    /// As [`mount`](FakeApi::mount).
    #[track_caller]
    pub fn mount_at(&self, at: &str, response: impl Into<Script>) {
        self.mount_with(Box::new(path(at)), GIVEN_PRIORITY, response.into());
    }

    /// Answers requests that `matcher` accepts (any wiremock matcher, e.g. `method("POST")`)
    /// with `response`.
    ///
    /// # Panics
    ///
    /// As [`mount`](FakeApi::mount).
    #[track_caller]
    pub fn mount_given(&self, matcher: impl Match + 'static, response: impl Into<Script>) {
        self.mount_with(Box::new(matcher), GIVEN_PRIORITY, response.into());
    }

    /// Answers every request with the steps of `script` (same as [`mount`](FakeApi::mount)).
    ///
    /// # Panics
    ///
    /// As [`mount`](FakeApi::mount).
    #[track_caller]
    pub fn mount_script(&self, script: Script) {
        self.mount(script);
    }

    #[track_caller]
    fn mount_with(&self, matcher: Box<dyn Match>, priority: u8, script: Script) {
        let template = script
            .steps()
            .iter()
            .position(|step| matches!(step.kind(), StepKind::Template(_)));
        if let Some(index) = template {
            panic!(
                "FakeApi cannot send step {index} of this script: it is a wiremock \
                 ResponseTemplate, whose contents wiremock does not expose; use a Fixture \
                 (e.g. Fixture::raw, Fixture::json, Fixture::empty) or mount it on a MockApi"
            );
        }
        self.mounts().push(Mount {
            matcher,
            priority,
            script,
        });
    }

    fn mounts(&self) -> MutexGuard<'_, Vec<Mount>> {
        // A panicking test thread must not hide the mounts from the next request.
        self.inner.mounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fixture that answers `request`, counting it as served.
    fn answer(&self, request: &wiremock::Request) -> Fixture {
        let mounts = self.mounts();
        let mut matching: Vec<&Mount> = mounts
            .iter()
            .filter(|m| m.matcher.matches(request))
            .collect();
        // Stable: among equal priorities, the first mounted wins.
        matching.sort_by_key(|m| m.priority);
        let Some(mount) = matching.first() else {
            return fastapi_not_found();
        };
        match mount.script.next_step().map(|step| step.kind()) {
            Some(StepKind::Fixture(fixture)) => Fixture::clone(fixture),
            // Refused when mounted.
            Some(StepKind::Template(_)) => Fixture::empty(500),
            // An empty script is a test bug, made loud as on MockApi.
            None => Fixture::empty(500),
        }
    }
}

#[async_trait::async_trait]
impl Middleware for FakeApi {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        _: &mut Extensions,
        _: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let body = match request.body_mut().take() {
            None => Vec::new(),
            Some(body) => match body.as_bytes() {
                Some(bytes) => bytes.to_vec(),
                None => body.collect().await?.to_bytes().to_vec(),
            },
        };
        let received = wiremock::Request {
            url: request.url().clone(),
            method: request.method().clone(),
            headers: request.headers().clone(),
            body,
        };
        // Arrival first, as on MockApi: a fixture's delay comes after it.
        self.inner.journal.record(&received, Instant::now());
        let fixture = self.answer(&received);
        if let Some(delay) = fixture.delay() {
            tokio::time::sleep(delay).await;
        }
        Ok(to_response(&fixture, request.url().clone()))
    }
}

/// The fixture as a reqwest response to a request for `url`.
///
/// # Panics
///
/// If a header set with [`Fixture::with_header`] is not a valid HTTP header (as
/// [`Fixture::to_template`] does).
fn to_response(fixture: &Fixture, url: reqwest::Url) -> reqwest::Response {
    let mut builder = http::Response::builder().status(fixture.status()).url(url);
    if let Some(content_type) = fixture.content_type() {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    for (name, value) in fixture.headers() {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder
        .body(fixture.body().to_vec())
        .unwrap_or_else(|e| panic!("the fixture is not a valid HTTP response: {e}"));
    reqwest::Response::from(response)
}

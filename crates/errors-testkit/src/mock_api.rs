//! [`MockApi`] and [`BlockingMockApi`]: a local stand-in for the API on 127.0.0.1.

use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::{Journal, Script};

/// A wiremock server on a random 127.0.0.1 port that records every request in a
/// [`Journal`]. Shut down when dropped; one per test (servers are not shared).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use errors_testkit::{MockApi, fixtures};
///
/// let api = MockApi::start().await;
/// api.mount(fixtures::not_found()).await;
/// let response = reqwest::get(format!("{}/rules/9", api.uri())).await.unwrap();
/// assert_eq!(response.status(), 404);
/// api.journal().assert_attempts(1);
/// # }
/// ```
#[derive(Debug)]
pub struct MockApi {
    server: MockServer,
    journal: Journal,
}

/// Records the request, then answers with the wrapped responder.
struct Recording<R> {
    inner: R,
    journal: Journal,
}

impl<R: Respond> Respond for Recording<R> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.journal.record(request);
        self.inner.respond(request)
    }
}

/// Priorities: path-specific mounts win over catch-all ones, which win over the fallback.
const PATH_PRIORITY: u8 = 1;
const ANY_PRIORITY: u8 = 5;
const FALLBACK_PRIORITY: u8 = 255;

impl MockApi {
    /// Starts a server. Until something is mounted it answers 404 `{"detail":"Not Found"}`
    /// (FastAPI's own answer), and records the request all the same.
    pub async fn start() -> MockApi {
        let api = MockApi {
            server: MockServer::start().await,
            journal: Journal::default(),
        };
        let fallback = ResponseTemplate::new(404)
            .set_body_raw(r#"{"detail":"Not Found"}"#, "application/json");
        api.mount_with(any(), FALLBACK_PRIORITY, fallback).await;
        api
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The wiremock server, for matchers and expectations beyond this kit's.
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// What the server received.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Answers every request with `response` (a [`Fixture`](crate::Fixture), a
    /// [`Script`], or any wiremock responder).
    pub async fn mount(&self, response: impl Respond + 'static) {
        self.mount_with(any(), ANY_PRIORITY, response).await;
    }

    /// Answers requests to `path` with `response`; other paths fall through to catch-all
    /// mounts. Mount several scripts on several paths for per-path outages.
    pub async fn mount_at(&self, at: &str, response: impl Respond + 'static) {
        self.mount_with(path(at), PATH_PRIORITY, response).await;
    }

    /// Answers every request with the steps of `script`, in order.
    pub async fn mount_script(&self, script: Script) {
        self.mount(script).await;
    }

    async fn mount_with(
        &self,
        matcher: impl wiremock::Match + 'static,
        priority: u8,
        response: impl Respond + 'static,
    ) {
        Mock::given(matcher)
            .respond_with(Recording {
                inner: response,
                journal: self.journal.clone(),
            })
            .with_priority(priority)
            .mount(&self.server)
            .await;
    }
}

impl Respond for crate::Fixture {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        self.to_template()
    }
}

/// A [`MockApi`] for plain synchronous tests: the server runs on its own runtime thread,
/// so a script's tests need no `#[tokio::test]`.
///
/// ```
/// use errors_testkit::{BlockingMockApi, fixtures};
///
/// let api = BlockingMockApi::start();
/// api.mount(fixtures::usage_limit_exceeded());
/// // ... run the code under test against api.uri() ...
/// assert!(api.uri().starts_with("http://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct BlockingMockApi {
    api: Option<MockApi>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BlockingMockApi {
    /// Starts a server on its own runtime.
    ///
    /// # Panics
    ///
    /// If the runtime cannot start (no threads left), which a test cannot recover from.
    pub fn start() -> BlockingMockApi {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("errors-testkit-mock")
            .enable_all()
            .build()
            .expect("start the mock API's runtime");
        let api = runtime.block_on(MockApi::start());
        BlockingMockApi {
            api: Some(api),
            runtime: Some(runtime),
        }
    }

    fn parts(&self) -> (&MockApi, &tokio::runtime::Runtime) {
        match (&self.api, &self.runtime) {
            (Some(api), Some(runtime)) => (api, runtime),
            _ => unreachable!("only Drop takes the parts"),
        }
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.parts().0.uri()
    }

    /// What the server received.
    pub fn journal(&self) -> &Journal {
        self.parts().0.journal()
    }

    /// See [`MockApi::mount`].
    pub fn mount(&self, response: impl Respond + 'static) {
        let (api, runtime) = self.parts();
        runtime.block_on(api.mount(response));
    }

    /// See [`MockApi::mount_at`].
    pub fn mount_at(&self, at: &str, response: impl Respond + 'static) {
        let (api, runtime) = self.parts();
        runtime.block_on(api.mount_at(at, response));
    }

    /// See [`MockApi::mount_script`].
    pub fn mount_script(&self, script: Script) {
        self.mount(script);
    }
}

impl Drop for BlockingMockApi {
    fn drop(&mut self) {
        // Drop the server on its runtime, then stop the runtime without blocking: dropping
        // inside an async context or during a panic must not panic again.
        if let (Some(api), Some(runtime)) = (self.api.take(), self.runtime.take()) {
            if std::thread::panicking() || tokio::runtime::Handle::try_current().is_ok() {
                drop(api);
            } else {
                runtime.block_on(async move { drop(api) });
            }
            runtime.shutdown_background();
        }
    }
}

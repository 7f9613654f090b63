//! [`MockApi`] and [`BlockingMockApi`]: a local stand-in for the API on 127.0.0.1.

use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::time::Instant;
use wiremock::matchers::{any, path};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::fixture::fastapi_not_found;
use crate::{Journal, Script};

/// A wiremock server of its own on a random 127.0.0.1 port, recording every request in a
/// [`Journal`]. One per test (never shared); it shuts down when dropped.
///
/// Until something is mounted it answers 404 `{"detail":"Not Found"}`, FastAPI's answer for
/// an unknown route. Mounts on a path ([`mount_at`](MockApi::mount_at),
/// [`mount_given`](MockApi::mount_given)) win over catch-all ones ([`mount`](MockApi::mount));
/// between mounts of the same kind, the first one mounted that matches wins (to change
/// answers over time, mount a [`Script`]).
///
/// Its [`Journal`] reads the clock of the runtime that started it (your test's), although
/// wiremock answers on a thread of its own. Use it on the wall clock: real sockets and tokio's
/// paused clock do not mix reliably (a paused runtime waiting on a socket jumps its clock to
/// the next timer, so a client's timeout can fire before the answer arrives). For timing on
/// a paused clock, use [`FakeApi`](crate::FakeApi).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use errors_testkit::{MockApi, fixtures};
///
/// // Arrange
/// let api = MockApi::start().await;
/// api.mount_at("/rules/9", fixtures::not_found()).await;
///
/// // Act
/// let response = reqwest::get(format!("{}/rules/9", api.uri())).await.unwrap();
///
/// // Assert
/// assert_eq!(response.status(), 404);
/// api.journal().assert_received_once("GET", "/rules/9");
/// # }
/// ```
#[derive(Debug)]
pub struct MockApi {
    server: MockServer,
    journal: Journal,
    /// The runtime that started the server: its clock times the journal.
    clock: Handle,
}

/// Records the request, then answers with the wrapped responder.
struct Recording<R> {
    inner: R,
    journal: Journal,
    clock: Handle,
}

impl<R: Respond> Respond for Recording<R> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        // The arrival time is taken here, before the inner responder (and any delay) runs.
        // wiremock answers on a thread and runtime of its own; entering the test's runtime
        // reads the test's clock instead, paused or not.
        let at = {
            let _test_runtime = self.clock.enter();
            Instant::now()
        };
        self.journal.record(request, at);
        self.inner.respond(request)
    }
}

/// Priorities (lower wins): specific mounts, then catch-all ones, then the fallback.
const GIVEN_PRIORITY: u8 = 1;
const ANY_PRIORITY: u8 = 5;
const FALLBACK_PRIORITY: u8 = u8::MAX;

impl MockApi {
    /// Starts a server on `127.0.0.1:0` (a fresh port, not one from wiremock's pool).
    ///
    /// # Panics
    ///
    /// If no port can be bound on 127.0.0.1, which a test cannot recover from.
    pub async fn start() -> MockApi {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the mock API to 127.0.0.1");
        let api = MockApi {
            server: MockServer::builder().listener(listener).start().await,
            journal: Journal::default(),
            clock: Handle::current(),
        };
        api.mount_with(any(), FALLBACK_PRIORITY, fastapi_not_found())
            .await;
        api
    }

    /// The base URL, `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The wiremock server, for matchers and expectations beyond this kit's. Mocks mounted
    /// on it directly are not recorded in the [`journal`](MockApi::journal).
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// What the server received.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Answers every request with `response`: a [`Fixture`](crate::Fixture), a [`Script`], or any wiremock
    /// responder.
    pub async fn mount(&self, response: impl Respond + 'static) {
        self.mount_with(any(), ANY_PRIORITY, response).await;
    }

    /// Answers requests to `path` (exactly, e.g. `/v1/images`) with `response`; other paths
    /// fall through to catch-all mounts. A script per path gives per-path outages.
    pub async fn mount_at(&self, at: &str, response: impl Respond + 'static) {
        self.mount_with(path(at), GIVEN_PRIORITY, response).await;
    }

    /// Answers requests that `matcher` accepts (any wiremock matcher, e.g.
    /// `method("POST")`) with `response`.
    pub async fn mount_given(
        &self,
        matcher: impl Match + 'static,
        response: impl Respond + 'static,
    ) {
        self.mount_with(matcher, GIVEN_PRIORITY, response).await;
    }

    /// Answers every request with the steps of `script`, in order (same as
    /// [`mount`](MockApi::mount)).
    pub async fn mount_script(&self, script: Script) {
        self.mount(script).await;
    }

    async fn mount_with(
        &self,
        matcher: impl Match + 'static,
        priority: u8,
        response: impl Respond + 'static,
    ) {
        Mock::given(matcher)
            .respond_with(Recording {
                inner: response,
                journal: self.journal.clone(),
                clock: self.clock.clone(),
            })
            .with_priority(priority)
            .mount(&self.server)
            .await;
    }
}

/// A [`MockApi`] for plain synchronous tests: no `#[tokio::test]`, no runtime in sight.
///
/// It owns a thread running a tokio runtime, where the server lives; its methods are
/// synchronous and work from any thread, even one inside another runtime. Dropping it stops
/// that thread and waits for it (for at most a few seconds); a failure there (an unmet
/// wiremock expectation) is raised in the dropping thread, unless that thread is already
/// panicking.
///
/// **Wall-clock time.** Its [`Journal`] reads the clock of that runtime thread, which is never
/// paused: gaps are real time, and code that honours `Retry-After: 60` really takes a minute.
/// Keep the waits short here (`with_retry_after_secs(1)`, small backoffs), or test the timing of
/// the async code with [`FakeApi`](crate::FakeApi) on a paused clock.
///
/// ```
/// # fn get(url: &str) -> u16 {
/// #     use std::io::{Read, Write};
/// #     let (address, path) = url.trim_start_matches("http://").split_once('/').unwrap();
/// #     let mut stream = std::net::TcpStream::connect(address).unwrap();
/// #     write!(stream, "GET /{path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
/// #     let mut response = String::new();
/// #     stream.read_to_string(&mut response).unwrap();
/// #     response[9..12].parse().unwrap()
/// # }
/// use errors_testkit::{BlockingMockApi, Script, fixtures};
///
/// // Arrange
/// let api = BlockingMockApi::start();
/// api.mount_at(
///     "/v1/usage",
///     Script::fail_then_succeed(1, fixtures::empty_unavailable(), fixtures::no_content()),
/// );
///
/// // Act: your synchronous code (here two plain GETs).
/// let first = get(&format!("{}/v1/usage", api.uri()));
/// let second = get(&format!("{}/v1/usage", api.uri()));
///
/// // Assert
/// assert_eq!((first, second), (503, 204));
/// api.journal().assert_received("GET", "/v1/usage", 2);
/// ```
#[derive(Debug)]
pub struct BlockingMockApi {
    api: Option<Arc<MockApi>>,
    runtime: tokio::runtime::Handle,
    uri: String,
    journal: Journal,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Closed by the runtime thread when it has finished, so Drop can wait with a bound.
    finished: mpsc::Receiver<()>,
}

/// How long Drop waits for the runtime thread before leaving it behind.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

impl BlockingMockApi {
    /// Starts a server on its own runtime thread.
    ///
    /// # Panics
    ///
    /// If the thread or its runtime cannot start, or no port can be bound on 127.0.0.1.
    pub fn start() -> BlockingMockApi {
        let (started_tx, started_rx) = mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let (finished_tx, finished_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("errors-testkit-mock-api".into())
            .spawn(move || {
                let _finished = finished_tx; // dropped last, whatever happens
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("start the mock API's runtime");
                runtime.block_on(async move {
                    let api = Arc::new(MockApi::start().await);
                    let handle = tokio::runtime::Handle::current();
                    if started_tx.send((Arc::clone(&api), handle)).is_err() {
                        return;
                    }
                    // Serve mount requests until told to stop (or the owner is gone).
                    let _ = shutdown_rx.await;
                    // The last reference: the server shuts down and verifies here.
                    drop(api);
                });
            })
            .expect("spawn the mock API's thread");
        let Ok((api, runtime)) = started_rx.recv() else {
            let panic = thread.join().err();
            match panic {
                Some(panic) => std::panic::resume_unwind(panic),
                None => panic!("the mock API's thread stopped before the server started"),
            }
        };
        BlockingMockApi {
            uri: api.uri(),
            journal: api.journal().clone(),
            api: Some(api),
            runtime,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            finished: finished_rx,
        }
    }

    /// The base URL, `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// What the server received.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Runs `task` with the async [`MockApi`] on the server's runtime and waits for its
    /// result: the way to anything this type does not wrap, e.g.
    /// `api.run(|api| async move { api.server().received_requests().await })`.
    ///
    /// # Panics
    ///
    /// If `task` panics.
    pub fn run<F, T>(&self, task: impl FnOnce(Arc<MockApi>) -> F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let api = Arc::clone(self.api.as_ref().expect("only Drop takes the server"));
        let (tx, rx) = mpsc::channel();
        let future = task(api);
        self.runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .expect("the task run on the mock API's runtime panicked")
    }

    /// See [`MockApi::mount`].
    pub fn mount(&self, response: impl Respond + 'static) {
        self.run(|api| async move { api.mount(response).await });
    }

    /// See [`MockApi::mount_at`].
    pub fn mount_at(&self, at: &str, response: impl Respond + 'static) {
        let at = at.to_owned();
        self.run(|api| async move { api.mount_at(&at, response).await });
    }

    /// See [`MockApi::mount_given`].
    pub fn mount_given(&self, matcher: impl Match + 'static, response: impl Respond + 'static) {
        self.run(|api| async move { api.mount_given(matcher, response).await });
    }

    /// See [`MockApi::mount_script`].
    pub fn mount_script(&self, script: Script) {
        self.mount(script);
    }
}

impl Drop for BlockingMockApi {
    fn drop(&mut self) {
        // Give up our reference, then let the runtime thread drop the server and end.
        self.api = None;
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        // Wait, boundedly, for the thread to finish: a stuck server must not hang the test.
        if self.finished.recv_timeout(SHUTDOWN_WAIT) == Err(mpsc::RecvTimeoutError::Timeout) {
            return;
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        if let Err(panic) = thread.join() {
            // Raise the server's failure here, but never panic twice.
            if !std::thread::panicking() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

//! [`ApiClient`]: blocking calls over the async stack, driven by one runtime thread.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use errors_core::RetryPolicy;
use errors_core::clock::Clock;
use errors_core::ratelimit::Partitioning;
use errors_core::retry::{ClientRetryState, RetryBudget};
use errors_http::{ApiResponse, Error, JsonResponse};
use http::{HeaderMap, Method};
use reqwest_middleware::RequestBuilder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::runtime::RuntimeFlavor;
use tokio::sync::{oneshot, watch};

/// A synchronous client for the API. Cheap to clone; clones share the runtime thread, the
/// connection pool, the retry budget and the rate-limit window. Its `Debug` output never
/// shows the API key.
///
/// Like `reqwest::blocking`, it runs one background thread with a tokio runtime that keeps
/// driving the connection pool between calls (its I/O, its timers, the connections' tasks).
/// A call runs its request on the calling thread, in that runtime's context, and returns
/// with the whole answer (body included, read within the policy's limits). So one client
/// can be shared by many threads, whose calls proceed in parallel, and used from
/// `tokio::task::spawn_blocking` or from a worker of a multi-thread tokio runtime (it steps
/// aside with `tokio::task::block_in_place` while it waits).
///
/// If that thread is gone (a panic in a driver, or a `fork()` after the client was built:
/// the child has no such thread), every call, in flight or new, fails at once with
/// [`ErrorKind::RuntimeStopped`] instead of waiting for I/O and timers nothing drives any
/// more; build a new client.
///
/// It refuses, with [`ErrorKind::BlockingInAsync`], only where waiting could deadlock: on a
/// thread of a *current-thread* tokio runtime (that runtime, and whatever it serves, would
/// stand still while it waits; tokio does not tell its `spawn_blocking` threads apart from
/// it, so those are refused too), and on the client's own runtime thread. Use
/// [`errors_http::ApiClient`] there.
///
/// ```
/// use errors_blocking::{ApiClient, RetryPolicy};
///
/// # fn main() -> Result<(), errors_blocking::Error> {
/// let client = ApiClient::builder()
///     .base_url("http://127.0.0.1:9/v1")
///     .policy(RetryPolicy::default().with_max_retries(0))
///     .build()?;
/// let workers: Vec<_> = (0..4)
///     .map(|_| {
///         let client = client.clone(); // shares the pool and the runtime thread
///         std::thread::spawn(move || client.get_json::<serde_json::Value>("status").is_ok())
///     })
///     .collect();
/// for worker in workers {
///     let _ = worker.join();
/// }
/// # Ok(()) }
/// ```
///
/// [`ErrorKind::BlockingInAsync`]: errors_http::ErrorKind::BlockingInAsync
/// [`ErrorKind::RuntimeStopped`]: errors_http::ErrorKind::RuntimeStopped
#[derive(Clone)]
pub struct ApiClient {
    api: errors_http::ApiClient,
    runtime: Arc<RuntimeThread>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// The runtime that drives every call and keeps the connection pool alive between calls: a
/// current-thread tokio runtime on a thread of its own (as `reqwest::blocking` does). Calls
/// are spawned onto it from any thread. When the last client goes, the thread is told to
/// stop and joined (unless that happens on the thread itself).
struct RuntimeThread {
    handle: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Closed when the runtime thread ends, however it ends (its sender lives on that
    /// thread's stack and is dropped when it returns or unwinds): a call in flight then
    /// fails at once instead of waiting for I/O and timers nothing drives any more.
    alive: watch::Receiver<()>,
    /// The process that started the thread: after `fork()` the child has no such thread.
    pid: u32,
}

thread_local! {
    /// Set on the clients' runtime threads, where a blocking call would deadlock.
    static ON_CLIENT_RUNTIME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl RuntimeThread {
    fn start() -> Result<RuntimeThread, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::invalid_request(format!("cannot start the client's runtime: {e}"))
            })?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let (lives, alive) = watch::channel(());
        let thread = thread::Builder::new()
            .name("errors-blocking-runtime".into())
            .spawn(move || {
                // Dropped before the runtime (a local drops before the closure's captures),
                // so a call woken by the runtime's shutdown already sees the thread gone.
                let _lives = lives;
                ON_CLIENT_RUNTIME.with(|on| on.set(true));
                // Keeps a timer due within a second armed. A call's deadline is registered
                // with this runtime's timer from the calling thread; when it is the earliest
                // timer, tokio must wake this thread to re-arm its sleep, one extra wake-up
                // per call that cost half the throughput with 8 threads (BENCHMARKS.md).
                runtime.spawn(async {
                    loop {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                });
                // Drives the calls' I/O and timers and the pool's connections until told to
                // stop.
                let _ = runtime.block_on(stopped);
                runtime.shutdown_background();
            })
            .map_err(|e| {
                Error::invalid_request(format!("cannot start the client's runtime thread: {e}"))
            })?;
        Ok(RuntimeThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
            alive,
            pid: std::process::id(),
        })
    }
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

impl ApiClient {
    /// A builder; see [`ApiClientBuilder`].
    pub fn builder() -> ApiClientBuilder {
        ApiClientBuilder {
            api: errors_http::ApiClient::builder(),
        }
    }

    /// A request to `path` (joined under the base URL) or to an absolute `http(s)://` URL;
    /// the API key is added only for the base URL's origin. Add headers, a JSON or raw body,
    /// or [`SafeToRepeat`](errors_http::SafeToRepeat), then pass it to [`ApiClient::send`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.api.request(method, path)
    }

    /// Sends a request, retrying as the policy says, and reads the whole success body
    /// within the same limits (see [`errors_http::ApiClient::send`]).
    pub fn send(&self, request: RequestBuilder) -> Result<ApiResponse, Error> {
        self.run(self.api.send(request))
    }

    /// Sends a request and decodes the success body as JSON into `T`.
    pub fn send_json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        self.send(request)?.json()
    }

    /// `GET path`, decoded as JSON.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send_json(self.request(Method::GET, path))
    }

    /// `GET path`, decoded as JSON, with the response's status, headers, request id and
    /// attempts.
    pub fn get_json_response<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<JsonResponse<T>, Error> {
        self.send_json_response(self.request(Method::GET, path))
    }

    /// Sends a request and decodes the success body as JSON, with the response's status,
    /// headers, request id and attempts.
    pub fn send_json_response<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<JsonResponse<T>, Error> {
        self.send(request)?.into_json()
    }

    /// `POST path` with `body` as JSON, the answer decoded as JSON.
    pub fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        self.send_json(self.request(Method::POST, path).json(body))
    }

    /// The async client underneath, sharing this client's pool and retry state. Its
    /// connections are driven by this client's runtime thread, so use it (and its clones)
    /// while this client lives: once the last blocking clone is dropped, that thread stops.
    pub fn async_client(&self) -> &errors_http::ApiClient {
        &self.api
    }

    /// Runs `work` to completion on the calling thread, in the context of the client's
    /// runtime: its I/O and timers are driven by the runtime thread (which also runs the
    /// pool's connection tasks), so callers on many threads make progress in parallel.
    fn run<T>(&self, work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        let step_aside = self.check_context()?;
        let runtime = &*self.runtime;
        if runtime.pid != std::process::id() || runtime.alive.has_changed().is_err() {
            return Err(Error::runtime_stopped());
        }
        let handle = &runtime.handle;
        // The call's future is several kilobytes (the retry loop, the attempt and reqwest's
        // state); `block_on` moves it through a few frames before pinning it. One allocation
        // is cheaper than those copies: 2-4% more calls per second (BENCHMARKS.md).
        let mut work = Box::pin(work);
        let mut alive = runtime.alive.clone();
        let mut stopped = std::pin::pin!(alive.changed());
        // The thread's end is looked at first: once it is gone, the call's own timers and
        // I/O must not be polled (tokio fails them, or they never wake).
        let work = std::future::poll_fn(move |cx| {
            if stopped.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Error::runtime_stopped()));
            }
            work.as_mut().poll(cx)
        });
        if step_aside {
            tokio::task::block_in_place(|| handle.block_on(work))
        } else {
            handle.block_on(work)
        }
    }

    /// Whether the calling thread may wait: `Ok(true)` on a multi-thread tokio runtime (wait
    /// inside `block_in_place`), `Ok(false)` outside tokio, an error where it could deadlock.
    fn check_context(&self) -> Result<bool, Error> {
        if ON_CLIENT_RUNTIME.with(|on| on.get()) {
            return Err(Error::blocking_in_async());
        }
        match tokio::runtime::Handle::try_current() {
            Err(_) => Ok(false),
            Ok(handle) => match handle.runtime_flavor() {
                RuntimeFlavor::MultiThread => Ok(true),
                _ => Err(Error::blocking_in_async()),
            },
        }
    }
}

/// Settings for a blocking [`ApiClient`]: exactly the async [`errors_http::ApiClientBuilder`]'s,
/// under the same names (a test in the workspace fails if one is missing). Start from an
/// existing async builder with `ApiClientBuilder::from`.
///
/// ```
/// use std::time::Duration;
/// use errors_blocking::{ApiClient, RetryPolicy};
///
/// # fn main() -> Result<(), errors_blocking::Error> {
/// let client = ApiClient::builder()
///     .base_url("https://api.example.com/v1")
///     .api_key("sk-test") // sent to https://api.example.com only
///     .policy(RetryPolicy::default().with_deadline(Duration::from_secs(30)))
///     .user_agent("nightly-export/1.0")
///     .response_body_limit(64 << 20) // a larger success body is an error, not buffered
///     .build()?;
/// assert!(!format!("{client:?}").contains("sk-test"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ApiClientBuilder {
    api: errors_http::ApiClientBuilder,
}

impl From<errors_http::ApiClientBuilder> for ApiClientBuilder {
    fn from(api: errors_http::ApiClientBuilder) -> Self {
        ApiClientBuilder { api }
    }
}

impl ApiClientBuilder {
    /// The API key, marked sensitive, sent only to the base URL's origin (see
    /// [`errors_http::ApiClientBuilder::api_key`]).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api = self.api.api_key(key);
        self
    }

    /// The header that carries the key, and the scheme before it (`None` for a bare key).
    /// Whatever its name, it never goes to another origin, redirects included.
    pub fn auth_header(mut self, name: impl Into<String>, scheme: Option<&str>) -> Self {
        self.api = self.api.auth_header(name, scheme);
        self
    }

    /// The URL relative paths are joined to; its origin is the only one the key goes to.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.api = self.api.base_url(url);
        self
    }

    /// The retry policy.
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.api = self.api.policy(policy);
        self
    }

    /// The retry budget (`None` for none).
    pub fn budget(mut self, budget: Option<RetryBudget>) -> Self {
        self.api = self.api.budget(budget);
        self
    }

    /// Shares retry state with other clients.
    pub fn retry_state(mut self, state: ClientRetryState) -> Self {
        self.api = self.api.retry_state(state);
        self
    }

    /// How requests share rate-limit state: per route by default, or one partition for the
    /// whole client when the API limits the key across all routes (see
    /// [`errors_http::ApiClientBuilder::partition_by`]).
    ///
    /// ```
    /// use errors_blocking::{ApiClient, Partitioning};
    ///
    /// let client = ApiClient::builder()
    ///     .base_url("https://api.example.com/v1/")
    ///     .partition_by(Partitioning::whole_client())
    ///     .build()
    ///     .unwrap();
    /// assert!(client.async_client().retry_state().partitioning().is_whole_client());
    /// ```
    pub fn partition_by(mut self, partitioning: Partitioning) -> Self {
        self.api = self.api.partition_by(partitioning);
        self
    }

    /// Shares the rate-limit state with the other processes on the same store and API key;
    /// see [`errors_http::ApiClientBuilder::rate_limit_store`].
    pub fn rate_limit_store(mut self, store: impl errors_http::RateLimitStore) -> Self {
        self.api = self.api.rate_limit_store(store);
        self
    }

    /// The total time for one call (default 120 s); see
    /// [`errors_http::ApiClientBuilder::deadline`].
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.api = self.api.deadline(deadline);
        self
    }

    /// No total deadline; see [`errors_http::ApiClientBuilder::no_deadline`].
    pub fn no_deadline(mut self) -> Self {
        self.api = self.api.no_deadline();
        self
    }

    /// The time limit for each attempt, body included (default 60 s); see
    /// [`errors_http::ApiClientBuilder::attempt_timeout`].
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.api = self.api.attempt_timeout(timeout);
        self
    }

    /// No time limit per attempt; see
    /// [`errors_http::ApiClientBuilder::no_attempt_timeout`].
    pub fn no_attempt_timeout(mut self) -> Self {
        self.api = self.api.no_attempt_timeout();
        self
    }

    /// The longest server-requested wait slept through (default 60 s); see
    /// [`errors_http::ApiClientBuilder::max_wait`].
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.api = self.api.max_wait(wait);
        self
    }

    /// The time limit for opening a connection; see
    /// [`errors_http::ApiClientBuilder::connect_timeout`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.api = self.api.connect_timeout(timeout);
        self
    }

    /// The wall clock for `Retry-After` dates.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.api = self.api.clock(clock);
        self
    }

    /// Reproducible jitter, for tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.api = self.api.jitter_seed(seed);
        self
    }

    /// How much of an error body is read (default 64 KiB).
    pub fn error_body_limit(mut self, limit: usize) -> Self {
        self.api = self.api.error_body_limit(limit);
        self
    }

    /// The largest success body read (default: no limit); see
    /// [`errors_http::ApiClientBuilder::response_body_limit`].
    pub fn response_body_limit(mut self, limit: usize) -> Self {
        self.api = self.api.response_body_limit(limit);
        self
    }

    /// The level of retry and rate-limit hold events (default DEBUG; a call that fails after
    /// retrying or on a limit is WARN whatever this says); see
    /// [`errors_http::ApiClientBuilder::log_level`].
    pub fn log_level(mut self, level: tracing::Level) -> Self {
        self.api = self.api.log_level(level);
        self
    }

    /// Trusts the certificate authorities in `pem` in addition to the system's; see
    /// [`errors_http::ApiClientBuilder::add_root_certificates_pem`].
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.api = self.api.add_root_certificates_pem(pem);
        self
    }

    /// The `User-Agent` header (default `errors-http/<version>`).
    pub fn user_agent(mut self, value: impl Into<String>) -> Self {
        self.api = self.api.user_agent(value);
        self
    }

    /// Headers added to every request that does not set them itself.
    pub fn default_headers(mut self, headers: HeaderMap) -> Self {
        self.api = self.api.default_headers(headers);
        self
    }

    /// Uses this `reqwest::Client` (an async one: it is driven by the client's runtime
    /// thread); see [`errors_http::ApiClientBuilder::with_client`].
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.api = self.api.with_client(client);
        self
    }

    /// Builds the `reqwest::Client` (an async one) from this builder, with the client's
    /// redirect policy; see [`errors_http::ApiClientBuilder::with_client_builder`].
    pub fn with_client_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.api = self.api.with_client_builder(builder);
        self
    }

    /// Adds a middleware below the retry middleware, nearest the network; see
    /// [`errors_http::ApiClientBuilder::with_middleware`].
    pub fn with_middleware(mut self, middleware: impl reqwest_middleware::Middleware) -> Self {
        self.api = self.api.with_middleware(middleware);
        self
    }

    /// The client, with its runtime thread started.
    pub fn build(self) -> Result<ApiClient, Error> {
        let api = self.api.build()?;
        let runtime = RuntimeThread::start()?;
        Ok(ApiClient {
            api,
            runtime: Arc::new(runtime),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A waker that panics when woken: registered with the runtime's timer, it makes the
    /// runtime thread's driver panic when the timer fires, as a bug in a driver would.
    struct PanicOnWake;

    impl std::task::Wake for PanicOnWake {
        fn wake(self: Arc<Self>) {
            panic!("a driver on the runtime thread panicked (test)");
        }
    }

    #[test]
    fn a_call_fails_at_once_when_the_runtime_thread_dies() {
        // A server that accepts and never answers: the call waits on I/O the runtime drives.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = ApiClient::builder()
            .base_url(format!("http://{}/", silent.local_addr().unwrap()))
            .build()
            .unwrap();
        let caller = client.clone();
        let (done, outcome) = std::sync::mpsc::channel();
        let started = std::time::Instant::now();
        std::thread::spawn(move || {
            let _ = done.send(caller.get_json::<serde_json::Value>("stalls"));
        });
        // The runtime's timer wakes a panicking waker 50 ms from now, on the runtime thread.
        let mut bomb = {
            let _in_runtime = client.runtime.handle.enter();
            Box::pin(tokio::time::sleep(Duration::from_millis(50)))
        };
        let waker = std::task::Waker::from(Arc::new(PanicOnWake));
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(bomb.as_mut().poll(&mut cx).is_pending());

        // Without the fix the call hangs for good (no driver fires its deadline either).
        let result = outcome
            .recv_timeout(Duration::from_secs(20))
            .expect("the call returned once the runtime thread died");
        let err = result.unwrap_err();
        assert!(
            matches!(err.kind(), errors_http::ErrorKind::RuntimeStopped),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
        // A call after the thread died fails at once too, without touching the runtime.
        let err = client.get_json::<serde_json::Value>("x").unwrap_err();
        assert!(
            matches!(err.kind(), errors_http::ErrorKind::RuntimeStopped),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("runtime thread has stopped"),
            "{err}"
        );
        drop(bomb);
    }

    #[test]
    fn on_its_own_runtime_thread_it_refuses_instead_of_deadlocking() {
        let client = ApiClient::builder()
            .base_url("http://127.0.0.1:9/")
            .build()
            .unwrap();
        let inner = client.clone();
        // Runs on the runtime thread, which would have to drive the call it waits for.
        let task = client
            .runtime
            .handle
            .spawn(async move { inner.get_json::<serde_json::Value>("x") });
        let result = client.runtime.handle.block_on(task).unwrap();
        let err = result.unwrap_err();
        assert!(
            matches!(err.kind(), errors_http::ErrorKind::BlockingInAsync),
            "{err:?}"
        );
    }
}

//! [`Client`]: blocking calls over the async stack.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use errors_core::{ClientRetryState, Clock, RetryBudget, RetryPolicy};
use errors_http::{ApiClient, ApiClientBuilder, ApiResponse, Error};
use http::Method;
use reqwest_middleware::RequestBuilder;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A synchronous client for the API. Cheap to clone; clones share the runtime, the
/// connection pool, the retry budget and the rate-limit window. Its `Debug` output never
/// shows the API key.
///
/// Calling it from inside an async runtime returns [`ErrorKind::BlockingInAsync`]
/// (`errors_http::ErrorKind`) instead of panicking or blocking a worker: use
/// [`errors_http::ApiClient`] there.
///
/// [`ErrorKind::BlockingInAsync`]: errors_http::ErrorKind::BlockingInAsync
#[derive(Clone)]
pub struct Client {
    api: ApiClient,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// The private runtime. Shut down in the background when dropped, so dropping a client
/// inside an async context does not panic.
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            api: ApiClient::builder(),
        }
    }

    /// A request to `path` (joined to the base URL) or to an absolute URL, with the API key.
    /// Add headers, a JSON or raw body, or [`SafeToRepeat`](errors_http::SafeToRepeat), then
    /// pass it to [`Client::send`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.api.request(method, path)
    }

    /// Sends a request, retrying as the policy says, and reads the whole success body.
    pub fn send(&self, request: RequestBuilder) -> Result<ApiResponse, Error> {
        self.block_on(self.api.send(request))
    }

    /// Sends a request and decodes the success body as JSON into `T`.
    pub fn send_json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        self.send(request)?.json()
    }

    /// `GET path`, decoded as JSON.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send_json(self.request(Method::GET, path))
    }

    /// `POST path` with `body` as JSON, the answer decoded as JSON.
    pub fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        self.send_json(self.request(Method::POST, path).json(body))
    }

    /// The async client underneath, sharing this client's pool and retry state.
    pub fn async_client(&self) -> &ApiClient {
        &self.api
    }

    fn block_on<T>(&self, work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::blocking_in_async());
        }
        match &self.runtime.0 {
            Some(runtime) => runtime.block_on(work),
            None => Err(Error::invalid_request("the client's runtime has shut down")),
        }
    }
}

/// Settings for a blocking [`Client`]: the same as [`ApiClientBuilder`]'s.
#[derive(Debug)]
pub struct ClientBuilder {
    api: ApiClientBuilder,
}

impl ClientBuilder {
    /// The API key, sent as `Authorization: Bearer <key>` (see [`ClientBuilder::auth_header`])
    /// and marked sensitive.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api = self.api.api_key(key);
        self
    }

    /// The header that carries the key, and the scheme before it (`None` for a bare key).
    pub fn auth_header(mut self, name: impl Into<String>, scheme: Option<&str>) -> Self {
        self.api = self.api.auth_header(name, scheme);
        self
    }

    /// The URL relative paths are joined to.
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

    /// The HTTP client's timeout for each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.api = self.api.timeout(timeout);
        self
    }

    /// The HTTP client's connect timeout.
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
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.api = self.api.body_limit(limit);
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::invalid_request(format!("cannot start the client's runtime: {e}"))
            })?;
        // reqwest's client must be built where its runtime will drive it.
        let _guard = runtime.enter();
        let api = self.api.build()?;
        drop(_guard);
        Ok(Client {
            api,
            runtime: Arc::new(Runtime(Some(runtime))),
        })
    }
}

//! [`ApiClient`]: the front door: base URL, API key, retry middleware, typed results.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use errors_core::{AttemptRecord, ClientRetryState, Clock, RetryBudget, RetryPolicy};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::attempts::Attempts;
use crate::error::{Error, ErrorKind};
use crate::middleware::RetryMiddleware;
use crate::response::ResponseExt as _;

/// An async client for the API: requests go through [`RetryMiddleware`], carry the API key,
/// and come back as an [`ApiResponse`] or a typed [`Error`].
///
/// Cheap to clone; clones share the connection pool, the retry budget and the rate-limit
/// window. Its `Debug` output never shows the API key.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use errors_core::RetryPolicy;
/// use errors_http::ApiClient;
///
/// let client = ApiClient::builder()
///     .base_url("http://127.0.0.1:8080/v1/")
///     .api_key("sk-test")
///     .policy(RetryPolicy::default().with_max_retries(2))
///     .build()?;
/// assert!(!format!("{client:?}").contains("sk-test"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    http: ClientWithMiddleware,
    middleware: RetryMiddleware,
    base_url: Option<reqwest::Url>,
    auth: Option<(HeaderName, HeaderValue)>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field(
                "base_url",
                &self.inner.base_url.as_ref().map(|u| u.as_str()),
            )
            .field(
                "auth_header",
                &self.inner.auth.as_ref().map(|(name, _)| name),
            )
            .field("policy", self.inner.middleware.policy())
            .finish_non_exhaustive()
    }
}

/// A successful response, read in full: status, headers, body and the attempts behind it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Every attempt made, the last one being this response.
    pub attempts: Vec<AttemptRecord>,
}

impl ApiResponse {
    /// The body decoded as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::with_history(ErrorKind::Decode(e), self.attempts.clone(), None))
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl ApiClient {
    /// A builder with the defaults: [`RetryPolicy::default`], a default [`RetryBudget`], the
    /// API key (if any) sent as `Authorization: Bearer <key>`.
    pub fn builder() -> ApiClientBuilder {
        ApiClientBuilder::default()
    }

    /// A request to `path` (joined to the base URL) or to an absolute URL, with the API key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let url = self.url(path);
        let mut builder = self.inner.http.request(method, url.as_str());
        if let Some((name, value)) = &self.inner.auth {
            builder = builder.header(name.clone(), value.clone());
        }
        builder
    }

    fn url(&self, path: &str) -> String {
        if let Ok(absolute) = reqwest::Url::parse(path) {
            return absolute.into();
        }
        match &self.inner.base_url {
            Some(base) => base
                .join(path.trim_start_matches('/'))
                .map(String::from)
                .unwrap_or_else(|_| path.to_owned()),
            None => path.to_owned(),
        }
    }

    /// Sends a request built with [`ApiClient::request`] and reads the whole success body.
    pub async fn send(&self, request: RequestBuilder) -> Result<ApiResponse, Error> {
        let response = request.send().await.map_err(Error::from_middleware)?;
        let mut response = response.error_for_api_status().await?;
        let attempts = response
            .extensions_mut()
            .remove::<Attempts>()
            .map(|a| a.records)
            .unwrap_or_default();
        let status = response.status();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(body) => Ok(ApiResponse {
                status,
                headers,
                body,
                attempts,
            }),
            Err(e) => Err(Error::with_history(
                ErrorKind::Transport(e.into()),
                attempts,
                None,
            )),
        }
    }

    /// Sends a request and decodes the success body as JSON into `T`.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, Error> {
        self.send(request).await?.json()
    }

    /// `GET path`, decoded as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send_json(self.request(Method::GET, path)).await
    }

    /// `POST path` with `body` as JSON, the answer decoded as JSON. Not retried after an
    /// unknown outcome (500, timeout) unless you mark it: see [`SafeToRepeat`](crate::SafeToRepeat).
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        self.send_json(self.request(Method::POST, path).json(body))
            .await
    }

    /// The retry state shared by this client's requests (budget, rate-limit window).
    pub fn retry_state(&self) -> &ClientRetryState {
        self.inner.middleware.state()
    }

    /// How long this client's requests will still hold off because the server asked one of
    /// them to wait (`429` + `Retry-After`); zero when the window is open.
    pub fn rate_limited_for(&self) -> Duration {
        self.inner.middleware.rate_limited_for()
    }

    /// The underlying middleware client, for requests this type has no helper for.
    pub fn http(&self) -> &ClientWithMiddleware {
        &self.inner.http
    }
}

/// Settings for an [`ApiClient`]. Its `Debug` output never shows the API key.
#[derive(Default)]
pub struct ApiClientBuilder {
    api_key: Option<String>,
    auth_header: Option<(String, Option<String>)>,
    base_url: Option<String>,
    policy: RetryPolicy,
    budget: Option<Option<RetryBudget>>,
    state: Option<ClientRetryState>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    clock: Option<Arc<dyn Clock>>,
    jitter_seed: Option<u64>,
    body_limit: Option<usize>,
    log_level: Option<tracing::Level>,
    client: Option<reqwest::Client>,
}

impl fmt::Debug for ApiClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ApiClientBuilder {
    /// The API key, sent with every request and marked sensitive.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The header that carries the key, and the scheme before it (default
    /// `Authorization` with `Bearer`; e.g. `("X-API-Key", None)` for a bare key).
    pub fn auth_header(mut self, name: impl Into<String>, scheme: Option<&str>) -> Self {
        self.auth_header = Some((name.into(), scheme.map(str::to_owned)));
        self
    }

    /// The URL relative paths are joined to (a trailing `/` is added if missing).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The retry policy.
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The retry budget shared by this client's requests (`None` for none).
    pub fn budget(mut self, budget: Option<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Shares retry state (budget, rate-limit window) with another client.
    pub fn retry_state(mut self, state: ClientRetryState) -> Self {
        self.state = Some(state);
        self
    }

    /// reqwest's own timeout for each attempt (see also the policy's attempt timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// reqwest's connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The wall clock for `Retry-After` dates.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Reproducible jitter, for tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// How much of an error body is read (default 64 KiB).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = Some(limit);
        self
    }

    /// The level of retry and failure events (default WARN).
    pub fn log_level(mut self, level: tracing::Level) -> Self {
        self.log_level = Some(level);
        self
    }

    /// Uses this reqwest client (its pool, TLS and timeouts) instead of building one;
    /// `timeout` and `connect_timeout` are then ignored.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The client, or [`ErrorKind::InvalidRequest`] for a bad base URL or API key.
    pub fn build(self) -> Result<ApiClient, Error> {
        let base_url = match self.base_url {
            Some(url) => {
                let with_slash = if url.ends_with('/') {
                    url
                } else {
                    format!("{url}/")
                };
                Some(
                    reqwest::Url::parse(&with_slash)
                        .map_err(|e| Error::invalid_request(format!("invalid base url: {e}")))?,
                )
            }
            None => None,
        };
        let auth = match self.api_key {
            Some(key) => {
                let (name, scheme) = self
                    .auth_header
                    .unwrap_or_else(|| ("authorization".to_owned(), Some("Bearer".to_owned())));
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    Error::invalid_request(format!("invalid auth header name {name:?}"))
                })?;
                let text = match scheme {
                    Some(scheme) => format!("{scheme} {key}"),
                    None => key,
                };
                // The key's text must not end up in the error message.
                let mut value = HeaderValue::from_str(&text).map_err(|_| {
                    Error::invalid_request(
                        "the api key contains characters not allowed in a header",
                    )
                })?;
                value.set_sensitive(true);
                Some((name, value))
            }
            None => None,
        };
        let client = match self.client {
            Some(client) => client,
            None => {
                let mut builder = reqwest::Client::builder();
                if let Some(t) = self.timeout {
                    builder = builder.timeout(t);
                }
                if let Some(t) = self.connect_timeout {
                    builder = builder.connect_timeout(t);
                }
                builder.build().map_err(|e| {
                    Error::invalid_request(format!("cannot build the http client: {e}"))
                })?
            }
        };
        let state = self.state.unwrap_or_else(|| match self.budget {
            Some(None) => ClientRetryState::without_budget(),
            Some(Some(budget)) => ClientRetryState::with_budget(budget),
            None => ClientRetryState::with_budget(RetryBudget::default()),
        });
        let mut middleware = RetryMiddleware::builder(self.policy).state(state);
        if let Some(clock) = self.clock {
            middleware = middleware.clock(clock);
        }
        if let Some(seed) = self.jitter_seed {
            middleware = middleware.jitter_seed(seed);
        }
        if let Some(limit) = self.body_limit {
            middleware = middleware.body_limit(limit);
        }
        if let Some(level) = self.log_level {
            middleware = middleware.log_level(level);
        }
        let middleware = middleware.build();
        let http = reqwest_middleware::ClientBuilder::new(client)
            .with(middleware.clone())
            .build();
        Ok(ApiClient {
            inner: Arc::new(ClientInner {
                http,
                middleware,
                base_url,
                auth,
            }),
        })
    }
}

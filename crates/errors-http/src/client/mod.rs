//! [`ApiClient`]: the front door: base URL, API key, retry middleware, typed results.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use errors_core::{AttemptRecord, ClientRetryState, Clock, Partitioning, RetryBudget, RetryPolicy};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::attempts::Attempts;
use crate::downstream::Layered;
use crate::error::{Error, ErrorKind};
use crate::layer::{ClientLayer, ReadWholeBody, WholeBody};
use crate::middleware::RetryMiddleware;
use crate::options::RequestOptions;
use crate::origin::same_origin;
use crate::response::ResponseExt as _;

/// An async client for the API: requests go through [`RetryMiddleware`], carry the API key,
/// and come back as an [`ApiResponse`] or a typed [`Error`].
///
/// Cheap to clone; clones share the connection pool, the retry budget and the rate-limit
/// windows and pacers (one per partition: by default per route, see
/// [`ApiClientBuilder::partition_by`]). Its `Debug` output never shows the API key.
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
    /// The layer below the retry middleware, also in `http`'s chain.
    layer: ClientLayer,
    /// No middleware was added below the client's own: [`ApiClient::send`] may run the
    /// retry middleware and the layer over reqwest directly rather than through the chain.
    direct: bool,
    /// Tells this client's requests from others' in [`ApiClient::send`].
    id: IssuedBy,
    base_url: Option<reqwest::Url>,
    auth: Option<(HeaderName, HeaderValue)>,
}

/// Where [`ApiClient::request`] sends a path.
enum Target {
    Url(reqwest::Url),
    /// Under the base URL's origin but outside its path (`../admin`): refused.
    OutsideBase(reqwest::Url),
    /// Not a URL at all.
    Invalid,
}

/// Marks a request whose path resolved outside the base URL's path: the client's layer
/// fails it with [`ErrorKind::InvalidRequest`] before it is sent.
#[derive(Debug, Clone)]
pub(crate) struct RefusedPath(pub(crate) String);

/// Marks a request built by [`ApiClient::request`] with the client that built it: only such
/// a request may skip the chain its builder carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IssuedBy(u64);

impl IssuedBy {
    fn next() -> IssuedBy {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        IssuedBy(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
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
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use errors_http::ApiClient;
/// use errors_testkit::{FakeApi, Script, fixtures};
///
/// let api = FakeApi::new(); // answers in process, for this example
/// api.mount(
///     Script::new()
///         .then(fixtures::vlm_provider_error())
///         .then(fixtures::ok_json(&serde_json::json!({"id": 1}))),
/// );
/// let client = ApiClient::builder().base_url(api.uri()).with_middleware(api.clone()).build().unwrap();
///
/// let response = client.send(client.request(reqwest::Method::GET, "images/1")).await.unwrap();
/// assert_eq!(response.status, 200);
/// assert_eq!(response.json::<serde_json::Value>().unwrap()["id"], 1);
/// // The provider error was retried once; the history says so.
/// assert_eq!(response.attempts.len(), 2);
/// assert_eq!(response.attempts[0].status, Some(503));
/// # }
/// ```
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

    /// The body decoded as JSON, kept with the response's status, headers and attempts
    /// (the body bytes are dropped).
    pub fn into_json<T: DeserializeOwned>(self) -> Result<JsonResponse<T>, Error> {
        let value = self.json()?;
        Ok(JsonResponse {
            value,
            status: self.status,
            headers: self.headers,
            attempts: self.attempts,
        })
    }

    /// The request id the response's headers carry (`X-Request-ID` and the like, see
    /// [`errors_core::REQUEST_ID_HEADERS`]): quote it to support.
    pub fn request_id(&self) -> Option<&str> {
        errors_core::request_id_in(&self.headers)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A success body decoded as JSON, with what came with it: status, headers, the request
/// id and every attempt ([`ApiClient::get_json_response`], [`ApiResponse::into_json`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use errors_http::ApiClient;
/// use errors_testkit::{FakeApi, Script, fixtures};
///
/// let api = FakeApi::new();
/// api.mount(
///     Script::new()
///         .then(fixtures::vlm_provider_error())
///         .then(fixtures::ok_json(&serde_json::json!({"id": 1})).header("x-request-id", "req-ok")),
/// );
/// let client = ApiClient::builder().base_url(api.uri()).with_middleware(api.clone()).build().unwrap();
///
/// let image = client.get_json_response::<serde_json::Value>("images/1").await.unwrap();
/// assert_eq!(image.value["id"], 1);
/// assert_eq!(image.status, 200);
/// assert_eq!(image.request_id(), Some("req-ok"));
/// assert_eq!(image.attempts.len(), 2); // the 503 was retried
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JsonResponse<T> {
    /// The decoded body.
    pub value: T,
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// Every attempt made, the last one being this response.
    pub attempts: Vec<AttemptRecord>,
}

impl<T> JsonResponse<T> {
    /// The request id the response's headers carry (see [`ApiResponse::request_id`]).
    pub fn request_id(&self) -> Option<&str> {
        errors_core::request_id_in(&self.headers)
    }
}

impl ApiClient {
    /// A builder with the defaults: [`RetryPolicy::default`], a default [`RetryBudget`], the
    /// API key (if any) sent as `Authorization: Bearer <key>`.
    pub fn builder() -> ApiClientBuilder {
        ApiClientBuilder::default()
    }

    /// A request to `path`, joined under the base URL, or to an absolute `http(s)://` URL.
    ///
    /// `path` is a path whatever it contains: `"jobs:cancel"` is `<base>/jobs:cancel`, not a
    /// URL with the scheme `jobs`, and a leading `/` stays under the base. Only a string with
    /// a scheme and `//` (`https://host/...`) is taken as an absolute URL. `..` segments
    /// (`%2e%2e` too) resolve as in any URL, but a path that resolves outside the base URL's
    /// path (`"../../admin"` under `https://host/v1/`) is refused: sending it fails with
    /// [`ErrorKind::InvalidRequest`], nothing is sent. The base URL's query
    /// (`?api-version=2`) is kept on every request, before the path's own.
    ///
    /// The API key goes only to the base URL's origin (scheme, host and port): a request to
    /// any other origin carries no credential, and a redirect to another origin is followed
    /// without it.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let url = match self.url(path) {
            Target::Url(url) => url,
            // Not a URL: reqwest reports it when the request is sent (one attempt, not retried).
            Target::Invalid => {
                return self
                    .inner
                    .http
                    .request(method, path)
                    .with_extension(self.inner.id);
            }
            // Sent nowhere: the client's layer fails the attempt before it leaves, and it
            // carries no key whatever happens to it.
            Target::OutsideBase(url) => {
                let refused = RefusedPath(format!(
                    "path {:?} resolves outside the base url's path {:?}",
                    crate::redact::excerpt(path),
                    self.inner.base_url.as_ref().map_or("/", |b| b.path()),
                ));
                return self
                    .inner
                    .http
                    .request(method, url)
                    .with_extension(self.inner.id)
                    .with_extension(refused);
            }
        };
        let to_api = self
            .inner
            .base_url
            .as_ref()
            .is_some_and(|base| same_origin(base, &url));
        let mut builder = self
            .inner
            .http
            .request(method, url)
            .with_extension(self.inner.id);
        if let Some((name, value)) = &self.inner.auth
            && to_api
        {
            builder = builder.header(name.clone(), value.clone());
        }
        builder
    }

    /// The URL for `path`, parsed once: under the base URL, with the base's query kept,
    /// unless `..` (or `%2e%2e`) leads it out of the base's path.
    fn url(&self, path: &str) -> Target {
        let base = match &self.inner.base_url {
            Some(base) if !is_absolute_url(path) => base,
            _ => return reqwest::Url::parse(path).map_or(Target::Invalid, Target::Url),
        };
        // `./` keeps a colon in the first segment (`jobs:cancel`) a path, not a scheme.
        let Ok(mut url) = base.join(&format!("./{}", path.trim_start_matches('/'))) else {
            return Target::Invalid;
        };
        // A relative reference replaces the base's query: put it back, before the path's own.
        if let Some(base_query) = base.query() {
            let query = match url.query() {
                Some(own) if !own.is_empty() => format!("{base_query}&{own}"),
                _ => base_query.to_owned(),
            };
            url.set_query(Some(&query));
        }
        if url.path().starts_with(base.path()) {
            Target::Url(url)
        } else {
            Target::OutsideBase(url)
        }
    }

    /// The redirect policy of the clients this crate builds: reqwest follows no redirect,
    /// and [`ApiClient`] follows them itself, hop by hop, without any credential once a hop
    /// leaves the API's origin (whatever header carries the key), and knowing that a POST
    /// answered with a redirect was received. [`ApiClientBuilder::with_client_builder`]
    /// sets it for you; give it to a `reqwest::Client` you pass to
    /// [`ApiClientBuilder::with_client`].
    pub fn redirect_policy() -> reqwest::redirect::Policy {
        crate::layer::redirect_policy()
    }

    /// Sends a request built with [`ApiClient::request`] and reads the whole success body.
    ///
    /// The body is read inside the attempt: the attempt timeout and the deadline cover it, and a body that breaks off or stalls is a failed
    /// attempt the policy may retry (an idempotent request) like any other. With
    /// [`ApiClientBuilder::max_response_bytes`], a longer body ends the call with
    /// [`ErrorKind::ResponseTooLarge`] without buffering past the limit.
    pub async fn send(&self, mut request: RequestBuilder) -> Result<ApiResponse, Error> {
        let inner = &*self.inner;
        let response = if inner.direct && request.extensions().get() == Some(&inner.id) {
            // The same middleware and layer as the chain, without its boxed future per layer.
            let mut extensions = std::mem::take(request.extensions());
            let (_, built) = request.build_split();
            let built =
                built.map_err(|e| Error::from_middleware(reqwest_middleware::Error::Reqwest(e)))?;
            let below = Layered::new(&inner.layer, inner.http.as_ref());
            inner
                .middleware
                .drive(built, &mut extensions, &below)
                .await?
        } else {
            request
                .with_extension(ReadWholeBody)
                .send()
                .await
                .map_err(Error::from_middleware)?
        };
        let mut response = response.error_for_api_status().await?;
        let attempts = response
            .extensions_mut()
            .remove::<Attempts>()
            .map(|a| a.records)
            .unwrap_or_default();
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        // Read by the client's layer within the attempt.
        let body = match response.extensions_mut().remove::<WholeBody>() {
            Some(WholeBody(body)) => body,
            None => match response.bytes().await {
                Ok(body) => body,
                Err(e) => {
                    return Err(Error::with_history(
                        ErrorKind::Transport(crate::redact::reqwest_error(e).into()),
                        attempts,
                        None,
                    ));
                }
            },
        };
        Ok(ApiResponse {
            status,
            headers,
            body,
            attempts,
        })
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

    /// `GET path`, decoded as JSON, with the response's status, headers, request id and
    /// attempts.
    pub async fn get_json_response<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<JsonResponse<T>, Error> {
        self.send_json_response(self.request(Method::GET, path))
            .await
    }

    /// Sends a request and decodes the success body as JSON, with the response's status,
    /// headers, request id and attempts.
    pub async fn send_json_response<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<JsonResponse<T>, Error> {
        self.send(request).await?.into_json()
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

    /// The retry state shared by this client's requests (budget, rate-limit windows and
    /// pacers of its partitions).
    pub fn retry_state(&self) -> &ClientRetryState {
        self.inner.middleware.state()
    }

    /// How long this client's requests will still hold off because the server asked one of
    /// them to wait (`429` + `Retry-After`): the longest of its partitions' windows; zero
    /// when every window is open.
    pub fn rate_limited_for(&self) -> Duration {
        self.inner.middleware.rate_limited_for()
    }

    /// The underlying middleware client, for requests this type has no helper for. Requests
    /// sent through it get the retry middleware, the default headers and the cross-origin
    /// redirect handling, but not the API key (build them with [`ApiClient::request`] for
    /// that) and not the whole-body read of [`ApiClient::send`]: their success bodies stream.
    pub fn http(&self) -> &ClientWithMiddleware {
        &self.inner.http
    }
}

/// Settings for an [`ApiClient`]. Its `Debug` output never shows the API key.
///
/// Every setting here also exists, with the same name, on the blocking client's builder
/// (`errors_blocking::ClientBuilder`); a workspace test fails if one is missing.
///
/// ## TLS and the other transport defaults
///
/// The `reqwest::Client` built here has reqwest's usual defaults: TLS through the crate's
/// TLS feature (`rustls`, the default: rustls with aws-lc-rs and the platform's certificate
/// verifier, so the system's trusted authorities apply; or `native-tls`), HTTP/2 when the
/// server offers it over TLS, the system's proxy settings (`HTTP_PROXY`, `HTTPS_PROXY`,
/// `NO_PROXY`), and charset decoding of text. Cookies and response decompression stay off
/// (an API client needs neither). Add a private certificate authority with
/// [`add_root_certificates_pem`](ApiClientBuilder::add_root_certificates_pem), or pass a
/// configured client with [`with_client`](ApiClientBuilder::with_client).
///
/// ```
/// use errors_http::ApiClient;
///
/// # fn main() -> Result<(), errors_http::Error> {
/// # let pem = include_bytes!("../../tests/data/ca.pem");
/// let client = ApiClient::builder()
///     .base_url("https://api.example.com/v1")
///     .api_key("sk-test")
///     .add_root_certificates_pem(pem) // a private CA, in addition to the system's
///     .user_agent("my-app/1.2")
///     .max_response_bytes(16 << 20)
///     .build()?;
/// # let _ = client;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct ApiClientBuilder {
    api_key: Option<String>,
    auth_header: Option<(String, Option<String>)>,
    base_url: Option<String>,
    policy: RetryPolicy,
    budget: Option<Option<RetryBudget>>,
    state: Option<ClientRetryState>,
    /// The timeouts set on the builder, applied over the policy's at build.
    timeouts: RequestOptions,
    partitioning: Option<Partitioning>,
    connect_timeout: Option<Duration>,
    clock: Option<Arc<dyn Clock>>,
    jitter_seed: Option<u64>,
    body_limit: Option<usize>,
    log_level: Option<tracing::Level>,
    client: Option<ClientSource>,
    root_certificates: Vec<Vec<u8>>,
    user_agent: Option<String>,
    default_headers: HeaderMap,
    max_response_bytes: Option<u64>,
    attempt_middleware: Vec<Arc<dyn reqwest_middleware::Middleware>>,
    store: Option<Arc<dyn crate::RateLimitStore>>,
}

impl fmt::Debug for ApiClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("policy", &self.policy)
            .field("partitioning", &self.partitioning)
            .field("user_agent", &self.user_agent)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("root_certificates", &self.root_certificates.len())
            .field("with_client", &self.client.is_some())
            .field("attempt_middleware", &self.attempt_middleware.len())
            .finish_non_exhaustive()
    }
}

/// The reqwest client a builder was given.
enum ClientSource {
    /// Used as it is: its redirect policy is its own.
    Built(reqwest::Client),
    /// Finished by [`ApiClientBuilder::build`], with the client's redirect policy. (Boxed:
    /// a reqwest builder is large, and a builder of ours moves by value.)
    Builder(Box<reqwest::ClientBuilder>),
}

/// The `User-Agent` sent when none is set: this crate's name and version.
pub(crate) const DEFAULT_USER_AGENT: &str =
    concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

impl ApiClientBuilder {
    /// The API key, marked sensitive, sent only to the base URL's origin.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The header that carries the key, and the scheme before it (default
    /// `Authorization` with `Bearer`; e.g. `("X-API-Key", None)` for a bare key). Whatever
    /// its name, it is never sent to another origin, redirects included.
    pub fn auth_header(mut self, name: impl Into<String>, scheme: Option<&str>) -> Self {
        self.auth_header = Some((name.into(), scheme.map(str::to_owned)));
        self
    }

    /// The URL relative paths are joined to (a trailing `/` is added to its path if
    /// missing). Its origin is the only one the API key is sent to; its query, if any
    /// (`https://host/v1?api-version=2`), is kept on every request. A path that resolves
    /// outside its path is refused (see [`ApiClient::request`]).
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

    /// Shares retry state (budget, rate-limit windows and pacers) with another client. It
    /// carries its own budget and [`Partitioning`] ([`ClientRetryState::new`]): combined
    /// with [`ApiClientBuilder::partition_by`], `build` fails.
    pub fn retry_state(mut self, state: ClientRetryState) -> Self {
        self.state = Some(state);
        self
    }

    /// How requests share rate-limit state: each partition has its own window (a `429`
    /// holds the requests of its partition only) and pacer; the retry budget stays the whole
    /// client's.
    ///
    /// - [`Partitioning::per_route`], the default: one partition per route (origin and
    ///   path, ids folded, no query). For APIs that limit each endpoint on its own, as
    ///   slowapi's per-route decorators do: a `429` on `/search` never holds `/items`.
    ///   Routes whose `429`s show one shared limit (the same stated quota) are merged.
    /// - [`Partitioning::whole_client`]: one partition. For an API that limits the API key
    ///   as a whole, across all routes: a `429` on any route holds every request.
    /// - [`Partitioning::by`]: your own key from the method and URL.
    ///
    /// ```
    /// use errors_core::Partitioning;
    /// use errors_http::ApiClient;
    ///
    /// let client = ApiClient::builder()
    ///     .base_url("https://api.example.com/v1/")
    ///     .partition_by(Partitioning::whole_client())
    ///     .build()
    ///     .unwrap();
    /// assert!(client.retry_state().partitioning().is_whole_client());
    /// ```
    pub fn partition_by(mut self, partitioning: Partitioning) -> Self {
        self.partitioning = Some(partitioning);
        self
    }

    /// Shares the rate-limit state with every process whose client uses the same `store`
    /// and API key: a fleet of replicas or workers on one key then reserves its requests
    /// from one queue and learns one pace, instead of each process pacing itself at the
    /// whole key's rate. Keys in the store are scoped by a SHA-256 of the API key (never the
    /// key). A store that does not answer within 50 ms leaves requests to the process's own
    /// pacer until it answers again (logged once). See [`RateLimitStore`](crate::RateLimitStore), `RedisStore`
    /// (feature `redis`) and the README's "A fleet on one key".
    pub fn rate_limit_store(mut self, store: impl crate::RateLimitStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The total time for one call, all attempts and waits included (default 120 s). Set
    /// here or on the [`policy`](ApiClientBuilder::policy)
    /// ([`RetryPolicy::with_deadline`]); this one wins, whatever the order. See the crate
    /// docs' table of timeouts.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.timeouts = self.timeouts.deadline(deadline);
        self
    }

    /// No total deadline: a call ends when its retries do.
    pub fn no_deadline(mut self) -> Self {
        self.timeouts = self.timeouts.no_deadline();
        self
    }

    /// The time limit for each attempt, connecting and the whole body included (default
    /// 60 s); an attempt that runs out is a [`ErrorKind::Timeout`] the policy may retry. It
    /// is cut to the time left before the deadline. Overrides the policy's
    /// ([`RetryPolicy::with_attempt_timeout`]) whatever the order.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts = self.timeouts.attempt_timeout(timeout);
        self
    }

    /// No time limit per attempt: only the deadline cuts a slow one.
    pub fn no_attempt_timeout(mut self) -> Self {
        self.timeouts = self.timeouts.no_attempt_timeout();
        self
    }

    /// The longest server-requested wait (`Retry-After`) a call sleeps through (default
    /// 60 s); a longer one ends the call at once with the requested delay on the error.
    /// Overrides the policy's ([`RetryPolicy::with_max_wait`]) whatever the order.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.timeouts = self.timeouts.max_wait(wait);
        self
    }

    /// The time limit for opening a connection (TCP and TLS), within each attempt (default:
    /// none of its own, the attempt timeout covers it).
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

    /// The largest success body read (default: no limit). A longer one ends the call with
    /// [`ErrorKind::ResponseTooLarge`], not retried, as soon as it is known (from
    /// `Content-Length`, or while reading): nothing past the limit is buffered.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// The level of retry and rate-limit hold events (default DEBUG; failures after retrying
    /// are WARN whatever this says). See the crate docs.
    pub fn log_level(mut self, level: tracing::Level) -> Self {
        self.log_level = Some(level);
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more `CERTIFICATE` blocks) in
    /// addition to the system's, as `curl --cacert` does. May be called more than once. A
    /// file that holds no certificate is an error from [`build`](ApiClientBuilder::build).
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certificates.push(pem.as_ref().to_vec());
        self
    }

    /// The `User-Agent` header (default `errors-http/<version>`, unless a client is passed
    /// with [`with_client`](ApiClientBuilder::with_client), whose own applies). A request
    /// that sets its own keeps it.
    pub fn user_agent(mut self, value: impl Into<String>) -> Self {
        self.user_agent = Some(value.into());
        self
    }

    /// Headers added to every request that does not set them itself (merged with earlier
    /// calls; a header with several values keeps them all). For non-secret values: the API key belongs in
    /// [`api_key`](ApiClientBuilder::api_key), which is kept to the API's origin.
    pub fn default_headers(mut self, headers: HeaderMap) -> Self {
        // `HeaderMap`'s owning iterator names a header once, before all of its values: the
        // values that follow with no name belong to the last one named.
        let mut current: Option<HeaderName> = None;
        for (name, value) in headers {
            if let Some(name) = name {
                // A header named again here replaces what earlier calls set.
                self.default_headers.remove(&name);
                current = Some(name);
            }
            if let Some(name) = &current {
                self.default_headers.append(name.clone(), value);
            }
        }
        self
    }

    /// Uses this reqwest client (its pool, TLS, proxy and timeouts) instead of building one.
    /// [`connect_timeout`](ApiClientBuilder::connect_timeout)
    /// and [`add_root_certificates_pem`](ApiClientBuilder::add_root_certificates_pem) cannot
    /// apply to it: combining them is an error from [`build`](ApiClientBuilder::build).
    ///
    /// Its redirect policy is its own, and cannot be read back. reqwest strips only
    /// `Authorization`, `Proxy-Authorization` and cookies when it follows a redirect to
    /// another origin, so an API key in any other header (set with
    /// [`auth_header`](ApiClientBuilder::auth_header), e.g. `X-API-Key`) could follow one:
    /// [`build`](ApiClientBuilder::build) refuses that combination. Prefer
    /// [`with_client_builder`](ApiClientBuilder::with_client_builder), which makes the
    /// client follow redirects the safe way whatever carries the key; or build the client
    /// with [`ApiClient::redirect_policy`].
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(ClientSource::Built(client));
        self
    }

    /// Builds the reqwest client from this builder (your pool, TLS, proxy and timeout
    /// settings), with the redirect policy replaced by [`ApiClient::redirect_policy`]: the
    /// client follows redirects itself, without the key once a hop leaves the API's origin.
    /// [`connect_timeout`](ApiClientBuilder::connect_timeout) and
    /// [`add_root_certificates_pem`](ApiClientBuilder::add_root_certificates_pem) apply to it
    /// too.
    ///
    /// ```
    /// use errors_http::ApiClient;
    ///
    /// let client = ApiClient::builder()
    ///     .base_url("https://api.example.com/v1")
    ///     .api_key("sk-test")
    ///     .auth_header("X-API-Key", None)
    ///     .with_client_builder(reqwest::Client::builder().pool_max_idle_per_host(4))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn with_client_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.client = Some(ClientSource::Builder(Box::new(builder)));
        self
    }

    /// Adds a middleware below the retry middleware, nearest the network, so that it sees
    /// every attempt (each retry included) rather than the logical call: to sign or trace
    /// each attempt, or to answer in process in tests. Middlewares run in the order added.
    ///
    /// With `errors_testkit::FakeApi` added here, an `ApiClient` runs against scripted
    /// answers on tokio's paused clock, so a test of a 60 s `Retry-After` takes milliseconds:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use errors_http::ApiClient;
    /// use errors_testkit::{FakeApi, Script, fixtures};
    ///
    /// let api = FakeApi::new();
    /// api.mount_at(
    ///     "/v1/images/1",
    ///     Script::new()
    ///         .then(fixtures::rate_limited().retry_after_secs(60))
    ///         .then(fixtures::ok_json(&serde_json::json!({"id": 1}))),
    /// );
    /// let client = ApiClient::builder()
    ///     .base_url(format!("{}/v1", api.uri()))
    ///     .api_key("sk-test")
    ///     .with_middleware(api.clone())
    ///     .build()
    ///     .unwrap();
    ///
    /// let image: serde_json::Value = client.get_json("images/1").await.unwrap();
    /// assert_eq!(image["id"], 1);
    /// api.journal().assert_attempts(2);
    /// api.journal().assert_gap_at_least(1, Duration::from_secs(60));
    /// # }
    /// ```
    pub fn with_middleware(mut self, middleware: impl reqwest_middleware::Middleware) -> Self {
        self.attempt_middleware.push(Arc::new(middleware));
        self
    }

    /// The client, or [`ErrorKind::InvalidRequest`] for a bad base URL, API key, header,
    /// certificate, or settings that contradict each other.
    pub fn build(self) -> Result<ApiClient, Error> {
        let base_url = match self.base_url {
            Some(url) => {
                let mut url = reqwest::Url::parse(&url)
                    .map_err(|e| Error::invalid_request(format!("invalid base url: {e}")))?;
                if url.cannot_be_a_base() {
                    return Err(Error::invalid_request(
                        "invalid base url: it cannot have paths under it",
                    ));
                }
                // The slash goes at the end of the path, not after a query
                // (`https://host/v1?api-version=2`).
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                url.set_fragment(None);
                Some(url)
            }
            None => None,
        };
        // The scope of the API key in a shared store: a hash, never the key.
        let store_scope = crate::store::short_hash(self.api_key.as_deref().unwrap_or(""));
        let (auth, auth_name) = match self.api_key {
            Some(key) => {
                if base_url.is_none() {
                    return Err(Error::invalid_request(
                        "an api key needs a base url: the key is only sent to its origin",
                    ));
                }
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
                (Some((name.clone(), value)), Some(name))
            }
            None => (None, None),
        };
        let mut default_headers = self.default_headers;
        let user_agent = match (self.user_agent, &self.client) {
            (Some(agent), _) => Some(agent),
            (None, None) => Some(DEFAULT_USER_AGENT.to_owned()),
            (None, Some(_)) => None,
        };
        if let Some(agent) = user_agent {
            let value = HeaderValue::from_str(&agent)
                .map_err(|_| Error::invalid_request(format!("invalid user agent {agent:?}")))?;
            default_headers.insert(http::header::USER_AGENT, value);
        }
        let client = match self.client {
            Some(ClientSource::Built(client)) => {
                let ignored = [
                    (self.connect_timeout.is_some(), "connect_timeout"),
                    (
                        !self.root_certificates.is_empty(),
                        "add_root_certificates_pem",
                    ),
                ];
                if let Some((_, setting)) = ignored.iter().find(|(set, _)| *set) {
                    return Err(Error::invalid_request(format!(
                        "{setting} cannot apply to a client passed to with_client: configure that reqwest::Client instead"
                    )));
                }
                if let Some(name) = &auth_name
                    && !REQWEST_STRIPS_ACROSS_ORIGINS.contains(name)
                {
                    return Err(Error::invalid_request(format!(
                        "the api key's header {name} could follow a redirect to another origin under the redirect policy of a client passed to with_client (reqwest strips only authorization and cookies): pass a reqwest::ClientBuilder to with_client_builder instead"
                    )));
                }
                client
            }
            source => {
                let builder = match source {
                    Some(ClientSource::Builder(builder)) => *builder,
                    _ => reqwest::Client::builder(),
                };
                let mut builder = builder.redirect(ApiClient::redirect_policy());
                if let Some(t) = self.connect_timeout {
                    builder = builder.connect_timeout(t);
                }
                builder = add_root_certificates(builder, &self.root_certificates)?;
                builder.build().map_err(|e| {
                    Error::invalid_request(format!(
                        "cannot build the http client: {}",
                        crate::error::chain_text(&e)
                    ))
                })?
            }
        };
        let state = match self.state {
            Some(state) => {
                if self.partitioning.is_some() {
                    return Err(Error::invalid_request(
                        "partition_by cannot apply to a state passed to retry_state: build that state with ClientRetryState::new",
                    ));
                }
                state
            }
            None => {
                let budget = self.budget.unwrap_or_else(|| Some(RetryBudget::default()));
                ClientRetryState::new(budget, self.partitioning.unwrap_or_default())
            }
        };
        let policy = self.timeouts.apply(&self.policy);
        let mut middleware = RetryMiddleware::builder(policy).state(state);
        if let Some(store) = self.store {
            middleware = middleware.store_link(crate::store::StoreLink::new(store, store_scope));
        }
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
        let layer = ClientLayer {
            default_headers,
            auth_header: auth_name,
            max_response_bytes: self.max_response_bytes,
        };
        let direct = self.attempt_middleware.is_empty();
        let mut http = reqwest_middleware::ClientBuilder::new(client)
            .with(middleware.clone())
            .with(layer.clone());
        for extra in self.attempt_middleware {
            http = http.with_arc(extra);
        }
        let http = http.build();
        Ok(ApiClient {
            inner: Arc::new(ClientInner {
                http,
                middleware,
                layer,
                direct,
                id: IssuedBy::next(),
                base_url,
                auth,
            }),
        })
    }
}

/// The headers reqwest removes itself whenever it follows a redirect to another origin,
/// whatever its redirect policy (`reqwest::redirect`'s `remove_sensitive_headers`).
const REQWEST_STRIPS_ACROSS_ORIGINS: [HeaderName; 3] = [
    http::header::AUTHORIZATION,
    http::header::PROXY_AUTHORIZATION,
    http::header::COOKIE,
];

/// Adds the certificate authorities in each PEM file; a file that holds none is an error.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn add_root_certificates(
    mut builder: reqwest::ClientBuilder,
    pems: &[Vec<u8>],
) -> Result<reqwest::ClientBuilder, Error> {
    for pem in pems {
        builder = builder.tls_certs_merge(root_certificates(pem)?);
    }
    Ok(builder)
}

/// Without a TLS feature there is nothing to add the certificates to.
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn add_root_certificates(
    builder: reqwest::ClientBuilder,
    pems: &[Vec<u8>],
) -> Result<reqwest::ClientBuilder, Error> {
    if pems.is_empty() {
        Ok(builder)
    } else {
        Err(Error::invalid_request(
            "root certificates need a TLS feature (errors-http's rustls or native-tls)",
        ))
    }
}

/// The certificates in a PEM file; one that holds none is an error.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn root_certificates(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, Error> {
    let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
        Error::invalid_request(format!(
            "invalid pem certificate: {}",
            crate::error::chain_text(&e)
        ))
    })?;
    if certificates.is_empty() {
        return Err(Error::invalid_request("the pem data holds no certificate"));
    }
    Ok(certificates)
}

/// Whether `path` is an absolute URL (a scheme followed by `//`), not a path under the base.
fn is_absolute_url(path: &str) -> bool {
    match path.split_once(':') {
        Some((scheme, rest)) => {
            rest.starts_with("//")
                && !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

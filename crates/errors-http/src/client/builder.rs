//! [`ApiClientBuilder`]: an [`ApiClient`]'s settings, checked and put together by `build`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use errors_core::RetryPolicy;
use errors_core::clock::Clock;
use errors_core::ratelimit::Partitioning;
use errors_core::retry::{ClientRetryState, RetryBudget};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{ApiClient, ClientInner, IssuedBy};
use crate::error::{Error, chain_text};
use crate::layer::ClientLayer;
use crate::middleware::RetryMiddleware;
use crate::options::RequestOptions;
use crate::store::{RateLimitStore, StoreLink, short_hash};

/// Settings for an [`ApiClient`]. Its `Debug` output never shows the API key.
///
/// Every setting here also exists, with the same name, on the blocking client's builder
/// (`errors_blocking::ApiClientBuilder`); a workspace test fails if one is missing.
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
///     .response_body_limit(16 << 20)
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
    error_body_limit: Option<usize>,
    log_level: Option<tracing::Level>,
    client: Option<ClientSource>,
    root_certificates: Vec<Vec<u8>>,
    user_agent: Option<String>,
    default_headers: HeaderMap,
    response_body_limit: Option<usize>,
    attempt_middleware: Vec<Arc<dyn reqwest_middleware::Middleware>>,
    store: Option<Arc<dyn RateLimitStore>>,
}

impl fmt::Debug for ApiClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("policy", &self.policy)
            .field("partitioning", &self.partitioning)
            .field("user_agent", &self.user_agent)
            .field("response_body_limit", &self.response_body_limit)
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
    /// use errors_core::ratelimit::Partitioning;
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
    pub fn rate_limit_store(mut self, store: impl RateLimitStore) -> Self {
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
    ///
    /// [`ErrorKind::Timeout`]: crate::ErrorKind::Timeout
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
    pub fn error_body_limit(mut self, limit: usize) -> Self {
        self.error_body_limit = Some(limit);
        self
    }

    /// The largest success body read (default: no limit). A longer one ends the call with
    /// [`ErrorKind::ResponseTooLarge`], not retried, as soon as it is known (from
    /// `Content-Length`, or while reading): nothing past the limit is buffered.
    ///
    /// [`ErrorKind::ResponseTooLarge`]: crate::ErrorKind::ResponseTooLarge
    pub fn response_body_limit(mut self, limit: usize) -> Self {
        self.response_body_limit = Some(limit);
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
    ///         .then(fixtures::rate_limited().with_retry_after_secs(60))
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
    ///
    /// [`ErrorKind::InvalidRequest`]: crate::ErrorKind::InvalidRequest
    pub fn build(mut self) -> Result<ApiClient, Error> {
        let base_url = self.base_url.as_deref().map(parse_base_url).transpose()?;
        let auth = self.auth(base_url.is_some())?;
        let layer = ClientLayer {
            default_headers: self.headers()?,
            auth_header: auth.as_ref().map(|(name, _)| name.clone()),
            response_body_limit: self.response_body_limit,
        };
        let client = self.reqwest_client(layer.auth_header.as_ref())?;
        let state = self.state_or_new()?;
        let middleware = self.retry_middleware(state);
        let direct = self.attempt_middleware.is_empty();
        let mut http = reqwest_middleware::ClientBuilder::new(client)
            .with(middleware.clone())
            .with(layer.clone());
        for extra in self.attempt_middleware {
            http = http.with_arc(extra);
        }
        Ok(ApiClient {
            inner: Arc::new(ClientInner {
                http: http.build(),
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

/// The steps of [`ApiClientBuilder::build`], in its order: the first setting found wrong is
/// the error.
impl ApiClientBuilder {
    /// The header that carries the API key, its value marked sensitive (`None` without a
    /// key).
    fn auth(&self, has_base_url: bool) -> Result<Option<(HeaderName, HeaderValue)>, Error> {
        let Some(key) = &self.api_key else {
            return Ok(None);
        };
        if !has_base_url {
            return Err(Error::invalid_request(
                "an api key needs a base url: the key is only sent to its origin",
            ));
        }
        let (name, scheme) = match &self.auth_header {
            Some((name, scheme)) => (name.as_str(), scheme.as_deref()),
            None => ("authorization", Some("Bearer")),
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid_request(format!("invalid auth header name {name:?}")))?;
        let text = match scheme {
            Some(scheme) => format!("{scheme} {key}"),
            None => key.clone(),
        };
        // The key's text must not end up in the error message.
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Error::invalid_request("the api key contains characters not allowed in a header")
        })?;
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }

    /// The default headers with the `User-Agent`: the one set, else this crate's, unless a
    /// client passed to `with_client` brings its own.
    fn headers(&mut self) -> Result<HeaderMap, Error> {
        let mut headers = std::mem::take(&mut self.default_headers);
        let user_agent = match (self.user_agent.take(), &self.client) {
            (Some(agent), _) => Some(agent),
            (None, None) => Some(DEFAULT_USER_AGENT.to_owned()),
            (None, Some(_)) => None,
        };
        if let Some(agent) = user_agent {
            let value = HeaderValue::from_str(&agent)
                .map_err(|_| Error::invalid_request(format!("invalid user agent {agent:?}")))?;
            headers.insert(http::header::USER_AGENT, value);
        }
        Ok(headers)
    }

    /// The reqwest client: the one passed to `with_client`, if every setting here applies to
    /// it, or one built (from the builder passed to `with_client_builder`, if any) with the
    /// client's redirect policy.
    fn reqwest_client(
        &mut self,
        auth_header: Option<&HeaderName>,
    ) -> Result<reqwest::Client, Error> {
        let builder = match self.client.take() {
            Some(ClientSource::Built(client)) => {
                self.check_passed_client(auth_header)?;
                return Ok(client);
            }
            Some(ClientSource::Builder(builder)) => *builder,
            None => reqwest::Client::builder(),
        };
        let mut builder = builder.redirect(ApiClient::redirect_policy());
        if let Some(t) = self.connect_timeout {
            builder = builder.connect_timeout(t);
        }
        builder = add_root_certificates(builder, &self.root_certificates)?;
        builder.build().map_err(|e| {
            Error::invalid_request(format!("cannot build the http client: {}", chain_text(&e)))
        })
    }

    /// Refuses the settings a client passed to `with_client` cannot take: the transport
    /// settings of this builder, and an API key in a header its redirect policy may keep.
    fn check_passed_client(&self, auth_header: Option<&HeaderName>) -> Result<(), Error> {
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
        if let Some(name) = auth_header
            && !REQWEST_STRIPS_ACROSS_ORIGINS.contains(name)
        {
            return Err(Error::invalid_request(format!(
                "the api key's header {name} could follow a redirect to another origin under the redirect policy of a client passed to with_client (reqwest strips only authorization and cookies): pass a reqwest::ClientBuilder to with_client_builder instead"
            )));
        }
        Ok(())
    }

    /// The retry state: the one passed to `retry_state`, or a new one with this builder's
    /// budget and partitioning.
    fn state_or_new(&mut self) -> Result<ClientRetryState, Error> {
        match self.state.take() {
            Some(state) => {
                if self.partitioning.is_some() {
                    return Err(Error::invalid_request(
                        "partition_by cannot apply to a state passed to retry_state: build that state with ClientRetryState::new",
                    ));
                }
                Ok(state)
            }
            None => {
                let budget = self
                    .budget
                    .take()
                    .unwrap_or_else(|| Some(RetryBudget::default()));
                Ok(ClientRetryState::new(
                    budget,
                    self.partitioning.take().unwrap_or_default(),
                ))
            }
        }
    }

    /// The retry middleware over `state`: the policy with this builder's timeouts, the
    /// rate-limit store scoped by the API key, and the other settings given.
    fn retry_middleware(&mut self, state: ClientRetryState) -> RetryMiddleware {
        let policy = self.timeouts.apply(&self.policy);
        let mut middleware = RetryMiddleware::builder(policy).retry_state(state);
        if let Some(store) = self.store.take() {
            // The scope of the API key in a shared store: a hash, never the key.
            let scope = short_hash(self.api_key.as_deref().unwrap_or(""));
            middleware = middleware.store_link(StoreLink::new(store, scope));
        }
        if let Some(clock) = self.clock.take() {
            middleware = middleware.clock(clock);
        }
        if let Some(seed) = self.jitter_seed {
            middleware = middleware.jitter_seed(seed);
        }
        if let Some(limit) = self.error_body_limit {
            middleware = middleware.error_body_limit(limit);
        }
        if let Some(level) = self.log_level {
            middleware = middleware.log_level(level);
        }
        middleware.build()
    }
}

/// The base URL, its path ending in `/` so that paths join under it, without a fragment.
fn parse_base_url(url: &str) -> Result<reqwest::Url, Error> {
    let mut url = reqwest::Url::parse(url)
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
    Ok(url)
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
        Error::invalid_request(format!("invalid pem certificate: {}", chain_text(&e)))
    })?;
    if certificates.is_empty() {
        return Err(Error::invalid_request("the pem data holds no certificate"));
    }
    Ok(certificates)
}

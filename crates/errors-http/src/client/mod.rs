//! [`ApiClient`]: the front door: base URL, API key, retry middleware, typed results.

mod builder;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use errors_core::retry::ClientRetryState;
use http::{HeaderName, HeaderValue, Method};
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::attempts::Attempts;
use crate::error::{Error, ErrorKind};
use crate::layer::{ClientLayer, Layered, ReadWholeBody, RefusedPath, WholeBody};
use crate::middleware::RetryMiddleware;
use crate::origin::same_origin;
use crate::response::{ApiResponse, JsonResponse, ResponseExt as _};

pub use builder::ApiClientBuilder;

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
impl ApiClient {
    /// A builder with the defaults: [`RetryPolicy::default`], a default [`RetryBudget`], the
    /// API key (if any) sent as `Authorization: Bearer <key>`.
    ///
    /// [`RetryPolicy::default`]: errors_core::RetryPolicy::default
    /// [`RetryBudget`]: errors_core::retry::RetryBudget
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
    /// [`ApiClientBuilder::response_body_limit`], a longer body ends the call with
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
        self.inner.middleware.retry_state()
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

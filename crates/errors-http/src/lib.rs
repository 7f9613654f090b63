//! The API's retry rules for async services on tokio, as reqwest-middleware middleware.
//!
//! [`ApiClient`] is the front door: it sends through [`RetryMiddleware`], carries the API key
//! (never shown in `Debug`, `Display` or logs), and returns an [`ApiResponse`] or one typed
//! [`Error`] with every attempt behind it. Every decision (whether, when, how long) is
//! `errors_core`'s; this crate sends, reads at most 64 KiB of an error body, sleeps and reports.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use errors_core::{ErrorCode, RetryPolicy};
//! use errors_http::ApiClient;
//! use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};
//!
//! // A local stand-in for the API that has hit a monthly limit.
//! let server = MockServer::start().await;
//! Mock::given(path("/v1/images"))
//!     .respond_with(ResponseTemplate::new(429).set_body_raw(
//!         r#"{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly API call limit reached"},"request_id":"req-1"}"#,
//!         "application/json",
//!     ))
//!     .mount(&server)
//!     .await;
//!
//! let client = ApiClient::builder()
//!     .base_url(format!("{}/v1", server.uri()))
//!     .api_key("sk-test")
//!     .policy(RetryPolicy::default())
//!     .build()?;
//! let err = client.get_json::<serde_json::Value>("images").await.unwrap_err();
//!
//! // A monthly limit is not a rate limit: one attempt, no retry, the documented solution.
//! assert_eq!(err.attempts().len(), 1);
//! let api = err.api_error().unwrap();
//! assert_eq!(api.code(), Some(&ErrorCode::UsageLimitExceeded));
//! assert_eq!(api.solution(), Some("Wait for next billing cycle or upgrade plan"));
//! assert_eq!(err.request_id(), Some("req-1"));
//! # Ok(()) }
//! ```
//!
//! Already on `reqwest_retry`? [`ApiRetryableStrategy`] plugs the API's rules into
//! `RetryTransientMiddleware`, with the limits its docs describe.
//!
//! ## HTTPS, whole responses, credentials
//!
//! - TLS is on by default (feature `rustls`: rustls with the platform's verifier; or
//!   `native-tls`), with reqwest's other usual defaults: HTTP/2 over TLS, the system's
//!   proxy, charset decoding. Trust a private authority with
//!   [`ApiClientBuilder::add_root_certificates_pem`], or pass a configured client with
//!   [`ApiClientBuilder::with_client`].
//! - A certificate that is not trusted, a failed TLS handshake, a URL scheme the build cannot
//!   speak or a malformed URL is one attempt, never retried, and its error says what it is
//!   ([`ErrorKind::Certificate`], [`ErrorKind::Tls`], [`ErrorKind::UnsupportedScheme`],
//!   [`ErrorKind::InvalidRequest`]).
//! - [`ApiClient::send`] reads the success body inside the attempt: the attempt timeout and
//!   the deadline cover it, a body that breaks off is an attempt the policy decides on, and
//!   [`ApiClientBuilder::response_body_limit`] caps it. Every timeout, whichever limit fired,
//!   is [`ErrorKind::Timeout`].
//! - The API key goes only to the base URL's origin, never to another origin and never
//!   across a cross-origin redirect, whatever header carries it.
//! - Redirects are followed by the client itself, hop by hop, each hop sent as the previous
//!   answer asks (301, 302, 303: a bodiless `GET`; 307, 308: the same method and body). A
//!   POST answered with a redirect was received: nothing a later hop answers (a `429`, a
//!   refused connection) makes it safe to send again. More than ten redirects is
//!   [`ErrorKind::TooManyRedirects`]; a `Location` that cannot be followed is
//!   [`ErrorKind::RedirectNotFollowed`]; neither is retried.
//! - Paths join under the base URL, its query kept; a path whose `..` (or `%2e%2e`) leaves
//!   the base URL's path is refused with [`ErrorKind::InvalidRequest`], nothing sent. URLs
//!   in error messages lose their query and credentials.
//! - After the TLS handshake, a TLS failure (a record that does not decrypt) is a broken
//!   connection like a reset: a GET is retried.
//! - Requests carry `User-Agent: errors-http/<version>` unless told otherwise
//!   ([`ApiClientBuilder::user_agent`], [`ApiClientBuilder::default_headers`]).
//!
//! ## Rate limits
//!
//! After a `429`, the client's other requests hold off until the wait the server asked ends,
//! and from then on the client paces itself at the rate the server stated or the one it
//! learned ([`errors_core::ratelimit::Pacer`]); waits the limiter asked for do not spend the retry
//! budget. Each attempt's [`AttemptRecord::held`](errors_core::retry::AttemptRecord::held) says
//! how long it was held by the rate limit.
//!
//! ## Logging
//!
//! Through `tracing`, target `errors_http`. Each logical call runs in one INFO span,
//! `api_request`, with `method` and `path` (the URL path only: never the query string, the
//! host's credentials or the API key). Events, each with the `attempt` number:
//!
//! | event | level |
//! | --- | --- |
//! | `retrying request` (status, code, request id, `wait_ms`, `held_ms`, reason) | DEBUG, or the level set with `log_level` |
//! | `holding for the client's rate limit` (`hold_ms`) | DEBUG, or the level set with `log_level` |
//! | `request succeeded` | DEBUG |
//! | `request failed` after retrying, or stopped by a limit (deadline, budget, retries, a wait beyond the maximum) | WARN |
//! | `request failed` on a first answer that is final (404, 401, a POST's 500...) | DEBUG: the caller gets it as an error |
//!
//! ## Modules
//!
//! For contributors: who uses whom inside this crate, with no circle. `attempts`,
//! `downstream`, `metrics`, `options`, `origin`, `redact`, `time` and `transport` (reading
//! reqwest's errors) use none of the others. Above them:
//!
//! - `trace` and `store` use `time`; `redis_store` uses `store`;
//! - `error` uses `transport` and `redact`; `strategy` uses `error`;
//! - `response` uses `attempts`, `error` and `redact`;
//! - `layer` (the client's layer below the retries) uses `downstream`, `error`, `origin` and
//!   `redact`;
//! - `middleware` uses `attempts`, `downstream`, `error`, `layer`, `metrics`, `options`,
//!   `response`, `store`, `time` and `trace`;
//! - `client` uses `attempts`, `error`, `layer`, `middleware`, `options`, `origin`, `redact`,
//!   `response` and `store`.
//!
//! `client/`, `middleware/` and `response/` are folders: `mod.rs` holds the main type and
//! the other files its parts (`client/builder.rs`; `middleware/builder.rs`, `attempt.rs`,
//! `rebuild.rs`, `secrets.rs`; `response/ext.rs`). A builder and the type it builds name
//! each other; no other part uses its `mod.rs`.

mod attempts;
mod client;
mod downstream;
mod error;
mod layer;
mod metrics;
mod middleware;
mod options;
mod origin;
mod redact;
#[cfg(feature = "redis")]
mod redis_store;
mod response;
mod store;
mod strategy;
mod time;
mod trace;
mod transport;

pub use attempts::{Attempts, SafeToRepeat};
pub use client::{ApiClient, ApiClientBuilder};
pub use error::{Error, ErrorKind};
pub use middleware::{RetryMiddleware, RetryMiddlewareBuilder};
pub use options::RequestOptions;
#[cfg(feature = "redis")]
pub use redis_store::{DEFAULT_PREFIX, RedisStore};
pub use response::{ApiResponse, JsonResponse, ResponseExt};
pub use store::{RateLimitStore, Reservation, STORE_TIMEOUT, StoreError, partition_id};
pub use strategy::ApiRetryableStrategy;

// What the examples and a first program take, so `errors-http` alone in Cargo.toml is
// enough: the core types, and the reqwest this crate is built on (its `Method`, its
// `ClientBuilder` for `with_client_builder`).
pub use errors_core;
pub use errors_core::ratelimit::Partitioning;
pub use errors_core::retry::{AttemptRecord, RetryBudget, RetryOverride, StopReason};
pub use errors_core::{ApiError, ApiErrorKind, ErrorCode, RetryPolicy, Shape};
pub use reqwest;
pub use reqwest::Method;
pub use reqwest_middleware;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

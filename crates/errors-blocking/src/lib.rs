//! The API's error contract for scripts: the same retries, errors and attempt history as
//! `errors-http`, behind plain synchronous calls. No `async`, no tokio in your code.
//!
//! [`ApiClient`] has the async [`errors_http::ApiClient`]'s name and settings (as
//! `reqwest::blocking::Client` mirrors `reqwest::Client`) and drives one in the context of a
//! runtime thread of its own that keeps the connection pool alive between calls, so both
//! facades share one implementation and every decision is `errors_core`'s. One client serves
//! many threads, `spawn_blocking` and multi-thread runtime workers; see [`ApiClient`] for
//! where it refuses.
//!
//! ```
//! use errors_blocking::{ApiClient, RetryPolicy};
//!
//! # fn main() -> Result<(), errors_blocking::Error> {
//! # let server = errors_blocking_doc::start();
//! let client = ApiClient::builder()
//!     .base_url(server.uri())          // http://127.0.0.1:<port>
//!     .api_key("sk-test")
//!     .policy(RetryPolicy::default().with_max_retries(2))
//!     .build()?;
//!
//! match client.get_json::<serde_json::Value>("rules/42") {
//!     Ok(rule) => println!("{rule}"),
//!     Err(err) => {
//!         // "404 Not Found: Rule not found (request id req-1)"
//!         eprintln!("{err}");
//!         if let Some(solution) = err.api_error().and_then(|e| e.solution()) {
//!             eprintln!("what to do: {solution}");
//!         }
//!         assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
//!     }
//! }
//! # Ok(())
//! # }
//! # mod errors_blocking_doc {
//! #     pub struct Server(tokio::runtime::Runtime, wiremock::MockServer);
//! #     impl Server { pub fn uri(&self) -> String { self.1.uri() } }
//! #     pub fn start() -> Server {
//! #         let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
//! #         let server = rt.block_on(async {
//! #             let server = wiremock::MockServer::start().await;
//! #             wiremock::Mock::given(wiremock::matchers::any())
//! #                 .respond_with(wiremock::ResponseTemplate::new(404)
//! #                     .insert_header("x-request-id", "req-1")
//! #                     .set_body_raw(r#"{"detail":"Rule not found"}"#, "application/json"))
//! #                 .mount(&server).await;
//! #             server
//! #         });
//! #         Server(rt, server)
//! #     }
//! # }
//! ```

mod client;

pub use client::{ApiClient, ApiClientBuilder};
// What a script and its builder take, so `errors-blocking` alone in Cargo.toml is enough.
pub use errors_core::clock::Clock;
pub use errors_core::ratelimit::Partitioning;
pub use errors_core::retry::{
    AttemptRecord, ClientRetryState, RetryBudget, RetryOverride, StopReason,
};
pub use errors_core::{ApiError, ApiErrorKind, ErrorCode, RetryPolicy, Shape};
#[cfg(feature = "redis")]
pub use errors_http::RedisStore;
pub use errors_http::{
    ApiResponse, Error, ErrorKind, JsonResponse, RateLimitStore, RequestOptions, SafeToRepeat,
    errors_core, reqwest,
};
pub use http::{HeaderMap, Method};
pub use reqwest_middleware;
pub use reqwest_middleware::RequestBuilder;
/// The level [`ApiClientBuilder::log_level`] takes.
pub use tracing::Level;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

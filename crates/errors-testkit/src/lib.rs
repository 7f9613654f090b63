//! Fixtures for every error the API documents, mock servers and an in-process fake to serve
//! them, and a journal to check what your code sent and when: test your own code against rate
//! limits, quotas, outages, proxy pages and hangs, with no account and no network.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use std::time::Duration;
//! use errors_testkit::{FakeApi, Script, fixtures};
//!
//! // Arrange: rate limited for a minute, then served; in process, on tokio's paused clock
//! // (`#[tokio::test(start_paused = true)]`).
//! let api = FakeApi::new();
//! api.mount(Script::fail_then_succeed(
//!     1,
//!     fixtures::rate_limited().with_retry_after_secs(60),
//!     fixtures::ok_json(&serde_json::json!({"label": "cat"})),
//! ));
//!
//! // Act: your code, given a client whose last middleware is the fake.
//! let label = my_code::fetch_label(&api.client(), &api.uri()).await;
//!
//! // Assert: it waited out the whole minute, which took the test no time at all.
//! assert_eq!(label, "cat");
//! api.journal().assert_attempts(2);
//! api.journal().assert_gap_at_least(1, Duration::from_secs(60));
//! # }
//! # mod my_code {
//! #     use errors_core::ApiError;
//! #     use errors_testkit::reqwest_middleware::ClientWithMiddleware;
//! #     /// A stand-in: one retry, after the Retry-After.
//! #     pub async fn fetch_label(client: &ClientWithMiddleware, base: &str) -> String {
//! #         let url = format!("{base}/v1/images/1");
//! #         let mut response = client.get(&url).send().await.unwrap();
//! #         if response.status() == 429 {
//! #             let (status, headers) = (response.status(), response.headers().clone());
//! #             let body = response.bytes().await.unwrap();
//! #             let error = ApiError::parse(status, &headers, &body, std::time::SystemTime::now());
//! #             tokio::time::sleep(error.retry_after().unwrap()).await;
//! #             response = client.get(&url).send().await.unwrap();
//! #         }
//! #         let body: serde_json::Value = response.json().await.unwrap();
//! #         body["label"].as_str().unwrap().to_owned()
//! #     }
//! # }
//! ```
//!
//! ```toml
//! [dev-dependencies]
//! # not on crates.io yet: by path from a checkout of this repository
//! errors-testkit = { path = "../errors/crates/errors-testkit" }
//! # a paused clock (`start_paused`, `tokio::time::pause`) needs tokio's `test-util`
//! tokio = { version = "1", features = ["macros", "rt", "test-util"] }
//! ```
//!
//! The map:
//! - [`fixtures`]: one constructor per documented code and status, with the API reference's
//!   wording, plus what sits in front of a real API (proxy HTML, an empty 503, garbage, a
//!   huge body, a hang). Each is a [`Fixture`] you can override and reshape.
//! - [`catalogue`]: every documented error in every shape, for "for every error the API
//!   documents, my code does X".
//! - [`Script`]: an outage as one responder, step by step.
//! - Three servers for them, each with a [`Journal`] of what arrived, when, with
//!   `#[track_caller]` assertions:
//!   - [`FakeApi`]: in process, a [`reqwest_middleware::Middleware`] that answers instead of
//!     the network. For timing on tokio's paused clock: exact virtual time.
//!   - [`MockApi`]: a wiremock server on 127.0.0.1, for async code over real sockets.
//!   - [`BlockingMockApi`]: the same for plain `#[test]`s, on a runtime thread of its own.
//! - [`FaultServer`]: a server on 127.0.0.1 that fails like a network rather than like an
//!   API: a refused connection, a close or reset before any answer, a reset mid-body, headers
//!   and then silence, a body that drips. One scripted [`Fault`] per connection ("fail twice,
//!   then answer"), for what your client does with a transport error.
//! - `HttpsFront` (feature `tls`): an `https://` front for a mock, with a certificate
//!   authority made at test time, to check your client's TLS settings.
//! - [`wait_until`]: a bounded wait for what another task does (a spawned call met its
//!   `429`), failing the test with what never happened; it never moves a paused clock.
//!
//! # Which clock the journal reads
//!
//! Arrival times are [`tokio::time::Instant`]s:
//!
//! | server | clock | under `tokio::time::pause` |
//! | --- | --- | --- |
//! | [`FakeApi`] | the runtime of the client that calls it | exact: the gaps are what the client slept |
//! | [`MockApi`] | the runtime that started it (your test's) | the gaps include the client's virtual sleeps, but not reliably: see below |
//! | [`BlockingMockApi`] | its own runtime, never paused: the wall clock | not applicable |
//! | [`FaultServer`] | the runtime that started it; with `start_blocking`, its own: the wall clock | as [`MockApi`]: use the wall clock |
//!
//! Real sockets and a paused clock do not mix: when a paused runtime has nothing to run, tokio
//! advances its clock to the next timer at once, even while a response is still on the wire
//! ([tokio#4522](https://github.com/tokio-rs/tokio/issues/4522)). A client with a timeout pending, as any retrying client has, then
//! sees that timeout fire before the mock server's answer arrives: against a [`MockApi`],
//! errors-http's retry middleware timed out spuriously in 8 runs of 20. Test timing with
//! [`FakeApi`] on a paused clock; use [`MockApi`] on the wall clock for what needs a real
//! connection, with waits of a second or less.

mod catalogue;
mod fake_api;
mod fault;
mod fault_server;
mod fixture;
pub mod fixtures;
mod journal;
mod mock_api;
mod redis_server;
mod script;
#[cfg(feature = "tls")]
mod tls;
mod wait;

pub use catalogue::{Entry, catalogue};
pub use fake_api::FakeApi;
pub use fault::{Fault, Faults};
pub use fault_server::FaultServer;
pub use fixture::Fixture;
pub use journal::{Journal, Received, mask_header};
pub use mock_api::{BlockingMockApi, MockApi};
pub use redis_server::RedisServer;
pub use script::{Script, Step};
#[cfg(feature = "tls")]
pub use tls::HttpsFront;
pub use wait::{holds_within, wait_until};

/// Re-exported so matchers passed to [`MockApi::mount_given`] come from the same wiremock.
pub use wiremock;

/// Re-exported so the middleware stack [`FakeApi`] joins comes from the same
/// reqwest-middleware.
pub use reqwest_middleware;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

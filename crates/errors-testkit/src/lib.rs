//! wiremock fixtures for every error the API documents, for your own tests: no account, no
//! network (everything on 127.0.0.1).
//!
//! ```toml
//! [dev-dependencies]
//! errors-testkit = "0.1"
//! ```
//!
//! A downstream test: the code under test here is a naive loop of three calls; yours would
//! be your client with its retry policy.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use errors_testkit::{MockApi, Script, fixtures};
//!
//! // Arrange: a rate limit, a provider outage, then success.
//! let api = MockApi::start().await;
//! api.mount_at(
//!     "/v1/images/1",
//!     Script::new()
//!         .then(fixtures::rate_limited().retry_after_secs(1))
//!         .then(fixtures::vlm_provider_error())
//!         .then(fixtures::ok_json(&serde_json::json!({"id": 1}))),
//! )
//! .await;
//!
//! // Act
//! let client = reqwest::Client::new();
//! let mut statuses = Vec::new();
//! for _ in 0..3 {
//!     let url = format!("{}/v1/images/1", api.uri());
//!     let response = client.get(url).header("x-api-key", "sk-test").send().await.unwrap();
//!     statuses.push(response.status().as_u16());
//! }
//!
//! // Assert: what was served, and what the server saw.
//! assert_eq!(statuses, [429, 503, 200]);
//! let journal = api.journal();
//! journal.assert_attempts(3);
//! journal.assert_header_sent("x-api-key", "sk-test");
//! // This loop does not wait; a real client must, and this is how to check it:
//! assert!(journal.gaps()[0] < Duration::from_secs(1));
//! // journal.assert_gap_at_least(1, Duration::from_secs(1));
//! # }
//! ```
//!
//! The map:
//! - [`MockApi`] (async) and [`BlockingMockApi`] (plain `#[test]`): a server of its own per
//!   test, on 127.0.0.1.
//! - [`fixtures`]: one constructor per documented code and status, with the API reference's
//!   wording, plus what sits in front of a real API (proxy HTML, an empty 503, garbage, a
//!   huge body, a hang). Each is a [`Fixture`] you can override and reshape.
//! - [`catalogue`]: every documented error in every shape, for "for every error the API
//!   documents, my code does X".
//! - [`Script`]: an outage as one responder, step by step.
//! - [`Journal`]: what arrived, when, with `#[track_caller]` assertions.

mod catalogue;
mod fake_api;
mod fixture;
pub mod fixtures;
mod journal;
mod mock_api;
mod script;

pub use catalogue::{Entry, catalogue};
pub use fake_api::FakeApi;
pub use fixture::Fixture;
pub use journal::{Journal, Received, redact};
pub use mock_api::{BlockingMockApi, MockApi};
pub use script::{Script, Step};

/// Re-exported so matchers passed to [`MockApi::mount_given`] come from the same wiremock.
pub use wiremock;

/// Re-exported so the middleware stack [`FakeApi`] joins comes from the same
/// reqwest-middleware.
pub use reqwest_middleware;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

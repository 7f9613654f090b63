//! wiremock fixtures for every error the API documents, for your own tests: no account, no
//! network (everything on 127.0.0.1).
//!
//! ```toml
//! [dev-dependencies]
//! errors-testkit = "0.1"
//! ```
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use errors_testkit::{MockApi, Script, fixtures};
//!
//! // Arrange: a rate limit, a provider outage, then success.
//! let api = MockApi::start().await;
//! api.mount_script(
//!     Script::new()
//!         .then(fixtures::rate_limited().retry_after_secs(1))
//!         .then(fixtures::vlm_provider_error())
//!         .then(fixtures::ok_json(&serde_json::json!({"id": 1}))),
//! )
//! .await;
//!
//! // Act: your code under test; here, a naive loop of three calls.
//! let client = reqwest::Client::new();
//! let mut statuses = Vec::new();
//! for _ in 0..3 {
//!     statuses.push(client.get(format!("{}/images/1", api.uri())).send().await.unwrap().status().as_u16());
//! }
//!
//! // Assert: what was served, and what the server saw.
//! assert_eq!(statuses, [429, 503, 200]);
//! api.journal().assert_attempts(3);
//! // A real client must also wait: `api.journal().assert_gap_at_least(1, Duration::from_secs(1))`.
//! # let _ = Duration::ZERO;
//! # }
//! ```
//!
//! For every error the API documents, [`catalogue`] gives a fixture; [`fixtures`] has one
//! constructor per documented code and status plus what sits in front of a real API (proxy
//! HTML, empty 503, hangs); [`Script`] plays outages; [`Journal`] asserts on what arrived.

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
#![forbid(unsafe_code)]

mod catalogue;
mod fixture;
pub mod fixtures;
mod journal;
mod mock_api;
mod script;

pub use catalogue::{Entry, catalogue};
pub use fixture::Fixture;
pub use journal::{Journal, Received};
pub use mock_api::{BlockingMockApi, MockApi};
pub use script::Script;

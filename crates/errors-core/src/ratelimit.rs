//! Rate limits as flow control rather than failure: which requests share a limit
//! ([`Partitioning`], [`Partition`], [`route_key`]), the limits a server states in its
//! messages and headers ([`RateLimitStatement`], [`RateLimitQuota`]), a partition's closed
//! window ([`RateLimitGate`]) and its [`Pacer`] (why it paces: [`PaceSource`]), and the
//! [`RateLimitEvent`]s a run reports. `docs/rate-limits.md` in the repository describes the
//! model.
//!
//! The state lives in a [`ClientRetryState`](crate::retry::ClientRetryState) and changes only
//! through a [`RetryRun`](crate::retry::RetryRun): these types are read, not driven.
//!
//! ```
//! use errors_core::ratelimit::{Partitioning, route_key};
//!
//! // By default a partition is a route, its ids folded: both images share one limit.
//! assert_eq!(
//!     route_key("https://api.example.com/v1/images/8f14e45f-ceea-467f-a0e6-0b3e5a2c7f00"),
//!     route_key("https://api.example.com/v1/images/42"),
//! );
//! // An API that limits the key across all routes: one partition for the whole client.
//! assert!(Partitioning::whole_client().is_whole_client());
//! ```

pub use crate::policy::{
    MAX_KEY_LEN, MAX_PARTITIONS, PaceSource, Pacer, Partition, Partitioning, RateLimitEvent,
    RateLimitGate, RateLimitQuota, RateLimitStatement, route_key,
};

//! Where a client's rate-limit state lives when several processes share one API key: a
//! store behind a trait, and the link the middleware keeps to it (its timeouts, its health,
//! the one warning when it stops answering).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use errors_core::ratelimit::RateLimitEvent;
use sha2::{Digest, Sha256};

use crate::time::millis;

/// The longest a request waits for the store before pacing locally: a round trip to a Redis
/// on the same network takes well under a millisecond, so fifty is a store in trouble, not a
/// busy one (issue #21 asks for "a bounded time, e.g. 50 ms").
pub const STORE_TIMEOUT: Duration = Duration::from_millis(50);
/// After the store failed to answer, how long requests pace locally before one asks it
/// again: one slow request a second probes it, the others do not wait on it.
const RETRY_STORE_AFTER: Duration = Duration::from_secs(1);

/// Shared rate-limit state for a fleet of processes on one API key (a service's replicas, a
/// batch's workers): each partition's pace, window and queue are kept in the store, so that
/// the processes reserve their send slots from one bucket and learn one pace, instead of
/// each pacing itself at the whole key's rate.
///
/// A client without a store keeps this state in the process and never calls out. With one,
/// every call the store does not answer within [`STORE_TIMEOUT`] is paced by the process's
/// own pacer (which learns from every answer all along), the first such failure is logged
/// once at WARN, and the store is asked again a second later: no call fails because of the
/// store. `RedisStore` (feature `redis`) is the implementation this
/// crate ships.
#[async_trait::async_trait]
pub trait RateLimitStore: fmt::Debug + Send + Sync + 'static {
    /// A send slot for the next request of `partition` (an opaque, hashed key: see
    /// [`partition_id`]), which cannot leave later than `before` from now.
    async fn reserve(
        &self,
        partition: &str,
        before: Option<Duration>,
    ) -> Result<Reservation, StoreError>;

    /// What an answer said about `partition`'s limit: a rejection, or a stated limit.
    async fn report(&self, partition: &str, event: &RateLimitEvent) -> Result<(), StoreError>;
}

/// The store's answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reservation {
    /// The partition is not paced and its window is open: send now.
    Unpaced,
    /// Send after this long (zero: now).
    After(Duration),
    /// The slot would come at or after the request's deadline: nothing was taken.
    TooLate,
    /// The slot is far off: wait this long and ask again (nothing was taken, so that the
    /// slot is taken at the pace in force when it comes).
    AskAgain(Duration),
}

/// A store that did not answer as it should.
#[derive(Debug, thiserror::Error)]
#[error("rate-limit store: {message}")]
#[non_exhaustive]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with a message (lowercase, no trailing period) and its cause.
    pub fn new(
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError {
            message: message.into(),
            source,
        }
    }
}

/// The opaque key a store gets for a partition: the SHA-256 of the client's API key (never
/// the key itself) and of the partition's route, so two API keys never share state and
/// nothing secret or long reaches the store.
pub fn partition_id(api_key_scope: &str, partition: &str) -> String {
    format!("{api_key_scope}:{}", short_hash(partition))
}

/// The first 64 bits of a SHA-256, in hex.
pub(crate) fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The middleware's link to a store: the store, the scope of its API key, and whether it
/// answers.
#[derive(Debug, Clone)]
pub(crate) struct StoreLink {
    store: Arc<dyn RateLimitStore>,
    scope: String,
    health: Arc<Health>,
}

#[derive(Debug, Default)]
struct Health {
    /// Until when (milliseconds since the middleware's anchor) requests pace locally.
    down_until_ms: AtomicU64,
    /// Whether the failure was logged (once, until the store answers again).
    warned: AtomicBool,
}

impl StoreLink {
    /// A link to `store` for the API key hashed as `scope`.
    pub(crate) fn new(store: Arc<dyn RateLimitStore>, scope: String) -> StoreLink {
        StoreLink {
            store,
            scope,
            health: Arc::default(),
        }
    }

    /// The store's key for a partition.
    pub(crate) fn partition(&self, key: &str) -> String {
        partition_id(&self.scope, key)
    }

    /// Whether requests at `now` should ask the store (it answered lately, or it is time to
    /// ask again).
    pub(crate) fn available(&self, now: Duration) -> bool {
        millis(now) >= self.health.down_until_ms.load(Ordering::Acquire)
    }

    /// Reserves a slot, within [`STORE_TIMEOUT`]; `None` when the store failed (the request
    /// paces locally).
    pub(crate) async fn reserve(
        &self,
        partition: &str,
        before: Option<Duration>,
        now: Duration,
    ) -> Option<Reservation> {
        let answer = tokio::time::timeout(STORE_TIMEOUT, self.store.reserve(partition, before));
        self.settle(answer.await, now)
    }

    /// Reports an event, within [`STORE_TIMEOUT`].
    pub(crate) async fn report(&self, partition: &str, event: &RateLimitEvent, now: Duration) {
        let answer = tokio::time::timeout(STORE_TIMEOUT, self.store.report(partition, event));
        self.settle(answer.await, now);
    }

    fn settle<T>(
        &self,
        answer: Result<Result<T, StoreError>, tokio::time::error::Elapsed>,
        now: Duration,
    ) -> Option<T> {
        let failure = match answer {
            Ok(Ok(value)) => {
                if self.health.warned.swap(false, Ordering::AcqRel) {
                    tracing::info!("rate-limit store answers again: pacing through it");
                }
                return Some(value);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {} ms", STORE_TIMEOUT.as_millis()),
        };
        let until = millis(now.saturating_add(RETRY_STORE_AFTER));
        self.health.down_until_ms.fetch_max(until, Ordering::AcqRel);
        if !self.health.warned.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                error = %failure,
                "rate-limit store unavailable: pacing in this process until it answers"
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_ids_hide_the_key_and_the_route_and_differ_by_key() {
        let route = "https://api.example.com/v1/search";
        let a = partition_id(&short_hash("sk-live-aaaa"), route);
        let b = partition_id(&short_hash("sk-live-bbbb"), route);
        assert_ne!(a, b);
        assert!(
            !a.contains("sk-live") && !a.contains("api.example.com"),
            "{a}"
        );
        assert_eq!(a.len(), 16 + 1 + 16);
        assert_eq!(a, partition_id(&short_hash("sk-live-aaaa"), route));
    }
}

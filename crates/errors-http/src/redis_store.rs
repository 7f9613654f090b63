//! [`RateLimitStore`] on Redis: one hash per partition, changed only by one Lua script
//! (`redis_store/fleet.lua`), so every reservation and every report is one atomic round
//! trip.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use errors_core::ratelimit::RateLimitEvent;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::store::{RateLimitStore, Reservation, STORE_TIMEOUT, StoreError};

/// The controller the fleet shares, run by Redis.
const FLEET: &str = include_str!("redis_store/fleet.lua");

/// The key prefix when none is given.
pub const DEFAULT_PREFIX: &str = "errors-http:ratelimit";

/// Rate-limit state in Redis, shared by every process whose client uses it (feature
/// `redis`): the partitions' queues, windows and paces, one hash each under
/// `<prefix>:<hash of the API key>:<hash of the route>`, expiring two minutes after their
/// last change.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use errors_http::{ApiClient, RedisStore};
///
/// let client = ApiClient::builder()
///     .base_url("https://api.example.com")
///     .api_key(std::env::var("API_KEY")?)
///     .rate_limit_store(RedisStore::new("redis://127.0.0.1:6379")?)
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
///
/// Connecting is lazy, and never holds a request long: a store that does not answer within
/// 50 ms leaves the request to the process's own pacer (see [`RateLimitStore`]); the
/// connection is re-established when Redis is back.
pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    script: redis::Script,
    connection: Mutex<Option<ConnectionManager>>,
}

impl fmt::Debug for RedisStore {
    // Not the URL: it may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`, `rediss://` for TLS, with
    /// `user:password@` if needed). Nothing is connected yet.
    pub fn new(url: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::new("the Redis URL is not valid", Some(Box::new(e))))?;
        Ok(RedisStore {
            client,
            prefix: DEFAULT_PREFIX.to_owned(),
            script: redis::Script::new(FLEET),
            connection: Mutex::new(None),
        })
    }

    /// The prefix of this store's keys (default [`DEFAULT_PREFIX`]): give each environment
    /// its own (`"staging:ratelimit"`) when they share a Redis and an API key.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> RedisStore {
        self.prefix = prefix.into();
        self
    }

    /// The Redis key of a partition.
    fn key(&self, partition: &str) -> String {
        format!("{}:{partition}", self.prefix)
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        if let Some(connection) = self.lock().clone() {
            return Ok(connection);
        }
        // The manager reconnects by itself once made; making it needs Redis to answer.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(STORE_TIMEOUT))
            .set_response_timeout(Some(STORE_TIMEOUT))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(self.client.clone(), config)
            .await
            .map_err(|e| StoreError::new("cannot connect to Redis", Some(Box::new(e))))?;
        *self.lock() = Some(connection.clone());
        Ok(connection)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ConnectionManager>> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Microseconds, as the script counts (saturating; a day at most in practice).
fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl RateLimitStore for RedisStore {
    async fn reserve(
        &self,
        partition: &str,
        before: Option<Duration>,
    ) -> Result<Reservation, StoreError> {
        let mut connection = self.connection().await?;
        let (code, wait): (i64, i64) = self
            .script
            .key(self.key(partition))
            .arg("reserve")
            .arg(before.map_or(-1, micros))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| StoreError::new("Redis did not reserve a slot", Some(Box::new(e))))?;
        let wait = Duration::from_micros(u64::try_from(wait).unwrap_or(0));
        Ok(match code {
            0 => Reservation::Unpaced,
            2 => Reservation::TooLate,
            3 => Reservation::AskAgain(wait),
            _ => Reservation::After(wait),
        })
    }

    async fn report(&self, partition: &str, event: &RateLimitEvent) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let (limit, window) = event
            .quota
            .map_or((0, 0), |q| (q.limit(), micros(q.window())));
        let _: i64 = self
            .script
            .key(self.key(partition))
            .arg("report")
            .arg(u8::from(event.throttled))
            .arg(limit)
            .arg(window)
            .arg(event.retry_after.map_or(-1, micros))
            .arg(micros(event.sent_ago))
            .arg(event.local_rate.unwrap_or(-1.0))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| StoreError::new("Redis did not take the report", Some(Box::new(e))))?;
        Ok(())
    }
}

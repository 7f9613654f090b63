//! [`RetryMiddlewareBuilder`]: a [`RetryMiddleware`]'s settings.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use errors_core::RetryPolicy;
use errors_core::clock::{Clock, SystemClock};
use errors_core::error::ErrorParser;
use errors_core::retry::{ClientRetryState, RetryBudget};

use super::{Inner, RetryMiddleware};
use crate::store::{RateLimitStore, StoreLink};
use crate::trace::Trace;

/// Settings for a [`RetryMiddleware`].
#[derive(Debug)]
pub struct RetryMiddlewareBuilder {
    policy: RetryPolicy,
    state: ClientRetryState,
    clock: Arc<dyn Clock>,
    parser: ErrorParser,
    seed: Option<u64>,
    trace: Trace,
    store: Option<StoreLink>,
}

impl RetryMiddlewareBuilder {
    /// The defaults around `policy` ([`RetryMiddleware::builder`]).
    pub(super) fn new(policy: RetryPolicy) -> RetryMiddlewareBuilder {
        RetryMiddlewareBuilder {
            policy,
            state: ClientRetryState::with_budget(RetryBudget::default()),
            clock: Arc::new(SystemClock),
            parser: ErrorParser::default(),
            seed: None,
            trace: Trace::default(),
            store: None,
        }
    }

    /// Shares `state` (budget and rate-limit window) with other middleware instances, or
    /// replaces the default one, e.g. with [`ClientRetryState::without_budget`].
    pub fn retry_state(mut self, state: ClientRetryState) -> Self {
        self.state = state;
        self
    }

    /// The wall clock that turns a `Retry-After` date into a delay.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How much of an error body is read (default 64 KiB).
    pub fn error_body_limit(mut self, limit: usize) -> Self {
        self.parser = self.parser.with_body_limit(limit);
        self
    }

    /// Makes the jitter reproducible: request `n` of this middleware uses seed `seed + n`.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The level of the events for retries and rate-limit holds (default DEBUG; INFO makes
    /// them visible under a usual `info` filter). Successes are logged at DEBUG, a call that
    /// fails after retrying or because of a limit (deadline, budget, retries, a wait beyond
    /// the maximum) at WARN, and an answer that is final at once (404, 401...) at DEBUG: the
    /// caller gets it as an error. See the crate docs.
    pub fn log_level(mut self, level: tracing::Level) -> Self {
        self.trace = Trace::new(level);
        self
    }

    /// Keeps the partitions' rate-limit state in `store`, shared with every process that
    /// uses it (see [`RateLimitStore`]); `scope` separates API keys that share the store
    /// (give a hash of the key, never the key: [`ApiClientBuilder::rate_limit_store`]
    /// does). Without a store the state stays in the process.
    ///
    /// [`ApiClientBuilder::rate_limit_store`]: crate::ApiClientBuilder::rate_limit_store
    pub fn rate_limit_store(mut self, store: impl RateLimitStore, scope: &str) -> Self {
        self.store = Some(StoreLink::new(Arc::new(store), scope.to_owned()));
        self
    }

    /// A store link made by the client builder (scoped by its API key).
    pub(crate) fn store_link(mut self, link: StoreLink) -> Self {
        self.store = Some(link);
        self
    }

    /// The middleware.
    pub fn build(self) -> RetryMiddleware {
        RetryMiddleware {
            inner: Arc::new(Inner {
                policy: self.policy,
                state: self.state,
                clock: self.clock,
                parser: self.parser,
                seed: self.seed.map(AtomicU64::new),
                trace: self.trace,
                store: self.store,
            }),
        }
    }
}

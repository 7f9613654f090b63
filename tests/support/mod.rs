//! What the root tests (`tests/*.rs`) share beyond errors-testkit, whose servers (`MockApi`,
//! `BlockingMockApi`, `FakeApi`, `FaultServer`), `Script`, fixtures, journal and
//! `wait_until` they use: the retry policies several files run with, and the launcher of the
//! FastAPI apps. A test file that uses them declares `mod support;`.

// Each test file compiles this module whole and uses a part of it.
#![allow(dead_code)]

pub(crate) mod uvicorn;

use std::time::Duration;

use errors_core::RetryPolicy;

/// The default policy with backoffs of 1 ms, then 2 ms at most: the retry table at the speed
/// of a test on the wall clock, with the default number of retries.
pub(crate) fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(2))
}

/// One retry, after a backoff of 5 ms at most: two attempts in all.
pub(crate) fn one_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_retries(1)
}

/// Three retries, after backoffs from 1 ms: four attempts in all.
pub(crate) fn three_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_retries(3)
}

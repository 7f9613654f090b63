//! What a call did, as metrics through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`): whatever exporter the application installed (Prometheus, StatsD,
//! OpenTelemetry) shows them. Without the feature, or without an exporter, this costs
//! nothing.
//!
//! | metric | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `errors_http_attempts_total` | counter | `partition` | attempts sent |
//! | `errors_http_rate_limited_total` | counter | `partition` | `429` answers |
//! | `errors_http_retries_total` | counter | `partition`, `reason` | retries decided (`rate_limited`, `server_error`, `not_sent`, `transport`, `overridden`) |
//! | `errors_http_retry_wait_seconds` | histogram | `partition` | the wait before each retry |
//! | `errors_http_holds_total` | counter | `partition` | holds for the rate limit before an attempt |
//! | `errors_http_hold_seconds` | histogram | `partition` | each hold's length |
//! | `errors_http_calls_total` | counter | `partition`, `outcome` | calls ended, by outcome (`succeeded`, `not_retryable`, `retries_exhausted`, `deadline_exceeded`, ...: [`StopReason::as_str`]) |
//! | `errors_http_budget_available` | gauge | | retries the client's budget allows now |
//!
//! `partition` is the rate-limit partition (by default the route, ids folded: a bounded
//! set, see `errors_core::ratelimit::Partitioning`); the whole-client partition is `""`.

use std::time::Duration;

use errors_core::retry::{ClientRetryState, Decision, RetryRun, StopReason};

/// The labels of one call's metrics.
pub(crate) struct CallMeter {
    #[cfg(feature = "metrics")]
    partition: String,
}

impl CallMeter {
    /// The meter of a call to `url` with `method`, in `state`'s partitions.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(state: &ClientRetryState, method: &http::Method, url: &str) -> CallMeter {
        CallMeter {
            #[cfg(feature = "metrics")]
            partition: state.partitioning().key(method, url),
        }
    }

    /// A hold of `hold` before the next attempt.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn hold(&self, hold: Duration) {
        #[cfg(feature = "metrics")]
        {
            let partition = self.partition.clone();
            metrics::counter!("errors_http_holds_total", "partition" => partition.clone())
                .increment(1);
            metrics::histogram!("errors_http_hold_seconds", "partition" => partition)
                .record(hold.as_secs_f64());
        }
    }

    /// The attempt just recorded in `run`, and what was decided after it.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn attempt(&self, run: &RetryRun, decision: Decision, state: &ClientRetryState) {
        #[cfg(feature = "metrics")]
        {
            let partition = self.partition.clone();
            metrics::counter!("errors_http_attempts_total", "partition" => partition.clone())
                .increment(1);
            if run.attempts().last().and_then(|a| a.status) == Some(429) {
                metrics::counter!("errors_http_rate_limited_total", "partition" => partition.clone())
                    .increment(1);
            }
            match decision {
                Decision::Retry { wait, reason } => {
                    metrics::counter!(
                        "errors_http_retries_total",
                        "partition" => partition.clone(),
                        "reason" => reason.as_str()
                    )
                    .increment(1);
                    metrics::histogram!("errors_http_retry_wait_seconds", "partition" => partition)
                        .record(wait.as_secs_f64());
                }
                Decision::Stop(stop) => self.ended(stop),
            }
            if let Some(budget) = state.budget() {
                metrics::gauge!("errors_http_budget_available").set(budget.available() as f64);
            }
        }
    }

    /// A call that ended with `stop`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn ended(&self, stop: StopReason) {
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "errors_http_calls_total",
            "partition" => self.partition.clone(),
            "outcome" => stop.as_str()
        )
        .increment(1);
    }
}

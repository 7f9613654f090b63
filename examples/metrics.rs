//! The client's metrics (errors-http's `metrics` feature) after a short outage and a rate
//! limit, through a small in-process recorder that prints them: any exporter of the `metrics`
//! facade (Prometheus, StatsD, OpenTelemetry) would show the same names and labels.
//!
//! ```text
//! cargo run --example metrics
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errors_http::{ApiClient, RetryPolicy};
use errors_testkit::{FakeApi, Script, fixtures};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

fn main() {
    let recorder = Recorded::default();
    metrics::set_global_recorder(recorder.clone()).expect("no other recorder is installed");

    // A fake of the API, in process: a provider error, then an answer; a rate limit, then
    // an answer; a monthly quota, which no retry fixes.
    let api = FakeApi::new();
    api.mount_at(
        "/v1/images/17",
        Script::new()
            .then(fixtures::vlm_provider_error())
            .then(fixtures::ok_json(&serde_json::json!({"id": 17}))),
    );
    api.mount_at(
        "/v1/search",
        Script::new()
            .then(fixtures::rate_limited().with_retry_after_secs(1))
            .then(fixtures::ok_json(&serde_json::json!([]))),
    );
    api.mount_at("/v1/usage", fixtures::usage_limit_exceeded());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let client = ApiClient::builder()
            .base_url(format!("{}/v1", api.uri()))
            .policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(50)))
            .with_middleware(api.clone())
            .build()
            .expect("client");
        for path in ["images/17", "search", "usage"] {
            let _ = client.get_json::<serde_json::Value>(path).await;
        }
    });
    print!("{}", recorder.render());
}

/// A recorder that keeps every metric in memory and renders them as text lines,
/// `name{label="value",...} value`, sorted.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorded {
    values: Arc<Mutex<BTreeMap<String, Value>>>,
}

/// A metric's value: a counter's total, a gauge's last value, a histogram's count and sum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    Counter(u64),
    Gauge(f64),
    Histogram { count: u64, sum: f64 },
}

impl Recorded {
    /// The value of the metric rendered as `line` (`name{label="value"}`), if it was set.
    #[allow(dead_code)] // by tests/metrics.rs
    pub(crate) fn get(&self, line: &str) -> Option<Value> {
        self.values.lock().ok()?.get(line).copied()
    }

    /// Every metric, a line each.
    pub(crate) fn render(&self) -> String {
        let Ok(values) = self.values.lock() else {
            return String::new();
        };
        values
            .iter()
            .map(|(line, value)| match value {
                Value::Counter(n) => format!("{line} {n}\n"),
                Value::Gauge(v) => format!("{line} {v}\n"),
                Value::Histogram { count, sum } => {
                    format!("{line} count={count} sum={sum:.3}\n")
                }
            })
            .collect()
    }

    fn handle(&self, key: &Key) -> Arc<Handle> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={:?}", l.key(), l.value()))
            .collect();
        Arc::new(Handle {
            line: format!("{}{{{}}}", key.name(), labels.join(",")),
            values: self.values.clone(),
        })
    }
}

struct Handle {
    line: String,
    values: Arc<Mutex<BTreeMap<String, Value>>>,
}

impl Handle {
    fn update(&self, f: impl FnOnce(Option<Value>) -> Value) {
        if let Ok(mut values) = self.values.lock() {
            let old = values.get(&self.line).copied();
            values.insert(self.line.clone(), f(old));
        }
    }
}

impl CounterFn for Handle {
    fn increment(&self, n: u64) {
        self.update(|old| match old {
            Some(Value::Counter(total)) => Value::Counter(total + n),
            _ => Value::Counter(n),
        });
    }
    fn absolute(&self, n: u64) {
        self.update(|_| Value::Counter(n));
    }
}

impl GaugeFn for Handle {
    fn increment(&self, v: f64) {
        self.update(|old| match old {
            Some(Value::Gauge(g)) => Value::Gauge(g + v),
            _ => Value::Gauge(v),
        });
    }
    fn decrement(&self, v: f64) {
        GaugeFn::increment(self, -v);
    }
    fn set(&self, v: f64) {
        self.update(|_| Value::Gauge(v));
    }
}

impl HistogramFn for Handle {
    fn record(&self, v: f64) {
        self.update(|old| match old {
            Some(Value::Histogram { count, sum }) => Value::Histogram {
                count: count + 1,
                sum: sum + v,
            },
            _ => Value::Histogram { count: 1, sum: v },
        });
    }
}

impl Recorder for Recorded {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

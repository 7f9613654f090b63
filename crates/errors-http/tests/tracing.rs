//! What a logical call logs through `tracing`: one `api_request` span with the method and
//! the URL path (never the query string or a secret), one event per decision carrying the
//! attempt number, retries and rate-limit holds below WARN, a failure after retrying at WARN.

mod support;

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errors_core::RetryPolicy;
use errors_core::retry::{RetryBudget, StopReason};
use errors_http::ApiClient;
use errors_testkit::{Fixture, MockApi, Script, fixtures, wait_until};
use reqwest::Method;
use support::envelope;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event: its level, its fields, and the fields of the span it was logged in.
#[derive(Clone, Debug)]
struct Logged {
    level: Level,
    fields: String,
    span: String,
}

/// Keeps this crate's spans and events.
#[derive(Clone, Default)]
struct Collect {
    events: Arc<Mutex<Vec<Logged>>>,
    spans: Arc<Mutex<Vec<String>>>,
    current: Arc<Mutex<Vec<u64>>>,
    next: Arc<AtomicU64>,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("errors_http")
    }
    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = Fields(format!("{} ", attributes.metadata().name()));
        attributes.record(&mut fields);
        let mut spans = self.spans.lock().unwrap();
        spans.push(fields.0);
        self.next.fetch_add(1, Ordering::Relaxed);
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let span = match self.current.lock().unwrap().last() {
            Some(id) => self.spans.lock().unwrap()[*id as usize - 1].clone(),
            None => String::new(),
        };
        self.events.lock().unwrap().push(Logged {
            level: *event.metadata().level(),
            fields: fields.0,
            span,
        });
    }
    fn enter(&self, id: &Id) {
        self.current.lock().unwrap().push(id.into_u64());
    }
    fn exit(&self, _: &Id) {
        self.current.lock().unwrap().pop();
    }
}

fn client(server: &MockApi, level: Option<Level>) -> ApiClient {
    let mut builder = ApiClient::builder()
        .base_url(server.uri())
        .api_key("sk-live-secret")
        .policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1)));
    if let Some(level) = level {
        builder = builder.log_level(level);
    }
    builder.build().unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn one_span_per_call_and_one_event_per_decision() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());

    let server = MockApi::start().await;
    let script = Script::new()
        .then(Fixture::empty(503))
        .then(envelope(429, "RATE_LIMIT_ERROR", "Rate limit exceeded").with_retry_after_secs(0))
        .then(fixtures::ok())
        .then(envelope(404, "NOT_FOUND", "Rule not found"));
    server.mount(script).await;
    let client = client(&server, None);
    client
        .send(client.request(Method::GET, "items/7?api_key=sk-live-secret&q=1"))
        .await
        .unwrap();

    let spans = collect.spans.lock().unwrap().clone();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert!(spans[0].starts_with("api_request "), "{}", spans[0]);
    assert!(spans[0].contains("method=GET"), "{}", spans[0]);
    assert!(spans[0].contains("path=/items/7"), "{}", spans[0]);
    assert!(!spans[0].contains("api_key") && !spans[0].contains("q=1"));

    let events = collect.events.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:#?}");
    assert!(events.iter().all(|e| e.span == spans[0]), "{events:#?}");
    // Retries are DEBUG by default: the call may still succeed.
    assert_eq!(events[0].level, Level::DEBUG);
    assert!(events[0].fields.contains("retrying request"));
    assert!(
        events[0].fields.contains("attempt=1 status=503"),
        "{}",
        events[0].fields
    );
    assert!(events[0].fields.contains("wait_ms="));
    assert!(events[0].fields.contains("reason=transient server error"));
    assert_eq!(events[1].level, Level::DEBUG);
    assert!(
        events[1].fields.contains("attempt=2 status=429"),
        "{}",
        events[1].fields
    );
    assert!(events[1].fields.contains(r#"code="RATE_LIMIT_ERROR""#));
    assert!(events[1].fields.contains(r#"request_id="req-429""#));
    assert!(events[1].fields.contains("reason=rate limited"));
    assert_eq!(events[2].level, Level::DEBUG);
    assert!(events[2].fields.contains("request succeeded"));
    assert!(events[2].fields.contains("attempt=3"));

    // An answer that is final at once reaches the caller as an error: DEBUG, not a warning.
    // (The call may first be held by the pace the client learned from the 429, an event of
    // its own, tested with the holds.)
    client
        .send(client.request(Method::GET, "items/8"))
        .await
        .unwrap_err();
    let events: Vec<_> = collect
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| !e.fields.contains("holding for the client's rate limit"))
        .cloned()
        .collect();
    assert_eq!(events.len(), 4, "{events:#?}");
    assert_eq!(events[3].level, Level::DEBUG);
    assert!(events[3].fields.contains("request failed"));
    assert!(events[3].fields.contains("status=404"));
    assert!(events[3].span.contains("path=/items/8"));
    assert_eq!(collect.spans.lock().unwrap().len(), 2);
    let everything = format!("{:?}{:?}", events, collect.spans.lock().unwrap());
    assert!(!everything.contains("sk-live-secret"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_failure_after_retrying_is_a_warning_and_the_retry_level_is_configurable() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());
    let server = MockApi::start().await;
    server.mount(Fixture::empty(503)).await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(
            RetryPolicy::default()
                .with_max_retries(1)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .log_level(Level::INFO)
        .build()
        .unwrap();
    let error = client
        .send(client.request(Method::GET, "x"))
        .await
        .unwrap_err();
    assert_eq!(error.attempts().len(), 2);
    let events = collect.events.lock().unwrap().clone();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0].level, Level::INFO);
    assert!(events[0].fields.contains("retrying request"));
    assert_eq!(events[1].level, Level::WARN);
    assert!(events[1].fields.contains("request failed"));
    assert!(events[1].fields.contains("attempt=2"));
    assert!(events[1].fields.contains("reason=retries exhausted"));
}

#[tokio::test(flavor = "current_thread")]
async fn rate_limit_holds_are_logged_and_recorded() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());
    let server = MockApi::start().await;
    let limited = envelope(
        429,
        "RATE_LIMIT_ERROR",
        "Rate limit exceeded: 20 calls per 1 seconds",
    )
    // Longer than the header's one-second resolution: the window is closed, and the
    // partition holds (a `1` holds only the rejected request).
    .with_retry_after_secs(2);
    server
        .mount(Script::new().then(limited).then(fixtures::ok()))
        .await;
    let client = client(&server, None);
    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.send(client.request(Method::GET, "items/1")).await })
    };
    wait_until("the first call met its 429", async || {
        !client.rate_limited_for().is_zero()
    })
    .await;
    // `items/2` is the route of `items/1` (ids are folded): held by its window.
    let second = client
        .send(client.request(Method::GET, "items/2"))
        .await
        .unwrap();
    first.await.unwrap().unwrap();
    // The second call never met the 429 itself: it was held by the client's window.
    assert_eq!(second.attempts.len(), 1);
    assert!(second.attempts[0].held >= Duration::from_millis(1900));
    assert_eq!(second.attempts[0].waited, second.attempts[0].held);
    let events = collect.events.lock().unwrap().clone();
    let hold = events
        .iter()
        .find(|e| e.fields.contains("holding for the client's rate limit"))
        .expect("a hold event");
    assert_eq!(hold.level, Level::DEBUG);
    assert!(hold.span.contains("path=/items/2"), "{hold:?}");
    assert!(hold.fields.contains("attempt=1 hold_ms="), "{hold:?}");
    let done = events
        .iter()
        .find(|e| e.span.contains("path=/items/2") && e.fields.contains("request succeeded"))
        .expect("items/2 succeeded");
    assert!(!done.fields.contains("held_ms=0 "), "{done:?}");
}

/// The one `request failed` event of a call that stops on its first attempt because of a
/// limit: WARN, whatever the retry level (a final answer on a first attempt is DEBUG).
fn the_failure(collect: &Collect) -> Logged {
    let events = collect.events.lock().unwrap().clone();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.fields.contains("request failed"))
        .cloned()
        .collect();
    assert_eq!(failed.len(), 1, "{events:#?}");
    failed[0].clone()
}

#[tokio::test(flavor = "current_thread")]
async fn a_wait_beyond_the_maximum_is_a_warning() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());
    let server = MockApi::start().await;
    server
        .mount(envelope(429, "RATE_LIMIT_ERROR", "Rate limit exceeded").with_retry_after_secs(3600))
        .await;
    let client = client(&server, None);
    let error = client
        .send(client.request(Method::GET, "x"))
        .await
        .unwrap_err();
    assert_eq!(
        error.stop_reason(),
        Some(StopReason::RetryAfterTooLong {
            requested_ms: 3_600_000
        })
    );
    let failed = the_failure(&collect);
    assert_eq!(failed.level, Level::WARN, "{failed:?}");
    assert!(failed.fields.contains("attempt=1 status=429"), "{failed:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_exhausted_budget_is_a_warning() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());
    let server = MockApi::start().await;
    server.mount(Fixture::empty(503)).await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1)))
        .budget(Some(RetryBudget::new(0, 0.0)))
        .build()
        .unwrap();
    let error = client
        .send(client.request(Method::GET, "x"))
        .await
        .unwrap_err();
    assert_eq!(error.stop_reason(), Some(StopReason::BudgetExhausted));
    assert_eq!(error.attempts().len(), 1);
    let failed = the_failure(&collect);
    assert_eq!(failed.level, Level::WARN, "{failed:?}");
    assert!(failed.fields.contains("attempt=1 status=503"), "{failed:?}");
}

/// A wait that cannot end before the deadline stops the call after its answer (WARN); the
/// window that answer closed then holds the client's next call past its own deadline: it
/// stops before sending, with a WARN of its own.
#[tokio::test(flavor = "current_thread")]
async fn a_deadline_and_a_hold_past_it_are_warnings() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());
    let server = MockApi::start().await;
    server
        .mount(envelope(429, "RATE_LIMIT_ERROR", "Rate limit exceeded").with_retry_after_secs(30))
        .await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .policy(RetryPolicy::default().with_deadline(Duration::from_secs(5)))
        .build()
        .unwrap();
    let error = client
        .send(client.request(Method::GET, "items/1"))
        .await
        .unwrap_err();
    assert_eq!(error.stop_reason(), Some(StopReason::DeadlineExceeded));
    let failed = the_failure(&collect);
    assert_eq!(failed.level, Level::WARN, "{failed:?}");
    assert!(failed.fields.contains("attempt=1 status=429"), "{failed:?}");

    collect.events.lock().unwrap().clear();
    // Another item of the same route (one partition): held by that window.
    let error = client
        .send(client.request(Method::GET, "items/2"))
        .await
        .unwrap_err();
    assert_eq!(error.stop_reason(), Some(StopReason::DeadlineExceeded));
    assert!(error.attempts().is_empty(), "{error:?}");
    assert_eq!(server.journal().len(), 1, "the held call was never sent");
    let events = collect.events.lock().unwrap().clone();
    let held = events
        .iter()
        .find(|e| e.fields.contains("no time left for the next attempt"))
        .unwrap_or_else(|| panic!("no held-too-long event: {events:#?}"));
    assert_eq!(held.level, Level::WARN, "{held:?}");
    assert!(held.fields.contains("attempt=1"), "{held:?}");
    assert!(held.span.contains("path=/items/2"), "{held:?}");
}

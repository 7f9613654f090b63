//! One `tracing` event per retry decision, at the configured level; the success path only at
//! DEBUG.

mod support;

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errors_core::RetryPolicy;
use errors_http::ApiClient;
use reqwest::Method;
use support::{Script, envelope, ok_json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use wiremock::{MockServer, ResponseTemplate};

/// Keeps this crate's events as `(level, "name=value ...")`.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<(Level, String)>>>);

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
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn one_event_per_decision_at_the_configured_level() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());

    let server = MockServer::start().await;
    let script = Script::new(vec![
        ResponseTemplate::new(503),
        envelope(429, "RATE_LIMIT_ERROR", "Rate limit exceeded").insert_header("retry-after", "0"),
        ok_json(),
        envelope(404, "NOT_FOUND", "Rule not found"),
    ]);
    script.mount(&server).await;
    let client = ApiClient::builder()
        .base_url(server.uri())
        .api_key("sk-live-secret")
        .policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1)))
        .log_level(Level::INFO)
        .build()
        .unwrap();
    client.send(client.request(Method::GET, "x")).await.unwrap();

    let events = collect.0.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(events[0].0, Level::INFO);
    assert!(events[0].1.contains("retrying request"), "{}", events[0].1);
    assert!(
        events[0].1.contains("attempt=1 status=503"),
        "{}",
        events[0].1
    );
    assert!(events[0].1.contains("wait_ms="), "{}", events[0].1);
    assert!(events[0].1.contains("reason=transient server error"));
    assert_eq!(events[1].0, Level::INFO);
    assert!(
        events[1].1.contains("attempt=2 status=429"),
        "{}",
        events[1].1
    );
    assert!(events[1].1.contains(r#"code="RATE_LIMIT_ERROR""#));
    assert!(events[1].1.contains(r#"request_id="req-429""#));
    assert!(events[1].1.contains("reason=rate limited"));
    // Success is only logged at DEBUG.
    assert_eq!(events[2].0, Level::DEBUG);
    assert!(events[2].1.contains("request succeeded"), "{}", events[2].1);

    client
        .send(client.request(Method::GET, "x"))
        .await
        .unwrap_err();
    let events = collect.0.lock().unwrap().clone();
    assert_eq!(events.len(), 4, "{events:#?}");
    assert_eq!(events[3].0, Level::INFO);
    assert!(events[3].1.contains("request failed"), "{}", events[3].1);
    assert!(events[3].1.contains("status=404"), "{}", events[3].1);
    assert!(
        events
            .iter()
            .all(|(_, fields)| !fields.contains("sk-live-secret"))
    );
}

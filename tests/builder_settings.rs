//! Every setting of the blocking client's builder reaches the client it builds: each test
//! builds an `errors_blocking::ApiClient` with one setting and observes its effect on what is
//! sent, what comes back, or what the build refuses. (The blocking builder forwards each
//! setting to the async one; a setting dropped on the way fails here.)
//!
//! `add_root_certificates_pem` trusting an authority is also checked end to end in
//! `tests/tls.rs` (`blocking_client_trusts_an_added_authority_and_rejects_an_unknown_one`).

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use errors_blocking::ApiClient;
use errors_core::RetryPolicy;
use errors_core::clock::ManualClock;
use errors_core::retry::{ClientRetryState, RetryBudget, StopReason};
use errors_http::ErrorKind;
use errors_testkit::{BlockingMockApi, FakeApi, Fixture, Script, fixtures};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use support::fast;

/// A mock API answering `steps` in order (the last repeating), and a builder aimed at it
/// with retries fast enough for tests.
fn serve(steps: impl IntoIterator<Item = Fixture>) -> BlockingMockApi {
    let api = BlockingMockApi::start();
    api.mount_script(steps.into_iter().fold(Script::new(), Script::then));
    api
}

fn builder(api: &BlockingMockApi) -> errors_blocking::ApiClientBuilder {
    ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .policy(fast())
}

fn header(api: &BlockingMockApi, name: &str) -> Option<String> {
    let requests = api.journal().requests();
    let first = requests.first().expect("a request arrived");
    first.header(name).map(str::to_owned)
}

#[test]
fn base_url_and_api_key() {
    let api = serve([fixtures::ok()]);
    let client = builder(&api).api_key("sk-forwarded").build().unwrap();
    client.get_json::<serde_json::Value>("items/1").unwrap();
    let requests = api.journal().requests();
    assert_eq!(requests[0].path, "/v1/items/1");
    assert_eq!(
        header(&api, "authorization").as_deref(),
        Some("Bearer sk-forwarded")
    );
}

#[test]
fn auth_header() {
    let api = serve([fixtures::ok()]);
    let client = builder(&api)
        .api_key("sk-forwarded")
        .auth_header("X-Api-Key", None)
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("x").unwrap();
    assert_eq!(header(&api, "x-api-key").as_deref(), Some("sk-forwarded"));
    assert_eq!(header(&api, "authorization"), None);
}

#[test]
fn policy() {
    let api = serve([Fixture::empty(503)]);
    let client = builder(&api)
        .policy(fast().with_max_retries(1))
        .build()
        .unwrap();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    assert_eq!(err.stop_reason(), Some(StopReason::RetriesExhausted));
    assert_eq!(api.journal().len(), 2, "1 + 1 retry, not the default 3");
}

#[test]
fn budget() {
    let api = serve([Fixture::empty(503)]);
    let client = builder(&api)
        .budget(Some(RetryBudget::new(1, 0.0)))
        .build()
        .unwrap();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    assert_eq!(err.stop_reason(), Some(StopReason::BudgetExhausted));
    assert_eq!(api.journal().len(), 2, "1 + the one retry in the reserve");
}

#[test]
fn retry_state() {
    let api = serve([fixtures::rate_limited().with_retry_after_secs(3600)]);
    let state = ClientRetryState::without_budget();
    let client = builder(&api).retry_state(state.clone()).build().unwrap();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    assert!(
        matches!(
            err.stop_reason(),
            Some(StopReason::RetryAfterTooLong { .. })
        ),
        "{err:?}"
    );
    // The 429 closed the window of the state handed in (its route's partition): it is the
    // client's own.
    let route = state
        .partition(&errors_core::ratelimit::route_key(&format!(
            "{}/v1/x",
            api.uri()
        )))
        .expect("the route's partition");
    assert!(route.gate().open_at() > Duration::ZERO);
    assert!(route.pacer().is_active());
}

#[test]
fn attempt_timeout_and_no_attempt_timeout() {
    let api = serve([fixtures::hang(Duration::from_secs(10))]);
    let client = builder(&api)
        .policy(fast().with_max_retries(0))
        .attempt_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Without an attempt timeout, the deadline is what cuts the attempt.
    let client = builder(&api)
        .policy(
            fast()
                .with_max_retries(0)
                .with_attempt_timeout(Duration::from_millis(100)),
        )
        .no_attempt_timeout()
        .deadline(Duration::from_millis(400))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn deadline_and_no_deadline() {
    // A rate limit asking for 1 s: within no deadline it is waited; past a 500 ms one it is
    // not started.
    let api = serve([
        fixtures::rate_limited().with_retry_after_secs(1),
        fixtures::ok(),
    ]);
    let client = builder(&api)
        .deadline(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    assert_eq!(err.stop_reason(), Some(StopReason::DeadlineExceeded));
    let api = serve([
        fixtures::rate_limited().with_retry_after_secs(1),
        fixtures::ok(),
    ]);
    let client = builder(&api)
        .policy(fast().with_deadline(Duration::from_millis(500)))
        .no_deadline()
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("x").unwrap();
}

#[test]
fn max_wait() {
    let api = serve([
        fixtures::rate_limited().with_retry_after_secs(2),
        fixtures::ok(),
    ]);
    let client = builder(&api)
        .max_wait(Duration::from_secs(1))
        .build()
        .unwrap();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    assert_eq!(err.requested_delay(), Some(Duration::from_secs(2)));
}

#[test]
fn partition_by() {
    // One partition for the whole client: a 429 on one route holds the other.
    let api = BlockingMockApi::start();
    api.mount_at(
        "/v1/a",
        fixtures::rate_limited().with_retry_after_secs(3600),
    );
    api.mount_at("/v1/b", fixtures::ok());
    let client = ApiClient::builder()
        .base_url(format!("{}/v1", api.uri()))
        .policy(fast().with_deadline(Duration::from_secs(2)))
        .partition_by(errors_core::ratelimit::Partitioning::whole_client())
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("a").unwrap_err();
    let err = client.get_json::<serde_json::Value>("b").unwrap_err();
    assert_eq!(
        err.stop_reason(),
        Some(StopReason::DeadlineExceeded),
        "{err:?}"
    );
}

/// Settings that configure the `reqwest::Client` cannot reach one passed in ready-made: the
/// build says so by name, which it can only do when the blocking builder forwarded them.
#[test]
fn connect_timeout_and_root_certificates_reach_the_build() {
    type Setting = fn(errors_blocking::ApiClientBuilder) -> errors_blocking::ApiClientBuilder;
    let settings: [(&str, Setting); 2] = [
        ("connect_timeout", |b| {
            b.connect_timeout(Duration::from_secs(1))
        }),
        ("add_root_certificates_pem", |b| {
            b.add_root_certificates_pem(self_signed_pem())
        }),
    ];
    for (name, set) in settings {
        let built = set(ApiClient::builder().with_client(reqwest::Client::new())).build();
        let err = built.err().unwrap_or_else(|| panic!("{name}: built"));
        assert!(err.to_string().contains(name), "{name}: {err}");
        // Without the ready-made client, the same setting builds.
        set(ApiClient::builder()).build().unwrap();
    }
}

fn self_signed_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem()
}

#[test]
fn clock() {
    // `Retry-After` dates are read against the clock given: exactly 1 s after it.
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let api = serve([
        fixtures::rate_limited().with_retry_after_date(wall + Duration::from_secs(1)),
        fixtures::ok(),
    ]);
    let client = builder(&api)
        .policy(fast().with_retry_after_jitter(0.0))
        .clock(Arc::new(ManualClock::new(wall)))
        .build()
        .unwrap();
    let response = client.send(client.request(Method::GET, "x")).unwrap();
    // (Against the real clock that date is long past: no wait at all but a 2 ms backoff.)
    // The recorded wait is measured: a loaded machine wakes the call a few ms late.
    let waited = response.attempts[1].waited;
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_millis(1050),
        "{waited:?}"
    );
}

#[test]
fn jitter_seed() {
    let waits = |seed| {
        let api = serve([Fixture::empty(503)]);
        let client = builder(&api)
            .policy(
                RetryPolicy::default()
                    .with_initial_backoff(Duration::from_millis(40))
                    .with_max_retries(3),
            )
            .jitter_seed(seed)
            .build()
            .unwrap();
        let err = client.get_json::<serde_json::Value>("x").unwrap_err();
        err.attempts().iter().map(|a| a.waited).collect::<Vec<_>>()
    };
    assert_eq!(waits(7), waits(7));
    assert_ne!(waits(7), waits(8));
}

#[test]
fn error_body_limit() {
    let api = serve([fixtures::large_body(400, 10_000)]);
    let client = builder(&api).error_body_limit(1024).build().unwrap();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    let api_error = err.api_error().expect("an API error");
    // 10 kB: under the default 64 KiB, over the 1 KiB set here.
    assert!(api_error.is_truncated(), "{api_error:?}");
    let api = serve([fixtures::large_body(400, 10_000)]);
    let err = builder(&api)
        .build()
        .unwrap()
        .get_json::<serde_json::Value>("x")
        .unwrap_err();
    assert!(!err.api_error().unwrap().is_truncated());
}

#[test]
fn response_body_limit() {
    let api = serve([fixtures::ok_json(
        &serde_json::json!({"data": "x".repeat(10_000)}),
    )]);
    let client = builder(&api).response_body_limit(1024).build().unwrap();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    assert_eq!(
        err.attempts()[0].transport,
        Some(errors_core::retry::TransportKind::ResponseTooLarge),
        "{err:?}"
    );
}

#[test]
fn user_agent_and_default_headers() {
    let api = serve([fixtures::ok()]);
    let mut headers = HeaderMap::new();
    headers.insert("x-tenant", HeaderValue::from_static("t-1"));
    let client = builder(&api)
        .user_agent("settings-test/1")
        .default_headers(headers)
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("x").unwrap();
    assert_eq!(
        header(&api, "user-agent").as_deref(),
        Some("settings-test/1")
    );
    assert_eq!(header(&api, "x-tenant").as_deref(), Some("t-1"));
}

#[test]
fn with_client_and_with_client_builder() {
    let marked = |value: &'static str| {
        let mut headers = HeaderMap::new();
        headers.insert("x-made-by", HeaderValue::from_static(value));
        reqwest::Client::builder().default_headers(headers)
    };
    let api = serve([fixtures::ok()]);
    let client = builder(&api)
        .with_client(marked("with_client").build().unwrap())
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("x").unwrap();
    assert_eq!(header(&api, "x-made-by").as_deref(), Some("with_client"));

    let api = serve([fixtures::ok()]);
    let client = builder(&api)
        .with_client_builder(marked("with_client_builder"))
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("x").unwrap();
    assert_eq!(
        header(&api, "x-made-by").as_deref(),
        Some("with_client_builder")
    );
}

#[test]
fn with_middleware() {
    // The fake API answers below the retry middleware: nothing reaches the network.
    let fake = FakeApi::new();
    fake.mount(Script::new().then(Fixture::empty(503)).then(fixtures::ok()));
    let client = ApiClient::builder()
        .base_url("http://api.invalid/v1")
        .policy(fast())
        .with_middleware(fake.clone())
        .build()
        .unwrap();
    let response = client.send(client.request(Method::GET, "x")).unwrap();
    assert_eq!(response.attempts.len(), 2);
    assert_eq!(fake.journal().len(), 2);
}

/// The level of retry events: the client's runtime thread logs them, so the subscriber is
/// the global one (this binary's only).
#[test]
fn log_level() {
    #[derive(Clone, Default)]
    struct Levels(Arc<Mutex<Vec<(tracing::Level, String)>>>);
    impl tracing::Subscriber for Levels {
        fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
            metadata.target().starts_with("errors_http")
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            struct Message(String);
            impl tracing::field::Visit for Message {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), message.0));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }
    // Other tests of this binary log retries at DEBUG meanwhile: only this one's are INFO.
    let levels = Levels::default();
    tracing::subscriber::set_global_default(levels.clone()).unwrap();
    let api = serve([Fixture::empty(503), fixtures::ok()]);
    let client = builder(&api)
        .log_level(tracing::Level::INFO)
        .build()
        .unwrap();
    client.get_json::<serde_json::Value>("x").unwrap();
    let logged = levels.0.lock().unwrap().clone();
    let retrying = logged
        .iter()
        .filter(|(level, message)| {
            *level == tracing::Level::INFO && message.contains("retrying request")
        })
        .count();
    assert_eq!(retrying, 1, "{logged:?}");
}

/// The names of the `pub fn`s in the `impl <ty> {` block of a source file.
fn methods(source: &str, ty: &str) -> std::collections::BTreeSet<String> {
    let start = source
        .find(&format!("\nimpl {ty} {{\n"))
        .unwrap_or_else(|| panic!("no `impl {ty}` block"));
    let block = &source[start + 1..];
    let block = &block[..block.find("\n}\n").expect("the impl block ends")];
    block
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub fn "))
        .map(|rest| rest.split(['(', '<']).next().unwrap_or_default().to_owned())
        .collect()
}

/// Every setting of the async builder exists under the same name on the blocking one (the
/// tests above check that each one the blocking builder has reaches the client).
#[test]
fn every_setting_of_the_async_builder_exists_on_the_blocking_one() {
    let settings = methods(
        include_str!("../crates/errors-http/src/client/builder.rs"),
        "ApiClientBuilder",
    );
    let blocking = methods(
        include_str!("../crates/errors-blocking/src/client.rs"),
        "ApiClientBuilder",
    );
    for expected in ["api_key", "deadline", "with_client_builder", "build"] {
        assert!(settings.contains(expected), "{settings:?}");
    }
    let missing: Vec<_> = settings.difference(&blocking).collect();
    assert!(
        missing.is_empty(),
        "missing on errors_blocking::ApiClientBuilder: {missing:?}"
    );
}

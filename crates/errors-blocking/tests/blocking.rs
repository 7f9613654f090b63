//! The blocking facade from plain synchronous tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use errors_blocking::{ApiClient, ErrorKind, Method, RetryPolicy, SafeToRepeat};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// A mock server on its own runtime, usable from a synchronous test.
struct Server {
    // Keeps the server's runtime (and so the server) alive for the test.
    _runtime: tokio::runtime::Runtime,
    server: MockServer,
    received: Arc<Mutex<Vec<Request>>>,
}

#[derive(Clone)]
struct Steps(Arc<Vec<ResponseTemplate>>, Arc<Mutex<Vec<Request>>>);

impl Respond for Steps {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut received = self.1.lock().unwrap();
        received.push(request.clone());
        self.0[(received.len() - 1).min(self.0.len() - 1)].clone()
    }
}

impl Server {
    fn start(steps: Vec<ResponseTemplate>) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let responder = Steps(Arc::new(steps), received.clone());
        let server = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(responder)
                .mount(&server)
                .await;
            server
        });
        Server {
            _runtime: runtime,
            server,
            received,
        }
    }

    fn client(&self) -> ApiClient {
        let policy = RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_retries(2);
        ApiClient::builder()
            .base_url(self.server.uri())
            .api_key("sk-very-secret")
            .policy(policy)
            .build()
            .unwrap()
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
}

#[test]
fn decodes_a_success_and_sends_the_key_as_a_bearer_token() {
    let server = Server::start(vec![json(200, r#"{"id":1}"#)]);
    let value: serde_json::Value = server.client().get_json("rules/1").unwrap();
    assert_eq!(value["id"], 1);
    let received = server.received.lock().unwrap();
    assert_eq!(
        received[0].headers["authorization"],
        "Bearer sk-very-secret"
    );
    assert_eq!(received[0].url.path(), "/rules/1");
}

#[test]
fn retries_like_the_async_stack_and_keeps_the_history() {
    let server = Server::start(vec![ResponseTemplate::new(503), json(200, "{}")]);
    let response = server
        .client()
        .send(server.client().request(Method::GET, "x"))
        .unwrap();
    assert_eq!(response.attempts.len(), 2);
    assert_eq!(response.attempts[0].status, Some(503));
    assert_eq!(server.count(), 2);
}

#[test]
fn a_post_answered_500_is_sent_once_unless_marked_safe() {
    let server = Server::start(vec![
        ResponseTemplate::new(500),
        ResponseTemplate::new(500),
        json(200, "{}"),
    ]);
    let client = server.client();
    let err = client
        .send(client.request(Method::POST, "jobs").body("{}"))
        .unwrap_err();
    assert_eq!(err.status().unwrap(), 500);
    assert_eq!(server.count(), 1);
    client
        .send(
            client
                .request(Method::POST, "jobs")
                .body("{}")
                .with_extension(SafeToRepeat),
        )
        .unwrap();
    assert_eq!(server.count(), 3);
}

#[test]
fn api_errors_carry_code_solution_and_request_id() {
    let server = Server::start(vec![json(
        429,
        r#"{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly API call limit reached"},"request_id":"req-7"}"#,
    )]);
    let err = server
        .client()
        .get_json::<serde_json::Value>("x")
        .unwrap_err();
    assert_eq!(server.count(), 1);
    assert_eq!(err.request_id(), Some("req-7"));
    assert_eq!(
        err.api_error().unwrap().solution(),
        Some("Wait for next billing cycle or upgrade plan")
    );
    assert_eq!(
        err.to_string(),
        "429 Too Many Requests: USAGE_LIMIT_EXCEEDED: Monthly API call limit reached (request id req-7)"
    );
}

#[test]
fn the_key_never_shows_in_debug_or_errors() {
    let server = Server::start(vec![json(
        401,
        r#"{"detail":{"code":"INVALID_API_KEY","message":"Invalid API key"}}"#,
    )]);
    let client = server.client();
    let err = client.get_json::<serde_json::Value>("x").unwrap_err();
    for text in [
        format!("{client:?}"),
        format!("{err:?}"),
        err.to_string(),
        format!("{:?}", ApiClient::builder().api_key("sk-very-secret")),
    ] {
        assert!(!text.contains("sk-very-secret"), "{text}");
    }
}

#[test]
fn inside_an_async_runtime_it_refuses_instead_of_panicking() {
    let server = Server::start(vec![json(200, "{}")]);
    let client = server.client();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async { client.get_json::<serde_json::Value>("x") });
    let err = result.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::BlockingInAsync), "{err:?}");
    assert_eq!(server.count(), 0);
    // Building and dropping a client inside async code does not panic either.
    runtime.block_on(async {
        let inner = ApiClient::builder()
            .base_url("http://127.0.0.1:9/")
            .build()
            .unwrap();
        drop(inner);
    });
    // And it still works outside.
    client.get_json::<serde_json::Value>("x").unwrap();
}

#[test]
fn a_user_agent_by_default_and_default_headers() {
    let server = Server::start(vec![json(200, "{}")]);
    let client = server.client();
    client.get_json::<serde_json::Value>("x").unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-team", "billing".parse().unwrap());
    headers.insert("user-agent", "overridden/0".parse().unwrap());
    let custom = ApiClient::builder()
        .base_url(server.server.uri())
        .default_headers(headers)
        .user_agent("my-script/2.0")
        .build()
        .unwrap();
    custom.get_json::<serde_json::Value>("x").unwrap();
    // A request's own header wins over the defaults.
    custom
        .send(custom.request(Method::GET, "x").header("x-team", "search"))
        .unwrap();
    let received = server.received.lock().unwrap();
    let header = |i: usize, name: &str| {
        received[i]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header(0, "user-agent").as_deref(),
        Some(concat!("errors-http/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(header(1, "user-agent").as_deref(), Some("my-script/2.0"));
    assert_eq!(header(1, "x-team").as_deref(), Some("billing"));
    assert_eq!(header(2, "x-team").as_deref(), Some("search"));
    assert_eq!(received[2].headers.get_all("x-team").iter().count(), 1);
}

#[test]
fn one_client_shared_by_many_threads() {
    let server = Server::start(vec![json(200, r#"{"ok":true}"#)]);
    let client = server.client();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let ok: serde_json::Value = client.get_json("x").unwrap();
                    assert_eq!(ok["ok"], true);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(server.count(), 80);
}

#[test]
fn usable_from_spawn_blocking_and_from_a_multi_thread_worker() {
    let server = Server::start(vec![json(200, r#"{"ok":true}"#)]);
    let client = server.client();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let from_pool = client.clone();
        let ok = tokio::task::spawn_blocking(move || from_pool.get_json::<serde_json::Value>("x"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ok["ok"], true);
        // On a worker thread it steps aside (block_in_place) rather than refusing.
        let on_worker = client.clone();
        let ok = tokio::spawn(async move { on_worker.get_json::<serde_json::Value>("x") })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ok["ok"], true);
    });
    assert_eq!(server.count(), 2);
}

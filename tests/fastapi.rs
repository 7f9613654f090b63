//! Against the real framework: a small FastAPI app of ours (tests/fastapi/app.py) on
//! 127.0.0.1, driven by both clients. The bodies here are FastAPI's own, not typed from docs.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use errors_core::{ErrorCode, RetryPolicy, Shape, StopReason};
use errors_http::{ApiClient, ApiResponse, Error};
use reqwest::Method;

/// The uvicorn process; killed when dropped.
struct App {
    child: Child,
    url: String,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<String> {
    let configured = std::env::var("FASTAPI_PYTHON").ok();
    let local = format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    configured.or_else(|| std::path::Path::new(&local).exists().then_some(local))
}

fn start() -> Option<App> {
    let Some(python) = python() else {
        let message = "FastAPI tests need a Python with tests/fastapi/requirements.txt installed: \
                       set FASTAPI_PYTHON or create .venv (see tests/fastapi/README.md)";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("skipping: {message}");
        return None;
    };
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut child = Command::new(python)
        .args([
            "-m",
            "uvicorn",
            "app:app",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fastapi"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start uvicorn");
    // Ready when uvicorn says so on stderr (read on a thread, waited for with a bound).
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Uvicorn running") {
                let _ = tx.send(());
            }
        }
    });
    let app = App {
        child,
        url: format!("http://127.0.0.1:{port}/"),
    };
    rx.recv_timeout(Duration::from_secs(30))
        .expect("uvicorn did not start within 30 s");
    Some(app)
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_retries(1)
        // Rate-limit retries have their own bound (the limiter's waits are flow control).
        .with_max_rate_limit_retries(1)
        .with_deadline(Some(Duration::from_secs(10)))
}

/// Sends through both clients and returns both results.
fn both(
    app: &App,
    method: Method,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> [Result<ApiResponse, Error>; 2] {
    let build = |client: &ApiClient| {
        let mut request = client.request(method.clone(), path);
        for (n, v) in headers {
            request = request.header(*n, *v);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        request
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let from_async = runtime.block_on(async {
        let client = ApiClient::builder()
            .base_url(app.url.clone())
            .api_key("sk-fastapi-test")
            .policy(policy())
            .build()
            .unwrap();
        client.send(build(&client)).await
    });
    drop(runtime);
    let blocking = errors_blocking::Client::builder()
        .base_url(app.url.clone())
        .api_key("sk-fastapi-test")
        .policy(policy())
        .build()
        .unwrap();
    let from_blocking = blocking.send(build(blocking.async_client()));
    [from_async, from_blocking]
}

#[test]
fn fastapi_errors_through_both_clients() {
    let Some(app) = start() else { return };

    for err in both(&app, Method::GET, "rules/9", None, &[]).map(Result::unwrap_err) {
        let api = err.api_error().unwrap();
        assert_eq!(
            (api.status().as_u16(), api.shape(), api.message()),
            (404, Shape::DetailString, Some("Rule not found"))
        );
        assert_eq!(err.attempts().len(), 1);
    }

    for err in both(&app, Method::GET, "files/1", None, &[]).map(Result::unwrap_err) {
        let api = err.api_error().unwrap();
        assert_eq!(api.shape(), Shape::DetailObject);
        assert_eq!(api.code(), Some(&ErrorCode::AuthzError));
        assert_eq!(api.field(), Some("scope"));
        assert_eq!(
            api.solution(),
            Some("Create a new API key with the required scope")
        );
    }

    for err in both(&app, Method::GET, "search?limit=500", None, &[]).map(Result::unwrap_err) {
        let api = err.api_error().unwrap();
        assert_eq!(
            (api.status().as_u16(), api.shape(), api.field()),
            (422, Shape::DetailList, Some("limit"))
        );
        assert_eq!(
            api.message(),
            Some("limit: Input should be less than or equal to 100")
        );
    }

    for err in both(&app, Method::POST, "items", Some(r#"{"name":1}"#), &[]).map(Result::unwrap_err)
    {
        let api = err.api_error().unwrap();
        assert_eq!(api.field(), Some("name"));
        assert_eq!(
            api.message(),
            Some("name: Input should be a valid string; count: Field required")
        );
        assert_eq!(err.attempts().len(), 1, "validation is never retried");
    }
    for ok in both(
        &app,
        Method::POST,
        "items",
        Some(r#"{"name":"a","count":2}"#),
        &[],
    ) {
        assert_eq!(ok.unwrap().status, 200);
    }

    // The framework's own 500 for an unhandled exception: plain text. A POST is not repeated.
    for err in both(&app, Method::POST, "boom", Some("{}"), &[]).map(Result::unwrap_err) {
        let api = err.api_error().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(
            (api.status().as_u16(), api.shape(), api.message()),
            (500, Shape::Text, Some("Internal Server Error"))
        );
        assert_eq!(err.attempts().len(), 1);
        assert_eq!(err.stop_reason(), Some(StopReason::UnsafeToRepeat));
    }
    // A GET is retried after it. (uvicorn resets the kept-alive connection after an unhandled
    // exception, so the retry may end in a reset rather than a second 500: both are errors
    // whose history starts with the 500.)
    for err in both(&app, Method::GET, "boom", None, &[]).map(Result::unwrap_err) {
        assert_eq!(err.attempts()[0].status, Some(500), "{err:?}");
        assert_eq!(err.attempts().len(), 2, "{err:?}");
        assert_eq!(err.stop_reason(), Some(StopReason::RetriesExhausted));
    }

    for err in both(&app, Method::GET, "usage", None, &[]).map(Result::unwrap_err) {
        assert_eq!(
            err.api_error().unwrap().code(),
            Some(&ErrorCode::UsageLimitExceeded)
        );
        assert_eq!(err.attempts().len(), 1, "a monthly limit is never retried");
        assert_eq!(err.request_id(), Some("req-usage"));
    }

    // The rate limiter: a request id in body and header, Retry-After 1 s, then recovery.
    // Both clients send the same key, so only the first (async) sees the 429.
    let [first, second] = both(&app, Method::GET, "flaky", None, &[("x-test-key", "k1")]);
    let response = first.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.attempts.len(), 2);
    assert_eq!(response.attempts[0].code, Some(ErrorCode::RateLimitError));
    let id = response.attempts[0]
        .request_id
        .as_deref()
        .unwrap_or_default();
    assert_eq!(id.len(), 36, "a uuid request id: {id:?}");
    assert!(response.attempts[1].waited >= Duration::from_secs(1));
    assert_eq!(second.unwrap().attempts.len(), 1);

    // A server that echoes request headers, the API key among them, in its error message.
    for err in both(&app, Method::POST, "echo-headers", Some("{}"), &[]).map(Result::unwrap_err) {
        let api = err.api_error().unwrap();
        assert!(
            api.message()
                .unwrap()
                .contains("authorization: Bearer [redacted]"),
            "{api}"
        );
        let shown = format!("{err} {err:?} {}", serde_json::to_string(api).unwrap());
        assert!(
            !shown.contains("sk-fastapi-test"),
            "the key leaked: {shown}"
        );
    }

    let started = Instant::now();
    let [a, b] = both(&app, Method::GET, "limited", None, &[]);
    for err in [a.unwrap_err(), b.unwrap_err()] {
        let api = err.api_error().unwrap();
        assert_eq!(api.code(), Some(&ErrorCode::RateLimitError));
        assert_eq!(api.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(
            err.attempts().len(),
            2,
            "retried once after its Retry-After"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "each client waited its Retry-After"
    );
}

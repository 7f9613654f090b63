//! Shapes where the limiter is not ours: the FastAPI app `tests/fastapi/slowapi_app.py`
//! behind slowapi (on `limits`, both from PyPI), one uvicorn worker on 127.0.0.1, started
//! afresh for each client so both meet an empty limiter. Python comes from `FASTAPI_PYTHON`,
//! else `<repo>/.venv/bin/python` (tests/fastapi/README.md); without it, or without slowapi
//! installed there, these shapes print "skipped: ..." and the example goes on.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{Report, drive_ours, drive_reqwest_retry};

/// How long uvicorn may take to say it is ready.
const STARTUP_CAP: Duration = Duration::from_secs(30);

struct SlowShape {
    name: &'static str,
    calls: usize,
    /// Requests per second the limit allows in the long run.
    rate: f64,
    /// The `limits` rate string.
    limit: &'static str,
    /// `limits`' strategy.
    strategy: &'static str,
    /// `envelope` (the API's answer, limit stated in the message) or `default` (slowapi's own
    /// answer: `{"error": "Rate limit exceeded: 50 per 1 second"}` and X-RateLimit-* headers).
    answer: &'static str,
}

fn shapes() -> Vec<SlowShape> {
    let shape = |name, strategy, answer| SlowShape {
        name,
        calls: 1000,
        rate: 50.0,
        limit: "50/second",
        strategy,
        answer,
    };
    vec![
        shape(
            "slowapi-fixed-envelope slowapi fixed window 50/second, the API's envelope (stated)",
            "fixed-window",
            "envelope",
        ),
        shape(
            "slowapi-moving-envelope slowapi moving window 50/second, the API's envelope (stated)",
            "moving-window",
            "envelope",
        ),
        shape(
            "slowapi-sliding-envelope slowapi sliding window counter 50/second, the API's envelope (stated)",
            "sliding-window-counter",
            "envelope",
        ),
        shape(
            "slowapi-fixed-default slowapi fixed window 50/second, slowapi's own answer and X-RateLimit-* headers",
            "fixed-window",
            "default",
        ),
        shape(
            "slowapi-moving-default slowapi moving window 50/second, slowapi's own answer and X-RateLimit-* headers",
            "moving-window",
            "default",
        ),
    ]
}

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

/// Why these shapes cannot run here, if they cannot.
fn unavailable(python: Option<&str>) -> Option<String> {
    let Some(python) = python else {
        return Some(
            "no Python: set FASTAPI_PYTHON or create .venv (tests/fastapi/README.md)".to_owned(),
        );
    };
    match Command::new(python)
        .args(["-c", "import fastapi, uvicorn, slowapi, limits"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => None,
        Ok(_) => Some(format!(
            "{python} lacks fastapi, uvicorn or slowapi: pip install -r tests/fastapi/requirements.txt"
        )),
        Err(e) => Some(format!("cannot run {python}: {e}")),
    }
}

/// Starts the app on a free port and waits (bounded) for uvicorn to say it is ready.
fn start(python: &str, shape: &SlowShape) -> Result<App, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let mut child = Command::new(python)
        .args(["-m", "uvicorn", "slowapi_app:app", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string(), "--no-access-log"])
        .env("SLOWAPI_APP_LIMIT", shape.limit)
        .env("SLOWAPI_APP_STRATEGY", shape.strategy)
        .env("SLOWAPI_APP_ANSWER", shape.answer)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fastapi"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start uvicorn: {e}"))?;
    let stderr = child.stderr.take().expect("piped stderr");
    let app = App {
        child,
        url: format!("http://127.0.0.1:{port}/"),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Uvicorn running") {
                let _ = tx.send(Ok(()));
            } else if seen.len() < 20 {
                seen.push(line);
            }
        }
        // Exited: report what it said (ignored if it was ready).
        let _ = tx.send(Err(seen.join("\n")));
    });
    match rx.recv_timeout(STARTUP_CAP) {
        Ok(Ok(())) => Ok(app),
        Ok(Err(said)) => Err(format!("uvicorn exited before it was ready:\n{said}")),
        Err(_) => Err(format!("uvicorn not ready within {STARTUP_CAP:?}")),
    }
}

/// What the app counted: requests to the limited route and its 429s.
async fn stats(url: &str) -> Result<(u64, u64), String> {
    let body: serde_json::Value = reqwest::get(format!("{url}stats"))
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let count = |name: &str| body[name].as_u64().ok_or(format!("no {name} in {body}"));
    Ok((count("requests")?, count("rejected")?))
}

/// One client against a fresh app: `client` sends the calls and returns (wall, failed).
async fn run<F, Fut>(python: &str, shape: &SlowShape, client: F) -> Result<Report, String>
where
    F: FnOnce(String, usize) -> Fut,
    Fut: std::future::Future<Output = (Duration, usize)>,
{
    let app = tokio::task::block_in_place(|| start(python, shape))?;
    let (wall, failed) = client(format!("{}v1/", app.url), shape.calls).await;
    let (requests, rejected) = stats(&app.url).await?;
    Ok(Report {
        wall,
        requests,
        rejected,
        failed,
    })
}

fn row(client: &str, shape: &SlowShape, report: &Result<Report, String>) {
    let report = match report {
        Ok(report) => report,
        Err(e) => return println!("| {client} | skipped: {e} |"),
    };
    super::row(client, shape.calls, shape.rate, report);
}

/// Runs the shapes whose name contains one of `filters` (all when empty).
pub(super) async fn run_shapes(filters: &[String]) {
    let chosen: Vec<SlowShape> = shapes()
        .into_iter()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| s.name.contains(f.as_str())))
        .collect();
    if chosen.is_empty() {
        return;
    }
    let python = python();
    if let Some(why) = unavailable(python.as_deref()) {
        for shape in &chosen {
            println!("\n{}: skipped: {why}", shape.name);
        }
        return;
    }
    let python = python.expect("checked above");
    let calls = std::env::var("CALLS").ok().and_then(|c| c.parse().ok());
    for shape in chosen {
        let shape = SlowShape {
            calls: calls.unwrap_or(shape.calls),
            ..shape
        };
        super::table_head(shape.name, shape.calls, shape.rate);
        let ours = run(&python, &shape, drive_ours).await;
        row("ApiClient (default)", &shape, &ours);
        let theirs = run(&python, &shape, drive_reqwest_retry).await;
        row("reqwest-retry default", &shape, &theirs);
    }
}

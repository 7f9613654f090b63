//! Shapes where the limiter is not ours: the FastAPI app `tests/fastapi/slowapi_app.py`
//! behind slowapi (on `limits`, both from PyPI), one uvicorn worker on 127.0.0.1, started
//! afresh for each client so both meet an empty limiter. Python comes from `FASTAPI_PYTHON`,
//! else `<repo>/.venv/bin/python` (tests/fastapi/README.md); without it, or without slowapi
//! installed there, these shapes (and the `routes-slowapi` scenario, which starts the app
//! from here) print "skipped: ..." and the example goes on.

use std::process::{Command, Stdio};

use super::uvicorn::{self, App, python};
use super::{Counts, Peer, Report, RouteCount, drive_shape};

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

/// The Python to run the app with, or why there is none that can.
pub(super) fn python_ready() -> Result<String, String> {
    let Some(python) = python() else {
        return Err(
            "no Python: set FASTAPI_PYTHON or create .venv (tests/fastapi/README.md)".to_owned(),
        );
    };
    match Command::new(&python)
        .args(["-c", "import fastapi, uvicorn, slowapi, limits"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => Ok(python),
        Ok(_) => Err(format!(
            "{python} lacks fastapi, uvicorn or slowapi: pip install -r tests/fastapi/requirements.txt"
        )),
        Err(e) => Err(format!("cannot run {python}: {e}")),
    }
}

/// Starts the app with the settings `env` (`SLOWAPI_APP_*`), waiting (bounded) until
/// uvicorn says it is ready.
pub(super) fn start(python: &str, env: &[(&str, &str)]) -> Result<App, String> {
    uvicorn::start(python, "slowapi_app:app", env)
}

/// What the app counted: requests and 429s per route (`/v1/items`, `/v1/search`).
pub(super) async fn stats(url: &str) -> Result<Counts, String> {
    let body: serde_json::Value = reqwest::get(format!("{url}stats"))
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let routes = body["routes"]
        .as_object()
        .ok_or(format!("no routes in {body}"))?;
    let count = |counts: &serde_json::Value, name: &str| {
        counts[name]
            .as_u64()
            .ok_or(format!("no {name} in {counts}"))
    };
    let routes = routes
        .iter()
        .map(|(route, counts)| {
            Ok(RouteCount {
                route: route.clone(),
                requests: count(counts, "requests")?,
                rejected: count(counts, "rejected")?,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Counts {
        routes,
        rejections: Vec::new(),
    })
}

/// The app's settings for `shape`.
fn settings(shape: &SlowShape) -> [(&'static str, &'static str); 3] {
    [
        ("SLOWAPI_APP_LIMIT", shape.limit),
        ("SLOWAPI_APP_STRATEGY", shape.strategy),
        ("SLOWAPI_APP_ANSWER", shape.answer),
    ]
}

/// One client against a fresh app.
async fn run(python: &str, shape: &SlowShape, peer: Peer) -> Result<Report, String> {
    let app = tokio::task::block_in_place(|| start(python, &settings(shape)))?;
    let (wall, failed) = drive_shape(peer, format!("{}v1/", app.url()), shape.calls).await;
    let (requests, rejected) = stats(app.url()).await?.total();
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
    let python = match python_ready() {
        Ok(python) => python,
        Err(why) => {
            for shape in &chosen {
                println!("\n{}: skipped: {why}", shape.name);
            }
            return;
        }
    };
    let calls = std::env::var("CALLS").ok().and_then(|c| c.parse().ok());
    for shape in chosen {
        let shape = SlowShape {
            calls: calls.unwrap_or(shape.calls),
            ..shape
        };
        super::table_head(shape.name, shape.calls, shape.rate);
        for peer in Peer::BOTH {
            row(peer.label(), &shape, &run(&python, &shape, peer).await);
        }
    }
}

//! [`Script`]: a scripted outage, one step per request.

use std::sync::{Arc, Mutex};

use wiremock::{Request, Respond, ResponseTemplate};

use crate::Fixture;

/// A stateful, thread-safe responder that answers each request with the next step:
/// "429 with Retry-After 1 s, then 503, then 200 with this JSON". After the last step, the
/// last step repeats.
///
/// ```
/// use errors_testkit::{Script, fixtures};
///
/// let script = Script::new()
///     .then(fixtures::rate_limited().retry_after_secs(1))
///     .then(fixtures::vlm_provider_error())
///     .then(fixtures::ok_json(&serde_json::json!({"done": true})));
/// assert_eq!(script.len(), 3);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Script {
    steps: Vec<ResponseTemplate>,
    served: Arc<Mutex<usize>>,
}

impl Script {
    /// An empty script (it answers 500 until a step is added).
    pub fn new() -> Script {
        Script::default()
    }

    /// `failure` `n` times, then `success`.
    pub fn fail_then_succeed(n: usize, failure: Fixture, success: Fixture) -> Script {
        let mut script = Script::new();
        for _ in 0..n {
            script = script.then(failure.clone());
        }
        script.then(success)
    }

    /// Adds a step.
    pub fn then(mut self, step: impl Into<ResponseTemplate>) -> Script {
        self.steps.push(step.into());
        self
    }

    /// How many steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the script has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// How many requests this script has answered.
    pub fn served(&self) -> usize {
        *self.served.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Respond for Script {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        // One lock covers "which step" and "count it", so concurrent requests each get
        // their own step.
        let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        let step = (*served).min(self.steps.len().saturating_sub(1));
        *served += 1;
        self.steps
            .get(step)
            .cloned()
            .unwrap_or_else(|| ResponseTemplate::new(500))
    }
}

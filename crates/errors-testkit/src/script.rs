//! [`Script`]: a scripted outage, one step per request.

use std::sync::{Arc, Mutex};

use wiremock::{Request, Respond, ResponseTemplate};

use crate::Fixture;

/// A stateful, thread-safe responder that answers each request with the next step:
/// "429 with Retry-After 1 s, then 503, then 200 with this JSON" as one value.
///
/// - Steps are served in order, each exactly once, even to concurrent requests (one lock
///   picks the step and counts it).
/// - **After the last step, the last step repeats**: a script ending in success keeps
///   succeeding, one ending in an outage keeps failing. The journal shows any extra request.
/// - A script with no steps answers 500 (an empty script is a test bug, made loud).
/// - Clones share their position: keep a clone to ask [`served`](Script::served) later.
///
/// Mount it on every path with `mount`, or on one path with `mount_at` (a script per path:
/// each keeps its own count), on any of the kit's servers: [`FakeApi`](crate::FakeApi),
/// [`MockApi`](crate::MockApi), [`BlockingMockApi`](crate::BlockingMockApi).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use errors_testkit::{FakeApi, Script, fixtures};
///
/// let outage = Script::new()
///     .then(fixtures::rate_limited().with_retry_after_secs(1))
///     .then(fixtures::vlm_provider_error())
///     .then(fixtures::ok_json(&serde_json::json!({"done": true})));
/// let progress = outage.clone(); // clones share their position
///
/// let api = FakeApi::new();
/// api.mount_at("/v1/jobs/1", outage);
/// let client = api.client();
/// let mut statuses = Vec::new();
/// for _ in 0..4 {
///     let response = client.get(format!("{}/v1/jobs/1", api.uri())).send().await.unwrap();
///     statuses.push(response.status().as_u16());
/// }
///
/// assert_eq!(statuses, [429, 503, 200, 200]); // then the last step repeats
/// assert!(progress.is_done());
/// assert_eq!(progress.served(), 4);
///
/// // "Fail twice, then succeed".
/// let flaky = Script::fail_then_succeed(2, fixtures::empty_unavailable(), fixtures::no_content());
/// assert_eq!(flaky.len(), 3);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Script {
    steps: Vec<Step>,
    served: Arc<Mutex<usize>>,
}

/// One step of a [`Script`]: a [`Fixture`] (served by every mock server of this kit) or a
/// wiremock [`ResponseTemplate`] (served by [`MockApi`](crate::MockApi) and
/// [`BlockingMockApi`](crate::BlockingMockApi) only: wiremock does not expose a template's
/// contents, so [`FakeApi`](crate::FakeApi) cannot send one).
///
/// You rarely name it: [`Script::then`] takes anything that converts into it.
#[derive(Debug, Clone)]
pub struct Step(StepKind);

#[derive(Debug, Clone)]
pub(crate) enum StepKind {
    Fixture(Box<Fixture>),
    Template(ResponseTemplate),
}

impl Step {
    pub(crate) fn kind(&self) -> &StepKind {
        &self.0
    }

    fn to_template(&self) -> ResponseTemplate {
        match &self.0 {
            StepKind::Fixture(fixture) => fixture.to_template(),
            StepKind::Template(template) => template.clone(),
        }
    }
}

impl From<Fixture> for Step {
    fn from(fixture: Fixture) -> Step {
        Step(StepKind::Fixture(Box::new(fixture)))
    }
}

impl From<&Fixture> for Step {
    fn from(fixture: &Fixture) -> Step {
        Step(StepKind::Fixture(Box::new(fixture.clone())))
    }
}

impl From<ResponseTemplate> for Step {
    fn from(template: ResponseTemplate) -> Step {
        Step(StepKind::Template(template))
    }
}

impl Script {
    /// An empty script; add steps with [`then`](Script::then).
    pub fn new() -> Script {
        Script::default()
    }

    /// `failure` `n` times, then `success` (which then repeats).
    pub fn fail_then_succeed(n: usize, failure: Fixture, success: Fixture) -> Script {
        Script::new().then_times(n, failure).then(success)
    }

    /// Adds a step: a [`Fixture`] or any wiremock [`ResponseTemplate`].
    pub fn then(mut self, step: impl Into<Step>) -> Script {
        self.steps.push(step.into());
        self
    }

    /// Adds the same step `n` times.
    pub fn then_times(mut self, n: usize, step: impl Into<Step>) -> Script {
        let step = step.into();
        self.steps.extend(std::iter::repeat_n(step, n));
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

    /// How many requests this script has answered, including repeats of the last step.
    pub fn served(&self) -> usize {
        *self.served.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether every step has been served at least once.
    pub fn is_done(&self) -> bool {
        self.served() >= self.steps.len()
    }

    /// The steps, in order.
    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The step that answers the next request (`None` for an empty script), counted as
    /// served.
    pub(crate) fn next_step(&self) -> Option<&Step> {
        // One lock covers "which step" and "count it", so concurrent requests each get
        // their own step.
        let step = {
            let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
            let step = (*served).min(self.steps.len().saturating_sub(1));
            *served += 1;
            step
        };
        self.steps.get(step)
    }
}

/// A fixture is a script of one step, which repeats.
impl From<Fixture> for Script {
    fn from(fixture: Fixture) -> Script {
        Script::new().then(fixture)
    }
}

impl From<&Fixture> for Script {
    fn from(fixture: &Fixture) -> Script {
        Script::new().then(fixture)
    }
}

impl Respond for Script {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        self.next_step()
            .map_or_else(|| ResponseTemplate::new(500), Step::to_template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            url: "http://127.0.0.1/".parse().unwrap(),
            method: wiremock::http::Method::GET,
            headers: wiremock::http::HeaderMap::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn concurrent_callers_each_get_their_own_step_then_the_last_repeats() {
        let steps: Vec<ResponseTemplate> = (200..240).map(ResponseTemplate::new).collect();
        // Templates expose nothing but Debug: identify a step by it.
        let step_of = |t: &ResponseTemplate| {
            let debug = format!("{t:?}");
            steps
                .iter()
                .position(|s| format!("{s:?}") == debug)
                .unwrap()
        };
        let script = steps.iter().cloned().fold(Script::new(), Script::then);
        let mut served: Vec<usize> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        (0..5)
                            .map(|_| step_of(&script.respond(&request())))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        served.sort_unstable();
        assert_eq!(served, (0..40).collect::<Vec<_>>());
        assert!(script.is_done());
        assert_eq!(step_of(&script.respond(&request())), 39);
        assert_eq!(script.served(), 41);
    }

    #[test]
    fn an_empty_script_answers_500() {
        assert_eq!(
            format!("{:?}", Script::new().respond(&request())),
            format!("{:?}", ResponseTemplate::new(500))
        );
    }
}

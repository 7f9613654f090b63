//! [`RequestOptions`]: the retry settings of one request, without a second client.

use std::time::Duration;

use errors_core::RetryPolicy;

/// Settings for one request that differ from its client's: retries, deadline, attempt
/// timeout, max wait, "safe to repeat". Put it in the request's extensions; what it does not
/// set stays the client's.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use errors_http::{ApiClient, RequestOptions};
/// use errors_testkit::{FakeApi, Script, fixtures};
///
/// let api = FakeApi::new();
/// api.mount(Script::new().then(fixtures::vlm_provider_error()).then(fixtures::ok_json(&serde_json::json!({}))));
/// let client = ApiClient::builder().base_url(api.uri()).with_middleware(api.clone()).build().unwrap();
///
/// // This one call gives up at the first failure, and within 5 s.
/// let request = client
///     .request(reqwest::Method::GET, "images/1")
///     .with_extension(RequestOptions::new().max_retries(0).deadline(Duration::from_secs(5)));
/// let err = client.send(request).await.unwrap_err();
/// assert_eq!(err.attempts().len(), 1);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    policy: Option<RetryPolicy>,
    max_retries: Option<u32>,
    no_retries: bool,
    deadline: Option<Option<Duration>>,
    attempt_timeout: Option<Option<Duration>>,
    max_wait: Option<Duration>,
    safe_to_repeat: bool,
}

impl RequestOptions {
    /// Options that change nothing.
    pub fn new() -> RequestOptions {
        RequestOptions::default()
    }

    /// A whole policy for this request, in place of the client's; the other options apply
    /// on top of it.
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Retries after 5xx answers and transport failures for this request (see
    /// [`RetryPolicy::with_max_retries`]).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// No retries of any kind for this request, 429s included (see
    /// [`RetryPolicy::disabled`]).
    pub fn no_retries(mut self) -> Self {
        self.no_retries = true;
        self
    }

    /// The total time for this call, all attempts and waits included.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(Some(deadline));
        self
    }

    /// No total deadline for this call.
    pub fn no_deadline(mut self) -> Self {
        self.deadline = Some(None);
        self
    }

    /// The time limit for each attempt of this call, body included.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(Some(timeout));
        self
    }

    /// No time limit per attempt for this call (the deadline still applies).
    pub fn no_attempt_timeout(mut self) -> Self {
        self.attempt_timeout = Some(None);
        self
    }

    /// The longest server-requested wait this call sleeps through (see
    /// [`RetryPolicy::with_max_wait`]).
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = Some(wait);
        self
    }

    /// Marks this request safe to send again after an unknown outcome, as
    /// [`SafeToRepeat`](crate::SafeToRepeat) does.
    pub fn safe_to_repeat(mut self) -> Self {
        self.safe_to_repeat = true;
        self
    }

    /// Whether the request is marked safe to repeat.
    pub(crate) fn is_safe_to_repeat(&self) -> bool {
        self.safe_to_repeat
    }

    /// `client`'s policy with these options applied.
    pub(crate) fn apply(&self, client: &RetryPolicy) -> RetryPolicy {
        let mut policy = self.policy.clone().unwrap_or_else(|| client.clone());
        if let Some(retries) = self.max_retries {
            policy = policy.with_max_retries(retries);
        }
        if self.no_retries {
            policy = policy.with_max_retries(0).with_max_rate_limit_retries(0);
        }
        match self.deadline {
            Some(Some(deadline)) => policy = policy.with_deadline(deadline),
            Some(None) => policy = policy.without_deadline(),
            None => {}
        }
        match self.attempt_timeout {
            Some(Some(timeout)) => policy = policy.with_attempt_timeout(timeout),
            Some(None) => policy = policy.without_attempt_timeout(),
            None => {}
        }
        if let Some(wait) = self.max_wait {
            policy = policy.with_max_wait(wait);
        }
        policy
    }
}

//! [`RetryMiddleware`]: retries by the API's rules, decided by `errors_core`.

mod attempt;
mod builder;
mod rebuild;
mod secrets;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use errors_core::clock::Clock;
use errors_core::error::ErrorParser;
use errors_core::ratelimit::RateLimitStatement;
use errors_core::retry::{ClientRetryState, Decision, MAX_NAP, Outcome, RetryRun, StopReason};
use errors_core::{ApiError, Idempotency, RetryPolicy};
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tracing::Instrument as _;

use crate::attempts::{Attempts, SafeToRepeat};
use crate::downstream::Downstream;
use crate::error::{Error, ErrorKind};
use crate::layer::Redirected;
use crate::metrics::CallMeter;
use crate::options::RequestOptions;
use crate::store::{Reservation, StoreLink};
use crate::time::mono_now;
use crate::trace::Trace;

use attempt::{AttemptFailure, Received, redirected_by_reqwest, send_and_read};
use rebuild::{Head, rebuild};
use secrets::Secrets;

pub use builder::RetryMiddlewareBuilder;

/// reqwest-middleware middleware that retries what the API's contract says to retry.
///
/// Unlike `reqwest_retry::RetryTransientMiddleware`, it reads the error body (bounded) and
/// decides by application code (a monthly usage limit is never retried, a rate limit is),
/// honours `Retry-After` exactly and never beyond a maximum wait, never oversleeps a total
/// deadline, applies a per-attempt timeout, does not repeat a POST whose outcome is unknown
/// unless it carries [`SafeToRepeat`], shares a retry budget across all requests of one
/// client and the server's rate-limit window across those of one partition (by default one
/// route: see [`errors_core::ratelimit::Partitioning`]), paces them once the server rate
/// limits them (see [`errors_core::ratelimit::Pacer`]), and records every attempt.
///
/// Each logical call runs in one `tracing` span, `api_request`, with the method and the URL
/// path (never the query string); see the crate docs for the events and their levels.
///
/// The values of sensitive request headers (`HeaderValue::set_sensitive`, as
/// [`ApiClient`](crate::ApiClient) marks the API key) are scrubbed from the parsed error if
/// the server echoed them back, before anything is recorded or logged.
///
/// When it stops on an error response, it returns that response (status, headers, and the
/// body as read: up to the body limit) with the parsed error and the [`Attempts`] in its
/// extensions; read it with [`ResponseExt`](crate::ResponseExt). When no response came it
/// returns `reqwest_middleware::Error::Middleware` wrapping an [`Error`] (recover it with
/// [`Error::from_middleware`]).
///
/// ```
/// use errors_core::RetryPolicy;
/// use errors_http::RetryMiddleware;
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(RetryMiddleware::new(RetryPolicy::default()))
///     .build();
/// # let _ = client;
/// ```
#[derive(Debug, Clone)]
pub struct RetryMiddleware {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policy: RetryPolicy,
    state: ClientRetryState,
    clock: Arc<dyn Clock>,
    parser: ErrorParser,
    seed: Option<AtomicU64>,
    trace: Trace,
    store: Option<StoreLink>,
}

impl RetryMiddleware {
    /// Middleware with `policy`, a default [`RetryBudget`](errors_core::retry::RetryBudget), the
    /// system clock and the default 64 KiB body limit.
    pub fn new(policy: RetryPolicy) -> RetryMiddleware {
        RetryMiddleware::builder(policy).build()
    }

    /// A builder for the other settings.
    pub fn builder(policy: RetryPolicy) -> RetryMiddlewareBuilder {
        RetryMiddlewareBuilder::new(policy)
    }

    /// The policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// The state shared by every request through this middleware (budget, rate-limit window).
    pub fn retry_state(&self) -> &ClientRetryState {
        &self.inner.state
    }

    /// How long this client's requests will still hold off because the server asked one of
    /// them to wait (`429` + `Retry-After`): the longest of its partitions' windows (see
    /// [`errors_core::ratelimit::Partitioning`]); zero when every window is open. (Requests
    /// may also wait their turn in a paced queue: see [`ClientRetryState::partition`].)
    pub fn rate_limited_for(&self) -> Duration {
        self.inner.state.rate_limited_for(self.now())
    }

    fn now(&self) -> Duration {
        mono_now()
    }

    fn next_seed(&self) -> u64 {
        match &self.inner.seed {
            Some(seq) => seq.fetch_add(1, Ordering::Relaxed),
            None => fastrand::u64(..),
        }
    }

    /// The whole logical call, each attempt sent through `below`.
    pub(crate) async fn drive(
        &self,
        request: Request,
        extensions: &mut Extensions,
        below: &impl Downstream,
    ) -> Result<Response, Error> {
        let span = tracing::info_span!(
            "api_request",
            method = %request.method(),
            path = %request.url().path(),
        );
        self.drive_in_span(request, extensions, below)
            .instrument(span)
            .await
    }

    async fn drive_in_span(
        &self,
        request: Request,
        extensions: &mut Extensions,
        below: &impl Downstream,
    ) -> Result<Response, Error> {
        let inner = &*self.inner;
        let options = extensions.get::<RequestOptions>();
        let marked = extensions.get::<SafeToRepeat>().is_some()
            || options.is_some_and(RequestOptions::is_safe_to_repeat);
        let idempotency = Idempotency::of(request.method(), marked);
        let secrets = Secrets::of(&request);
        // The client's policy, unless this request carries options of its own.
        let own_policy = options.map(|o| o.apply(&inner.policy));
        let policy = own_policy.as_ref().unwrap_or(&inner.policy);
        let mut run = policy.start_for(
            idempotency,
            &inner.state,
            request.method(),
            request.url().as_str(),
            self.now(),
            self.next_seed(),
        );
        let meter = CallMeter::new(&inner.state, request.method(), request.url().as_str());
        // With a store, the partition's pace is the fleet's: its key there.
        let fleet = inner
            .store
            .as_ref()
            .filter(|_| policy.pacing())
            .map(|link| {
                let key = inner
                    .state
                    .partitioning()
                    .key(request.method(), request.url().as_str());
                (link, link.partition(&key))
            });
        let mut original = Some(request);
        // The outcome of the previous attempt, handed back if the next one cannot start.
        let mut last: Option<Failed> = None;
        loop {
            // Hold off while the client's window is closed or others are ahead in the paced
            // queue, and look again after waking: another 429 may have closed it meanwhile.
            // Each pass sleeps a positive hold, and the policy stops at the deadline. With a
            // store that answers, the local hold is the window's only, and the store gives
            // the slot.
            let shared = fleet
                .as_ref()
                .filter(|(link, _)| link.available(self.now()));
            run.pace_elsewhere(shared.is_some());
            // A long hold is slept in naps: a pace that rises meanwhile (the learned law
            // climbing after it started low) moves the request's slot earlier, and it should
            // not sleep through that. One event per hold, not per nap.
            let mut announced = false;
            let held = loop {
                match run.before_attempt(self.now()) {
                    Ok(hold) if hold.is_zero() => break Ok(()),
                    Ok(hold) => {
                        if !announced {
                            inner.trace.hold(&run, hold);
                            meter.hold(hold);
                            announced = true;
                        }
                        tokio::time::sleep(hold.min(MAX_NAP)).await;
                    }
                    Err(stop) => break Err(stop),
                }
            };
            let held = match (held, shared) {
                (Ok(()), Some((link, partition))) => {
                    let now = self.now();
                    match link.reserve(partition, run.deadline_left(now), now).await {
                        Some(Reservation::After(wait)) if !wait.is_zero() => {
                            run.held_elsewhere(wait);
                            inner.trace.hold(&run, wait);
                            meter.hold(wait);
                            tokio::time::sleep(wait).await;
                            Ok(())
                        }
                        Some(Reservation::TooLate) => Err(StopReason::DeadlineExceeded),
                        Some(Reservation::AskAgain(wait)) => {
                            run.held_elsewhere(wait);
                            meter.hold(wait);
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        Some(_) => Ok(()),
                        // The store did not answer: this attempt, and the next ones for a
                        // while, pace in the process.
                        None => continue,
                    }
                }
                (held, _) => held,
            };
            if let Err(stop) = held {
                inner.trace.held_too_long(&run, stop);
                meter.ended(stop);
                // The previous outcome was retried: the client's policy says so again.
                return match last {
                    Some(Failed::Api(failed)) => {
                        let (head, body, error) = *failed;
                        let retryable = policy.is_retryable(&Outcome::Api(&error));
                        let limit = inner.parser.body_limit();
                        Ok(rebuild(head, body, error, run, stop, retryable, limit))
                    }
                    Some(Failed::Transport(error)) => {
                        let outcome = Outcome::Transport(error.transport_failure());
                        let retryable = policy.is_retryable(&outcome);
                        Err(finish_error(error, run, stop, Some(retryable)))
                    }
                    None => Err(finish_error(
                        Error::new(ErrorKind::DeadlineExceeded),
                        run,
                        stop,
                        None,
                    )),
                };
            }
            let Some(request) = original.take() else {
                unreachable!("a request is kept for every attempt that may be retried")
            };
            let to_send = match request.try_clone() {
                Some(copy) => {
                    original = Some(request);
                    copy
                }
                None => {
                    run.mark_not_replayable();
                    request
                }
            };
            extensions.remove::<Redirected>();
            let attempt = send_and_read(below, to_send, extensions, inner.parser.body_limit());
            let result = match run.attempt_timeout(self.now()) {
                Some(limit) => tokio::time::timeout(limit, attempt)
                    .await
                    .unwrap_or(Err(AttemptFailure::TimedOut)),
                None => attempt.await,
            };
            if extensions.remove::<Redirected>().is_some()
                || original
                    .as_ref()
                    .is_some_and(|sent| redirected_by_reqwest(sent.url(), &result))
            {
                run.mark_redirected();
            }
            match result {
                Ok(Received::Success(mut response)) => {
                    if policy.pacing() {
                        run.observe_rate_limit(RateLimitStatement::from_headers(
                            response.headers(),
                            inner.clock.now(),
                        ));
                    }
                    let decision = run.after_attempt(
                        Outcome::Success {
                            status: response.status(),
                        },
                        self.now(),
                    );
                    self.share(&fleet, &mut run).await;
                    inner.trace.attempt(&run, decision);
                    meter.attempt(&run, decision, &inner.state);
                    let stop = match decision {
                        Decision::Stop(stop) => stop,
                        Decision::Retry { .. } => StopReason::Succeeded,
                    };
                    response.extensions_mut().insert(Attempts {
                        records: run.into_attempts(),
                        stop,
                    });
                    return Ok(response);
                }
                Ok(Received::Error { head, body }) => {
                    let wall = inner.clock.now();
                    let mut error = inner.parser.parse(head.status, &head.headers, &body, wall);
                    secrets.redact(&mut error);
                    run.observe_rate_limit(RateLimitStatement::from_headers(&head.headers, wall));
                    let decision = run.after_attempt(Outcome::Api(&error), self.now());
                    self.share(&fleet, &mut run).await;
                    inner.trace.attempt(&run, decision);
                    meter.attempt(&run, decision, &inner.state);
                    match decision {
                        Decision::Retry { wait, .. } => {
                            last = Some(Failed::Api(Box::new((head, body, error))));
                            tokio::time::sleep(wait).await;
                        }
                        Decision::Stop(stop) => {
                            let retryable = policy.is_retryable(&Outcome::Api(&error));
                            let limit = inner.parser.body_limit();
                            return Ok(rebuild(head, body, error, run, stop, retryable, limit));
                        }
                    }
                }
                Err(failure) => {
                    let (transport, error) = failure.classify();
                    let outcome = Outcome::Transport(transport);
                    let decision = run.after_attempt(outcome, self.now());
                    inner.trace.attempt(&run, decision);
                    meter.attempt(&run, decision, &inner.state);
                    match decision {
                        Decision::Retry { wait, .. } => {
                            last = Some(Failed::Transport(error));
                            tokio::time::sleep(wait).await;
                        }
                        Decision::Stop(stop) => {
                            let retryable = policy.is_retryable(&outcome);
                            return Err(finish_error(error, run, stop, Some(retryable)));
                        }
                    }
                }
            }
        }
    }
}

impl RetryMiddleware {
    /// Tells the store what the last answer said about the partition's limit, if anything
    /// (a 429, a stated limit) and if the store answers.
    async fn share(&self, fleet: &Option<(&StoreLink, String)>, run: &mut RetryRun) {
        let Some((link, partition)) = fleet else {
            return;
        };
        let Some(event) = run.take_rate_limit_event() else {
            return;
        };
        let now = self.now();
        if link.available(now) {
            link.report(partition, &event, now).await;
        }
    }
}

/// The error a run ended on, with its attempts, why it stopped, and whether the client's
/// policy says the same request could succeed later (`None`: no attempt was made).
fn finish_error(
    mut error: Error,
    run: RetryRun,
    stop: StopReason,
    retryable: Option<bool>,
) -> Error {
    error.set_history(run.into_attempts(), Some(stop), retryable);
    error
}

/// An attempt that failed and was followed by a retry.
enum Failed {
    /// The response's head, the body as read, and the parsed error.
    Api(Box<(Head, Vec<u8>, ApiError)>),
    Transport(Error),
}

#[async_trait::async_trait]
impl Middleware for RetryMiddleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.drive(request, extensions, &next)
            .await
            .map_err(reqwest_middleware::Error::middleware)
    }
}

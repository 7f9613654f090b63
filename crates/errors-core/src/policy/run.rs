//! One logical request walked through its attempts.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::pacer::{Place, RETRY_AFTER_RESOLUTION};
use super::partitions::{Entry, Limiter, Partitions};
use super::{
    Decision, Idempotency, Outcome, Pacer, Partition, Partitioning, RateLimitGate, RateLimitQuota,
    RateLimitStatement, RetryBudget, RetryPolicy, RetryReason, StopReason, TransportKind,
};
use crate::ErrorCode;
use crate::display::millis;

/// The retry state one client shares across all its requests: the retry budget (the whole
/// client's: it protects a failing server) and the pacing state of each partition of its
/// requests (a rate-limit window and a pacer; see [`Partitioning`]). Cheap to clone (it is
/// an `Arc` inside).
///
/// By default requests are partitioned by route ([`Partitioning::per_route`]): a `429` on
/// one route holds and paces that route only (and the routes merged with it, when their
/// `429`s show one limit). At most [`MAX_PARTITIONS`](crate::ratelimit::MAX_PARTITIONS)
/// partitions are kept besides the default one.
///
/// ```
/// use std::time::Duration;
/// use errors_core::{Idempotency, RetryPolicy};
/// use errors_core::retry::ClientRetryState;
/// use errors_core::ratelimit::Partitioning;
/// use http::Method;
///
/// let state = ClientRetryState::new(None, Partitioning::per_route());
/// let url = "https://api.example.com/v1/search?q=cats";
/// let run = RetryPolicy::default().start_for(
///     Idempotency::Idempotent, &state, &Method::GET, url, Duration::ZERO, 7,
/// );
/// let key = state.partitioning().key(&Method::GET, url);
/// assert_eq!(key, "https://api.example.com/v1/search");
/// assert!(!state.partition(&key).unwrap().pacer().is_active());
/// # drop(run);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientRetryState {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    budget: Option<RetryBudget>,
    partitioning: Partitioning,
    partitions: Partitions,
}

impl ClientRetryState {
    /// State with `budget` (`None` for none) and requests grouped by `partitioning`.
    pub fn new(budget: Option<RetryBudget>, partitioning: Partitioning) -> ClientRetryState {
        ClientRetryState {
            inner: Arc::new(Shared {
                budget,
                partitioning,
                partitions: Partitions::default(),
            }),
        }
    }

    /// State with a retry budget, partitioned by route.
    pub fn with_budget(budget: RetryBudget) -> ClientRetryState {
        ClientRetryState::new(Some(budget), Partitioning::default())
    }

    /// State without a retry budget (only the per-request limits apply), partitioned by
    /// route.
    pub fn without_budget() -> ClientRetryState {
        ClientRetryState::new(None, Partitioning::default())
    }

    /// The budget, if any.
    pub fn budget(&self) -> Option<&RetryBudget> {
        self.inner.budget.as_ref()
    }

    /// How requests are grouped into partitions.
    pub fn partitioning(&self) -> &Partitioning {
        &self.inner.partitioning
    }

    /// The rate-limit window of the default partition: every request's with
    /// [`Partitioning::whole_client`], else that of requests started without a target
    /// ([`RetryPolicy::start`]), with an empty key, or of a new route while every kept
    /// partition has requests in flight. See [`ClientRetryState::partition`] for the
    /// others, and [`ClientRetryState::rate_limited_for`] for all of them.
    pub fn gate(&self) -> &RateLimitGate {
        &self.default_limiter().gate
    }

    /// The pace of the default partition's requests, learned from the server's rate
    /// limiting (see [`ClientRetryState::gate`] for which requests these are).
    pub fn pacer(&self) -> &Pacer {
        &self.default_limiter().pacer
    }

    fn default_limiter(&self) -> &Limiter {
        self.inner.partitions.default_limiter()
    }

    /// The window and pacer of the partition `key` (as [`Partitioning::key`] gives it; the
    /// empty key is the default partition), if kept.
    pub fn partition(&self, key: &str) -> Option<Partition> {
        self.inner.partitions.get(key)
    }

    /// How many partitions are kept besides the default one (at most
    /// [`MAX_PARTITIONS`](crate::ratelimit::MAX_PARTITIONS)).
    pub fn partition_count(&self) -> usize {
        self.inner.partitions.len()
    }

    /// How long requests of the most held partition will still hold off at `now` because
    /// the server asked one of them to wait; zero when every window is open.
    pub fn rate_limited_for(&self, now: Duration) -> Duration {
        self.inner.partitions.longest_hold(now)
    }

    fn entry(&self, key: &str) -> Arc<Entry> {
        self.inner.partitions.entry(key)
    }
}

/// What happened on one attempt, kept for the caller and for logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AttemptRecord {
    /// 1 for the first attempt.
    pub number: u32,
    /// The status, if a response came.
    pub status: Option<u16>,
    /// The application code, if the body carried one.
    pub code: Option<ErrorCode>,
    /// The request id, if the response carried one.
    pub request_id: Option<String>,
    /// The transport failure, if no response came.
    pub transport: Option<TransportKind>,
    /// The pause before this attempt (backoff, `Retry-After`, and any rate-limit hold).
    #[serde(rename = "waited_ms", serialize_with = "as_millis")]
    pub waited: Duration,
    /// The part of `waited` this attempt was held by the client's rate limiting: the shared
    /// window another request's `429` closed, or its turn in the paced queue. Zero when it
    /// was not held.
    #[serde(rename = "held_ms", serialize_with = "as_millis")]
    pub held: Duration,
    /// Why the next attempt was made, if one was.
    pub retry: Option<RetryReason>,
    /// Why no attempt followed, if none did.
    pub stop: Option<StopReason>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(millis(*d))
}

/// The attempts of one logical request, from first send to final outcome.
///
/// A driver loops: [`RetryRun::before_attempt`] until it says zero (hold off that long, then
/// ask again: the window may have closed again meanwhile), send with
/// [`RetryRun::attempt_timeout`], hand any rate-limit headers to
/// [`RetryRun::observe_rate_limit`], then [`RetryRun::after_attempt`] (retry after a wait, or
/// stop). Time is the driver's monotonic clock as a [`Duration`] since its anchor: nothing
/// here reads a clock or sleeps.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use errors_core::{ApiError, Idempotency, RetryPolicy};
/// use errors_core::retry::{ClientRetryState, Decision, Outcome};
/// use http::{HeaderMap, StatusCode};
///
/// let shared = ClientRetryState::default();
/// let mut run = RetryPolicy::default().start(Idempotency::Idempotent, &shared, Duration::ZERO, 7);
/// assert_eq!(run.before_attempt(Duration::ZERO), Ok(Duration::ZERO));
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "2".parse().unwrap());
/// let error = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &headers, b"", SystemTime::UNIX_EPOCH);
/// let Decision::Retry { wait, .. } = run.after_attempt(Outcome::Api(&error), Duration::from_millis(30)) else { panic!() };
/// assert!(wait >= Duration::from_secs(2)); // never earlier than asked
/// ```
#[derive(Debug)]
pub struct RetryRun {
    policy: RetryPolicy,
    idempotency: Idempotency,
    shared: ClientRetryState,
    /// The partition whose window and pacer this request follows.
    partition: Arc<Entry>,
    started: Duration,
    rng: fastrand::Rng,
    attempts: Vec<AttemptRecord>,
    /// The decided wait before the next attempt (backoff or `Retry-After`).
    pending_wait: Duration,
    /// The current hold, if any.
    hold: Option<Hold>,
    /// When the current attempt was (or will be) sent.
    sent_at: Duration,
    /// What the current attempt's response headers said about the rate limit.
    statement: RateLimitStatement,
    /// Retries after 5xx, transport failures and 429s without a requested wait.
    outage_retries: u32,
    /// Retries after 429s with a server-requested wait.
    rate_limit_retries: u32,
    replayable: bool,
    /// A hop of this request was answered with a redirect that was followed.
    redirected: bool,
    /// The partition's pace is kept elsewhere (a store several processes share): the
    /// local queue is not used, only the window and the deadline.
    paced_elsewhere: bool,
    /// Held by that store before the current attempt.
    held_elsewhere: Duration,
    /// What the last attempt taught about the rate limit, for a store to share.
    event: Option<RateLimitEvent>,
}

/// What an attempt's answer said about its partition's rate limit, for a store that shares
/// the partition's pace between processes (see [`RetryRun::take_rate_limit_event`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RateLimitEvent {
    /// Whether the answer was a rate-limit rejection (else a success or an error stating a
    /// limit in its headers).
    pub throttled: bool,
    /// The limit the answer stated, when the client paces by it (its window within the max
    /// wait).
    pub quota: Option<RateLimitQuota>,
    /// The wait a rejection asked for, at most the policy's max wait.
    pub retry_after: Option<Duration>,
    /// How long before the rejection its request was sent.
    pub sent_ago: Duration,
    /// The pace this process's own pacer keeps for the partition, if it paces it (it
    /// concluded from what it saw that the partition is rate limited).
    pub local_rate: Option<f64>,
}

/// A request held before an attempt: since when, until which slot, and its place in the
/// partition's paced queue.
#[derive(Debug, Clone, Copy)]
struct Hold {
    since: Duration,
    slot: Duration,
    /// Its place: a ticket in the pacer's queue, whose time moves with the pace, or a slot
    /// of its own.
    place: Place,
    /// The limiter the slot was taken from: after the partition was merged with another,
    /// the ticket means nothing to the new one.
    limiter: u64,
}

impl RetryRun {
    pub(super) fn new(
        policy: RetryPolicy,
        idempotency: Idempotency,
        shared: &ClientRetryState,
        partition: &str,
        now: Duration,
        seed: u64,
    ) -> RetryRun {
        if let Some(budget) = shared.budget() {
            budget.deposit();
        }
        RetryRun {
            policy,
            idempotency,
            shared: shared.clone(),
            partition: shared.entry(partition),
            started: now,
            rng: fastrand::Rng::with_seed(seed),
            attempts: Vec::with_capacity(2),
            pending_wait: Duration::ZERO,
            hold: None,
            sent_at: now,
            statement: RateLimitStatement::default(),
            outage_retries: 0,
            rate_limit_retries: 0,
            replayable: true,
            redirected: false,
            paced_elsewhere: false,
            held_elsewhere: Duration::ZERO,
            event: None,
        }
    }

    /// How long to hold off before the next attempt (its partition's rate-limit window is
    /// closed, or other requests are ahead in the partition's paced queue), or
    /// [`StopReason::DeadlineExceeded`] if the attempt could not start before the deadline.
    ///
    /// Call it again after holding off: zero means send now. A request keeps its place in
    /// the paced queue across calls unless the window closed again past it. Hold off in
    /// naps of at most [`MAX_NAP`](crate::retry::MAX_NAP): a pace that speeds up meanwhile
    /// moves the place earlier, and the next call says so.
    pub fn before_attempt(&mut self, now: Duration) -> Result<Duration, StopReason> {
        let limiter = self.partition.limiter();
        let window_open = limiter.gate.open_at();
        let before = self
            .policy
            .deadline
            .map_or(Duration::MAX, |d| self.started.saturating_add(d));
        let pacer = &limiter.pacer;
        // A slot taken before the partition was merged with another: take a new one.
        let stale = self.hold.is_some_and(|h| h.limiter != limiter.id());
        let kept = match self.hold {
            // Rejected after its turn: the head of the queue once its wait is over.
            Some(Hold {
                slot,
                place: Place::Head,
                ..
            }) if !stale && self.policy.pacing => Some(if now < slot {
                (slot.max(window_open), Place::Head)
            } else if self.paced_elsewhere {
                (now.max(window_open), Place::Window)
            } else {
                pacer.front_slot(now, now.max(window_open))
            }),
            Some(Hold { place, .. }) if !stale && place != Place::Window => {
                Some((pacer.slot_of(place, now, window_open), place))
            }
            _ => None,
        };
        let (slot, place) = match self.hold {
            // Its place in the queue, wherever the pace has moved it since, and no earlier
            // than the window's opening (the queue keeps its order behind a closed window).
            _ if let Some(kept) = kept => kept,
            // A slot past the deadline is not taken: this request stops below, and must not
            // push back the requests paced after it. (A request held by the window before
            // the pacer started takes its place in the queue now.)
            _ if self.policy.pacing && !self.paced_elsewhere => {
                match pacer.take_slot(now, window_open, before) {
                    Ok(taken) => taken,
                    Err(slot) => (slot, Place::Window),
                }
            }
            _ => (window_open.max(now), Place::Window),
        };
        let hold = slot.saturating_sub(now);
        if let Some(deadline) = self.policy.deadline {
            let elapsed = now.saturating_sub(self.started);
            if elapsed.saturating_add(hold) >= deadline {
                return Err(StopReason::DeadlineExceeded);
            }
        }
        if hold.is_zero() {
            self.sent_at = now;
            if self.policy.pacing {
                pacer.on_sent(now);
            }
            if let Some(held) = &mut self.hold {
                held.slot = now.max(held.since);
            }
            return Ok(Duration::ZERO);
        }
        let since = self.hold.map_or(now, |h| h.since);
        self.hold = Some(Hold {
            since,
            slot,
            place,
            limiter: limiter.id(),
        });
        self.sent_at = slot;
        Ok(hold)
    }

    /// Says the request cannot be sent again (its body is a stream): an outcome that would
    /// be retried stops with [`StopReason::NotReplayable`] instead.
    pub fn mark_not_replayable(&mut self) {
        self.replayable = false;
    }

    /// Says the server answered a hop of this request with a redirect that was followed, so
    /// the request itself was received and acted on: for a request that is not idempotent
    /// (a POST not marked safe to repeat), nothing that happens on a later hop (a `429`, a
    /// refused connection, a `503`) makes it safe to send again, and such an outcome stops
    /// with [`StopReason::UnsafeToRepeat`]. Only the request the caller made counts: "never
    /// sent" and "rejected before any work" are true of the last hop, not of the POST.
    ///
    /// Call it before [`RetryRun::after_attempt`] for the attempt whose redirect was
    /// followed; it holds for the rest of the run.
    pub fn mark_redirected(&mut self) {
        self.redirected = true;
    }

    /// The time limit for an attempt starting at `now`: the per-attempt timeout, cut to the
    /// time left before the deadline.
    pub fn attempt_timeout(&self, now: Duration) -> Option<Duration> {
        match (self.policy.attempt_timeout, self.deadline_left(now)) {
            (Some(a), Some(l)) => Some(a.min(l)),
            (a, l) => a.or(l),
        }
    }

    /// The time left before the deadline at `now` (`None` without a deadline).
    pub fn deadline_left(&self, now: Duration) -> Option<Duration> {
        self.policy
            .deadline
            .map(|d| d.saturating_sub(now.saturating_sub(self.started)))
    }

    /// What the current attempt's response said about the rate limit in its headers (see
    /// [`RateLimitStatement::from_headers`]); used by the next [`RetryRun::after_attempt`].
    pub fn observe_rate_limit(&mut self, statement: RateLimitStatement) {
        self.statement = statement;
    }

    /// Records an attempt that ended at `now` and decides what comes next. (A `Retry-After`
    /// date was already resolved against the wall clock when the error was parsed.)
    ///
    /// A rate-limit rejection also closes its partition's window for the wait the server
    /// asked (at most the policy's maximum wait) and teaches the partition's pacer, whatever
    /// is decided for this request: even when it stops (a wait beyond the maximum, retries
    /// exhausted), the partition's other requests hold off. Other partitions are not
    /// touched, unless this `429` shows that they share its limiter (see [`Partitioning`]):
    /// then they are merged with it first.
    pub fn after_attempt(&mut self, outcome: Outcome<'_>, now: Duration) -> Decision {
        let decision = self.decide(&outcome, now);
        let (status, code, request_id, transport) = match outcome {
            Outcome::Success { status } => (Some(status.as_u16()), None, None, None),
            Outcome::Api(e) => (
                Some(e.status().as_u16()),
                e.code().cloned(),
                e.request_id().map(str::to_owned),
                None,
            ),
            Outcome::Transport(t) => (None, None, None, Some(t.kind)),
        };
        let (retry, stop) = match decision {
            Decision::Retry { reason, .. } => (Some(reason), None),
            Decision::Stop(reason) => (None, Some(reason)),
        };
        let held = self
            .hold
            .take()
            .map_or(Duration::ZERO, |h| h.slot.saturating_sub(h.since))
            .saturating_add(std::mem::take(&mut self.held_elsewhere));
        self.attempts.push(AttemptRecord {
            number: u32::try_from(self.attempts.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
            status,
            code,
            request_id,
            transport,
            waited: std::mem::take(&mut self.pending_wait).saturating_add(held),
            held,
            retry,
            stop,
        });
        self.statement = RateLimitStatement::default();
        if let Decision::Retry { wait, reason } = decision {
            self.pending_wait = wait;
            let back = now.saturating_add(wait);
            self.sent_at = back;
            // The request the limiter rejected waited its turn: it goes first once its wait
            // is over, ahead of the requests queued behind it.
            if reason == RetryReason::RateLimited && self.policy.pacing {
                let limiter = self.partition.limiter();
                self.hold = Some(Hold {
                    since: back,
                    slot: back,
                    place: Place::Head,
                    limiter: limiter.id(),
                });
            }
        }
        decision
    }

    fn decide(&mut self, outcome: &Outcome<'_>, now: Duration) -> Decision {
        let classified = self.policy.classify(self.idempotency, outcome);
        let rate_limited = matches!(classified, Ok(RetryReason::RateLimited));
        let admitted = match outcome {
            Outcome::Success { .. } => true,
            // Any 429 (a usage limit too) was stopped at the door.
            Outcome::Api(e) => e.status() != http::StatusCode::TOO_MANY_REQUESTS && !rate_limited,
            // Whether it got past the limiter is not known.
            Outcome::Transport(_) => false,
        };
        if admitted {
            self.partition.on_admitted(now);
        }
        if self.policy.pacing {
            let limiter = self.partition.limiter();
            if admitted {
                limiter.pacer.on_admitted(now);
            }
            if !rate_limited && let Some(quota) = self.paceable(self.statement.quota()) {
                limiter.pacer.on_statement(now, quota);
                self.event = Some(RateLimitEvent {
                    throttled: false,
                    quota: Some(quota),
                    retry_after: None,
                    sent_ago: now.saturating_sub(self.sent_at),
                    local_rate: limiter.pacer.rate().map(|(rate, _)| rate),
                });
            }
        }
        let reason = match classified {
            Ok(reason) => reason,
            Err(stop) => return Decision::Stop(stop),
        };
        let requested = match outcome {
            Outcome::Api(e) => e.retry_after().or_else(|| {
                (reason == RetryReason::RateLimited)
                    .then(|| self.statement.requested_wait())
                    .flatten()
            }),
            _ => None,
        };
        if reason == RetryReason::RateLimited {
            let message = match outcome {
                Outcome::Api(e) => e.message(),
                _ => None,
            };
            self.throttled(now, requested, message);
        }
        // The caller's request was answered (a redirect was followed): a later hop's 429 or
        // refused connection does not make a POST safe to send again.
        if self.redirected && !self.idempotency.is_repeatable() {
            return Decision::Stop(StopReason::UnsafeToRepeat);
        }
        if !self.replayable {
            return Decision::Stop(StopReason::NotReplayable);
        }
        if let Some(requested) = requested
            && requested > self.policy.max_retry_after
        {
            return Decision::Stop(StopReason::RetryAfterTooLong {
                requested_ms: millis(requested),
            });
        }
        // A wait the rate limiter asked for is flow control: it has its own count and does
        // not spend the outage budget.
        // (A zero wait, or a date in the past, asks for nothing: it counts as an outage
        // retry, so a hostile `Retry-After: 0` cannot loop the client.)
        let server_directed =
            reason == RetryReason::RateLimited && requested.is_some_and(|r| !r.is_zero());
        let exhausted = if server_directed {
            self.rate_limit_retries >= self.policy.max_rate_limit_retries
        } else {
            self.outage_retries >= self.policy.max_retries
        };
        if exhausted {
            return Decision::Stop(StopReason::RetriesExhausted);
        }
        let unit = self.rng.f64();
        // `must`: the part of the wait that may not be shortened; the rest is jitter.
        let (must, wanted) = match requested {
            // A wait longer than the header's resolution closes the partition's window: its
            // requests leave through the paced queue when it opens, rejected ones first, so
            // jitter would only let others take their places.
            Some(requested)
                if server_directed
                    && self.policy.pacing
                    && requested > RETRY_AFTER_RESOLUTION
                    && self.partition.limiter().pacer.is_active() =>
            {
                (requested, requested)
            }
            Some(requested) if server_directed => {
                (requested, self.policy.jittered_retry_after(requested, unit))
            }
            Some(requested) => {
                // A 5xx's `Retry-After: 0` (or a past date) does not remove the backoff.
                let backoff = self.policy.backoff(self.outage_retries, unit);
                let jittered = self.policy.jittered_retry_after(requested, unit);
                (requested.max(backoff), jittered.max(backoff))
            }
            None => {
                let backoff = self.policy.backoff(self.outage_retries, unit);
                (backoff, backoff)
            }
        };
        let wait = match self.policy.deadline {
            Some(deadline) => {
                let left = deadline.saturating_sub(now.saturating_sub(self.started));
                if must >= left {
                    return Decision::Stop(StopReason::DeadlineExceeded);
                }
                // Jitter never pushes a wait that fits past the deadline: it may use at most
                // half of the time that would be left.
                wanted.min(must.saturating_add((left - must) / 2))
            }
            None => wanted,
        };
        if !server_directed
            && let Some(budget) = self.shared.budget()
            && !budget.try_withdraw()
        {
            return Decision::Stop(StopReason::BudgetExhausted);
        }
        if server_directed {
            self.rate_limit_retries += 1;
        } else {
            self.outage_retries += 1;
        }
        Decision::Retry { wait, reason }
    }

    /// A rate-limit rejection: close the partition's window and teach its pacer (after
    /// merging the partition with others whose `429`s show the same limiter).
    fn throttled(&mut self, now: Duration, requested: Option<Duration>, message: Option<&str>) {
        let quota = message
            .and_then(RateLimitQuota::from_message)
            .or(self.statement.quota());
        let limiter = self.shared.inner.partitions.on_throttle(
            &self.partition,
            now,
            quota,
            self.shared.partitioning().merges(),
        );
        // The rejected request waits its `Retry-After` in any case. The whole partition
        // holds too when the wait is longer than the header's resolution (the server's
        // window is closed for that long), or when nothing paces the others: a `1` may be
        // a 20 ms refill rounded up, which the pace already accounts for.
        if let Some(requested) = requested
            && (requested > RETRY_AFTER_RESOLUTION || !self.policy.pacing)
        {
            let window = requested.min(self.policy.max_retry_after);
            limiter.gate.close_until(now.saturating_add(window));
        }
        if self.policy.pacing {
            limiter.pacer.on_throttle(
                now,
                self.sent_at,
                requested,
                self.paceable(quota),
                limiter.gate.open_at(),
            );
            self.event = Some(RateLimitEvent {
                throttled: true,
                quota: self.paceable(quota),
                // The window a wait closes is at most the max wait, as in the process.
                retry_after: requested.map(|r| r.min(self.policy.max_retry_after)),
                sent_ago: now.saturating_sub(self.sent_at),
                local_rate: limiter.pacer.rate().map(|(rate, _)| rate),
            });
        }
    }

    /// `quota` if the client paces by it: a quota whose window is longer than the max wait
    /// ("5000 per 1 day", a monthly allowance) says how much is left for the day, not how
    /// fast to send. Spaced evenly it would hold every later request 17 s apart for good and
    /// queue calls past their deadline; the `Retry-After` of its 429s still holds the
    /// partition, and a wait beyond the max wait ends the call with the requested delay.
    fn paceable(&self, quota: Option<RateLimitQuota>) -> Option<RateLimitQuota> {
        quota.filter(|q| q.window() <= self.policy.max_retry_after)
    }

    /// Says the partition's pace is kept elsewhere for the next attempts (a store several
    /// processes share, while it answers): [`RetryRun::before_attempt`] then holds for the
    /// window and the deadline only, and the driver asks the store for its slot (and
    /// reports [`RetryRun::held_elsewhere`]). The local pacer still learns from every
    /// answer, to take over when the store does not answer.
    pub fn pace_elsewhere(&mut self, elsewhere: bool) {
        self.paced_elsewhere = elsewhere;
    }

    /// Records a hold the store imposed before the current attempt (part of its `held`).
    pub fn held_elsewhere(&mut self, hold: Duration) {
        self.held_elsewhere = self.held_elsewhere.saturating_add(hold);
    }

    /// What the last attempt's answer said about the partition's rate limit (a rejection,
    /// or a stated limit), once: for a store to share with other processes.
    pub fn take_rate_limit_event(&mut self) -> Option<RateLimitEvent> {
        self.event.take()
    }

    /// The attempts so far.
    pub fn attempts(&self) -> &[AttemptRecord] {
        &self.attempts
    }

    /// The attempts, for the final result.
    pub fn into_attempts(self) -> Vec<AttemptRecord> {
        self.attempts
    }
}

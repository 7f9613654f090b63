//! The pace of one partition: a GCRA queue whose rate and burst come from what the server
//! stated, or from a CUBIC law when it stated nothing, switched on by the client-side
//! throttling ratio.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::RateLimitQuota;
use super::cubic::Cubic;
use super::learned::{MIN_RATE, sent_cap, start, too_fast};
use super::queue::Queue;
use super::stated_window::StatedWindow;
use super::traffic::Traffic;

/// A stated pace stays this fraction under the stated rate, so that timing noise on either
/// side (the client's timers, the server's clock) does not turn into rejections.
const MARGIN: f64 = 0.02;
/// The client-side throttling ratio's `K` (Google's SRE book, "Handling Overload": the
/// backend is taken to be rejecting for the client's own load when `requests > K *
/// accepts`; the book uses 2). A server rejecting a random tenth of requests (an edge
/// under load, another tenant's burst) gives `requests = 1.11 * accepts` and never
/// switches pacing on; a limiter that a client overruns rejects most of what it sends.
const K: f64 = 2.0;
/// Fewer requests than this say nothing about the ratio: twenty is where a server rejecting
/// a random tenth crosses `K` with a probability under one in a million (binomial tail),
/// while a limiter that a batch overruns is found within its first round trips.
pub(super) const MIN_SAMPLE: u64 = 20;
/// A pace is dropped after this long without a `429` once no request waits for it: the
/// longest window in common use (a minute: the API's own example is "100 calls per 60
/// seconds") has passed, so whatever limit was met may have gone or changed.
const QUIET: Duration = Duration::from_secs(60);
/// A stated limit is probed (it may have risen without a word) only after it held for this
/// many of its intervals without a `429`: each probe costs a rejection, so that keeps the
/// probes' cost under 1% of the requests (at 50 a second, a probe every few seconds; at one
/// request per 2 s, none within three minutes).
const PROBE_AFTER: u32 = 100;
/// An integer `Retry-After` cannot say less than a second: a `1` may stand for 20 ms
/// rounded up. A longer one states that the server's window is closed for that long.
pub(super) const RETRY_AFTER_RESOLUTION: Duration = Duration::from_secs(1);

/// Where the pacer's rate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaceSource {
    /// The server stated its limit (the error message or rate-limit headers).
    Stated,
    /// Learned from the server's `429`s by the control law.
    Learned,
}

/// The pace of one partition of a client's requests (by default one route; see
/// [`Partitioning`](crate::ratelimit::Partitioning)), shared by all of them.
///
/// **Inactive** until the server shows that it limits this partition; a partition that is
/// never rate limited is never slowed down, and a `429` only holds the request it
/// rejected (for its `Retry-After`; the whole partition too when that is longer than the
/// header's one-second resolution, see [`RateLimitGate`](crate::ratelimit::RateLimitGate)).
///
/// - **Stated**: a `429` states the limit ("100 calls per 60 seconds" in its message,
///   `RateLimit-Policy`, `X-RateLimit-*`). The partition's requests then go through a
///   GCRA (generic cell rate algorithm, ITU-T I.371) queue at that rate, 2% under it, with
///   a burst of the stated count: 100 at once, then the window's pace. If the request
///   paced one interval after a `429` is rejected too, nothing let through since, the
///   limiter is a window, not a bucket: no more than the stated count then leaves in any
///   stated window (a sliding log of the sends not rejected).
/// - **Learned**: no statement, but the client-side throttling ratio of Google's SRE book
///   says the server rejects for the client's own load (over the last 10 s, more than
///   twice as many requests as answers got through, out of at least 20). The rate starts
///   at what got through in the last second and follows CUBIC (RFC 9438, as the AWS SDKs'
///   adaptive retry mode does): each `429` that shows the pace too fast cuts it to 70%,
///   then it climbs back and probes above, so a limit that rises is followed. A random
///   tenth of requests answered `429` never crosses the ratio.
///
/// A `429` says the server's bucket is empty: the queue restarts from one interval after it;
/// or, when the window is closed, at its end with the whole burst (a new window). Only a `429`
/// for a request sent after the last cut cuts again (as CUBIC cuts once per round trip), and,
/// before the wait that cut asked for is over, only once the limiter let an answer through
/// since: it is then rejecting the excess of a pace still too fast, where `429`s alone mean a
/// window that is closed whatever the pace (a learned pace is then cut again, and the rate it
/// climbs back to is lowered too: CUBIC's fast convergence). A stated rate is kept; after 100 of
/// its intervals without a `429` it is probed above (it may have risen), and it is back at
/// every fresh `429`. After a minute without a `429`, once nobody waits, the partition is
/// inactive again.
///
/// The queue is FIFO: a request takes a ticket, whose time moves when the pace changes
/// (the queue is re-spaced from its head) but never past a request that took a later
/// ticket; a request the limiter rejected after its turn goes to the head. A request that
/// cannot have a slot before its deadline takes nothing. Time is a [`Duration`] since the
/// driver's anchor; nothing here reads a clock.
///
/// ```
/// use std::time::Duration;
/// use errors_core::{RetryPolicy, Idempotency, ApiError};
/// use errors_core::retry::{ClientRetryState, Outcome, Decision};
/// use errors_core::ratelimit::PaceSource;
/// use http::{HeaderMap, StatusCode};
///
/// let state = ClientRetryState::default();
/// let policy = RetryPolicy::default();
/// assert!(!state.pacer().is_active());
///
/// // A 429 stating "50 calls per 1 seconds".
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "1".parse().unwrap());
/// let body = br#"{"error":{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded: 50 calls per 1 seconds"}}"#;
/// let error = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &headers, body, std::time::SystemTime::UNIX_EPOCH);
/// let mut run = policy.start(Idempotency::Idempotent, &state, Duration::ZERO, 1);
/// run.before_attempt(Duration::ZERO).unwrap();
/// let decision = run.after_attempt(Outcome::Api(&error), Duration::from_millis(10));
/// assert!(matches!(decision, Decision::Retry { .. }));
///
/// let (rate, source) = state.pacer().rate().unwrap();
/// assert_eq!(source, PaceSource::Stated);
/// assert!((rate - 49.0).abs() < 0.01);
/// ```
#[derive(Debug, Default)]
pub struct Pacer {
    /// Mirrors `State::mode != Inactive`, read without the lock on every request.
    active: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    mode: Mode,
    /// The law in force while active.
    law: Option<Cubic>,
    /// The rate last used for the queue.
    rate: f64,
    /// `429`s that arrive before this belong to the window of the last cut, unless answers
    /// got through since it.
    recovery_until: Duration,
    /// Answers that got past the limiter since the law last changed.
    admitted_since_cut: u64,
    last_throttle: Duration,
    /// When the partition's first request left paced (`None` until then): what got through
    /// before, unpaced (a burst the limiter held), says nothing of its rate, nor does the
    /// spell in which every request waited out its `Retry-After` and nothing was sent.
    paced_since: Option<Duration>,
    /// Requests that asked to leave after a learned pace started and before its first
    /// paced request left: the rest of the batch that overran the limiter.
    late_in_batch: u64,
    /// Whether the stated limiter is a window, and when it has room.
    window: StatedWindow,
    queue: Queue,
    traffic: Traffic,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Inactive,
    Stated(RateLimitQuota),
    Learned,
}

/// Where a held request's slot comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The partition's window only (its pacer was inactive).
    Window,
    /// A ticket in the pacer's queue.
    Ticket(u64),
    /// An element put at the head of the queue, for a request the limiter rejected after
    /// its turn.
    Front(u64),
    /// A request the limiter rejected, waiting out its `Retry-After`: it takes the head of
    /// the queue when that is over (not before: a place at the head held by a request that
    /// is not ready would be a slot lost, and its request would leave late on top of the
    /// pace).
    Head,
}

impl State {
    /// Changes the mode; a new statement is a new limiter, a bucket until it shows
    /// otherwise.
    fn set_mode(&mut self, mode: Mode) {
        if self.mode != mode {
            self.mode = mode;
            self.window.reset();
        }
    }

    /// The earliest a request may leave for the stated window's sake, once the limiter
    /// showed it is a window (`ZERO` otherwise): when the window has room, 2% late.
    fn window_open(&self) -> Duration {
        match self.mode {
            Mode::Stated(quota) => self.window.open_at(quota, stated_window(quota)),
            _ => Duration::ZERO,
        }
    }

    /// A request asking to leave at `now` after a learned pace started and before any
    /// paced request left belongs to the batch that overran the limiter (its connection
    /// took longer): the law starts again from the whole batch (up to as many again as
    /// were sent: see `learned::start`), and the queue from one interval of it after the
    /// last `429`. (On loopback a third of 64 callers' first
    /// requests were answered, 5 let through and 15 rejected, before the rest left: read
    /// from those 21 alone, the pace started at 6 a second against a limit of 50, and the
    /// late 43 waited in its queue while the law climbed, 1.22x the ideal.)
    fn join_start(&mut self, now: Duration) {
        if self.mode != Mode::Learned || self.paced_since.is_some() {
            return;
        }
        self.late_in_batch = self.late_in_batch.saturating_add(1);
        self.law = Some(start(&self.traffic, self.late_in_batch, now));
        let (rate, interval, tolerance) = pace(self, now);
        self.rate = rate;
        let tat = self.last_throttle.saturating_add(interval).max(now);
        self.queue.restart(now, tat, interval, tolerance);
    }

    /// Until when the stated window may hold the partition's sends, once the limiter
    /// showed it is a window (`ZERO` otherwise).
    fn window_busy_until(&self) -> Duration {
        match self.mode {
            Mode::Stated(quota) => self.window.busy_until(stated_window(quota)),
            _ => Duration::ZERO,
        }
    }
}

/// The interval of `rate` requests per second (at least a microsecond).
pub(super) fn interval(rate: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / rate)
        .unwrap_or(Duration::MAX)
        .max(Duration::from_micros(1))
}

impl Pacer {
    /// Whether the partition is paced (the server showed that it limits it).
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// The rate in force (requests per second) and where it comes from, when active.
    pub fn rate(&self) -> Option<(f64, PaceSource)> {
        if !self.is_active() {
            return None;
        }
        let state = self.lock();
        let source = match state.mode {
            Mode::Stated(_) => PaceSource::Stated,
            _ => PaceSource::Learned,
        };
        Some((state.rate, source))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request left at `now`.
    pub(crate) fn on_sent(&self, now: Duration) {
        let mut state = self.lock();
        state.traffic.sent(now);
        if state.mode != Mode::Inactive && state.paced_since.is_none() {
            state.paced_since = Some(now);
        }
        if let Mode::Stated(quota) = state.mode {
            state.window.sent(now, quota);
        }
    }

    /// An answer that got past the limiter arrived at `now`: a success, or any error but a
    /// rate limit (a `503` from the service behind the limiter was let through by it).
    pub(crate) fn on_admitted(&self, now: Duration) {
        let mut state = self.lock();
        state.traffic.admitted(now);
        state.admitted_since_cut = state.admitted_since_cut.saturating_add(1);
        state.window.admitted();
    }

    /// Takes a slot for a request ready at `now` that may not leave before `not_before`
    /// (its partition's window) nor at or after `before` (its deadline): the slot and its
    /// ticket (`None` while inactive: nothing to keep a place in), or `Err` with the slot
    /// it would have had, and nothing is taken.
    pub(crate) fn take_slot(
        &self,
        now: Duration,
        not_before: Duration,
        before: Duration,
    ) -> Result<(Duration, Place), Duration> {
        let ready = now.max(not_before);
        if self.is_active() {
            let mut state = self.lock();
            if self.refresh(&mut state, now) {
                state.join_start(now);
                let ready = ready.max(state.window_open());
                let taken = state.queue.take(ready, before);
                return taken.map(|(slot, n)| (slot, Place::Ticket(n)));
            }
        }
        if ready < before {
            Ok((ready, Place::Window))
        } else {
            Err(ready)
        }
    }

    /// The current slot of a place in the queue (its time moves when the pace changes), no
    /// earlier than `not_before`; `now` once the queue has gone past it.
    pub(crate) fn slot_of(&self, place: Place, now: Duration, not_before: Duration) -> Duration {
        let mut state = self.lock();
        if !self.refresh(&mut state, now) {
            return not_before.max(now);
        }
        let due = match place {
            Place::Ticket(ticket) => state.queue.time(ticket),
            Place::Front(id) => state.queue.inserted_time(id),
            Place::Window | Place::Head => Duration::ZERO,
        };
        due.max(state.window_open()).max(not_before).max(now)
    }

    /// The slot at the head of the queue, from `earliest`, for a request the limiter
    /// rejected after it waited its turn (see [`Place::Head`]): the requests queued behind
    /// move back one slot, rather than the rejected one going to the back (with a queue a
    /// minute long, that put it past its deadline). Its place, which moves with the pace as
    /// a ticket does.
    pub(crate) fn front_slot(&self, now: Duration, earliest: Duration) -> (Duration, Place) {
        let mut state = self.lock();
        if !self.refresh(&mut state, now) {
            return (earliest, Place::Window);
        }
        let earliest = earliest.max(state.window_open());
        match state.queue.insert(earliest) {
            Some((slot, id)) => (slot, Place::Front(id)),
            None => match state.queue.take(earliest, Duration::MAX) {
                Ok((slot, ticket)) => (slot, Place::Ticket(ticket)),
                Err(slot) => (slot, Place::Window),
            },
        }
    }

    /// Takes in the state of a partition merged into this one (see
    /// [`Partitioning`](crate::ratelimit::Partitioning)): what it sent and got through counts here
    /// too, and its pace is this one's when this one has none. Its queue is not taken: its
    /// requests take places in this one.
    pub(crate) fn absorb(&self, other: &Pacer) {
        if std::ptr::eq(self, other) {
            return;
        }
        let theirs = other.lock();
        let mut mine = self.lock();
        mine.traffic.absorb(&theirs.traffic);
        if mine.mode == Mode::Inactive && theirs.mode != Mode::Inactive {
            mine.set_mode(theirs.mode);
            mine.law = theirs.law;
            mine.rate = theirs.rate;
            mine.recovery_until = theirs.recovery_until;
            mine.last_throttle = theirs.last_throttle;
            mine.paced_since = theirs.paced_since;
            self.active.store(true, Ordering::Release);
        }
    }

    /// A limit stated on an answer that was not a `429` (its headers): a stated pace
    /// follows it; a learned one gives way to it. An inactive partition only notes nothing:
    /// a limit it has not met costs nothing.
    pub(crate) fn on_statement(&self, now: Duration, quota: RateLimitQuota) {
        let mut state = self.lock();
        if state.mode != Mode::Inactive && state.mode != Mode::Stated(quota) {
            state.set_mode(Mode::Stated(quota));
            state.law = Some(Cubic::from_rate(stated_rate(quota), now));
            state.admitted_since_cut = 0;
            self.refresh(&mut state, now);
        }
    }

    /// A `429` that arrived at `now` for a request sent at `sent_at`, asking for
    /// `requested`, stating `quota` if its message or headers did (and the client paces by
    /// it), while the partition's window is closed until `window_open`.
    pub(crate) fn on_throttle(
        &self,
        now: Duration,
        sent_at: Duration,
        requested: Option<Duration>,
        quota: Option<RateLimitQuota>,
        window_open: Duration,
    ) {
        let mut state = self.lock();
        state.traffic.rejected(now);
        self.refresh(&mut state, now);
        let asked = requested;
        let requested = requested.unwrap_or(Duration::ZERO);
        let sent_after_cut = state.law.is_none_or(|law| sent_at >= law.epoch());
        let fresh = sent_after_cut && now >= state.recovery_until;
        // Within the wait the last cut asked for: see "only once the limiter let an answer
        // through" above.
        let still_too_fast = sent_after_cut && state.admitted_since_cut > 0;
        let stated_interval = match state.mode {
            Mode::Stated(stated) if quota.is_none_or(|quota| quota == stated) => {
                Some(interval(stated_rate(stated)))
            }
            _ => None,
        };
        state.window.rejected(now, sent_at, stated_interval);
        let law = match (state.mode, quota) {
            (mode, Some(quota)) if mode != Mode::Stated(quota) || fresh => {
                state.set_mode(Mode::Stated(quota));
                Some(Cubic::from_rate(stated_rate(quota), now))
            }
            (Mode::Inactive, None) => {
                // Answered requests, not sent ones: a batch in flight is not yet rejected.
                let history = state.traffic.history(now);
                let answered = history.admitted + history.rejected;
                let overrun =
                    answered >= MIN_SAMPLE && answered as f64 > K * history.admitted as f64;
                if !overrun {
                    return;
                }
                state.set_mode(Mode::Learned);
                state.late_in_batch = 0;
                Some(start(&state.traffic, 0, now))
            }
            (Mode::Learned, None) if fresh || still_too_fast => {
                let rate = too_fast(&state.traffic, state.rate, state.paced_since, now);
                // Too fast again within the last cut's recovery: see `converging_from`.
                Some(if fresh {
                    Cubic::reduced_from(rate, now)
                } else {
                    Cubic::converging_from(rate, now)
                })
            }
            _ => None,
        };
        if let Some(law) = law {
            state.law = Some(law);
            state.recovery_until = now.saturating_add(requested);
            state.admitted_since_cut = 0;
        }
        state.last_throttle = now;
        if !self.active.swap(true, Ordering::AcqRel) {
            state.paced_since = None;
        }
        // The server's bucket is empty now: the next request one interval later (sooner if
        // the server asked for less: `Retry-After: 0` is "now"). Unless its window is
        // closed (a wait longer than the header's resolution, now or before): a new window
        // opens with the whole burst.
        let (rate, interval, tolerance) = pace(&state, now);
        state.rate = rate;
        let tat = if window_open > now {
            window_open
        } else {
            let next = asked.map_or(interval, |asked| asked.min(interval));
            now.saturating_add(next).saturating_add(tolerance)
        };
        state.queue.restart(now, tat, interval, tolerance);
        state.queue.hold_until(window_open);
    }

    /// Brings the pace up to `now`: drops it after a quiet minute, else re-spaces the queue
    /// from its head when the law moved the rate. Returns whether the partition is paced.
    fn refresh(&self, state: &mut State, now: Duration) -> bool {
        if state.mode == Mode::Inactive {
            return false;
        }
        // Quiet: no 429 for a minute (two of a stated window, if longer: a window a minute
        // long reopens at the minute, and its rejected requests come back then), and nobody
        // waiting (a pace that holds requests back is doing its job; dropping it would
        // release them all at once): behind the queue, or behind a stated window that may
        // still hold the partition's sends (it holds requests whose turn in the queue has
        // passed, and a burst now could meet it full).
        let waiting = state.queue.waiting_at(now) || state.window_busy_until() > now;
        let quiet = match state.mode {
            Mode::Stated(quota) => QUIET.max(quota.window().saturating_mul(2)),
            _ => QUIET,
        };
        if now.saturating_sub(state.last_throttle) > quiet && !waiting {
            state.set_mode(Mode::Inactive);
            state.law = None;
            state.traffic.clear();
            self.active.store(false, Ordering::Release);
            return false;
        }
        let (rate, interval, tolerance) = pace(state, now);
        if !state.queue.spaced(interval, tolerance) {
            let queue = &state.queue;
            let head = queue.at_rank(queue.head_rank(now));
            state
                .queue
                .restart(now, head.saturating_add(tolerance), interval, tolerance);
        }
        state.rate = rate;
        true
    }
}

/// A stated quota's window, 2% longer (as its pace is 2% under its rate).
fn stated_window(quota: RateLimitQuota) -> Duration {
    let window = quota.window();
    window.saturating_add(window.mul_f64(MARGIN))
}

/// A stated quota's pace: 2% under its rate.
fn stated_rate(quota: RateLimitQuota) -> f64 {
    quota.per_second() * (1.0 - MARGIN)
}

/// The rate, interval and tolerance in force at `now`.
fn pace(state: &State, now: Duration) -> (f64, Duration, Duration) {
    let Some(law) = state.law else {
        return (0.0, Duration::MAX, Duration::ZERO);
    };
    let rate = match state.mode {
        // A stated rate is kept as stated, until it has held for `PROBE_AFTER` of its
        // intervals without a 429: then the law probes above it (the limit may have risen
        // without a word: nothing else would tell), capped as a learned pace is.
        Mode::Stated(quota) => {
            let stated = stated_rate(quota);
            let probe_from = law
                .epoch()
                .saturating_add(interval(stated).saturating_mul(PROBE_AFTER));
            if now <= probe_from {
                stated
            } else {
                let probing = Cubic::from_rate(stated, probe_from).rate_at(now);
                probing.min(stated.max(sent_cap(&state.traffic, state.rate, now)))
            }
        }
        _ => {
            let cap = law.w_max().max(sent_cap(&state.traffic, state.rate, now));
            law.rate_at(now).min(cap).max(MIN_RATE)
        }
    };
    let interval = interval(rate);
    let burst = match state.mode {
        Mode::Stated(quota) => quota.limit(),
        _ => 1,
    };
    let steps = u32::try_from(burst.saturating_sub(1)).unwrap_or(u32::MAX);
    (rate, interval, interval.saturating_mul(steps))
}

#[cfg(test)]
#[path = "pacer_tests.rs"]
mod tests;

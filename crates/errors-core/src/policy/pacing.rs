//! Pacing: how fast one client may send, from what the server states and what it observes.
//!
//! Rate limits are flow control, not failure. After a `429` the client does not only wait:
//! it learns the server's pace and spaces its requests so a long batch runs at the server's
//! limit with few rejections, and requests held by a closed window leave one by one instead
//! of as a herd.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The longest window a stated limit may have (a day); a longer one is not believed.
const MAX_WINDOW: Duration = Duration::from_secs(86_400);
/// The longest reset or wait a header may state (a day).
const MAX_RESET: Duration = Duration::from_secs(86_400);
/// Header values and messages longer than this are not examined.
const MAX_TEXT: usize = 1024;
/// The pacer stays this fraction under the rate it believes, so timing noise on either side
/// does not turn into rejections.
const MARGIN: f64 = 0.02;
/// The slowest rate (per second) the pacer learns by itself; slower servers are paced by
/// their `Retry-After` windows.
const SLOWEST_LEARNED_RATE: f64 = 1.0;
/// Width of one success-counting bucket.
const BUCKET: Duration = Duration::from_millis(100);
/// How many buckets are kept (12.8 s of history).
const BUCKETS: usize = 128;
/// How long the pacer stays off after it concluded that the server's `429`s are not about
/// the pace (see [`Pacer`]).
const CALM: Duration = Duration::from_secs(30);
/// Rejections in a row, of requests paced no faster than the server let through unpaced,
/// that make the pacer conclude its `429`s are not about the pace.
const UNRELATED_STRIKES: u32 = 2;

/// The requests sent unpaced after stepping aside prove a limiter when the share of them that
/// gets through falls under this much of the share before (see `Trial`).
const PROVEN_SHARE: f64 = 0.7;
/// Bounds of the answers a trial needs (the first batch's count, within these).
const MIN_TRIAL_ANSWERS: u64 = 32;
const MAX_TRIAL_ANSWERS: u64 = 256;

/// How many schedule changes a held request can be carried across (see [`Rescale`]); one
/// held through more takes a new slot at the back. Every request of a batch that met the
/// limit may take the head of the queue in turn, each a change: room for a batch of 64 in
/// flight and more.
const RESCALES_KEPT: usize = 128;

/// A limit a server stated: at most `limit` requests per `window`.
///
/// ```
/// use std::time::Duration;
/// use errors_core::RateLimitQuota;
///
/// let quota = RateLimitQuota::from_message("Rate limit exceeded: 100 calls per 60 seconds").unwrap();
/// assert_eq!(quota.limit(), 100);
/// assert_eq!(quota.window(), Duration::from_secs(60));
/// // Absurd statements are not believed.
/// assert_eq!(RateLimitQuota::from_message("Rate limit exceeded: 0 calls per 0 seconds"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitQuota {
    limit: u64,
    window: Duration,
}

impl RateLimitQuota {
    /// `limit` requests per `window`, or `None` when that is not a usable limit (no request
    /// at all, an empty window, or a window longer than a day).
    pub fn new(limit: u64, window: Duration) -> Option<RateLimitQuota> {
        (limit > 0 && !window.is_zero() && window <= MAX_WINDOW)
            .then_some(RateLimitQuota { limit, window })
    }

    /// The requests allowed per window.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Requests per second.
    pub fn per_second(&self) -> f64 {
        self.limit as f64 / self.window.as_secs_f64()
    }

    /// The limit an error message states, as the API's rate limiter writes it: "Rate limit
    /// exceeded: 100 calls per 60 seconds" (also "requests", "per minute", "per 1 hour").
    /// Only the first 1 KiB of the message is examined.
    pub fn from_message(message: &str) -> Option<RateLimitQuota> {
        let text = crate::excerpt::str_prefix(message, MAX_TEXT).to_ascii_lowercase();
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == '/' || c == ':' || c == '(')
            .map(|w| w.trim_end_matches([',', ';']))
            .filter(|w| !w.is_empty())
            .collect();
        // "<n> calls per [<m>] <unit>", or without the noun, as the `limits` library (behind
        // slowapi) writes it: "50 per 1 second".
        for (i, word) in words.iter().enumerate() {
            let Some(limit) = parse_count(word) else {
                continue;
            };
            let noun = words.get(i + 1).map(|w| w.trim_end_matches('.'));
            let per = if matches!(
                noun,
                Some("calls" | "call" | "requests" | "request" | "reqs" | "req")
            ) {
                i + 2
            } else {
                i + 1
            };
            if words.get(per) != Some(&"per") {
                continue;
            }
            let (count, unit) = match words.get(per + 1).and_then(|w| parse_count(w)) {
                Some(n) => (n, words.get(per + 2)),
                None => (1, words.get(per + 1)),
            };
            let unit = unit.map(|u| u.trim_end_matches(['.', ')']));
            let seconds = match unit {
                Some("second" | "seconds" | "sec" | "secs" | "s") => 1,
                Some("minute" | "minutes" | "min" | "mins" | "m") => 60,
                Some("hour" | "hours" | "hr" | "hrs" | "h") => 3600,
                Some("day" | "days" | "d") => 86_400,
                _ => continue,
            };
            let window = Duration::from_secs(count.saturating_mul(seconds));
            return RateLimitQuota::new(limit, window);
        }
        None
    }
}

/// What a response's rate-limit headers state, for any status: the IETF `RateLimit-Policy`
/// and `RateLimit` fields (drafts 7 and later: `"default";q=100;w=60` and
/// `"default";r=0;t=30`, or `100;w=60` and `limit=100, remaining=0, reset=30`), the older
/// `RateLimit-Limit/-Remaining/-Reset`, and the common `X-RateLimit-Limit/-Remaining/-Reset`
/// (a reset may be seconds or a Unix time).
///
/// Contradictory or absurd values are dropped, never trusted: a remaining count above the
/// limit, negative or non-numeric values, a reset in the past or more than a day ahead.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use errors_core::{RateLimitQuota, RateLimitStatement};
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("ratelimit-policy", r#""default";q=50;w=1"#.parse().unwrap());
/// headers.insert("ratelimit", r#""default";r=0;t=1"#.parse().unwrap());
/// let stated = RateLimitStatement::from_headers(&headers, SystemTime::UNIX_EPOCH);
/// assert_eq!(stated.quota(), RateLimitQuota::new(50, Duration::from_secs(1)));
/// assert_eq!(stated.remaining(), Some(0));
/// assert_eq!(stated.reset(), Some(Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitStatement {
    quota: Option<RateLimitQuota>,
    remaining: Option<u64>,
    reset: Option<Duration>,
}

impl RateLimitStatement {
    /// Reads the headers. `now` turns a Unix-time reset into a delay.
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> RateLimitStatement {
        // Most answers carry none of these fields and this runs on every success: one pass
        // over the names (lowercase in a `HeaderMap`) instead of eight lookups.
        let mentions_rate_limit = |name: &http::HeaderName| {
            let name = name.as_str();
            name.starts_with("ratelimit") || name.starts_with("x-ratelimit")
        };
        if !headers.keys().any(mentions_rate_limit) {
            return RateLimitStatement::default();
        }
        let mut limit: Option<u64> = None;
        let mut window: Option<Duration> = None;
        let mut remaining: Option<u64> = None;
        let mut reset: Option<Duration> = None;
        let mut quota: Option<RateLimitQuota> = None;

        // RateLimit-Policy: the most restrictive policy listed.
        for value in text_values(headers, "ratelimit-policy") {
            for member in value.split(',') {
                let mut q = None;
                let mut w = None;
                for (i, item) in member.split(';').enumerate() {
                    match param(item) {
                        Some(("q", v)) => q = parse_count(v),
                        Some(("w", v)) => w = parse_count(v).map(Duration::from_secs),
                        None if i == 0 => q = q.or_else(|| parse_count(item.trim())),
                        _ => {}
                    }
                }
                if let Some(found) = q.zip(w).and_then(|(q, w)| RateLimitQuota::new(q, w))
                    && quota.is_none_or(|old| found.per_second() < old.per_second())
                {
                    quota = Some(found);
                }
            }
        }
        // RateLimit: draft 8+ `r=` / `t=`, draft 7 `limit=, remaining=, reset=`.
        for value in text_values(headers, "ratelimit") {
            for item in value.split([',', ';']) {
                match param(item) {
                    Some(("r" | "remaining", v)) => remaining = min_opt(remaining, parse_count(v)),
                    Some(("t" | "reset", v)) => {
                        reset = max_opt(reset, parse_count(v).map(Duration::from_secs))
                    }
                    Some(("limit", v)) => limit = parse_count(v),
                    Some(("w", v)) => window = parse_count(v).map(Duration::from_secs),
                    _ => {}
                }
            }
        }
        for [limit_name, remaining_name, reset_name] in [
            ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"],
            [
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
            ],
        ] {
            if let Some(v) = first_text(headers, limit_name) {
                // `100` or `100, 100;w=60`
                let mut parts = v.split([',', ';']);
                limit = limit.or_else(|| parts.next().and_then(|p| parse_count(p.trim())));
                for item in parts {
                    if let Some(("w", w)) = param(item) {
                        window = window.or_else(|| parse_count(w).map(Duration::from_secs));
                    }
                }
            }
            if let Some(v) = first_text(headers, remaining_name) {
                remaining = remaining.or_else(|| parse_count(v.trim()));
            }
            if let Some(v) = first_text(headers, reset_name) {
                reset = reset.or_else(|| parse_reset(v.trim(), now));
            }
        }
        if quota.is_none()
            && let (Some(l), Some(w)) = (limit, window)
        {
            quota = RateLimitQuota::new(l, w);
        }
        let limit = limit.or(quota.map(|q| q.limit));
        // A remaining count above the limit contradicts it: believe neither.
        if let (Some(r), Some(l)) = (remaining, limit)
            && r > l
        {
            remaining = None;
        }
        let reset = reset.filter(|r| !r.is_zero() && *r <= MAX_RESET);
        RateLimitStatement {
            quota,
            remaining,
            reset,
        }
    }

    /// A statement with only a quota (for tests and for drivers that read it elsewhere).
    pub fn with_quota(quota: RateLimitQuota) -> RateLimitStatement {
        RateLimitStatement {
            quota: Some(quota),
            ..RateLimitStatement::default()
        }
    }

    /// The stated limit, if a policy gave both a count and a window.
    pub fn quota(&self) -> Option<RateLimitQuota> {
        self.quota
    }

    /// Requests left in the current window.
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }

    /// Time until the window resets (never zero, at most a day).
    pub fn reset(&self) -> Option<Duration> {
        self.reset
    }

    /// The wait the headers ask for: the reset, when nothing remains.
    pub fn requested_wait(&self) -> Option<Duration> {
        (self.remaining == Some(0)).then_some(self.reset).flatten()
    }

    /// Whether the headers said anything usable.
    pub fn is_empty(&self) -> bool {
        *self == RateLimitStatement::default()
    }
}

/// A non-negative integer that fits a `u64` (`1,000` allowed); anything else is `None`.
fn parse_count(text: &str) -> Option<u64> {
    let text = text.trim().trim_matches('"');
    let digits: String = text.chars().filter(|c| *c != ',' && *c != '_').collect();
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A reset as seconds, or as a Unix time (a value past 1e9) relative to `now`; a fraction is
/// rounded up (`limits`, behind slowapi, sends `1795636907.6764777`). A reset in the past is
/// `None`.
fn parse_reset(text: &str, now: SystemTime) -> Option<Duration> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 20 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = parse_count(whole)?;
    let n = if fraction.bytes().any(|b| b != b'0') {
        n.checked_add(1)?
    } else {
        n
    };
    if n < 1_000_000_000 {
        return Some(Duration::from_secs(n));
    }
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(n))?;
    at.duration_since(now).ok()
}

/// `key=value` (either side trimmed, the key lowercased).
fn param(item: &str) -> Option<(&str, &str)> {
    let (key, value) = item.split_once('=')?;
    let key = key.trim();
    let key = match key {
        k if k.eq_ignore_ascii_case("q") => "q",
        k if k.eq_ignore_ascii_case("w") => "w",
        k if k.eq_ignore_ascii_case("r") => "r",
        k if k.eq_ignore_ascii_case("t") => "t",
        k if k.eq_ignore_ascii_case("limit") => "limit",
        k if k.eq_ignore_ascii_case("remaining") => "remaining",
        k if k.eq_ignore_ascii_case("reset") => "reset",
        _ => return None,
    };
    Some((key, value.trim()))
}

fn text_values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .take(8)
        .filter_map(|v| v.to_str().ok())
        .map(|v| crate::excerpt::str_prefix(v, MAX_TEXT))
}

fn first_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    text_values(headers, name).next()
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Where the pacer's rate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaceSource {
    /// The server stated its limit (the error message or rate-limit headers).
    Stated,
    /// Learned from what the client observed: what got past the limiter against `429`s.
    Learned,
}

/// The pace of one partition of a client's requests (by default one route; see
/// [`Partitioning`](crate::Partitioning)), shared by all of them (inside
/// [`ClientRetryState`]).
///
/// Inactive until the server first rejects a request with `429` and either states its limit
/// or some requests got through before (so there is a pace to learn): a client that is
/// never rate limited is never slowed down. From then on every attempt takes a send slot, spaced
/// at the rate the pacer believes the server allows:
///
/// - **stated**: the limit the server gave (the API's message "… 50 calls per 1 seconds",
///   `RateLimit-Policy`, `X-RateLimit-*`), 2% under it; unless what the client observed
///   contradicts it (the server let through more than twice the stated rate, or requests
///   sent at that pace are rejected three times), in which case it is learned instead;
/// - **learned** (in the spirit of the AWS SDK's adaptive retry mode), from what got
///   through (every answer but a rate limit: a `503` from the service behind the limiter
///   got past it) and what was rejected: first what the client tried to send over the first
///   rate-limit cycle (both together: an upper bound that the closed window does not hide),
///   settled when that window opens (the rest of the batch that met the limit is answered
///   in any order meanwhile, and no request leaves before: all take their slots then, see
///   [`Pacer::schedule`]); raised by half every second while requests queue and no
///   rejection comes, until a request sent at that pace is rejected; then it falls to an
///   estimate of the server's rate: what got through since the window opened, less the
///   burst the first batch got through, over the time since (a fixed window that filled, or
///   any later rejection: what got through in the last second), at most 95% of the rejected
///   pace, at least 70% of it (40% when the first batch's 429s all came after its
///   successes, as a limiter's do) and never under the goodput sustained over the last
///   12.8 s. That estimate is the new ceiling; every 30 s without a rejection the ceiling
///   rises by a tenth and the pace creeps up by 2% a second, at most to 95% of it.
///
/// **`429`s that are not about the pace.** Some servers answer `429` whatever the rate (a
/// shed load, a flaky gateway). Pacing cannot help there, and it hurts: every `429` closes
/// the window, and a paced release sends fewer requests before the next one than a herd
/// does. A limiter never rejects a client that slowed down below what it let through before
/// any pacing; so when requests paced no faster than that are rejected twice in a row, the
/// pacer concludes the `429`s are not about the pace and steps aside for 30 s (the window
/// each `429` closes still holds the client). What got through unpaced may be a burst,
/// though (a bucket of 20 a second holding 40 lets 40 through in the first second), and the
/// first batch tells which: answers drawn at random keep mixing successes among the `429`s,
/// a limiter that ran out answers the rest of the batch with rejections. After a first
/// batch whose `429`s outnumbered the successes that came after the first one, only paces
/// under half of it count; after one with few successes past its first `429` (at most one
/// per three rejections), none does: a bucket can hold many seconds of its rate (40 at 2 a
/// second), so no pace under its burst shows that its `429`s are not about the pace, and
/// the pacer steps down until they stop. Answers come back in any order, though, and a
/// limiter's first batch can look mixed: so stepping aside is a conclusion on trial. The
/// requests sent unpaced after it are counted; once as many answers as the first batch had
/// are in, a share that got through under 70% of the share before (in the first batch, or
/// paced since) proves a limiter whose burst is spent (random `429`s take the same share
/// of any batch), and the pacer starts again at what got through meanwhile, never to doubt
/// that limiter again.
///
/// Slots never form a burst: after a closed window the held requests leave one by one at
/// the paced rate. The queue keeps its order: when the pace changes, the requests holding
/// slots are spaced at the new pace from the end of the window, in the same order, ahead of
/// requests that arrive later; a request rejected after its turn goes first when the
/// window opens (see [`Pacer::schedule`]). Time is a [`Duration`] since the driver's anchor; nothing here reads a
/// clock.
///
/// [`ClientRetryState`]: crate::ClientRetryState
///
/// ```
/// use std::time::Duration;
/// use errors_core::{Pacer, RateLimitQuota};
///
/// let pacer = Pacer::default();
/// let ms = Duration::from_millis;
/// // Not rate limited yet: no pacing.
/// assert_eq!(pacer.reserve(ms(0), ms(0)), ms(0));
/// assert_eq!(pacer.reserve(ms(0), ms(0)), ms(0));
///
/// // A 429 stating "50 calls per 1 seconds", asking for a 1 s wait.
/// let quota = RateLimitQuota::new(50, Duration::from_secs(1));
/// pacer.on_throttle(ms(10), ms(0), Some(Duration::from_secs(1)), quota);
/// // Requests held until the window opens at 1.01 s leave ~20 ms apart, not together.
/// let first = pacer.reserve(ms(20), ms(1010));
/// let second = pacer.reserve(ms(20), ms(1010));
/// assert_eq!(first, ms(1010));
/// assert!(second - first >= ms(20));
/// ```
#[derive(Debug)]
pub struct Pacer {
    active: AtomicBool,
    /// Bumped whenever a `429` or a statement changes the rate: slots taken before were
    /// spaced at a rate no longer believed.
    schedule: AtomicU64,
    state: Mutex<State>,
    successes: Successes,
    /// Set while the first estimate is provisional: successes then are counted in
    /// `late_successes` too.
    counting_late: AtomicBool,
    /// Successes that arrived after the first `429`, from requests sent before it.
    late_successes: AtomicU64,
    /// While a [`Trial`] runs, its start in nanoseconds (`u64::MAX` otherwise): successes
    /// of requests sent since are counted in `trial_successes`.
    trial_from: AtomicU64,
    trial_successes: AtomicU64,
}

#[derive(Debug)]
struct State {
    /// Requests per second, when active.
    rate: f64,
    source: PaceSource,
    /// Set after a rejection of a request sent at the learned pace: the rate that was too fast.
    ceiling: Option<f64>,
    stated: Option<RateLimitQuota>,
    /// Rejections of requests sent at the stated pace.
    stated_strikes: u32,
    next_slot: Duration,
    /// Start of the current measuring cycle (the end of the last rate-limit window).
    cycle_start: Option<Duration>,
    last_change: Duration,
    /// Slots handed out since `last_change`: what the client actually sends (in a closed
    /// loop, a request takes a slot when the one before it has gone and been answered).
    granted: u64,
    /// When the last rejection that changed the rate arrived.
    last_throttle: Option<Duration>,
    /// Rejections seen during the first window (the client's demand, with the successes).
    early_rejections: u64,
    /// Start and length of the first cycle, for the first learned estimate.
    first_cycle: Option<(Duration, Duration)>,
    /// The first estimate is provisional until its window opens: the `429`s and successes
    /// of the batch that met the limit arrive in any order while it is closed.
    provisional: bool,
    /// How the first batch was answered after its first `429` (set when the first estimate
    /// settles).
    first_batch: FirstBatch,
    /// What got through in the first cycle, before any pacing (set when the first estimate
    /// settles): the burst the limiter lets through at once.
    first_burst: Option<u64>,
    /// Rejections in a row of requests paced no faster than the unpaced goodput.
    unrelated_strikes: u32,
    /// Rejections since the first estimate settled (for a [`Trial`]).
    paced_rejections: u64,
    /// Until when `429`s do not start the pacer (it concluded they are not about the pace).
    calm_until: Option<Duration>,
    /// That conclusion, checked against the answers to the requests sent unpaced after it.
    trial: Option<Trial>,
    /// The latest changes of pace between two spaced schedules, oldest first.
    rescales: VecDeque<Rescale>,
    /// The head of the queue: the first slot not given to a request the limiter rejected
    /// after its turn, nor before the current schedule's start.
    front: Duration,
}

/// How a spaced schedule maps onto the one that replaced it when the pace changed: the
/// queue of requests holding slots is stretched (or squeezed) to the new pace from the new
/// schedule's start, in the same order, and requests that arrive later queue behind it.
/// Without it every holder took a new slot at the back when it woke, behind requests that
/// came after it; with a queue a minute long (64 calls in flight against 1 a second), a
/// holder pushed back twice passed a 120 s deadline.
#[derive(Debug, Clone, Copy)]
struct Rescale {
    /// The schedule replaced (the new one is the next).
    from: u64,
    /// When it was replaced: a slot `d` after `at` becomes `d * stretch` after `origin`.
    at: Duration,
    /// Where the new schedule starts (the end of the window the change came with).
    origin: Duration,
    /// The new interval over the old.
    stretch: f64,
}

impl Rescale {
    /// Where `slot` of the schedule replaced lies in the new one: slots before `at` (due
    /// already, or taken at the head of the queue) stay.
    fn map(&self, slot: Duration) -> Duration {
        if slot < self.at {
            return slot;
        }
        let later = slot.saturating_sub(self.at).as_secs_f64() * self.stretch;
        self.origin
            .saturating_add(Duration::try_from_secs_f64(later).unwrap_or(MAX_WINDOW))
    }
}

/// A conclusion that the `429`s are not about the pace, on trial. Stepping aside sends the
/// requests unpaced again, as the first batch was: a server answering `429` at random lets
/// the same share of them through as of the first batch, while a limiter whose burst the
/// first batch spent lets through only what it refills (a bucket of 10 a second holding
/// 40: 40 of the first 64, then 10 a second of however many are sent). Once as many answers
/// as the first batch had came back, a share under [`PROVEN_SHARE`] of the share before (the
/// first batch's, or the paced requests', the higher) proves a limiter, and the pacer starts again at what got through meanwhile (unpaced
/// requests keep a limiter busy: that is its rate). Shares, not counts: fewer requests may
/// leave at each opening than made the first batch.
#[derive(Debug, Clone, Copy)]
struct Trial {
    /// When the requests on trial started to leave: the end of the window that ended pacing.
    from: Duration,
    /// The share of answers that got through before: in the first batch, or paced since
    /// (the higher; a limiter lets most paced requests through, and a first batch that met
    /// a large burst may show a low share).
    share_before: f64,
    /// How many answers the first batch had: as many are needed for a verdict.
    answers_needed: u64,
    /// Rejections of requests sent since `from`.
    rejections: u64,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            active: AtomicBool::default(),
            schedule: AtomicU64::default(),
            state: Mutex::default(),
            successes: Successes::default(),
            counting_late: AtomicBool::default(),
            late_successes: AtomicU64::default(),
            trial_from: AtomicU64::new(u64::MAX),
            trial_successes: AtomicU64::default(),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            rate: 0.0,
            source: PaceSource::Learned,
            ceiling: None,
            stated: None,
            stated_strikes: 0,
            next_slot: Duration::ZERO,
            cycle_start: None,
            last_change: Duration::ZERO,
            granted: 0,
            last_throttle: None,
            early_rejections: 0,
            first_cycle: None,
            provisional: false,
            first_batch: FirstBatch::MostlyRejected,
            first_burst: None,
            unrelated_strikes: 0,
            paced_rejections: 0,
            calm_until: None,
            trial: None,
            rescales: VecDeque::new(),
            front: Duration::ZERO,
        }
    }
}

/// Success counts in 100 ms buckets over the last 12.8 s, lock-free: each slot packs the
/// bucket's index (high 40 bits) with its count (low 24 bits).
#[derive(Debug)]
struct Successes {
    slots: [AtomicU64; BUCKETS],
}

const COUNT_BITS: u32 = 24;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

impl Default for Successes {
    fn default() -> Self {
        Successes {
            slots: std::array::from_fn(|_| AtomicU64::new(u64::MAX)),
        }
    }
}

impl Successes {
    /// The bucket index of `at` (time / 100 ms), kept within 40 bits.
    fn index(at: Duration) -> u64 {
        u64::try_from(at.as_nanos() / BUCKET.as_nanos())
            .unwrap_or(u64::MAX)
            .min((1 << (64 - COUNT_BITS)) - 2)
    }

    fn record(&self, at: Duration) {
        let index = Successes::index(at);
        let slot = &self.slots[(index % BUCKETS as u64) as usize];
        let _ = slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |packed| {
            if packed >> COUNT_BITS == index {
                Some(packed + u64::from(packed & COUNT_MASK < COUNT_MASK))
            } else if packed == u64::MAX || packed >> COUNT_BITS < index {
                Some((index << COUNT_BITS) | 1)
            } else {
                None // a newer bucket already took the slot
            }
        });
    }

    /// Successes from `since` to `now` (as far back as the history goes), and the start of
    /// the oldest bucket counted, if any.
    fn since(&self, since: Duration, now: Duration) -> (u64, Option<Duration>) {
        let to = Successes::index(now);
        let from = Successes::index(since).max(to.saturating_sub(BUCKETS as u64 - 1));
        let mut total = 0;
        let mut oldest: Option<u64> = None;
        for slot in &self.slots {
            let packed = slot.load(Ordering::Acquire);
            let index = packed >> COUNT_BITS;
            if packed != u64::MAX && (from..=to).contains(&index) {
                total += packed & COUNT_MASK;
                oldest = Some(oldest.map_or(index, |o| o.min(index)));
            }
        }
        let oldest = oldest.map(|i| BUCKET.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX)));
        (total, oldest)
    }

    fn span() -> Duration {
        BUCKET * BUCKETS as u32
    }
}

impl Pacer {
    /// Whether the pacer is spacing requests (a `429` has been seen).
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// The rate in force (requests per second) and where it comes from, when active.
    pub fn rate(&self) -> Option<(f64, PaceSource)> {
        if !self.is_active() {
            return None;
        }
        let state = self.lock();
        Some((state.rate, state.source))
    }

    /// The current schedule: it changes whenever a `429` or a statement changes the rate
    /// or closes the window over the queue, or a rejected request goes to the head of the
    /// queue. A slot taken under an earlier schedule is no longer valid as it is:
    /// [`RetryRun`](crate::RetryRun) carries it over to its place in the new schedule (the
    /// queue keeps its order across the last few changes of a spaced pace), or takes a new
    /// slot when it cannot (after a provisional estimate, or too many changes).
    ///
    /// `now` also settles the first learned estimate once the window that the first `429`
    /// closed has opened (until then it is provisional: the rest of the batch that met the
    /// limit is still being answered), which starts a new schedule.
    pub fn schedule(&self, now: Duration) -> u64 {
        if self.is_active() {
            let mut state = self.lock();
            self.settle_if_due(&mut state, now);
        }
        self.schedule.load(Ordering::Acquire)
    }

    /// A `429` during the calm, for a request sent at `sent_at`: counted toward the trial of
    /// the conclusion that 429s are not about the pace, and the verdict once enough answers
    /// came back (see [`Trial`]). A proven limiter restarts the pacer at what got through
    /// since stepping aside, and its 429s are never doubted again.
    fn judge_trial(
        &self,
        state: &mut State,
        now: Duration,
        sent_at: Duration,
        requested: Option<Duration>,
    ) {
        let Some(trial) = state.trial.as_mut().filter(|t| sent_at >= t.from) else {
            return;
        };
        trial.rejections = trial.rejections.saturating_add(1);
        let successes = self.trial_successes.load(Ordering::Acquire);
        let answers = successes.saturating_add(trial.rejections);
        if answers < trial.answers_needed {
            return;
        }
        let trial = *trial;
        self.end_trial(state);
        let share = successes as f64 / answers as f64;
        if share >= trial.share_before * PROVEN_SHARE {
            return;
        }
        // Requests left unpaced at every opening and kept the limiter busy: what got through
        // since is about its rate. (A little over it, counting what it refilled during the
        // window before; under it when the answers of the last opening are not all in. Over
        // is the side to err on: a later rejection steps the pace down, while a pace under
        // the limit would stay there for 30 s.)
        let since = now.saturating_sub(trial.from);
        let goodput = (successes as f64 / since.max(Duration::from_secs(1)).as_secs_f64())
            .max(SLOWEST_LEARNED_RATE);
        let window_end = now.saturating_add(requested.unwrap_or(Duration::ZERO));
        *state = State {
            rate: goodput * (1.0 - MARGIN),
            source: PaceSource::Learned,
            ceiling: Some(goodput),
            stated: state.stated,
            cycle_start: Some(window_end),
            last_change: window_end,
            last_throttle: Some(now),
            first_cycle: Some((trial.from, since)),
            first_batch: FirstBatch::Exhausted,
            first_burst: Some(successes),
            ..State::default()
        };
        self.reschedule(state);
        self.active.store(true, Ordering::Release);
    }

    /// Ends the trial, if one runs.
    fn end_trial(&self, state: &mut State) {
        state.trial = None;
        self.trial_from.store(u64::MAX, Ordering::Release);
    }

    /// Settles the first learned estimate once its window has opened (`now` past it), from
    /// the whole first cycle: what the client tried to send (successes and rejections), an
    /// upper bound of the server's pace that the window does not hide.
    fn settle_if_due(&self, state: &mut State, now: Duration) {
        if !state.provisional || state.cycle_start.is_none_or(|end| now < end) {
            return;
        }
        state.provisional = false;
        let Some((start, cycle)) = state.first_cycle else {
            return;
        };
        let end = start.saturating_add(cycle);
        let (successes, _) = self.successes.since(start, end);
        let seconds = cycle.as_secs_f64();
        let attempted = successes.saturating_add(state.early_rejections) as f64 / seconds;
        state.rate = attempted.max(SLOWEST_LEARNED_RATE) * (1.0 - MARGIN);
        self.counting_late.store(false, Ordering::Release);
        state.first_batch = FirstBatch::of(
            self.late_successes.swap(0, Ordering::AcqRel),
            state.early_rejections,
        );
        state.first_burst = Some(successes);
        self.reschedule(state);
    }

    /// Starts a new schedule after the rate changed: the slots taken so far are dropped
    /// (their holders take new ones), and the next slot is at the window's opening.
    fn reschedule(&self, state: &mut State) {
        state.next_slot = Duration::ZERO;
        state.front = Duration::ZERO;
        self.schedule.fetch_add(1, Ordering::AcqRel);
    }

    /// Starts a new schedule after a spaced pace (`old_rate`) changed to another, keeping
    /// the requests that hold slots in their order (see [`Rescale`]): the new schedule starts
    /// at `origin` with room for them, and later requests take slots after it.
    fn rescale(&self, state: &mut State, now: Duration, origin: Duration, old_rate: f64) {
        let stretch = old_rate / state.rate;
        if !(stretch.is_finite() && stretch > 0.0) {
            return self.reschedule(state);
        }
        // From the queue's head: 429s that follow one another each close the window a
        // little further, and must not push the queue back by a whole window each.
        let head = now.max(state.front);
        let rescale = Rescale {
            from: self.schedule.load(Ordering::Acquire),
            at: head,
            origin: origin.max(head),
            stretch,
        };
        state.front = rescale.origin;
        self.push_rescale(state, rescale);
    }

    /// Starts the schedule `rescale` leads to.
    fn push_rescale(&self, state: &mut State, rescale: Rescale) {
        state.next_slot = rescale.map(state.next_slot);
        if state.rescales.len() == RESCALES_KEPT {
            state.rescales.pop_front();
        }
        state.rescales.push_back(rescale);
        self.schedule.fetch_add(1, Ordering::AcqRel);
    }

    /// The slot at the head of the queue, from `earliest`, for a request the limiter rejected
    /// after it waited its turn: the requests queued behind move back one slot, rather than
    /// the rejected one going to the back of the queue (with a queue a minute long, that
    /// put it past a 120 s deadline). Returns the slot and its schedule.
    pub(crate) fn take_front_slot(&self, now: Duration, earliest: Duration) -> (Duration, u64) {
        if !self.is_active() {
            return (earliest.max(now), self.schedule.load(Ordering::Acquire));
        }
        let mut state = self.lock();
        self.settle_if_due(&mut state, now);
        let earliest = earliest.max(now);
        if let Some(at) = state.provisional_slot(earliest) {
            return (at, self.schedule.load(Ordering::Acquire));
        }
        let head = earliest.max(state.front);
        state.front = head.saturating_add(interval(state.rate));
        if state.next_slot > head {
            // Requests hold slots from the head on: they move back one slot.
            let rescale = Rescale {
                from: self.schedule.load(Ordering::Acquire),
                at: head,
                origin: state.front,
                stretch: 1.0,
            };
            self.push_rescale(&mut state, rescale);
        } else {
            state.next_slot = state.front;
        }
        (head, self.schedule.load(Ordering::Acquire))
    }

    /// The slot of the current schedule that takes the place of `slot`, taken under the
    /// earlier `schedule`, when the pace changed since without losing the queue's order
    /// (see [`Rescale`]); `None` when the request must take a new slot.
    pub(crate) fn carry_slot(
        &self,
        now: Duration,
        slot: Duration,
        schedule: u64,
    ) -> Option<(Duration, u64)> {
        if !self.is_active() {
            return None;
        }
        let mut state = self.lock();
        self.settle_if_due(&mut state, now);
        if state.provisional {
            return None;
        }
        let (mut slot, mut schedule) = (slot, schedule);
        for rescale in &state.rescales {
            if rescale.from == schedule {
                slot = rescale.map(slot);
                schedule = rescale.from.wrapping_add(1);
            }
        }
        let current = self.schedule.load(Ordering::Acquire);
        (schedule == current).then_some((slot, current))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the next send slot for a request ready at `now` that may not leave before
    /// `not_before` (the end of the client's rate-limit window). Returns when it may be sent:
    /// `max(now, not_before)` while inactive, else also one paced interval after the previous
    /// slot.
    pub fn reserve(&self, now: Duration, not_before: Duration) -> Duration {
        self.try_reserve(now, not_before, Duration::MAX)
            .unwrap_or_else(|slot| slot)
    }

    /// Like [`Pacer::reserve`], for a request that cannot wait past `before` (its deadline):
    /// the slot when it is earlier than `before`, else `Err` with the slot it would have had,
    /// and nothing is taken. A request that gives up keeps no place in the queue, so the
    /// requests behind it are not pushed back by one that was never sent.
    pub fn try_reserve(
        &self,
        now: Duration,
        not_before: Duration,
        before: Duration,
    ) -> Result<Duration, Duration> {
        self.take_slot(now, not_before, before)
            .map(|(slot, _)| slot)
    }

    /// [`Pacer::try_reserve`], also returning the schedule the slot belongs to.
    pub(crate) fn take_slot(
        &self,
        now: Duration,
        not_before: Duration,
        before: Duration,
    ) -> Result<(Duration, u64), Duration> {
        let earliest = now.max(not_before);
        if !self.is_active() {
            return if earliest < before {
                Ok((earliest, self.schedule.load(Ordering::Acquire)))
            } else {
                Err(earliest)
            };
        }
        let mut state = self.lock();
        self.settle_if_due(&mut state, now);
        if let Some(at) = state.provisional_slot(earliest) {
            let schedule = self.schedule.load(Ordering::Acquire);
            return if at < before {
                Ok((at, schedule))
            } else {
                Err(at)
            };
        }
        let queued = state.next_slot > earliest;
        state.grow(now, queued);
        let slot = earliest.max(state.next_slot);
        if slot >= before {
            return Err(slot);
        }
        state.granted = state.granted.saturating_add(1);
        let interval = interval(state.rate);
        state.next_slot = slot.saturating_add(interval);
        Ok((slot, self.schedule.load(Ordering::Acquire)))
    }

    /// An answer that got past the rate limiter arrived at `now`: a success, or any error
    /// but a rate limit (a `503` from the service behind the limiter was let through by it,
    /// and counting only successes would read a limiter's pace as low as the service's
    /// failure rate, then pace the client lower at every random `429`). Counted lock-free, so
    /// the first `429` can be measured against what got through before it. The pacer's
    /// "successes" below are these answers.
    ///
    /// For an answer whose request was sent at a known time, see
    /// [`Pacer::on_admitted_sent_at`]; this one counts it as sent at `now`.
    pub fn on_admitted(&self, now: Duration) {
        self.on_admitted_sent_at(now, now);
    }

    /// [`Pacer::on_admitted`] for a request sent at `sent_at`.
    pub fn on_admitted_sent_at(&self, now: Duration, sent_at: Duration) {
        self.successes.record(now);
        if self.counting_late.load(Ordering::Acquire) {
            self.late_successes.fetch_add(1, Ordering::AcqRel);
        }
        if nanos(sent_at) >= self.trial_from.load(Ordering::Acquire) {
            self.trial_successes.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// A limit the server stated on any response (its headers).
    pub fn on_statement(&self, quota: RateLimitQuota) {
        let mut state = self.lock();
        if state.stated != Some(quota) {
            state.stated = Some(quota);
            state.stated_strikes = 0;
            if self.is_active() && state.source == PaceSource::Stated {
                state.rate = quota.per_second() * (1.0 - MARGIN);
                self.reschedule(&mut state);
            }
        }
    }

    /// A `429` that arrived at `now` for a request sent at `sent_at`, asking for `requested`
    /// and stating `quota` if the message or headers did.
    pub fn on_throttle(
        &self,
        now: Duration,
        sent_at: Duration,
        requested: Option<Duration>,
        quota: Option<RateLimitQuota>,
    ) {
        let mut state = self.lock();
        self.settle_if_due(&mut state, now);
        if state.calm_until.is_some_and(|until| now < until) {
            // Concluded lately that these 429s are not about the pace: the window they
            // close is all the client does about them, unless the answers since show a
            // limiter after all (see `Trial`).
            self.judge_trial(&mut state, now, sent_at, requested);
            return;
        }
        if state.trial.is_some() {
            self.end_trial(&mut state);
        }
        let was_active = self.is_active();
        // Slots were spaced at `state.rate` (not held at a provisional estimate's end).
        let was_spaced = was_active && !state.provisional;
        if !was_active {
            state.early_rejections = state.early_rejections.saturating_add(1);
        } else if !state.provisional {
            state.paced_rejections = state.paced_rejections.saturating_add(1);
        }
        if let Some(quota) = quota
            && state.stated != Some(quota)
        {
            state.stated = Some(quota);
            state.stated_strikes = 0;
        }
        let paced_before = state.rate;
        // Only a request sent after the last change says something about the current pace.
        let fresh = state.last_throttle.is_none_or(|t| sent_at >= t);
        if was_active && !fresh {
            if state.source == PaceSource::Stated
                && let Some(quota) = state.stated
            {
                state.rate = quota.per_second() * (1.0 - MARGIN);
            } else if state.provisional {
                // More of the first batch rejected: the client tried that much more (counted
                // when the estimate settles; until then no slot is spaced at any rate).
                state.early_rejections = state.early_rejections.saturating_add(1);
            }
            if state.rate != paced_before {
                if was_spaced {
                    self.rescale(&mut state, now, now, paced_before);
                } else {
                    self.reschedule(&mut state);
                }
            }
            return;
        }
        let window_end = now.saturating_add(requested.unwrap_or(Duration::ZERO));
        // Goodput over the cycle: from the end of the last window (or the first success on
        // record) to the end of this one.
        let history = now.saturating_sub(Successes::span());
        let (_, first_success) = self.successes.since(history, now);
        let cycle_start = state
            .cycle_start
            .or(first_success)
            .unwrap_or(sent_at)
            .max(history);
        let cycle = window_end
            .saturating_sub(cycle_start)
            .clamp(Duration::from_secs(1), Successes::span());
        let (successes, _) = self.successes.since(window_end.saturating_sub(cycle), now);
        let measured = successes as f64 / cycle.as_secs_f64();
        // What the client tried to send over that cycle: an upper bound of the server's pace
        // that, unlike the goodput, is not hidden by the window the 429 closes.
        let attempted =
            successes.saturating_add(state.early_rejections) as f64 / cycle.as_secs_f64();
        let floor = SLOWEST_LEARNED_RATE;

        let paced_at = state.rate;
        let stated_ok = match state.stated {
            Some(quota) => {
                if was_active && state.source == PaceSource::Stated {
                    state.stated_strikes += 1;
                }
                // Twice the stated rate got through: the statement is not this server's.
                state.stated_strikes < 3 && quota.per_second() * 2.0 >= measured
            }
            None => false,
        };
        if !stated_ok && successes == 0 && !was_active {
            // Nothing stated and nothing got through yet: no pace to learn from. The window
            // holds the client; the pace is learned once something succeeds.
            return;
        }
        if let (true, Some(quota)) = (stated_ok, state.stated) {
            state.rate = quota.per_second() * (1.0 - MARGIN);
            state.source = PaceSource::Stated;
        } else if was_active && state.source == PaceSource::Learned {
            // Rejected while paced no faster than what the server let through before any
            // pacing: a limiter would not do that (its rate did not fall because the client
            // slowed down), a server answering 429 at random, whatever the rate, would.
            // Pacing then only slows the client (each 429 closes the window, and a paced
            // release sends fewer requests before the next one), so the pacer steps aside.
            // Unless the first batch looked like a limiter's (its 429s came after its
            // successes, not among them): then what got through unpaced may be a burst
            // larger than a second of the limiter's rate (a bucket of 20 a second holding
            // 40), and only a pace under half of it counts; or none, when hardly a success
            // came after its first 429 (a bucket of 2 a second holding 40: see `FirstBatch`).
            // What got through since pacing began: after the first, unpaced cycle (whose
            // burst is not a rate), within the history (12.8 s).
            let paced_since = state.first_cycle.map_or(history, |(start, cycle)| {
                history.max(start.saturating_add(cycle))
            });
            let (paced, paced_oldest) = self.successes.since(paced_since, now);
            let unrelated = state
                .unpaced_goodput()
                .is_some_and(|g| match state.first_batch {
                    FirstBatch::Mixed => paced_at <= g,
                    FirstBatch::MostlyRejected => paced_at <= g * 0.5,
                    FirstBatch::Exhausted => false,
                });
            if unrelated {
                state.unrelated_strikes += 1;
            } else {
                state.unrelated_strikes = 0;
            }
            if state.unrelated_strikes >= UNRELATED_STRIKES {
                // Put the conclusion on trial (see `Trial`): the share of answers that got
                // through so far, in the first batch or paced since (the higher), against
                // the share of what is sent from now on.
                let paced_share =
                    paced as f64 / paced.saturating_add(state.paced_rejections).max(1) as f64;
                let trial = state.first_burst.map(|burst| {
                    let answers = burst.saturating_add(state.early_rejections).max(1);
                    Trial {
                        from: window_end,
                        share_before: (burst as f64 / answers as f64).max(paced_share),
                        answers_needed: answers.clamp(MIN_TRIAL_ANSWERS, MAX_TRIAL_ANSWERS),
                        rejections: 0,
                    }
                });
                if trial.is_some() {
                    self.trial_successes.store(0, Ordering::Release);
                    self.trial_from.store(nanos(window_end), Ordering::Release);
                }
                *state = State {
                    calm_until: Some(now.saturating_add(CALM)),
                    trial,
                    stated: state.stated,
                    ..State::default()
                };
                self.active.store(false, Ordering::Release);
                self.reschedule(&mut state);
                return;
            }
            // Sent at the learned pace and still rejected: the server's rate is under that
            // pace. Estimate it from what got through (see `State::estimate`), at most 95% of
            // the pace that was rejected, and at least 70% of it when the first batch mixed
            // 429s among successes: an estimate from a poor sample (429s that are not about
            // the pace leave idle windows in it) must not drop the client to a crawl in one
            // step. After a first batch that looked like a limiter's, 40%: the first
            // estimate (what the client tried, often twice what got through) is far above
            // the limit, and every step down costs a window of idle client.
            let floor_share = if state.first_batch == FirstBatch::Mixed {
                0.7
            } else {
                0.4
            };
            let estimate = state
                .estimate(&self.successes, now)
                .min(paced_at * 0.95)
                .max(paced_at * floor_share);
            // Never under the goodput the server sustained over the whole history (12.8 s)
            // since the first, unpaced cycle (whose burst is not a rate): rejections that
            // are not about the pace (a limiter answering 429 at random) must not spiral the
            // client down to a crawl.
            let lived = paced_oldest.map_or(Successes::span(), |o| now.saturating_sub(o));
            let sustained = paced as f64
                / lived
                    .clamp(Duration::from_secs(1), Successes::span())
                    .as_secs_f64();
            let estimate = estimate.max(sustained).max(floor);
            // The estimate, not the rejected pace, is the ceiling: creeping back toward a
            // pace far above the server's rate would only find the limit again, at the cost
            // of another window of idle client. The ceiling itself rises by a tenth every
            // 30 s without a rejection (`State::grow`), so a limit that was raised is found.
            state.ceiling = Some(estimate);
            state.rate = estimate * (1.0 - MARGIN);
        } else {
            state.rate = attempted.max(floor) * (1.0 - MARGIN);
            state.source = PaceSource::Learned;
            state.ceiling = None;
            state.first_cycle = Some((window_end.saturating_sub(cycle), cycle));
            state.provisional = true;
            self.late_successes.store(0, Ordering::Release);
            self.counting_late.store(true, Ordering::Release);
        }
        state.cycle_start = Some(window_end);
        state.last_change = window_end;
        state.granted = 0;
        state.last_throttle = Some(now);
        // Slots taken at the same rate stay valid (a rejection at the stated pace changes
        // nothing but the window, which holders look at anyway).
        if was_spaced && !state.provisional {
            self.rescale(&mut state, now, window_end, paced_before);
        } else if !was_active || state.rate != paced_before {
            self.reschedule(&mut state);
        }
        self.active.store(true, Ordering::Release);
    }
}

/// How the first batch that met a `429` was answered after that first `429`: what tells a
/// limiter that ran out from a server answering `429` at random, whatever the pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstBatch {
    /// More successes than rejections came after it, as answers drawn at random do.
    Mixed,
    /// Rejections outnumbered successes, but successes still came, more than one per three
    /// rejections (a server rejecting half its requests at random, say).
    MostlyRejected,
    /// Mostly rejections came after it: a limiter that ran out. Its burst can be many
    /// seconds of its rate (a bucket of 2 a second holding 40), so no pace under what got
    /// through unpaced shows that its `429`s are not about the pace.
    Exhausted,
}

impl FirstBatch {
    /// From the successes that arrived after the first `429` (from requests sent before it)
    /// and the batch's rejections. A limiter's successes all come before its first `429` at
    /// the server, but over many connections the answers come back in any order: on
    /// loopback, 7 of a bucket's 40 arrived after the first of its 57 rejections. At most one
    /// success per three rejections is taken for a limiter's. (In one run 39 of the 40 came
    /// after: a [`Trial`] catches such a limiter later.)
    fn of(late_successes: u64, rejections: u64) -> FirstBatch {
        if late_successes > rejections {
            FirstBatch::Mixed
        } else if late_successes.saturating_mul(3) <= rejections {
            FirstBatch::Exhausted
        } else {
            FirstBatch::MostlyRejected
        }
    }
}

impl State {
    /// The server's rate, estimated at a rejection that arrived at `now` of a request sent at
    /// the learned pace. At the first such rejection, from what got through since the
    /// window before it opened (when the client started sending at that pace); at later ones,
    /// what got through in the last second.
    ///
    /// A limiter lets through its burst (what the client's first, unpaced batch got through:
    /// it had the whole idle window before to refill) and then its rate: so the successes
    /// since the opening, less that burst, over the time since, are its rate. This tells a
    /// token bucket with a small burst (5 of the first batch through, then 50 a second) from
    /// a bucket with a large one, whose burst would otherwise read as rate. When no more than
    /// the burst got through (a fixed or sliding window that filled), the window's count is
    /// the rate: what got through in the last second. Past the success history (12.8 s),
    /// the goodput over that history.
    fn estimate(&self, successes: &Successes, now: Duration) -> f64 {
        let span = Successes::span();
        let last_second = || {
            let (n, _) = successes.since(now.saturating_sub(Duration::from_secs(1)), now);
            n as f64
        };
        // Only at the first rejection of a paced request does the window before the opening
        // follow the first, unpaced batch, whose burst is known; later, a fixed window that
        // filled in each of several seconds would read as a burst and a low rate.
        let Some(opened) = self
            .cycle_start
            .filter(|&o| o < now && self.ceiling.is_none())
        else {
            return last_second();
        };
        let elapsed = now - opened;
        if elapsed > span {
            let (n, _) = successes.since(now.saturating_sub(span), now);
            return n as f64 / span.as_secs_f64();
        }
        let (since_opening, _) = successes.since(opened, now);
        // Too short a time to tell a rate from the burst: a tenth of a second, or fewer
        // than ten successes beyond the burst.
        let burst = self.first_burst.unwrap_or(0);
        if elapsed < Duration::from_millis(100) || since_opening < burst + 10 {
            return last_second();
        }
        // The request rejected at `now` found less than one token left: the count falls
        // short of the limiter's rate times the time by that fraction, half a request on
        // average (over a short probe of 15 successes, that alone read 50 a second as 47).
        ((since_opening - burst) as f64 + 0.5) / elapsed.as_secs_f64()
    }

    /// What got through per second in the first cycle, before any pacing, once the first
    /// estimate has settled.
    fn unpaced_goodput(&self) -> Option<f64> {
        let burst = self.first_burst?;
        let (_, cycle) = self.first_cycle?;
        Some(burst as f64 / cycle.as_secs_f64())
    }

    /// The slot of a request ready at `earliest` while the estimate is provisional: no slot
    /// is spaced at a provisional pace, a request leaves no earlier than the estimate settles
    /// and takes its slot then (a slot spaced at a pace that may be ten times too slow could
    /// put a request past its deadline for nothing). `None` once it is settled.
    fn provisional_slot(&self, earliest: Duration) -> Option<Duration> {
        let settles = self.cycle_start.filter(|_| self.provisional)?;
        Some(earliest.max(settles))
    }

    /// A learned rate grows while requests queue behind the pacer, no rejection comes, and
    /// the client actually sends at it (slots handed out since the last look, against the
    /// pace). Requests keep the slots they took at the slower pace, so a rise takes effect
    /// only once they have left; growing again before would compound rises that were never
    /// tried (once 6 a second rose to 760 while 50 a second went out, and the first request
    /// sent at the real pace met the limit 15 times over).
    fn grow(&mut self, now: Duration, queued: bool) {
        if self.source != PaceSource::Learned
            || now < self.last_change.saturating_add(Duration::from_secs(1))
        {
            return;
        }
        let elapsed = now.saturating_sub(self.last_change).as_secs_f64();
        let sent = std::mem::take(&mut self.granted) as f64;
        self.last_change = now;
        if !queued || sent < self.rate * elapsed * 0.8 {
            return;
        }
        // A ceiling learned long ago may no longer hold: it rises by a tenth every 30 s
        // without a rejection.
        if let Some(ceiling) = self.ceiling
            && self
                .last_throttle
                .is_some_and(|t| now.saturating_sub(t) > Duration::from_secs(30))
        {
            self.ceiling = Some(ceiling * 1.1);
            self.last_throttle = Some(now);
        }
        self.rate = match self.ceiling {
            None => self.rate * 1.5,
            Some(ceiling) => (self.rate * 1.02).min(ceiling * 0.95).max(self.rate),
        };
    }
}

/// `at` in nanoseconds, saturating (for the lock-free trial count).
fn nanos(at: Duration) -> u64 {
    u64::try_from(at.as_nanos()).unwrap_or(u64::MAX - 1)
}

/// The spacing for `rate` requests per second (zero for an absurd rate).
fn interval(rate: f64) -> Duration {
    if rate.is_finite() && rate > 0.0 {
        Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::ZERO)
    } else {
        Duration::ZERO
    }
}

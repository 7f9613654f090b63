//! What a server states about its rate limit: a quota in a `429`'s message, and the
//! `RateLimit-*` / `X-RateLimit-*` response headers. Parsing only; the pacer decides what
//! to do with it.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The longest window a stated limit may have (a day); a longer one is not believed.
const MAX_WINDOW: Duration = Duration::from_secs(86_400);
/// The longest reset or wait a header may state (a day).
const MAX_RESET: Duration = Duration::from_secs(86_400);
/// Header values and messages longer than this are not examined.
const MAX_TEXT: usize = 1024;

/// A limit a server stated: at most `limit` requests per `window`.
///
/// ```
/// use std::time::Duration;
/// use errors_core::ratelimit::RateLimitQuota;
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

    /// Whether this quota is the more restrictive of the two: the lower rate, or of equal
    /// rates the smaller burst ("10 per 6 s" binds before "100 per 60 s").
    fn binds_before(&self, other: RateLimitQuota) -> bool {
        let (mine, theirs) = (self.per_second(), other.per_second());
        mine < theirs || (mine == theirs && self.limit < other.limit)
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
/// use errors_core::ratelimit::{RateLimitQuota, RateLimitStatement};
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
                    && quota.is_none_or(|old| found.binds_before(old))
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

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::HeaderMap;

    use super::*;

    fn quota(limit: u64, window_secs: u64) -> Option<RateLimitQuota> {
        RateLimitQuota::new(limit, Duration::from_secs(window_secs))
    }

    fn stated(headers: &[(&str, &str)]) -> RateLimitStatement {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        RateLimitStatement::from_headers(&map, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn a_message_states_its_limit_whatever_separates_the_words() {
        for message in [
            "Rate limit exceeded:100 calls per 60 seconds",
            "Rate limit exceeded (100 calls per 60 seconds)",
            "limit 100 calls/per 60 seconds",
        ] {
            assert_eq!(
                RateLimitQuota::from_message(message),
                quota(100, 60),
                "{message}"
            );
        }
    }

    #[test]
    fn a_message_may_state_a_limit_per_day() {
        assert_eq!(
            RateLimitQuota::from_message("5000 calls per 1 day"),
            quota(5000, 86_400)
        );
        assert_eq!(
            RateLimitQuota::from_message("5000 per day"),
            quota(5000, 86_400)
        );
    }

    #[test]
    fn a_policy_member_counts_only_from_its_first_item_or_its_q() {
        // The draft's form: a name, then `q` and `w`.
        assert_eq!(
            stated(&[("ratelimit-policy", "\"burst\";q=5;w=1")]).quota(),
            quota(5, 1)
        );
        // A bare number after the first item is not a count.
        assert_eq!(
            stated(&[("ratelimit-policy", "\"burst\";w=1;5")]).quota(),
            None
        );
        assert_eq!(
            stated(&[("ratelimit-policy", "5;w=1")]).quota(),
            quota(5, 1)
        );
    }

    #[test]
    fn of_several_policies_the_one_that_binds_first_is_kept() {
        assert_eq!(
            stated(&[("ratelimit-policy", "100;w=60, 10;w=1")]).quota(),
            quota(100, 60)
        );
        // Equal rates: the smaller burst binds first, in either order.
        assert_eq!(
            stated(&[("ratelimit-policy", "100;w=60, 10;w=6")]).quota(),
            quota(10, 6)
        );
        assert_eq!(
            stated(&[("ratelimit-policy", "10;w=6, 100;w=60")]).quota(),
            quota(10, 6)
        );
    }

    #[test]
    fn the_ratelimit_field_of_draft_7_states_a_limit_with_its_window() {
        let statement = stated(&[("ratelimit", "limit=10, remaining=4, reset=1, w=1")]);
        assert_eq!(statement.quota(), quota(10, 1));
        assert_eq!(statement.remaining(), Some(4));
        // A remaining count above the limit contradicts it.
        assert_eq!(
            stated(&[("ratelimit", "limit=10, remaining=50")]).remaining(),
            None
        );
    }

    #[test]
    fn a_remaining_count_equal_to_the_limit_is_believed() {
        assert_eq!(
            stated(&[("ratelimit", "limit=10, remaining=10")]).remaining(),
            Some(10)
        );
    }

    #[test]
    fn a_statement_with_a_quota_is_not_empty() {
        assert!(RateLimitStatement::default().is_empty());
        let with = RateLimitStatement::with_quota(quota(5, 1).unwrap());
        assert_eq!(with.quota(), quota(5, 1));
        assert!(!with.is_empty());
        assert!(!stated(&[("ratelimit", "remaining=3")]).is_empty());
    }

    #[test]
    fn counts_are_plain_digits_of_at_most_twenty() {
        assert_eq!(parse_count("1,000"), Some(1000));
        assert_eq!(parse_count(" \"42\" "), Some(42));
        for text in ["", "+5", "12a", "-1", "000000000000000000001"] {
            assert_eq!(parse_count(text), None, "{text:?}");
        }
        assert_eq!(parse_count("00000000000000000001"), Some(1));
    }

    #[test]
    fn a_reset_is_seconds_below_1e9_and_a_unix_time_from_it() {
        let epoch = SystemTime::UNIX_EPOCH;
        assert_eq!(parse_reset("30", epoch), Some(Duration::from_secs(30)));
        let now = epoch + Duration::from_secs(999_999_995);
        assert_eq!(parse_reset("1000000000", now), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_reset("999999999", now),
            Some(Duration::from_secs(999_999_999))
        );
        // A fraction rounds up, up to twenty digits of it.
        assert_eq!(
            parse_reset("1.00000000000000000001", epoch),
            Some(Duration::from_secs(2))
        );
        assert_eq!(parse_reset("1.000000000000000000001", epoch), None);
    }

    #[test]
    fn unknown_parameters_say_nothing() {
        let statement = stated(&[("ratelimit", "remaining=3, foo=5")]);
        assert_eq!(statement.remaining(), Some(3));
        assert_eq!(statement.reset(), None);
        assert_eq!(
            stated(&[("ratelimit", "LIMIT=10, Remaining=4, W=1")]).quota(),
            quota(10, 1)
        );
    }
}

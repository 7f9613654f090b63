//! The `Retry-After` header in both RFC 9110 forms.

use std::fmt;
use std::time::{Duration, SystemTime};

/// A parsed `Retry-After` value: a delay in seconds, or a point in time.
///
/// Both forms of RFC 9110 §10.2.3 are accepted, and for dates all three formats a recipient
/// must accept (IMF-fixdate, the obsolete RFC 850 form and ANSI C's `asctime()`).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use errors_core::RetryAfter;
///
/// let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// for value in ["2", "Sun, 06 Nov 1994 08:49:39 GMT", "Sunday, 06-Nov-94 08:49:39 GMT", "Sun Nov  6 08:49:39 1994"] {
///     let after: RetryAfter = value.parse().unwrap();
///     assert_eq!(after.delay_from(now), Duration::from_secs(2));
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <delta-seconds>`.
    Delay(Duration),
    /// `Retry-After: <HTTP-date>`.
    At(SystemTime),
}

/// Why a `Retry-After` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidRetryAfter {
    _priv: (),
}

impl fmt::Display for InvalidRetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid retry-after value: expected delta-seconds or an http-date")
    }
}

impl std::error::Error for InvalidRetryAfter {}

/// The longest header value considered; anything longer is not a valid `Retry-After`.
const MAX_LEN: usize = 64;

impl RetryAfter {
    /// Parses a raw header value, which may be any bytes.
    ///
    /// Delta-seconds too large to represent saturate instead of failing (the caller's maximum
    /// wait decides what to do with them). Negative numbers, fractions and garbage are errors.
    pub fn parse(value: &[u8]) -> Result<RetryAfter, InvalidRetryAfter> {
        let invalid = InvalidRetryAfter { _priv: () };
        if value.len() > MAX_LEN {
            return Err(invalid);
        }
        let text = std::str::from_utf8(value).map_err(|_| invalid.clone())?;
        let text = text.trim_matches(|c| c == ' ' || c == '\t');
        if text.is_empty() {
            return Err(invalid);
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            // All digits: at most MAX_LEN of them, so saturating is the only overflow case.
            let secs = text.parse::<u64>().unwrap_or(u64::MAX);
            return Ok(RetryAfter::Delay(Duration::from_secs(secs)));
        }
        httpdate::parse_http_date(text)
            .map(RetryAfter::At)
            .map_err(|_| invalid)
    }

    /// How long to wait from `now`; a date in the past means no wait.
    pub fn delay_from(&self, now: SystemTime) -> Duration {
        match *self {
            RetryAfter::Delay(delay) => delay,
            RetryAfter::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

impl std::str::FromStr for RetryAfter {
    type Err = InvalidRetryAfter;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RetryAfter::parse(s.as_bytes())
    }
}

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryAfter::Delay(d) => write!(f, "{}", d.as_secs()),
            RetryAfter::At(at) => f.write_str(&httpdate::fmt_http_date(*at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap()
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(
            RetryAfter::parse(b"0").unwrap().delay_from(now()),
            Duration::ZERO
        );
        assert_eq!(
            RetryAfter::parse(b" 120 ").unwrap().delay_from(now()),
            Duration::from_secs(120)
        );
        assert_eq!(
            RetryAfter::parse(b"86400").unwrap(),
            RetryAfter::Delay(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn absurd_delays_saturate_without_overflow() {
        let huge = RetryAfter::parse(b"99999999999999999999999999999").unwrap();
        assert_eq!(huge.delay_from(now()), Duration::from_secs(u64::MAX));
        let trillion = RetryAfter::parse(b"1000000000000").unwrap();
        assert_eq!(
            trillion.delay_from(now()),
            Duration::from_secs(1_000_000_000_000)
        );
    }

    #[test]
    fn the_three_date_formats() {
        for value in [
            "Sun, 06 Nov 1994 08:49:47 GMT",
            "Sunday, 06-Nov-94 08:49:47 GMT",
            "Sun Nov  6 08:49:47 1994",
        ] {
            let parsed = RetryAfter::parse(value.as_bytes()).unwrap();
            assert_eq!(parsed.delay_from(now()), Duration::from_secs(10), "{value}");
        }
    }

    #[test]
    fn a_past_date_means_no_wait() {
        let past = RetryAfter::parse(b"Thu, 01 Jan 1970 00:00:00 GMT").unwrap();
        assert_eq!(past.delay_from(now()), Duration::ZERO);
    }

    #[test]
    fn garbage_is_rejected() {
        for value in [
            &b""[..],
            b"   ",
            b"-1",
            b"1.5",
            b"+3",
            b"soon",
            b"\xff\xfe",
            b"Sun, 06 Nov 1994 08:49:47",
            b"Mon, 32 Nov 1994 08:49:47 GMT",
            &[b'1'; 65],
        ] {
            assert!(RetryAfter::parse(value).is_err(), "{value:?}");
        }
        assert_eq!(
            RetryAfter::parse(b"x").unwrap_err().to_string(),
            "invalid retry-after value: expected delta-seconds or an http-date"
        );
    }
}

//! The `Retry-After` header in both RFC 9110 forms.

use std::fmt;
use std::time::{Duration, SystemTime};

/// A parsed `Retry-After` value: a delay in seconds, or a point in time.
///
/// Both forms of RFC 9110 §10.2.3 are accepted, and for dates all three formats a recipient
/// must accept (IMF-fixdate, the obsolete RFC 850 form and ANSI C's `asctime()`). What servers
/// and proxies really send is read so that the server's wait is never shortened: a fraction is
/// rounded up (`2.5` waits 3 s), a list merged by a proxy (`120, 120`) counts its first member,
/// a leap second (`23:59:60`) is the second after `23:59:59`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use errors_core::RetryAfter;
///
/// let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// for value in ["2", "1.5", "2, 2", "Sun, 06 Nov 1994 08:49:39 GMT", "Sunday, 06-Nov-94 08:49:39 GMT", "Sun Nov  6 08:49:39 1994"] {
///     let after = RetryAfter::parse(value.as_bytes(), now).unwrap();
///     assert_eq!(after.delay_from(now), Duration::from_secs(2), "{value}");
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
const MAX_LEN: usize = 128;

impl RetryAfter {
    /// Parses a raw header value, which may be any bytes. `now` is only used to read the
    /// two-digit year of an RFC 850 date as RFC 9110 §5.6.7 requires: the year with those
    /// digits that is no more than 50 years after `now` (a year that would be more than 50
    /// years ahead is the most recent past year with those digits; late in a century, `00` is
    /// the coming year 00 rather than one a century ago, so the wait is never cut short).
    ///
    /// - Delta-seconds too large to represent saturate instead of failing (the caller's
    ///   maximum wait decides what to do with them); a fraction (`2.5`, `1.0`) is rounded up.
    /// - A comma-separated list (two `Retry-After` headers a proxy merged) counts its first
    ///   member.
    /// - Negative numbers, exponents, unknown date forms and garbage are errors.
    pub fn parse(value: &[u8], now: SystemTime) -> Result<RetryAfter, InvalidRetryAfter> {
        let invalid = InvalidRetryAfter { _priv: () };
        if value.len() > MAX_LEN {
            return Err(invalid);
        }
        let text = std::str::from_utf8(value).map_err(|_| invalid.clone())?;
        if let Some(parsed) = parse_one(text, now) {
            return Ok(parsed);
        }
        // A list: the first member that reads as a whole value. Dates hold commas too, so
        // try each comma in turn ("Sun, 06 Nov 1994 08:49:37 GMT, Sun, ...").
        text.match_indices(',')
            .find_map(|(at, _)| parse_one(&text[..at], now))
            .ok_or(invalid)
    }

    /// How long to wait from `now`; a date in the past means no wait.
    pub fn delay_from(&self, now: SystemTime) -> Duration {
        match *self {
            RetryAfter::Delay(delay) => delay,
            RetryAfter::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

fn parse_one(text: &str, now: SystemTime) -> Option<RetryAfter> {
    let text = text.trim_matches(|c| c == ' ' || c == '\t');
    if text.is_empty() {
        return None;
    }
    if let Some(delay) = parse_seconds(text) {
        return Some(RetryAfter::Delay(delay));
    }
    let secs = parse_date(text, unix_seconds(now))?;
    Some(RetryAfter::At(from_unix_seconds(secs)?))
}

/// `1*DIGIT [ "." *DIGIT ]` or `"." 1*DIGIT`, rounded up to whole seconds, saturating.
fn parse_seconds(text: &str) -> Option<Duration> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // At most MAX_LEN digits, so saturating is the only overflow case.
    let secs = if whole.is_empty() {
        0
    } else {
        whole.parse::<u64>().unwrap_or(u64::MAX)
    };
    let round_up = fraction.bytes().any(|b| b != b'0');
    Some(Duration::from_secs(
        secs.saturating_add(u64::from(round_up)),
    ))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
/// The same calendar date and time 50 years after `now` (29 February becomes the 28th when
/// that year has none), for RFC 9110's two-digit-year rule.
fn fifty_years_after(now: i64) -> i64 {
    let (year, month, day) = civil_from_days(now.div_euclid(86_400));
    let day = checked_day(year + 50, month, day).unwrap_or(28);
    days_from_civil(year + 50, month, day)
        .saturating_mul(86_400)
        .saturating_add(now.rem_euclid(86_400))
}

/// Seconds since the Unix epoch (negative before it) for an HTTP-date in any of its three
/// formats. `now` is seconds since the epoch, for two-digit years.
fn parse_date(text: &str, now: i64) -> Option<i64> {
    let mut parts = text.split_ascii_whitespace();
    let first = parts.next()?;
    if let Some(day_name) = first.strip_suffix(',') {
        if !DAYS.contains(&day_name) && !LONG_DAYS.contains(&day_name) {
            return None;
        }
        let second = parts.next()?;
        let (day, month, year, two_digit) = if second.contains('-') {
            // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`.
            let mut fields = second.split('-');
            let day = number(fields.next()?, 1, 2)?;
            let month = month(fields.next()?)?;
            let year_text = fields.next()?;
            if fields.next().is_some() {
                return None;
            }
            let year = number(year_text, 2, 4)?;
            (day, month, year, year_text.len() == 2)
        } else {
            // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
            let day = number(second, 1, 2)?;
            let month = month(parts.next()?)?;
            let year = number(parts.next()?, 4, 4)?;
            (day, month, year, false)
        };
        let time = time(parts.next()?)?;
        if parts.next()? != "GMT" || parts.next().is_some() {
            return None;
        }
        let at = |year: i64| {
            Some(days_from_civil(year, month, checked_day(year, month, day)?) * 86_400 + time)
        };
        if two_digit {
            // The year with those digits no more than 50 years ahead: this century's, the
            // last one's when that is too far ahead, the next one's when that is not.
            let century = year_of(now).div_euclid(100) * 100;
            let limit = fifty_years_after(now);
            let secs = at(century + year)?;
            if secs > limit {
                return at(century - 100 + year);
            }
            return match at(century + 100 + year) {
                Some(next) if next <= limit => Some(next),
                _ => Some(secs),
            };
        }
        return at(year);
    }
    // asctime: `Sun Nov  6 08:49:37 1994`.
    if !DAYS.contains(&first) {
        return None;
    }
    let month = month(parts.next()?)?;
    let day = number(parts.next()?, 1, 2)?;
    let time = time(parts.next()?)?;
    let year = number(parts.next()?, 4, 4)?;
    if parts.next().is_some() {
        return None;
    }
    Some(days_from_civil(year, month, checked_day(year, month, day)?) * 86_400 + time)
}

/// A decimal of `min..=max` ASCII digits.
fn number(text: &str, min: usize, max: usize) -> Option<i64> {
    if !(min..=max).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn month(text: &str) -> Option<i64> {
    MONTHS.iter().position(|m| *m == text).map(|i| i as i64 + 1)
}

/// `HH:MM:SS` as seconds into the day; second 60 (a leap second) is the second after :59.
fn time(text: &str) -> Option<i64> {
    let mut fields = text.split(':');
    let hour = number(fields.next()?, 2, 2)?;
    let minute = number(fields.next()?, 2, 2)?;
    let second = number(fields.next()?, 2, 2)?;
    if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(hour * 3600 + minute * 60 + second)
}

fn checked_day(year: i64, month: i64, day: i64) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days).contains(&day).then_some(day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn year_of(secs: i64) -> i64 {
    civil_from_days(secs.div_euclid(86_400)).0
}

/// Whole seconds since the epoch, floored (negative before it), saturating for times no
/// calendar needs.
fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            // Floored: half a second before the epoch is in second -1.
            -secs.saturating_add(i64::from(d.subsec_nanos() > 0))
        }
    }
}

fn from_unix_seconds(secs: i64) -> Option<SystemTime> {
    if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

impl fmt::Display for RetryAfter {
    /// The header value: whole seconds (a fraction rounded up), or an IMF-fixdate. A date
    /// before year 1 or after 9999 cannot be an HTTP-date; it is written with the year as it
    /// is, never with a panic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryAfter::Delay(d) => {
                let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
                write!(f, "{secs}")
            }
            RetryAfter::At(at) => {
                let secs = unix_seconds(*at);
                let days = secs.div_euclid(86_400);
                let in_day = secs.rem_euclid(86_400);
                let (year, month, day) = civil_from_days(days);
                // 1970-01-01 was a Thursday.
                let weekday = DAYS[(days + 3).rem_euclid(7) as usize];
                write!(
                    f,
                    "{weekday}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
                    MONTHS[(month - 1) as usize],
                    in_day / 3600,
                    in_day % 3600 / 60,
                    in_day % 60
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap()
    }

    fn delay(value: &str) -> Option<Duration> {
        RetryAfter::parse(value.as_bytes(), now())
            .ok()
            .map(|r| r.delay_from(now()))
    }

    fn date(value: &str, now: &str) -> SystemTime {
        let now = httpdate::parse_http_date(now).unwrap();
        match RetryAfter::parse(value.as_bytes(), now).unwrap() {
            RetryAfter::At(at) => at,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(delay("0"), Some(Duration::ZERO));
        assert_eq!(delay(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            RetryAfter::parse(b"86400", now()).unwrap(),
            RetryAfter::Delay(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn fractions_round_up_and_lists_count_their_first_member() {
        for (value, secs) in [
            ("2.5", 3),
            ("1.0", 1),
            ("1.", 1),
            (".5", 1),
            ("0.001", 1),
            ("0.0", 0),
            ("120, 120", 120),
            ("120,60", 120),
            ("3 , soon", 3),
            (
                "Sun, 06 Nov 1994 08:49:39 GMT, Sun, 06 Nov 1994 08:59:39 GMT",
                2,
            ),
        ] {
            assert_eq!(delay(value), Some(Duration::from_secs(secs)), "{value}");
        }
    }

    #[test]
    fn absurd_delays_saturate_without_overflow() {
        assert_eq!(
            delay("99999999999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            delay("18446744073709551615.5"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            delay("1000000000000"),
            Some(Duration::from_secs(1_000_000_000_000))
        );
    }

    #[test]
    fn the_three_date_formats() {
        for value in [
            "Sun, 06 Nov 1994 08:49:47 GMT",
            "Sunday, 06-Nov-94 08:49:47 GMT",
            "Sun Nov  6 08:49:47 1994",
            "Sun Nov 6 08:49:47 1994",
            "Sun, 6 Nov 1994 08:49:47 GMT",
        ] {
            assert_eq!(delay(value), Some(Duration::from_secs(10)), "{value}");
        }
    }

    #[test]
    fn rfc850_two_digit_years_follow_rfc9110() {
        // More than 50 years ahead reads as the most recent past year with those digits.
        let now = "Wed, 25 Nov 2026 12:00:00 GMT";
        for (value, expected) in [
            (
                "Thursday, 26-Nov-26 12:00:00 GMT",
                "Thu, 26 Nov 2026 12:00:00 GMT",
            ),
            (
                "Wednesday, 25-Nov-76 12:00:00 GMT",
                "Wed, 25 Nov 2076 12:00:00 GMT",
            ),
            (
                "Wednesday, 25-Nov-99 12:00:00 GMT",
                "Thu, 25 Nov 1999 12:00:00 GMT",
            ),
            (
                "Monday, 01-Jan-00 00:00:00 GMT",
                "Sat, 01 Jan 2000 00:00:00 GMT",
            ),
        ] {
            assert_eq!(
                date(value, now),
                httpdate::parse_http_date(expected).unwrap(),
                "{value}"
            );
        }
        // Late in a century, a small year is the next century's when within 50 years.
        assert_eq!(
            date(
                "Friday, 01-Jan-00 00:00:00 GMT",
                "Thu, 01 Jan 2099 00:00:00 GMT"
            ),
            httpdate::parse_http_date("Fri, 01 Jan 2100 00:00:00 GMT").unwrap()
        );
        // The pivot moves with the clock.
        assert_eq!(
            date(
                "Sunday, 06-Nov-94 08:49:37 GMT",
                "Thu, 01 Jan 2099 00:00:00 GMT"
            ),
            httpdate::parse_http_date("Sat, 06 Nov 2094 08:49:37 GMT").unwrap()
        );
    }

    #[test]
    fn the_calendar_knows_leap_years_and_month_lengths() {
        let epoch = SystemTime::UNIX_EPOCH;
        let secs = |value: &str| match RetryAfter::parse(value.as_bytes(), epoch) {
            Ok(RetryAfter::At(at)) => Some(at.duration_since(epoch).unwrap().as_secs()),
            _ => None,
        };
        // Leap years: every fourth, not a century's unless it divides by 400.
        assert_eq!(secs("Thu, 29 Feb 2024 00:00:00 GMT"), Some(1_709_164_800));
        assert_eq!(secs("Tue, 29 Feb 2000 00:00:00 GMT"), Some(951_782_400));
        assert_eq!(secs("Wed, 29 Feb 2023 00:00:00 GMT"), None);
        assert_eq!(secs("Thu, 29 Feb 2100 00:00:00 GMT"), None);
        assert_eq!(secs("Thu Feb 29 00:00:00 2024"), Some(1_709_164_800));
        assert_eq!(secs("Thu Feb 29 00:00:00 2100"), None);
        // Thirty days hath September, April, June and November.
        for month in ["Apr", "Jun", "Sep", "Nov"] {
            assert_eq!(
                secs(&format!("Sun, 31 {month} 2024 00:00:00 GMT")),
                None,
                "{month}"
            );
            assert!(
                secs(&format!("Sun, 30 {month} 2024 00:00:00 GMT")).is_some(),
                "{month}"
            );
        }
        for month in ["Jan", "Mar", "May", "Jul", "Aug", "Oct", "Dec"] {
            assert!(
                secs(&format!("Sun, 31 {month} 2024 00:00:00 GMT")).is_some(),
                "{month}"
            );
        }
        assert_eq!(secs("Sun, 00 Jan 2024 00:00:00 GMT"), None);
    }

    #[test]
    fn the_last_day_of_a_400_year_cycle_is_written_and_read_back() {
        // 29 February 2000 ends a 400-year era of the day-count algorithm: the one day whose
        // year needs the era's last correction term.
        for value in [
            "Tue, 29 Feb 2000 12:00:00 GMT",
            "Wed, 01 Mar 2000 00:00:00 GMT",
            "Mon, 28 Feb 2000 23:59:59 GMT",
            "Sun, 31 Dec 2000 00:00:00 GMT",
        ] {
            let at = RetryAfter::parse(value.as_bytes(), SystemTime::UNIX_EPOCH).unwrap();
            assert_eq!(at.to_string(), value);
        }
        // Two-digit years read on that day: `00` is the year 2000 itself.
        assert_eq!(
            date(
                "Tuesday, 29-Feb-00 13:00:00 GMT",
                "Tue, 29 Feb 2000 12:00:00 GMT"
            ),
            httpdate::parse_http_date("Tue, 29 Feb 2000 13:00:00 GMT").unwrap()
        );
    }

    #[test]
    fn values_are_read_up_to_their_bound_and_refused_past_it() {
        let at_bound = format!("5{}", " ".repeat(MAX_LEN - 1));
        assert_eq!(
            RetryAfter::parse(at_bound.as_bytes(), now()),
            Ok(RetryAfter::Delay(Duration::from_secs(5)))
        );
        let past_bound = format!("5{}", " ".repeat(MAX_LEN));
        assert!(RetryAfter::parse(past_bound.as_bytes(), now()).is_err());
    }

    #[test]
    fn fifty_years_after_a_29_february_is_the_28th() {
        // 2074 has no 29 February: the two-digit-year limit is 28 February 2074, so the
        // first of March 2074 is too far ahead and `74` is 1974.
        let now = "Thu, 29 Feb 2024 12:00:00 GMT";
        assert_eq!(
            date("Friday, 01-Mar-74 00:00:00 GMT", now),
            httpdate::parse_http_date("Fri, 01 Mar 1974 00:00:00 GMT").unwrap()
        );
        assert_eq!(
            date("Wednesday, 28-Feb-74 11:00:00 GMT", now),
            httpdate::parse_http_date("Wed, 28 Feb 2074 11:00:00 GMT").unwrap()
        );
    }

    #[test]
    fn every_day_is_written_as_httpdate_writes_it() {
        // An independent implementation of the calendar, day by day from 1970 to 2400
        // (three century years that are not leap years, and 2000 that is).
        let mut at = SystemTime::UNIX_EPOCH + Duration::from_secs(43_200);
        // 1 January 2401.
        let end = SystemTime::UNIX_EPOCH + Duration::from_secs(157_420 * 86_400);
        while at < end {
            let written = RetryAfter::At(at).to_string();
            assert_eq!(written, httpdate::fmt_http_date(at));
            assert_eq!(
                RetryAfter::parse(written.as_bytes(), at),
                Ok(RetryAfter::At(at))
            );
            at += Duration::from_secs(86_400);
        }
    }

    #[test]
    fn a_leap_second_is_the_second_after_59() {
        assert_eq!(
            date(
                "Sat, 31 Dec 2016 23:59:60 GMT",
                "Sun, 06 Nov 1994 08:49:37 GMT"
            ),
            httpdate::parse_http_date("Sun, 01 Jan 2017 00:00:00 GMT").unwrap()
        );
    }

    #[test]
    fn a_past_date_means_no_wait() {
        assert_eq!(delay("Thu, 01 Jan 1970 00:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(delay("Mon, 01 Jan 0001 00:00:00 GMT"), Some(Duration::ZERO));
    }

    #[test]
    fn display_never_panics_and_round_trips() {
        let epoch = SystemTime::UNIX_EPOCH;
        for (at, shown) in [
            (epoch, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (
                epoch - Duration::from_millis(500),
                "Wed, 31 Dec 1969 23:59:59 GMT",
            ),
            (
                epoch - Duration::from_secs(1),
                "Wed, 31 Dec 1969 23:59:59 GMT",
            ),
            (
                epoch - Duration::from_millis(1500),
                "Wed, 31 Dec 1969 23:59:58 GMT",
            ),
            (
                epoch - Duration::from_secs(62_135_596_800),
                "Mon, 01 Jan 0001 00:00:00 GMT",
            ),
            (
                epoch + Duration::from_secs(253_402_300_800),
                "Sat, 01 Jan 10000 00:00:00 GMT",
            ),
        ] {
            assert_eq!(RetryAfter::At(at).to_string(), shown);
        }
        let far = epoch + Duration::from_secs(i64::MAX as u64);
        assert!(!RetryAfter::At(far).to_string().is_empty());
        assert_eq!(
            RetryAfter::Delay(Duration::from_millis(2500)).to_string(),
            "3"
        );
        for value in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
        ] {
            let parsed = RetryAfter::parse(value.as_bytes(), now()).unwrap();
            assert_eq!(parsed.to_string(), value);
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for value in [
            &b""[..],
            b"   ",
            b"-1",
            b"+3",
            b"1e3",
            b".",
            b"1.5.2",
            b"soon",
            b"soon, 120",
            b",",
            b"\xff\xfe",
            b"Sun, 06 Nov 1994 08:49:47",
            b"Sun, 06 Nov 1994 08:49:47 UTC",
            b"Mon, 32 Nov 1994 08:49:47 GMT",
            b"Mon, 29 Feb 1995 08:49:47 GMT",
            b"Sun, 06 Nov 1994 24:00:00 GMT",
            b"Sun, 06 Nov 1994 23:59:61 GMT",
            b"Xyz, 06 Nov 1994 08:49:47 GMT",
            b"Sunday, 06-Nov-9 08:49:47 GMT",
            b"Sun Nov  6 08:49:47 94",
            &[b'1'; 129],
        ] {
            assert!(RetryAfter::parse(value, now()).is_err(), "{value:?}");
        }
        assert_eq!(
            RetryAfter::parse(b"x", now()).unwrap_err().to_string(),
            "invalid retry-after value: expected delta-seconds or an http-date"
        );
    }
}

//! `RetryAfter::parse` on any bytes, and `delay_from` with any clock.
//!
//! Input layout (arbitrary's encoding): `now` seconds i64 LE, nanoseconds u32 LE, then the
//! header value, raw. `seeds/make_seeds.py` writes inputs in this layout.
#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use errors_core::RetryAfter;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    now_secs: i64,
    now_nanos: u32,
    /// The last field takes the rest of the input as it is.
    value: &'a [u8],
}

/// The longest value `RetryAfter::parse` considers.
const MAX_LEN: usize = 128;

fn clock(secs: i64, nanos: u32) -> SystemTime {
    let offset = Duration::new(secs.unsigned_abs(), nanos % 1_000_000_000);
    let at = if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(offset)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(offset)
    };
    at.unwrap_or(SystemTime::UNIX_EPOCH)
}

fuzz_target!(|input: Input<'_>| {
    let now = clock(input.now_secs, input.now_nanos);
    let parsed = RetryAfter::parse(input.value, now);

    if input.value.len() > MAX_LEN {
        assert!(parsed.is_err(), "values over {MAX_LEN} bytes are rejected");
    }

    // `digits [. digits]` (after optional SP/HTAB around them) is delta-seconds, a fraction
    // rounded up, saturating: never shorter than what was asked.
    let trimmed = trim(input.value);
    if let Some((whole, fraction)) = seconds(trimmed)
        && input.value.len() <= MAX_LEN
    {
        let secs = std::str::from_utf8(whole)
            .unwrap()
            .parse::<u64>()
            .unwrap_or(if whole.is_empty() { 0 } else { u64::MAX });
        let up = u64::from(fraction.iter().any(|b| *b != b'0'));
        assert_eq!(
            parsed,
            Ok(RetryAfter::Delay(Duration::from_secs(secs.saturating_add(up))))
        );
    }

    let Ok(after) = parsed else { return };
    let delay = after.delay_from(now);
    match after {
        RetryAfter::Delay(d) => assert_eq!(delay, d, "a delay ignores the clock"),
        RetryAfter::At(at) => match at.duration_since(now) {
            Ok(ahead) => assert_eq!(delay, ahead),
            Err(_) => assert_eq!(delay, Duration::ZERO, "a past date means no wait"),
        },
        _ => {}
    }
    // Any clock at all, including the extremes.
    for secs in [i64::MIN, -1, 0, i64::MAX] {
        let _ = after.delay_from(clock(secs, input.now_nanos));
    }
    // What `Display` writes parses back to the same value, unless its year has no four-digit
    // HTTP-date form: a leap second pushing 9999 into 10000, or a two-digit RFC 850 year read
    // against an absurd clock (`now` in year 2,283,416,2xx makes `94` the year 2,283,416,294).
    let shown = after.to_string();
    match RetryAfter::parse(shown.as_bytes(), now) {
        Ok(back) => assert_eq!(back, after, "{shown:?}"),
        Err(_) => {
            let year = shown.split(' ').nth(3).unwrap_or_default();
            assert!(
                !(year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit())),
                "{shown:?} does not parse back"
            );
        }
    }
});

/// `(whole, fraction)` digits of `1*DIGIT ["." *DIGIT]` or `"." 1*DIGIT`.
fn seconds(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let (whole, fraction) = match value.iter().position(|b| *b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &value[value.len()..]),
    };
    let digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    (digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty()))
        .then_some((whole, fraction))
}

fn trim(value: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !blank(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
    &value[start..end]
}

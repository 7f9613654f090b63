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
const MAX_LEN: usize = 64;

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
    let parsed = RetryAfter::parse(input.value);

    // `FromStr` is the same parser.
    if let Ok(text) = std::str::from_utf8(input.value) {
        assert_eq!(text.parse::<RetryAfter>(), parsed);
    }
    if input.value.len() > MAX_LEN {
        assert!(parsed.is_err(), "values over {MAX_LEN} bytes are rejected");
    }

    // All digits (after optional SP/HTAB around them) is delta-seconds, saturating.
    let trimmed = trim(input.value);
    if input.value.len() <= MAX_LEN
        && !trimmed.is_empty()
        && trimmed.iter().all(u8::is_ascii_digit)
    {
        let secs = std::str::from_utf8(trimmed)
            .unwrap()
            .parse::<u64>()
            .unwrap_or(u64::MAX);
        assert_eq!(parsed, Ok(RetryAfter::Delay(Duration::from_secs(secs))));
    }

    let Ok(after) = parsed else { return };
    let delay = after.delay_from(now);
    match after {
        RetryAfter::Delay(d) => assert_eq!(delay, d, "a delay ignores the clock"),
        RetryAfter::At(at) => match at.duration_since(now) {
            Ok(ahead) => assert_eq!(delay, ahead),
            Err(_) => assert_eq!(delay, Duration::ZERO, "a past date means no wait"),
        },
    }
    // Any clock at all, including the extremes.
    for secs in [i64::MIN, -1, 0, i64::MAX] {
        let _ = after.delay_from(clock(secs, input.now_nanos));
    }
    // What `Display` writes parses back to the same value.
    let shown = after.to_string();
    assert_eq!(shown.parse::<RetryAfter>(), Ok(after), "{shown:?}");
});

fn trim(value: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !blank(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
    &value[start..end]
}

//! What a learned pace reads from the partition's traffic: where the law starts, the rate a
//! `429` shows too fast, and how far the law may rise. Each reading follows a published
//! client (the AWS SDKs' adaptive retry mode) or sender (BBR's delivery rate); the pacer
//! (`pacer.rs`) applies them.

use std::time::Duration;

use super::cubic::{BETA, Cubic};
use super::pacer::{MIN_SAMPLE, interval};
use super::traffic::Traffic;

/// The slowest learned rate, requests per second (the AWS SDKs' `MIN_FILL_RATE`).
pub(super) const MIN_RATE: f64 = 0.5;
/// The law never raises the rate past this multiple of what the client actually sent
/// lately (the AWS SDKs' cap): a pace that does not bind must not grow without bound while
/// idle and let a later burst through unpaced.
const SENT_RATE_CAP: f64 = 2.0;
/// How many intervals of the pace the delivery rate is measured over (see `too_fast`).
const DELIVERY_SAMPLE: u32 = 10;

/// The rate a `429` at `now` shows too fast, which CUBIC's reduction cuts to `β` of: the
/// pace in force or the best rate at which answers got through since the first paced
/// request left (`since`), the lower. (The AWS
/// SDKs take the lower of the pace and the measured send rate. What got through is the
/// limiter's own rate once the client overran it, so a pace far above the limit is not cut
/// many times, each rejecting most of what is sent. The best rate, as BBR keeps the best
/// delivery rate, so that spells in which the client sent less, its requests waiting out
/// `Retry-After`s, do not spiral it down; since the first paced request left, as BBR ignores
/// samples taken while the sender had nothing to send: counted from the `429`, a first
/// batch all rejected and held for a second read as 21 a second against a limit of 50 on
/// loopback. Over ten intervals of the pace, at least a second, so that one more answer in
/// a window does not read 1 a second as 2.) In the first second after the first paced
/// request left, a rate counted over a fraction of a second rests on a handful of answers
/// (read from one or two, a learned 1 a second holding 1 went to its floor and lost 235 of
/// 300 calls past their deadlines): the pace in force times the share of the answers since
/// then that got through (the client-side throttling ratio's accepts over requests), once
/// there are `MIN_SAMPLE` of them; until then, the pace in force.
pub(super) fn too_fast(
    traffic: &Traffic,
    rate: f64,
    since: Option<Duration>,
    now: Duration,
) -> f64 {
    let window = interval(rate)
        .saturating_mul(DELIVERY_SAMPLE)
        .max(Duration::from_secs(1));
    let delivered = since
        .and_then(|since| {
            if now.saturating_sub(since) >= Duration::from_secs(1) {
                return traffic.best_rate(window, since, now);
            }
            let answers = traffic.after(since, now);
            let answered = answers.admitted + answers.rejected;
            (answered >= MIN_SAMPLE).then(|| rate * answers.admitted as f64 / answered as f64)
        })
        .unwrap_or(f64::INFINITY);
    rate.min(delivered).max(MIN_RATE)
}

/// The law when pacing starts at `now`, on the client-side throttling ratio: from what the
/// client sent in the last second (too fast: the limiter rejected most of it), with `late`
/// requests of the same batch that asked to leave since (up to as many again), down to `β`
/// of it, or to what was
/// not rejected in that second when that is lower (a limiter lets through its rate,
/// whatever was sent; answers still on their way, and the late requests, are counted as
/// let through, so a batch whose `429`s come back first is not read as a limiter of
/// nothing).
pub(super) fn start(traffic: &Traffic, late: u64, now: Duration) -> Cubic {
    let last_second = traffic.over(Duration::from_secs(1), now);
    // The late requests count up to as many again as were sent: the AWS SDKs' cap on a
    // rate (`SENT_RATE_CAP`), as callers queued behind a burst are demand, not load the
    // limiter saw.
    let cap = (SENT_RATE_CAP as u64).saturating_mul(last_second.sent);
    let load = last_second.sent.saturating_add(late).min(cap);
    let sent = (load as f64).max(MIN_RATE);
    let not_rejected = load.saturating_sub(last_second.rejected) as f64;
    let rate = (BETA * sent).min(not_rejected).max(MIN_RATE);
    Cubic::reduced_to(sent, rate, now)
}

/// The most the law may rise to at `now`: twice what the partition sent lately (the AWS
/// SDKs' cap, `SENT_RATE_CAP`), read in the last second, or over ten intervals of the
/// pace in force `rate` (at most the history kept, 10 s), the higher. Over a second alone, a
/// pace of one request every 2 s reads 0 or 1 a second by turns; capped at twice that, it
/// could never climb off its floor while requests waited (a process of a fleet without a
/// store, paced down by its neighbours' 429s, went on at half a request a second long after
/// they had finished).
pub(super) fn sent_cap(traffic: &Traffic, rate: f64, now: Duration) -> f64 {
    let second = Duration::from_secs(1);
    let window = interval(rate.max(MIN_RATE))
        .saturating_mul(DELIVERY_SAMPLE)
        .clamp(second, Traffic::HISTORY);
    let last_second = traffic.over(second, now).sent as f64;
    let over_window = traffic.over(window, now).sent as f64 / window.as_secs_f64();
    SENT_RATE_CAP * last_second.max(over_window)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pace of one request every 2 s sends nothing in most seconds: its cap is read over
    /// its ten intervals (the 10 s of history kept), so sending at the pace lets the law
    /// rise to twice it, and no further.
    #[test]
    fn a_slow_pace_may_rise_to_twice_what_it_sent_over_its_ten_intervals() {
        let mut traffic = Traffic::default();
        for second in [1, 3, 5, 7, 9] {
            traffic.sent(Duration::from_secs(second));
        }
        let now = Duration::from_secs(10);
        assert_eq!(traffic.over(Duration::from_secs(1), now).sent, 0);

        let cap = sent_cap(&traffic, 0.5, now);

        assert!(
            (cap - 1.0).abs() < 1e-9,
            "cap {cap}, want 2 x 5 sent / 10 s"
        );
    }
}

//! What one partition sent and what got past the server's limiter, over the last few
//! seconds: the counts behind the client-side throttling ratio and the measured rates.

use std::time::Duration;

/// Width of one bucket of counts.
const BUCKET: Duration = Duration::from_millis(100);
/// Under this span (a second, the pacer's shortest sample), nothing got through says nothing
/// of the rate: the answers may be on their way. (Read as 0 a second one bucket after the
/// first paced request left, it cut a pace to its floor and put every queued call past its
/// deadline: 889 of 1,000 calls failed unsent on loopback.)
const MIN_SAMPLE_BUCKETS: usize = 10;
/// Buckets kept: 10 s of history. The SRE book's ratio counts two minutes, against a
/// backend's overload; a rate limiter's windows are a second or a minute, and a partition
/// whose limit appears (or changes) must be judged within a few seconds of it.
const BUCKETS: usize = 100;

/// Sent and admitted counts in 100 ms buckets.
#[derive(Debug)]
pub(super) struct Traffic {
    /// Per bucket: its index (time / 100 ms), requests sent, answers that got past the
    /// limiter, and rejections (`429`s).
    buckets: [(u64, u32, u32, u32); BUCKETS],
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            buckets: [(u64::MAX, 0, 0, 0); BUCKETS],
        }
    }
}

/// Totals over a span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub(super) sent: u64,
    pub(super) admitted: u64,
    pub(super) rejected: u64,
}

impl Traffic {
    /// How far back the counts go.
    pub(super) const HISTORY: Duration =
        Duration::from_nanos(BUCKET.as_nanos() as u64 * BUCKETS as u64);

    fn index(at: Duration) -> u64 {
        u64::try_from(at.as_nanos() / BUCKET.as_nanos()).unwrap_or(u64::MAX - 1)
    }

    fn bucket(&mut self, at: Duration) -> &mut (u64, u32, u32, u32) {
        let index = Traffic::index(at);
        let bucket = &mut self.buckets[(index % BUCKETS as u64) as usize];
        if bucket.0 != index {
            *bucket = (index, 0, 0, 0);
        }
        bucket
    }

    /// A request left at `at`.
    pub(super) fn sent(&mut self, at: Duration) {
        let bucket = self.bucket(at);
        bucket.1 = bucket.1.saturating_add(1);
    }

    /// An answer that got past the limiter arrived at `at`.
    pub(super) fn admitted(&mut self, at: Duration) {
        let bucket = self.bucket(at);
        bucket.2 = bucket.2.saturating_add(1);
    }

    /// A `429` arrived at `at`.
    pub(super) fn rejected(&mut self, at: Duration) {
        let bucket = self.bucket(at);
        bucket.3 = bucket.3.saturating_add(1);
    }

    /// Totals over the last `span` before `now` (at most the history kept).
    pub(super) fn over(&self, span: Duration, now: Duration) -> Counts {
        let to = Traffic::index(now);
        let buckets = (span.as_nanos() / BUCKET.as_nanos()).clamp(1, BUCKETS as u128) as u64;
        let from = to.saturating_sub(buckets - 1);
        let mut counts = Counts::default();
        for &(index, sent, admitted, rejected) in &self.buckets {
            if (from..=to).contains(&index) {
                counts.sent += u64::from(sent);
                counts.admitted += u64::from(admitted);
                counts.rejected += u64::from(rejected);
            }
        }
        counts
    }

    /// Totals after `since`, from the bucket after its own (one that may hold answers to
    /// requests sent before it).
    pub(super) fn after(&self, since: Duration, now: Duration) -> Counts {
        let from = Traffic::index(since).saturating_add(1);
        let to = Traffic::index(now);
        if from > to {
            return Counts::default();
        }
        let span = BUCKET.saturating_mul(u32::try_from(to - from + 1).unwrap_or(u32::MAX));
        self.over(span, now)
    }

    /// The highest rate (per second) at which answers got past the limiter over any
    /// `window` of the history after `since` (from the bucket after its own, in steps of a
    /// bucket): the limiter's rate when the client overran it at some point, not lowered by
    /// spells in which the client sent less (BBR's windowed maximum of the delivery rate).
    /// Over the span since `since` when that is shorter than `window`; but `None` when
    /// nothing got through in a span shorter than a second.
    pub(super) fn best_rate(
        &self,
        window: Duration,
        since: Duration,
        now: Duration,
    ) -> Option<f64> {
        let to = Traffic::index(now);
        let from = to
            .saturating_sub(BUCKETS as u64 - 1)
            .max(Traffic::index(since).saturating_add(1));
        if from > to {
            return None;
        }
        let mut per_bucket = vec![Some(0); (to - from + 1) as usize];
        for &(index, _, admitted, _) in &self.buckets {
            if (from..=to).contains(&index) {
                per_bucket[(index - from) as usize] = Some(u64::from(admitted));
            }
        }
        let span = (to - from + 1) as usize;
        let width = ((window.as_nanos() / BUCKET.as_nanos()) as usize).clamp(1, span);
        let best = per_bucket
            .windows(width)
            .filter_map(|w| w.iter().copied().sum::<Option<u64>>())
            .max()?;
        if best == 0 && span < MIN_SAMPLE_BUCKETS {
            return None;
        }
        Some(best as f64 / (BUCKET * width as u32).as_secs_f64())
    }

    /// Totals over the whole history.
    pub(super) fn history(&self, now: Duration) -> Counts {
        self.over(BUCKET * BUCKETS as u32, now)
    }

    /// Adds `other`'s counts to these (bucket by bucket; a bucket of `other` newer than
    /// the one in its place here replaces it).
    pub(super) fn absorb(&mut self, other: &Traffic) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            if theirs.0 == u64::MAX {
                continue;
            }
            if mine.0 == theirs.0 {
                mine.1 = mine.1.saturating_add(theirs.1);
                mine.2 = mine.2.saturating_add(theirs.2);
                mine.3 = mine.3.saturating_add(theirs.3);
            } else if mine.0 == u64::MAX || mine.0 < theirs.0 {
                *mine = *theirs;
            }
        }
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        *self = Traffic::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn counts_cover_the_span_asked_and_age_out() {
        let mut traffic = Traffic::default();
        for at in [0, 50, 150, 950, 1_050] {
            traffic.sent(ms(at));
        }
        traffic.admitted(ms(1_050));
        traffic.rejected(ms(980));
        let last_second = traffic.over(Duration::from_secs(1), ms(1_050));
        assert_eq!(
            last_second,
            Counts {
                sent: 3,
                admitted: 1,
                rejected: 1
            }
        );
        assert_eq!(traffic.history(ms(1_050)).sent, 5);
        // Ten seconds later the first buckets are gone, and a reused bucket starts at zero.
        traffic.sent(ms(10_020));
        assert_eq!(traffic.history(ms(10_020)).sent, 4);
        assert_eq!(traffic.history(ms(30_000)), Counts::default());
        let mut other = Traffic::default();
        other.sent(ms(30_050));
        other.admitted(ms(30_060));
        other.rejected(ms(29_000));
        traffic.absorb(&other);
        assert_eq!(
            traffic.history(ms(30_100)),
            Counts {
                sent: 1,
                admitted: 1,
                rejected: 1
            }
        );
        traffic.clear();
        assert_eq!(traffic.history(ms(1_050)), Counts::default());
    }

    #[test]
    fn the_best_rate_is_the_busiest_window_since_a_moment() {
        let mut traffic = Traffic::default();
        let second = Duration::from_secs(1);
        for at in [2_000, 2_500, 2_900, 3_050] {
            traffic.admitted(ms(at));
        }
        assert_eq!(traffic.best_rate(second, ms(0), ms(5_000)), Some(3.0));
        assert_eq!(traffic.best_rate(second * 2, ms(0), ms(5_000)), Some(2.0));
        // Only what came after `since` (from the bucket after its own) counts: from
        // 2.6 s, the busiest second holds 2.9 s and 3.05 s.
        assert_eq!(traffic.best_rate(second, ms(2_550), ms(5_000)), Some(2.0));
        // Over a shorter span than the window: 2 answers in the 600 ms from 2.9 s.
        let since = traffic.best_rate(second * 2, ms(2_850), ms(3_450)).unwrap();
        assert!((since - 2.0 / 0.6).abs() < 1e-9, "{since}");
        assert_eq!(traffic.best_rate(second * 2, ms(3_450), ms(3_450)), None);
        // Nothing got through in less than a second: no sample (the answers may be on
        // their way). Over a second, nothing is a rate of nothing.
        assert_eq!(traffic.best_rate(second, ms(3_050), ms(3_950)), None);
        assert_eq!(traffic.best_rate(second, ms(3_050), ms(4_050)), Some(0.0));
    }

    #[test]
    fn the_far_future_is_a_bucket_like_any_other() {
        // Past u64 buckets of 100 ms, time saturates into the last real bucket, not the
        // marker of an empty one.
        let mut traffic = Traffic::default();
        traffic.sent(Duration::MAX);
        let mut other = Traffic::default();
        other.absorb(&traffic);
        assert_eq!(traffic.over(Duration::from_secs(1), Duration::MAX).sent, 1);
        assert_eq!(other.over(Duration::from_secs(1), Duration::MAX).sent, 1);
    }

    #[test]
    fn the_best_rate_spans_at_most_the_history_kept() {
        let mut traffic = Traffic::default();
        for at in 0..100u64 {
            traffic.admitted(ms(20_000 + at * 100));
        }
        // A window longer than the ten seconds kept is the ten seconds: 100 in 10 s.
        let rate = traffic.best_rate(Duration::from_secs(20), ms(0), ms(29_950));
        assert_eq!(rate, Some(10.0));
        // From the bucket after `since`'s: a window of one bucket is a span.
        let one = traffic.best_rate(ms(100), ms(29_850), ms(29_950));
        assert_eq!(one, Some(10.0));
    }
}

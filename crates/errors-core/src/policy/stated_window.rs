//! Whether a stated limiter is a window rather than a bucket, and when it has room: a
//! sliding log of the sends it may still count.

use std::collections::VecDeque;
use std::time::Duration;

use super::RateLimitQuota;

/// The most sends a log keeps for a stated limit (twice the limit, see [`StatedWindow`]). A
/// stated limit larger than half of this is paced as a bucket only: at thousands a second
/// the bucket's and the window's paces differ by milliseconds, not worth the memory.
const MAX_SENDS: u64 = 8192;

/// What a partition paced by a stated "`limit` per `window`" knows of the limiter's kind.
///
/// A stated limit is paced as a bucket (GCRA): the whole `limit` at once, then its rate. A
/// window (fixed, or moving as slowapi's and `limits`' are) admits no more than `limit` in
/// any `window` instead, so after a burst it rejects the bucket's pace until the burst is a
/// window old. The two are told apart by the request paced one interval after a `429`: a
/// bucket refilling at the stated rate has its token; a window that is full does not. Once a
/// request sent that late is rejected with no answer let through since the `429`, the
/// limiter is a window, and [`StatedWindow::open_at`] holds each request until the oldest of
/// the last `limit` sends not rejected is a window old: the sliding log of the window
/// algorithms, kept on the client's side.
///
/// The log keeps the last `2 * limit` sends, not `limit`: a send whose answer is still on
/// its way may yet be rejected, and must not push out an admitted one the window still
/// counts.
#[derive(Debug, Clone, Default)]
pub(super) struct StatedWindow {
    /// When the first `429` since the last answer that got through arrived.
    rejected_since: Option<Duration>,
    /// The limiter showed that it is a window.
    windowed: bool,
    /// When the sends not rejected left, oldest first.
    sends: VecDeque<Duration>,
}

impl StatedWindow {
    /// A request left at `now`, under a stated `quota`.
    pub(super) fn sent(&mut self, now: Duration, quota: RateLimitQuota) {
        let keep = quota.limit().saturating_mul(2);
        if keep > MAX_SENDS {
            return;
        }
        self.sends.push_back(now);
        while self.sends.len() as u64 > keep {
            self.sends.pop_front();
        }
    }

    /// An answer got past the limiter.
    pub(super) fn admitted(&mut self) {
        self.rejected_since = None;
    }

    /// A `429` arrived at `now` for the request sent at `sent_at`. `interval`: the stated
    /// pace's interval, when the partition is paced by the statement the `429` states (or
    /// states none); `None` when it is not paced by a statement, or by another one.
    pub(super) fn rejected(
        &mut self,
        now: Duration,
        sent_at: Duration,
        interval: Option<Duration>,
    ) {
        if let Some(interval) = interval {
            // Sent at least an interval of the stated pace after a 429 said the limiter had
            // nothing left, and rejected with nothing let through since: a bucket would
            // have had this request's token.
            let paced_after = self
                .rejected_since
                .is_some_and(|since| sent_at >= since.saturating_add(interval));
            self.windowed |= paced_after;
            // The server did not count it.
            if let Some(index) = self.sends.iter().rposition(|&at| at == sent_at) {
                self.sends.remove(index);
            }
        }
        self.rejected_since.get_or_insert(now);
    }

    /// When the window has room for one more request, once the limiter showed it is a
    /// window: `window` after the oldest of the last `quota.limit()` sends not rejected
    /// (`window` being the quota's, or a little longer for a margin). `ZERO` while the
    /// limiter may be a bucket, or fewer were sent.
    pub(super) fn open_at(&self, quota: RateLimitQuota, window: Duration) -> Duration {
        let oldest = usize::try_from(quota.limit())
            .ok()
            .and_then(|limit| self.sends.len().checked_sub(limit));
        match oldest {
            Some(oldest) if self.windowed => self.sends[oldest].saturating_add(window),
            _ => Duration::ZERO,
        }
    }

    /// Until when the window may still count a send of the partition, once the limiter
    /// showed it is a window: `window` after the last (`ZERO` otherwise). The pace must
    /// not end before: the window may hold requests whose turn in the queue has passed, and
    /// a burst could meet it full.
    pub(super) fn busy_until(&self, window: Duration) -> Duration {
        match self.sends.back() {
            Some(&last) if self.windowed => last.saturating_add(window),
            _ => Duration::ZERO,
        }
    }

    /// Forgets all (a new statement: a new limiter, a bucket until it shows otherwise).
    pub(super) fn reset(&mut self) {
        *self = StatedWindow::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn three_per_second() -> RateLimitQuota {
        RateLimitQuota::new(3, Duration::from_secs(1)).unwrap()
    }

    /// Windowed: a 429 at 0, then one for a request sent 100 ms after it.
    fn windowed() -> StatedWindow {
        let mut window = StatedWindow::default();
        window.rejected(ms(0), ms(0), Some(ms(100)));
        window.rejected(ms(101), ms(100), Some(ms(100)));
        assert!(window.windowed);
        window
    }

    #[test]
    fn the_window_has_room_when_the_oldest_of_the_last_limit_sends_is_a_window_old() {
        let quota = three_per_second();
        let second = Duration::from_secs(1);
        let mut window = windowed();
        for n in 0..3 {
            window.sent(ms(200 + 10 * n), quota);
        }
        assert_eq!(window.open_at(quota, second), ms(1200));
        // A fourth send: room when the second is a window old.
        window.sent(ms(500), quota);
        assert_eq!(window.open_at(quota, second), ms(1210));
        // Twice the limit is kept: a send on its way that is then rejected leaves the one
        // before it counted.
        for n in 0..3 {
            window.sent(ms(600 + n), quota);
        }
        window.rejected(ms(700), ms(602), Some(ms(100)));
        assert_eq!(window.open_at(quota, second), ms(1500));
        assert_eq!(window.busy_until(second), ms(1601));
    }

    #[test]
    fn only_a_request_paced_after_a_429_with_nothing_through_since_shows_a_window() {
        let quota = three_per_second();
        let mut window = StatedWindow::default();
        for n in 0..3 {
            window.sent(ms(10 * n), quota);
        }
        window.rejected(ms(50), ms(40), Some(ms(100)));
        // Sent before the 429 came back, or less than an interval after it.
        window.rejected(ms(60), ms(45), Some(ms(100)));
        window.rejected(ms(160), ms(149), Some(ms(100)));
        assert_eq!(
            window.open_at(quota, Duration::from_secs(1)),
            Duration::ZERO
        );
        // An answer let through since: the bucket had a token.
        window.admitted();
        window.rejected(ms(300), ms(290), Some(ms(100)));
        assert_eq!(
            window.open_at(quota, Duration::from_secs(1)),
            Duration::ZERO
        );
        // Not paced by this statement: nothing is learned.
        window.rejected(ms(500), ms(490), None);
        assert_eq!(
            window.open_at(quota, Duration::from_secs(1)),
            Duration::ZERO
        );
        // Paced an interval after the 429 of 300 ms, nothing through since: a window.
        window.rejected(ms(501), ms(400), Some(ms(100)));
        assert_eq!(window.open_at(quota, Duration::from_secs(1)), ms(1000));
        window.reset();
        assert_eq!(
            window.open_at(quota, Duration::from_secs(1)),
            Duration::ZERO
        );
    }

    #[test]
    fn a_limit_too_large_keeps_no_log() {
        let quota = RateLimitQuota::new(MAX_SENDS, Duration::from_secs(1)).unwrap();
        let mut window = windowed();
        window.sent(ms(1), quota);
        assert!(window.sends.is_empty());
        assert_eq!(
            window.open_at(quota, Duration::from_secs(1)),
            Duration::ZERO
        );
    }
}

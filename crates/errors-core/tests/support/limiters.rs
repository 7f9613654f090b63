//! Model rate limiters, as servers run them: a token bucket, a fixed window, a sliding log,
//! a bucket whose rate changes. Time is a [`Duration`] since an anchor of the caller's, so
//! that the simulation (`crates/errors-core/tests/limiters.rs`, virtual time) and the
//! loopback benchmark (`examples/ratelimit.rs`, real time) put the very same limiters in
//! front of the client. Each verdict is admitted, or rejected with the time until the request
//! would be admitted (what a real limiter rounds up into `Retry-After`).

use std::collections::VecDeque;
use std::time::Duration;

/// What a model limiter answers, as its consumers' own `Limiter` traits ask it.
pub(crate) trait Model: Send {
    /// A request arriving at `now`: admitted, or rejected with the time until it would be.
    fn admit(&mut self, now: Duration) -> Result<(), Duration>;
    /// Requests per second in the long run (for a changing limit, the rate in force).
    fn rate(&self) -> f64;
    /// The limit as a `429` states it: (calls, seconds).
    fn statement(&self) -> (u32, u32);
}

/// A token bucket: `calls` tokens per `per` seconds, holding `burst`, full at the start.
pub(crate) struct TokenBucket {
    calls: u32,
    per: u32,
    burst: f64,
    tokens: f64,
    at: Duration,
}

impl TokenBucket {
    /// `calls` per `per` seconds, holding `burst`, full.
    pub(crate) fn new(calls: u32, per: u32, burst: u32) -> TokenBucket {
        TokenBucket {
            calls,
            per,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            at: Duration::ZERO,
        }
    }

    /// Tokens earned since the last request, up to the burst.
    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate()).min(self.burst);
        self.at = self.at.max(now);
    }
}

impl Model for TokenBucket {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate()))
        }
    }

    fn rate(&self) -> f64 {
        f64::from(self.calls) / f64::from(self.per)
    }

    fn statement(&self) -> (u32, u32) {
        (self.calls, self.per)
    }
}

/// A fixed window: `limit` requests per window, windows back to back from zero.
pub(crate) struct FixedWindow {
    limit: u32,
    window: Duration,
    start: Duration,
    used: u32,
}

impl FixedWindow {
    /// `limit` requests per window of `secs` seconds.
    pub(crate) fn new(limit: u32, secs: u32) -> FixedWindow {
        FixedWindow {
            limit,
            window: Duration::from_secs(secs.into()),
            start: Duration::ZERO,
            used: 0,
        }
    }
}

impl Model for FixedWindow {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        let elapsed = now.saturating_sub(self.start);
        if elapsed >= self.window {
            let windows = elapsed.as_nanos() / self.window.as_nanos();
            self.start += self.window * u32::try_from(windows).unwrap_or(u32::MAX);
            self.used = 0;
        }
        if self.used < self.limit {
            self.used += 1;
            Ok(())
        } else {
            Err((self.start + self.window).saturating_sub(now))
        }
    }

    fn rate(&self) -> f64 {
        f64::from(self.limit) / self.window.as_secs_f64()
    }

    fn statement(&self) -> (u32, u32) {
        (self.limit, self.window.as_secs() as u32)
    }
}

/// A sliding log: at most `limit` admissions in any window.
pub(crate) struct SlidingLog {
    limit: usize,
    window: Duration,
    log: VecDeque<Duration>,
}

impl SlidingLog {
    /// At most `limit` admissions in any `secs` seconds.
    pub(crate) fn new(limit: u32, secs: u32) -> SlidingLog {
        SlidingLog {
            limit: limit as usize,
            window: Duration::from_secs(secs.into()),
            log: VecDeque::new(),
        }
    }
}

impl Model for SlidingLog {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        while self
            .log
            .front()
            .is_some_and(|&at| now.saturating_sub(at) >= self.window)
        {
            self.log.pop_front();
        }
        if self.log.len() < self.limit {
            self.log.push_back(now);
            Ok(())
        } else {
            Err((self.log[0] + self.window).saturating_sub(now))
        }
    }

    fn rate(&self) -> f64 {
        self.limit as f64 / self.window.as_secs_f64()
    }

    fn statement(&self) -> (u32, u32) {
        (self.limit as u32, self.window.as_secs() as u32)
    }
}

/// A token bucket whose rate per second (and burst, equal to it) changes at set times,
/// counted from its first request: a plan downgraded for a while, a limit shared with a
/// neighbour who comes and goes.
pub(crate) struct ChangingBucket {
    /// (from second, rate), the first from 0.
    steps: &'static [(u64, u32)],
    bucket: TokenBucket,
    first: Option<Duration>,
}

impl ChangingBucket {
    /// A bucket following `steps`: (from second, calls per second), the first from 0.
    pub(crate) fn new(steps: &'static [(u64, u32)]) -> ChangingBucket {
        let rate = steps[0].1;
        ChangingBucket {
            steps,
            bucket: TokenBucket::new(rate, 1, rate),
            first: None,
        }
    }

    /// When a bucket following `steps` has allowed `calls` requests, from the first: where
    /// the integral of its rate reaches `calls` (the ideal time of a batch).
    pub(crate) fn ideal(steps: &[(u64, u32)], calls: usize) -> f64 {
        let mut passed = 0.0;
        for (n, &(from, rate)) in steps.iter().enumerate() {
            let (from, rate) = (from as f64, f64::from(rate));
            let left = calls as f64 - passed;
            match steps.get(n + 1) {
                Some(&(until, _)) if left > rate * (until as f64 - from) => {
                    passed += rate * (until as f64 - from);
                }
                _ => return from + left / rate,
            }
        }
        unreachable!("the last step lasts for ever")
    }
}

impl Model for ChangingBucket {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        let first = *self.first.get_or_insert(now);
        let rate = rate_at(self.steps, now.saturating_sub(first));
        if rate != self.bucket.calls {
            // Tokens earned at the old rate stay, up to the new burst.
            self.bucket.refill(now);
            self.bucket.calls = rate;
            self.bucket.burst = f64::from(rate);
            self.bucket.tokens = self.bucket.tokens.min(self.bucket.burst);
        }
        self.bucket.admit(now)
    }

    fn rate(&self) -> f64 {
        self.bucket.rate()
    }

    fn statement(&self) -> (u32, u32) {
        self.bucket.statement()
    }
}

/// The rate in force `elapsed` after the start, by `steps` (from second, rate).
pub(crate) fn rate_at(steps: &[(u64, u32)], elapsed: Duration) -> u32 {
    steps
        .iter()
        .rev()
        .find(|(from, _)| elapsed >= Duration::from_secs(*from))
        .map_or(steps[0].1, |&(_, rate)| rate)
}

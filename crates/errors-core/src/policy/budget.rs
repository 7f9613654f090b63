//! A retry budget one client shares across its requests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Milli-tokens per retry.
const RETRY_COST: u64 = 1000;

/// A thread-safe token bucket that keeps retries a small share of a client's traffic.
///
/// Each logical request deposits `ratio` of a token (up to `reserve` tokens, and at least one);
/// each retry withdraws one. While the server is healthy the bucket stays full; during an
/// outage the reserve is spent in a burst, then retries are limited to `ratio` per request,
/// so the client does not multiply the load on a struggling server.
///
/// The client's retry runs deposit and withdraw; a caller configures the budget and reads
/// what is [`available`](RetryBudget::available):
///
/// ```
/// use errors_core::retry::{ClientRetryState, RetryBudget};
///
/// let shared = ClientRetryState::with_budget(RetryBudget::new(2, 0.5));
/// assert_eq!(shared.budget().map(RetryBudget::available), Some(2));
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    /// Milli-tokens available.
    balance: AtomicU64,
    /// Most milli-tokens the bucket holds.
    capacity: u64,
    /// Milli-tokens each logical request deposits.
    deposit: u64,
}

impl Default for RetryBudget {
    /// A reserve of 10 retries, and one retry earned per 10 requests.
    fn default() -> Self {
        RetryBudget::new(10, 0.1)
    }
}

impl RetryBudget {
    /// A full budget of `reserve` retries, earning `ratio` of a retry per request (clamped
    /// to `0.0..=1.0`). The bucket holds at least one retry, so `RetryBudget::new(0, 0.1)`
    /// starts empty and earns one retry per 10 requests.
    ///
    /// ```
    /// use errors_core::retry::RetryBudget;
    ///
    /// assert_eq!(RetryBudget::new(0, 0.5).available(), 0); // no reserve: retries are earned
    /// ```
    pub fn new(reserve: u32, ratio: f64) -> RetryBudget {
        let reserve = u64::from(reserve) * RETRY_COST;
        // Room for at least one retry, or a zero reserve could never earn one.
        let capacity = reserve.max(RETRY_COST);
        let ratio = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        RetryBudget {
            balance: AtomicU64::new(reserve),
            capacity,
            deposit: (ratio * RETRY_COST as f64).round() as u64,
        }
    }

    /// Credits one logical request.
    pub(crate) fn deposit(&self) {
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_add(self.deposit).min(self.capacity))
            });
    }

    /// Takes the cost of one retry, if the budget has it.
    pub(crate) fn try_withdraw(&self) -> bool {
        self.balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                b.checked_sub(RETRY_COST)
            })
            .is_ok()
    }

    /// Retries currently available (whole tokens).
    pub fn available(&self) -> u64 {
        self.balance.load(Ordering::Relaxed) / RETRY_COST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_is_spent_then_earned_back_at_the_ratio() {
        let budget = RetryBudget::new(2, 0.5);
        assert!(budget.try_withdraw());
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw(), "reserve spent");
        budget.deposit();
        assert!(!budget.try_withdraw(), "half a retry is not one");
        budget.deposit();
        assert!(budget.try_withdraw(), "two requests earn one retry");
        assert!(!budget.try_withdraw());
    }

    #[test]
    fn deposits_never_exceed_the_reserve() {
        let budget = RetryBudget::new(3, 1.0);
        for _ in 0..100 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 3);
    }

    #[test]
    fn a_zero_reserve_still_earns_retries_at_the_ratio() {
        let budget = RetryBudget::new(0, 0.1);
        assert!(!budget.try_withdraw());
        let mut retries = 0;
        for _ in 0..100 {
            budget.deposit();
            if budget.try_withdraw() {
                retries += 1;
            }
        }
        assert_eq!(retries, 10);
        // Earned retries do not pile up beyond one while none is spent.
        for _ in 0..100 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 1);
        assert_eq!(RetryBudget::new(0, 0.0).available(), 0);
    }

    #[test]
    fn an_outage_is_held_to_the_ratio() {
        let budget = RetryBudget::new(10, 0.1);
        let mut retries = 0;
        for _ in 0..1000 {
            budget.deposit();
            // Each call would like three retries.
            for _ in 0..3 {
                if budget.try_withdraw() {
                    retries += 1;
                }
            }
        }
        // 10 from the reserve, then 1 per 10 calls.
        assert!((105..=111).contains(&retries), "{retries}");
    }

    #[test]
    fn shared_across_threads_without_overdraft() {
        let budget = std::sync::Arc::new(RetryBudget::new(100, 0.0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let budget = budget.clone();
                std::thread::spawn(move || (0..100).filter(|_| budget.try_withdraw()).count())
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 100);
    }
}

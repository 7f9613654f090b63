//! The control law of a learned pace: CUBIC (RFC 9438), on a send rate instead of a
//! congestion window, as the AWS SDKs' adaptive retry mode applies it to throttling.
//!
//! After a reduction at `epoch` from a rate `w_max`, the rate is
//! `C * (t - K)^3 + w_max`, `t` the seconds since, `K` the time it takes to climb back to
//! `w_max`: concave up to the rate that was too fast, flat near it, then convex to find out
//! whether the limit rose. Pure arithmetic: no clock, no state beyond three numbers.

use std::time::Duration;

/// CUBIC's scaling constant `C` (RFC 9438, section 5: 0.4; the AWS SDKs use the same value
/// on requests per second).
pub(super) const C: f64 = 0.4;
/// CUBIC's multiplicative decrease `β` (RFC 9438, section 4.6: 0.7; the AWS SDKs' too): a
/// reduction leaves 70% of the rate that was rejected.
pub(super) const BETA: f64 = 0.7;

/// One epoch of the law: the rate it started from and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Cubic {
    /// The rate at which the server last said "too fast" (or the rate it stated).
    w_max: f64,
    /// Seconds from `epoch` until the rate is back at `w_max`.
    k: f64,
    epoch: Duration,
}

impl Cubic {
    /// An epoch that starts at `w_max` itself (a stated rate, or one just measured): the
    /// rate stays near it, then probes above it.
    pub(super) fn from_rate(w_max: f64, epoch: Duration) -> Cubic {
        Cubic {
            w_max,
            k: 0.0,
            epoch,
        }
    }

    /// A reduction at `epoch` from `rate`, which was too fast: the rate falls to `β * rate`
    /// and climbs back to `rate` in `K = cbrt(rate * (1 - β) / C)` seconds.
    pub(super) fn reduced_from(rate: f64, epoch: Duration) -> Cubic {
        Cubic {
            w_max: rate,
            k: (rate * (1.0 - BETA) / C).cbrt(),
            epoch,
        }
    }

    /// A reduction at `epoch` from `w_max` to `rate`, lower than `β * w_max` when what got
    /// through shows the limit is further down: the law climbs back to `w_max` in
    /// `K = cbrt((w_max - rate) / C)` seconds (RFC 9438's `K` for that drop).
    pub(super) fn reduced_to(w_max: f64, rate: f64, epoch: Duration) -> Cubic {
        Cubic {
            w_max,
            k: ((w_max - rate).max(0.0) / C).cbrt(),
            epoch,
        }
    }

    /// A reduction at `epoch` from `rate`, too fast again within the recovery of the last
    /// one: CUBIC's fast convergence (RFC 9438, section 4.7). The rate falls to `β * rate` as
    /// in any reduction, but the law climbs back to `(1 + β) / 2 * rate` only: the limit is
    /// under the rate the last reduction set, so aiming back at `rate` would overshoot it.
    pub(super) fn converging_from(rate: f64, epoch: Duration) -> Cubic {
        Cubic::reduced_to(rate * (1.0 + BETA) / 2.0, rate * BETA, epoch)
    }

    /// The rate that was too fast (or stated).
    pub(super) fn w_max(&self) -> f64 {
        self.w_max
    }

    /// When the epoch began.
    pub(super) fn epoch(&self) -> Duration {
        self.epoch
    }

    /// The law's rate at `now` (requests per second).
    pub(super) fn rate_at(&self, now: Duration) -> f64 {
        let t = now.saturating_sub(self.epoch).as_secs_f64();
        C * (t - self.k).powi(3) + self.w_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_reduction_leaves_beta_of_the_rate_and_climbs_back_in_k_seconds() {
        let law = Cubic::reduced_from(50.0, secs(10.0));
        assert!((law.rate_at(secs(10.0)) - 35.0).abs() < 1e-9);
        let k = (50.0f64 * 0.3 / 0.4).cbrt();
        assert!((law.rate_at(secs(10.0 + k)) - 50.0).abs() < 1e-9);
        // Concave before K, convex after: slower near w_max than far from it.
        let early = law.rate_at(secs(11.0)) - law.rate_at(secs(10.0));
        let near = law.rate_at(secs(10.0 + k)) - law.rate_at(secs(9.0 + k));
        let late = law.rate_at(secs(12.0 + k)) - law.rate_at(secs(11.0 + k));
        assert!(early > near && late > near, "{early} {near} {late}");
        // Before the epoch (a reading from the past) it is the reduced rate.
        assert!((law.rate_at(secs(3.0)) - 35.0).abs() < 1e-9);
    }

    #[test]
    fn a_deeper_reduction_takes_longer_to_climb_back() {
        let law = Cubic::reduced_to(50.0, 5.0, secs(0.0));
        assert!((law.rate_at(secs(0.0)) - 5.0).abs() < 1e-9);
        let k = (45.0f64 / 0.4).cbrt();
        assert!((law.rate_at(secs(k)) - 50.0).abs() < 1e-9);
        assert_eq!(
            Cubic::reduced_to(50.0, 35.0, secs(1.0)),
            Cubic::reduced_from(50.0, secs(1.0))
        );
    }

    #[test]
    fn fast_convergence_cuts_as_a_reduction_and_aims_lower() {
        let law = Cubic::converging_from(40.0, secs(2.0));
        assert!((law.rate_at(secs(2.0)) - 28.0).abs() < 1e-9);
        assert!((law.w_max() - 34.0).abs() < 1e-9);
        let k = (6.0f64 / 0.4).cbrt();
        assert!((law.rate_at(secs(2.0 + k)) - 34.0).abs() < 1e-9);
    }

    #[test]
    fn an_epoch_from_a_rate_starts_there_and_probes_above_it() {
        let law = Cubic::from_rate(20.0, secs(0.0));
        assert_eq!(law.rate_at(secs(0.0)), 20.0);
        assert!((law.rate_at(secs(2.0)) - (20.0 + 0.4 * 8.0)).abs() < 1e-9);
        assert!(law.rate_at(secs(5.0)) > 60.0);
        assert_eq!(law.w_max(), 20.0);
        assert_eq!(law.epoch(), secs(0.0));
    }
}

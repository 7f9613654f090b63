//! The pacer's own tests: its mutators are the crate's, so they are tested from inside.

use std::time::Duration;

use super::*;
use crate::policy::cubic::BETA;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn quota(limit: u64, window_secs: u64) -> RateLimitQuota {
    RateLimitQuota::new(limit, Duration::from_secs(window_secs)).unwrap()
}

/// Takes `n` slots for requests all ready at `now`, with no deadline.
fn slots(pacer: &Pacer, now: Duration, window_open: Duration, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| pacer.take_slot(now, window_open, Duration::MAX).unwrap().0)
        .collect()
}

/// `sent` requests at `now`, `admitted` of them through, the rest rejected (no pace).
fn answers(pacer: &Pacer, now: Duration, admitted: u64, rejected: u64) {
    for _ in 0..admitted + rejected {
        pacer.on_sent(now);
    }
    for _ in 0..admitted {
        pacer.on_admitted(now);
    }
    for _ in 0..rejected {
        pacer.on_throttle(now, now, Some(Duration::from_secs(1)), None, now);
    }
}

#[test]
fn a_partition_never_rate_limited_is_never_paced() {
    let pacer = Pacer::default();
    for n in 0..100 {
        pacer.on_sent(ms(n));
        pacer.on_admitted(ms(n));
    }
    assert!(!pacer.is_active());
    assert_eq!(pacer.rate(), None);
    assert_eq!(slots(&pacer, ms(100), ms(0), 3), [ms(100); 3]);
    assert_eq!(
        pacer.take_slot(ms(100), ms(250), Duration::MAX),
        Ok((ms(250), Place::Window)),
        "a closed window still holds"
    );
}

#[test]
fn a_stated_limit_sets_rate_and_burst_from_the_windows_opening() {
    // "100 calls per 60 seconds", its 429 asking for 59 s: the window's opening lets the
    // whole burst through at once (a new window), then the pace.
    let pacer = Pacer::default();
    let open = secs(60.0);
    pacer.on_throttle(
        secs(1.0),
        secs(1.0),
        Some(secs(59.0)),
        Some(quota(100, 60)),
        open,
    );
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Stated);
    assert!((rate - 100.0 / 60.0 * 0.98).abs() < 1e-9);
    let taken = slots(&pacer, secs(2.0), open, 102);
    // (Within a microsecond: the interval is a whole number of nanoseconds.)
    let at_open = |s: &Duration| *s >= open && *s <= open + Duration::from_micros(1);
    assert!(taken[..100].iter().all(at_open), "{taken:?}");
    let interval = super::interval(rate);
    assert!(at_open(&(taken[100] - interval)), "{taken:?}");
    assert_eq!(taken[101] - taken[100], interval);
}

#[test]
fn a_stated_429_holds_nobody_else_and_the_pace_starts_one_interval_later() {
    // "50 calls per 1 seconds", `Retry-After: 1` (perhaps 20 ms rounded up): the window is
    // not closed; the partition goes at the stated pace from the rejection.
    let pacer = Pacer::default();
    pacer.on_throttle(ms(10), ms(8), Some(secs(1.0)), Some(quota(50, 1)), ms(0));
    let interval = super::interval(50.0 * 0.98);
    let taken = slots(&pacer, ms(11), ms(0), 5);
    for (n, slot) in taken.iter().enumerate() {
        assert_eq!(*slot, ms(10) + interval * (n as u32 + 1), "{taken:?}");
    }
}

#[test]
fn a_request_that_cannot_have_a_slot_before_its_deadline_takes_nothing() {
    let pacer = Pacer::default();
    pacer.on_throttle(ms(0), ms(0), None, Some(quota(1, 1)), ms(0));
    let first = pacer.take_slot(ms(0), ms(0), Duration::MAX).unwrap().0;
    // The next slot is about a second later: a request that must leave before that fails
    // and leaves the slot to the next one.
    let refused = pacer.take_slot(ms(0), ms(0), first + ms(500));
    let Err(would_have) = refused else {
        panic!("{refused:?}")
    };
    assert!(would_have > first + ms(500));
    assert_eq!(
        pacer.take_slot(ms(0), ms(0), Duration::MAX).unwrap().0,
        would_have
    );
}

#[test]
fn random_rejections_never_switch_pacing_on() {
    // A tenth of 400 answers rejected, in any order: the ratio stays under K.
    let pacer = Pacer::default();
    for n in 0..400u64 {
        let now = ms(n * 5);
        answers(&pacer, now, u64::from(n % 10 != 0), u64::from(n % 10 == 0));
    }
    assert!(!pacer.is_active());
}

#[test]
fn a_limiter_overrun_switches_pacing_on_once_the_sample_is_large_enough() {
    let pacer = Pacer::default();
    // Fewer than 20 answers: however many rejected, no verdict.
    answers(&pacer, ms(0), 1, 18);
    assert!(!pacer.is_active());
    // Then most of what is sent is rejected: a limiter. The rate starts at what was not
    // rejected of what was sent in the last second, at most 70% of it.
    answers(&pacer, ms(5), 4, 20);
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Learned);
    assert!((4.0..=0.7 * 43.0).contains(&rate), "{rate}");
}

#[test]
fn a_learned_pace_is_cut_once_per_window_and_climbs_back() {
    let pacer = Pacer::default();
    answers(&pacer, ms(0), 40, 60);
    let (start, _) = pacer.rate().unwrap();
    // Paced: what gets through now is the limit (40 a second).
    for n in 0..40u64 {
        pacer.on_sent(ms(100 + n * 25));
        pacer.on_admitted(ms(100 + n * 25));
    }
    // A rejection of a request sent after the start, past its window: a cut.
    pacer.on_throttle(secs(1.2), secs(1.1), Some(secs(1.0)), None, ms(0));
    let (cut, _) = pacer.rate().unwrap();
    assert!(cut < start, "{cut} {start}");
    assert!(cut <= 0.7 * 40.0 + 1e-9, "{cut}");
    // Another inside the window that cut asked for: no second cut (the law climbs on).
    pacer.on_throttle(secs(1.5), secs(1.4), Some(secs(1.0)), None, ms(0));
    let (climbing, _) = pacer.rate().unwrap();
    assert!(climbing >= cut, "{climbing} {cut}");
    // Nor for a request sent before the cut, even after its window.
    pacer.on_throttle(secs(2.3), secs(1.15), Some(secs(1.0)), None, ms(0));
    assert!(pacer.rate().unwrap().0 >= climbing);
    // While the client sends as fast as the pace lets it, the law climbs back, and past
    // the rate it was cut from.
    let mut now = secs(2.3);
    for _ in 0..1_000 {
        let (slot, _) = pacer.take_slot(now, ms(0), Duration::MAX).unwrap();
        now = now.max(slot);
        pacer.on_sent(now);
    }
    let (later, _) = pacer.rate().unwrap();
    assert!(later > 40.0, "{later} at {now:?}");
    // But never past twice what the client sent in the last second.
    let sent = pacer.lock().traffic.over(Duration::from_secs(1), now).sent as f64;
    assert!(later <= 2.0 * sent, "{later} {sent}");
}

#[test]
fn a_429_among_answers_let_through_since_the_cut_cuts_again_and_aims_lower() {
    // A learned pace cut at 1.2 s, its 429 asking for 1 s (a bucket's 20 ms rounded up).
    let pacer = Pacer::default();
    answers(&pacer, ms(0), 40, 60);
    for n in 0..40u64 {
        pacer.on_sent(ms(100 + n * 25));
        pacer.on_admitted(ms(100 + n * 25));
    }
    pacer.on_throttle(secs(1.2), secs(1.1), Some(secs(1.0)), None, ms(0));
    let (cut, _) = pacer.rate().unwrap();
    let first = pacer.lock().law.unwrap();
    // Requests sent at the new pace: some get through, one is rejected. The limiter is
    // open and rejects the excess: the limit is lower than the rate the law climbs back to.
    pacer.on_sent(secs(1.25));
    pacer.on_admitted(secs(1.26));
    let climbed = pacer.slot_of(Place::Window, secs(1.31), ms(0));
    assert_eq!(climbed, secs(1.31));
    let (before, _) = pacer.rate().unwrap();
    assert!(before >= cut, "the law climbs from the cut: {before} {cut}");
    pacer.on_throttle(secs(1.31), secs(1.3), Some(secs(1.0)), None, ms(0));
    let (again, _) = pacer.rate().unwrap();
    let second = pacer.lock().law.unwrap();
    // Cut again, and (CUBIC's fast convergence, RFC 9438 section 4.7) the law aims below
    // the rate it cut from: the limit is under the pace the first cut set.
    assert!(again <= BETA * before + 1e-9, "{again} after {before}");
    assert!(again < cut, "{again} after {cut}");
    let from = again / BETA;
    assert!(
        (second.w_max() - from * (1.0 + BETA) / 2.0).abs() < 1e-9,
        "{second:?} after {first:?}"
    );
    assert_eq!(second.epoch(), secs(1.31));
    // So it is back at the first target later than it would have been.
    let back = |law: Cubic| {
        (0..10_000u64)
            .map(|n| ms(1_310 + n))
            .find(|&t| law.rate_at(t) >= first.w_max())
            .unwrap()
    };
    assert!(
        back(second) > back(first) + secs(0.5),
        "{second:?} {first:?}"
    );
    // Rejections alone after that (a window closed whatever the pace) wait for the window
    // the last one asked for.
    pacer.on_throttle(secs(1.41), secs(1.4), Some(secs(1.0)), None, ms(0));
    assert_eq!(pacer.lock().law, Some(second));
    assert!(pacer.rate().unwrap().0 >= again);
}

#[test]
fn a_429_just_after_pacing_starts_cuts_from_the_pace_not_from_no_answers_yet() {
    // Learned at 0 (about 40 a second). The first paced request leaves at 150 ms and gets
    // through; the next, at 175 ms, is rejected at 210 ms: too fast, cut again. What got
    // through in the 60 ms since the first paced request left is no measure of the limiter
    // (it read 0 a second, and cut to the floor, the queue of 64 callers stretched past
    // their deadlines: 889 of 1,000 calls failed unsent on loopback).
    let pacer = Pacer::default();
    answers(&pacer, ms(0), 40, 60);
    pacer.on_sent(ms(150));
    pacer.on_admitted(ms(151));
    pacer.on_sent(ms(175));
    let (before, _) = pacer.rate().unwrap();
    pacer.on_throttle(ms(210), ms(175), Some(secs(1.0)), None, ms(0));
    let (after, _) = pacer.rate().unwrap();
    assert!(after < before, "{after} {before}");
    assert!(after >= BETA * before - 1e-9, "{after} after {before}");
}

#[test]
fn in_the_first_second_of_a_pace_a_cut_reads_the_share_let_through() {
    // Learned at 100 ms (40 a second); the first paced request leaves at 150 ms. Of the 25
    // answers from 200 ms, 5 got through: the limiter lets through a fifth of the pace,
    // and the cut goes to `β` of that. (Answers counted over less than a second read 1 a
    // second holding 1 from one or two of them: 235 of 300 calls were lost.)
    let pacer = Pacer::default();
    answers(&pacer, ms(100), 40, 60);
    pacer.on_sent(ms(150));
    for n in 0..5 {
        pacer.on_sent(ms(200 + n));
        pacer.on_admitted(ms(210 + n));
    }
    // Rejections of requests sent before the pace: no cut, but answers all the same.
    for n in 0..19 {
        pacer.on_throttle(ms(220 + n), ms(99), Some(secs(1.0)), None, ms(0));
    }
    let (before, _) = pacer.rate().unwrap();
    pacer.on_sent(ms(290));
    pacer.on_throttle(ms(300), ms(290), Some(secs(1.0)), None, ms(0));
    let (after, _) = pacer.rate().unwrap();
    let expected = BETA * before * 5.0 / 25.0;
    assert!(
        (after - expected).abs() < 0.1 * expected,
        "{after} after {before}"
    );
}

#[test]
fn requests_of_the_first_batch_still_going_out_start_the_pace_from_the_whole_batch() {
    // 20 of a batch answered (5 through, 15 rejected) before the rest of it asked to
    // leave: read from those 20 alone, the pace would start at 5 a second. The 44 late
    // ones are part of the load that overran the limiter.
    let pacer = Pacer::default();
    answers(&pacer, ms(0), 5, 15);
    let (first, _) = pacer.rate().unwrap();
    assert!((first - 5.0).abs() < 1e-9, "{first}");
    let places: Vec<Place> = (0..44)
        .map(|_| pacer.take_slot(ms(5), ms(0), Duration::MAX).unwrap().1)
        .collect();
    let (rate, _) = pacer.rate().unwrap();
    // Counted up to as many again as were sent (the AWS SDKs' cap): 40, of which 15
    // were rejected: 25 a second.
    assert!((rate - 25.0).abs() < 0.5, "{rate}");
    // The queue goes from one interval of that pace after the last 429, in order.
    let late: Vec<Duration> = places
        .iter()
        .map(|p| pacer.slot_of(*p, ms(5), ms(0)))
        .collect();
    assert!(late[0] <= ms(5) + super::interval(rate), "{late:?}");
    assert!(late.windows(2).all(|p| p[0] < p[1]), "{late:?}");
    // Once a paced request has left, a later request is not part of the first batch.
    pacer.on_sent(late[0]);
    let _ = slots(&pacer, late[0], ms(0), 20);
    assert!((pacer.rate().unwrap().0 - rate).abs() < 1.0);
}

/// A pacer stating "5 per 1 second" since a 429 at 0, five requests sent from 1.0 s 10 ms
/// apart and let through, a sixth sent at 1.1 s rejected at 1.101 s, and the slot a
/// request ready then takes (the bucket's: one interval on).
fn stated_five_per_second_after_a_burst() -> (Pacer, RateLimitQuota, Duration) {
    let five = quota(5, 1);
    let pacer = Pacer::default();
    pacer.on_throttle(ms(0), ms(0), Some(secs(1.0)), Some(five), ms(0));
    for n in 0..5 {
        pacer.on_sent(ms(1000 + 10 * n));
        pacer.on_admitted(ms(1001 + 10 * n));
    }
    pacer.on_sent(ms(1100));
    pacer.on_throttle(ms(1101), ms(1100), Some(secs(1.0)), Some(five), ms(0));
    let (slot, _) = pacer.take_slot(ms(1101), ms(0), Duration::MAX).unwrap();
    assert_eq!(slot, ms(1101) + super::interval(5.0 * 0.98));
    (pacer, five, slot)
}

#[test]
fn a_stated_limiter_that_rejects_the_request_paced_after_its_429_is_paced_as_a_window() {
    let (pacer, five, slot) = stated_five_per_second_after_a_burst();
    // A request sent before the 429 came back is rejected too: that says nothing new.
    pacer.on_throttle(ms(1103), ms(1099), Some(secs(1.0)), Some(five), ms(0));
    let (next, _) = pacer.take_slot(ms(1103), ms(0), Duration::MAX).unwrap();
    assert!(
        next < ms(2000),
        "the bucket's pace, not the window: {next:?}"
    );
    // The request paced one interval after the 429 is rejected, nothing let through
    // since: a bucket refilling at the stated rate would have had its token. The limiter is
    // a window, full until the first of the five is a second old: nobody leaves before
    // then (2% late), queued or put at the head.
    pacer.on_sent(slot);
    pacer.on_throttle(slot + ms(1), slot, Some(secs(1.0)), Some(five), ms(0));
    let open = ms(1000) + ms(1020);
    let (queued, place) = pacer.take_slot(slot + ms(2), ms(0), Duration::MAX).unwrap();
    assert_eq!(queued, open);
    assert_eq!(pacer.slot_of(place, slot + ms(3), ms(0)), open);
    assert!(pacer.front_slot(slot + ms(3), slot + ms(3)).0 >= open);
    // As the window slides, the next room opens when the second of the five is a window
    // old; the rejected ones took no room.
    assert_eq!(pacer.slot_of(Place::Window, open, ms(0)), open);
    pacer.on_sent(open);
    assert_eq!(
        pacer.slot_of(Place::Window, open, ms(0)),
        ms(1010) + ms(1020)
    );
    // A new statement is a new limiter: a bucket again until it shows otherwise.
    pacer.on_throttle(
        secs(2.1),
        secs(2.1),
        Some(secs(1.0)),
        Some(quota(10, 1)),
        ms(0),
    );
    assert_eq!(pacer.slot_of(Place::Window, secs(2.1), ms(0)), secs(2.1));
}

#[test]
fn a_stated_bucket_that_lets_the_paced_request_through_stays_a_bucket() {
    let (pacer, five, slot) = stated_five_per_second_after_a_burst();
    pacer.on_sent(slot);
    pacer.on_admitted(slot + ms(1));
    // Rejections later, one interval apart, each after an answer let through: the bucket
    // is empty each time, never a window.
    let interval = super::interval(5.0 * 0.98);
    let mut at = slot + interval;
    for _ in 0..3 {
        pacer.on_sent(at);
        pacer.on_throttle(at + ms(1), at, Some(secs(1.0)), Some(five), ms(0));
        let next = at + ms(1) + interval;
        assert_eq!(
            pacer.take_slot(at + ms(1), ms(0), Duration::MAX).unwrap().0,
            next
        );
        pacer.on_sent(next);
        pacer.on_admitted(next + ms(1));
        at = next + interval;
    }
}

#[test]
fn a_quiet_minute_with_nobody_waiting_ends_pacing() {
    let pacer = Pacer::default();
    pacer.on_throttle(ms(0), ms(0), Some(secs(1.0)), Some(quota(10, 1)), ms(0));
    assert!(pacer.is_active());
    // Thirty requests at 59.9 s fill the queue for about two seconds: at 60.5 s, a minute
    // after the 429, requests still wait, and the pace stays.
    let queued = slots(&pacer, secs(59.9), ms(0), 30);
    assert!(queued[29] > secs(61.0), "{queued:?}");
    let waiting = pacer.take_slot(secs(60.5), ms(0), Duration::MAX).unwrap();
    assert!(matches!(waiting.1, Place::Ticket(_)) && pacer.is_active());
    // Once the queue is empty, it goes.
    let (slot, place) = pacer.take_slot(secs(70.0), ms(0), Duration::MAX).unwrap();
    assert_eq!((slot, place), (secs(70.0), Place::Window));
    assert!(!pacer.is_active());
    assert_eq!(pacer.rate(), None);
}

#[test]
fn a_statement_on_a_success_changes_a_stated_pace_but_starts_none() {
    let pacer = Pacer::default();
    pacer.on_statement(ms(0), quota(5, 1));
    assert!(!pacer.is_active());
    pacer.on_throttle(ms(0), ms(0), None, Some(quota(5, 1)), ms(0));
    pacer.on_statement(ms(100), quota(20, 1));
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Stated);
    assert!(
        (rate - 20.0 * 0.98).abs() < 1e-9,
        "a rise is followed: {rate}"
    );
}

#[test]
fn a_rejected_request_put_at_the_head_moves_the_queue_back_one_slot() {
    let pacer = Pacer::default();
    pacer.on_throttle(ms(0), ms(0), None, Some(quota(10, 1)), ms(0));
    let interval = super::interval(9.8);
    let tickets: Vec<(Duration, Place)> = (0..5)
        .map(|_| pacer.take_slot(ms(0), ms(0), Duration::MAX).unwrap())
        .collect();
    // At 150 ms the first ticket has gone; a request rejected earlier is ready.
    let (front, place) = pacer.front_slot(ms(150), ms(150));
    assert!(matches!(place, Place::Front(_)));
    assert_eq!(front, tickets[1].0, "the head's slot");
    let moved: Vec<Duration> = tickets[1..]
        .iter()
        .map(|(_, place)| pacer.slot_of(*place, ms(150), ms(0)))
        .collect();
    for (n, slot) in moved.iter().enumerate() {
        assert_eq!(*slot, tickets[n + 1].0 + interval, "{moved:?}");
    }
    assert_eq!(pacer.slot_of(place, ms(150), ms(0)), front);
    // A later request queues behind them all.
    let late = pacer.take_slot(ms(150), ms(0), Duration::MAX).unwrap().0;
    assert_eq!(late, moved[3] + interval);
}

#[test]
fn a_place_at_the_head_whose_slot_passed_while_its_request_slept_leaves_at_once() {
    let pacer = Pacer::default();
    pacer.on_throttle(ms(0), ms(0), None, Some(quota(10, 1)), ms(0));
    let _queued = slots(&pacer, ms(0), ms(0), 5);
    let (front, place) = pacer.front_slot(ms(150), ms(150));
    assert!(matches!(place, Place::Front(_)));
    // Its request wakes a millisecond late, just after the queue was re-spaced from its
    // head (another 429): the place has been passed. It is due now, not sent to the back
    // of the queue (where, with the pace re-spaced at every call, it lost its turn again
    // and again).
    let late = front + ms(1);
    pacer.on_throttle(late, ms(100), None, Some(quota(10, 1)), ms(0));
    assert_eq!(pacer.slot_of(place, late, ms(0)), late);
}

#[test]
fn a_cut_respaces_the_queue_from_its_head_in_the_same_order() {
    let pacer = Pacer::default();
    answers(&pacer, ms(0), 30, 40);
    // A paced request has left: the requests below are not part of the first batch.
    pacer.on_sent(ms(5));
    let before: Vec<(Duration, Place)> = (0..100)
        .map(|_| pacer.take_slot(ms(10), ms(0), Duration::MAX).unwrap())
        .collect();
    pacer.on_throttle(secs(1.5), secs(1.5), Some(secs(1.0)), None, ms(0));
    let after: Vec<Duration> = before
        .iter()
        .map(|(_, place)| pacer.slot_of(*place, secs(1.5), ms(0)))
        .collect();
    let waiting: Vec<Duration> = after.into_iter().filter(|s| *s > secs(1.5)).collect();
    assert!(waiting.len() > 10, "{waiting:?}");
    assert!(waiting.windows(2).all(|p| p[0] < p[1]), "{waiting:?}");
    // Spaced at the new, slower pace from the rejection.
    let (rate, _) = pacer.rate().unwrap();
    let gap = waiting[1] - waiting[0];
    assert_eq!(gap, super::interval(rate), "{waiting:?}");
}

#[test]
fn absurd_times_never_panic() {
    let pacer = Pacer::default();
    let far = Duration::MAX;
    pacer.on_sent(far);
    pacer.on_admitted(far);
    pacer.on_throttle(far, far, Some(far), Some(quota(1, 86_400)), far);
    pacer.on_throttle(ms(0), far, None, None, ms(0));
    let _ = pacer.take_slot(far, far, far);
    let _ = pacer.front_slot(far, far);
    let _ = pacer.slot_of(Place::Ticket(u64::MAX), far, far);
    let _ = pacer.slot_of(Place::Front(u64::MAX), ms(0), ms(0));
    pacer.on_statement(far, quota(1, 1));
}

#[test]
fn an_inactive_pacer_refuses_a_slot_at_the_deadline_itself() {
    // The deadline is exclusive: a request that could leave only at its deadline has none
    // of its time left to be answered in.
    let pacer = Pacer::default();
    assert!(!pacer.is_active());
    assert_eq!(pacer.take_slot(ms(5), ms(5), ms(5)), Err(ms(5)));
    assert_eq!(pacer.take_slot(ms(5), ms(7), ms(6)), Err(ms(7)));
    assert_eq!(
        pacer.take_slot(ms(5), ms(5), ms(6)),
        Ok((ms(5), Place::Window))
    );
}

#[test]
fn a_statement_to_an_inactive_partition_leaves_nothing_behind() {
    let pacer = Pacer::default();
    pacer.on_statement(ms(0), quota(5, 1));
    // A lone unstated 429 later is one answer: no verdict, so no pace.
    pacer.on_sent(ms(10));
    pacer.on_throttle(ms(20), ms(10), Some(secs(1.0)), None, ms(0));
    assert!(!pacer.is_active());
}

#[test]
fn exactly_k_times_the_admitted_is_not_yet_an_overrun() {
    let pacer = Pacer::default();
    // 20 answers, 10 admitted: answered is K times admitted, not more.
    answers(&pacer, ms(0), 10, 10);
    assert!(!pacer.is_active());
    answers(&pacer, ms(1), 0, 1);
    assert!(pacer.is_active());
}

#[test]
fn a_learned_pace_starts_at_beta_of_what_was_sent_when_more_is_still_unanswered() {
    let pacer = Pacer::default();
    for _ in 0..100 {
        pacer.on_sent(ms(0));
    }
    for _ in 0..5 {
        pacer.on_admitted(ms(1));
    }
    // The 15th rejection is the 20th answer: pacing starts with 85 of the 100 sent not
    // rejected (yet), so β of the 100 sent is the lower: 70 a second.
    for _ in 0..15 {
        pacer.on_throttle(ms(2), ms(0), Some(secs(1.0)), None, ms(0));
    }
    let (rate, source) = pacer.rate().unwrap();
    assert_eq!(source, PaceSource::Learned);
    assert!((rate - 70.0).abs() < 1e-6, "{rate}");
}

#[test]
fn a_stated_window_longer_than_half_a_minute_is_kept_for_two_windows() {
    let pacer = Pacer::default();
    pacer.on_throttle(
        ms(0),
        ms(0),
        Some(secs(60.0)),
        Some(quota(100, 60)),
        secs(60.0),
    );
    // 90 s without a 429 and nobody waiting: more than a minute, less than two windows.
    pacer.take_slot(secs(90.0), ms(0), Duration::MAX).unwrap();
    assert!(pacer.is_active());
    pacer.take_slot(secs(120.5), ms(0), Duration::MAX).unwrap();
    assert!(!pacer.is_active());
}

#[test]
fn pacing_ends_only_once_the_quiet_minute_has_passed() {
    let pacer = Pacer::default();
    pacer.on_throttle(ms(0), ms(0), Some(secs(1.0)), Some(quota(10, 1)), ms(0));
    pacer.take_slot(QUIET, ms(0), Duration::MAX).unwrap();
    assert!(pacer.is_active(), "at exactly a minute");
    pacer
        .take_slot(QUIET + Duration::from_nanos(1), ms(0), Duration::MAX)
        .unwrap();
    assert!(!pacer.is_active(), "just after it");
}

/// Sends as fast as the pace lets it from `from` to `until`, everything admitted; the rate
/// in force at each send.
fn send_paced(pacer: &Pacer, from: Duration, until: Duration) -> Vec<(Duration, f64)> {
    let mut now = from;
    let mut rates = Vec::new();
    while now < until {
        let (slot, _) = pacer.take_slot(now, ms(0), Duration::MAX).unwrap();
        now = now.max(slot).max(now + ms(1));
        pacer.on_sent(now);
        pacer.on_admitted(now);
        rates.push((now, pacer.rate().unwrap().0));
    }
    rates
}

#[test]
fn a_stated_pace_holds_for_its_probe_interval_then_probes_above() {
    let pacer = Pacer::default();
    pacer.on_throttle(ms(50), ms(0), Some(ms(100)), Some(quota(10, 1)), ms(0));
    let stated = 10.0 * (1.0 - MARGIN);
    // 100 intervals of 9.8 a second: probing from about 10.25 s after the 429.
    let rates = send_paced(&pacer, ms(50), secs(12.0));
    for (at, rate) in rates.iter().filter(|(at, _)| *at <= secs(10.0)) {
        assert!((rate - stated).abs() < 1e-9, "{rate} at {at:?}");
    }
    let (at, last) = rates.last().unwrap();
    assert!(*last > stated + 0.5, "{last} at {at:?}");
}

#[test]
fn a_429_restating_the_pace_for_a_request_sent_before_it_does_not_restart_it() {
    let pacer = Pacer::default();
    pacer.on_throttle(ms(50), ms(0), Some(ms(100)), Some(quota(10, 1)), ms(0));
    let stated = 10.0 * (1.0 - MARGIN);
    send_paced(&pacer, ms(50), secs(5.0));
    // A late 429 for a request sent before the pace began: the same limit, nothing new.
    pacer.on_throttle(secs(5.0), ms(40), Some(ms(100)), Some(quota(10, 1)), ms(0));
    let rates = send_paced(&pacer, secs(5.0), secs(12.0));
    let (at, last) = rates.last().unwrap();
    assert!(
        *last > stated + 0.5,
        "the probe still starts on time: {last} at {at:?}"
    );
}

#[test]
fn a_merged_partition_brings_its_pace_only_to_one_without_a_pace() {
    let ten = Pacer::default();
    ten.on_throttle(ms(0), ms(0), None, Some(quota(10, 1)), ms(0));
    let fifty = || {
        let pacer = Pacer::default();
        pacer.on_throttle(ms(0), ms(0), None, Some(quota(50, 1)), ms(0));
        pacer
    };
    // An unpaced partition takes the merged one's pace.
    let idle = Pacer::default();
    idle.absorb(&ten);
    assert_eq!(idle.rate(), ten.rate());
    // A paced one keeps its own.
    let own = fifty();
    own.absorb(&ten);
    assert_eq!(own.rate(), fifty().rate());
    // An unpaced partition merged changes nothing; two unpaced make an unpaced one.
    own.absorb(&Pacer::default());
    assert_eq!(own.rate(), fifty().rate());
    let nothing = Pacer::default();
    nothing.absorb(&Pacer::default());
    assert!(!nothing.is_active());
    // A pacer merged with itself is unchanged (and does not deadlock).
    own.absorb(&own);
    assert_eq!(own.rate(), fifty().rate());
}

#[path = "pacer_properties.rs"]
mod properties;

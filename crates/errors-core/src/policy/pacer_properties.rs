//! The pacer's property tests: whatever happens, slots keep their order, spacing and
//! deadlines, and a stated limit (a bucket or a window) is never exceeded.

use proptest::prelude::*;

use super::*;

/// What happens to a pacer, in order.
#[derive(Debug, Clone)]
enum Event {
    /// Time passes.
    Wait(u64),
    /// A request takes a slot, with a deadline this far ahead.
    Take(u64),
    /// A request is sent and gets through.
    Through,
    /// A 429, stating "n per 1 s" or nothing, asking for this many ms.
    Throttle(Option<u64>, u64),
    /// A rejected request asks for the head of the queue.
    Front,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (0u64..400).prop_map(Event::Wait),
        (1u64..120_000).prop_map(Event::Take),
        Just(Event::Through),
        (proptest::option::of(1u64..200), 0u64..3_000).prop_map(|(n, w)| Event::Throttle(n, w)),
        Just(Event::Front),
    ]
}

proptest! {
    /// Whatever happens: slots are never earlier than asked, never at or past a deadline,
    /// handed out in order to requests ready in order, and while the pace stays the same
    /// never closer together than its interval (less its burst).
    #[test]
    fn slots_keep_order_spacing_and_deadlines(events in proptest::collection::vec(event(), 1..300)) {
        let pacer = Pacer::default();
        let mut now = Duration::ZERO;
        let mut last_slot = Duration::ZERO;
        let mut last_rate = None;
        for event in events {
            match event {
                Event::Wait(n) => now += ms(n),
                Event::Take(deadline) => {
                    let before = now + ms(deadline);
                    match pacer.take_slot(now, now, before) {
                        Ok((slot, place)) => {
                            prop_assert!(slot >= now && slot < before);
                            if let Place::Ticket(_) = place {
                                let rate = pacer.rate();
                                if rate == last_rate {
                                    prop_assert!(slot >= last_slot, "{slot:?} after {last_slot:?}");
                                }
                                last_rate = rate;
                                last_slot = slot;
                            }
                        }
                        Err(slot) => prop_assert!(slot >= before),
                    }
                }
                Event::Through => {
                    pacer.on_sent(now);
                    pacer.on_admitted(now);
                }
                Event::Throttle(stated, wait) => {
                    pacer.on_sent(now);
                    let quota = stated.and_then(|n| RateLimitQuota::new(n, Duration::from_secs(1)));
                    pacer.on_throttle(now, now, Some(ms(wait)), quota, now);
                    last_rate = None;
                }
                Event::Front => {
                    let (slot, _) = pacer.front_slot(now, now);
                    prop_assert!(slot >= now);
                }
            }
            if let Some((rate, _)) = pacer.rate() {
                prop_assert!(rate.is_finite() && rate >= MIN_RATE * 0.98 - 1e-9, "{rate}");
            }
        }
    }

    /// The GCRA queue never lets more through in any span than the burst plus the span's
    /// worth of the rate, for a stated limit.
    #[test]
    fn a_stated_pace_never_exceeds_its_burst_plus_its_rate(
        limit in 1u64..100,
        window in 1u64..60,
        readies in proptest::collection::vec(0u64..5_000, 1..400),
    ) {
        let pacer = Pacer::default();
        let stated = quota(limit, window);
        pacer.on_throttle(ms(0), ms(0), None, Some(stated), ms(0));
        let mut readies = readies;
        readies.sort_unstable();
        let mut taken: Vec<Duration> = readies
            .iter()
            .map(|r| pacer.take_slot(ms(*r), ms(0), Duration::MAX).unwrap().0)
            .collect();
        taken.sort();
        let rate = stated.per_second() * 0.98;
        for (i, start) in taken.iter().enumerate() {
            for (j, end) in taken.iter().enumerate().skip(i) {
                let span = end.saturating_sub(*start).as_secs_f64();
                let allowed = limit as f64 + span * rate + 1e-6;
                prop_assert!(((j - i + 1) as f64) <= allowed + 1.0, "{} in {span} s", j - i + 1);
            }
        }
    }
}

proptest! {
    /// Once a stated limiter showed it is a window, no more than its count leaves in any
    /// window: requests take slots as they become ready, sleep to them and ask again on
    /// waking (as the drivers do), and leave only when their slot has come.
    #[test]
    fn a_stated_window_never_lets_more_than_its_count_through_in_any_window(
        limit in 1u64..40,
        window_secs in 1u64..5,
        mut readies in proptest::collection::vec(0u64..20_000, 1..200),
    ) {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;

        let stated = quota(limit, window_secs);
        let window = Duration::from_secs(window_secs);
        let interval = super::interval(stated_rate(stated));
        let pacer = Pacer::default();
        pacer.on_throttle(ms(0), ms(0), Some(secs(1.0)), Some(stated), ms(0));
        // A whole window's count through at 1 ms, then a 429, then the request paced an
        // interval after it rejected too: a window.
        let mut sent = vec![ms(1); limit as usize];
        for &at in &sent {
            pacer.on_sent(at);
            pacer.on_admitted(at);
        }
        pacer.on_sent(ms(2));
        pacer.on_throttle(ms(3), ms(2), Some(secs(1.0)), Some(stated), ms(0));
        let paced = ms(3) + interval;
        pacer.on_sent(paced);
        pacer.on_throttle(paced, paced, Some(secs(1.0)), Some(stated), ms(0));
        readies.sort_unstable();
        // (when, request): a request ready, or woken at its slot.
        let mut wakes: BinaryHeap<Reverse<(Duration, usize)>> = readies
            .iter()
            .enumerate()
            .map(|(n, &ready)| Reverse((paced + ms(ready), n)))
            .collect();
        let mut places: Vec<Option<Place>> = vec![None; readies.len()];
        let mut steps = 0;
        while let Some(Reverse((now, n))) = wakes.pop() {
            steps += 1;
            prop_assert!(steps < 100_000, "the requests must all leave");
            let slot = match places[n] {
                None => {
                    let (slot, place) = pacer.take_slot(now, ms(0), Duration::MAX).unwrap();
                    places[n] = Some(place);
                    slot
                }
                Some(place) => pacer.slot_of(place, now, ms(0)),
            };
            if slot <= now {
                pacer.on_sent(now);
                pacer.on_admitted(now);
                sent.push(now);
            } else {
                wakes.push(Reverse((slot, n)));
            }
        }
        sent.sort_unstable();
        let limit = limit as usize;
        for (i, &at) in sent.iter().enumerate().skip(limit) {
            prop_assert!(
                at >= sent[i - limit] + window,
                "{} sent in the window from {:?} to {at:?}",
                limit + 1,
                sent[i - limit]
            );
        }
    }
}

//! The paced queue of one partition: GCRA's virtual scheduling, FIFO, with a head for the
//! requests the limiter rejected after their turn.

use std::collections::VecDeque;
use std::time::Duration;

/// The most requests that can be put at the head of the queue at once (see
/// [`Pacer::front_slot`]); past it a rejected request queues at the back.
const MAX_FRONT: usize = 1024;

/// The queue (GCRA's virtual scheduling, FIFO): elements leave one interval apart, in rank
/// order, the element of rank `r` at `tat + r * interval - tolerance` (`tat`, GCRA's
/// theoretical arrival time, of the head). The elements are the tickets `first..next`, in order, and the
/// requests put at the head of the queue after a rejection (`inserted`, in rank order, each
/// just before the ticket it names). An element before the head is due. Every change of pace re-spaces the queue from its
/// head, so order is kept.
#[derive(Debug, Clone)]
pub(super) struct Queue {
    first: u64,
    tat: Duration,
    next: u64,
    interval: Duration,
    /// GCRA's tolerance: how far ahead of its time an element may leave when the queue is
    /// idle (the burst, less one, times the interval).
    tolerance: Duration,
    /// Inserted elements in rank order: (the ticket each goes just before, its id).
    inserted: VecDeque<(u64, u64)>,
    next_id: u64,
    /// Nothing leaves before this (the server's window is closed until then): until it,
    /// the head is the first element, whatever the burst's tolerance puts before it.
    held_until: Duration,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            first: 0,
            tat: Duration::ZERO,
            next: 0,
            interval: Duration::from_micros(1),
            tolerance: Duration::ZERO,
            inserted: VecDeque::new(),
            next_id: 0,
            held_until: Duration::ZERO,
        }
    }
}

/// The element at some rank of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    /// Ticket `.0`; `.1` inserted elements come before it.
    Ticket(u64, usize),
    /// The inserted element at this index.
    Inserted(usize),
}

impl Queue {
    /// Whether a ticket waits past `now`.
    pub(super) fn waiting_at(&self, now: Duration) -> bool {
        self.time(self.next) > now
    }

    /// Whether the queue is spaced at `interval` with `tolerance`.
    pub(super) fn spaced(&self, interval: Duration, tolerance: Duration) -> bool {
        self.interval == interval && self.tolerance == tolerance
    }

    /// The time of the element at `rank`.
    pub(super) fn at_rank(&self, rank: u64) -> Duration {
        let steps = u32::try_from(rank).unwrap_or(u32::MAX);
        self.tat
            .saturating_add(self.interval.saturating_mul(steps))
            .saturating_sub(self.tolerance)
    }

    /// When ticket `n` may leave.
    pub(super) fn time(&self, n: u64) -> Duration {
        if n < self.first {
            return Duration::ZERO;
        }
        let ahead = self
            .inserted
            .iter()
            .take_while(|&&(before, _)| before <= n)
            .count();
        self.at_rank(n - self.first + ahead as u64)
    }

    /// When the inserted element `id` may leave: at once when the queue has gone past it,
    /// as a ticket before the head. (Its slot passed while its request slept towards it: a
    /// timer wakes a little late, and every change of pace re-spaces the queue from the
    /// head at that moment. Sent to the back instead, a request woken a millisecond late
    /// lost its turn, and with the pace moving at every call none of the requests put at
    /// the head was ever sent: on loopback a partition sent nothing for a second.)
    pub(super) fn inserted_time(&self, id: u64) -> Duration {
        match self.inserted.iter().position(|&(_, i)| i == id) {
            Some(index) => self.at_rank(self.inserted[index].0 - self.first + index as u64),
            None => Duration::ZERO,
        }
    }

    /// Nothing leaves before `opens` (the server's window is closed until then): the
    /// places the burst's tolerance puts before it are not gone, and the queue re-spaced
    /// before it keeps them. (Counted as gone, the other `429`s of the burst that closed
    /// the window, each re-spacing the queue over a few milliseconds, let one or two more
    /// leave at the opening than the window holds, each rejected, window after window: a
    /// fixed window of 100 per 5 s cost 1.2-1.3 requests per call on loopback.)
    pub(super) fn hold_until(&mut self, opens: Duration) {
        self.held_until = self.held_until.max(opens);
    }

    /// The rank of the first element that may not leave before `at`.
    pub(super) fn head_rank(&self, at: Duration) -> u64 {
        if at < self.held_until {
            return 0;
        }
        let at = at.saturating_add(self.tolerance);
        if at < self.tat {
            return 0;
        }
        let due = (at - self.tat).as_nanos() / self.interval.as_nanos();
        u64::try_from(due + 1).unwrap_or(u64::MAX)
    }

    /// The rank of the first element that may not leave before `at` or leaves at `at`.
    fn first_rank_from(&self, at: Duration) -> u64 {
        let at = at.saturating_add(self.tolerance);
        if at <= self.tat {
            return 0;
        }
        let ahead = (at - self.tat)
            .as_nanos()
            .div_ceil(self.interval.as_nanos());
        u64::try_from(ahead).unwrap_or(u64::MAX)
    }

    /// The element at `rank` (a ticket at or past `next` when the queue is shorter).
    fn element(&self, rank: u64) -> Element {
        let (mut seen, mut ticket) = (0u64, self.first);
        for (index, &(before, _)) in self.inserted.iter().enumerate() {
            let tickets = before.saturating_sub(ticket);
            if seen + tickets > rank {
                return Element::Ticket(ticket + (rank - seen), index);
            }
            seen += tickets;
            ticket = ticket.max(before);
            if seen == rank {
                return Element::Inserted(index);
            }
            seen += 1;
        }
        Element::Ticket(ticket + (rank - seen), self.inserted.len())
    }

    /// Re-spaces the elements waiting at `now` at `interval`, the head's theoretical arrival
    /// time `tat`.
    pub(super) fn restart(
        &mut self,
        now: Duration,
        tat: Duration,
        interval: Duration,
        tolerance: Duration,
    ) {
        let (first, before_head) = match self.element(self.head_rank(now)) {
            Element::Ticket(ticket, index) => (ticket.min(self.next), index),
            Element::Inserted(index) => (self.inserted[index].0, index),
        };
        self.inserted.drain(..before_head);
        self.first = first;
        self.tat = tat;
        self.interval = interval;
        self.tolerance = tolerance;
    }

    /// Takes the next ticket for a request ready at `ready`, unless its slot is at or past
    /// `before`.
    pub(super) fn take(
        &mut self,
        ready: Duration,
        before: Duration,
    ) -> Result<(Duration, u64), Duration> {
        let n = self.next;
        let due = self.time(n);
        let slot = ready.max(due);
        if slot >= before {
            return Err(slot);
        }
        self.next += 1;
        // GCRA: the next element's theoretical arrival time is one interval after this
        // one's, or after `ready` when the queue was idle past its burst.
        if ready > due.saturating_add(self.tolerance) {
            self.first = self.next;
            self.tat = ready.saturating_add(self.interval);
            self.inserted.clear();
        }
        Ok((slot, n))
    }

    /// Puts a request ready at `ready` ahead of every ticket that leaves after it (behind
    /// the requests put there before it): it takes the slot of the first of them, and they
    /// move back one slot. Its slot and id, or `None` when nothing waits past `ready` (or
    /// too many were put at the head).
    pub(super) fn insert(&mut self, ready: Duration) -> Option<(Duration, u64)> {
        let mut rank = self.first_rank_from(ready);
        let (before, mut index) = match self.element(rank) {
            Element::Ticket(ticket, _) if ticket >= self.next => return None,
            Element::Ticket(ticket, index) => (ticket, index),
            Element::Inserted(index) => (self.inserted[index].0, index),
        };
        while self.inserted.get(index).is_some_and(|&(b, _)| b == before) {
            index += 1;
            rank += 1;
        }
        if self.inserted.len() >= MAX_FRONT {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.inserted.insert(index, (before, id));
        Some((self.at_rank(rank).max(ready), id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A queue 100 ms apart, no burst, its head at `tat`, with `n` tickets taken at 0.
    fn queue(tat: Duration, n: usize) -> Queue {
        let mut queue = Queue::default();
        queue.restart(Duration::ZERO, tat, ms(100), Duration::ZERO);
        for _ in 0..n {
            queue.take(Duration::ZERO, Duration::MAX).unwrap();
        }
        queue
    }

    #[test]
    fn the_head_is_the_first_element_that_may_not_leave_yet() {
        let queue = queue(ms(1000), 0);
        assert_eq!(queue.head_rank(ms(999)), 0);
        // At its time, the head may leave: the next one is the head.
        assert_eq!(queue.head_rank(ms(1000)), 1);
        assert_eq!(queue.head_rank(ms(1150)), 2);
    }

    #[test]
    fn before_a_held_opening_the_burst_is_all_still_queued() {
        // A 429 at 4.8 s behind a window that opens at 5 s: a burst of 10, 100 ms apart,
        // from the opening. Its places lie from 4.1 s (the tolerance), so the ten requests
        // queued behind it all have the opening as their slot.
        let mut queue = Queue::default();
        queue.restart(ms(4_800), ms(5_000), ms(100), ms(900));
        queue.hold_until(ms(5_000));
        for n in 0..10 {
            assert_eq!(queue.take(ms(5_000), Duration::MAX), Ok((ms(5_000), n)));
        }
        assert_eq!(queue.head_rank(ms(4_850)), 0);
        // Another 429 of the same burst re-spaces the queue at 4.85 s: none of the ten has
        // left, so none is counted as gone, and the eleventh is one interval on.
        queue.restart(ms(4_850), ms(5_000), ms(100), ms(900));
        assert_eq!(queue.time(9), ms(5_000));
        assert_eq!(queue.take(ms(5_000), Duration::MAX), Ok((ms(5_100), 10)));
        // From the opening on, the head moves with the pace again.
        assert_eq!(queue.head_rank(ms(5_000)), 10);
    }

    #[test]
    fn a_ticket_waits_until_its_time_and_no_longer() {
        let queue = queue(Duration::ZERO, 3);
        // The next ticket would leave at 300 ms.
        assert!(queue.waiting_at(ms(299)));
        assert!(!queue.waiting_at(ms(300)));
    }

    #[test]
    fn inserted_elements_take_their_ranks_and_tickets_move_back() {
        let mut queue = queue(Duration::ZERO, 4);
        // Tickets 0..4 at 0, 100, 200, 300 ms. A rejected request ready at 150 ms goes
        // before ticket 2, one at 350 ms before ticket 3 (moved to 400 ms by the first).
        let (slot, first) = queue.insert(ms(150)).unwrap();
        assert_eq!(slot, ms(200));
        let (slot, second) = queue.insert(ms(350)).unwrap();
        assert_eq!(slot, ms(400));
        let ranks: Vec<Element> = (0..7).map(|rank| queue.element(rank)).collect();
        assert_eq!(
            ranks,
            [
                Element::Ticket(0, 0),
                Element::Ticket(1, 0),
                Element::Inserted(0),
                Element::Ticket(2, 1),
                Element::Inserted(1),
                Element::Ticket(3, 2),
                Element::Ticket(4, 2),
            ]
        );
        let times: Vec<Duration> = (0..5).map(|n| queue.time(n)).collect();
        assert_eq!(times, [ms(0), ms(100), ms(300), ms(500), ms(600)]);
        assert_eq!(queue.inserted_time(first), ms(200));
        assert_eq!(queue.inserted_time(second), ms(400));
    }

    #[test]
    fn a_ticket_taken_exactly_on_time_keeps_the_places_put_at_the_head() {
        let mut queue = queue(Duration::ZERO, 3);
        let (_, id) = queue.insert(ms(50)).unwrap();
        // Ticket 3 is due at 400 ms (behind the inserted one); taken then, the queue was
        // not idle: nothing is dropped.
        assert_eq!(queue.take(ms(400), Duration::MAX), Ok((ms(400), 3)));
        assert_eq!(queue.inserted_time(id), ms(100));
        // Taken later than its time, past the burst: the queue restarts from it, and the
        // element put at the head, passed, is due at once.
        assert_eq!(queue.take(ms(900), Duration::MAX), Ok((ms(900), 4)));
        assert_eq!(queue.inserted_time(id), Duration::ZERO);
        assert_eq!(queue.time(5), ms(1000));
    }
}

//! The partitions one client keeps: each a rate-limit window and a pacer, bounded in number,
//! and merged when their `429`s show that they share one limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{Pacer, RateLimitGate, RateLimitQuota};

/// The most partitions a client keeps besides its default one. A client talks to a few
/// dozen routes; a stream of URLs the folding does not recognise as one route (an id it
/// does not fold, an attacker choosing paths) must not grow memory without bound. A
/// partition costs about 2 KiB (the pacer's success counts) and up to some 6 KiB more
/// while a pace change is carried: 256 of them stay under 2 MiB. When all are kept, a new
/// route evicts the least recently used idle partition (no request in flight on it); when
/// none is idle, the request uses the client's default partition.
pub const MAX_PARTITIONS: usize = 256;

/// How close together `429`s that state no limit must come on two partitions, neither of
/// which got an answer through after the earlier one, for the two to be taken for one
/// limiter. A shared
/// limiter, once spent, rejects whatever route comes next, so its `429`s on every busy
/// route arrive within one batch's round trips (tens of milliseconds); a second is the
/// shortest wait an integer `Retry-After` can ask, so two `429`s further apart belong to
/// different windows. An unlimited route never gets a `429` and so is never merged.
const MERGE_INTERVAL: Duration = Duration::from_secs(1);

/// Source of [`Limiter`] ids: a request holding a slot of one limiter must not mistake
/// another's schedule numbers for its own after a merge.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The pacing state several partitions may share once merged.
#[derive(Debug)]
pub(crate) struct Limiter {
    id: u64,
    pub(crate) gate: RateLimitGate,
    pub(crate) pacer: Pacer,
}

impl Limiter {
    fn new() -> Arc<Limiter> {
        Arc::new(Limiter {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            gate: RateLimitGate::default(),
            pacer: Pacer::default(),
        })
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

/// The rate-limit window and pacer of one partition (shared with the partitions merged
/// with it). See [`ClientRetryState::partition`](crate::retry::ClientRetryState::partition).
#[derive(Debug, Clone)]
pub struct Partition {
    limiter: Arc<Limiter>,
}

impl Partition {
    /// The partition's rate-limit window.
    pub fn gate(&self) -> &RateLimitGate {
        &self.limiter.gate
    }

    /// The partition's pacer.
    pub fn pacer(&self) -> &Pacer {
        &self.limiter.pacer
    }

    /// Whether both partitions use one window and pacer: they are one partition, or were
    /// merged because their `429`s showed one limit.
    pub fn shares_limiter_with(&self, other: &Partition) -> bool {
        Arc::ptr_eq(&self.limiter, &other.limiter)
    }
}

/// One partition as the table and the requests on it hold it.
#[derive(Debug)]
pub(crate) struct Entry {
    state: Mutex<EntryState>,
}

#[derive(Debug)]
struct EntryState {
    /// Its own, or the one it was merged into.
    limiter: Arc<Limiter>,
    /// When its last `429` arrived, and the limit that one stated.
    throttled: Option<(Duration, Option<RateLimitQuota>)>,
    /// When its last answer that got past the limiter arrived.
    last_admitted: Option<Duration>,
}

impl Entry {
    fn new() -> Arc<Entry> {
        Arc::new(Entry {
            state: Mutex::new(EntryState {
                limiter: Limiter::new(),
                throttled: None,
                last_admitted: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, EntryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pacing state in force (it changes when the partition is merged).
    pub(crate) fn limiter(&self) -> Arc<Limiter> {
        Arc::clone(&self.lock().limiter)
    }

    /// An answer that got past the limiter arrived at `now`.
    pub(crate) fn on_admitted(&self, now: Duration) {
        let mut state = self.lock();
        state.last_admitted = Some(state.last_admitted.map_or(now, |at| at.max(now)));
    }
}

/// The partitions of one client: the default one, and up to [`MAX_PARTITIONS`] by key.
#[derive(Debug)]
pub(crate) struct Partitions {
    default: Arc<Entry>,
    /// The default partition's pacing state, which it never trades for another's (it is
    /// never merged), so that it can be lent out.
    default_limiter: Arc<Limiter>,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    slots: HashMap<String, Slot>,
    /// Bumped at every lookup: the order of use, for eviction.
    tick: u64,
}

#[derive(Debug)]
struct Slot {
    entry: Arc<Entry>,
    last_used: u64,
}

impl Default for Partitions {
    fn default() -> Self {
        let default = Entry::new();
        Partitions {
            default_limiter: default.limiter(),
            default,
            table: Mutex::default(),
        }
    }
}

impl Partitions {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The default partition's pacing state.
    pub(crate) fn default_limiter(&self) -> &Limiter {
        &self.default_limiter
    }

    /// The partition of `key` for a request starting now, made if new (the empty key is
    /// the default partition). The request holds it until it ends: a held partition is
    /// never evicted.
    pub(crate) fn entry(&self, key: &str) -> Arc<Entry> {
        if key.is_empty() {
            return Arc::clone(&self.default);
        }
        let mut table = self.lock();
        table.tick = table.tick.wrapping_add(1);
        let tick = table.tick;
        if let Some(slot) = table.slots.get_mut(key) {
            slot.last_used = tick;
            return Arc::clone(&slot.entry);
        }
        if table.slots.len() >= MAX_PARTITIONS {
            // Idle: only the table holds it (new holders clone it under this lock).
            let victim = table
                .slots
                .iter()
                .filter(|(_, slot)| Arc::strong_count(&slot.entry) == 1)
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(key, _)| key.clone());
            match victim {
                Some(victim) => {
                    table.slots.remove(&victim);
                }
                None => return Arc::clone(&self.default),
            }
        }
        let entry = Entry::new();
        table.slots.insert(
            key.to_owned(),
            Slot {
                entry: Arc::clone(&entry),
                last_used: tick,
            },
        );
        entry
    }

    /// The partition of `key`, if kept.
    pub(crate) fn get(&self, key: &str) -> Option<Partition> {
        let limiter = if key.is_empty() {
            self.default.limiter()
        } else {
            self.lock().slots.get(key)?.entry.limiter()
        };
        Some(Partition { limiter })
    }

    /// How many partitions are kept besides the default one.
    pub(crate) fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// The longest any partition's window stays closed after `now`.
    pub(crate) fn longest_hold(&self, now: Duration) -> Duration {
        let table = self.lock();
        table
            .slots
            .values()
            .map(|slot| slot.entry.limiter().gate.remaining(now))
            .fold(self.default_limiter.gate.remaining(now), Duration::max)
    }

    /// A `429` on `entry` at `now`, stating `quota` or not. Merges the partition with
    /// another whose `429`s show the same limiter, and returns the pacing state the `429`
    /// applies to.
    ///
    /// Two partitions share a limiter when their `429`s state the same quota (same limit
    /// and window) within one window of each other; or, when neither states one, when they
    /// come within [`MERGE_INTERVAL`] of each other and neither partition got an answer
    /// through after the earlier one (answers of one batch arriving at the same moment as
    /// it do not count: they were let through before). The merged partitions take the
    /// limiter of the one rejected first, its window closed at least as long as either's.
    pub(crate) fn on_throttle(
        &self,
        entry: &Arc<Entry>,
        now: Duration,
        quota: Option<RateLimitQuota>,
        merge: bool,
    ) -> Arc<Limiter> {
        // The table first, then entries: only a holder of the table's lock takes two
        // entries' locks at once, so no two threads wait on each other.
        let table = self.lock();
        let mut mine = entry.lock();
        mine.throttled = Some((now, quota));
        if !merge || Arc::ptr_eq(entry, &self.default) {
            return Arc::clone(&mine.limiter);
        }
        let target = table
            .slots
            .values()
            .filter(|slot| !Arc::ptr_eq(&slot.entry, entry))
            .find_map(|slot| {
                let other = slot.entry.lock();
                let (at, stated) = other.throttled?;
                let shared = !Arc::ptr_eq(&other.limiter, &mine.limiter)
                    && one_limit(
                        (now, quota, mine.last_admitted),
                        (at, stated, other.last_admitted),
                    );
                shared.then(|| Arc::clone(&other.limiter))
            });
        let Some(target) = target else {
            return Arc::clone(&mine.limiter);
        };
        let old = std::mem::replace(&mut mine.limiter, Arc::clone(&target));
        // Every partition merged with this one before follows it.
        for slot in table.slots.values() {
            if Arc::ptr_eq(&slot.entry, entry) {
                continue;
            }
            let mut other = slot.entry.lock();
            if Arc::ptr_eq(&other.limiter, &old) {
                other.limiter = Arc::clone(&target);
            }
        }
        target.gate.close_until(old.gate.open_at());
        target.pacer.absorb(&old.pacer);
        target
    }
}

/// Whether two `429`s (when, the quota stated, the partition's last answer that got
/// through) show one limiter (see [`Partitions::on_throttle`]).
fn one_limit(
    (at, quota, admitted): (Duration, Option<RateLimitQuota>, Option<Duration>),
    (other_at, other_quota, other_admitted): (Duration, Option<RateLimitQuota>, Option<Duration>),
) -> bool {
    let apart = at.abs_diff(other_at);
    match (quota, other_quota) {
        (Some(a), Some(b)) => a == b && apart <= a.window().max(MERGE_INTERVAL),
        (None, None) => {
            let earlier = at.min(other_at);
            apart <= MERGE_INTERVAL
                && admitted.is_none_or(|t| t <= earlier)
                && other_admitted.is_none_or(|t| t <= earlier)
        }
        // One stated a limit and the other did not: not known to be the same.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn quota(limit: u64, window: u64) -> Option<RateLimitQuota> {
        RateLimitQuota::new(limit, Duration::from_secs(window))
    }

    #[test]
    fn the_same_stated_quota_merges_partitions() {
        let partitions = Partitions::default();
        let (a, b, c) = (
            partitions.entry("/a"),
            partitions.entry("/b"),
            partitions.entry("/c"),
        );
        partitions.on_throttle(&a, secs(1.0), quota(100, 60), true);
        assert_ne!(a.limiter().id(), b.limiter().id());
        let merged = partitions.on_throttle(&b, secs(1.2), quota(100, 60), true);
        assert_eq!(merged.id(), a.limiter().id());
        assert_eq!(b.limiter().id(), a.limiter().id());
        // Another limit is another limiter.
        partitions.on_throttle(&c, secs(1.3), quota(10, 1), true);
        assert_ne!(c.limiter().id(), a.limiter().id());
        let (pa, pb) = (partitions.get("/a").unwrap(), partitions.get("/b").unwrap());
        assert!(pa.shares_limiter_with(&pb));
        assert!(!pa.shares_limiter_with(&partitions.get("/c").unwrap()));
    }

    #[test]
    fn a_merge_keeps_the_longer_window_and_moves_earlier_merges_along() {
        let partitions = Partitions::default();
        let (a, b, c) = (
            partitions.entry("/a"),
            partitions.entry("/b"),
            partitions.entry("/c"),
        );
        let d = partitions.entry("/d");
        // `/a` and `/d` share one limit, `/b` and `/c` another; then `/a` states the limit
        // of `/b` and `/c`: all four share one.
        partitions.on_throttle(&a, secs(0.0), quota(7, 1), true);
        partitions.on_throttle(&d, secs(0.1), quota(7, 1), true);
        assert_eq!(a.limiter().id(), d.limiter().id());
        a.limiter().gate.close_until(secs(5.0));
        partitions.on_throttle(&b, secs(10.0), quota(5, 1), true);
        partitions.on_throttle(&c, secs(10.1), quota(5, 1), true);
        b.limiter().gate.close_until(secs(20.0));
        assert_eq!(b.limiter().id(), c.limiter().id());
        let a_id = a.limiter().id();
        partitions.on_throttle(&a, secs(10.2), quota(5, 1), true);
        assert_eq!(a.limiter().id(), c.limiter().id());
        assert_eq!(d.limiter().id(), c.limiter().id());
        assert_ne!(a.limiter().id(), a_id);
        assert_eq!(a.limiter().gate.open_at(), secs(20.0));
    }

    #[test]
    fn unstated_429s_merge_only_close_together_and_with_nothing_through_between() {
        // Close together, nothing through: one limiter.
        let partitions = Partitions::default();
        let (a, b) = (partitions.entry("/a"), partitions.entry("/b"));
        partitions.on_throttle(&a, secs(1.0), None, true);
        partitions.on_throttle(&b, secs(1.5), None, true);
        assert_eq!(a.limiter().id(), b.limiter().id());

        // Too far apart.
        let partitions = Partitions::default();
        let (a, b) = (partitions.entry("/a"), partitions.entry("/b"));
        partitions.on_throttle(&a, secs(1.0), None, true);
        partitions.on_throttle(&b, secs(2.5), None, true);
        assert_ne!(a.limiter().id(), b.limiter().id());

        // `/b` got an answer through after `/a`'s 429: not held by the same limiter.
        let partitions = Partitions::default();
        let (a, b) = (partitions.entry("/a"), partitions.entry("/b"));
        partitions.on_throttle(&a, secs(1.0), None, true);
        b.on_admitted(secs(1.1));
        partitions.on_throttle(&b, secs(1.2), None, true);
        assert_ne!(a.limiter().id(), b.limiter().id());

        // An answer at the very moment of the first 429 was let through before it.
        let partitions = Partitions::default();
        let (a, b) = (partitions.entry("/a"), partitions.entry("/b"));
        a.on_admitted(secs(1.0));
        partitions.on_throttle(&a, secs(1.0), None, true);
        b.on_admitted(secs(1.0));
        partitions.on_throttle(&b, secs(1.0), None, true);
        assert_eq!(a.limiter().id(), b.limiter().id());

        // `/a` got an answer through after its 429, before `/b`'s.
        let partitions = Partitions::default();
        let (a, b) = (partitions.entry("/a"), partitions.entry("/b"));
        partitions.on_throttle(&a, secs(1.0), None, true);
        a.on_admitted(secs(1.1));
        partitions.on_throttle(&b, secs(1.2), None, true);
        assert_ne!(a.limiter().id(), b.limiter().id());

        // One stated a limit, the other did not.
        let partitions = Partitions::default();
        let (a, b) = (partitions.entry("/a"), partitions.entry("/b"));
        partitions.on_throttle(&a, secs(1.0), quota(10, 1), true);
        partitions.on_throttle(&b, secs(1.1), None, true);
        assert_ne!(a.limiter().id(), b.limiter().id());
    }

    #[test]
    fn a_route_that_is_never_rejected_is_never_merged() {
        let partitions = Partitions::default();
        let (search, items) = (partitions.entry("/search"), partitions.entry("/items"));
        for i in 0..100 {
            let t = secs(f64::from(i) * 0.1);
            items.on_admitted(t);
            partitions.on_throttle(
                &search,
                t,
                if i % 2 == 0 { quota(10, 1) } else { None },
                true,
            );
        }
        assert_ne!(search.limiter().id(), items.limiter().id());
    }

    #[test]
    fn the_default_partition_is_never_merged() {
        let partitions = Partitions::default();
        let a = partitions.entry("/a");
        let default = partitions.entry("");
        partitions.on_throttle(&a, secs(1.0), quota(10, 1), true);
        partitions.on_throttle(&default, secs(1.0), quota(10, 1), true);
        assert_eq!(default.limiter().id(), partitions.default_limiter.id());
        assert_ne!(a.limiter().id(), partitions.default_limiter.id());
    }

    #[test]
    fn the_number_of_partitions_is_bounded_and_the_least_recently_used_idle_one_goes() {
        let partitions = Partitions::default();
        let held = partitions.entry("/held");
        for i in 0..MAX_PARTITIONS {
            drop(partitions.entry(&format!("/r{i}")));
        }
        assert_eq!(partitions.len(), MAX_PARTITIONS);
        // `/r0` is the least recently used: touch it, and `/r1` goes instead.
        drop(partitions.entry("/r0"));
        drop(partitions.entry("/new"));
        assert_eq!(partitions.len(), MAX_PARTITIONS);
        assert!(partitions.get("/r0").is_some());
        assert!(partitions.get("/r1").is_none());
        // The partition held by a request in flight is never evicted, however old.
        assert!(partitions.get("/held").is_some());
        for i in 0..10 * MAX_PARTITIONS {
            drop(partitions.entry(&format!("/flood{i}")));
        }
        assert_eq!(partitions.len(), MAX_PARTITIONS);
        assert!(partitions.get("/held").is_some());
        drop(held);
    }

    #[test]
    fn with_every_partition_busy_a_new_route_uses_the_default_partition() {
        let partitions = Partitions::default();
        let busy: Vec<_> = (0..MAX_PARTITIONS)
            .map(|i| partitions.entry(&format!("/r{i}")))
            .collect();
        let extra = partitions.entry("/one-more");
        assert!(Arc::ptr_eq(&extra, &partitions.default));
        assert_eq!(partitions.len(), MAX_PARTITIONS);
        drop(busy);
        let extra = partitions.entry("/one-more");
        assert!(!Arc::ptr_eq(&extra, &partitions.default));
    }

    #[test]
    fn the_longest_hold_covers_every_partition() {
        let partitions = Partitions::default();
        let a = partitions.entry("/a");
        a.limiter().gate.close_until(secs(7.0));
        assert_eq!(partitions.longest_hold(secs(2.0)), secs(5.0));
        partitions.default_limiter.gate.close_until(secs(9.0));
        assert_eq!(partitions.longest_hold(secs(2.0)), secs(7.0));
    }

    #[test]
    fn a_partition_reads_the_window_its_limiter_keeps() {
        let partitions = Partitions::default();
        let entry = partitions.entry("/a");
        entry.limiter().gate.close_until(secs(5.0));
        let partition = partitions.get("/a").unwrap();
        assert_eq!(partition.gate().open_at(), secs(5.0));
        assert_eq!(partition.gate().remaining(secs(4.0)), secs(1.0));
    }
}

//! [`wait_until`] and [`holds_within`]: a bounded wait for what another task does.

use std::panic::Location;
use std::time::Duration;

/// How long [`wait_until`] waits, in real time, before it fails the test.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// How long a wait on a running clock sleeps between two checks.
const POLL_EVERY: Duration = Duration::from_millis(1);

/// Waits until `condition` holds, for what another task does: a spawned request met its
/// `429`, a window closed, a report reached a store. If it still does not hold after 10 s of
/// real time, it panics naming `what`, so a regression fails the test instead of hanging
/// the suite.
///
/// `condition` is checked at once, then each time the other tasks have had a turn:
/// - on tokio's **paused clock** the wait only yields: the spawned tasks run and virtual time
///   does not move, so the times your test asserts afterwards are not shifted by the wait.
///   What needs a timer to fire never happens during it: advance the clock yourself.
/// - on a **running clock** it sleeps 1 ms between two checks: it never spins.
///
/// `what` names what is awaited, as in "waiting until ...": the panic reads `gave up after
/// 10s waiting until <what> (at <your test's file and line>)`. The condition is an async closure (`async || ...`), so it may
/// ask a server or a store; [`holds_within`] is the same wait for a probe whose failure is an
/// answer rather than a failed test.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use errors_testkit::{FakeApi, fixtures, wait_until};
///
/// // Arrange: a call in a task of its own, answered after a minute.
/// let api = FakeApi::new();
/// api.mount(fixtures::hang(Duration::from_secs(60)));
/// let client = api.client();
/// let url = format!("{}/v1/jobs/1", api.uri());
/// let call = tokio::spawn(async move { client.get(url).send().await });
///
/// // Act: wait until the request has reached the API.
/// let before = tokio::time::Instant::now();
/// wait_until("the request reached the API", async || !api.journal().is_empty()).await;
///
/// // Assert: it did, and the paused clock did not move while waiting.
/// api.journal().assert_attempts(1);
/// assert_eq!(before.elapsed(), Duration::ZERO);
/// assert_eq!(call.await.unwrap().unwrap().status(), 200);
/// # }
/// ```
///
/// # Panics
///
/// If `condition` does not hold within 10 s of real time, or if it panics.
#[track_caller]
pub fn wait_until(what: &str, condition: impl AsyncFnMut() -> bool) -> impl Future<Output = ()> {
    // Taken here, not in the future: an async fn cannot track its caller.
    let caller = Location::caller();
    async move {
        if !holds_within(WAIT_LIMIT, condition).await {
            panic!("gave up after {WAIT_LIMIT:?} waiting until {what} (at {caller})");
        }
    }
}

/// Whether `condition` holds within `limit` of real time, checked as [`wait_until`] checks
/// it (yielding on a paused clock, every millisecond on a running one): for a probe whose
/// failure is an answer, such as "did the report reach the store this time?".
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use errors_testkit::holds_within;
///
/// let never = holds_within(Duration::from_millis(20), async || false).await;
/// assert!(!never);
/// let at_once = holds_within(Duration::from_millis(20), async || true).await;
/// assert!(at_once);
/// # }
/// ```
pub async fn holds_within(limit: Duration, mut condition: impl AsyncFnMut() -> bool) -> bool {
    // Real time bounds the wait: a paused clock does not move while it yields.
    let deadline = std::time::Instant::now() + limit;
    // A paused clock stays where it was while this task only yields; a running one moves.
    let paused_at = tokio::time::Instant::now();
    loop {
        if condition().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        if tokio::time::Instant::now() == paused_at {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

//! [`Journal`]: what the mock API received, and assertions on it.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// One request as the mock API received it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Received {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/v1/images`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The headers in arrival order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// When the request reached the responder (after its body was read), on tokio's clock:
    /// virtual time when the test paused it (see [`Journal`]).
    pub at: Instant,
}

impl Received {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn is(&self, method: &str, path: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && self.path == path
    }
}

/// Everything a mock API received, in arrival order. Clones share the same record.
///
/// Arrival times come from tokio's clock ([`tokio::time::Instant`]), so a test on a paused
/// clock checks virtual waits: with [`FakeApi`](crate::FakeApi) they are exact (see the crate
/// docs for which clock each server reads).
///
/// Every assertion is `#[track_caller]` and, on failure, lists what arrived: method, path,
/// arrival time, the gap before it, headers (secret-looking values such as `Authorization`
/// cut short, see [`mask_header`]) and the start of the body.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use errors_testkit::{FakeApi, Script, fixtures};
///
/// let api = FakeApi::new();
/// // The 429 takes 20 s to arrive: a client that awaits it cannot come back sooner.
/// let slow_429 = fixtures::rate_limited().with_delay(Duration::from_secs(20));
/// api.mount_script(Script::fail_then_succeed(1, slow_429, fixtures::no_content()));
///
/// let client = api.client();
/// for _ in 0..2 {
///     client.post(format!("{}/v1/jobs", api.uri())).bearer_auth("sk-test").send().await.unwrap();
/// }
///
/// let journal = api.journal();
/// journal.assert_attempts(2);
/// journal.assert_received("POST", "/v1/jobs", 2);
/// journal.assert_header_sent("authorization", "Bearer sk-test");
/// // On a paused clock the gap is exact: nothing else moved time.
/// assert_eq!(journal.gaps(), [Duration::from_secs(20)]);
/// journal.assert_gap_at_least(1, Duration::from_secs(20));
/// journal.assert_gap_at_most(1, Duration::from_secs(20));
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<Received>>>,
}

/// Headers whose values are credentials; also any name containing one of [`SECRET_WORDS`].
const SECRET_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];
const SECRET_WORDS: [&str; 6] = ["key", "token", "secret", "auth", "session", "password"];

/// How much of a body a failure message shows.
const BODY_EXCERPT: usize = 120;

/// A header value fit for a test log: values of secret-looking headers (`Authorization`,
/// `Cookie`, any name with `key`, `token`, `secret`, `auth`, `session` or `password` in it)
/// keep their scheme and at most 4 leading characters, then their length; others are kept.
///
/// ```
/// use errors_testkit::mask_header;
///
/// assert_eq!(mask_header("authorization", "Bearer sk-live-0123456789abcdef"), "Bearer sk-l… (24 chars)");
/// assert_eq!(mask_header("x-api-key", "short"), "… (5 chars)");
/// assert_eq!(mask_header("content-type", "application/json"), "application/json");
/// ```
pub fn mask_header(name: &str, value: &str) -> String {
    let name = name.to_ascii_lowercase();
    let secret = SECRET_HEADERS.contains(&name.as_str())
        || SECRET_WORDS.iter().any(|word| name.contains(word));
    if !secret {
        return value.to_owned();
    }
    let (scheme, credential) = match value.split_once(' ') {
        Some((scheme, rest)) if !scheme.is_empty() && scheme.len() <= 10 => {
            (format!("{scheme} "), rest)
        }
        _ => (String::new(), value),
    };
    let length = credential.chars().count();
    // Short secrets show nothing: 4 characters of a 5-character secret are most of it.
    let shown: String = if length >= 16 {
        credential.chars().take(4).collect()
    } else {
        String::new()
    };
    format!("{scheme}{shown}… ({length} chars)")
}

impl Journal {
    /// Records `request` as arrived at `at`.
    pub(crate) fn record(&self, request: &wiremock::Request, at: Instant) {
        let received = Received {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            query: request.url.query().map(str::to_owned),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    (n.as_str().to_owned(), value)
                })
                .collect(),
            body: request.body.clone(),
            at,
        };
        self.lock().push(received);
    }

    /// Records a request read by hand (by the [`FaultServer`](crate::FaultServer)).
    pub(crate) fn push(&self, received: Received) {
        self.lock().push(received);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Received>> {
        // A panicking test thread must not hide what was received from the next assertion.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of what was received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.lock().clone()
    }

    /// How many requests arrived.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing arrived.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When each request arrived, in arrival order, on tokio's clock: for spans across
    /// several requests ("the 51 held requests all came after the window").
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use errors_testkit::{FakeApi, fixtures};
    ///
    /// let api = FakeApi::new();
    /// api.mount(fixtures::ok());
    /// let client = api.client();
    /// for _ in 0..3 {
    ///     client.get(api.uri()).send().await.unwrap();
    ///     tokio::time::sleep(Duration::from_secs(2)).await;
    /// }
    ///
    /// let arrivals = api.journal().arrivals();
    /// assert_eq!(arrivals.len(), 3);
    /// assert_eq!(arrivals[2] - arrivals[0], Duration::from_secs(4));
    /// # }
    /// ```
    pub fn arrivals(&self) -> Vec<Instant> {
        self.lock().iter().map(|r| r.at).collect()
    }

    /// The time between consecutive arrivals: `gaps()[0]` is the pause before request 1.
    pub fn gaps(&self) -> Vec<Duration> {
        self.lock()
            .windows(2)
            .map(|w| w[1].at.saturating_duration_since(w[0].at))
            .collect()
    }

    /// Asserts that exactly `n` requests arrived (to any path): the attempts a client made.
    #[track_caller]
    pub fn assert_attempts(&self, n: usize) {
        let got = self.len();
        if got != n {
            self.fail(format_args!("expected {n} requests, received {got}"));
        }
    }

    /// Asserts that exactly `n` `method` requests to `path` arrived.
    #[track_caller]
    pub fn assert_received(&self, method: &str, path: &str, n: usize) {
        let got = self.lock().iter().filter(|r| r.is(method, path)).count();
        if got != n {
            self.fail(format_args!(
                "expected {n} {method} {path} requests, received {got}"
            ));
        }
    }

    /// Asserts that exactly one `method` request to `path` arrived: "the POST was not
    /// repeated".
    #[track_caller]
    pub fn assert_received_once(&self, method: &str, path: &str) {
        self.assert_received(method, path, 1);
    }

    /// Asserts that the pause before request `index` (0-based, so `index >= 1`) was at least
    /// `min`: "the client waited at least the Retry-After".
    #[track_caller]
    pub fn assert_gap_at_least(&self, index: usize, min: Duration) {
        let gap = self.gap_before(index);
        if gap < min {
            self.fail(format_args!(
                "request {index} came {gap:?} after the previous one, expected at least {min:?}"
            ));
        }
    }

    /// Asserts that the pause before request `index` (`index >= 1`) was at most `max`: "the
    /// client did not oversleep".
    #[track_caller]
    pub fn assert_gap_at_most(&self, index: usize, max: Duration) {
        let gap = self.gap_before(index);
        if gap > max {
            self.fail(format_args!(
                "request {index} came {gap:?} after the previous one, expected at most {max:?}"
            ));
        }
    }

    /// Asserts that every pause between consecutive requests was at least `min`.
    #[track_caller]
    pub fn assert_all_gaps_at_least(&self, min: Duration) {
        for (i, gap) in self.gaps().into_iter().enumerate() {
            if gap < min {
                let index = i + 1;
                self.fail(format_args!(
                    "request {index} came {gap:?} after the previous one, expected at least {min:?}"
                ));
            }
        }
    }

    #[track_caller]
    fn gap_before(&self, index: usize) -> Duration {
        match index
            .checked_sub(1)
            .and_then(|i| self.gaps().get(i).copied())
        {
            Some(gap) => gap,
            None => self.fail(format_args!("no request {index} to measure a gap before")),
        }
    }

    /// Asserts that at least one request arrived and that every request carried header
    /// `name` with exactly `value` (e.g. the API key). Failure messages never show a
    /// secret-looking value in full, the expected one included.
    #[track_caller]
    pub fn assert_header_sent(&self, name: &str, value: &str) {
        let requests = self.requests();
        if requests.is_empty() {
            self.fail(format_args!(
                "expected a {name} header, but no request arrived"
            ));
        }
        for (i, r) in requests.iter().enumerate() {
            match r.header(name) {
                Some(sent) if sent == value => {}
                Some(sent) => self.fail(format_args!(
                    "request {i} sent {name}: {}, expected {}",
                    mask_header(name, sent),
                    mask_header(name, value)
                )),
                None => self.fail(format_args!("request {i} did not send {name}")),
            }
        }
    }

    /// Asserts that no request carried header `name`.
    #[track_caller]
    pub fn assert_header_absent(&self, name: &str) {
        if let Some(i) = self.lock().iter().position(|r| r.header(name).is_some()) {
            self.fail(format_args!("request {i} sent {name}, expected none to"));
        }
    }

    #[track_caller]
    fn fail(&self, what: std::fmt::Arguments<'_>) -> ! {
        panic!("{what}; the mock API received:\n{}", self.describe())
    }

    /// A listing of the requests, as failure messages show it: index, time since the first
    /// request and gap before it, method, path, headers (secret-looking values cut short by
    /// [`mask_header`]) and the start of the body.
    pub fn describe(&self) -> String {
        let requests = self.requests();
        if requests.is_empty() {
            return "  (nothing)\n".to_owned();
        }
        let mut out = String::new();
        let first = requests[0].at;
        let mut previous = first;
        for (i, r) in requests.iter().enumerate() {
            let since = r.at.saturating_duration_since(first);
            let gap = r.at.saturating_duration_since(previous);
            previous = r.at;
            let query = r
                .query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  #{i} at +{since:?} (gap {gap:?}): {} {}{query}",
                r.method, r.path
            );
            for (name, value) in &r.headers {
                let _ = writeln!(out, "      {name}: {}", mask_header(name, value));
            }
            if !r.body.is_empty() {
                let excerpt = String::from_utf8_lossy(&r.body[..r.body.len().min(BODY_EXCERPT)]);
                let more = if r.body.len() > BODY_EXCERPT {
                    "…"
                } else {
                    ""
                };
                let _ = writeln!(out, "      body ({} bytes): {excerpt}{more}", r.body.len());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_cut_short_and_other_values_kept() {
        assert_eq!(
            mask_header("Authorization", "Bearer sk-1"),
            "Bearer … (4 chars)"
        );
        assert_eq!(
            mask_header("cookie", "session=abcdefghijklmnopqrstuvwxyz"),
            "sess… (34 chars)"
        );
        assert_eq!(
            mask_header("X-Auth-Token", "0123456789abcdefXYZ"),
            "0123… (19 chars)"
        );
        assert_eq!(mask_header("retry-after", "2"), "2");
        assert_eq!(mask_header("idempotency-key", "k"), "… (1 chars)");
    }

    #[test]
    fn gaps_are_measured_between_arrivals() {
        let journal = Journal::default();
        let start = Instant::now();
        for offset in [0, 100, 1_100] {
            journal.lock().push(Received {
                method: "GET".into(),
                path: "/x".into(),
                query: None,
                headers: vec![(
                    "authorization".into(),
                    "Bearer sk-live-0123456789abcdef".into(),
                )],
                body: Vec::new(),
                at: start + Duration::from_millis(offset),
            });
        }
        assert_eq!(
            journal.gaps(),
            [Duration::from_millis(100), Duration::from_secs(1)]
        );
        journal.assert_gap_at_least(2, Duration::from_secs(1));
        journal.assert_gap_at_most(1, Duration::from_millis(100));
        journal.assert_all_gaps_at_least(Duration::from_millis(100));
        journal.assert_received("get", "/x", 3);

        let failure = std::panic::catch_unwind(|| {
            journal.assert_header_sent("authorization", "Bearer sk-live-WRONG")
        })
        .unwrap_err();
        let message = failure.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("request 0 sent authorization: Bearer sk-l… (24 chars), expected Bearer … (13 chars); the mock API received:\n  #0 at +0ns (gap 0ns): GET /x\n"), "{message}");
        assert!(!message.contains("live"), "{message}");
    }
}

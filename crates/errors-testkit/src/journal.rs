//! What the mock API received, and assertions on it.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the mock API received it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Received {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Everything a mock API received, in arrival order. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<Received>>>,
}

impl Journal {
    pub(crate) fn record(&self, request: &wiremock::Request) {
        let received = Received {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: request.body.clone(),
            at: Instant::now(),
        };
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(received);
    }

    /// A copy of what was received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many requests arrived.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing arrived.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The time between consecutive arrivals.
    pub fn gaps(&self) -> Vec<Duration> {
        self.requests()
            .windows(2)
            .map(|w| w[1].at.saturating_duration_since(w[0].at))
            .collect()
    }

    /// Asserts that exactly `n` requests arrived.
    #[track_caller]
    pub fn assert_attempts(&self, n: usize) {
        let got = self.len();
        assert!(
            got == n,
            "expected {n} requests, received {got}:\n{}",
            self.describe()
        );
    }

    /// Asserts that the pause before request `index` (0-based; so `index >= 1`) was at least
    /// `min`: "the client waited at least the Retry-After".
    #[track_caller]
    pub fn assert_gap_at_least(&self, index: usize, min: Duration) {
        let gaps = self.gaps();
        let Some(gap) = index.checked_sub(1).and_then(|i| gaps.get(i)) else {
            panic!(
                "no request {index} to measure a gap before:\n{}",
                self.describe()
            );
        };
        assert!(
            *gap >= min,
            "request {index} came {gap:?} after the previous one, expected at least {min:?}:\n{}",
            self.describe()
        );
    }

    /// Asserts that exactly one `method` request to `path` arrived: "the POST was not repeated".
    #[track_caller]
    pub fn assert_received_once(&self, method: &str, path: &str) {
        let n = self
            .requests()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .count();
        assert!(
            n == 1,
            "expected one {method} {path}, received {n}:\n{}",
            self.describe()
        );
    }

    /// Asserts that every request carried header `name` with exactly `value` (e.g. the API
    /// key). The value is not printed on failure.
    #[track_caller]
    pub fn assert_header_sent(&self, name: &str, value: &str) {
        let requests = self.requests();
        assert!(!requests.is_empty(), "no request arrived");
        for (i, r) in requests.iter().enumerate() {
            assert!(
                r.header(name) == Some(value),
                "request {i} lacked the expected {name} header:\n{}",
                self.describe()
            );
        }
    }

    /// A listing of the requests for failure messages: method, path, time since the first.
    /// Header values are left out so credentials do not end up in test logs.
    pub fn describe(&self) -> String {
        let requests = self.requests();
        let mut out = String::new();
        let first = requests.first().map(|r| r.at);
        for (i, r) in requests.iter().enumerate() {
            let since = first.map_or(Duration::ZERO, |f| r.at.saturating_duration_since(f));
            let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
            let _ = writeln!(
                out,
                "  #{i} +{since:?} {} {} headers: {}",
                r.method,
                r.path,
                names.join(", ")
            );
        }
        if requests.is_empty() {
            out.push_str("  (nothing)\n");
        }
        out
    }
}

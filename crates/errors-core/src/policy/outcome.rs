//! What the policy is told about a request and each attempt's outcome.

use crate::ApiError;

/// Whether a request may be sent twice without changing what happens on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Idempotency {
    /// GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or any request the caller marked safe to repeat.
    Idempotent,
    /// POST, PATCH and unknown methods: repeating one whose outcome is unknown may act twice.
    NonIdempotent,
}

impl Idempotency {
    /// The idempotency of `method` (RFC 9110 §9.2.2), unless `marked_safe` says the caller
    /// knows the request can be repeated (for example it carries an idempotency key).
    pub fn of(method: &http::Method, marked_safe: bool) -> Idempotency {
        use http::Method;
        let idempotent = [
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::TRACE,
            Method::PUT,
            Method::DELETE,
        ];
        if marked_safe || idempotent.contains(method) {
            Idempotency::Idempotent
        } else {
            Idempotency::NonIdempotent
        }
    }

    /// Whether a request whose outcome is unknown may be sent again.
    pub fn is_repeatable(self) -> bool {
        self == Idempotency::Idempotent
    }
}

/// How an attempt failed below HTTP.
///
/// The kinds that retrying cannot fix ([`TransportKind::is_permanent`]) are never retried,
/// whatever the method: the same request would meet the same certificate, the same missing
/// TLS support or the same oversize body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made: the request never left the client.
    Connect,
    /// The attempt timed out (connecting, waiting for the response, or reading its body).
    Timeout,
    /// Anything else: a reset, a broken body, a protocol error.
    Other,
    /// The HTTP client refused to send the request at all (a URL scheme this build cannot
    /// speak, a malformed URL, an invalid header): nothing reached the network, and nothing
    /// would on a retry.
    Rejected,
    /// The server's TLS certificate was not trusted (unknown issuer, expired, issued for
    /// another name). Nothing was sent; a retry meets the same certificate.
    Certificate,
    /// The TLS handshake failed for another reason (no common protocol version or cipher,
    /// a server that does not speak TLS on that port). Nothing was sent.
    Tls,
    /// The success body was larger than the client's limit; reading stopped there. The same
    /// request would get the same body.
    ResponseTooLarge,
    /// A redirect could not be followed: too many of them (a loop), or a `Location` the
    /// client cannot go to (not a URL, another scheme than `http`/`https`, a body that cannot
    /// be sent again). The server answered; the same request would be sent the same way.
    Redirect,
}

impl TransportKind {
    /// Whether retrying cannot help: [`Rejected`](TransportKind::Rejected),
    /// [`Certificate`](TransportKind::Certificate), [`Tls`](TransportKind::Tls),
    /// [`ResponseTooLarge`](TransportKind::ResponseTooLarge) and
    /// [`Redirect`](TransportKind::Redirect).
    ///
    /// ```
    /// use errors_core::retry::TransportKind;
    /// assert!(TransportKind::Certificate.is_permanent());
    /// assert!(!TransportKind::Connect.is_permanent());
    /// ```
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            TransportKind::Rejected
                | TransportKind::Certificate
                | TransportKind::Tls
                | TransportKind::ResponseTooLarge
                | TransportKind::Redirect
        )
    }

    /// The snake_case name, as serialized (`"connect"`, `"certificate"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Other => "other",
            TransportKind::Rejected => "rejected",
            TransportKind::Certificate => "certificate",
            TransportKind::Tls => "tls",
            TransportKind::ResponseTooLarge => "response_too_large",
            TransportKind::Redirect => "redirect",
        }
    }
}

/// A failure below HTTP, as the driver saw it: what the policy decides by (its
/// [`kind`](TransportFailure::kind) and whether the request may have reached the server), and
/// what the driver could tell of its cause besides, for the caller's error (a connection that
/// timed out, a scheme the build cannot speak, a redirect loop, why a certificate was
/// rejected). A driver reads its HTTP client's error into one of these once, and both the
/// policy and the error it hands the caller keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportFailure {
    /// What went wrong.
    pub kind: TransportKind,
    /// Whether the request may have reached the server (and been acted on).
    pub may_have_reached_server: bool,
    /// What else the driver could tell; the policy does not read it.
    detail: Detail,
    /// For a [`TransportKind::Certificate`] failure, the TLS library's reason.
    certificate_reason: Option<&'static str>,
}

/// What a driver could tell of a failure's cause beyond its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    None,
    /// A [`TransportKind::Connect`] failure that is a timeout.
    ConnectTimeout,
    /// A [`TransportKind::Rejected`] URL whose scheme needs TLS this build lacks.
    UnsupportedScheme,
    /// A [`TransportKind::Redirect`] failure: more redirects than the client follows.
    TooManyRedirects,
}

impl TransportFailure {
    fn new(kind: TransportKind, may_have_reached_server: bool) -> TransportFailure {
        TransportFailure {
            kind,
            may_have_reached_server,
            detail: Detail::None,
            certificate_reason: None,
        }
    }

    fn with(self, detail: Detail) -> TransportFailure {
        TransportFailure { detail, ..self }
    }

    /// A connection failure: the request was never sent.
    pub fn connect() -> TransportFailure {
        TransportFailure::new(TransportKind::Connect, false)
    }

    /// A connection that could not be made in time: a [`connect`](TransportFailure::connect)
    /// failure (never sent) that is also a timeout ([`is_timeout`](TransportFailure::is_timeout)).
    pub fn connect_timeout() -> TransportFailure {
        TransportFailure::connect().with(Detail::ConnectTimeout)
    }

    /// A timeout: the server may have received the request.
    pub fn timeout() -> TransportFailure {
        TransportFailure::new(TransportKind::Timeout, true)
    }

    /// The request was refused before sending: permanent, never retried.
    pub fn rejected() -> TransportFailure {
        TransportFailure::new(TransportKind::Rejected, false)
    }

    /// The URL's scheme needs TLS and the build has none: a
    /// [`rejected`](TransportFailure::rejected) request
    /// ([`is_unsupported_scheme`](TransportFailure::is_unsupported_scheme)).
    pub fn unsupported_scheme() -> TransportFailure {
        TransportFailure::rejected().with(Detail::UnsupportedScheme)
    }

    /// The server's certificate was rejected: permanent, never retried.
    pub fn certificate() -> TransportFailure {
        TransportFailure::new(TransportKind::Certificate, false)
    }

    /// The server's certificate was rejected for `reason`, a short lowercase phrase of the
    /// TLS library's own reason (`"expired"`): a [`certificate`](TransportFailure::certificate)
    /// failure that says why ([`certificate_reason`](TransportFailure::certificate_reason)).
    pub fn untrusted_certificate(reason: &'static str) -> TransportFailure {
        TransportFailure {
            certificate_reason: Some(reason),
            ..TransportFailure::certificate()
        }
    }

    /// The TLS handshake failed (not because of the certificate): permanent, never retried.
    pub fn tls() -> TransportFailure {
        TransportFailure::new(TransportKind::Tls, false)
    }

    /// The success body exceeded the client's limit: permanent, never retried.
    pub fn response_too_large() -> TransportFailure {
        TransportFailure::new(TransportKind::ResponseTooLarge, true)
    }

    /// A redirect that could not be followed (too many, or an unusable `Location`):
    /// permanent, never retried. The server answered the request.
    pub fn redirect() -> TransportFailure {
        TransportFailure::new(TransportKind::Redirect, true)
    }

    /// More redirects than the client follows (a loop, most likely): a
    /// [`redirect`](TransportFailure::redirect) failure
    /// ([`is_too_many_redirects`](TransportFailure::is_too_many_redirects)).
    pub fn too_many_redirects() -> TransportFailure {
        TransportFailure::redirect().with(Detail::TooManyRedirects)
    }

    /// Any other failure after sending began (reset, broken body).
    pub fn other() -> TransportFailure {
        TransportFailure::new(TransportKind::Other, true)
    }

    /// Whether the attempt ran out of time: a [`TransportKind::Timeout`], or a connection
    /// that could not be made in time ([`connect_timeout`](TransportFailure::connect_timeout)).
    ///
    /// ```
    /// use errors_core::retry::TransportFailure;
    /// assert!(TransportFailure::connect_timeout().is_timeout());
    /// assert!(!TransportFailure::connect().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportKind::Timeout || self.detail == Detail::ConnectTimeout
    }

    /// Whether the request was refused because its URL's scheme needs TLS this build lacks
    /// ([`unsupported_scheme`](TransportFailure::unsupported_scheme)).
    pub fn is_unsupported_scheme(&self) -> bool {
        self.detail == Detail::UnsupportedScheme
    }

    /// Whether a redirect was not followed because there were too many
    /// ([`too_many_redirects`](TransportFailure::too_many_redirects)).
    pub fn is_too_many_redirects(&self) -> bool {
        self.detail == Detail::TooManyRedirects
    }

    /// Why the server's certificate was rejected, when the TLS library said
    /// ([`untrusted_certificate`](TransportFailure::untrusted_certificate)).
    pub fn certificate_reason(&self) -> Option<&'static str> {
        self.certificate_reason
    }
}

/// The outcome of one attempt.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// A success status (1xx, 2xx, 3xx).
    Success {
        /// The status.
        status: http::StatusCode,
    },
    /// An error response, parsed.
    Api(&'a ApiError),
    /// No response.
    Transport(TransportFailure),
}

#[cfg(test)]
mod tests {
    //! What the driver records of a failure, and what the policy says of one outcome alone.

    use std::time::{Duration, SystemTime};

    use http::{HeaderMap, StatusCode};

    use super::*;
    use crate::policy::{RetryOverride, RetryPolicy, RetryReason, StopReason};
    use crate::{ApiError, ErrorCode};

    fn answer(status: u16, body: &str, retry_after: Option<&str>) -> ApiError {
        let mut headers = HeaderMap::new();
        if let Some(wait) = retry_after {
            headers.insert("retry-after", wait.parse().unwrap());
        }
        let status = StatusCode::from_u16(status).unwrap();
        ApiError::parse(status, &headers, body.as_bytes(), SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn the_details_keep_the_kind_and_whether_the_request_was_sent() {
        let cases = [
            (
                TransportFailure::connect_timeout(),
                TransportFailure::connect(),
            ),
            (
                TransportFailure::unsupported_scheme(),
                TransportFailure::rejected(),
            ),
            (
                TransportFailure::too_many_redirects(),
                TransportFailure::redirect(),
            ),
            (
                TransportFailure::untrusted_certificate("expired"),
                TransportFailure::certificate(),
            ),
        ];
        for (detailed, plain) in cases {
            assert_eq!(detailed.kind, plain.kind, "{detailed:?}");
            assert_eq!(
                detailed.may_have_reached_server, plain.may_have_reached_server,
                "{detailed:?}"
            );
            assert_ne!(detailed, plain, "the detail is kept");
        }
    }

    #[test]
    fn a_timeout_is_one_whether_or_not_the_connection_was_made() {
        assert!(TransportFailure::timeout().is_timeout());
        assert!(TransportFailure::connect_timeout().is_timeout());
        for other in [
            TransportFailure::connect(),
            TransportFailure::other(),
            TransportFailure::unsupported_scheme(),
        ] {
            assert!(!other.is_timeout(), "{other:?}");
        }
    }

    #[test]
    fn each_detail_answers_only_its_own_question() {
        let all = [
            TransportFailure::connect_timeout(),
            TransportFailure::unsupported_scheme(),
            TransportFailure::too_many_redirects(),
            TransportFailure::untrusted_certificate("expired"),
            TransportFailure::rejected(),
            TransportFailure::redirect(),
            TransportFailure::certificate(),
        ];
        for failure in all {
            let scheme = failure == TransportFailure::unsupported_scheme();
            let redirects = failure == TransportFailure::too_many_redirects();
            assert_eq!(failure.is_unsupported_scheme(), scheme, "{failure:?}");
            assert_eq!(failure.is_too_many_redirects(), redirects, "{failure:?}");
        }
        assert_eq!(
            TransportFailure::untrusted_certificate("expired").certificate_reason(),
            Some("expired")
        );
        assert_eq!(TransportFailure::certificate().certificate_reason(), None);
        assert_eq!(
            TransportFailure::connect_timeout().certificate_reason(),
            None
        );
    }

    #[test]
    fn the_verdict_is_classify_with_the_maximum_wait() {
        let policy = RetryPolicy::default().with_max_wait(Duration::from_secs(10));
        let idempotent = Idempotency::Idempotent;
        let limited = |wait| answer(429, "", Some(wait));
        // Up to the maximum wait, what classify says.
        for wait in ["0", "10"] {
            assert_eq!(
                policy.verdict(idempotent, &Outcome::Api(&limited(wait))),
                Ok(RetryReason::RateLimited),
                "{wait}"
            );
        }
        // Past it, a stop that carries the requested delay, for any retryable answer.
        assert_eq!(
            policy.verdict(idempotent, &Outcome::Api(&limited("11"))),
            Err(StopReason::RetryAfterTooLong {
                requested_ms: 11_000
            })
        );
        let unavailable = answer(503, "", Some("3600"));
        assert_eq!(
            policy.verdict(idempotent, &Outcome::Api(&unavailable)),
            Err(StopReason::RetryAfterTooLong {
                requested_ms: 3_600_000
            })
        );
        // What classify refuses stays refused, for its own reason.
        assert_eq!(
            policy.verdict(Idempotency::NonIdempotent, &Outcome::Api(&unavailable)),
            Err(StopReason::UnsafeToRepeat)
        );
        let quota = answer(
            429,
            r#"{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly limit"}}"#,
            Some("3600"),
        );
        assert_eq!(
            policy.verdict(idempotent, &Outcome::Api(&quota)),
            Err(StopReason::NotRetryable)
        );
        // Outcomes without a Retry-After are classify's.
        assert_eq!(
            policy.verdict(
                Idempotency::NonIdempotent,
                &Outcome::Transport(TransportFailure::connect())
            ),
            Ok(RetryReason::NotSent)
        );
        assert_eq!(
            policy.verdict(
                idempotent,
                &Outcome::Success {
                    status: StatusCode::OK
                }
            ),
            Err(StopReason::Succeeded)
        );
    }

    #[test]
    fn retryable_means_the_same_request_could_succeed_later_by_the_policys_rules() {
        let default = RetryPolicy::default();
        let unavailable = answer(503, "", None);
        let not_found = answer(404, "", None);
        let far = answer(429, "", Some("86400"));
        // The contract, whatever the method and however long the wait.
        assert!(default.is_retryable(&Outcome::Api(&unavailable)));
        assert!(default.is_retryable(&Outcome::Api(&far)));
        assert!(!default.is_retryable(&Outcome::Api(&not_found)));
        for (error, contract) in [(&unavailable, true), (&not_found, false), (&far, true)] {
            assert_eq!(error.is_retryable(), contract);
        }
        // The caller's rules count.
        let never = RetryPolicy::default().with_status_override(503, RetryOverride::Never);
        assert!(!never.is_retryable(&Outcome::Api(&unavailable)));
        let retry = RetryPolicy::default().with_status_override(404, RetryOverride::Retry);
        assert!(retry.is_retryable(&Outcome::Api(&not_found)));
        let timeout = answer(
            504,
            r#"{"error":{"code":"TIMEOUT","message":"Operation timed out"}}"#,
            None,
        );
        let by_code =
            RetryPolicy::default().with_code_override(ErrorCode::Timeout, RetryOverride::Never);
        assert!(!by_code.is_retryable(&Outcome::Api(&timeout)));
        // Failures below HTTP: all but the permanent ones, sent or not.
        for failure in [
            TransportFailure::connect(),
            TransportFailure::timeout(),
            TransportFailure::other(),
        ] {
            assert!(
                default.is_retryable(&Outcome::Transport(failure)),
                "{failure:?}"
            );
        }
        for failure in [
            TransportFailure::certificate(),
            TransportFailure::unsupported_scheme(),
            TransportFailure::too_many_redirects(),
        ] {
            assert!(
                !default.is_retryable(&Outcome::Transport(failure)),
                "{failure:?}"
            );
        }
        assert!(!default.is_retryable(&Outcome::Success {
            status: StatusCode::OK
        }));
    }
}

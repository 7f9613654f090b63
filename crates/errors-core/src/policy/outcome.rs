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
    /// use errors_core::TransportKind;
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

/// A failure below HTTP, as the driver saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportFailure {
    /// What went wrong.
    pub kind: TransportKind,
    /// Whether the request may have reached the server (and been acted on).
    pub may_have_reached_server: bool,
}

impl TransportFailure {
    /// A connection failure: the request was never sent.
    pub fn connect() -> TransportFailure {
        TransportFailure {
            kind: TransportKind::Connect,
            may_have_reached_server: false,
        }
    }

    /// A timeout: the server may have received the request.
    pub fn timeout() -> TransportFailure {
        TransportFailure {
            kind: TransportKind::Timeout,
            may_have_reached_server: true,
        }
    }

    /// The request was refused before sending: permanent, never retried.
    pub fn rejected() -> TransportFailure {
        TransportFailure {
            kind: TransportKind::Rejected,
            may_have_reached_server: false,
        }
    }

    /// The server's certificate was rejected: permanent, never retried.
    pub fn certificate() -> TransportFailure {
        TransportFailure {
            kind: TransportKind::Certificate,
            may_have_reached_server: false,
        }
    }

    /// The TLS handshake failed (not because of the certificate): permanent, never retried.
    pub fn tls() -> TransportFailure {
        TransportFailure {
            kind: TransportKind::Tls,
            may_have_reached_server: false,
        }
    }

    /// The success body exceeded the client's limit: permanent, never retried.
    pub fn response_too_large() -> TransportFailure {
        TransportFailure {
            kind: TransportKind::ResponseTooLarge,
            may_have_reached_server: true,
        }
    }

    /// A redirect that could not be followed (too many, or an unusable `Location`):
    /// permanent, never retried. The server answered the request.
    pub fn redirect() -> TransportFailure {
        TransportFailure {
            kind: TransportKind::Redirect,
            may_have_reached_server: true,
        }
    }

    /// Any other failure after sending began (reset, broken body).
    pub fn other() -> TransportFailure {
        TransportFailure {
            kind: TransportKind::Other,
            may_have_reached_server: true,
        }
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

//! [`Error`]: what a caller of the async (and blocking) stack gets when a request fails.

use std::fmt;

use errors_core::ApiError;
use errors_core::retry::{AttemptRecord, StopReason, TransportFailure, TransportKind};

use crate::transport::reqwest_failure;

/// A failed request: the API's error, a transport failure, or a limit reached, with every
/// attempt that was made.
///
/// `Display` is one line for a person, and describes this layer only; the cause is the
/// [`source`](std::error::Error::source). It never contains request headers, and when the
/// server echoes a sensitive header (the API key) back in its error body, the middleware has
/// already replaced it with `[redacted]`, so the key cannot leak through it.
///
/// Match on what the API said with the accessors, not on the text:
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use errors_core::ErrorCode;
/// use errors_http::ApiClient;
/// use errors_testkit::{FakeApi, fixtures};
///
/// let api = FakeApi::new(); // answers in process, for this example
/// api.mount(fixtures::usage_limit_exceeded().with_request_id("req-7"));
/// let client = ApiClient::builder()
///     .base_url(api.uri())
///     .api_key("sk-test")
///     .with_middleware(api.clone())
///     .build()
///     .unwrap();
///
/// let err = client.get_json::<serde_json::Value>("images").await.unwrap_err();
/// assert_eq!(err.code(), Some(&ErrorCode::UsageLimitExceeded));
/// assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
/// assert_eq!(err.request_id(), Some("req-7")); // quote it to support
/// assert!(!err.is_rate_limited()); // a monthly quota: waiting seconds will not help
/// assert!(!err.is_retryable());
/// assert_eq!(err.attempts().len(), 1);
/// assert_eq!(
///     err.api_error().and_then(|e| e.solution()),
///     Some("Wait for next billing cycle or upgrade plan")
/// );
/// # }
/// ```
pub struct Error {
    kind: ErrorKind,
    /// A boxed slice, not a `Vec`: the error stays under clippy's `result_large_err` bound.
    attempts: Box<[AttemptRecord]>,
    stop: Option<StopReason>,
    /// For a kind that is a failure below HTTP: what it was, read once from the HTTP
    /// client's error (what the policy was told, and what `kind`, `Display` and
    /// `is_timeout` say).
    failure: Option<TransportFailure>,
    /// The client's policy's answer to [`Error::is_retryable`], given when a retry run ended
    /// on this error.
    retryable: Option<bool>,
    /// The cause of a [`ErrorKind::Timeout`] when something below us timed out (reqwest's
    /// own `.timeout()`), returned by `source()`.
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What went wrong.
///
/// The kind is what the last attempt ended with. A limit that stopped further attempts (the
/// retry budget, the deadline, the number of retries, a `Retry-After` longer than the
/// maximum wait: [`StopReason::is_limit`]) is the [`Error::stop_reason`]: a 503 that was not
/// retried because the budget is spent is `Api` with [`StopReason::BudgetExhausted`], so the
/// API's answer is not lost. `DeadlineExceeded` is the kind only when no attempt could be made at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The API answered with an error.
    Api(Box<ApiError>),
    /// No response: the connection failed, was reset, or the HTTP client failed.
    Transport(reqwest_middleware::Error),
    /// An attempt ran out of time, whichever limit cut it: the policy's attempt timeout or
    /// the deadline's remainder (no source), or reqwest's own `.timeout()` (the reqwest
    /// error is the [`source`](std::error::Error::source)). Reading the success body counts:
    /// a server that sends its headers and then stalls ends here too.
    Timeout,
    /// The server's TLS certificate was not trusted (unknown authority, expired, issued for
    /// another name). Never retried. Trust a private authority with
    /// [`ApiClientBuilder::add_root_certificates_pem`](crate::ApiClientBuilder::add_root_certificates_pem).
    Certificate(reqwest_middleware::Error),
    /// The TLS handshake failed for a reason other than the certificate (no common protocol
    /// version, a server that does not speak TLS on that port). Never retried.
    Tls(reqwest_middleware::Error),
    /// The URL's scheme (kept here) is one this build cannot speak, e.g. `https` without a
    /// TLS feature. Never retried.
    UnsupportedScheme(String),
    /// The success body was longer than the limit set with
    /// [`ApiClientBuilder::response_body_limit`](crate::ApiClientBuilder::response_body_limit);
    /// reading stopped there, nothing past it was buffered. Never retried.
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The deadline passed before an attempt could be made (for example while the client's
    /// rate-limit window was closed).
    DeadlineExceeded,
    /// A success body could not be decoded into the caller's type.
    Decode(serde_json::Error),
    /// The request could not be built: a bad URL, header or configuration.
    InvalidRequest(String),
    /// The blocking client was called where waiting could deadlock: on a thread of a
    /// current-thread tokio runtime, or on the client's own runtime thread.
    BlockingInAsync,
    /// The blocking client's runtime thread is gone (a panic in a driver, or the process
    /// was forked after the client was built, and the child has no such thread): nothing
    /// can drive the call, so it fails at once rather than hang. Build a new client.
    RuntimeStopped,
    /// A request was redirected more times than the client follows (ten): a loop, most
    /// likely. The last `Location` is kept, without its query and credentials. Never
    /// retried.
    TooManyRedirects {
        /// The last redirect's target, without its query and credentials.
        location: String,
    },
    /// A redirect could not be followed: its `Location` (kept, without its query and
    /// credentials) is not a URL, names another scheme than `http` or `https`, or asks to
    /// send again a body that is a stream. Never retried.
    RedirectNotFollowed {
        /// The redirect's target, without its query and credentials, or an excerpt of the
        /// raw `Location` when it is not a URL.
        location: String,
        /// Why it was not followed.
        reason: &'static str,
    },
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error::with_history(kind, Vec::new(), None)
    }

    /// The caller's error for a failure reqwest reported, as [`reqwest_failure`] read it:
    /// the one place where a [`TransportFailure`] becomes an [`ErrorKind`]. The error keeps
    /// the failure.
    fn from_reqwest(error: reqwest::Error, failure: TransportFailure) -> Error {
        let location =
            |e: &reqwest::Error| e.url().map_or_else(String::new, crate::redact::url_text);
        let kind = match failure.kind {
            TransportKind::Rejected if failure.is_unsupported_scheme() => {
                ErrorKind::UnsupportedScheme(
                    error
                        .url()
                        .map_or_else(String::new, |u| u.scheme().to_owned()),
                )
            }
            TransportKind::Rejected => ErrorKind::InvalidRequest(chain_text(&error)),
            TransportKind::Redirect if failure.is_too_many_redirects() => {
                ErrorKind::TooManyRedirects {
                    location: location(&error),
                }
            }
            // reqwest's own redirect policy stopped (a client passed to `with_client`, or
            // the middleware in a chain of the caller's).
            TransportKind::Redirect => ErrorKind::RedirectNotFollowed {
                location: location(&error),
                reason: "the http client's redirect policy refused it",
            },
            TransportKind::Certificate => ErrorKind::Certificate(error.into()),
            TransportKind::Tls => ErrorKind::Tls(error.into()),
            _ if failure.is_timeout() => {
                return Error {
                    failure: Some(failure),
                    ..Error::timeout(Some(Box::new(error)))
                };
            }
            _ => ErrorKind::Transport(error.into()),
        };
        Error {
            failure: Some(failure),
            ..Error::bare(kind)
        }
    }

    fn bare(kind: ErrorKind) -> Error {
        Error {
            kind,
            attempts: Box::default(),
            stop: None,
            failure: None,
            retryable: None,
            cause: None,
        }
    }

    /// A [`ErrorKind::Timeout`], with what timed out below us if it was not our own limit.
    pub(crate) fn timeout(cause: Option<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error {
            cause,
            ..Error::new(ErrorKind::Timeout)
        }
    }

    /// An error of `kind` with the attempts made and the reason the last one was not retried.
    pub fn with_history(
        kind: ErrorKind,
        attempts: Vec<AttemptRecord>,
        stop: Option<StopReason>,
    ) -> Error {
        Error {
            failure: failure_of(&kind),
            attempts: attempts.into_boxed_slice(),
            stop,
            ..Error::bare(kind)
        }
    }

    /// An error for an invalid request or configuration.
    pub fn invalid_request(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidRequest(message.into()))
    }

    /// The blocking client was called where waiting could deadlock.
    pub fn blocking_in_async() -> Error {
        Error::new(ErrorKind::BlockingInAsync)
    }

    /// The blocking client's runtime thread has stopped.
    pub fn runtime_stopped() -> Error {
        Error::new(ErrorKind::RuntimeStopped)
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The API's error, when the API answered.
    pub fn api_error(&self) -> Option<&ApiError> {
        match &self.kind {
            ErrorKind::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<http::StatusCode> {
        self.api_error().map(ApiError::status)
    }

    /// The request id to quote to support: the final response's, else the last one seen.
    pub fn request_id(&self) -> Option<&str> {
        self.api_error().and_then(ApiError::request_id).or_else(|| {
            self.attempts
                .iter()
                .rev()
                .find_map(|a| a.request_id.as_deref())
        })
    }

    /// Every attempt made, in order, with the wait before each.
    pub fn attempts(&self) -> &[AttemptRecord] {
        &self.attempts
    }

    /// Why the last attempt was not retried.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    /// The delay the server asked for when it was longer than the client's maximum wait:
    /// the caller decides whether to come back then.
    pub fn requested_delay(&self) -> Option<std::time::Duration> {
        self.stop.and_then(|s| s.requested_delay())
    }

    /// Whether the API answered with an error (as opposed to no answer or a local problem).
    pub fn is_api(&self) -> bool {
        matches!(self.kind, ErrorKind::Api(_))
    }

    /// Takes the API's error out, when the API answered.
    pub fn into_api_error(self) -> Option<ApiError> {
        match self.kind {
            ErrorKind::Api(e) => Some(*e),
            _ => None,
        }
    }

    /// Turns the error a `ClientWithMiddleware` returned back into ours (the retry middleware
    /// wraps its errors so the attempt history survives the trip through `anyhow`).
    pub fn from_middleware(error: reqwest_middleware::Error) -> Error {
        match error {
            reqwest_middleware::Error::Middleware(inner) => match inner.downcast::<Error>() {
                Ok(ours) => ours,
                Err(other) => Error::new(ErrorKind::Transport(
                    reqwest_middleware::Error::Middleware(other),
                )),
            },
            reqwest_middleware::Error::Reqwest(e) => {
                // reqwest's errors lose the query and credentials of the URL they name first
                // (see `crate::redact`).
                let e = crate::redact::reqwest_error(e);
                let failure = reqwest_failure(&e);
                Error::from_reqwest(e, failure)
            }
        }
    }

    /// What the policy is told of this error when a layer below the retry middleware
    /// returned it: the failure it keeps, or [`TransportFailure::other`] for a kind that is
    /// none.
    pub(crate) fn transport_failure(&self) -> TransportFailure {
        self.failure.unwrap_or_else(TransportFailure::other)
    }

    /// Records the run that ended on this error: its attempts, why it stopped, and the
    /// client's policy's answer to [`Error::is_retryable`] for the outcome it stopped on
    /// (`None` when there was none: no attempt could be made).
    pub(crate) fn set_history(
        &mut self,
        attempts: Vec<AttemptRecord>,
        stop: Option<StopReason>,
        retryable: Option<bool>,
    ) {
        self.attempts = attempts.into_boxed_slice();
        self.stop = stop;
        self.retryable = retryable;
    }

    /// The client's policy's answer to [`Error::is_retryable`], for an error read from a
    /// response the retry middleware stopped on ([`Retryable`]).
    pub(crate) fn judged(mut self, retryable: Option<Retryable>) -> Error {
        self.retryable = retryable.map(|Retryable(answer)| answer);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Api(e) => write!(f, "{e}")?,
            ErrorKind::Transport(_)
                if self.failure.is_some_and(|t| t.kind == TransportKind::Connect) =>
            {
                f.write_str("connection failed")?
            }
            ErrorKind::Transport(_) => f.write_str("request failed without a response")?,
            ErrorKind::Timeout => f.write_str("request timed out")?,
            ErrorKind::Certificate(_) => match self.failure.and_then(|t| t.certificate_reason()) {
                Some(reason) => write!(f, "certificate not trusted: {reason}")?,
                None => f.write_str("certificate not trusted")?,
            },
            ErrorKind::Tls(_) => f.write_str("tls handshake failed")?,
            ErrorKind::UnsupportedScheme(scheme) => write!(
                f,
                "url scheme {scheme:?} is not supported by this build (https needs errors-http's rustls or native-tls feature)"
            )?,
            ErrorKind::ResponseTooLarge { limit } => {
                write!(f, "response body larger than the {limit}-byte limit")?
            }
            ErrorKind::DeadlineExceeded => f.write_str("deadline exceeded before the request could be sent")?,
            ErrorKind::Decode(_) => f.write_str("failed to decode the response body")?,
            ErrorKind::InvalidRequest(message) => write!(f, "invalid request: {message}")?,
            ErrorKind::BlockingInAsync => f.write_str(
                "the blocking client was called where waiting could deadlock (a current-thread async runtime, or its own runtime thread); use errors-http's ApiClient there",
            )?,
            ErrorKind::RuntimeStopped => f.write_str(
                "the blocking client's runtime thread has stopped (it panicked, or the process forked); build a new client",
            )?,
            ErrorKind::TooManyRedirects { location } => {
                write!(f, "too many redirects, the last to {location}")?
            }
            ErrorKind::RedirectNotFollowed { location, reason } => {
                write!(f, "redirect to {location} not followed: {reason}")?
            }
        }
        let n = self.attempts.len();
        match self.stop {
            Some(StopReason::NotRetryable) | Some(StopReason::Succeeded) | None if n <= 1 => Ok(()),
            // The kind already says it.
            Some(StopReason::DeadlineExceeded)
                if n == 0 && matches!(self.kind, ErrorKind::DeadlineExceeded) =>
            {
                Ok(())
            }
            Some(stop) if n <= 1 => write!(f, "; {stop}"),
            Some(stop) => write!(f, "; {stop} after {n} attempts"),
            None => write!(f, "; after {n} attempts"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("stop", &self.stop)
            .field("attempts", &self.attempts)
            .field("cause", &self.cause)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            // The API error's own line is our Display: forward its cause, not itself.
            ErrorKind::Api(e) => std::error::Error::source(&**e),
            ErrorKind::Transport(e) | ErrorKind::Certificate(e) | ErrorKind::Tls(e) => Some(e),
            ErrorKind::Decode(e) => Some(e),
            ErrorKind::Timeout => self
                .cause
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        Error::new(ErrorKind::Api(Box::new(error)))
    }
}

/// The client's policy's answer to [`Error::is_retryable`] for the error response a retry
/// run stopped on, left in the response's extensions beside
/// [`Attempts`](crate::Attempts), so the error read from the response answers the same.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retryable(pub(crate) bool);

/// What a failure below HTTP is, as far as the policy is concerned, without taking the error:
/// reqwest's, read once, or the failure one of ours keeps (a middleware below the one asking
/// returned it).
pub(crate) fn failure_in(error: &reqwest_middleware::Error) -> TransportFailure {
    match error {
        reqwest_middleware::Error::Middleware(inner) => inner
            .downcast_ref::<Error>()
            .map_or_else(TransportFailure::other, Error::transport_failure),
        reqwest_middleware::Error::Reqwest(e) => reqwest_failure(e),
    }
}

/// The failure an error made from its kind stands for: the kinds errors-http makes itself
/// (a body over the limit, a redirect it does not follow, a request it refuses, an attempt
/// it cuts), or whatever a caller put together with [`Error::with_history`]. An error read
/// from reqwest keeps the failure it was made from ([`Error::from_reqwest`]); for the kinds
/// both make, a test checks that the two agree.
fn failure_of(kind: &ErrorKind) -> Option<TransportFailure> {
    Some(match kind {
        ErrorKind::Transport(e) => failure_in(e),
        ErrorKind::Timeout => TransportFailure::timeout(),
        // The reason, when the cause says one.
        ErrorKind::Certificate(e) => match failure_in(e) {
            read if read.kind == TransportKind::Certificate => read,
            _ => TransportFailure::certificate(),
        },
        ErrorKind::Tls(_) => TransportFailure::tls(),
        ErrorKind::UnsupportedScheme(_) => TransportFailure::unsupported_scheme(),
        ErrorKind::InvalidRequest(_) => TransportFailure::rejected(),
        ErrorKind::ResponseTooLarge { .. } => TransportFailure::response_too_large(),
        ErrorKind::TooManyRedirects { .. } => TransportFailure::too_many_redirects(),
        ErrorKind::RedirectNotFollowed { .. } => TransportFailure::redirect(),
        ErrorKind::Api(_)
        | ErrorKind::DeadlineExceeded
        | ErrorKind::Decode(_)
        | ErrorKind::BlockingInAsync
        | ErrorKind::RuntimeStopped => return None,
    })
}

/// An error and its causes on one line, joined with `": "`, for an [`ErrorKind`] that keeps
/// text rather than the error (the causes are then not repeated by a `source()` chain).
pub(crate) fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// Matching an error in one call, in the style of reqwest's `is_timeout()` and the AWS SDK's
/// `ProvideErrorMetadata`: the same questions [`ApiError`] answers, asked of the error either
/// facade returns.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use errors_core::{ApiError, ErrorCode};
/// use errors_http::Error;
/// use http::{HeaderMap, StatusCode};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "2".parse().unwrap());
/// let body = br#"{"error":{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded"},"request_id":"r-1"}"#;
/// let err: Error = ApiError::parse(StatusCode::TOO_MANY_REQUESTS, &headers, body, SystemTime::UNIX_EPOCH).into();
///
/// assert_eq!(err.code(), Some(&ErrorCode::RateLimitError));
/// assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
/// assert_eq!(err.request_id(), Some("r-1"));
/// assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
/// assert!(err.is_rate_limited() && err.is_retryable() && !err.is_timeout());
/// ```
impl Error {
    /// The API's application code, when the API answered with one.
    pub fn code(&self) -> Option<&errors_core::ErrorCode> {
        self.api_error().and_then(ApiError::code)
    }

    /// How long the server asked the client to wait (`Retry-After`) in its last answer. When
    /// that was longer than the client's maximum wait it is also
    /// [`requested_delay`](Error::requested_delay).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.api_error()
            .and_then(ApiError::retry_after)
            .or_else(|| self.requested_delay())
    }

    /// Whether the same request could succeed if sent again later.
    ///
    /// For an error a retry run stopped on, the client's own policy answers for the outcome
    /// it stopped on ([`RetryPolicy::is_retryable`](errors_core::RetryPolicy::is_retryable)):
    /// the API's contract for its answer, changed by the policy's overrides (a rule that
    /// never retries `TIMEOUT` makes a 504 `TIMEOUT` not retryable), or a failure below HTTP
    /// that a retry may get past (a refused connection, a timeout, a reset). `true` when no
    /// attempt could be made before the deadline. For an error no run stopped on (made with
    /// [`Error::with_history`] or `From<ApiError>`, or read from a response that did not come
    /// through [`RetryMiddleware`](crate::RetryMiddleware)), the API's contract answers
    /// ([`ApiError::is_retryable`]), and `true` when a limit stopped its run
    /// ([`StopReason::is_limit`]).
    ///
    /// `false` for an answer waiting cannot fix (auth, validation, quota), a request the
    /// HTTP client refused to send, a certificate or handshake that failed, a body that did
    /// not decode, a bad configuration. It says nothing about this client's limits (a rate
    /// limit with `Retry-After: 86400` is retryable, tomorrow), nor whether the method makes
    /// sending again safe (a POST answered 503 is retryable, and its
    /// [`stop_reason`](Error::stop_reason) is [`StopReason::UnsafeToRepeat`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use errors_core::{ErrorCode, RetryPolicy};
    /// use errors_core::retry::RetryOverride;
    /// use errors_http::ApiClient;
    /// use errors_testkit::{FakeApi, fixtures};
    ///
    /// let api = FakeApi::new(); // answers in process, for this example
    /// api.mount(fixtures::timeout()); // 504 TIMEOUT: the contract says it may pass
    /// let client = ApiClient::builder()
    ///     .base_url(api.uri())
    ///     .with_middleware(api.clone())
    ///     // The reference's remedy for TIMEOUT is a smaller batch, not the same request.
    ///     .policy(RetryPolicy::default().with_code_override(ErrorCode::Timeout, RetryOverride::Never))
    ///     .build()
    ///     .unwrap();
    ///
    /// let err = client.get_json::<serde_json::Value>("batch").await.unwrap_err();
    /// assert_eq!(err.attempts().len(), 1);
    /// assert!(err.is_timeout() && !err.is_retryable()); // this client's rule says so
    /// # }
    /// ```
    pub fn is_retryable(&self) -> bool {
        if let Some(answer) = self.retryable {
            return answer;
        }
        if self.stop.is_some_and(|stop| stop.is_limit()) {
            return true;
        }
        match (&self.kind, self.failure) {
            (ErrorKind::Api(e), _) => e.is_retryable(),
            (ErrorKind::DeadlineExceeded, _) => true,
            (_, Some(failure)) => !failure.kind.is_permanent(),
            (_, None) => false,
        }
    }

    /// Whether the API's rate limiter rejected the request ([`ApiError::is_rate_limited`]).
    pub fn is_rate_limited(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_rate_limited)
    }

    /// Whether the request timed out: an attempt ran out of time, the deadline passed, the
    /// HTTP client timed out, or the API or its gateway answered that it did (504, `TIMEOUT`).
    pub fn is_timeout(&self) -> bool {
        match &self.kind {
            ErrorKind::Api(e) => e.is_timeout(),
            ErrorKind::Transport(_) => self.failure.is_some_and(|t| t.is_timeout()),
            ErrorKind::Timeout | ErrorKind::DeadlineExceeded => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reqwest error made without a network: the kind made from a failure takes only its
    /// URL, text and chain from it.
    fn some_reqwest_error() -> reqwest::Error {
        reqwest::Client::new()
            .get("http://127.0.0.1:9/x")
            .header("bad header", "v")
            .build()
            .unwrap_err()
    }

    #[test]
    fn our_own_errors_from_below_keep_their_meaning() {
        let cases = [
            (ErrorKind::Timeout, TransportFailure::timeout()),
            (
                ErrorKind::InvalidRequest("x".into()),
                TransportFailure::rejected(),
            ),
            (
                ErrorKind::UnsupportedScheme("ftp".into()),
                TransportFailure::unsupported_scheme(),
            ),
            (
                ErrorKind::ResponseTooLarge { limit: 1 },
                TransportFailure::response_too_large(),
            ),
        ];
        for (kind, expected) in cases {
            let text = format!("{kind:?}");
            assert_eq!(failure_of(&kind), Some(expected), "{text}");
            // Returned by a layer below the retry middleware, the policy is told the same.
            let from_below = reqwest_middleware::Error::middleware(Error::new(kind));
            assert_eq!(failure_in(&from_below), expected, "{text}");
            assert_eq!(
                Error::from_middleware(from_below).transport_failure(),
                expected,
                "{text}"
            );
        }
        let foreign = reqwest_middleware::Error::middleware(std::io::Error::other("not ours"));
        assert_eq!(failure_in(&foreign), TransportFailure::other());
        assert_eq!(
            Error::from_middleware(foreign).transport_failure(),
            TransportFailure::other()
        );
    }

    #[test]
    fn a_kind_made_from_a_failure_stands_for_that_failure() {
        // Every failure errors-http also makes from a kind of its own: the two directions
        // agree, so neither is kept in step by hand.
        for failure in [
            TransportFailure::timeout(),
            TransportFailure::rejected(),
            TransportFailure::unsupported_scheme(),
            TransportFailure::redirect(),
            TransportFailure::too_many_redirects(),
            TransportFailure::certificate(),
            TransportFailure::tls(),
        ] {
            let error = Error::from_reqwest(some_reqwest_error(), failure);
            assert_eq!(error.transport_failure(), failure, "{error:?}");
            assert_eq!(failure_of(error.kind()), Some(failure), "{error:?}");
        }
    }

    #[test]
    fn the_failure_decides_the_kind_and_the_error_keeps_it() {
        use ErrorKind as K;
        let made = |failure| Error::from_reqwest(some_reqwest_error(), failure);
        assert!(matches!(
            made(TransportFailure::connect()).kind,
            K::Transport(_)
        ));
        assert!(matches!(
            made(TransportFailure::other()).kind,
            K::Transport(_)
        ));
        assert!(matches!(made(TransportFailure::timeout()).kind, K::Timeout));
        assert!(matches!(
            made(TransportFailure::unsupported_scheme()).kind,
            K::UnsupportedScheme(_)
        ));
        assert!(matches!(
            made(TransportFailure::rejected()).kind,
            K::InvalidRequest(_)
        ));
        // A connection that timed out is a timeout for the caller, and a connection that
        // was never made for the policy.
        let connect_timeout = made(TransportFailure::connect_timeout());
        assert!(matches!(connect_timeout.kind, K::Timeout));
        assert!(connect_timeout.is_timeout() && connect_timeout.is_retryable());
        assert_eq!(
            connect_timeout.transport_failure(),
            TransportFailure::connect_timeout()
        );
        // The certificate's reason is data, not read again from the chain.
        let certificate = made(TransportFailure::untrusted_certificate("expired"));
        assert!(matches!(certificate.kind, K::Certificate(_)));
        assert_eq!(certificate.to_string(), "certificate not trusted: expired");
        assert!(!certificate.is_retryable());
        assert_eq!(
            made(TransportFailure::certificate()).to_string(),
            "certificate not trusted"
        );
        assert_eq!(
            made(TransportFailure::connect()).to_string(),
            "connection failed"
        );
        assert_eq!(
            made(TransportFailure::other()).to_string(),
            "request failed without a response"
        );
        assert!(!made(TransportFailure::connect()).is_timeout());
    }

    #[test]
    fn the_runs_answer_decides_whether_it_is_retryable() {
        let mut said_no = Error::new(ErrorKind::Timeout);
        assert!(said_no.is_retryable(), "a timeout, by the contract");
        said_no.set_history(Vec::new(), Some(StopReason::NotRetryable), Some(false));
        assert!(!said_no.is_retryable(), "the policy said no");
        let mut said_yes = Error::invalid_request("x");
        assert!(!said_yes.is_retryable());
        said_yes.set_history(Vec::new(), Some(StopReason::NotRetryable), Some(true));
        assert!(said_yes.is_retryable(), "the policy said yes");
        assert!(
            !Error::new(ErrorKind::Timeout)
                .judged(Some(Retryable(false)))
                .is_retryable()
        );
        assert!(Error::new(ErrorKind::Timeout).judged(None).is_retryable());
        // No answer recorded: a limit says the run would have gone on.
        for (stop, retryable) in [
            (StopReason::RetriesExhausted, true),
            (StopReason::BudgetExhausted, true),
            (StopReason::NotRetryable, false),
            (StopReason::UnsafeToRepeat, false),
        ] {
            let kind = ErrorKind::InvalidRequest("x".into());
            let error = Error::with_history(kind, Vec::new(), Some(stop));
            assert_eq!(error.is_retryable(), retryable, "{stop:?}");
        }
        assert!(Error::new(ErrorKind::DeadlineExceeded).is_retryable());
        assert!(!Error::blocking_in_async().is_retryable());
    }
}

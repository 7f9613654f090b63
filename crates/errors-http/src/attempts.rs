//! What the middleware leaves on a response: the attempt history and the parsed error.

use errors_core::ApiError;
use errors_core::retry::{AttemptRecord, StopReason};

/// The attempts behind a response, in its extensions (`response.extensions().get::<Attempts>()`),
/// on success and on an error response the middleware gave back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Attempts {
    /// Every attempt, in order, with the wait before each.
    pub records: Vec<AttemptRecord>,
    /// Why the last attempt was not followed by another.
    pub stop: StopReason,
}

/// The error the middleware already parsed from a response it gave back, so reading the
/// response into an [`Error`](crate::Error) does not parse it twice.
#[derive(Debug, Clone)]
pub(crate) struct ParsedError(pub(crate) ApiError);

/// Marks a non-idempotent request (POST, PATCH) as safe to send again when its outcome is
/// unknown. Mark only what you know is harmless to repeat: the API's reference documents no
/// idempotency key, so a repeated POST may create a second job unless your own request makes
/// a duplicate impossible (an id of yours the server rejects twice, say).
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) {
/// use errors_http::SafeToRepeat;
/// let request = client
///     .post("http://127.0.0.1:1/jobs")
///     .with_extension(SafeToRepeat);
/// # let _ = request;
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeToRepeat;

//! One attempt: sent below the middleware, and what came back.

use errors_core::retry::TransportFailure;
use http::Extensions;
use reqwest::{Request, Response};

use super::rebuild::Head;
use crate::downstream::Downstream;
use crate::error::Error;
use crate::response::read_bounded;

/// Sends one attempt and, for an error status, reads its body up to the limit.
pub(super) async fn send_and_read(
    below: &impl Downstream,
    request: Request,
    extensions: &mut Extensions,
    limit: usize,
) -> Result<Received, AttemptFailure> {
    let mut response = below
        .run(request, extensions)
        .await
        .map_err(AttemptFailure::Send)?;
    let status = response.status();
    if !errors_core::status::is_error_status(status) {
        return Ok(Received::Success(response));
    }
    let head = Head::take(&mut response);
    let body = read_bounded(&mut response, limit).await;
    Ok(Received::Error { head, body })
}

/// What one attempt received: a success, or an error response's head and body (read up to
/// the limit).
pub(super) enum Received {
    Success(Response),
    Error { head: Head, body: Vec<u8> },
}

/// An attempt that received no response.
pub(super) enum AttemptFailure {
    Send(reqwest_middleware::Error),
    TimedOut,
}

impl AttemptFailure {
    /// The error the caller gets if it is the last one, and the failure it keeps, which
    /// the policy is told.
    pub(super) fn classify(self) -> (TransportFailure, Error) {
        let error = match self {
            // The policy's own time limit (the attempt timeout or the deadline's remainder)
            // cut the attempt, body read included.
            AttemptFailure::TimedOut => Error::timeout(None),
            AttemptFailure::Send(e) => Error::from_middleware(e),
        };
        (error.transport_failure(), error)
    }
}

/// Whether reqwest itself followed a redirect during the attempt: the answer (or the failure)
/// is for another URL than the one sent. That happens with a client whose redirect policy
/// follows (one passed to `with_client`, or this middleware in a chain of the caller's);
/// [`ApiClient`](crate::ApiClient)'s own layer follows redirects itself and says so with
/// [`Redirected`](crate::layer::Redirected).
pub(super) fn redirected_by_reqwest(
    sent: &reqwest::Url,
    result: &Result<Received, AttemptFailure>,
) -> bool {
    let answered = match result {
        Ok(Received::Success(response)) => response.url(),
        Ok(Received::Error { head, .. }) => &head.url,
        Err(AttemptFailure::Send(reqwest_middleware::Error::Reqwest(e))) => match e.url() {
            Some(url) => url,
            None => return false,
        },
        Err(_) => return false,
    };
    // A response a middleware made without a URL carries reqwest's placeholder: not a hop.
    answered != sent && answered.host_str() != Some("no.url.provided.local")
}

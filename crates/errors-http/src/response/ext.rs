//! Turning a `reqwest::Response` into the response or the API's error.

use std::future::Future;

use errors_core::ApiError;
use errors_core::clock::{Clock as _, SystemClock};
use errors_core::error::ErrorParser;
use serde::de::DeserializeOwned;

use crate::attempts::{Attempts, ParsedError};
use crate::error::{Error, ErrorKind, Retryable};

/// Reads a response as the API's result: the response on success, the parsed [`Error`]
/// otherwise (the body read up to 64 KiB), with the attempt history when the response came
/// through [`RetryMiddleware`](crate::RetryMiddleware).
///
/// ```no_run
/// use errors_http::ResponseExt as _;
/// # async fn demo() -> Result<(), errors_http::Error> {
/// let response = reqwest::get("http://127.0.0.1:8080/rules/1").await.map_err(|e| errors_http::Error::from_middleware(e.into()))?;
/// let rule: serde_json::Value = response.json_or_api_error().await?;
/// # let _ = rule; Ok(()) }
/// ```
pub trait ResponseExt: Sized {
    /// The response if its status is not an error; the API's error otherwise.
    fn error_for_api_status(self) -> impl Future<Output = Result<reqwest::Response, Error>> + Send;

    /// The success body decoded as JSON into `T`, or the API's error.
    fn json_or_api_error<T: DeserializeOwned>(
        self,
    ) -> impl Future<Output = Result<T, Error>> + Send;
}

impl ResponseExt for reqwest::Response {
    async fn error_for_api_status(mut self) -> Result<reqwest::Response, Error> {
        let status = self.status();
        if !errors_core::status::is_error_status(status) {
            return Ok(self);
        }
        let attempts = self.extensions_mut().remove::<Attempts>();
        let retryable = self.extensions_mut().remove::<Retryable>();
        let error = match self.extensions_mut().remove::<ParsedError>() {
            Some(ParsedError(error)) => error,
            None => read_error(self).await,
        };
        let (records, stop) = attempts.map_or((Vec::new(), None), |a| (a.records, Some(a.stop)));
        Err(Error::with_history(ErrorKind::Api(Box::new(error)), records, stop).judged(retryable))
    }

    async fn json_or_api_error<T: DeserializeOwned>(self) -> Result<T, Error> {
        let mut response = self.error_for_api_status().await?;
        let attempts = response.extensions_mut().remove::<Attempts>();
        let history = |kind| match &attempts {
            Some(a) => Error::with_history(kind, a.records.clone(), Some(a.stop)),
            None => Error::with_history(kind, Vec::new(), None),
        };
        let body = response
            .bytes()
            .await
            .map_err(|e| history(ErrorKind::Transport(crate::redact::reqwest_error(e).into())))?;
        serde_json::from_slice(&body).map_err(|e| history(ErrorKind::Decode(e)))
    }
}

/// Reads an error response's body (bounded) and parses it.
async fn read_error(mut response: reqwest::Response) -> ApiError {
    let parser = ErrorParser::default();
    let body = read_bounded(&mut response, parser.body_limit()).await;
    parser.parse(
        response.status(),
        response.headers(),
        &body,
        SystemClock.now(),
    )
}

/// The most an error body reserves before its bytes arrive: a `Content-Length` is the
/// server's word, not bytes received, so a large one (or a lie) grows the buffer only as
/// the body does.
const MAX_ERROR_PREALLOCATION: usize = 16 << 10;

/// Reads at most `limit + 1` bytes of a body (the extra byte tells the parser it was cut),
/// never buffering more. A body that breaks off midway keeps what arrived: the status is
/// known, and it is what the caller needs.
pub(crate) async fn read_bounded(response: &mut reqwest::Response, limit: usize) -> Vec<u8> {
    let expected = response
        .content_length()
        .map_or(1024, |n| n.min(limit as u64 + 1) as usize);
    let mut body = Vec::with_capacity(expected.min(limit + 1).min(MAX_ERROR_PREALLOCATION));
    while body.len() <= limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(limit + 1 - body.len());
                body.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

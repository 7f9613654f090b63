//! An error response taken apart while the policy decides ([`Head`] and the body as read),
//! and put back together ([`rebuild`]) when the middleware stops on it.

use errors_core::ApiError;
use errors_core::retry::{RetryRun, StopReason};
use http::Extensions;
use reqwest::{Response, ResponseBuilderExt as _};

use crate::attempts::{Attempts, ParsedError};
use crate::error::Retryable;

/// The status line, headers and extensions of an error response, kept while the policy
/// decides (the body is read apart, up to the limit).
pub(super) struct Head {
    pub(super) status: http::StatusCode,
    version: http::Version,
    pub(super) headers: http::HeaderMap,
    extensions: Extensions,
    pub(super) url: reqwest::Url,
}

impl Head {
    /// Takes the head out of `response`, leaving its body to read.
    pub(super) fn take(response: &mut Response) -> Head {
        Head {
            status: response.status(),
            version: response.version(),
            headers: std::mem::take(response.headers_mut()),
            extensions: std::mem::take(response.extensions_mut()),
            url: response.url().clone(),
        }
    }
}

/// The response handed back when the middleware stops on an error status: the original
/// status and headers, the body as read, the parsed error, the attempts, and whether the
/// client's policy says the same request could succeed later (`retryable`).
pub(super) fn rebuild(
    head: Head,
    mut body: Vec<u8>,
    error: ApiError,
    run: RetryRun,
    stop: StopReason,
    retryable: bool,
    limit: usize,
) -> Response {
    let mut headers = head.headers;
    if body.len() > limit {
        body.truncate(limit);
        // The body was cut: its original length and framing no longer describe it.
        headers.remove(http::header::CONTENT_LENGTH);
        headers.remove(http::header::TRANSFER_ENCODING);
    }
    let mut builder = http::Response::builder()
        .status(head.status)
        .version(head.version);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    if let Some(e) = builder.extensions_mut() {
        *e = head.extensions;
    }
    // reqwest takes the response's URL from this extension (`From<http::Response<_>>`).
    let builder = builder.url(head.url);
    let mut response: Response = builder
        .body(body)
        .map(Response::from)
        .unwrap_or_else(|_| Response::from(http::Response::new(Vec::new())));
    response.extensions_mut().insert(ParsedError(error));
    response.extensions_mut().insert(Retryable(retryable));
    response.extensions_mut().insert(Attempts {
        records: run.into_attempts(),
        stop,
    });
    response
}

//! The middleware [`ApiClient`](crate::ApiClient) puts *below* the retry middleware, so what
//! it does is part of each attempt (inside the attempt timeout and the deadline):
//!
//! - adds the default headers (`User-Agent` and the builder's `default_headers`) a request
//!   does not already carry;
//! - re-issues a cross-origin redirect, which the client's redirect policy stops at, without
//!   any credential (the API key's header whatever its name, every header marked sensitive,
//!   `Authorization`, `Cookie`, `Proxy-Authorization`);
//! - reads the whole success body of a request [`ApiClient::send`](crate::ApiClient::send)
//!   marked, up to the optional size limit, so a body that stalls, breaks off or is too
//!   large is a failed attempt the policy decides on, not a hang after the call "succeeded".

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName};
use http::{Extensions, Method, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::downstream::Downstream;
use crate::error::{Error, ErrorKind};
use crate::origin::same_origin;

/// The most cross-origin redirects re-issued for one attempt (reqwest itself follows at most
/// ten within an origin).
const MAX_CROSS_ORIGIN_REDIRECTS: usize = 10;

/// Preallocation for a success body of known length, at most this much when no limit is set
/// (a lying `Content-Length` costs no more than this up front).
const MAX_PREALLOCATION: usize = 16 << 20;

/// Marks a request whose success body is read inside the attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadWholeBody;

/// A success body read whole inside the attempt, carried in the response's extensions to
/// [`ApiClient::send`](crate::ApiClient::send) (the response's own body is then spent).
/// Cheaper than building a new response around it: no copy of the URL, headers or
/// extensions.
#[derive(Debug, Clone)]
pub(crate) struct WholeBody(pub(crate) Bytes);

#[derive(Debug, Clone)]
pub(crate) struct ClientLayer {
    pub(crate) default_headers: HeaderMap,
    /// The header carrying the API key, stripped on a cross-origin redirect.
    pub(crate) auth_header: Option<HeaderName>,
    pub(crate) max_response_bytes: Option<u64>,
}

/// The redirect policy of the clients [`ApiClient`](crate::ApiClient) builds: up to ten
/// redirects within one origin are followed by reqwest; a redirect to another origin is
/// handed back so the client can re-issue it without credentials.
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let cross_origin = attempt
            .previous()
            .last()
            .is_some_and(|previous| !same_origin(previous, attempt.url()));
        if cross_origin {
            attempt.stop()
        } else if attempt.previous().len() > 10 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

#[async_trait::async_trait]
impl Middleware for ClientLayer {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let read_whole_body = extensions.get::<ReadWholeBody>().is_some();
        self.handle_over(request, extensions, &next, read_whole_body)
            .await
    }
}

impl ClientLayer {
    /// The layer's work for one attempt, sending through `below`.
    pub(crate) async fn handle_over(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        below: &impl Downstream,
        read_whole_body: bool,
    ) -> reqwest_middleware::Result<Response> {
        for (name, value) in &self.default_headers {
            if !request.headers().contains_key(name) {
                request.headers_mut().insert(name.clone(), value.clone());
            }
        }
        let mut response = self.send_following(request, extensions, below).await?;
        let status = response.status();
        if read_whole_body && !errors_core::is_error_status(status) {
            let body = self
                .read_whole(&mut response)
                .await
                .map_err(reqwest_middleware::Error::middleware)?;
            response.extensions_mut().insert(WholeBody(body));
        }
        Ok(response)
    }

    /// Sends `request`; a redirect to another origin (where reqwest stopped) is sent again
    /// to its target without credentials, at most [`MAX_CROSS_ORIGIN_REDIRECTS`] times.
    async fn send_following(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        below: &impl Downstream,
    ) -> reqwest_middleware::Result<Response> {
        for _ in 0..MAX_CROSS_ORIGIN_REDIRECTS {
            let copy = request.try_clone();
            let response = below.run(request, extensions).await?;
            let Some(copy) = copy else {
                return Ok(response);
            };
            match self.cross_origin_redirect(copy, &response) {
                Some(again) => request = again,
                None => return Ok(response),
            }
        }
        below.run(request, extensions).await
    }

    /// The request to send for a redirect to another origin, or `None` to hand the response
    /// back as it is (no redirect, same origin, no usable `Location`, a body that cannot be
    /// sent again).
    fn cross_origin_redirect(&self, mut request: Request, response: &Response) -> Option<Request> {
        let status = response.status();
        let keeps_method = match status {
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => true,
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER => false,
            _ => return None,
        };
        let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
        let target = response.url().join(location).ok()?;
        if !matches!(target.scheme(), "http" | "https") || same_origin(&target, response.url()) {
            return None;
        }
        let headers = request.headers_mut();
        strip_credentials(headers, self.auth_header.as_ref());
        // As reqwest does within an origin: 301, 302 and 303 drop the body and turn any
        // method but GET and HEAD into GET; 307 and 308 keep both.
        if !keeps_method {
            if !matches!(*request.method(), Method::GET | Method::HEAD) {
                *request.method_mut() = Method::GET;
            }
            *request.body_mut() = None;
            let headers = request.headers_mut();
            for name in [
                header::CONTENT_TYPE,
                header::CONTENT_LENGTH,
                header::CONTENT_ENCODING,
                header::TRANSFER_ENCODING,
            ] {
                headers.remove(name);
            }
        }
        *request.url_mut() = target;
        Some(request)
    }

    /// Reads a success body whole, or fails with [`ErrorKind::ResponseTooLarge`] as soon as
    /// it is known to exceed the limit (from `Content-Length`, or while reading), buffering
    /// nothing past the limit.
    async fn read_whole(&self, response: &mut Response) -> Result<Bytes, Error> {
        let limit = self.max_response_bytes;
        let too_large = |limit| Error::new(ErrorKind::ResponseTooLarge { limit });
        let declared = response.content_length();
        if let (Some(limit), Some(declared)) = (limit, declared)
            && declared > limit
        {
            return Err(too_large(limit));
        }
        let capacity = declared
            .unwrap_or(0)
            .min(limit.unwrap_or(MAX_PREALLOCATION as u64))
            .min(MAX_PREALLOCATION as u64) as usize;
        let mut body = BytesMut::with_capacity(capacity);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| crate::transport::into_error(e.into()))?
        {
            if let Some(limit) = limit
                && (body.len() + chunk.len()) as u64 > limit
            {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}

/// Removes every header that may carry a credential before a request goes to another origin.
fn strip_credentials(headers: &mut HeaderMap, auth_header: Option<&HeaderName>) {
    if let Some(name) = auth_header {
        headers.remove(name);
    }
    for name in [
        header::AUTHORIZATION,
        header::COOKIE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    let sensitive: Vec<HeaderName> = headers
        .iter()
        .filter(|(_, v)| v.is_sensitive())
        .map(|(n, _)| n.clone())
        .collect();
    for name in sensitive {
        headers.remove(name);
    }
}

//! The middleware [`ApiClient`](crate::ApiClient) puts *below* the retry middleware, so what
//! it does is part of each attempt (inside the attempt timeout and the deadline):
//!
//! - adds the default headers (`User-Agent` and the builder's `default_headers`) a request
//!   does not already carry;
//! - follows redirects itself, hop by hop (the client's reqwest follows none): each hop is
//!   sent as the previous hop's answer says (301, 302 and 303 turn into a bodiless `GET`,
//!   307 and 308 keep the method and the body), a hop to another origin goes without any
//!   credential (the API key's header whatever its name, every header marked sensitive,
//!   `Authorization`, `Cookie`, `Proxy-Authorization`), and a redirect that cannot be
//!   followed (too many, a `Location` that is not an `http(s)` URL, a body that cannot be
//!   sent again) is an error naming the `Location`. It marks the attempt [`Redirected`], so
//!   the retry decision knows the caller's request was answered;
//! - reads the whole success body of a request [`ApiClient::send`](crate::ApiClient::send)
//!   marked, up to the optional size limit, so a body that stalls, breaks off or is too
//!   large is a failed attempt the policy decides on, not a hang after the call "succeeded".
//!
//! In a chain it is a reqwest-middleware middleware; [`Layered`] runs it over reqwest
//! directly.

use std::future::Future;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName};
use http::{Extensions, Method, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::downstream::{Downstream, Reqwest};
use crate::error::{Error, ErrorKind};
use crate::origin::same_origin;

/// The most redirects followed for one attempt, as reqwest's and browsers' defaults: past
/// that it is a loop, most likely, and the attempt fails with
/// [`ErrorKind::TooManyRedirects`].
pub(crate) const MAX_REDIRECTS: usize = 10;

/// Preallocation for a success body of known length, at most this much when no limit is set
/// (a lying `Content-Length` costs no more than this up front).
const MAX_PREALLOCATION: usize = 16 << 20;

/// Marks a request whose success body is read inside the attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadWholeBody;

/// Marks a request whose path resolved outside the base URL's path: the client's layer
/// fails it with [`ErrorKind::InvalidRequest`] before it is sent.
#[derive(Debug, Clone)]
pub(crate) struct RefusedPath(pub(crate) String);

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
    pub(crate) response_body_limit: Option<usize>,
}

/// Put in the attempt's extensions when a hop of it was answered with a redirect that was
/// followed: the request the caller made was received, so a later hop's `429` or refused
/// connection does not make a POST safe to send again (see
/// [`RetryRun::mark_redirected`](errors_core::retry::RetryRun::mark_redirected)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Redirected;

/// The redirect policy of the clients [`ApiClient`](crate::ApiClient) builds: reqwest follows
/// none; [`ClientLayer`] follows them hop by hop.
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::none()
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

/// The client's layer over reqwest, without a middleware chain: [`ApiClient::send`]'s path,
/// so the layer reads the success body whole (what [`ReadWholeBody`] says in a chain).
///
/// [`ApiClient::send`]: crate::ApiClient::send
pub(crate) struct Layered<'c> {
    layer: &'c ClientLayer,
    http: Reqwest<'c>,
}

impl<'c> Layered<'c> {
    pub(crate) fn new(layer: &'c ClientLayer, http: &'c reqwest::Client) -> Layered<'c> {
        Layered {
            layer,
            http: Reqwest(http),
        }
    }
}

impl Downstream for Layered<'_> {
    fn run<'a>(
        &'a self,
        request: Request,
        extensions: &'a mut Extensions,
    ) -> impl Future<Output = reqwest_middleware::Result<Response>> + Send + 'a {
        self.layer
            .handle_over(request, extensions, &self.http, true)
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
        if let Some(RefusedPath(reason)) = extensions.get::<RefusedPath>() {
            return Err(reqwest_middleware::Error::middleware(
                Error::invalid_request(reason.clone()),
            ));
        }
        for name in self.default_headers.keys() {
            if !request.headers().contains_key(name) {
                // Every value of a header given more than once (`Accept`, `Cache-Control`).
                for value in self.default_headers.get_all(name) {
                    request.headers_mut().append(name.clone(), value.clone());
                }
            }
        }
        let mut response = self.send_following(request, extensions, below).await?;
        let status = response.status();
        if read_whole_body && !errors_core::status::is_error_status(status) {
            let body = self
                .read_whole(&mut response)
                .await
                .map_err(reqwest_middleware::Error::middleware)?;
            response.extensions_mut().insert(WholeBody(body));
        }
        Ok(response)
    }

    /// Sends `request` and follows its redirects, at most [`MAX_REDIRECTS`] of them: each
    /// hop is what the previous hop's answer asks for, without credentials once it leaves
    /// the origin it came from.
    async fn send_following(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        below: &impl Downstream,
    ) -> reqwest_middleware::Result<Response> {
        let mut hops = 0;
        loop {
            let copy = Hop::of(&request);
            let response = below.run(request, extensions).await?;
            let Some(redirect) = Redirect::of(&response) else {
                return Ok(response);
            };
            // The request the caller made was answered, whatever comes of the next hop.
            extensions.insert(Redirected);
            let fail = |kind| Err(reqwest_middleware::Error::middleware(Error::new(kind)));
            let target = match redirect.target(&response) {
                Ok(target) => target,
                Err(reason) => {
                    return fail(ErrorKind::RedirectNotFollowed {
                        location: redirect.location_text(&response),
                        reason,
                    });
                }
            };
            hops += 1;
            if hops > MAX_REDIRECTS {
                return fail(ErrorKind::TooManyRedirects {
                    location: crate::redact::url_text(&target),
                });
            }
            match self.next_hop(copy, redirect.status, response.url(), target) {
                Ok(next) => request = next,
                Err((reason, target)) => {
                    return fail(ErrorKind::RedirectNotFollowed {
                        location: crate::redact::url_text(&target),
                        reason,
                    });
                }
            }
        }
    }

    /// The request a redirect with `status` from `from` to `target` asks for, made from the
    /// hop it answers: as reqwest and browsers do, 301, 302 and 303 drop the body and turn
    /// any method but `GET` and `HEAD` into `GET`; 307 and 308 keep both. Every credential
    /// is stripped once the hop leaves the origin it came from.
    fn next_hop(
        &self,
        hop: Hop,
        status: StatusCode,
        from: &reqwest::Url,
        target: reqwest::Url,
    ) -> Result<Request, (&'static str, reqwest::Url)> {
        let keeps_method = matches!(
            status,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
        );
        let mut request = match hop {
            Hop::Whole(request) => request,
            Hop::WithoutBody(request) if !keeps_method => request,
            Hop::WithoutBody(_) => {
                return Err((
                    "the request body is a stream that cannot be sent again",
                    target,
                ));
            }
        };
        if !same_origin(from, &target) {
            strip_credentials(request.headers_mut(), self.auth_header.as_ref());
        }
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
        Ok(request)
    }

    /// Reads a success body whole, or fails with [`ErrorKind::ResponseTooLarge`] as soon as
    /// it is known to exceed the limit (from `Content-Length`, or while reading), buffering
    /// nothing past the limit.
    async fn read_whole(&self, response: &mut Response) -> Result<Bytes, Error> {
        let limit = self.response_body_limit;
        let too_large = |limit| Error::new(ErrorKind::ResponseTooLarge { limit });
        // A length past `usize::MAX` is past any limit.
        let declared = response
            .content_length()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        if let (Some(limit), Some(declared)) = (limit, declared)
            && declared > limit
        {
            return Err(too_large(limit));
        }
        let capacity = declared
            .unwrap_or(0)
            .min(limit.unwrap_or(MAX_PREALLOCATION))
            .min(MAX_PREALLOCATION);
        let mut body = BytesMut::with_capacity(capacity);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Error::from_middleware(e.into()))?
        {
            if let Some(limit) = limit
                && body.len().saturating_add(chunk.len()) > limit
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

/// What is kept of a hop before it is sent, to make the next one from if it is redirected.
enum Hop {
    /// The whole request, body included.
    Whole(Request),
    /// The request but its body, a stream that cannot be sent twice: enough for a redirect
    /// that drops the body (301, 302, 303).
    WithoutBody(Request),
}

impl Hop {
    fn of(request: &Request) -> Hop {
        match request.try_clone() {
            Some(copy) => Hop::Whole(copy),
            None => {
                let mut copy = Request::new(request.method().clone(), request.url().clone());
                *copy.headers_mut() = request.headers().clone();
                *copy.timeout_mut() = request.timeout().copied();
                *copy.version_mut() = request.version();
                Hop::WithoutBody(copy)
            }
        }
    }
}

/// A response that asks to be followed: 301, 302, 303, 307 or 308 with a `Location`. (A
/// redirect status without one is handed back as it is, as reqwest and browsers do.)
struct Redirect<'a> {
    status: StatusCode,
    location: &'a http::HeaderValue,
}

impl<'a> Redirect<'a> {
    fn of(response: &'a Response) -> Option<Redirect<'a>> {
        let status = response.status();
        let redirects = matches!(
            status,
            StatusCode::MOVED_PERMANENTLY
                | StatusCode::FOUND
                | StatusCode::SEE_OTHER
                | StatusCode::TEMPORARY_REDIRECT
                | StatusCode::PERMANENT_REDIRECT
        );
        let location = response.headers().get(header::LOCATION)?;
        redirects.then_some(Redirect { status, location })
    }

    /// The URL the redirect names, resolved against the response's, or why it cannot be
    /// followed.
    fn target(&self, response: &Response) -> Result<reqwest::Url, &'static str> {
        let text = self
            .location
            .to_str()
            .map_err(|_| "the location is not valid text")?;
        let target = response
            .url()
            .join(text)
            .map_err(|_| "the location is not a valid url")?;
        if !matches!(target.scheme(), "http" | "https") {
            return Err("only http and https urls are followed");
        }
        Ok(target)
    }

    /// The `Location` as the error shows it: the URL without its query and credentials when
    /// it is one, else a bounded excerpt of the raw value.
    fn location_text(&self, response: &Response) -> String {
        let raw = String::from_utf8_lossy(self.location.as_bytes());
        match response.url().join(&raw) {
            Ok(url) => crate::redact::url_text(&url),
            Err(_) => crate::redact::excerpt(&raw),
        }
    }
}

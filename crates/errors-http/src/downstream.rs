//! [`Downstream`]: what a layer of the client hands an attempt to.
//!
//! The retry middleware and the client's layer are reqwest-middleware middleware, and in a
//! chain they send through `Next`. [`ApiClient`](crate::ApiClient) without middleware of the
//! caller's below its own runs the same code over `layer::Layered` instead: the client's
//! layer, then [`Reqwest`], called directly. That skips the chain's boxed future per layer
//! and per attempt, which is a measurable share of a call's CPU on a fast local API
//! (BENCHMARKS.md, "one shared client, many threads").

use std::future::Future;

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::Next;

/// Sends one request on behalf of the layer above it.
pub(crate) trait Downstream: Sync {
    fn run<'a>(
        &'a self,
        request: Request,
        extensions: &'a mut Extensions,
    ) -> impl Future<Output = reqwest_middleware::Result<Response>> + Send + 'a;
}

/// The rest of a reqwest-middleware chain.
impl Downstream for Next<'_> {
    fn run<'a>(
        &'a self,
        request: Request,
        extensions: &'a mut Extensions,
    ) -> impl Future<Output = reqwest_middleware::Result<Response>> + Send + 'a {
        // `Next` is covariant in its lifetime: a copy of it lives as long as `extensions`.
        let next: Next<'a> = self.clone();
        next.run(request, extensions)
    }
}

/// reqwest itself, the end of the line.
pub(crate) struct Reqwest<'c>(pub(crate) &'c reqwest::Client);

impl Downstream for Reqwest<'_> {
    fn run<'a>(
        &'a self,
        request: Request,
        _extensions: &'a mut Extensions,
    ) -> impl Future<Output = reqwest_middleware::Result<Response>> + Send + 'a {
        let sent = self.0.execute(request);
        async move { sent.await.map_err(reqwest_middleware::Error::Reqwest) }
    }
}

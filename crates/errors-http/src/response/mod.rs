//! What a call reads back: [`ApiResponse`] and [`JsonResponse`], a success read in full as
//! [`ApiClient`](crate::ApiClient) returns it; and [`ResponseExt`], any `reqwest::Response`
//! read as the API's result.

mod ext;

use bytes::Bytes;
use errors_core::retry::AttemptRecord;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};

pub use ext::ResponseExt;
pub(crate) use ext::read_bounded;

/// A successful response, read in full: status, headers, body and the attempts behind it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use errors_http::ApiClient;
/// use errors_testkit::{FakeApi, Script, fixtures};
///
/// let api = FakeApi::new(); // answers in process, for this example
/// api.mount(
///     Script::new()
///         .then(fixtures::vlm_provider_error())
///         .then(fixtures::ok_json(&serde_json::json!({"id": 1}))),
/// );
/// let client = ApiClient::builder().base_url(api.uri()).with_middleware(api.clone()).build().unwrap();
///
/// let response = client.send(client.request(reqwest::Method::GET, "images/1")).await.unwrap();
/// assert_eq!(response.status, 200);
/// assert_eq!(response.json::<serde_json::Value>().unwrap()["id"], 1);
/// // The provider error was retried once; the history says so.
/// assert_eq!(response.attempts.len(), 2);
/// assert_eq!(response.attempts[0].status, Some(503));
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Every attempt made, the last one being this response.
    pub attempts: Vec<AttemptRecord>,
}

impl ApiResponse {
    /// The body decoded as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::with_history(ErrorKind::Decode(e), self.attempts.clone(), None))
    }

    /// The body decoded as JSON, kept with the response's status, headers and attempts
    /// (the body bytes are dropped).
    pub fn into_json<T: DeserializeOwned>(self) -> Result<JsonResponse<T>, Error> {
        let value = self.json()?;
        Ok(JsonResponse {
            value,
            status: self.status,
            headers: self.headers,
            attempts: self.attempts,
        })
    }

    /// The request id the response's headers carry (`X-Request-ID` and the like, see
    /// [`errors_core::error::REQUEST_ID_HEADERS`]): quote it to support.
    pub fn request_id(&self) -> Option<&str> {
        errors_core::error::request_id_in(&self.headers)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A success body decoded as JSON, with what came with it: status, headers, the request
/// id and every attempt ([`ApiClient::get_json_response`](crate::ApiClient::get_json_response),
/// [`ApiResponse::into_json`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use errors_http::ApiClient;
/// use errors_testkit::{FakeApi, Script, fixtures};
///
/// let api = FakeApi::new();
/// api.mount(
///     Script::new()
///         .then(fixtures::vlm_provider_error())
///         .then(fixtures::ok_json(&serde_json::json!({"id": 1})).with_header("x-request-id", "req-ok")),
/// );
/// let client = ApiClient::builder().base_url(api.uri()).with_middleware(api.clone()).build().unwrap();
///
/// let image = client.get_json_response::<serde_json::Value>("images/1").await.unwrap();
/// assert_eq!(image.value["id"], 1);
/// assert_eq!(image.status, 200);
/// assert_eq!(image.request_id(), Some("req-ok"));
/// assert_eq!(image.attempts.len(), 2); // the 503 was retried
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JsonResponse<T> {
    /// The decoded body.
    pub value: T,
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// Every attempt made, the last one being this response.
    pub attempts: Vec<AttemptRecord>,
}

impl<T> JsonResponse<T> {
    /// The request id the response's headers carry (see [`ApiResponse::request_id`]).
    pub fn request_id(&self) -> Option<&str> {
        errors_core::error::request_id_in(&self.headers)
    }
}

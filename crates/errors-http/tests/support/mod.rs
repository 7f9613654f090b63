//! What this crate's tests share beyond errors-testkit (whose `MockApi`, `Script`, fixtures,
//! journal and `wait_until` they use): the API's envelope under the request id they assert.

use errors_core::{ErrorCode, Shape};
use errors_testkit::Fixture;

/// The API's envelope with `status`, `code` (any, documented or not) and `message`,
/// `details: {}`, and the request id `req-<status>`.
pub(crate) fn envelope(status: u16, code: &str, message: &str) -> Fixture {
    Fixture::for_code(ErrorCode::from(code), Shape::Envelope)
        .with_status(status)
        .with_message(message)
        .with_request_id(format!("req-{status}"))
}

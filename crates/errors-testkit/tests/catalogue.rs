//! The testkit used exactly as a downstream crate would (its public API only), with a plain
//! reqwest client: every catalogue entry is served, and its body parses back through
//! errors-core to the same status, code, shape and request id. The snapshot is what the mock
//! API says: a change to it is reviewed here.

use std::fmt::Write as _;
use std::time::SystemTime;

use errors_core::ApiError;
use errors_testkit::{MockApi, catalogue};

#[tokio::test]
async fn every_catalogue_entry_is_served_and_parses_back_the_same() {
    let client = reqwest::Client::new();
    for entry in catalogue() {
        // Arrange: a server of its own per entry.
        let api = MockApi::start().await;
        api.mount(entry.fixture.clone()).await;

        // Act
        let response = client
            .get(format!("{}/v1/anything", api.uri()))
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.bytes().await.unwrap();
        let error = ApiError::parse(status, &headers, &body, SystemTime::now());

        // Assert
        let name = &entry.name;
        assert_eq!(&body[..], entry.fixture.body(), "{name}");
        assert_eq!(error.status().as_u16(), entry.status, "{name}");
        assert_eq!(error.code(), entry.code.as_ref(), "{name}");
        assert_eq!(error.shape(), entry.shape, "{name}");
        assert_eq!(
            error.request_id(),
            entry.fixture.request_id_sent(),
            "{name}"
        );
        if let Some(code) = &entry.code {
            assert_eq!(error.solution(), code.solution(), "{name}");
        }
        if let Some(retry_after) = entry.fixture.header_value("retry-after") {
            assert_eq!(
                error
                    .retry_after()
                    .map(|d| d.as_secs().to_string())
                    .as_deref(),
                Some(retry_after),
                "{name}"
            );
        }
        api.journal().assert_attempts(1);
    }
}

#[test]
fn the_catalogue_bodies() {
    let mut listing = String::new();
    for entry in catalogue() {
        let code = entry.code.as_ref().map_or("-", |c| c.as_str());
        let _ = writeln!(
            listing,
            "{}: {} {} {code}",
            entry.name, entry.status, entry.shape
        );
        if let Some(content_type) = entry.fixture.content_type() {
            let _ = writeln!(listing, "  content-type: {content_type}");
        }
        for (name, value) in entry.fixture.headers() {
            let _ = writeln!(listing, "  {name}: {value}");
        }
        let body = String::from_utf8_lossy(entry.fixture.body());
        for line in body.replace('\r', "\\r").lines() {
            let _ = writeln!(listing, "  | {line}");
        }
    }
    insta::assert_snapshot!("catalogue", listing);
}

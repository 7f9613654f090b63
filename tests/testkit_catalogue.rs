//! errors-testkit used exactly as a downstream crate would, with a plain reqwest client:
//! every catalogue entry is served, and its body parses back through errors-core to the
//! same status, code, shape and request id.

use std::time::SystemTime;

use errors_core::ApiError;
use errors_testkit::{MockApi, catalogue};

#[tokio::test]
async fn every_catalogue_entry_round_trips_through_the_parser() {
    let client = reqwest::Client::new();
    let mut listing = Vec::new();
    for entry in catalogue() {
        let api = MockApi::start().await;
        api.mount(entry.fixture.clone()).await;
        let response = client
            .get(format!("{}/any", api.uri()))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap();
        let error = ApiError::parse(status, &headers, &body, SystemTime::now());

        assert_eq!(error.status().as_u16(), entry.status, "{}", entry.name);
        assert_eq!(error.code(), entry.code.as_ref(), "{}", entry.name);
        assert_eq!(error.shape(), entry.shape, "{}", entry.name);
        assert_eq!(
            error.request_id(),
            entry.fixture.request_id_sent(),
            "{}",
            entry.name
        );
        if let Some(code) = &entry.code {
            assert_eq!(error.solution(), code.solution(), "{}", entry.name);
        }
        listing.push(serde_json::json!({
            "name": entry.name,
            "status": entry.status,
            "headers": entry.fixture.headers(),
            "body": String::from_utf8_lossy(entry.fixture.body()),
            "display": error.to_string(),
        }));
    }
    // Fixture bodies are what downstream tests assert against: a change is reviewed here.
    insta::assert_json_snapshot!("catalogue", listing);
}

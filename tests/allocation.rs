//! What a response's headers claim does not decide what the client allocates: an error
//! response that announces a 1 GiB body reserves nothing near that before its bytes arrive.
//! (Its own binary: the counting allocator sees every allocation of the process.)

use std::alloc::System;

use cap::Cap;
use errors_core::RetryPolicy;
use errors_http::ApiClient;
use errors_testkit::{Fault, FaultServer};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

#[tokio::test]
async fn an_error_body_grows_with_what_arrives_not_with_content_length() {
    // Claims 1 GiB, sends 40 bytes, closes.
    let server = FaultServer::start(Fault::raw(
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n\r\n{\"detail\":\"short body, long claim\"}   ".to_vec(),
    ))
    .await;
    let client = ApiClient::builder()
        .base_url(format!("{}/", server.uri()))
        .error_body_limit(1 << 30)
        .policy(RetryPolicy::default().with_max_retries(0))
        .build()
        .unwrap();
    let err = client.get_json::<serde_json::Value>("x").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(
        err.api_error().and_then(|e| e.message()),
        Some("short body, long claim")
    );
    // The peak of the whole process, this test's runtime and server included.
    let peak = ALLOCATOR.max_allocated();
    assert!(peak < 64 << 20, "peak allocated {peak} bytes");
}

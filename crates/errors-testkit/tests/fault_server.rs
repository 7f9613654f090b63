//! The fault server's faults, each seen from a client: a plain reqwest client, or a raw
//! socket where the difference between a clean close and a reset matters.

use std::io::{ErrorKind, Read as _, Write as _};
use std::time::{Duration, Instant};

use errors_testkit::{Fault, FaultServer, Faults};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Bounds every wait of these tests: far past what any fault here takes when it works.
const BOUND: Duration = Duration::from_secs(5);

fn address(server: &FaultServer) -> String {
    server.uri().trim_start_matches("http://").to_owned()
}

/// A raw connection that has sent one GET.
async fn sent_get(server: &FaultServer) -> TcpStream {
    let mut stream = TcpStream::connect(address(server)).await.unwrap();
    let request = format!(
        "GET /v1/x?y=1 HTTP/1.1\r\nhost: {}\r\nx-test: raw\r\n\r\n",
        address(server)
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Everything the server sends until it closes or resets, and how the stream ended.
async fn read_all(stream: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buf)).await {
            Err(_) => panic!("the server neither closed nor reset within {BOUND:?}"),
            Ok(Ok(0)) => return (received, Ok(())),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return (received, Err(e)),
        }
    }
}

#[tokio::test]
async fn a_refusing_server_refuses_every_connection_and_needs_no_listener() {
    let server = FaultServer::refusing();
    for _ in 0..2 {
        let err = TcpStream::connect(address(&server)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    }
    let err = reqwest::get(server.uri()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(server.connections(), 0);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn close_before_headers_reads_the_request_then_closes_cleanly() {
    let server = FaultServer::start(Fault::close_before_headers()).await;
    let mut stream = sent_get(&server).await;
    let (received, end) = read_all(&mut stream).await;
    assert!(received.is_empty(), "{received:?}");
    assert!(end.is_ok(), "a clean close, not {end:?}");
    assert_eq!(server.connections(), 1);
    server.journal().assert_received_once("GET", "/v1/x");

    let err = reqwest::get(server.uri()).await.unwrap_err();
    assert!(!err.is_connect() && !err.is_timeout(), "{err:?}");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn reset_before_headers_is_a_connection_reset() {
    let server = FaultServer::start(Fault::reset_before_headers()).await;
    let mut stream = sent_get(&server).await;
    let (received, end) = read_all(&mut stream).await;
    assert!(received.is_empty(), "{received:?}");
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionReset);
    server.journal().assert_attempts(1);
}

#[tokio::test]
async fn a_reset_mid_body_sends_the_head_and_part_of_the_body_then_resets() {
    let fault =
        Fault::reset_mid_body(502, "0123456789", 3).with_header("x-request-id", "req-reset");
    let server = FaultServer::start(fault).await;

    let mut stream = sent_get(&server).await;
    let (received, end) = read_all(&mut stream).await;
    let text = String::from_utf8(received).unwrap();
    assert!(text.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{text}");
    assert!(text.contains("content-length: 10\r\n"), "{text}");
    assert!(text.contains("x-request-id: req-reset\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n012"), "{text}");
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionReset);

    // A client has the status and headers, then an error reading the body.
    let response = reqwest::get(server.uri()).await.unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["x-request-id"], "req-reset");
    assert!(response.bytes().await.is_err());
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_stall_after_headers_sends_the_head_and_then_nothing() {
    let server = FaultServer::start(Fault::stall_after_headers(200, "{}")).await;
    let response = reqwest::get(server.uri()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(2));
    let body = tokio::time::timeout(Duration::from_millis(300), response.bytes()).await;
    assert!(body.is_err(), "the body never comes: {body:?}");

    // Mid-body: the first bytes, then nothing.
    let server = FaultServer::start(Fault::stall_mid_body(200, r#"{"id":1}"#, 1)).await;
    let mut response = reqwest::get(server.uri()).await.unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    assert_eq!(&first[..], b"{");
    let rest = tokio::time::timeout(Duration::from_millis(300), response.chunk()).await;
    assert!(rest.is_err(), "nothing after the first byte: {rest:?}");
}

#[tokio::test]
async fn no_answer_reads_the_request_and_sends_nothing() {
    let server = FaultServer::start(Fault::no_answer()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .post(format!("{}/v1/jobs", server.uri()))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    server.journal().assert_received_once("POST", "/v1/jobs");
}

#[tokio::test]
async fn a_drip_sends_the_body_a_few_bytes_at_a_time_with_a_delay() {
    let every = Duration::from_millis(30);
    for chunked in [false, true] {
        let mut fault = Fault::drip(503, "abcdef", every).with_drip_size(2);
        if chunked {
            fault = fault.with_chunked_encoding();
        }
        let server = FaultServer::start(fault).await;
        let started = Instant::now();
        let response = reqwest::get(server.uri()).await.unwrap();
        // The head comes at once, the body over three timed writes.
        assert_eq!(response.status(), 503);
        let body = tokio::time::timeout(BOUND, response.text()).await.unwrap();
        assert_eq!(body.unwrap(), "abcdef", "chunked={chunked}");
        let took = started.elapsed();
        assert!(took >= every * 3, "chunked={chunked}: took {took:?}");
    }
}

#[tokio::test]
async fn faults_play_one_per_connection_in_order_then_the_last_repeats() {
    let faults = Fault::close_before_headers()
        .times(2)
        .then(Fault::answer(200, "served").with_header("content-type", "text/plain"));
    let server = FaultServer::start(faults).await;
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        // A client per call: no connection is reused (answers say `connection: close` too).
        outcomes.push(match reqwest::get(server.uri()).await {
            Ok(response) => response.text().await.unwrap(),
            Err(_) => "failed".to_owned(),
        });
    }
    assert_eq!(outcomes, ["failed", "failed", "served", "served"]);
    assert_eq!(server.connections(), 4);
    server.journal().assert_attempts(4);
}

#[tokio::test]
async fn faults_from_arrays_and_vecs_read_the_same() {
    let built = Faults::from([Fault::reset_before_headers(), Fault::answer(204, "")]);
    let server = FaultServer::start(built).await;
    assert!(reqwest::get(server.uri()).await.is_err());
    assert_eq!(reqwest::get(server.uri()).await.unwrap().status(), 204);
    let built = Faults::from(vec![Fault::answer(201, "")]).then_times(Fault::answer(202, ""), 2);
    assert_eq!(built.len(), 3);
    let server = FaultServer::start(built).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(reqwest::get(server.uri()).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [201, 202, 202, 202]);
}

#[tokio::test]
async fn answers_carry_their_headers_and_large_bodies_go_out_in_pieces() {
    for chunked in [false, true] {
        let mut fault = Fault::answer(500, "")
            .with_header("x-request-id", "req-big")
            .with_repeated_body(b'x', 3 << 20);
        if chunked {
            fault = fault.with_chunked_encoding();
        }
        let server = FaultServer::start(fault).await;
        let response = reqwest::get(server.uri()).await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()["x-request-id"], "req-big");
        assert_eq!(response.headers()["connection"], "close");
        let framing = if chunked {
            "transfer-encoding"
        } else {
            "content-length"
        };
        assert!(
            response.headers().contains_key(framing),
            "chunked={chunked}"
        );
        let body = response.bytes().await.unwrap();
        assert_eq!(body.len(), 3 << 20);
        assert!(body.iter().all(|b| *b == b'x'));
    }
}

#[tokio::test]
async fn a_header_replaces_the_automatic_one_of_the_same_name() {
    // A body shorter than its content-length, then a clean close.
    let fault = Fault::answer(500, "short").with_header("content-length", "1000");
    let server = FaultServer::start(fault).await;
    let mut stream = sent_get(&server).await;
    let (received, end) = read_all(&mut stream).await;
    let text = String::from_utf8(received).unwrap();
    assert!(end.is_ok());
    assert_eq!(text.matches("content-length").count(), 1, "{text}");
    assert!(text.contains("content-length: 1000\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nshort"), "{text}");
}

#[tokio::test]
async fn a_raw_fault_sends_its_bytes_as_they_are() {
    let bytes = b"HTTP/1.1 418 Teapot\r\ncontent-length: 2\r\n\r\nhi".to_vec();
    let server = FaultServer::start(Fault::raw(bytes.clone())).await;
    let mut stream = sent_get(&server).await;
    let (received, end) = read_all(&mut stream).await;
    assert_eq!(received, bytes);
    assert!(end.is_ok());
}

#[tokio::test]
async fn the_journal_records_each_request_and_its_body() {
    let server = FaultServer::start(Fault::answer(204, "")).await;
    let client = reqwest::Client::new();
    client
        .post(format!("{}/v1/jobs?dry=1", server.uri()))
        .header("x-team", "a")
        .body(r#"{"n":1}"#)
        .send()
        .await
        .unwrap();
    // A chunked body is recorded decoded.
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    let request = "PUT /v1/blobs/1 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n\
                   2\r\nab\r\n2;ext=1\r\ncd\r\n0\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let (received, _) = read_all(&mut stream).await;
    assert!(received.starts_with(b"HTTP/1.1 204 No Content\r\n"));

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/v1/jobs")
    );
    assert_eq!(requests[0].query.as_deref(), Some("dry=1"));
    assert_eq!(requests[0].header("X-Team"), Some("a"));
    assert_eq!(requests[0].body, br#"{"n":1}"#);
    assert_eq!(requests[1].header("transfer-encoding"), Some("chunked"));
    assert_eq!(requests[1].body, b"abcd");
    server.journal().assert_received_once("PUT", "/v1/blobs/1");
}

#[tokio::test]
async fn dropping_the_server_closes_its_port_and_its_open_connections() {
    let server = FaultServer::start(Fault::no_answer()).await;
    let address = address(&server);
    let mut stream = sent_get(&server).await;
    drop(server);
    // The held connection ends (closed or reset), well before the fault's own minute.
    let (received, _) = read_all(&mut stream).await;
    assert!(received.is_empty());
    let err = TcpStream::connect(&address).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn a_blocking_server_serves_a_plain_test_and_stops_when_dropped() {
    let server = FaultServer::start_blocking(
        Fault::reset_before_headers().then(Fault::answer(200, "hello")),
    );
    let address = address(&server);
    let get = || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(BOUND)).unwrap();
        write!(stream, "GET /v1/usage HTTP/1.1\r\nhost: {address}\r\n\r\n").unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).map(|_| response)
    };
    assert_eq!(get().unwrap_err().kind(), ErrorKind::ConnectionReset);
    let response = String::from_utf8(get().unwrap()).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nhello"), "{response}");
    server.journal().assert_received("GET", "/v1/usage", 2);
    assert_eq!(server.connections(), 2);
    drop(server);
    let err = std::net::TcpStream::connect(&address).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[tokio::test]
#[should_panic(expected = "at least one fault")]
async fn a_server_needs_a_fault() {
    FaultServer::start(Vec::new()).await;
}

#[test]
#[should_panic(expected = "with_header applies to a fault that sends a response head")]
fn headers_are_for_faults_that_send_a_head() {
    let _ = Fault::raw("HTTP/1.1 200 OK\r\n\r\n").with_header("x", "y");
}

//! Real TLS on loopback: a server whose certificate authority and leaf certificate are made at
//! test time (rcgen), through both facades and the `fetch` example. A trusted authority gives
//! a success; an untrusted one is one attempt ending in a certificate error that says so.

#[allow(dead_code)]
#[path = "../examples/fetch.rs"]
mod fetch;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use errors_core::retry::{StopReason, TransportKind};
use errors_http::{ApiClient, Error, ErrorKind};
use errors_testkit::{Fault, FaultServer};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use reqwest::Method;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use support::three_retries;

/// A certificate authority and a server certificate for 127.0.0.1 and localhost, signed by it.
struct Pki {
    ca_pem: String,
    leaf: CertificateDer<'static>,
    leaf_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "errors-workspace test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        leaf: leaf.der().clone(),
        leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    }
}

/// An HTTPS server on 127.0.0.1 answering every request as `answer` says; counts the
/// requests it read (after a completed handshake). Stops with its runtime.
struct TlsServer {
    url: String,
    requests: Arc<AtomicUsize>,
}

/// How a [`TlsServer`] answers.
#[derive(Clone, Copy)]
enum Answer {
    /// `200 {"ok":true}`.
    Ok,
    /// The headers and half the body, then bytes that are not a TLS record: the client's
    /// TLS layer fails after the handshake, while the body is read.
    BreakMidBody,
}

async fn tls_server(pki: &Pki) -> TlsServer {
    tls_server_answering(pki, Answer::Ok).await
}

async fn tls_server_answering(pki: &Pki, answer: Answer) -> TlsServer {
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.clone()], pki.leaf_key.clone_key())
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/v1/", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut buf = vec![0u8; 16 * 1024];
                let mut filled = 0;
                while !buf[..filled].windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf[filled..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => filled += n,
                    }
                    if filled == buf.len() {
                        return;
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                match answer {
                    Answer::Ok => {
                        let body = r#"{"ok":true}"#;
                        let response = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tls.write_all(response.as_bytes()).await;
                        let _ = tls.shutdown().await;
                    }
                    Answer::BreakMidBody => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 20\r\nconnection: close\r\n\r\n{\"ok\":";
                        let _ = tls.write_all(head.as_bytes()).await;
                        let _ = tls.flush().await;
                        // An application-data record that does not decrypt.
                        let raw = tls.get_mut().0;
                        let _ = raw.write_all(b"\x17\x03\x03\x00\x08notvalid").await;
                        let _ = raw.flush().await;
                        // Held open: the client fails on the record, not on a closed socket.
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
            });
        }
    });
    TlsServer { url, requests }
}

/// The `https://` base URL of a server that speaks plain HTTP.
fn https(server: &FaultServer) -> String {
    format!("{}/", server.uri().replace("http://", "https://"))
}

/// What an untrusted certificate must look like, whichever facade: one attempt, never
/// retried, a certificate kind whose text names the cause.
#[track_caller]
fn assert_certificate_error(err: &Error) {
    assert!(matches!(err.kind(), ErrorKind::Certificate(_)), "{err:?}");
    assert_eq!(err.attempts().len(), 1, "{err:?}");
    assert_eq!(
        err.attempts()[0].transport,
        Some(TransportKind::Certificate)
    );
    assert_eq!(err.stop_reason(), Some(StopReason::NotRetryable));
    assert_eq!(
        err.to_string(),
        "certificate not trusted: issued by an unknown certificate authority"
    );
    // The cause is kept for a reporter that walks the chain.
    let mut chain = String::new();
    let mut cause = std::error::Error::source(err);
    while let Some(e) = cause {
        chain.push_str(&format!("{e}: "));
        cause = e.source();
    }
    assert!(chain.contains("UnknownIssuer"), "{chain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_trusts_an_added_authority_and_rejects_an_unknown_one() {
    let pki = pki();
    let server = tls_server(&pki).await;

    let trusted = ApiClient::builder()
        .base_url(&server.url)
        .api_key("sk-tls")
        .add_root_certificates_pem(&pki.ca_pem)
        .policy(three_retries())
        .build()
        .unwrap();
    let ok: serde_json::Value = trusted.get_json("ping").await.unwrap();
    assert_eq!(ok["ok"], true);
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);

    let untrusted = ApiClient::builder()
        .base_url(&server.url)
        .policy(three_retries())
        .build()
        .unwrap();
    let err = untrusted
        .send(untrusted.request(Method::GET, "ping"))
        .await
        .unwrap_err();
    assert_certificate_error(&err);
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "nothing was sent"
    );
}

#[test]
fn blocking_client_trusts_an_added_authority_and_rejects_an_unknown_one() {
    let pki = pki();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(tls_server(&pki));

    let trusted = errors_blocking::ApiClient::builder()
        .base_url(&server.url)
        .add_root_certificates_pem(pki.ca_pem.as_bytes())
        .policy(three_retries())
        .build()
        .unwrap();
    let ok: serde_json::Value = trusted.get_json("ping").unwrap();
    assert_eq!(ok["ok"], true);

    let untrusted = errors_blocking::ApiClient::builder()
        .base_url(&server.url)
        .policy(three_retries())
        .build()
        .unwrap();
    let err = untrusted.get_json::<serde_json::Value>("ping").unwrap_err();
    assert_certificate_error(&err);
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_configured_reqwest_client_is_used_as_given() {
    let pki = pki();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(tls_server(&pki));
    let configured = reqwest::Client::builder()
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(pki.ca_pem.as_bytes()).unwrap())
        .redirect(ApiClient::redirect_policy())
        .build()
        .unwrap();
    let client = errors_blocking::ApiClient::builder()
        .base_url(&server.url)
        .with_client(configured.clone())
        .build()
        .unwrap();
    let ok: serde_json::Value = client.get_json("ping").unwrap();
    assert_eq!(ok["ok"], true);
    let async_client = runtime.block_on(async {
        let client = ApiClient::builder()
            .base_url(&server.url)
            .with_client(configured.clone())
            .build()
            .unwrap();
        client.get_json::<serde_json::Value>("ping").await
    });
    assert_eq!(async_client.unwrap()["ok"], true);
    // Settings that cannot reach a client built elsewhere are refused, not ignored.
    let err = ApiClient::builder()
        .with_client(configured)
        .add_root_certificates_pem(pki.ca_pem.as_bytes())
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("add_root_certificates_pem"),
        "{err}"
    );
}

#[test]
fn fetch_cacert_trusts_the_file_and_without_it_says_why() {
    let pki = pki();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(tls_server(&pki));
    let dir = std::env::temp_dir().join(format!("errors-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let url = format!("{}ping", server.url);
    for blocking in [false, true] {
        let mut args = vec!["--cacert".to_owned(), ca.display().to_string(), url.clone()];
        if blocking {
            args.insert(0, "--blocking".to_owned());
        }
        let args = fetch::parse_args(args.into_iter()).unwrap();
        let (out, code) = fetch::report(fetch::run(&args));
        assert_eq!(code, 0, "{out}");
        assert_eq!(out["body"]["ok"], true);

        let mut args = vec![url.clone()];
        if blocking {
            args.insert(0, "--blocking".to_owned());
        }
        let args = fetch::parse_args(args.into_iter()).unwrap();
        let (out, code) = fetch::report(fetch::run(&args));
        assert_eq!(code, 2, "{out}");
        assert_eq!(out["attempts"].as_array().unwrap().len(), 1, "{out}");
        assert_eq!(out["stop"], "not_retryable");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("certificate not trusted"), "{message}");
    }
    // A file with no certificate in it is bad usage, said before anything is sent.
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let args = fetch::parse_args(
        ["--cacert", &empty.display().to_string(), &url]
            .iter()
            .map(|s| s.to_string()),
    )
    .unwrap();
    let (out, code) = fetch::report(fetch::run(&args));
    assert_eq!(code, 2, "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no certificate"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_server_that_does_not_speak_tls_is_one_attempt() {
    // A plain HTTP server behind an https:// URL: the handshake fails, and a retry would too.
    let plain = Fault::raw_on_connect("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    let server = FaultServer::start(plain).await;
    let client = ApiClient::builder()
        .base_url(https(&server))
        .policy(three_retries())
        .build()
        .unwrap();
    let err = client
        .send(client.request(Method::GET, "x"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Tls(_)), "{err:?}");
    assert_eq!(err.to_string(), "tls handshake failed");
    assert_eq!(err.attempts().len(), 1);
    assert_eq!(err.attempts()[0].transport, Some(TransportKind::Tls));
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn unsupported_schemes_and_malformed_urls_are_one_attempt() {
    let client = ApiClient::builder()
        .base_url("http://127.0.0.1:9/v1")
        .policy(three_retries())
        .build()
        .unwrap();
    // A scheme the build cannot speak is one attempt the HTTP client refuses (never
    // retried); a URL that does not parse never becomes a request at all: no attempt.
    for (url, attempts) in [
        ("ftp://127.0.0.1:9/file", 1),
        ("http://[::1/x", 0),
        ("http://", 0),
    ] {
        let err = client
            .send(client.request(Method::GET, url))
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidRequest(_)),
            "{url}: {err:?}"
        );
        assert_eq!(err.attempts().len(), attempts, "{url}: {err:?}");
        if attempts == 1 {
            assert_eq!(err.stop_reason(), Some(StopReason::NotRetryable), "{url}");
            assert_eq!(
                err.attempts()[0].transport,
                Some(TransportKind::Rejected),
                "{url}"
            );
        }
        assert!(
            !err.to_string().contains("connection failed"),
            "{url}: {err}"
        );
    }
}

#[test]
fn root_certificates_that_are_not_pem_are_a_build_error() {
    let err = ApiClient::builder()
        .add_root_certificates_pem(
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        .build()
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidRequest(_)),
        "{err:?}"
    );
    let err = errors_blocking::ApiClient::builder()
        .add_root_certificates_pem(b"")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_testkit_https_front_serves_the_mock_to_both_facades() {
    use errors_testkit::{HttpsFront, MockApi, fixtures};
    let api = MockApi::start().await;
    api.mount(fixtures::ok_json(&serde_json::json!({"id": 3})))
        .await;
    let front = HttpsFront::start(&api.uri()).await;
    let client = ApiClient::builder()
        .base_url(format!("{}/v1", front.uri()))
        .api_key("sk-front")
        .add_root_certificates_pem(front.ca_pem())
        .build()
        .unwrap();
    let ok: serde_json::Value = client.get_json("images/3").await.unwrap();
    assert_eq!(ok["id"], 3);
    let (base, ca) = (format!("{}/v1", front.uri()), front.ca_pem().to_owned());
    let blocking = tokio::task::spawn_blocking(move || {
        let client = errors_blocking::ApiClient::builder()
            .base_url(base)
            .add_root_certificates_pem(ca)
            .build()
            .unwrap();
        client.get_json::<serde_json::Value>("images/3")
    })
    .await
    .unwrap();
    assert_eq!(blocking.unwrap()["id"], 3);
    api.journal().assert_attempts(2);
    // Not trusted: one attempt that never reaches the mock.
    let untrusted = ApiClient::builder()
        .base_url(front.uri())
        .policy(three_retries())
        .build()
        .unwrap();
    let err = untrusted
        .get_json::<serde_json::Value>("images/3")
        .await
        .unwrap_err();
    assert_certificate_error(&err);
    api.journal().assert_attempts(2);
}

/// The wording of the failures retrying cannot fix, as a user sees them (`Display`, then the
/// chain a reporter prints), reviewed in `tests/snapshots/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_failures_retrying_cannot_fix_say() {
    let pki = pki();
    let server = tls_server(&pki).await;
    let client = ApiClient::builder()
        .base_url(&server.url)
        .policy(three_retries())
        .build()
        .unwrap();
    let certificate = client.get_json::<serde_json::Value>("x").await.unwrap_err();

    let plain_server = FaultServer::start(Fault::raw_on_connect("HTTP/1.1 200 OK\r\n\r\n")).await;
    let plain = ApiClient::builder()
        .base_url(https(&plain_server))
        .policy(three_retries())
        .build()
        .unwrap();
    let handshake = plain.get_json::<serde_json::Value>("x").await.unwrap_err();

    let scheme = client
        .get_json::<serde_json::Value>("ftp://127.0.0.1:9/x")
        .await
        .unwrap_err();

    let mut text = String::new();
    for (name, err) in [
        ("certificate", &certificate),
        ("handshake", &handshake),
        ("scheme", &scheme),
    ] {
        text.push_str(&format!("{name}: {err}\n"));
        let mut cause = std::error::Error::source(err);
        while let Some(e) = cause {
            // Ports and URLs differ between runs.
            let line = e.to_string();
            let line = match line.find("(https://") {
                Some(i) => format!("{}(<url>)", &line[..i]),
                None => line,
            };
            text.push_str(&format!("  caused by: {line}\n"));
            cause = e.source();
        }
    }
    insta::assert_snapshot!(text);
}

/// After the handshake, a TLS failure is a broken connection like a reset: a GET is retried,
/// a POST (whose outcome is unknown) is not; neither is called a failed handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_failure_while_reading_the_body_is_a_transport_failure() {
    let pki = pki();
    let server = tls_server_answering(&pki, Answer::BreakMidBody).await;
    let client = ApiClient::builder()
        .base_url(&server.url)
        .add_root_certificates_pem(pki.ca_pem.as_bytes())
        .policy(three_retries())
        .build()
        .unwrap();
    let err = client.get_json::<serde_json::Value>("x").await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Transport(_)), "{err:?}");
    assert!(!err.to_string().contains("tls handshake"), "{err}");
    assert_eq!(err.attempts().len(), 4, "{err:?}");
    assert!(
        err.attempts()
            .iter()
            .all(|a| a.transport == Some(TransportKind::Other)),
        "{err:?}"
    );
    assert_eq!(err.stop_reason(), Some(StopReason::RetriesExhausted));
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);

    let err = client
        .post_json::<_, serde_json::Value>("x", &serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        err.stop_reason(),
        Some(StopReason::UnsafeToRepeat),
        "{err:?}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 5);
}

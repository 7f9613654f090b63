//! [`HttpsFront`]: an `https://` front for a [`MockApi`](crate::MockApi) (or any loopback
//! HTTP server), with a certificate authority made for it, so your tests can check your own
//! client's TLS settings against a server you control.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A TLS-terminating front on 127.0.0.1 that forwards every connection to a plain HTTP
/// server on loopback, with a fresh certificate authority (made when it starts) that signed
/// its certificate for `127.0.0.1` and `localhost`.
///
/// Trust [`ca_pem`](HttpsFront::ca_pem) in the client under test to check it succeeds over
/// HTTPS; leave it out to check what your client does with a certificate it does not trust.
/// The mock behind it still sees (and journals) every request. Stops when dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use errors_testkit::{HttpsFront, MockApi, fixtures};
///
/// let api = MockApi::start().await;
/// api.mount(fixtures::ok_json(&serde_json::json!({"id": 1}))).await;
/// let front = HttpsFront::start(&api.uri()).await;
///
/// let client = reqwest::Client::builder()
///     .tls_certs_merge(reqwest::Certificate::from_pem_bundle(front.ca_pem().as_bytes()).unwrap())
///     .build()
///     .unwrap();
/// let response = client.get(format!("{}/v1/images/1", front.uri())).send().await.unwrap();
/// assert_eq!(response.status(), 200);
/// api.journal().assert_attempts(1);
///
/// // Without the authority: the handshake fails and nothing reaches the mock.
/// let err = reqwest::get(format!("{}/v1/images/1", front.uri())).await.unwrap_err();
/// assert!(err.is_connect());
/// api.journal().assert_attempts(1);
/// # }
/// ```
#[derive(Debug)]
pub struct HttpsFront {
    uri: String,
    ca_pem: String,
    task: JoinHandle<()>,
}

impl HttpsFront {
    /// Starts a front for the HTTP server at `upstream` (e.g. `api.uri()`, an
    /// `http://127.0.0.1:<port>` address), on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// If `upstream` is not an `http://` URL with an IP address and port, or the certificates
    /// or the listener cannot be made (a test fixture fails loudly).
    pub async fn start(upstream: &str) -> HttpsFront {
        let target: SocketAddr = upstream
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'))
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("HttpsFront wants http://<ip>:<port>, not {upstream:?}"));

        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "errors-testkit HttpsFront CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("a CA key"))
            .expect("a CA certificate");
        let key = KeyPair::generate().expect("a server key");
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server certificate parameters")
            .signed_by(&key, &ca)
            .expect("a server certificate");
        let key: PrivateKeyDer<'static> = PrivatePkcs8KeyDer::from(key.serialize_der()).into();
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key)
            .expect("a TLS server configuration");
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a listener on 127.0.0.1");
        let uri = format!(
            "https://{}",
            listener.local_addr().expect("the listener's address")
        );
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(forward(acceptor.clone(), socket, target));
            }
        });
        HttpsFront {
            uri,
            ca_pem: ca.pem(),
            task,
        }
    }

    /// The front's base URL, `https://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// The certificate authority that signed the front's certificate, as PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

impl Drop for HttpsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: the TLS handshake, then bytes both ways until either side closes.
async fn forward(acceptor: TlsAcceptor, socket: TcpStream, target: SocketAddr) {
    let Ok(mut tls) = acceptor.accept(socket).await else {
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
}

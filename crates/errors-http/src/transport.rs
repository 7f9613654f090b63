//! Reading reqwest's errors, once: a failure below HTTP as `errors_core`'s
//! [`TransportFailure`], which the policy decides by and the caller's
//! [`Error`](crate::Error) is made from (and keeps).
//!
//! reqwest 0.13 reports a rejected certificate, a failed TLS handshake and an `https://`
//! URL in a build without TLS as *connect* errors (`is_connect()` is true); the cause is
//! only in the source chain. The chain of a connect error is walked here so those failures
//! are classified as what they are
//! ([`TransportKind::Certificate`](errors_core::retry::TransportKind::Certificate),
//! [`TransportKind::Tls`](errors_core::retry::TransportKind::Tls),
//! [`TransportKind::Rejected`](errors_core::retry::TransportKind::Rejected)), which the
//! policy never retries, instead of as a connection failure it would retry; the same walk
//! keeps the certificate's reason, for the caller's message.

use std::error::Error as StdError;

use errors_core::retry::TransportFailure;

/// What a reqwest failure is: the one reading of its flags and source chain.
pub(crate) fn reqwest_failure(error: &reqwest::Error) -> TransportFailure {
    if error.is_builder() {
        return TransportFailure::rejected();
    }
    if error.is_redirect() {
        return if says_too_many_redirects(error) {
            TransportFailure::too_many_redirects()
        } else {
            TransportFailure::redirect()
        };
    }
    if !error.is_connect() {
        return if error.is_timeout() {
            TransportFailure::timeout()
        } else {
            TransportFailure::other()
        };
    }
    // Only the connector's failures count: once the handshake is done, a TLS error (a
    // record that does not decrypt, an alert mid-stream) breaks that one connection like a
    // reset, and is a transport failure the policy may retry, not a property of the server.
    match tls_failure_in_chain(error.source()) {
        Some(TlsFailure::Certificate(Some(reason))) => {
            TransportFailure::untrusted_certificate(reason)
        }
        Some(TlsFailure::Certificate(None)) => TransportFailure::certificate(),
        Some(TlsFailure::Handshake) => TransportFailure::tls(),
        Some(TlsFailure::UnsupportedScheme) => TransportFailure::unsupported_scheme(),
        None if error.is_timeout() => TransportFailure::connect_timeout(),
        None => TransportFailure::connect(),
    }
}

/// Whether reqwest's redirect policy stopped because there were too many redirects (its
/// cause says so; reqwest has no flag for it).
fn says_too_many_redirects(error: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.to_string().contains("too many redirects") {
            return true;
        }
        cause = e.source();
    }
    false
}

/// A failure the TLS layer caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// A build without TLS only ever meets `UnsupportedScheme`.
#[cfg_attr(not(any(feature = "rustls", feature = "native-tls")), allow(dead_code))]
pub(crate) enum TlsFailure {
    /// The peer's certificate was rejected, for the reason kept when the TLS library says
    /// which (rustls does; native-tls does not).
    Certificate(Option<&'static str>),
    /// The handshake failed otherwise.
    Handshake,
    /// The URL's scheme needs TLS and this build has none (hyper's plain connector says
    /// "invalid URL, scheme is not http").
    UnsupportedScheme,
}

/// The first TLS failure in a chain of causes, looking inside `io::Error`s on the way.
fn tls_failure_in_chain(mut cause: Option<&(dyn StdError + 'static)>) -> Option<TlsFailure> {
    while let Some(e) = cause {
        if let Some(found) = within_io(e).find_map(tls_failure_here) {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

/// `e`, and what it wraps when it is an `io::Error` (perhaps in another `io::Error`):
/// `io::Error::source` skips the error it wraps, so a chain walk alone misses it.
fn within_io<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |e| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn StdError + 'static))
    })
    .take(8)
}

fn tls_failure_here(error: &(dyn StdError + 'static)) -> Option<TlsFailure> {
    #[cfg(feature = "rustls")]
    if let Some(e) = error.downcast_ref::<rustls::Error>() {
        return Some(match e {
            rustls::Error::InvalidCertificate(reason) => {
                TlsFailure::Certificate(Some(rustls_reason(reason)))
            }
            _ => TlsFailure::Handshake,
        });
    }
    #[cfg(feature = "native-tls")]
    if error.is::<native_tls::Error>() {
        return Some(native_tls_failure(&error.to_string()));
    }
    // hyper-util's plain HTTP connector, asked for an `https://` URL.
    if error.to_string() == "invalid URL, scheme is not http" {
        return Some(TlsFailure::UnsupportedScheme);
    }
    None
}

/// What a native-tls error's text says: native-tls has no typed reason; OpenSSL,
/// Security.framework and SChannel all say "certificate" when that is what they rejected.
/// (Compiled in tests of every build, so the default build tests it too.)
#[cfg(any(feature = "native-tls", test))]
fn native_tls_failure(text: &str) -> TlsFailure {
    if text.to_ascii_lowercase().contains("certificate") {
        TlsFailure::Certificate(None)
    } else {
        TlsFailure::Handshake
    }
}

/// A short, lowercase reason for a rejected certificate.
#[cfg(feature = "rustls")]
fn rustls_reason(reason: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as C;
    match reason {
        C::UnknownIssuer => "issued by an unknown certificate authority",
        C::Expired | C::ExpiredContext { .. } => "expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "not valid yet",
        C::NotValidForName | C::NotValidForNameContext { .. } => "not valid for this host name",
        C::Revoked => "revoked",
        C::BadSignature => "bad signature",
        C::BadEncoding => "malformed",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "not valid for server authentication"
        }
        _ => "rejected by the verifier",
    }
}

#[cfg(test)]
mod tests {
    //! Each classification on error chains built here, as the connectors nest them (an
    //! `io::Error` around the TLS library's error, inside hyper's and reqwest's errors): no
    //! TLS server, and no build of reqwest with another backend, is needed.

    use super::*;
    use std::fmt;
    use std::io;

    /// An error with a message and an optional source, like hyper's and reqwest's wrappers.
    #[derive(Debug)]
    struct Wrapper {
        message: String,
        source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    }

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.message)
        }
    }

    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.source
                .as_deref()
                .map(|e| e as &(dyn StdError + 'static))
        }
    }

    fn wrap(message: &str, source: impl StdError + Send + Sync + 'static) -> Wrapper {
        Wrapper {
            message: message.to_owned(),
            source: Some(Box::new(source)),
        }
    }

    fn leaf(message: &str) -> Wrapper {
        Wrapper {
            message: message.to_owned(),
            source: None,
        }
    }

    /// reqwest's connect error around hyper-util's around `cause`: the walk starts at the
    /// first source, as `reqwest_failure` does for a connect error.
    fn classify_chain(cause: impl StdError + Send + Sync + 'static) -> Option<TlsFailure> {
        let chain = wrap("client error (Connect)", cause);
        tls_failure_in_chain(Some(&chain))
    }

    #[test]
    fn an_unrelated_failure_is_no_tls_failure() {
        assert_eq!(classify_chain(leaf("tcp connect error")), None);
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(classify_chain(refused), None);
        assert_eq!(tls_failure_in_chain(None), None);
        // The message matches exactly, not as a part.
        assert_eq!(
            classify_chain(leaf("invalid URL, scheme is not https")),
            None
        );
    }

    #[test]
    fn a_scheme_the_build_cannot_speak_is_found_anywhere_in_the_chain() {
        let said = "invalid URL, scheme is not http";
        assert_eq!(
            classify_chain(leaf(said)),
            Some(TlsFailure::UnsupportedScheme)
        );
        // Deeper, and inside io::Errors (whose `source()` skips what they wrap).
        let nested = io::Error::other(io::Error::other(leaf(said)));
        assert_eq!(
            classify_chain(wrap("connect", nested)),
            Some(TlsFailure::UnsupportedScheme)
        );
    }

    #[test]
    fn native_tls_text_says_certificate_or_handshake() {
        for text in [
            "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (self-signed certificate)",
            "The certificate was not trusted.",
            "ssl handshake: CERTIFICATE_VERIFY_FAILED",
        ] {
            assert_eq!(
                native_tls_failure(text),
                TlsFailure::Certificate(None),
                "{text}"
            );
        }
        for text in [
            "error:0A00010B:SSL routines:ssl3_get_record:wrong version number",
            "unexpected EOF",
            "",
        ] {
            assert_eq!(native_tls_failure(text), TlsFailure::Handshake, "{text}");
        }
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_rejected_certificate_and_other_rustls_errors_inside_io_errors() {
        let certificate =
            || rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        // As tokio-rustls reports it: an io::Error wrapping rustls's error.
        assert_eq!(
            classify_chain(io::Error::new(io::ErrorKind::InvalidData, certificate())),
            Some(TlsFailure::Certificate(Some(
                "issued by an unknown certificate authority"
            )))
        );
        assert_eq!(
            classify_chain(wrap(
                "connect",
                io::Error::other(io::Error::other(certificate()))
            )),
            Some(TlsFailure::Certificate(Some(
                "issued by an unknown certificate authority"
            )))
        );
        for other in [
            rustls::Error::HandshakeNotComplete,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
            rustls::Error::General("x".into()),
        ] {
            assert_eq!(
                classify_chain(io::Error::other(other.clone())),
                Some(TlsFailure::Handshake),
                "{other:?}"
            );
        }
        // The first TLS failure in the chain decides.
        assert_eq!(
            classify_chain(wrap(
                "invalid URL, scheme is not http",
                io::Error::other(certificate())
            )),
            Some(TlsFailure::UnsupportedScheme)
        );
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn certificate_reasons_read_well() {
        use rustls::CertificateError as C;
        for (reason, said) in [
            (
                C::UnknownIssuer,
                "issued by an unknown certificate authority",
            ),
            (C::Expired, "expired"),
            (C::NotValidYet, "not valid yet"),
            (C::NotValidForName, "not valid for this host name"),
            (C::Revoked, "revoked"),
            (C::BadSignature, "bad signature"),
            (C::BadEncoding, "malformed"),
            (C::InvalidPurpose, "not valid for server authentication"),
            (C::UnhandledCriticalExtension, "rejected by the verifier"),
        ] {
            assert_eq!(rustls_reason(&reason), said, "{reason:?}");
        }
    }
}

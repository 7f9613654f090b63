//! [`Secrets`]: the API key kept out of an error the server echoed it in.

use errors_core::ApiError;
use reqwest::Request;

/// The values of the request's sensitive headers (`HeaderValue::is_sensitive`, as the API
/// key is), scrubbed from a parsed error in case the server echoed them back, so they reach
/// neither the attempt history, the logs nor the caller's error.
pub(super) struct Secrets(Vec<String>);

impl Secrets {
    /// The sensitive header values of `request`, and the credential alone after a scheme.
    pub(super) fn of(request: &Request) -> Secrets {
        let mut secrets = Vec::new();
        for value in request.headers().values().filter(|v| v.is_sensitive()) {
            let Ok(text) = value.to_str() else { continue };
            // `Bearer <key>`: the key alone may be echoed too.
            if let Some((_, credential)) = text.trim().rsplit_once(' ') {
                secrets.push(credential.to_owned());
            }
            secrets.push(text.to_owned());
        }
        Secrets(secrets)
    }

    /// Replaces each of them in `error` with `[redacted]`.
    pub(super) fn redact(&self, error: &mut ApiError) {
        for secret in &self.0 {
            error.redact(secret);
        }
    }
}

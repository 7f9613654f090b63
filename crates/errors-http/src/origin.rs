//! [`same_origin`]: the check that keeps the API key with the API, on every request.

use reqwest::Url;

/// Whether two URLs have the same origin, exactly as comparing `Url::origin` would say,
/// without the two owned copies of scheme and host that `origin` makes (this runs on every
/// request). Only the schemes with a tuple origin can match; any other URL's origin is
/// opaque and unique, so it matches nothing, except a `blob:` URL's (its inner URL's origin).
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    if a.scheme() == "blob" || b.scheme() == "blob" {
        return a.origin() == b.origin();
    }
    matches!(a.scheme(), "http" | "https" | "ws" | "wss" | "ftp")
        && a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_url_origin() {
        let urls = [
            "http://api.example.com/v1/jobs",
            "http://api.example.com:80/other",
            "http://API.example.com/v1",
            "http://api.example.com:8080/v1",
            "https://api.example.com/v1",
            "https://api.example.com:443/x?q=1",
            "https://user:pass@api.example.com/v1",
            "http://api.example.com./v1",
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.1:8081/v1",
            "http://[::1]:8080/v1",
            "http://localhost:8080/v1",
            "ws://api.example.com/v1",
            "ftp://api.example.com/v1",
            "file:///etc/passwd",
            "file:///etc/passwd",
            "data:text/plain,hello",
            "mailto:someone@example.com",
            "jobs:cancel",
            "blob:https://api.example.com/uuid",
        ];
        for a in urls {
            for b in urls {
                let (a, b) = (Url::parse(a).unwrap(), Url::parse(b).unwrap());
                assert_eq!(same_origin(&a, &b), a.origin() == b.origin(), "{a} vs {b}");
            }
        }
    }
}

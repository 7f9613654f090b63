//! Keeping secrets in URLs out of error text: a URL's query (`?api_key=...`, a presigned
//! signature) and its userinfo (`https://user:pass@host/`) are removed wherever a URL is
//! shown, as the tracing span shows only the path.

/// The most characters of a URL or a raw header value an error message shows.
const MAX_SHOWN: usize = 200;

/// `url` for a message: scheme, host, port and path, without userinfo, query or fragment,
/// cut to [`MAX_SHOWN`] characters.
pub(crate) fn url_text(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    scrub(&mut shown);
    excerpt(shown.as_str())
}

/// Removes what may carry a credential from `url`: its userinfo, query and fragment.
pub(crate) fn scrub(url: &mut reqwest::Url) {
    // Both fail only for URLs that cannot have credentials (`data:`, `mailto:`).
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
}

/// reqwest's error with the URL it names scrubbed (its `Display` says "for url (...)").
pub(crate) fn reqwest_error(mut error: reqwest::Error) -> reqwest::Error {
    if let Some(url) = error.url_mut() {
        scrub(url);
    }
    error
}

/// At most [`MAX_SHOWN`] characters of `text`, control characters escaped, `…` where cut.
pub(crate) fn excerpt(text: &str) -> String {
    let mut shown = String::with_capacity(text.len().min(MAX_SHOWN + 3));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_SHOWN {
            shown.push('…');
            break;
        }
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_loses_its_credentials_and_query() {
        let url =
            reqwest::Url::parse("https://user:pass@api.example.com:8443/v1/x?api_key=sk-1#frag")
                .unwrap();
        assert_eq!(url_text(&url), "https://api.example.com:8443/v1/x");
    }

    #[test]
    fn an_excerpt_is_bounded_and_escaped() {
        let long = "a".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), MAX_SHOWN + 1);
        assert_eq!(excerpt("a\nb"), "a\\nb");
    }
}

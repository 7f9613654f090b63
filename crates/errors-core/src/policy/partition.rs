//! Which partition a request's pacing state belongs to: its key, from the request.
//!
//! A rate limit has a scope. An API that limits `/search` to 10 calls a second and leaves
//! `/items` alone must not see `/items` paced at `/search`'s limit, nor held by `/search`'s
//! `429`s. So the rate-limit window and the pacer belong to a partition of the client's
//! requests, named by a key computed here. Pure: no state, no clock.

use std::fmt;
use std::sync::Arc;

use http::Method;

/// The longest key kept, in bytes. A key is a map key held in memory for as long as its
/// partition lives: an attacker-controlled or buggy URL must not make it grow without
/// bound. 512 bytes holds any real origin and route; a longer one is cut (at a character
/// boundary), so routes that differ only past it share a partition.
pub const MAX_KEY_LEN: usize = 512;

/// The placeholder for a path segment that looks like an id.
const ID: &str = "{id}";

/// The shortest run of hex digits taken for an id (a 64-bit hash or object id written in
/// hex is 16): shorter hex-only words are often words ("cafe", "added", "deadbeef").
const MIN_HEX_ID: usize = 16;

/// The shortest token taken for a base64 or base64url id when it mixes letters and digits:
/// 20 characters is 120 bits, the size of the shortest random ids in use (nanoid's 21
/// characters, a 16-byte id in base64 is 22), while route names that mix letters and
/// digits are short (`v1`, `oauth2`, `s3`).
const MIN_TOKEN_ID: usize = 20;

/// How a client's requests are grouped into partitions, each with its own rate-limit window
/// and pacer (the retry budget stays the whole client's).
///
/// - [`Partitioning::per_route`] (the default): one partition per route, the request URL's
///   origin and path with id-like segments folded (see [`route_key`]). For APIs that limit
///   each endpoint on its own, as slowapi's per-route decorators do: a `429` on `/search`
///   does not hold `/items`. Routes that turn out to share one limit (their `429`s state the
///   same quota) are merged so they share one limiter.
/// - [`Partitioning::whole_client`]: one partition for every request. For an API that
///   limits the key as a whole, across all routes: a `429` on any route holds them all.
/// - [`Partitioning::by`]: your own key function.
///
/// The empty key is the client's default partition, the one
/// [`ClientRetryState::gate`](crate::retry::ClientRetryState::gate) and
/// [`ClientRetryState::pacer`](crate::retry::ClientRetryState::pacer) show; a request started
/// without a target ([`RetryPolicy::start`](crate::RetryPolicy::start)) uses it too.
///
/// ```
/// use errors_core::ratelimit::Partitioning;
/// use http::Method;
///
/// let routes = Partitioning::per_route();
/// assert_eq!(
///     routes.key(&Method::GET, "https://api.example.com/v1/images/17/analysis?full=1"),
///     routes.key(&Method::GET, "https://api.example.com/v1/images/18/analysis"),
/// );
/// let whole = Partitioning::whole_client();
/// assert_eq!(whole.key(&Method::GET, "https://api.example.com/v1/items"), "");
///
/// // One partition per method and first path segment.
/// let custom = Partitioning::by(|method, url| {
///     let path = url.split("://").nth(1).and_then(|rest| rest.split('/').nth(1)).unwrap_or("");
///     format!("{method} /{path}")
/// });
/// assert_eq!(custom.key(&Method::POST, "https://api.example.com/search/x"), "POST /search");
/// ```
#[derive(Clone)]
pub struct Partitioning {
    rule: Rule,
    merge: bool,
}

impl Default for Partitioning {
    fn default() -> Self {
        Partitioning::per_route()
    }
}

#[derive(Clone)]
enum Rule {
    PerRoute,
    WholeClient,
    Custom(Arc<KeyFn>),
}

type KeyFn = dyn Fn(&Method, &str) -> String + Send + Sync;

impl Partitioning {
    /// One partition per route: the URL's origin and path, id-like segments folded, the
    /// query left out (see [`route_key`]). The default.
    pub fn per_route() -> Partitioning {
        Partitioning {
            rule: Rule::PerRoute,
            merge: true,
        }
    }

    /// One partition for the whole client: every `429` holds every request.
    pub fn whole_client() -> Partitioning {
        Partitioning {
            rule: Rule::WholeClient,
            merge: true,
        }
    }

    /// Partitions by `key`, given the request's method and URL (absolute, as sent, query
    /// included). Requests with equal keys share a partition; the empty key is the client's
    /// default partition. A key longer than [`MAX_KEY_LEN`] bytes is cut.
    pub fn by(key: impl Fn(&Method, &str) -> String + Send + Sync + 'static) -> Partitioning {
        Partitioning {
            rule: Rule::Custom(Arc::new(key)),
            merge: true,
        }
    }

    /// Whether partitions whose `429`s show one limiter are merged to share it (default
    /// `true`): `429`s stating the same quota, or `429`s stating none that come within a
    /// second of each other with nothing let through between. Turn it off for an API
    /// whose endpoints each have a limit of their own that happen to be equal (slowapi's
    /// `@limiter.limit("10/second")` on several routes): merged, they would be paced at
    /// one limit together, half what they allow.
    pub fn merging(mut self, merge: bool) -> Partitioning {
        self.merge = merge;
        self
    }

    /// Whether partitions that show one limiter are merged.
    pub fn merges(&self) -> bool {
        self.merge
    }

    /// The partition key of a request.
    pub fn key(&self, method: &Method, url: &str) -> String {
        match &self.rule {
            Rule::PerRoute => route_key(url),
            Rule::WholeClient => String::new(),
            Rule::Custom(key) => {
                let mut key = key(method, url);
                let cut = crate::excerpt::floor_char_boundary(&key, MAX_KEY_LEN);
                key.truncate(cut);
                key
            }
        }
    }

    /// Whether every request shares one partition.
    pub fn is_whole_client(&self) -> bool {
        matches!(self.rule, Rule::WholeClient)
    }
}

impl fmt::Debug for Partitioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = match self.rule {
            Rule::PerRoute => "per route",
            Rule::WholeClient => "whole client",
            Rule::Custom(_) => "custom key",
        };
        f.debug_struct("Partitioning")
            .field("rule", &format_args!("{rule}"))
            .field("merge", &self.merge)
            .finish()
    }
}

/// The route of a URL: its origin (scheme and host, lowercase, without any user info) and
/// its path, without the query or fragment, with every path segment that looks like an id
/// replaced by `{id}`: all digits, a UUID, 16 or more hex digits, or a base64/base64url
/// token of 20 or more characters that mixes letters and digits. At most [`MAX_KEY_LEN`]
/// bytes. A relative URL (no `://`) is taken as a path.
///
/// ```
/// use errors_core::ratelimit::route_key;
///
/// assert_eq!(
///     route_key("https://API.example.com/v1/images/17/analysis?page=2#top"),
///     "https://api.example.com/v1/images/{id}/analysis",
/// );
/// assert_eq!(
///     route_key("https://user:secret@api.example.com/v1/jobs/550e8400-e29b-41d4-a716-446655440000"),
///     "https://api.example.com/v1/jobs/{id}",
/// );
/// assert_eq!(route_key("/v1/search?q=cats"), "/v1/search");
/// ```
pub fn route_key(url: &str) -> String {
    let absolute = url
        .split_once("://")
        .filter(|(scheme, _)| is_scheme(scheme));
    let (origin, rest) = match absolute {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let authority = &rest[..end];
            // Credentials never go into a key (keys may be logged or kept).
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            (Some((scheme, host)), &rest[end..])
        }
        None => (None, url),
    };
    let path = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let mut key = String::with_capacity(url.len().min(MAX_KEY_LEN));
    if let Some((scheme, host)) = origin {
        // Only what can fit is lowercased: a megabyte of host is not copied.
        let fit = |text: &str| {
            text[..crate::excerpt::floor_char_boundary(text, MAX_KEY_LEN)].to_ascii_lowercase()
        };
        push_bounded(&mut key, &fit(scheme));
        push_bounded(&mut key, "://");
        push_bounded(&mut key, &fit(host));
    }
    if path.is_empty() {
        push_bounded(&mut key, "/");
    }
    for (i, segment) in path.split('/').enumerate() {
        if key.len() >= MAX_KEY_LEN {
            break;
        }
        if i > 0 {
            push_bounded(&mut key, "/");
        }
        push_bounded(&mut key, if is_id(segment) { ID } else { segment });
    }
    key
}

/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986): a `://` in a relative URL's
/// query (`/login?next=https://...`) does not start an origin.
fn is_scheme(text: &str) -> bool {
    text.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Appends as much of `text` as fits under [`MAX_KEY_LEN`], cut at a character boundary.
fn push_bounded(key: &mut String, text: &str) {
    let room = MAX_KEY_LEN.saturating_sub(key.len());
    key.push_str(&text[..crate::excerpt::floor_char_boundary(text, room)]);
}

/// Whether a path segment looks like an id rather than a route name.
fn is_id(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if is_uuid(bytes) {
        return true;
    }
    if bytes.len() >= MIN_HEX_ID && bytes.iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    bytes.len() >= MIN_TOKEN_ID
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'='))
        && bytes.iter().any(u8::is_ascii_alphabetic)
        && bytes.iter().any(u8::is_ascii_digit)
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn whole_client_is_one_partition_and_by_route_is_not() {
        assert!(Partitioning::whole_client().is_whole_client());
        assert!(!Partitioning::default().is_whole_client());
    }

    #[test]
    fn a_scheme_starts_with_a_letter_and_holds_only_scheme_characters() {
        // A `://` after something that is not a scheme (a query, a leading digit) is part
        // of the path, not an origin.
        assert_eq!(
            route_key("v1/login?next=https://evil.example/x"),
            "v1/login"
        );
        // (As a path it keeps its case; as an origin its host would be lowercased.)
        assert_eq!(route_key("1http://HOST/x"), "1http://HOST/x");
        assert_eq!(route_key("git+ssh://Host/x"), "git+ssh://host/x");
    }

    #[test]
    fn ids_are_folded_and_route_names_kept() {
        let cases = [
            (
                "https://api.example.com/v1/images/17/analysis",
                "https://api.example.com/v1/images/{id}/analysis",
            ),
            (
                "https://api.example.com/v1/images/18/analysis",
                "https://api.example.com/v1/images/{id}/analysis",
            ),
            (
                "https://api.example.com/v1/jobs/550E8400-E29B-41D4-A716-446655440000/logs",
                "https://api.example.com/v1/jobs/{id}/logs",
            ),
            (
                // All digits: not a token (no letter), so only the UUID rule folds it.
                "https://api.example.com/v1/jobs/12345678-1234-1234-1234-123456789012/logs",
                "https://api.example.com/v1/jobs/{id}/logs",
            ),
            (
                "https://api.example.com/objects/5f2b9c0e1a3d4e6f",
                "https://api.example.com/objects/{id}",
            ),
            (
                "https://api.example.com/files/dGhpcyBpcyBhIHRva2VuMTIz",
                "https://api.example.com/files/{id}",
            ),
            (
                "https://api.example.com/files/V1StGXR8_Z5jdHi6B-myT",
                "https://api.example.com/files/{id}",
            ),
            // Words, short hex, and long words without digits stay.
            (
                "https://api.example.com/v2/oauth2/token",
                "https://api.example.com/v2/oauth2/token",
            ),
            (
                "https://api.example.com/cafe/deadbeef",
                "https://api.example.com/cafe/deadbeef",
            ),
            (
                "https://api.example.com/organization-memberships",
                "https://api.example.com/organization-memberships",
            ),
            ("https://api.example.com/x/", "https://api.example.com/x/"),
        ];
        for (url, key) in cases {
            assert_eq!(route_key(url), key, "{url}");
        }
    }

    #[test]
    fn the_query_fragment_case_of_the_origin_and_credentials_are_left_out() {
        assert_eq!(
            route_key("HTTPS://Api.Example.COM/Search?q=1#x"),
            "https://api.example.com/Search"
        );
        assert_eq!(
            route_key("https://api.example.com?q=1"),
            "https://api.example.com/"
        );
        assert_eq!(
            route_key("https://api.example.com"),
            "https://api.example.com/"
        );
        assert_eq!(route_key("http://u:p@h:8080/a"), "http://h:8080/a");
        assert_ne!(
            route_key("https://a.example/x"),
            route_key("https://b.example/x")
        );
        assert_eq!(route_key("/v1/items/3"), "/v1/items/{id}");
        assert_eq!(route_key(""), "/");
        assert_eq!(route_key("/login?next=https://h/x"), "/login");
    }

    #[test]
    fn keys_are_bounded() {
        let long = format!("https://h/{}", "é/".repeat(2000));
        let key = route_key(&long);
        assert!(key.len() <= MAX_KEY_LEN);
        let custom = Partitioning::by(|_, _| "ü".repeat(1000));
        let key = custom.key(&Method::GET, "/");
        assert!(key.len() <= MAX_KEY_LEN && key.chars().all(|c| c == 'ü'));
    }

    #[test]
    fn whole_client_and_custom_keys() {
        let whole = Partitioning::whole_client();
        assert!(whole.is_whole_client());
        assert_eq!(whole.key(&Method::POST, "https://h/a/1"), "");
        let by_method = Partitioning::by(|m, _| m.to_string());
        assert_eq!(by_method.key(&Method::POST, "https://h/a"), "POST");
        assert_eq!(
            format!("{by_method:?}"),
            r#"Partitioning { rule: custom key, merge: true }"#
        );
        assert!(!by_method.merging(false).merges());
        assert_eq!(
            Partitioning::default().key(&Method::GET, "https://h/a/2"),
            "https://h/a/{id}"
        );
    }

    proptest! {
        #[test]
        fn folding_never_panics_and_is_bounded(url in prop_oneof![
            any::<String>(),
            "(https?://)?\\PC{0,1200}",
            "https://[a-zA-Z.@:]{1,20}(/[0-9a-zA-Z_=+é-]{0,40}){0,40}(\\?\\PC{0,20})?",
        ]) {
            let key = route_key(&url);
            prop_assert!(key.len() <= MAX_KEY_LEN);
        }

        #[test]
        fn the_query_is_never_part_of_the_key(
            host in "[a-z0-9.-]{1,30}",
            path in "(/[a-zA-Z0-9_~.%-]{0,30}){0,8}",
            query in "[ -~]{0,60}",
        ) {
            let url = format!("https://{host}{path}?{query}");
            let key = route_key(&url);
            prop_assert!(!key.contains('?'), "{} -> {}", url, key);
            prop_assert_eq!(key, route_key(&format!("https://{host}{path}")));
        }

        #[test]
        fn urls_of_one_route_share_a_key(
            id in 0u64..,
            other in 0u64..,
            query in "[a-z=&0-9]{0,20}",
        ) {
            let a = route_key(&format!("https://h.example/v1/images/{id}/analysis?{query}"));
            let b = route_key(&format!("https://h.example/v1/images/{other}/analysis"));
            prop_assert_eq!(a, b);
        }
    }
}
